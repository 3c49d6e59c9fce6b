"""Deploy or remove the JupyterHub stack described by an env file.

    swarmspawner-stack deploy [--env .env] [--wait] [--json]
    swarmspawner-stack remove [--env .env] [--volumes]
    swarmspawner-stack userdata [--env .env] [--json]

deploy validates the env file first and stops, having created nothing, if a value is
wrong. Then it creates what the stack expects to exist (the overlay network, the
secrets) when missing and runs `docker stack deploy`. Running it again applies changes.
With --wait it waits until the hub answers, and fails with the hub's own last lines if its
new task fails: on a redeploy Swarm has put back the hub that ran; a stack that never ran is
removed again (its volumes and secrets stay).

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
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import docker
import yaml

from swarmspawner.objects import LABEL_HUB

from .edge import caddy_config, public_url
from .envfile import INTERNAL_CA_CERT, EnvError, images, load, secret_files
from .rollout import snapshot, stack_services, wait_until_up
from .tls import ensure_internal_ca

HERE = Path(__file__).resolve().parent
STACK_FILE = HERE / "stack.yml"
SHARED_STORAGE_FILE = HERE / "stack.shared.yml"
EDGE_FILE = HERE / "stack.edge.yml"
ENCRYPTED_FILE = HERE / "stack.encrypted.yml"
POSTGRES_FILE = HERE / "stack.postgres.yml"
NO_PROFILES = HERE / "no_profiles.yaml"
GENERATED_SECRETS = ("cookie_secret", "crypt_key", "proxy_token")


def log(message):
    print(f"stack: {message}", flush=True)


def fail(message):
    print(f"stack: {message}", file=sys.stderr)
    sys.exit(1)


def fail_first_deploy(client, stack, message):
    """A stack that never ran and cannot start goes again, so that Swarm does not restart a
    failing hub every second; the volumes, secrets and users' network stay for the next
    deploy. (A redeploy's failure leaves the services as Swarm rolled them back.)"""
    take_down(client, stack, quiet=True)
    fail(f"{message}\nThe stack never ran, so its services were removed again; fix the cause"
         " and deploy again.")


def take_down(client, stack, quiet=False):
    """`docker stack rm`, and its private network once its containers are gone (the CLI
    tries while they still stop, and a network left holding CONTROL_SUBNET blocks the
    next deploy)."""
    subprocess.run(["docker", "stack", "rm", stack], check=False, capture_output=quiet)
    label = {"label": f"com.docker.stack.namespace={stack}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.containers.list(all=True, filters=label,
                                                                  sparse=True):
        time.sleep(1)
    for network in client.networks.list(filters=label):
        try:
            network.remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            log(f"kept network {network.name}: {e.explanation}")


def network_subnets(client):
    """(network name, its stack or None, subnet) of each network on the engine."""
    found = []
    for network in client.networks.list():
        stack = (network.attrs.get("Labels") or {}).get("com.docker.stack.namespace")
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                subnet = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            found.append((network.name, stack, subnet))
    return found


def subnet_in_use(networks, subnet, stack=None):
    """(network, its subnet) of a network of ``networks`` (from network_subnets) that
    overlaps ``subnet``, or None; ``stack``'s own networks, from an earlier deploy, do not count."""
    wanted = ipaddress.ip_network(subnet)
    for name, owner, theirs in networks:
        if stack and owner == stack:
            continue
        if theirs.version == wanted.version and theirs.overlaps(wanted):
            return name, str(theirs)
    return None


def free_subnet(networks):
    """A /24 under 10.213.0.0/16 that none of ``networks`` uses."""
    for candidate in ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=24):
        if not subnet_in_use(networks, str(candidate)):
            return str(candidate)
    return "another private /24"


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def image_refs(client, env, env_path):
    """Each image the deployment runs, as the stack and the hub should name it: with
    PIN_LOCAL_IMAGES, its ID on this node (so that no node tries a pull); else its name."""
    names = [image["name"] for image in images(env, env_path)]
    if not env.PIN_LOCAL_IMAGES:
        return {name: name for name in names}
    refs = {}
    for name in names:
        try:
            refs[name] = client.images.get(name).id
        except docker.errors.ImageNotFound:
            if name in (env.HUB_IMAGE, env.SINGLEUSER_IMAGE, env.POSTGRES_IMAGE):
                fail(f"{name} is not on this node (PIN_LOCAL_IMAGES=true): build or load it first")
            # The playbook puts every image on the first manager; by hand, one may be missing.
            log(f"WARNING: {name} (PROFILES_FILE) is not on this node, so servers name it"
                " by name: a node without it will try to pull it")
            refs[name] = name
    return refs


