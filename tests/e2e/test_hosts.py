"""Each host, one by one: its engine, as the playbook set it up."""

import json

import pytest


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


def test_in_the_swarm(host):
    state = host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'")
    assert state == "active"


def test_images_present_by_the_same_id_as_on_the_manager(host, manager, env):
    if not env.PIN_LOCAL_IMAGES:
        return
    for image in (env.HUB_IMAGE, env.SINGLEUSER_IMAGE):
        wanted = manager.check_output(f"docker image inspect --format '{{{{.Id}}}}' {image}")
        assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {image}") == wanted


def test_the_private_registry_serves_the_images_to_this_node(host, env, private_registry):
    """images_source=registry: the first manager's registry answers this node and holds the images."""
    if private_registry is None:
        pytest.skip("the images were not put on the nodes through a private registry")
    catalog = json.loads(host.check_output(
        "python3 -c 'import sys, urllib.request; "
        f"sys.stdout.write(urllib.request.urlopen(\"http://{private_registry}/v2/_catalog\").read().decode())'"))
    for image in (env.HUB_IMAGE, env.SINGLEUSER_IMAGE):
        assert image.rsplit(":", 1)[0] in catalog["repositories"]
        # What runs here is the image that came through the registry.
        ids = {host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {name}")
               for name in (image, f"{private_registry}/{image}")}
        assert len(ids) == 1
