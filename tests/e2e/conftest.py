"""Smoke tests of a deployed cluster, through the inventory the playbook ran on.

    make e2e                         # the lab on this machine (lab/inventory.ini)
    make e2e INVENTORY=hosts.ini     # real hosts
    pytest tests/e2e --hosts='ansible://managers,ansible://workers' --ansible-inventory=INV --e2e-env=.env

Host-by-host tests take testinfra's `host` fixture (one run per host of --hosts); cluster
tests talk to the first manager's engine over SSH and to the hub through its public URL.
"""

import json
import secrets
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

from swarmspawner_deploy.edge import public_url
from swarmspawner_deploy.envfile import INTERNAL_CA_CERT, load
from tests.support.user import HubUser
from tests.support.wait import wait_for as _wait_for

# Across the lab's hosts: a generous default, checked once a second.
wait_for = partial(_wait_for, timeout=120, interval=1.0)

REPO = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption("--e2e-env", default=str(REPO / ".env"),
                     help="the env file the cluster was deployed from")
    parser.addoption("--e2e-node-loss", action="store_true",
                     help="also stop the engine on a worker (the node-loss test; not for a cluster in use)")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def inventory(pytestconfig):
    path = pytestconfig.option.ansible_inventory
    if not path or not Path(path).exists():
        pytest.skip("no inventory: make up first (or pass --ansible-inventory)")
    return path


@pytest.fixture(scope="session")
def env_path(pytestconfig):
    return Path(pytestconfig.option.e2e_env).resolve()


@pytest.fixture(scope="session")
def env(env_path):
    return load(str(env_path), check_files=False)


@pytest.fixture(scope="session")
def runner(inventory):
    return AnsibleRunner(inventory)


@pytest.fixture(scope="session")
def managers(runner):
    return runner.get_hosts("managers")


@pytest.fixture(scope="session")
def workers(runner):
    return runner.get_hosts("workers")


