"""The benchmark on a multi-node swarm: the lab of `make up` (or real hosts), through SSH.

The hubs and the floor run on the inventory's first manager, users' servers on its workers
(``node.role == worker``), as the deployed stack places them. This machine reaches the
manager's engine through an SSH-forwarded socket; the hubs on the manager reach it through
the benchmark's counting proxy, which listens here on the address the manager sees this
machine at. Files a container on the manager binds (each hub's folder, the floor's script)
are copied there to the same path; images go to the nodes that run them, by ID.
"""

import atexit
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker

#: Where users' servers run on the lab.
SERVER_CONSTRAINTS = ["node.role == worker"]


def hosts(inventory):
    """{"managers": [...], "workers": [...]} of {"address", "user", "key"} from the inventory,
    as Ansible reads it."""
    ansible_inventory = Path(sys.executable).parent / "ansible-inventory"
    listed = json.loads(subprocess.run(
        [str(ansible_inventory), "-i", str(inventory), "--list"], check=True,
        capture_output=True, text=True).stdout)
    hostvars = listed.get("_meta", {}).get("hostvars", {})

    def host(name):
        found = hostvars.get(name, {})
        return {"address": found.get("ansible_host", name),
                "user": found.get("ansible_user", "root"),
                "key": found.get("ansible_ssh_private_key_file")}

    return {group: [host(n) for n in listed.get(group, {}).get("hosts", [])]
            for group in ("managers", "workers")}


class Lab:
    def __init__(self, inventory, workdir, log=print):
        self.log = log
        found = hosts(inventory)
        if not found["managers"] or not found["workers"]:
            raise SystemExit(f"{inventory}: the lab benchmark needs a manager and workers")
        self.manager = found["managers"][0]
        self.workers = found["workers"]
        self.workdir = Path(workdir).resolve()
        self.socket = self.workdir / "manager-docker.sock"
        self.tunnel = subprocess.Popen(
            self._ssh(self.manager, "-N", "-L", f"{self.socket}:/var/run/docker.sock"),
            stdin=subprocess.DEVNULL)
        atexit.register(self.close)  # the tunnel ends with the run, however it ends
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline or self.tunnel.poll() is not None:
                self.close()
                raise RuntimeError(f"no SSH tunnel to {self.manager['address']}'s engine")
            time.sleep(0.2)
        self.client = docker.DockerClient(base_url=f"unix://{self.socket}", version="auto",
                                          timeout=300)
        # This machine's address as the manager sees it: where the counting proxies listen.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((self.manager["address"], 22))
            self.local_address = probe.getsockname()[0]
        self.publish_ip = self.manager["address"]

    @staticmethod
    def _ssh(host, *args):
        options = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                   "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
        if host["key"]:
            options += ["-i", host["key"]]
        return ["ssh", *options, *args, f"{host['user']}@{host['address']}"]

    def _piped(self, producer, host, command):
        """``producer``'s output into ``command`` on the host; both must succeed."""
        source = subprocess.Popen(producer, stdout=subprocess.PIPE)
        try:
            sink = subprocess.run([*self._ssh(host), command], stdin=source.stdout,
                                  capture_output=True)
        finally:
            source.stdout.close()  # a sink that failed must not leave the producer blocked
            source.wait()
        if sink.returncode or source.returncode:
            raise RuntimeError(f"{' '.join(producer)} | {command} on {host['address']} failed:"
                               f" {sink.stderr.decode(errors='replace')[-500:]}")

    def push(self, path):
        """Copy a folder below the run's folder to the same path on the manager."""
        path = Path(path).resolve()
        assert self.workdir in path.parents, path  # all of it is removed again in close()
        self._piped(["tar", "-C", str(path.parent), "-cf", "-", path.name], self.manager,
                    f"mkdir -p {path.parent} && tar -C {path.parent} -xf -")

    def put_images(self, images_by_host_role):
        """Each image (by ID) onto the nodes of its role that lack it: {"managers": [ids],
        "workers": [ids]}."""
        for role, images in images_by_host_role.items():
            for host in (self.workers if role == "workers" else [self.manager]):
                for image in images:
                    present = subprocess.run(
                        [*self._ssh(host), f"docker image inspect {image} >/dev/null"],
                        capture_output=True).returncode == 0
                    if present:
                        continue
                    self.log(f"lab: loading {image[:19]} onto {host['address']}")
                    self._piped(["docker", "save", image], host, "docker load -q >/dev/null")

    def close(self):
        # The hubs' folders hold their tokens and databases: none is left on the manager.
        if self.tunnel.poll() is None:
            subprocess.run([*self._ssh(self.manager), f"rm -rf {self.workdir}"],
                           capture_output=True)
            self.tunnel.terminate()
            self.tunnel.wait(10)
        if self.socket.exists():
            os.unlink(self.socket)
