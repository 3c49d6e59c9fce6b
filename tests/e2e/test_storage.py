"""Users' files on the cluster: they follow the user to any node (shared storage), or the user's
servers stay with them (node-local volumes); nobody reaches another user's files.

The local-storage tests redeploy the stack with USER_STORAGE=local (and a short IDLE_TIMEOUT for
the culler) and deploy the env file as it was afterwards.
"""

import json
import secrets
import statistics
import time

import pytest

from tests.e2e.conftest import (
    STACK_DIR,
    deploy,
    node_state,
    read,
    redeployed,
    running_node,
    user_service,
    wait_for,
    write,
)
from tests.support.user import HubUser

CYCLES = 2  # each a stop and a start on another node (shared) or the same (local)


@pytest.fixture
def shared(env):
    if env.USER_STORAGE != "shared":
        pytest.skip("the cluster's USER_STORAGE is not shared")


def timed_start(user):
    started = time.monotonic()
    user.start()
    return time.monotonic() - started


def report(mode, durations):
    print(f"\nstorage: {mode} starts took median {statistics.median(durations):.2f} s "
          f"(min {min(durations):.2f}, max {max(durations):.2f}, n={len(durations)})")


def set_availability(swarm, node, availability):
    swarm.host.check_output(f"docker node update --availability {availability} {node}")


def test_every_node_mounts_the_users_files_before_its_engine_starts(host, env):
    if env.USER_STORAGE != "shared" or env.STORAGE_FILESYSTEM == "existing":
        pytest.skip("the playbook mounts nothing for this env file")
    mount = host.mount_point(env.USER_STORAGE_PATH)
    assert mount.exists
    if env.STORAGE_FILESYSTEM == "sshfs":
        assert mount.filesystem == "fuse.sshfs"
    else:
        assert mount.filesystem.startswith("nfs")
    assert env.USER_STORAGE_PATH in host.check_output(
        "systemctl show -p RequiresMountsFor docker.service")


def test_files_follow_the_user_from_worker_to_worker(shared, hub_user, swarm, env, workers):
    durations = [timed_start(hub_user)]
    assert write(hub_user, "thesis.txt", "chapter 1").status_code == 201
    assert hub_user.contents("PUT", "data", json={"type": "directory"}).status_code == 201
    assert write(hub_user, "data/results.csv", "a,b\n1,2\n").status_code == 201
    nodes = [running_node(swarm, user_service(swarm, env, hub_user.name))]
    for _ in range(CYCLES):
        hub_user.stop()
        # The next start may not land where the last one ran: it alternates between workers.
        set_availability(swarm, nodes[-1], "pause")
        try:
            durations.append(timed_start(hub_user))
        finally:
            set_availability(swarm, nodes[-1], "active")
        nodes.append(running_node(swarm, user_service(swarm, env, hub_user.name)))
        assert nodes[-1] != nodes[-2]
        assert read(hub_user, "thesis.txt") == "chapter 1", nodes
        assert read(hub_user, "data/results.csv") == "a,b\n1,2\n", nodes
    report("shared", durations)
    print(f"storage: the server ran on {' -> '.join(nodes)}")


