"""The shared task watcher, against a stand-in engine: no Docker."""

import asyncio
import queue
import threading
import time

import pytest

from swarmspawner import reflector as reflector_mod
from swarmspawner.objects import LABEL_HUB
from swarmspawner.reflector import TaskReflector


def task(task_id, service, state="running", desired="running", node="n1", created="1"):
    return {"ID": task_id, "ServiceID": service, "NodeID": node, "DesiredState": desired,
            "Status": {"State": state}, "CreatedAt": created, "Version": {"Index": 1}}


class FakeEngine:
    """Answers the reflector's listings; node events are fed through a queue."""

    def __init__(self, tasks=(), nodes=None, fail=False):
        self.tasks = list(tasks)
        self.nodes = nodes or {"n1": "worker1"}
        self.fail = fail
        self.calls = []
        self.node_events = queue.Queue()
        self.closed = threading.Event()

    async def watch_call(self, method, **kwargs):
        self.calls.append((method, kwargs))
        if self.fail:
            raise ConnectionError("engine away")
        if method == "tasks":
            return list(self.tasks)
        if method == "nodes":
            return [{"ID": i, "Description": {"Hostname": h}} for i, h in self.nodes.items()]
        raise AssertionError(method)

    def events(self, filters):
        assert filters == {"type": ["node"]}
        while not self.closed.is_set():
            try:
                yield self.node_events.get(timeout=0.05)
            except queue.Empty:
                continue
        raise ConnectionError("closed")

    def listings(self):
        return sum(1 for method, _ in self.calls if method == "tasks")


def run(test, engine, idle=100.0, busy=0.01):
    async def main():
        reflector = TaskReflector(engine, "hub1", idle, busy)
        await reflector.ready()
        try:
            return await test(reflector)
        finally:
            engine.closed.set()
    return asyncio.run(main())


def test_one_filtered_listing_serves_every_service():
    engine = FakeEngine([
        task("t1", "s1", state="shutdown", desired="shutdown", created="1"),
        task("t2", "s1", created="2"),
        task("t3", "s2", state="failed", desired="shutdown"),
    ])

    async def check(reflector):
        assert engine.calls[0] == ("tasks", {"filters": {"label": f"{LABEL_HUB}=hub1"}})
        assert reflector.current_task("s1")["ID"] == "t2"  # the one meant to run
        assert reflector.current_task("s2")["ID"] == "t3"  # else the newest
        assert reflector.current_task("nope") is None
        assert reflector.has_tasks("s1") and not reflector.has_tasks("nope")
        assert reflector.node_name(reflector.current_task("s1")) == "worker1"
        assert reflector.node_name({"NodeID": "abcdefabcdefabcdef"}) == "abcdefabcdef"
        assert reflector.node_name({}) is None

    run(check, engine)


def node_listings(engine):
    return [m for m, _ in engine.calls].count("nodes")


def test_nodes_are_listed_first_then_when_a_task_names_an_unknown_one():
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        await reflector.refresh()
        await reflector.refresh()
        first = node_listings(engine)
        engine.tasks.append(task("t2", "s2", node="n2"))
        engine.nodes["n2"] = "worker2"
        await reflector.refresh()
        return first, node_listings(engine), reflector.node_name(engine.tasks[1])

    assert run(check, engine) == (1, 2, "worker2")


def test_a_node_event_during_the_node_listing_is_not_lost():
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        listed, events = engine.watch_call, [reflector._node_changed]

        async def node_event_meanwhile(method, **kwargs):
            if method == "nodes" and events:
                events.pop()()  # a node event, as the event thread would tell it, mid-listing
            return await listed(method, **kwargs)

        engine.watch_call = node_event_meanwhile
        reflector._nodes_stale = True
        await reflector.refresh()
        return reflector._nodes_stale

    assert run(check, engine)  # so listed again at the next refresh


def test_idle_then_busy_while_someone_watches():
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        await asyncio.sleep(0.2)
        idle = engine.listings()
        with reflector.watching():
            await asyncio.sleep(0.2)
            busy = engine.listings() - idle
        await asyncio.sleep(0.05)
        after = engine.listings()
        await asyncio.sleep(0.2)
        return idle, busy, engine.listings() - after

    idle, busy, after_watching = run(check, engine)
    assert idle == 1            # the first listing; the next is idle_interval (100 s) away
    assert busy >= 5            # every busy_interval (0.01 s) while watched
    assert after_watching == 0  # back to idle


