"""Losing a worker: the hub notices that the server on it is gone, and the next start lands elsewhere.

Opt-in (--e2e-node-loss; `make e2e` passes it for the lab): it stops a worker's engine, which an
operator would not want on a cluster in use.
"""

import time

import pytest

from tests.e2e.conftest import user_service, wait_for

#: JupyterHub spreads each server's polls by up to this share of the poll interval.
POLL_JITTER = 0.1
#: The swarm ending the lost node's tasks, the listing the node event wakes, the test's own
#: half-second checks.
SLACK = 5


@pytest.fixture
def node_loss_enabled(pytestconfig, workers):
    if not pytestconfig.option.e2e_node_loss:
        pytest.skip("the node-loss test stops a worker's engine: pass --e2e-node-loss")
    if len(workers) < 2:
        pytest.skip("the node-loss test needs two workers (one to lose, one to land on)")


def node_state(swarm, hostname):
    return swarm.json(f"node inspect {hostname}")[0]["Status"]["State"]


def running_node(swarm, service):
    nodes = swarm.lines(
        f"service ps {service} --filter desired-state=running --format '{{{{.Node}}}}'")
    return nodes[0] if nodes else None


@pytest.fixture
def lose_engine(swarm, node_host):
    """Stop the engine of a node; start it again afterwards and wait until the node is back."""
    lost = []

    def lose(hostname):
        host = node_host(hostname)
        host.check_output("systemctl stop docker.socket docker.service")
        lost.append((hostname, host))
        return time.monotonic()

    yield lose
    for hostname, host in lost:
        host.check_output("systemctl start docker.service")
        assert wait_for(lambda: node_state(swarm, hostname) == "ready", timeout=120), hostname


def test_hub_notices_a_lost_node_and_the_next_start_lands_on_a_live_one(
        node_loss_enabled, hub_user, swarm, env, lose_engine):
    hub_user.start()
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
