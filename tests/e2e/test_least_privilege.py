"""Least privilege on the cluster: the hub holds no Docker socket and its engine calls beyond
a spawner's are refused; a user's server reaches neither the proxy's API, nor the hub's own
port, nor the engine's proxy, nor another user's server; the overlay networks encrypt between
nodes when the .env says so."""

import json

import pytest

from tests.e2e.conftest import running_node, user_service, wait_for

#: Run in the hub's container: what someone who took over the hub process would try first.
HUB_ATTEMPTS = """
import json, os, docker
client = docker.APIClient(base_url=os.environ["DOCKER_HOST"], version="1.41")
tried = {"socket": os.path.exists("/var/run/docker.sock")}
def attempt(name, call):
    try:
        call()
        tried[name] = "allowed"
    except docker.errors.APIError as e:
        tried[name] = e.status_code
attempt("services", client.services)
attempt("container binding /", lambda: client.create_container(
    "any", "sh", host_config=client.create_host_config(binds=["/:/host"])))
attempt("exec", lambda: client.exec_create(os.environ["TARGET"], "sh"))
attempt("leave the swarm", lambda: client.leave_swarm(force=True))
attempt("read the swarm's join tokens", client.inspect_swarm)
tried["capabilities"] = next(line.split()[1] for line in open("/proc/1/status")
                             if line.startswith("CapEff"))
print(json.dumps(tried))
"""

#: A user's terminal, as jovyan in their own server: each name and port, reached or not.
USER_ATTEMPTS = """
import json, socket
reached = {}
for name, port in (("proxy", 8001), ("proxy-api", 8001), ("hub", 8081), ("hub-api", 8081),
                   ("dockerapi", 2375)):
    try:
        socket.create_connection((name, port), timeout=3).close()
        reached[f"{name}:{port}"] = True
    except OSError as e:
        reached[f"{name}:{port}"] = type(e).__name__
print(json.dumps(reached))
"""


def container_of(host, service):
    return host.check_output(
        f"docker ps -q --filter label=com.docker.swarm.service.name={service}")


def python_in(host, container, script, user=None, env=()):
    flags = " ".join([*(f"-e {e}" for e in env), *([f"-u {user}"] if user else [])])
    return json.loads(host.check_output(
        f"docker exec -i {flags} {container} python3 - <<'EOF'\n{script}\nEOF"))


def test_the_hub_reaches_the_engine_only_for_a_spawners_calls(manager, env):
    hub = container_of(manager, f"{env.STACK_NAME}_hub")
    edge_or_proxy = container_of(manager, f"{env.STACK_NAME}_proxy")
    tried = python_in(manager, hub, HUB_ATTEMPTS, env=[f"TARGET={edge_or_proxy}"])
    # Root in its container, with only what making users' directories on shared storage takes
    # (CHOWN, DAC_OVERRIDE, FOWNER), or nothing.
    capabilities = "000000000000000b" if env.USER_STORAGE == "shared" else "0000000000000000"
    assert tried == {"socket": False, "services": "allowed", "container binding /": 403,
                     "exec": 403, "leave the swarm": 403, "read the swarm's join tokens": 403,
                     "capabilities": capabilities}
    assert manager.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"


def test_a_users_server_reaches_no_control_plane(hub_user, swarm, env, node_host):
    hub_user.start()
    service = user_service(swarm, env, hub_user.name)
    host = node_host(running_node(swarm, service))
    reached = python_in(host, container_of(host, service), USER_ATTEMPTS, user="1000")
    assert True not in reached.values(), reached
    print(f"\nfrom {hub_user.name}'s terminal: {reached}")
    # Their own server, and a fresh login, still work.
    assert hub_user.contents("GET", "").status_code == 200
    hub_user.token = hub_user._make_token()
    assert hub_user.contents("GET", "").status_code == 200


#: A user's terminal: connections to another user's server, at each address and port given.
PEER_ATTEMPTS = """
import json, os, socket
reached = {}
for target in json.loads(os.environ["TARGETS"]):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        reached[target] = True
    except OSError as e:
        reached[target] = type(e).__name__
print(json.dumps(reached))
"""


def address_on(host, container, network):
    return host.check_output(
        f"docker inspect -f '{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}'"
        f" {container}")


def test_a_users_server_cannot_connect_to_another_users_server(hub_user, other_user, swarm, env,
                                                                node_host):
    if not env.SERVER_ISOLATION:
        pytest.skip("SERVER_ISOLATION=false")
    servers = {}
    for user in (hub_user, other_user):
        user.start()
        service = user_service(swarm, env, user.name)
        host = node_host(running_node(swarm, service))
        servers[user.name] = (host, container_of(host, service))
    their_host, theirs = servers[other_user.name]
    my_host, mine = servers[hub_user.name]
    # The other user also listens on the proxy's port, which a server may connect to: their
    # own side must still refuse.
    their_host.check_output(f"docker exec -d -u 1000 {theirs} python3 -m http.server 8000")
    their_address = address_on(their_host, theirs, env.NETWORK_NAME)
    targets = [f"{their_address}:8888", f"{their_address}:8000"]
    if my_host.check_output("hostname") == their_host.check_output("hostname"):
        targets.append(f"{address_on(their_host, theirs, 'docker_gwbridge')}:8888")
    reached = python_in(my_host, mine, PEER_ATTEMPTS, user="1000",
                        env=[f"TARGETS='{json.dumps(targets)}'"])
    print(f"\nfrom {hub_user.name}'s terminal to {other_user.name}'s server: {reached}")
    assert True not in reached.values(), reached
    # Each server still answers its user through the proxy, fresh logins included.
    for user in (hub_user, other_user):
        user.token = user._make_token()
        assert user.contents("GET", "").status_code == 200
    # What it cost at the start: the agent's own line for the other user's server.
    journal = their_host.check_output("journalctl -u swarm-server-isolation --no-pager -o cat")
    lines = [line for line in journal.splitlines() if theirs[:12] in line or
             user_service(swarm, env, other_user.name) in line]
    assert lines, journal[-2000:]
    print(f"agent: {lines[-1]}")
    # Day 2: the agent restarted (an upgrade, a crash) puts the rules back on running servers,
    # and they hold as before.
    their_host.check_output("systemctl restart swarm-server-isolation")
    assert wait_for(lambda: len([line for line in their_host.check_output(
        "journalctl -u swarm-server-isolation --no-pager -o cat").splitlines()
        if user_service(swarm, env, other_user.name) in line]) > len(lines), timeout=30)
    again = python_in(my_host, mine, PEER_ATTEMPTS, user="1000",
                      env=[f"TARGETS='{json.dumps(targets)}'"])
    assert True not in again.values(), again
    assert other_user.contents("GET", "").status_code == 200


def test_the_overlay_encrypts_between_nodes_when_asked(env, swarm, manager, hub_user, node_host):
    options = swarm.json(f"network inspect {env.NETWORK_NAME}")[0]["Options"] or {}
    control = swarm.json(f"network inspect {env.STACK_NAME}_control")[0]["Options"] or {}
    if not env.OVERLAY_ENCRYPTED:
        assert "encrypted" not in options and "encrypted" not in control
        pytest.skip("OVERLAY_ENCRYPTED=false")
    assert "encrypted" in options and "encrypted" in control
    hub_user.start()
    host = node_host(running_node(swarm, user_service(swarm, env, hub_user.name)))
    # IPsec security associations between this node and the manager carry the VXLAN traffic.
    assert int(host.check_output("ip xfrm state | grep -c '^src'")) > 0
