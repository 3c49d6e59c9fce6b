"""Boot admission's rules: places per node, order of request, the place shown. No Docker."""

import asyncio

from swarmspawner.admission import BootAdmission, Ticket, usable_nodes


def node(node_id, role="worker", state="ready", availability="active"):
    return {"ID": node_id, "Spec": {"Role": role, "Availability": availability},
            "Status": {"State": state}, "Description": {"Hostname": node_id}}


NODES = [node("m", role="manager"), node("a"), node("b")]
WORKERS = ["node.role == worker"]


def run(scenario):
    async def main():
        return await scenario(BootAdmission())
    return asyncio.run(main())


async def enter(admission, ticket, places=None, nodes=NODES):
    """Start waiting for the ticket's turn; the places it is shown go into ``places``."""
    shown = places if places is not None else []
    waiter = asyncio.ensure_future(
        admission.turn(ticket, lambda: nodes, lambda place, booting: shown.append(place)))
    await asyncio.sleep(0)
    return waiter


def test_each_node_boots_at_most_its_limit_and_the_rest_wait_in_order():
    async def scenario(admission):
        first = [Ticket(WORKERS, 2) for _ in range(4)]  # 2 per node, 2 workers
        for t in first:
            await enter(admission, t)
        late, later = Ticket(WORKERS, 2), Ticket(WORKERS, 2)
        late_places, later_places = [], []
        late_waiter = await enter(admission, late, late_places)
        later_waiter = await enter(admission, later, later_places)
        state = [t.admitted for t in first], late.admitted, later.admitted
        admission.release(first[0])
        await asyncio.sleep(0)
        assert await late_waiter is True
        admission.release(first[1])
        assert await later_waiter is True
        return state, late_places, later_places

    (first, late, later), late_places, later_places = run(scenario)
    assert first == [True] * 4 and not late and not later
    assert late_places == [1]
    assert later_places == [2, 1]  # told when it moves up


def test_a_server_placed_on_a_node_frees_the_others():
    async def scenario(admission):
        one, two = Ticket(WORKERS, 1), Ticket(WORKERS, 1)
        await enter(admission, one)
        await enter(admission, two)
        waiting = Ticket(WORKERS, 1)
        waiter = await enter(admission, waiting)
        blocked = waiting.admitted
        # Both unplaced count against both workers; once each has its node, still full...
        admission.placed(one, "a")
        admission.placed(two, "a")
        return blocked, await asyncio.wait_for(waiter, 1)  # ...but b has nobody booting

    assert run(scenario) == (False, True)


def test_a_server_bound_to_a_full_node_does_not_hold_up_others():
    async def scenario(admission):
        booting = Ticket(["node.id == a"], 1)
        await enter(admission, booting)
        pinned = Ticket(["node.id == a"], 1)   # e.g. a user's files on node a
        free = Ticket(WORKERS, 1)
        await enter(admission, pinned)
        free_waiter = await enter(admission, free)
        return pinned.admitted, await asyncio.wait_for(free_waiter, 1)

    assert run(scenario) == (False, True)


def test_only_ready_active_nodes_count_and_none_matching_lets_the_swarm_say_why():
    nodes = [node("a"), node("b", availability="drain"), node("c", state="down")]
    assert [n["ID"] for n in usable_nodes(nodes)] == ["a"]

    async def scenario(admission):
        first, second = Ticket(WORKERS, 1), Ticket(WORKERS, 1)
        await enter(admission, first, nodes=nodes)
        await enter(admission, second, nodes=nodes)
        nowhere = Ticket(["node.labels.gpu == yes"], 1)
        await enter(admission, nowhere, nodes=nodes)
        return first.admitted, second.admitted, nowhere.admitted

    assert run(scenario) == (True, False, True)


def test_a_ticket_cancelled_while_waiting_leaves_the_line():
    async def scenario(admission):
        await enter(admission, Ticket(["node.id == a"], 1))
        waiting = Ticket(["node.id == a"], 1)
        waiter = await enter(admission, waiting)
        admission.cancel(waiting)
        return await asyncio.wait_for(waiter, 1), admission.waiting

    assert run(scenario) == (False, [])


def test_a_waiter_that_is_cancelled_by_its_task_leaves_the_line():
    async def scenario(admission):
        await enter(admission, Ticket(["node.id == a"], 1))
        waiter = await enter(admission, Ticket(["node.id == a"], 1))
        waiter.cancel()
        await asyncio.sleep(0)
        return admission.waiting, len(admission.booting)

    assert run(scenario) == ([], 1)
