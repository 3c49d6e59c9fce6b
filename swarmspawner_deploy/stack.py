"""Deploy or remove the JupyterHub stack described by an env file.

    swarmspawner-stack deploy [--env .env] [--wait] [--json]
    swarmspawner-stack remove [--env .env] [--volumes]
    swarmspawner-stack userdata [--env .env] [--json]

deploy validates the env file first and stops, having created nothing, if a value is
wrong. Then it creates what the stack expects to exist (the overlay network, the
secrets) when missing and runs `docker stack deploy`. Running it again applies changes.

remove takes the stack down and also the users' servers, which are services of their
own (found by the hub's label). The hub's database, users' files and the secrets stay
unless --volumes is given; then only this deployment's go: users' volumes carry its
label, and users' directories are those under its USER_STORAGE_PATH.

userdata lists where each user's files live (swarmspawner-userdata, run in the hub's
container on this node).

deploy --json ends with one line of JSON saying what changed (what it created, which of
the stack's services got a new spec), for tools such as the Ansible stack role.
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import docker

from swarmspawner.objects import LABEL_HUB

from .envfile import EnvError, load

HERE = Path(__file__).resolve().parent
STACK_FILE = HERE / "stack.yml"
SHARED_STORAGE_FILE = HERE / "stack.shared.yml"
NO_EXTRA_CONFIG = HERE / "no_extra_config.py"
NO_PROFILES = HERE / "no_profiles.yaml"
GENERATED_SECRETS = ("cookie_secret", "crypt_key", "proxy_token")


def log(message):
    print(f"stack: {message}", flush=True)


def fail(message):
    print(f"stack: {message}", file=sys.stderr)
    sys.exit(1)


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def image_ref(client, name, pin):
    """The image as the stack should name it: its local ID when pinned, else the name."""
    if not pin:
        return name
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        fail(f"{name} is not on this node (PIN_LOCAL_IMAGES=true): build or load it first")


def ensure_network(client, name):
    """Create the overlay network if missing; returns whether it was created."""
    try:
        net = client.networks.get(name)
    except docker.errors.NotFound:
        log(f"creating overlay network {name}")
        client.networks.create(name, driver="overlay", attachable=True)
        return True
    if net.attrs["Driver"] != "overlay" or not net.attrs.get("Attachable"):
        fail(f"network {name} exists but is not an attachable overlay network")
    return False


def ensure_secret(client, name, make_value):
    """Create the secret if missing (the name filter matches prefixes); returns whether."""
    if any(s.name == name for s in client.secrets.list(filters={"name": name})):
        return False
    log(f"creating secret {name}")
    client.secrets.create(name=name, data=make_value().encode())
    return True


def service_specs(client, stack):
    """The stack's services: name -> spec, to tell what a deploy changed (a service's version
    also moves when the swarm records an update's progress, its spec only when it changed)."""
    services = client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {s.name: s.attrs["Spec"] for s in services}


def deploy(env_path, wait, report=False):
    try:
        env = load(env_path)
    except EnvError as e:
        print(f"stack: {env_path} has {len(e.problems)} problem(s); nothing was deployed:",
              file=sys.stderr)
        for problem in e.problems:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(1)
    base = Path(env_path).resolve().parent
    client = docker.from_env(version="auto")
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        fail("this engine is not in swarm mode (docker swarm init)")

    hub_ref = image_ref(client, env.HUB_IMAGE, env.PIN_LOCAL_IMAGES)
    singleuser_ref = image_ref(client, env.SINGLEUSER_IMAGE, env.PIN_LOCAL_IMAGES)
    stack = env.STACK_NAME
    created = [env.NETWORK_NAME] if ensure_network(client, env.NETWORK_NAME) else []
    for name in GENERATED_SECRETS:
        if ensure_secret(client, f"{stack}_{name}", lambda: secrets.token_hex(32)):
            created.append(f"{stack}_{name}")

    # The lab password's secret is named after the file's version, not its content, so the
    # name tells nothing about the password; a changed file makes a new secret.
    if env.AUTHENTICATOR == "dummy":
        password_file = base / env.DUMMY_PASSWORD_FILE
        stat = password_file.stat()
        version = hashlib.sha256(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:12]
        read_password = lambda: password_file.read_text().strip()  # noqa: E731
    else:
        version, read_password = "unused", lambda: secrets.token_hex(16)  # noqa: E731
    if ensure_secret(client, f"{stack}_lab_password_{version}", read_password):
        created.append(f"{stack}_lab_password_{version}")

    extra = base / env.HUB_EXTRA_CONFIG if env.HUB_EXTRA_CONFIG else NO_EXTRA_CONFIG
    profiles = base / env.PROFILES_FILE if env.PROFILES_FILE else NO_PROFILES
    variables = {
        "STACK_NAME": stack,
        "PUBLIC_PORT": str(env.PUBLIC_PORT),
        "NETWORK_NAME": env.NETWORK_NAME,
        "HUB_DATA_VOLUME": env.HUB_DATA_VOLUME,
        "HUB_CONSTRAINT": env.HUB_CONSTRAINT,
        "HUB_IMAGE_REF": hub_ref,
        "SINGLEUSER_IMAGE_REF": singleuser_ref,
        "ENV_FILE": str(Path(env_path).resolve()),
        "ENV_HASH": file_hash(env_path),
        "EXTRA_CONFIG_FILE": str(extra),
        "EXTRA_HASH": file_hash(extra),
        "PROFILES_FILE": str(profiles),
        "PROFILES_HASH": file_hash(profiles),
        "LAB_PASSWORD_HASH": version,
    }
    files = [STACK_FILE]
    if env.USER_STORAGE == "shared":
        variables["USER_STORAGE_PATH"] = env.USER_STORAGE_PATH
        files.append(SHARED_STORAGE_FILE)
        if not os.path.isdir(env.USER_STORAGE_PATH):
            # A single node's own folder; on a cluster the playbook has mounted it already.
            log(f"creating {env.USER_STORAGE_PATH} for users' files")
            os.makedirs(env.USER_STORAGE_PATH, mode=0o755)
    before = service_specs(client, stack)
    log(f"deploying stack {stack}")
    subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "--prune",
         *(arg for f in files for arg in ("-c", str(f))), stack],
        env={**os.environ, **variables},
        check=True,
    )
    if wait:
        wait_until_up(env, docker.from_env(version="auto"))
    log(f"JupyterHub answers at http://<proxy node>:{env.PUBLIC_PORT}/ "
        f"(here: http://127.0.0.1:{env.PUBLIC_PORT}/)")
    if report:
        after = service_specs(client, stack)
        updated = sorted(name for name, spec in after.items() if before.get(name) != spec)
        removed = sorted(set(before) - set(after))
        print(json.dumps({"changed": bool(created or updated or removed), "created": created,
                          "services_changed": updated, "services_removed": removed}))