def test_next_update_wakes_every_waiter():
    engine = FakeEngine([task("t1", "s1", state="starting")])

    async def check(reflector):
        with reflector.watching():
            waiters = [asyncio.ensure_future(reflector.next_update()) for _ in range(3)]
            engine.tasks = [task("t1", "s1")]
            await asyncio.wait_for(asyncio.gather(*waiters), 2)
        return reflector.current_task("s1")["Status"]["State"]

    assert run(check, engine) == "running"


def test_a_node_event_lists_the_tasks_at_once_and_again_a_moment_later(monkeypatch):
    monkeypatch.setattr(reflector_mod, "NODE_EVENT_RECHECK", 0.2)
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        await asyncio.sleep(0.1)
        before = engine.listings()
        engine.node_events.put({"Type": "node", "Action": "update"})
        await asyncio.sleep(0.1)
        first = engine.listings() - before
        await asyncio.sleep(0.3)
        return first, engine.listings() - before

    first, total = run(check, engine)
    assert first == 1
    assert total == 2


def test_a_node_event_lists_the_nodes_again():
    # Boot admission counts the ready and active nodes: a node drained or back counts at once.
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        await asyncio.sleep(0.1)
        engine.nodes["n2"] = "worker2"
        engine.node_events.put({"Type": "node", "Action": "update"})
        await asyncio.sleep(0.1)
        return node_listings(engine), [n["ID"] for n in reflector.node_list]

    assert run(check, engine) == (2, ["n1", "n2"])


def test_an_engine_error_keeps_the_last_view():
    engine = FakeEngine([task("t1", "s1")])

    async def check(reflector):
        engine.fail = True
        with reflector.watching():
            await asyncio.sleep(0.1)
        return reflector.current_task("s1")["ID"]

    assert run(check, engine) == "t1"


def test_ready_times_out_when_the_engine_never_answers():
    async def main():
        engine = FakeEngine(fail=True)
        reflector = TaskReflector(engine, "hub1", 100.0, 0.01)
        try:
            with pytest.raises(asyncio.TimeoutError):
                await reflector.ready(timeout=0.2)
        finally:
            engine.closed.set()

    asyncio.run(main())


def test_a_hub_whose_engine_comes_up_after_it_lists_again_soon(monkeypatch):
    """A restarted hub whose Docker proxy is not up yet: its first listing fails, and it tries
    again within the retry interval, not after the idle interval it uses once it has a view."""
    monkeypatch.setattr(reflector_mod, "RETRY_INTERVAL", 0.05)

    async def main():
        engine = FakeEngine([task("t1", "s1")], fail=True)
        reflector = TaskReflector(engine, "hub1", 100.0, 0.01)
        try:
            await asyncio.sleep(0.02)
            engine.fail = False
            await reflector.ready(timeout=1)
            return reflector.current_task("s1")["ID"], engine.listings()
        finally:
            engine.closed.set()

    assert asyncio.run(main()) == ("t1", 2)


def test_one_reflector_per_engine_hub_and_loop():
    async def main():
        engine = FakeEngine()
        try:
            first = TaskReflector.for_hub(engine, "hub-a", 100.0, 0.01)
            assert TaskReflector.for_hub(engine, "hub-a", 100.0, 0.01) is first
            assert TaskReflector.for_hub(engine, "hub-b", 100.0, 0.01) is not first
        finally:
            engine.closed.set()

    asyncio.run(main())
    time.sleep(0.1)


def test_reservations_add_up_one_users_running_servers():
    def reserved(task_id, service, user, nano, memory, **kw):
        t = task(task_id, service, **kw)
        t["Spec"] = {"ContainerSpec": {"Labels": {"swarmspawner.user": user}},
                     "Resources": {"Reservations": {"NanoCPUs": nano, "MemoryBytes": memory}}}
        return t

    engine = FakeEngine([
        reserved("t1", "s1", "alice", 10**9, 2**30),
        reserved("t2", "s2", "alice", 5 * 10**8, 2**29, created="2"),
        reserved("t3", "s3", "alice", 10**9, 2**30, state="shutdown", desired="shutdown"),
        reserved("t4", "s4", "bob", 10**9, 2**30),
        reserved("t5", "s5", "alice", 10**9, 2**30, state="failed"),  # exited, still "running"
    ])

    async def check(reflector):
        before = reflector.reservations("alice"), reflector.reservations("alice", exclude="s2")
        reflector.forget("s1")  # removed by this hub: gone before the next listing
        return before, reflector.reservations("alice")

    assert run(check, engine) == (((1.5, 3 * 2**29), (1.0, 2**30)), (0.5, 2**29))
