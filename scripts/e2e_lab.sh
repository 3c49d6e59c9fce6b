#!/usr/bin/env bash
# The test command's multi-node part: a lab of its own (1 manager + 2 workers on this machine,
# beside any lab `make up` made), provisioned by ansible/site.yml from a test env file, the
# testinfra smoke tests including node loss, then the lab removed again -- pass or fail.
# The same Make targets an operator uses (up, e2e, down), with the lab's own names.
set -euo pipefail
cd "$(dirname "$0")/.."

export LAB_PREFIX=sse2e LAB_SUBNET=192.168.214.0/24
dir=build/e2e
lab=(ENV="$dir/.env" LAB_INVENTORY="$dir/inventory.ini")
started=$SECONDS

# Fresh hosts each run: a lab an interrupted run left (its engine ended mid-test, say) holds
# that run's swarm, stack and volumes, which `up` would keep.
make --no-print-directory down "${lab[@]}"
# A fresh env file and password each run: the lab's defaults, a port of its own, and a quick
# poll (the node-loss test waits one poll interval).
rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
trap 'make --no-print-directory down "${lab[@]}"' EXIT
make --no-print-directory up "${lab[@]}" LAB_UP_ARGS="--images-source registry" \
    LAB_ENV_SET="PUBLIC_PORT=18843 HTTP_PORT=18880 POLL_INTERVAL=10 DUMMY_PASSWORD_FILE=password"
echo "e2e: lab provisioned in $((SECONDS - started)) s"
# Day 2: the same command again changes nothing on any host.
second=$SECONDS
make --no-print-directory up "${lab[@]}" LAB_UP_ARGS="--images-source registry" | tee "$dir/second-run.log" |
    grep -A8 "PLAY RECAP"
if grep -E "^[a-z0-9.-]+ +: .*changed=[1-9]" "$dir/second-run.log"; then
    echo "e2e: the second run of the playbook changed something (above)" >&2
    exit 1
fi
echo "e2e: second run changed nothing, in $((SECONDS - second)) s"
make --no-print-directory e2e "${lab[@]}"
echo "e2e: lab, playbook and smoke tests in $((SECONDS - started)) s"
