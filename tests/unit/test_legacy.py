"""Every configuration example of the original cassinyspawner package's page (its README),
fed through the compatibility spawner and compared field by field with the spec it must
produce. Placeholders of the page ('YourImage', 'MountPointInsideTheContainer') are
replaced by concrete values of the same kind."""

import docker.types
import pytest
from traitlets import TraitError

from cassinyspawner import SwarmSpawner as LegacySpawner
from cassinyspawner import translate
from swarmspawner.objects import make_service_spec
from swarmspawner.slugs import md5_username

from .conftest import make_spawner


def legacy_spec(config, username="alice", servername=""):
    spawner = make_spawner(LegacySpawner, {"SwarmSpawner": config}, username, servername)
    return spawner, make_service_spec(spawner.service_settings())


def container(spec):
    return spec["task_template"]["ContainerSpec"]


def test_minimal_config_from_the_page():
    # c.JupyterHub.spawner_class = 'cassinyspawner.SwarmSpawner'
    # c.SwarmSpawner.jupyterhub_service_name = 'NameOfTheService'
    # c.SwarmSpawner.networks = ["mynetwork"]
    _, spec = legacy_spec(
        {
            "jupyterhub_service_name": "NameOfTheService",
            "networks": ["mynetwork"],
            "container_spec": {"Image": "jupyter/base-notebook"},
        }
    )
    assert spec["task_template"]["Networks"] == [{"Target": "mynetwork"}]
    env = dict(e.split("=", 1) for e in container(spec)["Env"])
    assert env["JUPYTERHUB_API_URL"] == "http://NameOfTheService:8081/hub/api"
    assert container(spec)["Image"] == "jupyter/base-notebook"


def test_container_spec_with_args_and_bind_mount():
    # container_spec = {'args': ['/usr/local/bin/start-singleuser.sh'], 'Image': 'YourImage',
    #                   'mounts': mounts}, with the page's "Bind a Host dir" mounts and notebook_dir
    mounts = [{"type": "bind", "source": "/srv/shared", "target": "/home/jovyan/work"}]
    _, spec = legacy_spec(
        {
            "notebook_dir": "/home/jovyan/work",
            "container_spec": {
                "args": ["/usr/local/bin/start-singleuser.sh"],
                "Image": "your/image:1",
                "mounts": mounts,
            },
        }
    )
    c = container(spec)
    assert c["Image"] == "your/image:1"
    assert c["Args"] == ["/usr/local/bin/start-singleuser.sh"]
    assert "Command" not in c  # args is CMD; the ENTRYPOINT stays the image's
    assert c["Mounts"] == [
        {"Type": "bind", "Source": "/srv/shared", "Target": "/home/jovyan/work", "ReadOnly": False}
    ]
    env = dict(e.split("=", 1) for e in c["Env"])
    assert env["JUPYTERHUB_ROOT_DIR"] == "/home/jovyan/work"


#: Named volumes are labelled with whose they are (so that a remove takes only this hub's).
WHOSE = {"VolumeOptions": {"Labels": {"swarmspawner.hub": "jupyterhub", "swarmspawner.user": "alice"}}}


@pytest.mark.parametrize(
    "mount, expected",
    [
        # Mount a named volume
        (
            {"type": "volume", "source": "NameOfTheVolume", "target": "/home/jovyan/work"},
            {"Type": "volume", "Source": "NameOfTheVolume", "Target": "/home/jovyan/work",
             "ReadOnly": False, **WHOSE},
        ),
        # Named path: {username} is the hashed username, as the original made it
        (
            {"type": "volume", "source": "jupyterhub-user-{username}", "target": "/home/jovyan"},
            {"Type": "volume", "Source": "jupyterhub-user-" + md5_username("alice"),
             "Target": "/home/jovyan", "ReadOnly": False, **WHOSE},
        ),
        (
            {"type": "bind", "source": "/data/{username}", "target": "/data"},
            {"Type": "bind", "Source": "/data/" + md5_username("alice"), "Target": "/data",
             "ReadOnly": False},
        ),
        # Anonymous volume: removed with the service
        (
            {"type": "volume", "target": "/scratch"},
            {"Type": "volume", "Target": "/scratch", "ReadOnly": False},
        ),
    ],
)
def test_mount_examples(mount, expected):
    _, spec = legacy_spec({"container_spec": {"Image": "i", "mounts": [mount]}})
    assert container(spec)["Mounts"] == [expected]


