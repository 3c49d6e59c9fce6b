"""Profiles and user_options on the real swarm, through a real hub's REST API."""

import time

import pytest

from tests.support.profiles import ANSWER_REJECTIONS, assert_medium_profile

from .conftest import service_of

pytestmark = pytest.mark.integration


def test_a_profile_chosen_through_rest_decides_the_service(
    profiles_hub, docker_client, hub_id, alt_image
):
    ready, events = profiles_hub.spawn("pat", user_options={"profile": "medium", "memory": "512m"})
    assert ready, events
    assert profiles_hub.user_api("pat").status_code == 200

    service = service_of(docker_client, hub_id + "-profiles", "pat")
    task = service.attrs["Spec"]["TaskTemplate"]
    assert_medium_profile(task, alt_image)
    assert "PROFILE=medium" in task["ContainerSpec"]["Env"]
    profiles_hub.stop("pat")

    # The same server started again with the default profile: nothing of "medium" is left.
    ready, events = profiles_hub.spawn("pat", user_options={"profile": "small"})
    assert ready, events
    task = service_of(docker_client, hub_id + "-profiles", "pat").attrs["Spec"]["TaskTemplate"]
    assert task["ContainerSpec"]["Image"].startswith("sha256:")
    assert task["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 * 1024**2}}
    assert not task["Placement"].get("Constraints")
    assert "PROFILE=medium" not in task["ContainerSpec"]["Env"]
    profiles_hub.stop("pat")


def test_unlisted_choice_within_its_pattern(profiles_hub, docker_client, hub_id):
    ready, events = profiles_hub.spawn(
        "quinn", user_options={"profile": "medium", "memory--unlisted-choice": "300"})
    assert ready, events
    task = service_of(docker_client, hub_id + "-profiles", "quinn").attrs["Spec"]["TaskTemplate"]
    assert task["Resources"]["Limits"]["MemoryBytes"] == 300 * 1024**2
    profiles_hub.stop("quinn")


@pytest.mark.parametrize(
    "user_options, field",
    [
        ({"profile": "huge"}, "'profile'"),
        ({"profile": "medium", "memory": "64g"}, "'memory'"),
        ({"profile": "medium", "memory--unlisted-choice": "100000"}, "'memory--unlisted-choice'"),
        ({"profile": "medium", "memory--unlisted-choice": "300M; rm"}, "'memory--unlisted-choice'"),
        ({"profile": "small", "memory": "512m"}, "'memory'"),
        ({"profile": "medium", "image": "alpine"}, "'image'"),
        ({"profile": ["medium"]}, "'profile'"),
        ({"profile": "medium", "memory": {"$gt": ""}}, "'memory'"),
        ({"profile": "x" * 20_000}, "bytes"),
        ({"container_spec": {"Image": "alpine"}}, "'container_spec'"),
    ],
)
def test_bad_options_are_a_400_naming_the_field_and_create_nothing(
    profiles_hub, docker_client, hub_id, user_options, field
):
    started = time.monotonic()
    profiles_hub.ensure_user("mallory")
    response = profiles_hub.api("POST", "/users/mallory/server", json=user_options)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert field in message, message
    assert time.monotonic() - started < 10
    assert service_of(docker_client, hub_id + "-profiles", "mallory") is None
    assert profiles_hub.server("mallory") is None


def test_options_are_checked_on_a_hub_without_profiles_too(hub, docker_client, hub_id):
    # The shared hub has no profiles and slow_spawn_timeout 0. The check still runs before
    # the hub's first answer (seen: HTTP 400); were the hub to answer 202 first, the refusal
    # would be the failed event of the progress stream, with the same sentence.
    ready, events = hub.spawn("oscar", user_options={"profile": "medium"})
    assert not ready
    assert "'profile'" in events[-1]["message"], events
    assert service_of(docker_client, hub_id, "oscar") is None
    assert hub.server("oscar") is None


def test_a_body_that_is_not_an_object_is_refused(profiles_hub):
    profiles_hub.ensure_user("mallory")
    response = profiles_hub.api("POST", "/users/mallory/server", json=["profile", "medium"])
    assert response.status_code == 400, response.text
    assert profiles_hub.server("mallory") is None


# --- the original package's use_user_options, within allowlists ---------------------

LEGACY_CONFIG = """
c.JupyterHub.spawner_class = "cassinyspawner.SwarmSpawner"
c.SwarmSpawner.use_user_options = True
c.SwarmSpawner.user_options_allowed_images = [{alt!r}]
c.SwarmSpawner.user_options_allowed_mounts = [
    {{"type": "volume", "source": "sstest-data-{{username}}--*"}},
    {{"type": "tmpfs", "target": "/tmp/*"}},
]
c.SwarmSpawner.user_options_max_cpu = 1.0
c.SwarmSpawner.user_options_max_mem = "512M"
c.SwarmSpawner.user_options_allowed_constraints = ["node.role == manager"]
c.SwarmSpawner.placement_constraints = ["node.platform.os == linux"]
c.SwarmSpawner.user_options_name_pattern = "[a-z]{{1,10}}"
"""


@pytest.fixture(scope="session")
def legacy_hub(make_hub, alt_image, hub_id):
    return make_hub(
        LEGACY_CONFIG.format(alt=alt_image) + ANSWER_REJECTIONS, hub_id=hub_id + "-legacy")


def test_original_user_options_within_allowlists(legacy_hub, docker_client, hub_id, alt_image):
    options = {
        "container_spec": {
            "Image": alt_image,
            "mounts": [
                {"type": "volume", "source": "sstest-data-rita--1", "target": "/data"},
                {"type": "tmpfs", "target": "/tmp/scratch"},
            ],
        },
        "resource_spec": {"cpu_limit": int(0.5e9), "mem_limit": int(256e6)},
        "placement": ["node.role == manager"],
        "name": "lab",
    }
    ready, events = legacy_hub.spawn("rita", user_options=options)
    assert ready, events
    service = service_of(docker_client, hub_id + "-legacy", "rita")
    spec = service.attrs["Spec"]
    assert spec["Name"] == "sstest-rita--lab"
    task = spec["TaskTemplate"]
    assert task["ContainerSpec"]["Image"] == alt_image
    assert task["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 256_000_000}
    assert task["Placement"]["Constraints"] == ["node.platform.os == linux", "node.role == manager"]
    mounts = {m["Target"]: m for m in task["ContainerSpec"]["Mounts"]}
    assert mounts["/data"]["Source"] == "sstest-data-rita--1"
    assert mounts["/tmp/scratch"]["Type"] == "tmpfs"
    assert legacy_hub.user_api("rita").status_code == 200
    legacy_hub.stop("rita")


@pytest.mark.parametrize(
    "user_options, field",
    [
        ({"container_spec": {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}},
         "container_spec.mounts[0]"),
        ({"container_spec": {"mounts": [{"type": "volume", "source": "sstest-data-bob--1",
                                         "target": "/data"}]}}, "container_spec.mounts[0]"),
        ({"container_spec": {"Image": "alpine"}}, "container_spec.Image"),
        ({"resource_spec": {"cpu_limit": 10000 * 10**9}}, "resource_spec.cpu_limit"),
        ({"resource_spec": {"mem_limit": 0}}, "resource_spec.mem_limit"),
        ({"placement": ["node.role == worker"]}, "placement[0]"),
        ({"network": ["ingress"]}, "network"),
        ({"name": "../x"}, "'name'"),
    ],
)
def test_original_user_options_outside_allowlists_are_refused(
    legacy_hub, docker_client, hub_id, user_options, field
):
    legacy_hub.ensure_user("trudy")
    response = legacy_hub.api("POST", "/users/trudy/server", json=user_options)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]
    assert service_of(docker_client, hub_id + "-legacy", "trudy") is None
    assert legacy_hub.server("trudy") is None
