"""Placement read ahead of the scheduler: which nodes get which image."""

import pytest

from swarmspawner import placement
from swarmspawner_deploy.placement import images_for

WORKER = {"ID": "w1id", "Spec": {"Role": "worker", "Labels": {"gpu": "yes"}},
          "Description": {"Hostname": "node-2", "Platform": {"OS": "linux",
                                                             "Architecture": "x86_64"},
                          "Engine": {"Labels": {"zone": "a"}}}}
MANAGER = {"ID": "m1id", "Spec": {"Role": "manager", "Labels": {}},
           "Description": {"Hostname": "node-1"}}


@pytest.mark.parametrize("constraints, on_worker, on_manager", [
    ([], True, True),
    (["node.role == worker"], True, False),
    (["node.role==manager"], False, True),
    (["node.labels.gpu == yes"], True, False),
    (["node.labels.gpu == YES"], True, False),  # swarm compares without regard to case
    (["node.labels.gpu != yes"], False, True),  # a missing label equals nothing
    (["node.hostname != node-2"], False, True),
    (["Node.Role == worker", "NODE.LABELS.gpu == yes"], True, False),  # keys in any case
    (["node.id == m1id"], False, True),
    (["engine.labels.zone == a", "node.platform.arch == x86_64"], True, False),
    (["node.role == worker", "node.labels.gpu == no"], False, False),
])
def test_constraints_match_as_the_swarm_places(constraints, on_worker, on_manager):
    assert placement.matches(constraints, WORKER) is on_worker
    assert placement.matches(constraints, MANAGER) is on_manager


@pytest.mark.parametrize("constraint", ["node.colour == red", "node.role = worker",
                                        "node.role ==", "gpu"])
def test_a_constraint_the_swarm_would_refuse_says_so(constraint):
    with pytest.raises(ValueError, match="placement"):
        placement.check([constraint])


def test_each_node_gets_the_images_it_may_run():
    images = [{"name": "hub", "placements": [["node.role == manager"]]},
              {"name": "notebook", "placements": [["node.role == worker"]]},
              {"name": "gpu", "placements": [["node.labels.gpu == yes"]]},
              {"name": "two-ways", "placements": [["node.labels.gpu == no"], ["node.id == m1id"]]}]
    assert images_for(WORKER, images) == ["notebook", "gpu"]
    assert images_for(MANAGER, images) == ["hub", "two-ways"]
    assert images_for(WORKER, images, everything=True) == [
        "hub", "notebook", "gpu", "two-ways"]
