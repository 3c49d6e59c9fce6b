"""A node lost while a server boots there: the start goes on on a live node, once, unless the
user's files pin it to the lost one. (On the lab: tests/e2e/test_node_loss.py.)"""

import asyncio
import contextlib
import socket

import docker.errors
import pytest

from swarmspawner import SwarmSpawner
from swarmspawner.errors import SpawnError


def task(node, state, desired="running"):
    return {"ID": f"task-on-{node}", "NodeID": node, "DesiredState": desired,
            "Status": {"State": state},
            "NetworksAttachments": [{"Network": {"ID": "n1", "Spec": {"Name": "net"}},
                                     "Addresses": ["127.0.0.1/24"]}]}


class Swarm:
    """The engine and the hub's reflector, as the spawner sees them: each service created
    gets the next of ``placements`` as its task."""

    def __init__(self, nodes, placements):
        self.nodes, self.placements = nodes, list(placements)
        self.created, self.removed, self.tasks = [], [], {}

    async def call(self, name, *args, **kwargs):
        if name == "create_service":
            service_id = f"svc{len(self.created) + 1}"
            self.created.append(service_id)
            self.tasks[service_id] = self.placements.pop(0)
            return {"ID": service_id}
        if name == "remove_service":
            self.removed.append(args[0])
            return None
        if name == "inspect_node":
            if args[0] not in self.nodes:
                raise docker.errors.NotFound("node not found")
            return {"ID": args[0], "Status": {"State": self.nodes[args[0]]}}
        raise AssertionError(name)

    # The reflector's part
    async def next_update(self):
        await asyncio.sleep(0.01)

    @contextlib.contextmanager
    def watching(self):
        yield self

    def current_task(self, service_id):
        return self.tasks.get(service_id)

    def node_name(self, task):
        return task.get("NodeID")

    def forget(self, service_id):
        pass


@pytest.fixture
def booting(spawner_factory, monkeypatch):
    def make(swarm, port, pinned=False):
        spawner = spawner_factory(config={"SwarmSpawner": {"networks": ["net"]}})
        spawner.port = port
        for name in ("docker", "reflector"):
            monkeypatch.setattr(SwarmSpawner, name, property(lambda self: swarm))
        monkeypatch.setattr(SwarmSpawner, "_save_state_now", lambda self: None)
        spawner._spawn_state().node_constraints = ["node.id==w1"] if pinned else []
        return spawner
    return make


def listening_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_whose_node_is_lost_while_it_boots_starts_on_another(booting):
    async def scenario():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        swarm = Swarm({"w1": "down", "w2": "ready"},
                      [task("w1", "starting", desired="shutdown"), task("w2", "running")])
        spawner = booting(swarm, port)
        async with server:
            url = await asyncio.wait_for(spawner._boot({}), 10)
        return swarm, spawner, url, port

    swarm, spawner, url, port = asyncio.run(scenario())
    assert url == f"http://127.0.0.1:{port}"
    assert swarm.created == ["svc1", "svc2"] and swarm.removed == ["svc1"]
    messages = [event["message"] for event in spawner._spawn._events]
    assert any("Node w1 stopped answering while your server started there; starting it on"
               " another node" in m for m in messages), messages


@pytest.mark.parametrize("nodes", [{"w1": "down"}, {}])  # down, or removed from the swarm
def test_a_server_pinned_to_the_lost_node_fails_saying_so(booting, nodes):
    swarm = Swarm(nodes, [task("w1", "running", desired="shutdown")])
    spawner = booting(swarm, listening_port(), pinned=True)
    with pytest.raises(SpawnError, match="node w1 stopped answering while it started there .*"
                                         "your files are on that node"):
        asyncio.run(spawner._boot({}))
    assert swarm.created == ["svc1"] and swarm.removed == ["svc1"]


def test_a_node_lost_twice_ends_the_start(booting):
    swarm = Swarm({"w1": "down", "w2": "down"},
                  [task("w1", "starting", desired="shutdown"),
                   task("w2", "starting", desired="shutdown")])
    with pytest.raises(SpawnError, match="it was lost again on the next node"):
        asyncio.run(booting(swarm, listening_port())._boot({}))
    assert swarm.removed == ["svc1", "svc2"]


def test_a_task_that_failed_on_a_live_node_keeps_dockers_reason(booting):
    failed = task("w1", "failed", desired="shutdown")
    failed["Status"]["Err"] = "task: non-zero exit (127)"
    swarm = Swarm({"w1": "ready"}, [failed])
    with pytest.raises(SpawnError, match=r"non-zero exit \(127\)"):
        asyncio.run(booting(swarm, listening_port())._boot({}))
    assert swarm.created == ["svc1"]