def ensure_network(client, name, encrypted):
    """Create the overlay network if missing; returns whether it was created."""
    try:
        net = client.networks.get(name)
    except docker.errors.NotFound:
        log(f"creating overlay network {name}{' (encrypted)' if encrypted else ''}")
        client.networks.create(name, driver="overlay", attachable=True,
                               options={"encrypted": ""} if encrypted else None)
        return True
    if net.attrs["Driver"] != "overlay" or not net.attrs.get("Attachable"):
        fail(f"network {name} exists but is not an attachable overlay network")
    if ("encrypted" in (net.attrs.get("Options") or {})) != encrypted:
        fail(f"network {name} exists {'un' if encrypted else ''}encrypted, and a network's"
             f" encryption cannot change in place: set OVERLAY_ENCRYPTED={str(not encrypted).lower()}"
             " again, or remove the stack (swarmspawner-stack remove; users' servers stop) and"
             " deploy anew")
    return False


def ensure_secret(client, name, make_value):
    """Create the secret if missing (the name filter matches prefixes); returns whether."""
    if any(s.name == name for s in client.secrets.list(filters={"name": name})):
        return False
    log(f"creating secret {name}")
    value = make_value()
    client.secrets.create(name=name, data=value if isinstance(value, bytes) else value.encode())
    return True


def file_version(path):
    """A secret's name part for a file: from its version (time and size), not its content,
    so that the name tells nothing of the secret; a changed file makes a new secret."""
    stat = Path(path).stat()
    return hashlib.sha256(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:12]


