"""The spawner's settings, as an admin writes them, turned into a service spec."""

import pytest
from traitlets import TraitError

from swarmspawner import SwarmSpawner
from swarmspawner.objects import make_service_spec


def env_of(spec):
    return dict(item.split("=", 1) for item in spec["task_template"]["ContainerSpec"]["Env"])


def test_jupyterhub_settings_are_honoured(spawner_factory):
    spawner = spawner_factory(
        config={
            "SwarmSpawner": {
                "image": "lab:1",
                "networks": ["hubnet"],
                "notebook_dir": "/home/jovyan/work",
                "default_url": "/lab",
                "args": ["--debug"],
                "environment": {"TEAM": "physics"},
            },
            "Spawner": {"mem_limit": "2G", "cpu_limit": 1.5, "mem_guarantee": "1G",
                        "cpu_guarantee": 0.5},
        },
        username="alice",
        servername="gpu",
    )
    spec = make_service_spec(spawner.service_settings())
    container = spec["task_template"]["ContainerSpec"]
    assert spec["name"] == "jupyter-alice--gpu"
    assert container["Image"] == "lab:1"
    assert container["Args"] == ["jupyterhub-singleuser", "--debug"]
    env = env_of(spec)
    assert env["JUPYTERHUB_ROOT_DIR"] == "/home/jovyan/work"
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab"
    assert env["TEAM"] == "physics"
    assert env["JUPYTERHUB_SERVICE_URL"].startswith("http://0.0.0.0:8888/")
    assert env["JUPYTERHUB_SERVER_NAME"] == "gpu"
    assert spec["task_template"]["Resources"] == {
        "Limits": {"NanoCPUs": 1_500_000_000, "MemoryBytes": 2 * 1024**3},
        "Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 1024**3},
    }
    assert spec["labels"]["swarmspawner.server"] == "gpu"


def test_mount_templates_use_safe_names(spawner_factory):
    spawner = spawner_factory(
        config={"SwarmSpawner": {"mounts": [
            {"type": "volume", "source": "home-{username}--{servername}", "target": "/home/jovyan"}
        ]}},
        username="Dr. Who",
        servername="My Server",
    )
    mount = make_service_spec(spawner.service_settings())["task_template"]["ContainerSpec"][
        "Mounts"
    ][0]
    assert mount["Source"].startswith("home-dr-who-")
    assert " " not in mount["Source"] and "." not in mount["Source"]


def test_jupyterhub_service_name_sets_the_hub_api_url(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"jupyterhub_service_name": "hub"}})
    env = env_of(make_service_spec(spawner.service_settings()))
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"


def test_bad_settings_are_refused_early(spawner_factory):
    with pytest.raises(TraitError, match="service_prefix"):
        spawner_factory(config={"SwarmSpawner": {"service_prefix": "Bad_Prefix"}})
    with pytest.raises(TraitError, match="endpoint_mode"):
        spawner_factory(config={"SwarmSpawner": {"endpoint_mode": "mesh"}})


def test_state_round_trip(spawner_factory):
    spawner = spawner_factory()
    spawner.service_id = "abc"
    spawner.service_name = "jupyter-alice-1"
    state = spawner.get_state()
    other = spawner_factory()
    other.load_state(state)
    assert (other.service_id, other.service_name) == ("abc", "jupyter-alice-1")
    other.clear_state()
    assert other.get_state() == {}


def test_every_setting_has_help():
    for name, trait in SwarmSpawner.class_traits(config=True).items():
        assert trait.help, f"{name} has no help text"


def test_image_healthcheck_is_off_by_default(spawner_factory):
    spawner = spawner_factory()
    container = make_service_spec(spawner.service_settings())["task_template"]["ContainerSpec"]
    assert container["HealthCheck"] == {"Test": ["NONE"]}
    spawner = spawner_factory(config={"SwarmSpawner": {"healthcheck": None}})
    container = make_service_spec(spawner.service_settings())["task_template"]["ContainerSpec"]
    assert "HealthCheck" not in container


def test_servers_are_reached_at_their_task_address_on_the_hub_network(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"networks": ["hubnet"]}})
    task = {
        "NetworksAttachments": [
            {"Network": {"ID": "n1", "Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.5/24"]},
            {"Network": {"ID": "n2", "Spec": {"Name": "hubnet"}}, "Addresses": ["10.0.9.7/24"]},
        ]
    }
    assert spawner._task_address(task) == "10.0.9.7"
    spawner.service_name = "jupyter-alice-1"
    assert spawner._task_address({"NetworksAttachments": []}) == "jupyter-alice-1"
