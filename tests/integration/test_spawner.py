"""The spawner on the real swarm, driven through a real hub's REST API and proxy."""

import time
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
import requests

from swarmspawner.objects import LABEL_USER
from tests.support.wait import wait_for

from .conftest import hub_services, service_of

pytestmark = pytest.mark.integration


def answers(hub, user, server=""):
    try:
        return hub.user_api(user, server).status_code == 200
    except requests.RequestException:
        return False


def test_start_reach_inspect_and_stop(hub, docker_client, hub_id, network):
    ready, events = hub.spawn("alice")
    assert ready, events
    messages = [e.get("message", "") for e in events]
    assert any("Running on node" in m for m in messages), messages

    # The user's server answers through the hub's proxy.
    response = hub.user_api("alice")
    assert response.status_code == 200, response.text
    assert "version" in response.json()

    service = service_of(docker_client, hub_id, "alice")
    spec = service.attrs["Spec"]
    assert spec["Name"] == "sstest-alice--1"
    assert spec["Labels"]["swarmspawner.hub"] == hub_id
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    task = spec["TaskTemplate"]
    assert task["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 512 * 1024**2}
    assert task["Resources"]["Reservations"]["MemoryBytes"] == 64 * 1024**2
    assert task["RestartPolicy"]["Condition"] == "none"
    network_id = docker_client.networks.get(network).id
    assert [n["Target"] for n in task["Networks"]] == [network_id]
    mounts = {m["Target"]: m for m in task["ContainerSpec"]["Mounts"]}
    assert mounts["/home/jovyan/work"]["Source"] == "sstest-home-alice"
    assert "Source" not in mounts["/scratch"]
    assert mounts["/cache"]["Type"] == "tmpfs"

    # The limits reach the running container.
    container = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.id={service.id}"}
    )[0]
    assert container.attrs["HostConfig"]["Memory"] == 512 * 1024**2
    anonymous = [
        m["Name"] for m in container.attrs["Mounts"] if m["Destination"] == "/scratch"
    ]

    hub.stop("alice")
    assert service_of(docker_client, hub_id, "alice") is None
    # The engine removes the stopped container just after the task is gone.
    assert wait_for(lambda: not docker_client.containers.list(
        all=True, filters={"label": f"com.docker.swarm.service.id={service.id}"}
    ))
    # The named volume stays for the next start; the anonymous one went with the service.
    docker_client.volumes.get("sstest-home-alice")
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(anonymous[0])


def test_named_servers_run_side_by_side(hub, docker_client, hub_id):
    assert hub.spawn("bob")[0]
    assert hub.spawn("bob", "gpu")[0]
    assert hub.user_api("bob").status_code == 200
    assert hub.user_api("bob", "gpu").status_code == 200
    assert service_of(docker_client, hub_id, "bob").name == "sstest-bob--1"
    assert service_of(docker_client, hub_id, "bob", "gpu").name == "sstest-bob--gpu"
    hub.stop("bob", "gpu")
    assert service_of(docker_client, hub_id, "bob", "gpu") is None
    assert service_of(docker_client, hub_id, "bob") is not None
    hub.stop("bob")


def test_hub_notices_a_server_that_went_away(hub, docker_client, hub_id):
    assert hub.spawn("carol")[0]
    service_of(docker_client, hub_id, "carol").remove()
    # poll_interval is 5 s in this hub: it notices within a few polls (generous for a
    # machine under heavy load).
    assert wait_for(lambda: hub.server("carol") is None, timeout=180)


def test_a_node_change_refreshes_the_hubs_view_at_once(make_hub, docker_client, hub_id):
    """A node event (here: a label added) has the task listing refreshed, not left for watch_interval."""
    hub = make_hub(
        """
        c.Spawner.poll_interval = 2
        c.SwarmSpawner.watch_interval = 300
        """,
        hub_id=hub_id + "-events",
    )
    assert hub.spawn("ivan")[0]
    time.sleep(2)  # past the busy listings of the start
    service_of(docker_client, hub_id + "-events", "ivan").remove()
    node = docker_client.nodes.list()[0]
    spec = node.attrs["Spec"]
    spec.setdefault("Labels", {})["swarmspawner-test-event"] = str(time.time())
    node.update(spec)
    try:
        # One poll interval, the listing's recheck after a node event, slack for a loaded machine.
        assert wait_for(lambda: hub.server("ivan") is None, timeout=20)
    finally:
        node.reload()
        spec = node.attrs["Spec"]
        spec["Labels"].pop("swarmspawner-test-event", None)
        node.update(spec)


