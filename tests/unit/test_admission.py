"""Boot admission's rules: places per node, order of request, the place shown. No Docker."""

import asyncio

from swarmspawner.admission import BootAdmission, Ticket, usable_nodes


def node(node_id, role="worker", state="ready", availability="active"):
    return {"ID": node_id, "Spec": {"Role": role, "Availability": availability},
            "Status": {"State": state}, "Description": {"Hostname": node_id}}


NODES = [node("m", role="manager"), node("a"), node("b")]
WORKERS = ["node.role == worker"]


def run(scenario, nodes=NODES):
    async def main():
        return await scenario(BootAdmission(lambda: nodes))
    return asyncio.run(main())


async def enter(admission, ticket, places=None):
    """Start waiting for the ticket's turn; the places it is shown go into ``places``."""
    shown = places if places is not None else []
    waiter = asyncio.ensure_future(
        admission.turn(ticket, lambda place, booting: shown.append(place)))
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
        await asyncio.wait_for(late_waiter, 1)
        assert late.admitted
        admission.release(first[1])
        await asyncio.wait_for(later_waiter, 1)
        assert later.admitted
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
        await asyncio.wait_for(waiter, 1)  # ...but b has nobody booting
        return blocked, waiting.admitted

    assert run(scenario) == (False, True)


def test_a_server_bound_to_a_full_node_does_not_hold_up_others():
    async def scenario(admission):
        booting = Ticket(["node.id == a"], 1)
        await enter(admission, booting)
        pinned = Ticket(["node.id == a"], 1)   # e.g. a user's files on node a
        free = Ticket(WORKERS, 1)
        await enter(admission, pinned)
        free_waiter = await enter(admission, free)
        await asyncio.wait_for(free_waiter, 1)
        return pinned.admitted, free.admitted

    assert run(scenario) == (False, True)


def test_only_ready_active_nodes_count_and_none_matching_lets_the_swarm_say_why():
    nodes = [node("a"), node("b", availability="drain"), node("c", state="down")]
    assert [n["ID"] for n in usable_nodes(nodes)] == ["a"]

    async def scenario(admission):
        first, second = Ticket(WORKERS, 1), Ticket(WORKERS, 1)
        await enter(admission, first)
        await enter(admission, second)
        nowhere = Ticket(["node.labels.gpu == yes"], 1)
        await enter(admission, nowhere)
        return first.admitted, second.admitted, nowhere.admitted

    assert run(scenario, nodes) == (True, False, True)


def test_a_waiter_that_is_cancelled_by_its_task_leaves_the_line():
    # JupyterHub cancels a start at start_timeout, and when the user stops it.
    async def scenario(admission):
        await enter(admission, Ticket(["node.id == a"], 1))
        waiter = await enter(admission, Ticket(["node.id == a"], 1))
        waiter.cancel()
        await asyncio.sleep(0)
        return admission.waiting, len(admission.booting)

    assert run(scenario) == ([], 1)


def test_one_let_through_by_another_is_woken_at_once():
    # A second worker joins; the next start to arrive looks at the line and lets through the
    # one waiting, which must not sleep out its 2 s recheck.
    nodes = [node("a")]

    async def scenario(admission):
        await enter(admission, Ticket(["node.id == a"], 1))
        waiting = Ticket(WORKERS, 1)
        waiter = await enter(admission, waiting)
        blocked = waiting.admitted
        nodes.append(node("b"))
        arrival = Ticket(["node.id == a"], 1)
        await enter(admission, arrival)
        await asyncio.wait_for(waiter, 0.5)
        return blocked, waiting.admitted, arrival.admitted

    assert run(scenario, nodes) == (False, True, False)


def test_a_constraint_not_read_here_leaves_placement_to_the_swarm():
    async def scenario(admission):
        odd = Ticket(["node.colour == red"], 1)
        await enter(admission, odd)
        return odd.admitted, odd.candidates

    admitted, candidates = run(scenario)
    assert admitted and candidates == {"m", "a", "b"}
