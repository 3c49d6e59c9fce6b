"""After a hub restart, a server Docker reports running is waited for at its address (the
overlay may take tens of seconds to come back), not given up after JupyterHub's check."""

import asyncio
from types import SimpleNamespace

from swarmspawner import SwarmSpawner


class Reflector:
    def __init__(self, state="running"):
        self.task = {"Status": {"State": state}, "DesiredState": "running",
                     "NetworksAttachments": [{"Network": {"ID": "n1", "Spec": {"Name": "net"}},
                                              "Addresses": ["127.0.0.1/24"]}]}

    async def ready(self):
        pass

    def current_task(self, service_id):
        return self.task


def adopting(spawner_factory, reflector, port, monkeypatch):
    spawner = spawner_factory(config={"SwarmSpawner": {"networks": ["net"], "adopt_timeout": 10}})
    spawner.service_id, spawner.port = "svc", port
    monkeypatch.setattr(SwarmSpawner, "reflector", property(lambda self: reflector))
    monkeypatch.setattr(SwarmSpawner, "server", SimpleNamespace(base_url="/user/alice/"))
    return spawner


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_running_server_is_waited_for_until_it_answers(spawner_factory, monkeypatch):
    port = free_port()
    spawner = adopting(spawner_factory, Reflector(), port, monkeypatch)

    async def scenario():
        loop = asyncio.get_running_loop()
        started = loop.time()
        url = asyncio.ensure_future(spawner.get_url())
        await asyncio.sleep(1.5)
        assert not url.done(), "gave up on a server Docker says runs"
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        async with server:
            result = await asyncio.wait_for(url, 5)
        return result, loop.time() - started

    url, waited = asyncio.run(scenario())
    assert url == f"http://127.0.0.1:{port}/user/alice/"
    assert waited >= 1.5


def test_a_stopped_task_is_not_waited_for(spawner_factory, monkeypatch):
    reflector = Reflector()
    spawner = adopting(spawner_factory, reflector, free_port(), monkeypatch)

    async def scenario():
        url = asyncio.ensure_future(spawner.get_url())
        await asyncio.sleep(0.6)
        reflector.task["Status"]["State"] = "failed"
        return await asyncio.wait_for(url, 5)

    assert asyncio.run(scenario()).startswith("http://127.0.0.1:")


def test_a_service_created_after_the_latest_listing_counts_as_starting(spawner_factory,
                                                                      monkeypatch):
    # JupyterHub stops a cancelled start (start_timeout, the user stopping it) only if poll()
    # says it runs: a service no listing could have shown yet is starting, not gone.
    reflector = Reflector()
    reflector.task, reflector.listed_at = None, 100.0
    spawner = adopting(spawner_factory, reflector, free_port(), monkeypatch)

    async def polls():
        found = []
        for created_at in (101.0, 99.0, float("inf")):  # after, before, not by this hub
            spawner._created_at = created_at
            found.append(await spawner.poll())
        return found

    assert asyncio.run(polls()) == [None, 0, 0]