@pytest.mark.parametrize(
    "user, reason",
    [
        ("noimage", "No such image"),
        ("noplace", "scheduling constraints not satisfied"),
        ("toobig", "insufficient resources"),
        ("badmount", "bind source path does not exist"),
        # The task runs, but the server never listens / exits before it answers.
        ("silent", "did not answer on port 8888 within 5 s"),
        ("crashes", "non-zero exit (3)"),
        # ... and the server's own last words, besides Docker's terse reason.
        ("lastwords", "Its last output:\ncannot open /data/results.csv"),
        ("nocommand", "exec /usr/local/bin/no-such-command failed: No such file or directory"),
    ],
)
def test_a_rejected_spawn_says_why_and_leaves_nothing(hub, docker_client, hub_id, user, reason):
    started = time.monotonic()
    ready, events = hub.spawn(user)
    elapsed = time.monotonic() - started
    assert not ready
    assert reason in events[-1]["message"], events
    # Well before start_timeout (120 s in this hub): the swarm's own answer is used.
    assert elapsed < 60
    assert service_of(docker_client, hub_id, user) is None
    assert hub.server(user) is None


def test_the_docker_stacks_entry_point_starts_a_server(hub, docker_client, hub_id):
    # args: /usr/local/bin/start-singleuser.sh, the original package's own advice.
    ready, events = hub.spawn("dockerstacks")
    assert ready, events
    spec = service_of(docker_client, hub_id, "dockerstacks").attrs["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Args"][0] == "/usr/local/bin/start-singleuser.sh"
    assert wait_for(lambda: answers(hub, "dockerstacks"), timeout=60)
    hub.stop("dockerstacks")


def test_hub_restart_adopts_running_servers(make_hub, docker_client, hub_id):
    hub = make_hub(hub_id=hub_id + "-restart")
    assert hub.spawn("dave")[0]
    before = service_of(docker_client, hub_id + "-restart", "dave")
    hub.restart()
    # Same service, still answering through the restarted hub's proxy, nothing new created.
    assert hub.server("dave")["ready"]
    # The new hub container has a new address; the server's HTTP client caches the old one
    # for a few seconds, so its first token checks may fail before it finds the hub again.
    assert wait_for(lambda: answers(hub, "dave"), timeout=120)
    after = hub_services(docker_client, hub_id + "-restart")
    assert [s.id for s in after] == [before.id]
    hub.stop("dave")
    assert not hub_services(docker_client, hub_id + "-restart")


def test_docker_requests_do_not_grow_with_servers(make_hub, socket_counter, hub_id):
    hub = make_hub(
        """
        c.Spawner.poll_interval = 2
        c.SwarmSpawner.watch_interval = 2
        """,
        docker_socket=socket_counter.listen_path,
        hub_id=hub_id + "-count",
    )
    per_interval = {}
    users = ["erin", "frank", "grace", "heidi"]
    for wave in (users[:1], users[1:]):  # one server running, then four
        for user in wave:
            assert hub.spawn(user)[0]
        time.sleep(3)  # let the busy-period listings end
        since = time.monotonic()
        time.sleep(10)
        per_interval[users.index(wave[-1]) + 1] = socket_counter.count(since=since) / (10 / 2)
    for user in users:
        hub.stop(user)
    # One listing per poll interval serves every server's poll.
    assert all(rate <= 2 for rate in per_interval.values()), per_interval
    assert per_interval[4] <= per_interval[1] + 0.5, per_interval


ADMISSION_HOOK = """
def _per_user(spawner):
    if spawner.user.name.startswith("hog"):  # holds its place until http_timeout
        spawner.cmd = ["sleep", "600"]
        spawner.http_timeout = 60
    elif spawner.user.name.startswith("impatient"):
        spawner.start_timeout = 5
c.Spawner.pre_spawn_hook = _per_user
"""


