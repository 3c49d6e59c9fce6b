"""Losing a worker: the hub notices that the server on it is gone, and the next start lands elsewhere.

Opt-in (--e2e-node-loss; `make e2e` passes it for the lab): it stops a worker's engine, which an
operator would not want on a cluster in use.
"""

import time

from tests.e2e.conftest import node_state, read, running_node, user_service, wait_for, write

#: JupyterHub spreads each server's polls by up to this share of the poll interval.
POLL_JITTER = 0.1
#: The swarm ending the lost node's tasks, the listing the node event wakes, the test's own
#: half-second checks.
SLACK = 5


def test_hub_notices_a_lost_node_and_the_next_start_lands_on_a_live_one(
        node_loss_enabled, hub_user, swarm, env, lose_engine):
    hub_user.start()
    shared = env.USER_STORAGE == "shared"
    if shared:
        assert write(hub_user, "before-the-loss.txt", "still here").status_code == 201
    service = user_service(swarm, env, hub_user.name)
    lost_node = running_node(swarm, service)
    assert lost_node

    stopped_at = lose_engine(lost_node)
    assert wait_for(lambda: node_state(swarm, lost_node) == "down", timeout=120, interval=0.5)
    down_at = time.monotonic()
    assert wait_for(lambda: hub_user.server_model() is None, timeout=120, interval=0.5), \
        "the hub still shows the server on the lost node as running"
    noticed_at = time.monotonic()
    print(f"\nnode-loss: swarm marked {lost_node} down {down_at - stopped_at:.1f} s after its "
          f"engine stopped; the hub noticed {noticed_at - down_at:.1f} s later "
          f"(poll interval {env.POLL_INTERVAL} s)")
    # Within one poll interval: the node event has the spawners' shared task listing
    # refreshed at once, so the hub's next poll of the server knows.
    assert noticed_at - down_at <= env.POLL_INTERVAL * (1 + POLL_JITTER) + SLACK

    hub_user.start()
    service = user_service(swarm, env, hub_user.name)
    new_node = running_node(swarm, service)
    assert new_node and new_node != lost_node
    assert node_state(swarm, new_node) == "ready"
    response = hub_user.request("GET", f"/user/{hub_user.name}/api")
    assert response.status_code == 200 and "version" in response.json()
    if shared:
        # Shared storage: the file written on the lost node is there on the new one.
        assert read(hub_user, "before-the-loss.txt") == "still here"

