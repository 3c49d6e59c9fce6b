"""One spawn's state: group overrides, profiles evaluated once, settings put back."""

import asyncio
from types import SimpleNamespace

import pytest
from tornado import web

from swarmspawner import SwarmSpawner
from swarmspawner.objects import make_service_spec

PROFILES = [
    {"display_name": "Small", "slug": "small", "default": True},
    {"display_name": "Big", "slug": "big", "spawner_override": {"mem_limit": "8G"}},
]
GROUP_OVERRIDES = {
    "01-students": {
        "groups": ["students"],
        "spawner_override": {"mem_limit": "1G",
                             "placement_constraints": ["node.labels.pool == students"]},
    },
}


def run(coro):
    return asyncio.run(coro)


def with_groups(spawner, *names):
    spawner.user.groups = [SimpleNamespace(name=n) for n in names]
    return spawner


async def spawn_steps(spawner, user_options=None, form=None):
    """The hub's order: form POST (optional), group overrides, user options."""
    if form is not None:
        spawner.user_options = await spawner.run_options_from_form(form)
    elif user_options is not None:
        spawner.user_options = user_options
    await spawner.apply_group_overrides()
    await spawner._run_apply_user_options(spawner.user_options)


def test_group_overrides_reach_the_service(spawner_factory):
    spawner = with_groups(spawner_factory(config={
        "SwarmSpawner": {"networks": ["net"], "mem_limit": "2G"},
        "Spawner": {"group_overrides": GROUP_OVERRIDES}}), "students")
    run(spawn_steps(spawner, {}))
    task = make_service_spec(spawner.service_settings())["task_template"]
    assert task["Resources"]["Limits"]["MemoryBytes"] == 1024**3
    assert task["Placement"]["Constraints"] == ["node.labels.pool == students"]


def test_leaving_a_group_undoes_its_overrides_at_the_next_spawn(spawner_factory):
    spawner = with_groups(spawner_factory(config={
        "SwarmSpawner": {"mem_limit": "2G"}, "Spawner": {"group_overrides": GROUP_OVERRIDES}}),
        "students")
    run(spawn_steps(spawner, {}))
    assert spawner.mem_limit == 1024**3
    with_groups(spawner)
    run(spawn_steps(spawner, {}))
    assert spawner.mem_limit == 2 * 1024**3
    assert spawner.placement_constraints == []


def test_a_group_override_may_not_touch_identity(spawner_factory):
    spawner = with_groups(spawner_factory(config={"Spawner": {"group_overrides": {
        "x": {"groups": ["g"], "spawner_override": {"hub_id": "other"}}}}}), "g")
    with pytest.raises(web.HTTPError) as info:
        run(spawner.apply_group_overrides())
    assert info.value.status_code == 500
    assert spawner.hub_id == "jupyterhub"


def test_a_profile_applies_over_the_group_override(spawner_factory):
    spawner = with_groups(spawner_factory(config={
        "SwarmSpawner": {"profile_list": PROFILES},
        "Spawner": {"group_overrides": GROUP_OVERRIDES}}), "students")
    run(spawn_steps(spawner, {"profile": "big"}))
    assert spawner.mem_limit == 8 * 1024**3
    run(spawn_steps(spawner, {"profile": "small"}))
    assert spawner.mem_limit == 1024**3


def test_a_callable_profile_list_is_evaluated_once_per_form_spawn(spawner_factory):
    calls = []

    def profile_list(spawner):
        calls.append(1)
        return PROFILES

    spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": profile_list}})
    run(spawn_steps(spawner, form={"profile": ["big"]}))
    assert len(calls) == 1
    assert spawner.mem_limit == 8 * 1024**3
    # The REST API's spawn: its own evaluation, never the last spawn's profiles.
    run(spawn_steps(spawner, {"profile": "small"}))
    assert len(calls) == 2
    assert spawner.mem_limit is None


