"""Fixtures for tests on the real single-node swarm that `make test` sets up."""

import io
import secrets
import textwrap
import time

import docker
import pytest

from swarmspawner.objects import LABEL_HUB, LABEL_SERVER, LABEL_USER
from swarmspawner_deploy.images import HUB_IMAGE, SINGLEUSER_IMAGE
from tests.support.docker_socket_counter import DockerSocketCounter
from tests.support.hub import Hub

NETWORK = "sstest-overlay"
SUBNET = "10.213.7.0/24"

# Per-user settings for the failure cases, applied the way an admin would: a hook.
FAILURE_HOOK = """
def _per_user(spawner):
    name = spawner.user.name
    if name.startswith("noimage"):
        spawner.image = "sha256:" + "0" * 64
    elif name.startswith("noplace"):
        spawner.placement_constraints = ["node.labels.swarmspawner-test == nowhere"]
    elif name.startswith("toobig"):
        spawner.mem_guarantee = "100000G"
    elif name.startswith("badmount"):
        spawner.mounts = [{"type": "bind", "source": "/does/not/exist", "target": "/x"}]
    elif name.startswith("silent"):
        spawner.cmd = ["sleep", "600"]
        spawner.http_timeout = 5
    elif name.startswith("crashes"):
        spawner.cmd = ["sh", "-c", "sleep 2; exit 3"]
    elif name.startswith("lastwords"):
        spawner.cmd = ["sh", "-c", "echo 'cannot open /data/results.csv' >&2; sleep 2; exit 3"]
    elif name.startswith("nocommand"):
        spawner.cmd = ["/usr/local/bin/no-such-command"]
    elif name.startswith("dockerstacks"):
        spawner.cmd = ["/usr/local/bin/start-singleuser.sh"]
c.Spawner.pre_spawn_hook = _per_user
"""


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(version="auto")
    try:
        assert client.info()["Swarm"]["LocalNodeState"] == "active"
    except Exception as e:
        pytest.fail(f"needs a Docker engine in swarm mode (run `make test`): {e}")
    return client


@pytest.fixture(scope="session")
def singleuser_image(docker_client):
    # Referenced by ID: a node never tries a registry for an image given by ID.
    return docker_client.images.get(SINGLEUSER_IMAGE).id


@pytest.fixture(scope="session")
def network(docker_client):
    try:
        net = docker_client.networks.get(NETWORK)
        if net.attrs["IPAM"]["Config"][0]["Subnet"] != SUBNET:
            net.remove()
            raise docker.errors.NotFound("wrong subnet")
    except docker.errors.NotFound:
        docker_client.networks.create(
            NETWORK,
            driver="overlay",
            attachable=True,
            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]),
        )
    return NETWORK


@pytest.fixture(scope="session")
def hub_id():
    return "sstest-" + secrets.token_hex(3)


def hub_services(client, hub_id):
    return client.services.list(filters={"label": f"{LABEL_HUB}={hub_id}"})


def service_of(client, hub_id, user, server=""):
    """The service of this user's server on this hub, or None (never two)."""
    found = [
        s for s in hub_services(client, hub_id)
        if s.attrs["Spec"]["Labels"][LABEL_USER] == user
        and s.attrs["Spec"]["Labels"][LABEL_SERVER] == server
    ]
    assert len(found) <= 1
    return found[0] if found else None


def session_services(client, hub_id):
    """Services of every hub this test session started (their ids share a prefix)."""
    return [
        s
        for s in client.services.list(filters={"label": "swarmspawner.hub"})
        if s.attrs["Spec"]["Labels"]["swarmspawner.hub"].startswith(hub_id)
    ]


@pytest.fixture(scope="session", autouse=True)
def cleanup(docker_client, hub_id):
    yield
    for service in session_services(docker_client, hub_id):
        service.remove()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
        c.labels.get("swarmspawner.hub", "").startswith(hub_id)
        for c in docker_client.containers.list(all=True, filters={"label": "swarmspawner.hub"})
    ):
        time.sleep(0.5)
    for volume in docker_client.volumes.list(filters={"name": "sstest-"}):
        try:
            volume.remove()
        except docker.errors.APIError:
            pass


@pytest.fixture(scope="session")
def make_hub(docker_client, network, singleuser_image, hub_id, tmp_path_factory):
    hubs = []
    addresses = iter(f"10.213.7.{n}" for n in range(200, 250))

    def make(extra_config="", docker_socket="/var/run/docker.sock", hub_id=hub_id, binds=None):
        name = f"sstest-hub-{secrets.token_hex(3)}"
        hub = Hub(
            docker_client,
            tmp_path_factory.mktemp(name),
            image=HUB_IMAGE,
            singleuser_image=singleuser_image,
            network=network,
            hub_id=hub_id,
            prefix="sstest",
            name=name,
            extra_config=extra_config,
            docker_socket=docker_socket,
            ip=next(addresses),
            binds=binds,
        )
        hubs.append(hub)
        return hub.start()

    yield make
    for hub in hubs:
        hub.remove()


@pytest.fixture(scope="session")
def hub(make_hub):
    """The hub most tests share: per-user settings for the failure cases."""
    return make_hub(
        textwrap.dedent("""
        c.Spawner.mem_limit = "512M"
        c.Spawner.cpu_limit = 0.5
        c.Spawner.mem_guarantee = "64M"
        c.SwarmSpawner.mounts = [
            {"type": "volume", "source": "sstest-home-{username}", "target": "/home/jovyan/work"},
            {"type": "volume", "target": "/scratch"},
            {"type": "tmpfs", "target": "/cache", "tmpfs_size": "16M"},
        ]
        c.Spawner.poll_interval = 5
        c.SwarmSpawner.watch_interval = 2
        """)
        + FAILURE_HOOK
    )


@pytest.fixture
def socket_counter(tmp_path):
    counter = DockerSocketCounter(str(tmp_path / "docker.sock")).start()
    yield counter
    counter.stop()


@pytest.fixture(scope="session")
def alt_image(docker_client, singleuser_image, hub_id):
    """A second single-user image, for a profile with another image, referenced by ID.

    A one-label image on top of the single-user image: its own ID, so a profile's image can
    be told apart in the service, and no tag, so no node ever tries a registry for it.
    The label is this session's own, so a concurrent session's clean-up cannot take it.
    """
    dockerfile = f"FROM {singleuser_image}\nLABEL swarmspawner.test={hub_id}\n"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    yield image.id
    try:
        docker_client.images.remove(image.id)
    except docker.errors.APIError:
        pass


@pytest.fixture(scope="session")
def profiles_hub(make_hub, alt_image, hub_id):
    """A hub offering the profiles of tests/support/profiles.py."""
    from tests.support.profiles import ANSWER_REJECTIONS, PROFILES_CONFIG

    return make_hub(
        PROFILES_CONFIG.format(alt=alt_image) + ANSWER_REJECTIONS,
        hub_id=hub_id + "-profiles",
    )
