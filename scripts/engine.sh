#!/usr/bin/env bash
# Make sure a Docker engine in swarm mode answers on this machine; idempotent.
# Our machines have no systemd as PID 1, so dockerd is started in the background
# (its own log file, its PID kept). On a host with systemd, the engine's own unit is used.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/swarmspawner-dockerd.log}
pidfile=${DOCKERD_PIDFILE:-/run/swarmspawner-dockerd.pid}

if ! command -v dockerd >/dev/null 2>&1; then
    echo "engine: installing Docker from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        echo "engine: starting dockerd (log: $log)"
        setsid dockerd >"$log" 2>&1 </dev/null &
        echo $! >"$pidfile"
    fi
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "engine: dockerd did not answer; see $log" >&2; exit 1; }
fi

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != "active" ]; then
    echo "engine: turning swarm mode on"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
echo "engine: $(docker version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}})'), swarm active"