def test_a_refused_form_does_not_leak_into_the_next_spawn(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": PROFILES}})
    with pytest.raises(web.HTTPError):
        run(spawner.run_options_from_form({"profile": ["nope"]}))
    run(spawn_steps(spawner, {"profile": "big"}))
    assert spawner.mem_limit == 8 * 1024**3


def test_hub_connect_url_from_the_original_packages_service_name(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"jupyterhub_service_name": "hub"}})
    assert spawner.hub_connect_url == "http://hub:8081"
    assert spawner.get_env()["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    explicit = spawner_factory(config={"SwarmSpawner": {
        "jupyterhub_service_name": "hub", "hub_connect_url": "http://proxy:8000"}})
    assert explicit.get_env()["JUPYTERHUB_API_URL"] == "http://proxy:8000/hub/api"
    assert spawner_factory().hub_connect_url is None


class FakeReflector:
    def __init__(self, cpu, memory):
        self.reserved = (cpu, memory)

    async def ready(self):
        pass

    def reservations(self, username, exclude=""):
        return self.reserved


def totals_spawner(spawner_factory, cpu, memory, **config):
    class WithReservations(SwarmSpawner):
        reflector = property(lambda self: FakeReflector(cpu, memory))

    return spawner_factory(cls=WithReservations, config={"SwarmSpawner": {
        "user_cpu_guarantee_total": 2, "user_mem_guarantee_total": "4G", **config}})


@pytest.mark.parametrize("cpu, memory, guarantee, refused", [
    (0, 0, {"cpu_guarantee": 1, "mem_guarantee": "1G"}, None),
    (1.5, 0, {"cpu_guarantee": 1}, "CPU cores"),
    (0, 3.5 * 1024**3, {"mem_guarantee": "1G"}, "of memory"),
    (2, 4 * 1024**3, {}, None),  # nothing reserved by this one: still fits
])
def test_a_users_reservations_stay_within_the_hubs_totals(spawner_factory, cpu, memory,
                                                           guarantee, refused):
    spawner = totals_spawner(spawner_factory, cpu, memory, **guarantee)
    try:
        run(spawner._run_apply_user_options({}))
    except web.HTTPError as e:
        assert refused and e.status_code == 400, e
        assert refused in e.jupyterhub_message and "Stop one" in e.jupyterhub_message
    else:
        assert refused is None


def test_the_volume_node_outlives_the_server(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"volume_node_sticky": True}})
    spawner.load_state({"service_id": "s1", "service_name": "jupyter-alice--1",
                        "volume_node": {"id": "n1", "name": "worker1"}})
    spawner.clear_state()  # what JupyterHub does when the server stops
    assert spawner.get_state() == {"volume_node": {"id": "n1", "name": "worker1"}}


def test_a_users_other_servers_tell_where_the_volumes_are(spawner_factory):
    spawner = spawner_factory(servername="gpu")
    spawner.user.orm_user = SimpleNamespace(orm_spawners={
        "": SimpleNamespace(state={"volume_node": {"id": "n2", "name": "worker2"}}),
        "gpu": SimpleNamespace(state=None)})
    assert spawner._known_volume_node() == {"id": "n2", "name": "worker2"}


def test_shared_storage_mounts_the_users_directory_where_jupyterlab_opens(spawner_factory):
    spawner = spawner_factory(username="Alice Smith", config={"SwarmSpawner": {
        "shared_home_root": "/srv/users", "home_target": "/home/jovyan"}})
    spec = make_service_spec(spawner.service_settings())
    mounts = spec["task_template"]["ContainerSpec"]["Mounts"]
    assert mounts == [{"Type": "bind", "Source": spawner.home_dir(), "Target": "/home/jovyan",
                       "ReadOnly": False}]
    assert spawner.home_dir().startswith("/srv/users/alice-smith-")


@pytest.mark.parametrize("name", ["../../etc", "..", "a/../../b", ".", "x/y"])
def test_a_hostile_user_name_stays_inside_the_shared_root(spawner_factory, name):
    spawner = spawner_factory(username=name, config={"SwarmSpawner": {"shared_home_root": "/srv/u"}})
    home = spawner.home_dir()
    assert home.startswith("/srv/u/") and "/" not in home[len("/srv/u/"):]
    assert home[len("/srv/u/"):] not in ("", ".", "..")
