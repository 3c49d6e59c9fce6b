"""Each host, one by one: its engine, as the playbook set it up."""

import json


def test_engine_running_and_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0


def test_daemon_json_from_the_env_file(host, env):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": env.DOCKER_LOG_MAX_SIZE,
                                  "max-file": str(env.DOCKER_LOG_MAX_FILE)}
    assert config.get("registry-mirrors", []) == env.REGISTRY_MIRRORS
    assert config.get("insecure-registries", []) == env.INSECURE_REGISTRIES
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
