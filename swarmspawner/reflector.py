"""One watcher per hub process that keeps every spawner's view of the swarm.

Each spawner polling Docker on its own would cost requests in proportion to the
number of running servers. Instead one :class:`TaskReflector` per hub lists this
hub's tasks in a single request (filtered by the hub label) and every spawner's
``poll()``, start wait and stop wait reads that cache. It refreshes every
``idle_interval`` seconds, every ``busy_interval`` seconds while someone is
waiting for a task to change state, and at once when a node changes (a node that
goes down takes its servers with it: the next poll should know).
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict

from .admission import BootAdmission
from .objects import LABEL_HUB, LABEL_USER

#: Task states on the way to running.
STARTING_STATES = frozenset(
    {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
)
#: Seconds after a node event to list the tasks once more.
NODE_EVENT_RECHECK = 2.0
#: Seconds between listings while they fail.
RETRY_INTERVAL = 1.0
#: Task states a task never leaves.
ENDED_STATES = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})


class TaskReflector:
    _instances = {}

    @classmethod
    def for_hub(cls, docker, hub_id, idle_interval, busy_interval, log=None):
        """The reflector of this hub id on this engine, created on first use."""
        loop = asyncio.get_running_loop()
        key = (id(docker), hub_id, id(loop))
        reflector = cls._instances.get(key)
        if reflector is None:
            reflector = cls(docker, hub_id, idle_interval, busy_interval, log)
            cls._instances[key] = reflector
        return reflector

    def __init__(self, docker, hub_id, idle_interval, busy_interval, log=None):
        self.docker = docker
        self.hub_id = hub_id
        self.idle_interval = idle_interval
        self.busy_interval = busy_interval
        self.log = log or logging.getLogger(__name__)
        #: service ID -> that service's tasks, newest first
        self.tasks = {}
        #: node ID -> hostname
        self.nodes = {}
        #: The swarm's nodes as the engine lists them; listed again after a node event.
        self.node_list = []
        self._nodes_stale = True
        #: When the latest listing that finished was asked for (time.monotonic()).
        self.listed_at = float("-inf")
        #: The hub's boot admission (boot_limit_per_node), kept here to share these nodes.
        self.admission = BootAdmission(lambda: self.node_list)
        self.loaded = asyncio.Event()
        self._updated = asyncio.Event()
        self._wake = asyncio.Event()
        self._watchers = 0
        self._runner = asyncio.ensure_future(self._run())
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=self._follow_node_events, args=(loop,), daemon=True,
            name=f"swarmspawner-node-events-{hub_id}",
        ).start()

    async def _run(self):
        failing = False
        while True:
            try:
                await self.refresh()
                if failing:
                    self.log.info("Listing swarm tasks for hub %s again", self.hub_id)
                failing = False
            except Exception as e:  # the engine may be briefly away; keep the last view
                if not failing:
                    self.log.warning("Could not list swarm tasks for hub %s: %s (retrying every"
                                     " %g s)", self.hub_id, e, RETRY_INTERVAL)
                failing = True
            interval = self.busy_interval if self._watchers else self.idle_interval
            if failing:
                # A restarted hub waits for its first listing, and its engine (or the Docker
                # proxy) may come up a moment after it: do not make it wait a whole interval.
                interval = min(interval, RETRY_INTERVAL)
            # Not wait_for: in Python 3.11 it can swallow a cancellation that comes as the
            # event is set, and the hub's shutdown would wait for this task for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()

    def _follow_node_events(self, loop):
        """In a thread of its own: one long request that wakes the listing when a node changes.

        When a node goes down, the swarm ends its tasks a moment after the node event; a
        second listing a little later catches that.
        """
        interrupted = False
        while not loop.is_closed():
            try:
                events = self.docker.events(filters={"type": ["node"]})
                if interrupted:  # what changed while the stream was down was not told
                    loop.call_soon_threadsafe(self._node_changed)
                for _ in events:
                    loop.call_soon_threadsafe(self._node_changed)
                    loop.call_soon_threadsafe(loop.call_later, NODE_EVENT_RECHECK, self._wake.set)
            except Exception as e:  # the engine restarting, or a loop that ended
                self.log.debug("Node events for hub %s interrupted: %s", self.hub_id, e)
            interrupted = True
            time.sleep(5)

    def _node_changed(self):
        self._nodes_stale = True
        self._wake.set()

    async def refresh(self):
        started = time.monotonic()
        tasks = await self.docker.watch_call("tasks", filters={"label": f"{LABEL_HUB}={self.hub_id}"})
        by_service = defaultdict(list)
        for task in tasks:
            by_service[task["ServiceID"]].append(task)
        for service_tasks in by_service.values():
            service_tasks.sort(key=lambda t: (t.get("CreatedAt", ""), t["Version"]["Index"]),
                               reverse=True)
        if self._nodes_stale or any(t.get("NodeID") and t["NodeID"] not in self.nodes
                                    for t in tasks):
            # Cleared before listing: a node event during the listing marks it stale again.
            self._nodes_stale = False
            try:
                self.node_list = await self.docker.watch_call("nodes")
            except BaseException:
                self._nodes_stale = True  # tried again at the next listing
                raise
            self.nodes = {n["ID"]: n["Description"]["Hostname"] for n in self.node_list}
        self.tasks = dict(by_service)
        self.listed_at = started
        self.loaded.set()
        updated, self._updated = self._updated, asyncio.Event()
        updated.set()

    async def ready(self, timeout=60):
        """Wait for the first listing, so that a restarted hub sees what runs."""
        if not self.loaded.is_set():  # every poll() asks: no task for the usual case
            await asyncio.wait_for(self.loaded.wait(), timeout)

    async def next_update(self):
        """Wait for the next listing to finish."""
        await self._updated.wait()

    @contextlib.contextmanager
    def watching(self):
        """While inside, refresh every ``busy_interval`` rather than ``idle_interval``."""
        self._watchers += 1
        if self._watchers == 1:
            self._wake.set()
        try:
            yield self
        finally:
            self._watchers -= 1

    def current_task(self, service_id):
        """The task that stands for this service now: the newest one meant to run."""
        service_tasks = self.tasks.get(service_id, [])
        for task in service_tasks:
            if task.get("DesiredState") == "running":
                return task
        return service_tasks[0] if service_tasks else None

    def reservations(self, username, exclude=""):
        """CPU cores and bytes reserved by this user's servers that run or are starting."""
        cpu = memory = 0
        for service_id in self.tasks:
            task = self.current_task(service_id)
            if service_id == exclude or task is None or task.get("DesiredState") != "running":
                continue
            if task["Status"]["State"] not in STARTING_STATES | {"running"}:
                continue
            spec = task.get("Spec", {})
            if spec.get("ContainerSpec", {}).get("Labels", {}).get(LABEL_USER) != username:
                continue
            reserved = spec.get("Resources", {}).get("Reservations", {})
            cpu += reserved.get("NanoCPUs", 0) / 10**9
            memory += reserved.get("MemoryBytes", 0)
        return cpu, memory

    def forget(self, service_id):
        """A service this hub removed: out of the view now, not at the next listing."""
        self.tasks.pop(service_id, None)

    def has_tasks(self, service_id):
        return bool(self.tasks.get(service_id))

    def node_name(self, task):
        node_id = task.get("NodeID")
        if not node_id:
            return None
        return self.nodes.get(node_id, node_id[:12])