def connect(inventory, name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


@pytest.fixture(scope="session")
def manager(inventory, managers):
    """The first manager: the one that inited the swarm and deployed the stack."""
    return connect(inventory, sorted(managers)[0])


@pytest.fixture(scope="session")
def node_host(inventory, runner):
    """A node's testinfra host, by its swarm hostname (the inventory name, else a lookup)."""
    cache = {}

    def get(hostname):
        if hostname not in cache:
            names = runner.get_hosts("all")
            if hostname not in names:
                names = [n for n in names if connect(inventory, n).check_output("hostname") == hostname]
                assert names, f"node {hostname} is not in the inventory"
                hostname_in_inventory = names[0]
            else:
                hostname_in_inventory = hostname
            cache[hostname] = connect(inventory, hostname_in_inventory)
        return cache[hostname]

    return get


@pytest.fixture(scope="session")
def hub_url(runner, managers, env):
    """What users type: PUBLIC_HOST's HTTPS URL (the lab publishes its ports on 127.0.0.1,
    and PUBLIC_HOST is localhost); with TLS=off, the first manager's address and PUBLIC_PORT."""
    if env.TLS != "off":
        return public_url(env)
    first = sorted(managers)[0]
    variables = runner.get_variables(first)
    host = variables.get("public_host") or variables.get("ansible_host") or first
    return f"http://{host}:{env.PUBLIC_PORT}"


@pytest.fixture(scope="session")
def hub_ca(env, env_path):
    """What a client trusts the hub's certificate by: the deployment's own CA (TLS=internal),
    else the system's CAs."""
    if env.TLS == "internal":
        return str(env_path.parent / INTERNAL_CA_CERT)
    return True


@pytest.fixture(scope="session")
def private_registry(runner, managers, manager, env):
    """host:port of the first manager's registry when the inventory says images_source=registry:
    the registry its engine trusts besides the env file's (the role's own address, as deployed).
    """
    first = sorted(managers)[0]
    if runner.get_variables(first).get("images_source", "load") != "registry":
        return None
    config = json.loads(manager.file("/etc/docker/daemon.json").content_string)
    added = [r for r in config.get("insecure-registries", []) if r not in env.INSECURE_REGISTRIES]
    assert len(added) == 1, f"expected one private registry in daemon.json, found {added}"
    host = runner.get_variables(first).get("ansible_host") or first
    assert added[0].startswith(f"{host}:"), f"the registry {added[0]} is not on {first}"
    return added[0]


@pytest.fixture(scope="session")
def password(env, env_path):
    if env.AUTHENTICATOR != "dummy":
        pytest.skip("the spawn tests log in with the lab's shared password (AUTHENTICATOR=dummy)")
    return (env_path.parent / env.DUMMY_PASSWORD_FILE).read_text().strip()


class Swarm:
    """The swarm, through the first manager's docker CLI."""

    def __init__(self, host):
        self.host = host

    def json(self, *args):
        return json.loads(self.host.check_output("docker " + " ".join(args)))

    def lines(self, *args):
        return [line for line in self.host.check_output("docker " + " ".join(args)).splitlines()
                if line.strip()]


@pytest.fixture(scope="session")
def swarm(manager):
    return Swarm(manager)


def user_service(swarm, env, user):
    """The name of the service the hub runs for this user's default server, or None."""
    names = swarm.lines(
        f"service ls --filter label=swarmspawner.hub={env.STACK_NAME} "
        f"--filter label=swarmspawner.user={user} --format '{{{{.Name}}}}'")
    return names[0] if names else None


def _new_user(hub_url, hub_ca, password):
    user = HubUser(hub_url, "e2e" + secrets.token_hex(3), password, verify=hub_ca)
    yield user
    if user.server_model() is not None:
        user.stop()


@pytest.fixture
def hub_user(hub_url, hub_ca, password):
    """A new user of the hub, logged in; their server is stopped afterwards."""
    yield from _new_user(hub_url, hub_ca, password)


@pytest.fixture
def other_user(hub_url, hub_ca, password):
    """A second new user, beside hub_user."""
    yield from _new_user(hub_url, hub_ca, password)


def node_state(swarm, hostname):
    return swarm.json(f"node inspect {hostname}")[0]["Status"]["State"]


def running_node(swarm, service):
    nodes = swarm.lines(
        f"service ps {service} --filter desired-state=running --format '{{{{.Node}}}}'")
    return nodes[0] if nodes else None


@pytest.fixture
def lose_engine(swarm, node_host):
    """Stop the engine of a node; start it again afterwards and wait until the node is back."""
    lost = []

    def lose(hostname):
        host = node_host(hostname)
        host.check_output("systemctl stop docker.socket docker.service")
        lost.append((hostname, host))
        return time.monotonic()

    yield lose
    for hostname, host in lost:
        host.check_output("systemctl start docker.service")
        assert wait_for(lambda: node_state(swarm, hostname) == "ready", timeout=120), hostname


def write(user, path, content):
    """Save a text file in the user's server, as JupyterLab's editor does."""
    return user.contents("PUT", path, json={"type": "file", "format": "text", "content": content})


def read(user, path):
    response = user.contents("GET", path)
    return response.json()["content"] if response.status_code == 200 else None


@pytest.fixture
def node_loss_enabled(pytestconfig, workers):
    if not pytestconfig.option.e2e_node_loss:
        pytest.skip("the node-loss tests stop a worker's engine: pass --e2e-node-loss")
    if len(workers) < 2:
        pytest.skip("the node-loss tests need two workers (one to lose, one to land on)")


#: Where the stack role puts the env file and the deploy tooling on the first manager.
STACK_DIR = "/opt/swarmspawner"


def deploy(manager, env_file):
    """Deploy the stack from an env file in STACK_DIR, as the stack role does, and wait."""
    manager.check_output(
        f"cd {STACK_DIR} && venv/bin/swarmspawner-stack deploy --env {env_file} --wait")


def redeployed(manager, name, changes):
    """The lab's .env with these changes, as STACK_DIR/.env.NAME, deployed; its file name."""
    edits = " ".join(f"-e 's|^{k}=.*|{k}={v}|'" for k, v in changes.items())
    manager.check_output(f"cd {STACK_DIR} && sed {edits} .env > .env.{name}"
                         f" && chmod 600 .env.{name}")
    deploy(manager, f".env.{name}")
    return f".env.{name}"


def run_playbook(inventory, env_path, suffix, text, tags):
    """ansible/site.yml's parts ``tags``, as an admin runs them, from a variant of the lab's env
    file (``text``, written beside it as .env.SUFFIX and removed after): (exit code, output)."""
    variant = env_path.with_name(f"{env_path.name}.{suffix}")
    variant.write_text(text)
    variant.chmod(0o600)
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory,
             str(REPO / "ansible/site.yml"), "--tags", tags, "-e", f"env_file={variant}"],
            capture_output=True, text=True, timeout=900,
            env={"ANSIBLE_CONFIG": str(REPO / "ansible/ansible.cfg"),
                 "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    finally:
        variant.unlink()
    return result.returncode, result.stdout + result.stderr
