"""The hub's Docker proxy in front of the real engine: what the spawner does passes, the
rest is refused with HTTP 403 and a sentence (the deployed stack's hub uses nothing else;
tests/integration/test_stack.py spawns and stops through it)."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from swarmspawner.objects import LABEL_HUB
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(hub, network, root):
    """The proxy in a process of its own, and an API client that reaches the engine through it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "swarmspawner_deploy.dockerproxy", "--port", str(port),
         "--hub-id", hub, "--network", network, "--bind-roots", root],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = docker.APIClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=30)

    def answers():
        try:
            return client.ping()
        except Exception:
            return False

    assert wait_for(answers, timeout=20), "the proxy did not start"
    return process, client


@pytest.fixture(scope="module")
def proxied(network, hub_id, tmp_path_factory):
    """An API client that reaches the engine only through the proxy, and the hub id it allows."""
    own, root = hub_id + "-proxy", str(tmp_path_factory.mktemp("users"))
    process, client = start_proxy(own, network, root)
    yield client, own, root
    process.terminate()
    process.wait(10)


def test_sigterm_ends_the_proxy_while_the_hub_follows_events(network, hub_id, tmp_path):
    """Swarm stops a task with SIGTERM, then SIGKILL after the grace period: a proxy that
    waited for the hub's endless event stream to end would leave the hub without an engine
    for all of it (aiohttp waits 60 s by default)."""
    process, client = start_proxy(hub_id + "-term", network, str(tmp_path))
    events = client.events(decode=True)  # the watcher's stream, open and idle
    process.terminate()
    started = time.monotonic()
    try:
        process.wait(10)
    finally:
        events.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode is not None
    print(f"\ndocker proxy: exited {time.monotonic() - started:.1f} s after SIGTERM")


def server_spec(image, network, hub, **container):
    task = docker.types.TaskTemplate(
        container_spec=docker.types.ContainerSpec(
            image, ["sleep", "300"], healthcheck=docker.types.Healthcheck(test=["NONE"]),
            **container),
        networks=[network], restart_policy=docker.types.RestartPolicy("none"))
    return {"task_template": task, "name": f"{hub}-alice--1",
            "labels": {LABEL_HUB: hub, "swarmspawner.user": "alice"},
            "endpoint_spec": docker.types.EndpointSpec(mode="dnsrr")}


def refused(call, *args, **kwargs):
    with pytest.raises(docker.errors.APIError) as info:
        call(*args, **kwargs)
    assert info.value.status_code == 403, info.value
    return str(info.value.explanation)


def test_the_spawners_calls_pass_and_events_stream(proxied, singleuser_image, network):
    client, own, root = proxied
    assert client.version()["ApiVersion"]
    assert client.nodes() and client.inspect_node(client.nodes()[0]["ID"])
    (Path(root) / "alice").mkdir()
    since = int(time.time())
    created = client.create_service(**server_spec(
        singleuser_image, network, own,
        mounts=[docker.types.Mount("/home/jovyan", f"{root}/alice", type="bind")]))
    assert [s["ID"] for s in client.services(filters={"label": f"{LABEL_HUB}={own}"})] == [
        created["ID"]]
    assert wait_for(lambda: [t for t in client.tasks(filters={"service": created["ID"]})
                             if t["Status"]["State"] == "running"], timeout=60)
    assert isinstance(b"".join(client.service_logs(created["ID"], stdout=True)), bytes)
    client.remove_service(created["ID"])
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"type": "service"})
    actions = {(e["Action"], e["Actor"]["ID"]) for e in events}
    assert {("create", created["ID"]), ("remove", created["ID"])} <= actions


def test_what_the_spawner_never_does_is_refused(proxied, docker_client, singleuser_image,
                                                network):
    client, own, root = proxied
    message = refused(client.create_container, singleuser_image, "sh",
                      host_config=client.create_host_config(binds=["/:/host"]))
    assert "POST /containers/create is not one of the calls the hub makes" in message
    refused(client.exec_create, "any-container", "sh")
    refused(client.leave_swarm, force=True)
    refused(client.inspect_swarm)
    refused(client.secrets)
    refused(client.create_service, **server_spec(
        singleuser_image, network, own,
        mounts=[docker.types.Mount("/host", "/", type="bind")]))
    refused(client.create_service, **server_spec(
        singleuser_image, network, own,
        mounts=[docker.types.Mount("/s", "/var/run/docker.sock", type="bind")]))
    assert "label" in refused(client.create_service,
                              **server_spec(singleuser_image, network, own + "-other"))
    # Another deployment's service: neither removed nor read.
    other = docker_client.services.create(singleuser_image, ["sleep", "300"],
                                          name=own + "-not-ours", networks=[network])
    try:
        assert "not this hub's" in refused(client.remove_service, other.id)
        refused(client.service_logs, other.id, stdout=True)
    finally:
        other.remove()
    assert docker_client.info()["Swarm"]["LocalNodeState"] == "active"
