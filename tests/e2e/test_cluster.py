"""The cluster as a whole: nodes, the stack, and a user's server, as an operator checks them."""

import json
import pytest
import requests

from tests.e2e.conftest import connect, user_service, wait_for


def test_every_host_is_a_node_with_its_role_and_labels(swarm, runner, inventory, managers, workers):
    nodes = {n["ID"]: n for n in swarm.json("node inspect $(docker node ls -q)")}
    assert len(nodes) == len(managers) + len(workers)
    for name in managers + workers:
        node_id = connect(inventory, name).check_output("docker info --format '{{.Swarm.NodeID}}'")
        node = nodes[node_id]
        assert node["Status"]["State"] == "ready", name
        assert node["Spec"]["Role"] == ("manager" if name in managers else "worker"), name
        wanted = runner.get_variables(name).get("swarm_labels") or {}
        if isinstance(wanted, str):
            wanted = json.loads(wanted)
        assert wanted.items() <= node["Spec"].get("Labels", {}).items(), name


def test_network_and_volume_present(swarm, env):
    network = swarm.json(f"network inspect {env.NETWORK_NAME}")[0]
    assert network["Driver"] == "overlay" and network["Attachable"]
    assert env.HUB_DATA_VOLUME in swarm.lines("volume ls --format '{{.Name}}'")


def test_stack_services_at_desired_replicas(swarm, env):
    services = swarm.lines(f"stack services {env.STACK_NAME} --format '{{{{.Name}}}} {{{{.Replicas}}}}'")
    names = {line.split()[0] for line in services}
    expected = {"hub", "proxy", "dockerapi"} | ({"edge"} if env.TLS != "off" else set())
    assert names == {f"{env.STACK_NAME}_{name}" for name in expected}
    for line in services:
        name, replicas = line.split()
        running, desired = replicas.split("/")
        assert running == desired != "0", line


def test_hub_answers_on_its_public_url(hub_url, hub_ca):
    response = requests.get(hub_url + "/hub/health", timeout=10, verify=hub_ca)
    assert response.status_code == 200
    assert requests.get(hub_url + "/hub/login", timeout=10, verify=hub_ca).status_code == 200


def satisfies(node, constraint):
    """A placement constraint of the forms the env file uses: node.role / node.labels.X / node.hostname."""
    for op in ("==", "!="):
        if op in constraint:
            key, value = (part.strip() for part in constraint.split(op, 1))
            break
    else:
        raise AssertionError(f"cannot read constraint {constraint!r}")
    if key == "node.role":
        actual = node["Spec"]["Role"]
    elif key == "node.hostname":
        actual = node["Description"]["Hostname"]
    elif key.startswith("node.labels."):
        actual = node["Spec"].get("Labels", {}).get(key[len("node.labels."):])
    else:
        pytest.skip(f"constraint {constraint!r} is not checked here")
    return (actual == value) if op == "==" else (actual != value)


def test_a_users_server_spawns_on_a_worker_with_its_limits(hub_user, swarm, env, workers,
                                                           node_host):
    hub_user.start()
    service = user_service(swarm, env, hub_user.name)
    assert service, "the hub made no service for the user"
    tasks = swarm.lines(f"service ps {service} --filter desired-state=running --format '{{{{.Node}}}}'")
    assert len(tasks) == 1, tasks
    node = swarm.json(f"node inspect {tasks[0]}")[0]
    for constraint in env.PLACEMENT_CONSTRAINTS:
        assert satisfies(node, constraint), (constraint, tasks[0])
    if workers and any("node.role" in c and "worker" in c for c in env.PLACEMENT_CONSTRAINTS):
        assert node["Spec"]["Role"] == "worker"

    # The limits, in the service's spec and on the container the worker runs.
    spec = swarm.json(f"service inspect {service}")[0]["Spec"]
    limits = spec["TaskTemplate"].get("Resources", {}).get("Limits", {})
    worker = node_host(node["Description"]["Hostname"])
    container = worker.check_output(
        f"docker ps -q --filter label=com.docker.swarm.service.name={service}")
    assert container, "no container on the node the task was placed on"
    host_config = json.loads(worker.check_output(f"docker inspect {container}"))[0]["HostConfig"]
    if env.MEM_LIMIT:
        assert limits["MemoryBytes"] == env.MEM_LIMIT == host_config["Memory"]
    if env.CPU_LIMIT:
        assert limits["NanoCPUs"] == int(env.CPU_LIMIT * 1e9) == host_config["NanoCpus"]

    # The server answers through the proxy on the public URL.
    response = hub_user.request("GET", f"/user/{hub_user.name}/api")
    assert response.status_code == 200 and "version" in response.json()

    # Stop removes the service, and its container from that node.
    hub_user.stop()
    assert wait_for(lambda: user_service(swarm, env, hub_user.name) is None, timeout=60)
    assert wait_for(lambda: not worker.check_output(
        f"docker ps -aq --filter label=com.docker.swarm.service.name={service}"), timeout=60)
