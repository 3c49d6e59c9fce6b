"""Users' files on the real swarm: a directory on shared storage, or a volume kept on its node.

The multi-node behaviour (servers alternating between workers, a lost node) is in
tests/e2e/test_storage.py; here the hub's own part: making the directory, mounting it where
JupyterLab opens, pinning a volume's server to its node, per-user driver options.
"""

import os
import secrets
import stat
import textwrap

import pytest

from tests.integration.conftest import service_of
from tests.support.wait import wait_for


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared-users")
    root.chmod(0o755)
    return str(root)


@pytest.fixture(scope="module")
def shared_hub(make_hub, shared_root):
    return make_hub(textwrap.dedent(f"""
        c.SwarmSpawner.shared_home_root = {shared_root!r}
        c.Spawner.notebook_dir = "/home/jovyan"
        c.Spawner.mem_limit = "512M"
        """), binds={shared_root: shared_root})


@pytest.fixture(scope="module")
def sticky_hub(make_hub, hub_id):
    return make_hub(textwrap.dedent(f"""
        c.SwarmSpawner.mounts = [{{"type": "volume", "source": "{hub_id}-sticky-{{username}}",
                                   "target": "/home/jovyan"}}]
        c.SwarmSpawner.volume_node_sticky = True
        c.Spawner.notebook_dir = "/home/jovyan"
        c.Spawner.mem_limit = "512M"
        """))


def container_of(docker_client, service):
    found = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.id={service.id}"})
    assert found, f"no running container of {service.name} on this node"
    return found[0]


def test_a_users_directory_is_made_on_first_start_and_holds_every_file(
        shared_hub, shared_root, docker_client):
    user = "uma" + secrets.token_hex(2)
    ready, events = shared_hub.spawn(user)
    assert ready, events
    home = os.path.join(shared_root, user)
    info = os.stat(home)
    # The image's user owns it, and nobody else may enter.
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1000, 100, 0o700)

    # JupyterLab's file browser opens on it: a notebook at its root is kept too.
    assert shared_hub.write_file(user, "thesis.txt", "chapter 1").status_code == 201
    assert shared_hub.user_api(user, path="/api/contents/drafts", method="PUT",
                               json={"type": "directory"}).status_code == 201
    assert shared_hub.write_file(user, "drafts/notes.txt", "to do").status_code == 201
    with open(os.path.join(home, "thesis.txt")) as f:
        assert f.read() == "chapter 1"
    assert os.stat(os.path.join(home, "thesis.txt")).st_uid == 1000

    shared_hub.stop(user)
    ready, events = shared_hub.spawn(user)
    assert ready, events
    assert shared_hub.read_file(user, "thesis.txt") == "chapter 1"
    assert shared_hub.read_file(user, "drafts/notes.txt") == "to do"
    shared_hub.stop(user)


def test_a_server_sees_its_users_directory_and_no_other(shared_hub, shared_root, docker_client,
                                                         hub_id):
    first, second = "ann" + secrets.token_hex(2), "ben" + secrets.token_hex(2)
    for user in (first, second):
        ready, events = shared_hub.spawn(user)
        assert ready, events
    assert shared_hub.write_file(first, "private.txt", "mine").status_code == 201

    # What the second user's terminal shows: their own home, nothing of the shared root.
    container = container_of(docker_client, service_of(docker_client, hub_id, second))
    listing = container.exec_run(["ls", "-a", "/home/jovyan"], user="1000").output.decode()
    assert "private.txt" not in listing
    for path in (shared_root, os.path.join(shared_root, first),
                 os.path.join(shared_root, first, "private.txt")):
        result = container.exec_run(["cat", path], user="1000")
        assert result.exit_code != 0, f"{second} could read {path}"
    for user in (first, second):
        shared_hub.stop(user)


def test_no_shared_storage_no_start_and_no_service(make_hub, tmp_path, docker_client, hub_id):
    missing = str(tmp_path / "not-mounted")
    hub = make_hub(f"c.SwarmSpawner.shared_home_root = {missing!r}\n")
    user = "nina" + secrets.token_hex(2)
    ready, events = hub.spawn(user)
    assert not ready
    assert "shared storage" in events[-1]["message"], events[-1]
    assert service_of(docker_client, hub_id, user) is None


def test_a_volumes_server_stays_on_its_node_and_says_so_when_it_cannot(sticky_hub, docker_client,
                                                                        hub_id):
    user = "vic" + secrets.token_hex(2)
    ready, events = sticky_hub.spawn(user)
    assert ready, events
    state = sticky_hub.api("GET", f"/users/{user}").json()["servers"][""]["state"]
    node = docker_client.api.inspect_node(docker_client.info()["Swarm"]["NodeID"])
    assert state["volume_node"] == {"id": node["ID"], "name": node["Description"]["Hostname"]}
    sticky_hub.stop(user)
    state = sticky_hub.api("GET", f"/users/{user}?include_stopped_servers=1").json()[
        "servers"][""]["state"]
    assert state["volume_node"]["id"] == node["ID"], "the node is forgotten when the server stops"

    # Paused by an admin (new tasks may not land there): the start is refused at once,
    # naming the node, and leaves no service.
    spec = node["Spec"]
    docker_client.api.update_node(node["ID"], node["Version"]["Index"],
                                  {**spec, "Availability": "pause"})
    try:
        ready, events = sticky_hub.spawn(user)
        assert not ready
        # (This hub answers every POST at once, so the refusal comes as the failed event; the
        # deployed hub's answer is an HTTP 400: tests/e2e/test_storage.py.)
        message = events[-1]["message"]
        assert node["Description"]["Hostname"] in message and "paused" in message, message
        assert service_of(docker_client, hub_id, user) is None
    finally:
        node = docker_client.api.inspect_node(node["ID"])
        docker_client.api.update_node(node["ID"], node["Version"]["Index"],
                                      {**node["Spec"], "Availability": "active"})

    ready, events = sticky_hub.spawn(user)
    assert ready, events
    constraints = service_of(docker_client, hub_id, user).attrs["Spec"]["TaskTemplate"][
        "Placement"]["Constraints"]
    assert f"node.id=={node['ID']}" in constraints
    sticky_hub.stop(user)


def test_driver_options_are_per_user(make_hub, docker_client, hub_id):
    hub = make_hub(textwrap.dedent(f"""
        c.SwarmSpawner.mounts = [{{"type": "volume", "source": "{hub_id}-tmp-{{username}}",
                                   "target": "/scratch"}}]
        c.SwarmSpawner.volume_driver = "local"
        c.SwarmSpawner.volume_driver_options = {{
            "type": "tmpfs", "device": "tmpfs-{{username}}", "o": "size=8m"}}
        c.Spawner.mem_limit = "512M"
        """))
    user = "dora" + secrets.token_hex(2)
    ready, events = hub.spawn(user)
    assert ready, events
    volume = docker_client.volumes.get(f"{hub_id}-tmp-{user}")
    assert volume.attrs["Options"]["device"] == f"tmpfs-{user}"
    assert volume.attrs["Labels"]["swarmspawner.user"] == user
    hub.stop(user)
    assert wait_for(lambda: service_of(docker_client, hub_id, user) is None)
