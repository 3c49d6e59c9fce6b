"""Each host, one by one: its engine, as the playbook set it up."""

import json

import pytest

from swarmspawner_deploy.envfile import images
from swarmspawner_deploy.placement import images_for


@pytest.fixture
def images_here(host, manager, env, env_path):
    """The images the playbook puts on this host: those its placement allows (every one on
    the first manager)."""
    hostname = host.check_output("hostname")
    node = json.loads(manager.check_output(f"docker node inspect {hostname}"))[0]
    return images_for(node, images(env, env_path),
                      everything=hostname == manager.check_output("hostname"))


def test_engine_running_and_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0


def test_daemon_json_from_the_env_file(host, env, private_registry):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": env.DOCKER_LOG_MAX_SIZE,
                                  "max-file": str(env.DOCKER_LOG_MAX_FILE)}
    assert config.get("registry-mirrors", []) == env.REGISTRY_MIRRORS
    trusted = env.INSECURE_REGISTRIES + ([private_registry] if private_registry else [])
    assert config.get("insecure-registries", []) == trusted
    assert config.get("default-address-pools", []) == env.DOCKER_ADDRESS_POOLS


def test_a_manager_rejoins_the_gossip_when_its_engine_starts(host, managers):
    """Managers only: the diagnostic server on loopback, and the unit that joins the other
    nodes through it (tests/e2e/test_restarts.py restarts the engine and times it)."""
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    rejoin = host.service("swarm-gossip-rejoin")
    if host.backend.get_hostname() not in managers:
        assert "network-diagnostic-port" not in config
        assert not rejoin.is_enabled
        return
    assert rejoin.is_enabled
    # Docker 20.10 opens it only when the unit reloads the engine, at the engine's first start
    # in a swarm; wherever it listens, it is on loopback only.
    assert not host.socket(f"tcp://0.0.0.0:{config['network-diagnostic-port']}").is_listening


def test_in_the_swarm(host):
    state = host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'")
    assert state == "active"


def test_images_present_where_they_may_run_by_the_same_id_as_on_the_manager(host, manager, env,
                                                                          images_here):
    if not env.PIN_LOCAL_IMAGES:
        return
    assert env.SINGLEUSER_IMAGE in images_here or host.check_output("hostname") != \
        manager.check_output("hostname")
    for image in images_here:
        wanted = manager.check_output(f"docker image inspect --format '{{{{.Id}}}}' {image}")
        assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {image}") == wanted


def test_the_private_registry_serves_the_images_to_this_node(host, env, private_registry,
                                                             images_here):
    """images_source=registry: the first manager's registry answers this node and holds the images."""
    if private_registry is None:
        pytest.skip("the images were not put on the nodes through a private registry")
    catalog = json.loads(host.check_output(
        "python3 -c 'import sys, urllib.request; "
        f"sys.stdout.write(urllib.request.urlopen(\"http://{private_registry}/v2/_catalog\").read().decode())'"))
    for image in images_here:
        assert image.rsplit(":", 1)[0] in catalog["repositories"]
        # What runs here is the image that came through the registry.
        ids = {host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {name}")
               for name in (image, f"{private_registry}/{image}")}
        assert len(ids) == 1


def test_the_isolation_agent_runs_on_every_node(host, env):
    """SERVER_ISOLATION: what firewalls users' servers from each other as they start
    (tests/e2e/test_least_privilege.py tries it from a user's terminal)."""
    agent = host.service("swarm-server-isolation")
    assert agent.is_running == env.SERVER_ISOLATION
    assert agent.is_enabled == env.SERVER_ISOLATION