def test_a_users_server_cannot_reach_another_users_files(shared, hub_url, hub_ca, password,
                                                         swarm, env,
                                                         node_host, manager):
    owner = HubUser(hub_url, "own" + secrets.token_hex(3), password, verify=hub_ca)
    other = HubUser(hub_url, "oth" + secrets.token_hex(3), password, verify=hub_ca)
    try:
        owner.start()
        assert write(owner, "private.txt", "mine alone").status_code == 201
        other.start()
        # What the other user's terminal can do: as jovyan, in their own server's container.
        service = user_service(swarm, env, other.name)
        host = node_host(running_node(swarm, service))
        container = host.check_output(
            f"docker ps -q --filter label=com.docker.swarm.service.name={service}")
        for command in (f"ls {env.USER_STORAGE_PATH}",
                        f"cat {env.USER_STORAGE_PATH}/{owner.name}/private.txt",
                        f"cat /home/jovyan/../{owner.name}/private.txt",
                        f"cat {env.USER_VOLUME_TARGET}/../{owner.name}/private.txt"):
            result = host.run(f"docker exec -u 1000 {container} {command}")
            assert result.rc != 0 and "mine alone" not in result.stdout, command
        listing = host.check_output(f"docker exec -u 1000 {container} ls -a {env.USER_VOLUME_TARGET}")
        assert "private.txt" not in listing

        # On the shared storage the directory is the image user's, for its owner only.
        stat = manager.check_output(f"stat -c '%u:%g %a' {env.USER_STORAGE_PATH}/{owner.name}")
        assert stat == f"{env.USER_UID}:{env.USER_GID} {env.USER_DIR_MODE:o}"
    finally:
        for user in (owner, other):
            if user.server_model() is not None:
                user.stop()


def test_an_admin_lists_where_each_users_files_are(shared, hub_user, manager, env):
    hub_user.start()
    rows = json.loads(manager.check_output(
        f"{STACK_DIR}/venv/bin/swarmspawner-stack userdata --env {STACK_DIR}/.env --json"))
    mine = [row for row in rows if row["user"] == hub_user.name]
    assert mine == [{"user": hub_user.name, "storage": "shared",
                     "directory": f"{env.USER_STORAGE_PATH}/{hub_user.name}",
                     "owner": f"{env.USER_UID}:{env.USER_GID}", "mode": oct(env.USER_DIR_MODE)}]


# --- node-local volumes ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_storage(manager, env):
    """The stack redeployed with USER_STORAGE=local and a 30 s idle culler; then as it was."""
    env_file = redeployed(manager, "local-storage", {"USER_STORAGE": "local", "IDLE_TIMEOUT": "30"})
    yield
    deploy(manager, ".env")
    manager.check_output(f"rm -f {STACK_DIR}/{env_file}")


def test_local_volumes_keep_a_users_servers_on_their_node(local_storage, hub_user, swarm, env):
    durations = [timed_start(hub_user)]
    assert write(hub_user, "notes.txt", "on my node").status_code == 201
    home = running_node(swarm, user_service(swarm, env, hub_user.name))
    for _ in range(CYCLES):
        hub_user.stop()
        durations.append(timed_start(hub_user))
        assert running_node(swarm, user_service(swarm, env, hub_user.name)) == home
        assert read(hub_user, "notes.txt") == "on my node"
    report("local", durations)


def test_a_start_on_a_lost_volume_node_fails_at_once_naming_it(
        local_storage, node_loss_enabled, hub_user, swarm, env, lose_engine):
    hub_user.start()
    home = running_node(swarm, user_service(swarm, env, hub_user.name))
    hub_user.stop()
    lose_engine(home)
    assert wait_for(lambda: node_state(swarm, home) == "down", timeout=120, interval=0.5)

    started = time.monotonic()
    response = hub_user.hub_api("POST", f"/users/{hub_user.name}/server", json={})
    elapsed = time.monotonic() - started
    message = response.json().get("message", "")
    print(f"\nstorage: the start on lost node {home} was refused after {elapsed:.1f} s "
          f"(HTTP {response.status_code}): {message}")
    assert response.status_code == 400
    assert home in message and "down" in message
    assert elapsed <= 10
    assert user_service(swarm, env, hub_user.name) is None, "a service was left behind"


def test_the_culler_stops_an_idle_server_and_the_next_start_has_the_files(
        local_storage, hub_user):
    hub_user.start()
    assert write(hub_user, "draft.txt", "before the culler").status_code == 201
    stopped = wait_for(lambda: hub_user.server_model() is None, timeout=180, interval=2)
    assert stopped, "the idle culler (IDLE_TIMEOUT=30) did not stop the server"
    hub_user.start()
    assert read(hub_user, "draft.txt") == "before the culler"