def test_docker_py_mount_objects_still_work():
    mount = docker.types.Mount(target="/home/jovyan", source="home-{username}", type="volume",
                               driver_config=docker.types.DriverConfig("local", {"o": "x"}))
    _, spec = legacy_spec({"container_spec": {"Image": "i", "mounts": [mount]}})
    assert container(spec)["Mounts"] == [
        {"Type": "volume", "Source": "home-" + md5_username("alice"), "Target": "/home/jovyan",
         "ReadOnly": False, "VolumeOptions": {"DriverConfig": {"Name": "local",
                                                               "Options": {"o": "x"}},
                                              "Labels": WHOSE["VolumeOptions"]["Labels"]}}
    ]


def test_resource_spec_example():
    # cpu values in nano-CPUs, memory in bytes, as the page wrote them
    _, spec = legacy_spec(
        {
            "container_spec": {"Image": "i"},
            "resource_spec": {
                "cpu_limit": 10**9,
                "mem_limit": int(512 * 1e6),
                "cpu_reservation": 1000,
                "mem_reservation": int(512 * 1e6),
            },
        }
    )
    assert spec["task_template"]["Resources"] == {
        "Limits": {"NanoCPUs": 10**9, "MemoryBytes": 512_000_000},
        "Reservations": {"NanoCPUs": 1000, "MemoryBytes": 512_000_000},
    }


def test_the_pages_millionth_of_a_core_limit_is_refused_not_run():
    # The page's own example limit, cpu_limit 1000 nano-CPUs, is below what a container can
    # run with (runc's 1 ms of CPU per 100 ms): refused when the hub starts, with the reason.
    with pytest.raises(TraitError, match="cpu_limit must be at least 0.001 cores"):
        legacy_spec({"container_spec": {"Image": "i"}, "resource_spec": {"cpu_limit": 1000}})


def test_user_options_resource_example_units():
    # The page's user_options example uses int(1 * 1e9) for one core.
    assert translate(resource_spec={"cpu_limit": int(1 * 1e9)}) == {"cpu_limit": 1.0}


def test_service_prefix_and_named_servers():
    # {service_prefix}-{service_owner}--{service_suffix}: "--" now, so no pair of names meets
    _, spec = legacy_spec({"service_prefix": "jupyterhub", "container_spec": {"Image": "i"}})
    assert spec["name"] == "jupyterhub-alice--1"
    _, spec = legacy_spec(
        {"service_prefix": "jupyterhub", "container_spec": {"Image": "i"}}, servername="gpu"
    )
    assert spec["name"] == "jupyterhub-alice--gpu"


def test_placement_list_becomes_constraints():
    _, spec = legacy_spec({"container_spec": {"Image": "i"}, "placement": ["node.role==worker"]})
    assert spec["task_template"]["Placement"] == {"Constraints": ["node.role==worker"]}


def test_start_timeout_is_jupyterhubs():
    spawner, _ = legacy_spec({"container_spec": {"Image": "i"}, "start_timeout": 300})
    assert spawner.start_timeout == 300


def test_other_container_spec_arguments_pass_through():
    _, spec = legacy_spec(
        {"container_spec": {"Image": "i", "user": "1000", "workdir": "/w", "hostname": "nb",
                            "env": {"A": "1"}, "command": "tini -g --"}}
    )
    c = container(spec)
    assert (c["User"], c["Dir"], c["Hostname"]) == ("1000", "/w", "nb")
    assert c["Command"] == ["tini", "-g", "--"]
    assert "A=1" in c["Env"]


def test_new_setting_wins_over_the_old_one():
    spawner = make_spawner(
        LegacySpawner,
        {"SwarmSpawner": {"image": "new:1", "container_spec": {"Image": "old:1"}}},
    )
    assert spawner.image == "new:1"


def test_unknown_resource_key_is_refused():
    with pytest.raises(ValueError, match="resource_spec key 'cpus'"):
        translate(resource_spec={"cpus": 1})
