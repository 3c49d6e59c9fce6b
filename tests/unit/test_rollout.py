"""What a deploy reads from Swarm's services and tasks: failed, converged, or still going."""

from types import SimpleNamespace

from swarmspawner_deploy import rollout

SPEC = {"TaskTemplate": {"ContainerSpec": {"Image": "hub:2"}, "Runtime": "container"}}
OLD_SPEC = {"TaskTemplate": {"ContainerSpec": {"Image": "hub:1"}, "Runtime": "container"}}


def task(id, state, desired="running", spec=SPEC, created="2026-12-04T10:00:00Z", err=None):
    return {"ID": id, "DesiredState": desired, "CreatedAt": created,
            "Spec": {k: v for k, v in spec["TaskTemplate"].items() if k != "Runtime"},
            "Status": {"State": state, **({"Err": err} if err else {})}}


class Client:
    def __init__(self, *services):
        self.services = SimpleNamespace(list=lambda filters: list(services))


def service(name, tasks, update=None, spec=SPEC):
    attrs = {"Spec": spec, **({"UpdateStatus": update} if update else {})}
    return SimpleNamespace(name=name, attrs=attrs, tasks=lambda: tasks)


def test_a_stack_whose_tasks_all_run_their_current_spec_converged():
    hub = service("s_hub", [task("a", "running"), task("old", "shutdown", "shutdown", OLD_SPEC)])
    assert rollout.progress(Client(hub), "s", {}) == (None, True)


def test_a_task_of_the_old_spec_or_still_starting_is_not_converged():
    assert rollout.progress(Client(service("s_hub", [task("a", "running", spec=OLD_SPEC)])),
                            "s", {}) == (None, False)
    assert rollout.progress(Client(service("s_hub", [task("a", "starting")])),
                            "s", {}) == (None, False)
    assert rollout.progress(Client(service("s_hub", [])), "s", {}) == (None, False)


def test_an_update_under_way_is_not_converged_though_the_old_task_runs():
    hub = service("s_hub", [task("a", "running")],
                  update={"State": "updating", "StartedAt": "t2"})
    assert rollout.progress(Client(hub), "s", {}) == (None, False)


def test_a_rollback_of_this_deploy_is_a_failure_naming_the_failed_task():
    failed = task("new", "failed", "shutdown", err="task: non-zero exit (1)")
    hub = service("s_hub", [task("old", "running", spec=OLD_SPEC), failed],
                  update={"State": "rollback_started", "StartedAt": "t2"})
    before = {"s_hub": (OLD_SPEC, "t1", {"old"})}
    found, converged = rollout.progress(Client(hub), "s", before)
    assert found[0] == "s_hub" and "putting back" in found[1] and found[2] is failed
    assert not converged


def test_a_rollback_from_an_earlier_deploy_is_not_this_deploys_failure():
    hub = service("s_hub", [task("old", "running")],
                  update={"State": "rollback_completed", "StartedAt": "t1"})
    assert rollout.progress(Client(hub), "s", {"s_hub": (SPEC, "t1", {"old"})}) == (None, True)


def test_a_first_deploy_fails_after_two_new_tasks_failed_in_a_row():
    one = task("n1", "failed", "shutdown", created="2026-12-04T10:00:00Z")
    two = task("n2", "failed", "shutdown", created="2026-12-04T10:00:05Z")
    assert rollout.progress(Client(service("s_hub", [one, task("n3", "starting")])), "s", {}) \
        == (None, False)
    found, _ = rollout.progress(Client(service("s_hub", [two, one])), "s", {})
    assert found == ("s_hub", "2 of its tasks failed in a row", two)


def test_tasks_that_failed_before_the_deploy_do_not_count():
    old = [task(f"o{i}", "failed", "shutdown") for i in range(3)]
    hub = service("s_hub", old + [task("a", "running")])
    before = {"s_hub": (SPEC, None, {t["ID"] for t in old})}
    assert rollout.progress(Client(hub), "s", before) == (None, True)
