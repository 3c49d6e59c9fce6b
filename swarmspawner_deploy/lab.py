"""A lab of Debian "hosts" on this machine, for the Ansible playbook to provision.

    swarmspawner-lab up [--managers 1] [--workers 2] [--env .env] [--inventory lab/inventory.ini]
                        [--images-source load|registry]
    swarmspawner-lab down [--inventory lab/inventory.ini]
    swarmspawner-lab status
    swarmspawner-lab info [--inventory lab/inventory.ini] [--env .env]
    swarmspawner-lab env [--env .env] [--set NAME=VALUE ...]

Each host is a container running systemd and sshd, from a node image built on the local
Debian base (labnode/Dockerfile beside this module) with nothing a fresh server
would lack -- and no Docker: the playbook installs that. The hosts sit on a bridge network
with fixed addresses, each with a volume for /var/lib/docker (so its engine gets overlay2).
The first manager publishes the env file's PUBLIC_PORT (and HTTP_PORT) on 127.0.0.1, so
the hub the playbook deploys answers on this machine.

`env` writes a first env file for a lab when there is none: the example's defaults with
what a lab needs (images by local ID, servers on workers, a fresh password beside it).
`up` writes the inventory (root over SSH with a key made into lab/) and is idempotent:
hosts that are already there are kept. `down` removes the hosts, their volumes and network.
Every name starts with "sslab" (LAB_PREFIX; with LAB_SUBNET a second lab can run beside
the first, as the test command's does).
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from .edge import public_url
from .envfile import INTERNAL_CA_CERT, EnvError, example, load, parse
from .images import BASE_IMAGE

# The lab's key and inventory go into lab/ of the current folder (the repository's, kept out
# of git); the node image's build context is beside this module.
LAB = Path("lab")
NODE_CONTEXT = Path(__file__).resolve().parent / "labnode"
KEY = LAB / "id_ed25519"
INVENTORY = LAB / "inventory.ini"
PREFIX = os.environ.get("LAB_PREFIX", "sslab")
NETWORK = f"{PREFIX}-net"
# A private range that neither this machine's engine nor the hosts' engines use by default
# (those take 172.17.0.0/12 first, and swarm's overlays 10.0.0.0/8).
SUBNET = os.environ.get("LAB_SUBNET", "192.168.213.0/24")
NODE_IMAGE = f"{PREFIX}/node:bookworm"
LABEL = "swarmspawner.lab"
# Run flags that give systemd what it needs: --privileged fails where the capability
# bounding set lacks CAP_SYS_RESOURCE (as on this project's machines).
RUN_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
    # FUSE, for the shared filesystem of users' files (sshfs: the lab's kernel has no NFS).
    "--device", "/dev/fuse",
]


def log(message):
    print(f"lab: {message}", flush=True)


def docker(*args, check=True, capture=True, **kwargs):
    result = subprocess.run(["docker", *args], text=True, capture_output=capture, **kwargs)
    if check and result.returncode != 0:
        sys.exit(f"lab: docker {' '.join(args[:3])} ... failed:\n{result.stderr.strip()}")
    return result


def exists(kind, name):
    return docker(kind, "inspect", name, check=False).returncode == 0


def address(index):
    """The fixed address of host number `index` (0 = first manager): .11, .12, ..."""
    network, _ = SUBNET.split("/")
    a, b, c, _ = network.split(".")
    return f"{a}.{b}.{c}.{11 + index}"


def hosts(managers, workers):
    names = [f"{PREFIX}-manager{i + 1}" for i in range(managers)]
    names += [f"{PREFIX}-worker{i + 1}" for i in range(workers)]
    return [(name, address(i), "manager" in name) for i, name in enumerate(names)]


def public_ports(env_path):
    """The ports users reach the hub on (PUBLIC_PORT, and HTTP_PORT unless TLS=off), from the
    env file through the one loader (the defaults if there is none)."""
    try:
        env = load(env_path, check_files=False)
    except EnvError:
        if Path(env_path).exists():
            raise
        env = parse({}, check_files=False)
    return [env.PUBLIC_PORT] + ([env.HTTP_PORT] if env.TLS != "off" else [])


def ensure_key():
    LAB.mkdir(exist_ok=True)
    if not KEY.exists():
        log(f"making an SSH key pair {KEY}")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{PREFIX}-controller",
                        "-f", str(KEY)], check=True)
    return KEY.with_suffix(".pub").read_text()


def ensure_image():
    if not exists("image", BASE_IMAGE):
        sys.exit(f"lab: {BASE_IMAGE} is missing: run make images first")
    log(f"building {NODE_IMAGE}")
    docker("build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", NODE_IMAGE,
           str(NODE_CONTEXT), env={**os.environ, "DOCKER_BUILDKIT": "0"})


def ensure_network():
    if not exists("network", NETWORK):
        log(f"creating network {NETWORK} ({SUBNET})")
        docker("network", "create", "--driver", "bridge", "--subnet", SUBNET,
               "--label", LABEL, NETWORK)


def ensure_host(name, ip, ports, pubkey):
    state = docker("inspect", "-f", "{{.State.Running}}", name, check=False)
    if state.returncode == 0:
        if state.stdout.strip() != "true":
            log(f"starting {name}")
            docker("start", name)
    else:
        log(f"creating {name} ({ip})")
        publish = [arg for port in ports for arg in ("-p", f"127.0.0.1:{port}:{port}")]
        docker("run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
               "--network", NETWORK, "--ip", ip, *RUN_FLAGS,
               "-v", f"{name}-docker:/var/lib/docker", *publish, NODE_IMAGE)
    # root's authorized key, through the engine (the only way in before SSH works).
    docker("exec", "-i", name, "sh", "-c",
           "umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys", input=pubkey)


def wait_for_ssh(addresses, timeout=120):
    deadline = time.monotonic() + timeout
    waiting = set(addresses)
    while waiting and time.monotonic() < deadline:
        for ip in sorted(waiting):
            result = subprocess.run(
                ["ssh", *ssh_options(), f"root@{ip}", "systemctl is-system-running --wait"],
                capture_output=True, text=True, timeout=60)
            if result.returncode == 0 or result.stdout.strip() == "degraded":
                waiting.discard(ip)
        if waiting:
            time.sleep(1)
    if waiting:
        sys.exit(f"lab: no SSH to {', '.join(sorted(waiting))} within {timeout} s")


def ssh_options():
    return ["-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]


def write_inventory(nodes, path, images_source):
    lines = ["# Written by swarmspawner-lab: the lab's hosts on this machine.", "[managers]"]
    lines += [f"{n} ansible_host={ip}" for n, ip, manager in nodes if manager]
    lines += ["", "[workers]"]
    lines += [f"{n} ansible_host={ip} swarm_labels='{{\"role\": \"notebooks\"}}'"
              for n, ip, manager in nodes if not manager]
    # The first manager also serves users' files (USER_STORAGE=shared).
    lines += ["", "[storage]", nodes[0][0]]
    lines += [
        "",
        "[all:vars]",
        "ansible_user=root",
        f"ansible_ssh_private_key_file={KEY}",
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
        "ansible_python_interpreter=/usr/bin/python3",
        # The hub's URL from this machine: the first manager publishes the port on loopback.
        "public_host=127.0.0.1",
        # How the playbook puts the images on the nodes (ansible/roles/images/defaults/main.yml).
        f"images_source={images_source}",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    log(f"wrote {path}")


def up(args):
    started = time.monotonic()
    ports = public_ports(args.env)
    pubkey = ensure_key()
    ensure_image()
    ensure_network()
    nodes = hosts(args.managers, args.workers)
    for i, (name, ip, _) in enumerate(nodes):
        ensure_host(name, ip, ports if i == 0 else [], pubkey)
    wait_for_ssh([ip for _, ip, _ in nodes])
    write_inventory(nodes, Path(args.inventory), args.images_source)
    log(f"{len(nodes)} hosts up in {time.monotonic() - started:.0f} s; the hub's ports "
        f"{', '.join(map(str, ports))} are published on 127.0.0.1 by {nodes[0][0]}")


#: What a lab's env file changes from the defaults: no registry (images by their local ID,
#: put on every node by the playbook), users' servers on the workers, users' files shared
#: through sshfs from the first manager (the lab's kernel has FUSE, no NFS client), and the
#: lab password instead of sign-ups (the deploy warns that it is not a login).
LAB_SETTINGS = {"PIN_LOCAL_IMAGES": "true", "PLACEMENT_CONSTRAINTS": "node.role == worker",
                "STORAGE_FILESYSTEM": "sshfs", "AUTHENTICATOR": "dummy"}


def write_env(args):
    """A lab's env file, unless one is there; its lab password file too."""
    path = Path(args.env)
    if path.exists():
        log(f"keeping {path}")
        return
    settings = dict(LAB_SETTINGS)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"lab: --set takes NAME=VALUE, not {item!r}")
        settings[name] = value
    lines = []
    for line in example().splitlines():
        name = line.partition("=")[0]
        lines.append(f"{name}={settings.pop(name)}" if name in settings else line)
    if settings:
        sys.exit(f"lab: not settings of the env file: {', '.join(sorted(settings))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    env = load(path, check_files=False)
    password = path.resolve().parent / env.DUMMY_PASSWORD_FILE
    password.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not password.exists() or not password.read_text().strip():
        password.write_text(secrets.token_urlsafe(12) + "\n")
        password.chmod(0o600)
    load(path)  # the file as written passes every check
    log(f"wrote {path} (lab password in {password})")


def lab_containers():
    result = docker("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}")
    return [n for n in result.stdout.split() if n.startswith(PREFIX)]


def down(args):
    for name in lab_containers():
        log(f"removing {name}")
        docker("rm", "-f", "-v", name)
        if exists("volume", f"{name}-docker"):
            docker("volume", "rm", f"{name}-docker")
    if exists("network", NETWORK):
        log(f"removing network {NETWORK}")
        docker("network", "rm", NETWORK)
    Path(args.inventory).unlink(missing_ok=True)


def status(args):
    names = lab_containers()
    if not names:
        log("no lab hosts")
        return
    result = docker("inspect", *names)
    for c in json.loads(result.stdout):
        ip = c["NetworkSettings"]["Networks"].get(NETWORK, {}).get("IPAddress", "?")
        print(f"{c['Name'].lstrip('/')}\t{ip}\t{c['State']['Status']}")


def hub_url(inventory, env_path):
    """The hub's public URL. With TLS, PUBLIC_HOST's (localhost in a lab: the first manager
    publishes the ports on 127.0.0.1); with TLS=off, the first manager's public_host (or
    ansible_host) and PUBLIC_PORT."""
    env = load(env_path, check_files=False)
    if env.TLS != "off":
        return public_url(env) + "/"
    ansible_inventory = Path(sys.executable).parent / "ansible-inventory"
    listing = json.loads(subprocess.run(
        [str(ansible_inventory), "-i", str(inventory), "--list"],
        capture_output=True, text=True, check=True).stdout)
    first = listing["managers"]["hosts"][0]
    hostvars = listing["_meta"]["hostvars"].get(first, {})
    host = hostvars.get("public_host") or hostvars.get("ansible_host") or first
    return f"http://{host}:{env.PUBLIC_PORT}/"


def info(args):
    """How to reach and log in to the hub the playbook deployed."""

    env = load(args.env, check_files=False)
    print(f"JupyterHub: {hub_url(args.inventory, args.env)}")
    folder = Path(args.env).resolve().parent
    if env.TLS == "internal":
        print(f"Its certificate is from the deployment's own CA: {folder / INTERNAL_CA_CERT}"
              " (import it into the browser, or curl --cacert it)")
    if env.AUTHENTICATOR == "dummy":
        password = folder / env.DUMMY_PASSWORD_FILE
        print(f"Log in with any user name and the password in {password}"
              " (AUTHENTICATOR=dummy: a lab, not a login)")
    elif env.AUTHENTICATOR == "native":
        print("Sign up at /hub/signup; ADMIN_USERS sign up first and approve the others at"
              " /hub/authorize")
    else:
        print(f"Log in through {env.AUTHENTICATOR}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "info", "env"])
    parser.add_argument("--inventory", default=str(INVENTORY),
                        help="the inventory up writes, down removes and info reads")
    parser.add_argument("--managers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--images-source", choices=["load", "registry"], default="load",
                        help="up: how the playbook puts the images on the nodes: archives copied to "
                             "each, or a private registry on the first manager")
    parser.add_argument("--env", default=".env",
                        help="env file whose PUBLIC_PORT to publish (up), to read (info) or"
                             " to write (env)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="env: a setting of the new env file besides the lab's own")
    args = parser.parse_args()
    if args.managers < 1:
        parser.error("--managers must be at least 1")
    commands = {"up": up, "down": down, "status": status, "info": info, "env": write_env}
    commands[args.command](args)


if __name__ == "__main__":
    main()