def file_secrets_part(stack, secrets_by_service):
    """The stack's generated part: each service's secrets from files, {service: {secret name
    in the container: secret's name in the swarm}}, as a compose file's dict."""
    part = {"version": "3.8", "services": {}, "secrets": {}}
    for service, named in secrets_by_service.items():
        part["services"][service] = {"secrets": [
            {"source": f"file_{target}", "target": target, "mode": 0o400}
            for target in sorted(named)]}
        for target, swarm_name in named.items():
            part["secrets"][f"file_{target}"] = {"external": True, "name": swarm_name}
    return part


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
    networks = network_subnets(client)
    clash = subnet_in_use(networks, env.CONTROL_SUBNET, env.STACK_NAME)
    if clash:
        fail(f"CONTROL_SUBNET={env.CONTROL_SUBNET} overlaps the subnet {clash[1]} of network"
             f" {clash[0]}: the swarm would never start the stack's tasks. Set CONTROL_SUBNET to"
             f" a free one, such as {free_subnet(networks)}; nothing was deployed")

    refs = image_refs(client, env, env_path)
    stack = env.STACK_NAME
    created = ([env.NETWORK_NAME] if ensure_network(client, env.NETWORK_NAME,
                                                    env.OVERLAY_ENCRYPTED) else [])
    generated = GENERATED_SECRETS + (("db_password",) if env.DB_SERVICE == "postgres" else ())
    for name in generated:
        if ensure_secret(client, f"{stack}_{name}", lambda: secrets.token_hex(32)):
            created.append(f"{stack}_{name}")

    if env.TLS == "internal":
        ca, made = ensure_internal_ca(base, stack)
        if made:
            log(f"made the deployment's own CA: {ca} (TLS=internal)")
    secrets_by_service = {"hub": {}, "edge": {}} if env.TLS != "off" else {"hub": {}}
    for _, path, target, service in secret_files(env):
        full = base / path
        name = f"{stack}_{target}_{file_version(full)}"
        if ensure_secret(client, name, full.read_bytes):
            created.append(name)
        secrets_by_service[service][target] = name

    profiles = base / env.PROFILES_FILE if env.PROFILES_FILE else NO_PROFILES
    work = tempfile.TemporaryDirectory(prefix="swarmspawner-stack-")
    secrets_part = Path(work.name) / "stack.secrets.yml"
    secrets_part.write_text(yaml.safe_dump(file_secrets_part(stack, secrets_by_service)))
    variables = {
        "STACK_NAME": stack,
        "PUBLIC_PORT": str(env.PUBLIC_PORT),
        "PROXY_PORT": str(env.PUBLIC_PORT if env.TLS == "off" else env.INTERNAL_PORT),
        "NETWORK_NAME": env.NETWORK_NAME,
        "CONTROL_SUBNET": env.CONTROL_SUBNET,
        "HUB_DATA_VOLUME": env.HUB_DATA_VOLUME,
        "HUB_CONSTRAINT": env.HUB_CONSTRAINT,
        "HUB_IMAGE_REF": refs[env.HUB_IMAGE],
        "IMAGE_REFS": json.dumps(refs, sort_keys=True),
        "ENV_FILE": str(Path(env_path).resolve()),
        "ENV_HASH": file_hash(env_path),
        "PROFILES_FILE": str(profiles),
        "PROFILES_HASH": file_hash(profiles),
    }
    files = [STACK_FILE]
    if env.OVERLAY_ENCRYPTED:
        files.append(ENCRYPTED_FILE)
    if env.TLS != "off":
        caddy = Path(work.name) / "caddy.json"
        ca_cert = (base / INTERNAL_CA_CERT).read_bytes() if env.TLS == "internal" else b""
        caddy.write_text(json.dumps(caddy_config(env, ca_cert), indent=1, sort_keys=True))
        variables.update(HTTP_PORT=str(env.HTTP_PORT), CADDY_FILE=str(caddy),
                         CADDY_HASH=file_hash(caddy))
        files.append(EDGE_FILE)
    shared = [env.USER_STORAGE_PATH] if env.USER_STORAGE == "shared" else []
    variables["SERVER_BIND_ROOTS"] = ";".join(shared + env.SERVER_BIND_ROOTS)
    if env.USER_STORAGE == "shared":
        variables["USER_STORAGE_PATH"] = env.USER_STORAGE_PATH
        files.append(SHARED_STORAGE_FILE)
        if not os.path.isdir(env.USER_STORAGE_PATH):
            # A single node's own folder; on a cluster the playbook has mounted it already.
            log(f"creating {env.USER_STORAGE_PATH} for users' files")
            os.makedirs(env.USER_STORAGE_PATH, mode=0o755)
    if env.DB_SERVICE == "postgres":
        variables["POSTGRES_IMAGE_REF"] = refs[env.POSTGRES_IMAGE]
        files.append(POSTGRES_FILE)
    files.append(secrets_part)
    before = snapshot(client, stack)
    log(f"deploying stack {stack}")
    subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "--prune",
         *(arg for f in files for arg in ("-c", str(f))), stack],
        env={**os.environ, **variables},
        check=True,
    )
    work.cleanup()
    if wait:
        wait_until_up(env, docker.from_env(version="auto"), before,
                      fail if before else partial(fail_first_deploy, client, stack), log)
    log(f"JupyterHub: {public_url(env)}/")
    if env.TLS == "internal":
        log(f"its certificate is from this deployment's own CA: trust {base / INTERNAL_CA_CERT}"
            f" (curl --cacert {base / INTERNAL_CA_CERT} {public_url(env)}/hub/health)")
    if env.AUTHENTICATOR == "dummy":
        log("WARNING: AUTHENTICATOR=dummy is not a login: anyone with the lab password logs in as"
            " any user name. For real users set AUTHENTICATOR=native, github, generic or ldap.")
    if report:
        after = {service.name: service.attrs["Spec"] for service in stack_services(client, stack)}
        updated = sorted(name for name, spec in after.items()
                         if name not in before or before[name][0] != spec)
        removed = sorted(set(before) - set(after))
        print(json.dumps({"changed": bool(created or updated or removed), "created": created,
                          "services_changed": updated, "services_removed": removed}))


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
    servers = client.services.list(filters={"label": f"{LABEL_HUB}={stack}"})
    for service in servers:
        log(f"removing user server {service.name}")
        service.remove()
    take_down(client, stack)
    # Wait for the servers' containers to go too, so that networks and volumes are free.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.containers.list(
            all=True, filters={"label": f"{LABEL_HUB}={stack}"}, sparse=True):
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
    for volume in (env.HUB_DATA_VOLUME, f"{stack}_edge_data", f"{stack}_db_data"):
        try:
            client.volumes.get(volume).remove(force=True)
            log(f"removed volume {volume}")
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