def converged(client, stack):
    """Every service of the stack runs tasks of its current spec, and no update is under way.

    Right after a redeploy the old hub still answers, so the health check alone would pass
    before the new one has even started.
    """
    for service in client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
        if service.attrs.get("UpdateStatus", {}).get("State") in ("updating", "rollback_started"):
            return False
        template = {k: v for k, v in service.attrs["Spec"]["TaskTemplate"].items() if k != "Runtime"}
        tasks = service.tasks(filters={"desired-state": "running"})
        if not tasks:
            return False
        for task in tasks:
            spec = {k: v for k, v in task["Spec"].items() if k != "Runtime"}
            if spec != template or task["Status"]["State"] != "running":
                return False
    return True


def wait_until_up(env, client, timeout=300):
    url = f"http://127.0.0.1:{env.PUBLIC_PORT}/hub/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not converged(client, env.STACK_NAME):
            time.sleep(1)
            continue
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    log("hub is up")
                    return
        except Exception:
            pass
        time.sleep(1)
    fail(f"the hub did not answer at {url} within {timeout} s; see docker service ps "
         f"{env.STACK_NAME}_hub")


def load_deployed(env_path):
    """The env file of a deployment that exists (files it names need not be here)."""
    try:
        return load(env_path, check_files=False)
    except EnvError as e:
        fail("; ".join(e.problems))


def remove(env_path, volumes):
    env = load_deployed(env_path)
    client = docker.from_env(version="auto")
    stack = env.STACK_NAME
    log(f"removing stack {stack}")
    subprocess.run(["docker", "stack", "rm", stack], check=False)
    servers = client.services.list(filters={"label": f"{LABEL_HUB}={stack}"})
    for service in servers:
        log(f"removing user server {service.name}")
        service.remove()
    # Wait for the containers to go, so that networks and volumes are free to remove.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.containers.list(
        all=True, filters={"label": f"com.docker.stack.namespace={stack}"}
    ) + client.containers.list(all=True, filters={"label": f"{LABEL_HUB}={stack}"}):
        time.sleep(1)
    try:
        client.networks.get(env.NETWORK_NAME).remove()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        log(f"kept network {env.NETWORK_NAME}: {e.explanation}")
    if not volumes:
        log("kept the hub's database, users' files and the secrets (--volumes removes them)")
        return
    for secret in client.secrets.list(filters={"name": f"{stack}_"}):
        secret.remove()
    remove_user_data(client, env)
    try:
        client.volumes.get(env.HUB_DATA_VOLUME).remove(force=True)
        log(f"removed volume {env.HUB_DATA_VOLUME}")
    except docker.errors.NotFound:
        pass


def remove_user_data(client, env):
    """This deployment's users' files on this node, and nothing else: the volumes its hub
    labelled as its own, and the user directories under its USER_STORAGE_PATH."""
    for volume in client.volumes.list(filters={"label": f"{LABEL_HUB}={env.STACK_NAME}"}):
        log(f"removing volume {volume.name}")
        volume.remove(force=True)
    if env.USER_STORAGE == "shared" and os.path.isdir(env.USER_STORAGE_PATH):
        for entry in sorted(os.scandir(env.USER_STORAGE_PATH), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                log(f"removing {entry.path}")
                shutil.rmtree(entry.path)


def userdata(env_path, as_json):
    """Where each user's files live, from the hub's own view (its database, its mounts)."""
    env = load_deployed(env_path)
    client = docker.from_env(version="auto")
    hubs = client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={env.STACK_NAME}_hub"})
    if not hubs:
        fail(f"the hub does not run on this node: run this on the node that"
             f" `docker service ps {env.STACK_NAME}_hub` names")
    result = hubs[0].exec_run(["swarmspawner-userdata", "list", *(["--json"] if as_json else [])])
    sys.stdout.write(result.output.decode())
    sys.exit(result.exit_code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["deploy", "remove", "userdata"])
    parser.add_argument("--env", default=".env", help="the env file (default: .env)")
    parser.add_argument("--wait", action="store_true", help="wait until the hub answers")
    parser.add_argument("--json", action="store_true",
                        help="with deploy: end with a line of JSON saying what changed;"
                        " with userdata: print JSON")
    parser.add_argument("--volumes", action="store_true",
                        help="with remove: also remove the hub's database, users' files and"
                        " the secrets")
    args = parser.parse_args()
    if args.command == "deploy":
        deploy(args.env, args.wait, args.json)
    elif args.command == "userdata":
        userdata(args.env, args.json)
    else:
        remove(args.env, args.volumes)


if __name__ == "__main__":
    main()
