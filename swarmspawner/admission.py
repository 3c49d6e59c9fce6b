"""Boot admission: how many servers may boot at once on each node, and the queue for the rest.

Python servers booting at once on a node contend for its CPU: every one of them is ready
later than had they booted a few at a time (benchmarks/results/scale.md). With
``boot_limit_per_node`` set, one :class:`BootAdmission` per hub lets a server boot (from the
creation of its service until it answers, or fails) only while the nodes it may run on have a
free place; the others wait in order of request and are told their place in line. A start
that may use a node with a free place goes ahead of one waiting for a full node (a user whose
files are on that node).

The swarm, not the hub, picks a server's node. Until it has, a booting server counts against
every node it may run on (its placement constraints, read with the swarm's rules, against the
ready and active nodes); from then on, against its node only. A server that no node can take
now is let through: the swarm's own reason then fails it (``unschedulable_timeout``).
"""

import asyncio
from collections import Counter
from dataclasses import dataclass

from . import placement

#: Seconds between a waiting server's checks when nothing else wakes it (nodes coming back).
RECHECK_INTERVAL = 2.0


@dataclass(eq=False)
class Ticket:
    """One server's place: in line, then booting."""

    #: Its placement constraints: which nodes it may boot on.
    constraints: list
    #: The most servers booting at once per node, as its spawner is configured.
    limit_per_node: int
    #: Nodes it may boot on (IDs), decided when it is let through.
    candidates: frozenset = frozenset()
    #: The node the swarm gave it, once it has.
    node: str | None = None
    admitted: bool = False


def usable_nodes(nodes):
    """Nodes the swarm places new tasks on: ready and active (not paused, not drained)."""
    return [n for n in nodes
            if (n.get("Status") or {}).get("State") == "ready"
            and (n.get("Spec") or {}).get("Availability") == "active"]


class BootAdmission:
    """One hub's places and line (its reflector holds it: one per hub, engine and loop)."""

    def __init__(self, list_nodes):
        self.booting = []
        self.waiting = []
        #: The swarm's nodes now (the hub's reflector keeps them).
        self.list_nodes = list_nodes
        self._changed = asyncio.Event()

    def taken(self, nodes, limit_per_node):
        """How many of these nodes' places (limit_per_node each) are taken: by servers booting
        on them, and by servers that may yet land on them. A node the swarm gave more than its
        places takes none of the others'."""
        placed = Counter(t.node for t in self.booting if t.node in nodes)
        unplaced = sum(1 for t in self.booting if not t.node and t.candidates & nodes)
        return unplaced + sum(min(n, limit_per_node) for n in placed.values())

    def admit(self):
        """Let through, in order, every waiting ticket whose nodes have a free place; wake
        everyone in line when anyone was (their places changed)."""
        usable = usable_nodes(self.list_nodes())
        admitted = False
        for ticket in list(self.waiting):
            candidates = frozenset(n["ID"] for n in usable if _may_run(ticket, n))
            places = ticket.limit_per_node * len(candidates)
            if candidates and self.taken(candidates, ticket.limit_per_node) >= places:
                continue
            ticket.candidates = candidates
            ticket.admitted = admitted = True
            self.waiting.remove(ticket)
            self.booting.append(ticket)
        if admitted:
            self._notify()

    async def turn(self, ticket, on_wait):
        """Wait for the ticket's turn; ``on_wait(place, booting)`` is called whenever its
        place in line changes. A waiter that is cancelled (JupyterHub's start_timeout, the
        user stopping the start) leaves the line."""
        self.waiting.append(ticket)
        place = None
        try:
            self.admit()
            while not ticket.admitted:
                now = self.waiting.index(ticket) + 1
                if now != place:
                    place = now
                    on_wait(place, len(self.booting))
                try:
                    # Not wait_for: in Python 3.11 it can swallow a cancellation that comes
                    # as the event is set, and the waiter would never leave the line.
                    async with asyncio.timeout(RECHECK_INTERVAL):
                        await self._changed.wait()
                except TimeoutError:
                    # Nothing ended, but a node may have come back: the first in line looks.
                    if self.waiting and self.waiting[0] is ticket:
                        self.admit()
        except BaseException:
            self.release(ticket)
            raise

    def placed(self, ticket, node_id):
        """The swarm gave the ticket's server a node: it no longer counts against the others."""
        if ticket.node != node_id:
            ticket.node = node_id
            self.admit()

    def release(self, ticket):
        """The server answers, failed, or stopped: its place goes to the next in line."""
        for queue in (self.booting, self.waiting):
            if ticket in queue:
                queue.remove(ticket)
        self.admit()
        self._notify()

    def _notify(self):
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


def _may_run(ticket, node):
    """Whether the ticket's server may run on the node; a constraint the rules here do not
    read counts as allowing it (the swarm then applies it, and says why if it cannot)."""
    try:
        return placement.matches(ticket.constraints, node)
    except ValueError:
        return True