def test_boot_admission_starts_servers_in_turn_and_tells_each_their_place(
        make_hub, docker_client, hub_id):
    hub = make_hub("c.SwarmSpawner.boot_limit_per_node = 1\n" + ADMISSION_HOOK,
                   hub_id=hub_id + "-admit")
    users = ["queue0", "queue1", "queue2"]
    for user in users:
        hub.ensure_user(user)
    with ThreadPoolExecutor(len(users)) as pool:
        outcomes = list(pool.map(hub.spawn, users))
    assert all(ready for ready, _ in outcomes), outcomes
    waits = [[e["message"] for e in events if "in line" in e["message"]]
             for _, events in outcomes]
    # One node, one place: one boots at once, the second waits as number 1, the third as
    # number 2 and then 1 — told as it moves up.
    assert sorted(len(w) for w in waits) == [0, 1, 2], waits
    assert any(w and "number 2 in line" in w[0] and "number 1 in line" in w[-1] for w in waits)
    # Each server was created only once the one before it answered.
    created = sorted(service_of(docker_client, hub_id + "-admit", u).attrs["CreatedAt"]
                     for u in users)
    assert len(set(created)) == 3
    for user in users:
        hub.stop(user)

    # Day 2: a start that runs out of start_timeout while in line is stopped, and never boots
    # afterwards, when its turn would have come.
    hog = ThreadPoolExecutor(1).submit(hub.spawn, "hog")
    assert wait_for(lambda: service_of(docker_client, hub_id + "-admit", "hog"), timeout=30)
    ready, events = hub.spawn("impatient")
    assert not ready and events[-1].get("failed"), events
    # ...and a user who stops a start while it boots has its service removed with it.
    assert hub.api("DELETE", "/users/hog/server").status_code in (202, 204)
    assert wait_for(lambda: service_of(docker_client, hub_id + "-admit", "hog") is None,
                    timeout=15)
    hog.result(timeout=30)  # its progress stream has ended (what it said is JupyterHub's)
    time.sleep(3)
    assert service_of(docker_client, hub_id + "-admit", "impatient") is None
    assert "Creating service sstest-impatient" not in hub.logs()
    assert hub.server("impatient") is None and hub.server("hog") is None


def test_a_hub_restart_while_servers_boot_and_wait_in_line_leaves_no_stray(
        make_hub, docker_client, hub_id):
    """Day 2: the hub restarts (a crash, a redeploy) while one server boots and two wait in
    line. The booting one is adopted; the ones in line, whose starts JupyterHub forgets with
    its process, show as stopped and start on the next click; no service runs unseen."""
    hid = hub_id + "-midboot"
    hub = make_hub("c.SwarmSpawner.boot_limit_per_node = 1\n", hub_id=hid)
    users = ["midboot0", "midboot1", "midboot2"]
    for user in users:
        hub.ensure_user(user)
        assert hub.api("POST", f"/users/{user}/server").status_code == 202
    booting = wait_for(lambda: hub_services(docker_client, hid), timeout=30)
    assert len(booting) == 1, booting  # one boots, two wait in line
    booting_user = booting[0].attrs["Spec"]["Labels"][LABEL_USER]
    assert not hub.server(booting_user)["ready"]
    restarted = time.monotonic()
    hub.restart()

    def settled():  # every server the hub shows is ready or gone, none still checked
        models = {user: hub.server(user) for user in users}
        if all(m is None or (m["ready"] and not m["pending"]) for m in models.values()):
            return models
        return None

    models = wait_for(settled, timeout=120)
    running = {user for user, model in models.items() if model}
    assert booting_user in running, models  # adopted, not lost
    assert {s.attrs["Spec"]["Labels"][LABEL_USER] for s in hub_services(docker_client, hid)} \
        == running  # nothing running that the hub does not show
    for user in set(users) - running:  # the next click starts them
        assert hub.spawn(user)[0], user
    print(f"\nhub restarted mid-start: all {len(users)} servers ready again after "
          f"{time.monotonic() - restarted:.1f} s; lost: the starts of "
          f"{sorted(set(users) - running)}, which waited in line (started again)")
    for user in users:
        hub.stop(user)
    assert not hub_services(docker_client, hid)
