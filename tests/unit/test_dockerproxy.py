"""The hub's Docker proxy: which calls pass, and which services the hub may create."""

import copy

import pytest

from swarmspawner.objects import LABEL_HUB
from swarmspawner_deploy.dockerproxy import Refused, check_service, route

HUB = "jupyterhub"
NETWORKS = {"jupyterhub", "net0id"}
ROOTS = ["/srv/swarmspawner/users"]
SERVER = {
    "Name": "jupyter-alice--1",
    "Labels": {LABEL_HUB: HUB, "swarmspawner.user": "alice"},
    "TaskTemplate": {
        "ContainerSpec": {
            "Image": "sha256:" + "a" * 64,
            "Mounts": [{"Type": "bind", "Source": "/srv/swarmspawner/users/alice",
                        "Target": "/home/jovyan"},
                       {"Type": "volume", "Source": "jupyterhub-user-alice", "Target": "/data",
                        "VolumeOptions": {"DriverConfig": {
                            "Name": "local", "Options": {"type": "nfs", "o": "addr=10.0.0.5",
                                                         "device": ":/export/alice"}}}},
                       {"Type": "tmpfs", "Target": "/tmp"}],
        },
        "Networks": [{"Target": "jupyterhub"}],
    },
    "EndpointSpec": {"Mode": "dnsrr"},
}


@pytest.mark.parametrize("method, path, decision", [
    ("GET", "/v1.41/_ping", "pass"), ("GET", "/version", "pass"),
    ("GET", "/v1.41/services", "pass"), ("GET", "/v1.41/tasks", "pass"),
    ("GET", "/v1.41/nodes", "pass"), ("GET", "/v1.41/nodes/abc", "pass"),
    ("GET", "/v1.41/networks/docker_gwbridge", "pass"), ("GET", "/v1.41/events", "pass"),
    ("POST", "/v1.41/services/create", "create"),
    ("DELETE", "/v1.41/services/abc", ("own", "abc")),
    ("GET", "/v1.41/services/abc/logs", ("own", "abc")),
    ("GET", "/v1.41/services/abc", ("own", "abc")),
])
def test_the_spawners_calls_pass(method, path, decision):
    assert route(method, path) == decision


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1.41/containers/create"), ("POST", "/v1.41/containers/abc/exec"),
    ("POST", "/v1.41/exec/abc/start"), ("POST", "/v1.41/swarm/leave"),
    ("GET", "/v1.41/swarm"), ("POST", "/v1.41/swarm/update"), ("GET", "/v1.41/secrets"),
    ("POST", "/v1.41/secrets/create"), ("POST", "/v1.41/services/abc/update"),
    ("POST", "/v1.41/plugins/pull"), ("DELETE", "/v1.41/nodes/abc"),
    ("POST", "/v1.41/nodes/abc/update"), ("GET", "/v1.41/containers/json"),
    ("POST", "/v1.41/images/create"), ("DELETE", "/v1.41/networks/abc"),
    ("POST", "/v1.41/networks/create"), ("POST", "/v1.41/volumes/create"),
    ("DELETE", "/v1.41/services/abc/logs"),
    ("GET", "/v1.41/services/../swarm"),
])
def test_everything_else_is_refused(method, path):
    with pytest.raises(Refused, match="not one of the calls"):
        route(method, path)


def test_a_server_as_the_spawner_makes_it_may_be_created():
    check_service(copy.deepcopy(SERVER), HUB, NETWORKS, ROOTS)


def changed(path, value):
    spec = copy.deepcopy(SERVER)
    *parents, last = path
    target = spec
    for key in parents:
        target = target[key]
    target[last] = value
    return spec


@pytest.mark.parametrize("spec, why", [
    (changed(["Labels"], {}), "label"),
    (changed(["Labels", LABEL_HUB], "other-hub"), "label"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "bind", "Source": "/", "Target": "/host"}]), "bind only below"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "bind", "Source": "/var/run/docker.sock", "Target": "/s"}]), "bind only"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "bind", "Source": "/srv/swarmspawner/users/../../etc", "Target": "/e"}]),
     "bind only"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "bind", "Source": "/srv/swarmspawner/users-other", "Target": "/e"}]),
     "bind only"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "volume", "Source": "v", "Target": "/h", "VolumeOptions": {
                 "DriverConfig": {"Name": "local", "Options": {
                     "type": "none", "o": "bind", "device": "/"}}}}]), "volume may bind"),
    (changed(["TaskTemplate", "ContainerSpec", "Mounts"],
             [{"Type": "npipe", "Source": "x", "Target": "/x"}]), "may not mount"),
    (changed(["TaskTemplate", "ContainerSpec", "CapabilityAdd"], ["CAP_SYS_ADMIN"]),
     "CapabilityAdd"),
    (changed(["TaskTemplate", "ContainerSpec", "Secrets"], [{"SecretName": "cookie"}]),
     "Secrets"),
    (changed(["TaskTemplate", "ContainerSpec", "Configs"], [{"ConfigName": "env"}]), "Configs"),
    (changed(["TaskTemplate", "ContainerSpec", "Sysctls"], {"net.ipv4.ip_forward": "1"}),
     "Sysctls"),
    (changed(["TaskTemplate", "Networks"], [{"Target": "jupyterhub_control"}]), "join only"),
    (changed(["TaskTemplate", "Networks"], [{"Target": "host"}]), "join only"),
    (changed(["EndpointSpec", "Ports"], [{"TargetPort": 8888, "PublishedPort": 443,
                                          "PublishMode": "host"}]), "publish"),
    (changed(["TaskTemplate"], {"PluginSpec": {"Name": "evil"}}), "run a container"),
])
def test_a_service_beyond_a_servers_needs_is_refused(spec, why):
    with pytest.raises(Refused, match=why):
        check_service(spec, HUB, NETWORKS, ROOTS)
