import pytest

from swarmspawner.objects import (
    ServiceSettings,
    SpecError,
    make_mount,
    make_placement,
    make_resources,
    make_restart_policy,
    make_service_spec,
)

NS = {"username": "alice", "servername": "", "prefix": "jupyter", "username_md5": "abc"}


def settings(**kwargs):
    values = dict(name="jupyter-alice-1", image="img:1", hub_id="hub", username="alice")
    values.update(kwargs)
    return ServiceSettings(**values)


def test_named_volume_with_template_and_driver():
    mount = {
        "type": "volume",
        "source": "home-{username}",
        "target": "/home/jovyan/work",
        "driver": "local",
        "driver_opts": {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/export/{username}"},
    }
    assert make_mount(mount, NS) == {
        "Type": "volume",
        "Source": "home-alice",
        "Target": "/home/jovyan/work",
        "ReadOnly": False,
        "VolumeOptions": {
            "DriverConfig": {
                "Name": "local",
                # Each user's own export directory: the options are templates too.
                "Options": {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/export/alice"},
            }
        },
    }


def test_named_volumes_are_labelled_with_whose_they_are():
    labels = {"swarmspawner.hub": "hub", "swarmspawner.user": "alice"}
    named = make_mount({"source": "v-{username}", "target": "/data", "labels": {"x": "1"}}, NS,
                       volume_labels=labels)
    assert named["VolumeOptions"]["Labels"] == {**labels, "x": "1"}
    assert "VolumeOptions" not in make_mount({"target": "/scratch"}, NS, volume_labels=labels)
    bind = make_mount({"type": "bind", "source": "/d/{username}", "target": "/d"}, NS,
                      volume_labels=labels)
    assert "VolumeOptions" not in bind


@pytest.mark.parametrize("device", [":/export/{user}", ":/export/{username}-x", ":/e/{username:>9}"])
def test_driver_options_are_checked_templates(device):
    with pytest.raises(SpecError, match="volume driver option 'device'|unknown template field"):
        make_mount({"source": "v", "target": "/d", "driver": "local",
                    "driver_opts": {"device": device}}, NS)


def test_default_volume_driver_applies_to_named_volumes_only():
    named = make_mount({"source": "v-{username}", "target": "/data"}, NS, "local", {"o": "x"})
    anonymous = make_mount({"target": "/scratch"}, NS, "local", {"o": "x"})
    assert named["VolumeOptions"]["DriverConfig"] == {"Name": "local", "Options": {"o": "x"}}
    assert anonymous == {"Type": "volume", "Target": "/scratch", "ReadOnly": False}


def test_bind_and_tmpfs():
    assert make_mount(
        {"type": "bind", "source": "/srv/{username}", "target": "/data", "read_only": True,
         "propagation": "rslave"}, NS
    ) == {
        "Type": "bind",
        "Source": "/srv/alice",
        "Target": "/data",
        "ReadOnly": True,
        "BindOptions": {"Propagation": "rslave"},
    }
    assert make_mount({"type": "tmpfs", "target": "/tmp", "tmpfs_size": "64M"}, NS) == {
        "Type": "tmpfs",
        "Target": "/tmp",
        "ReadOnly": False,
        "TmpfsOptions": {"SizeBytes": 64 * 1024**2},
    }


@pytest.mark.parametrize(
    "mount, message",
    [
        ({"type": "bind", "source": "relative", "target": "/x"}, "absolute 'source'"),
        ({"type": "nfs", "source": "x", "target": "/x"}, "mount type"),
        ({"type": "volume", "source": "x"}, "absolute 'target'"),
        ({"type": "volume", "source": "v-{user}", "target": "/x"}, "unknown template field"),
        ({"type": "tmpfs", "source": "x", "target": "/x"}, "takes no 'source'"),
        ({"type": "volume", "target": "/x", "Privileged": True}, "unknown keys"),
        ("/srv:/data", "must be a dict"),
    ],
)
def test_bad_mounts_name_the_problem(mount, message):
    with pytest.raises(SpecError, match=message):
        make_mount(mount, NS)


def test_resources_limits_reservations_and_generic():
    resources = make_resources(
        settings(cpu_limit=2, mem_limit="2G", cpu_guarantee=0.5, mem_guarantee=512 * 1024**2,
                 generic_resources={"gpu": 1, "fpga": "FPGA-1"})
    )
    assert resources == {
        "Limits": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 2 * 1024**3},
        "Reservations": {
            "NanoCPUs": 500_000_000,
            "MemoryBytes": 512 * 1024**2,
            "GenericResources": [
                {"NamedResourceSpec": {"Kind": "fpga", "Value": "FPGA-1"}},
                {"DiscreteResourceSpec": {"Kind": "gpu", "Value": 1}},
            ],
        },
    }


def test_no_resources_means_no_resource_fields():
    assert make_resources(settings()) == {}


def test_placement_and_restart_policy():
    assert make_placement(["node.role == worker"], ["spread=node.labels.zone"]) == {
        "Constraints": ["node.role == worker"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
    }
    with pytest.raises(SpecError, match="spread="):
        make_placement([], ["pack=node.id"])
    assert make_restart_policy({"condition": "on-failure", "delay": 5, "max_attempts": 3}) == {
        "Condition": "on-failure",
        "Delay": 5_000_000_000,
        "MaxAttempts": 3,
    }
    with pytest.raises(SpecError, match="restart_policy condition"):
        make_restart_policy({"Condition": "always"})


def test_whole_spec():
    spec = make_service_spec(
        settings(
            servername="",
            args=["jupyterhub-singleuser"],
            env={"B": "2", "A": "1"},
            mounts=[{"source": "home-{username}", "target": "/home/jovyan"}],
            template_namespace=NS,
            networks=["hubnet"],
            mem_limit="1G",
            placement_constraints=["node.role == worker"],
            stop_grace_period=5,
            extra_container_spec={"User": "1000"},
        )
    )
    labels = {"swarmspawner.hub": "hub", "swarmspawner.user": "alice", "swarmspawner.server": ""}
    assert spec == {
        "name": "jupyter-alice-1",
        "labels": labels,
        "mode": {"Replicated": {"Replicas": 1}},
        "endpoint_spec": {"Mode": "dnsrr"},
        "task_template": {
            "ContainerSpec": {
                "Image": "img:1",
                "Args": ["jupyterhub-singleuser"],
                "Env": ["A=1", "B=2"],
                "Labels": labels,
                "Mounts": [
                    {"Type": "volume", "Source": "home-alice", "Target": "/home/jovyan",
                     "ReadOnly": False, "VolumeOptions": {"Labels": {
                         "swarmspawner.hub": "hub", "swarmspawner.user": "alice"}}}
                ],
                "StopGracePeriod": 5_000_000_000,
                "User": "1000",
            },
            "Resources": {"Limits": {"MemoryBytes": 1024**3}},
            "RestartPolicy": {"Condition": "none"},
            "Placement": {"Constraints": ["node.role == worker"]},
            "Networks": [{"Target": "hubnet"}],
        },
    }


def test_hub_labels_cannot_be_overridden_by_extra_labels():
    spec = make_service_spec(settings(extra_labels={"swarmspawner.hub": "other", "team": "x"}))
    assert spec["labels"]["swarmspawner.hub"] == "hub"
    assert spec["labels"]["team"] == "x"


def test_bad_endpoint_mode():
    with pytest.raises(SpecError, match="endpoint_mode"):
        make_service_spec(settings(endpoint_mode="ingress"))
