"""Hostile inputs through a real hub on the real swarm: a sample of every class.

The breadth is in tests/unit/test_hostile_inputs.py; here each class is sent as a user
would send it (the REST API), and the answer is an HTTP 400 naming the field, with no
service, volume or hub server left behind. JupyterHub's own group_overrides and its
named-server ceiling are checked on the services they give.
"""

import pytest

from swarmspawner import slugs
from tests.support.profiles import ANSWER_REJECTIONS

from .conftest import hub_services, service_of

pytestmark = pytest.mark.integration

HOSTILE_CONFIG = """
c.JupyterHub.spawner_class = "cassinyspawner.SwarmSpawner"
c.JupyterHub.named_server_limit_per_user = 1
c.Spawner.mem_limit = "256M"
c.Spawner.mem_guarantee = "64M"
c.SwarmSpawner.user_mem_guarantee_total = "100M"
c.SwarmSpawner.use_user_options = True
c.SwarmSpawner.user_options_allowed_mounts = [
    {"type": "volume", "source": "sstest-data-{username}--*"}]
c.SwarmSpawner.user_options_allowed_args = [["jupyterhub-singleuser"]]
c.SwarmSpawner.user_options_max_cpu = 1.0
c.SwarmSpawner.user_options_max_mem = "512M"
c.SwarmSpawner.profile_list = [
    {"display_name": "Plain", "slug": "plain", "default": True},
    {"display_name": "Lowercase size", "slug": "lower", "spawner_override": {"mem_limit": "300m"}},
    {"display_name": "Data", "slug": "data", "profile_options": {
        "set": {"display_name": "Data set", "unlisted_choice": {
            "enabled": True, "validation_regex": ".*",
            "spawner_override": {"mounts": [
                {"type": "volume", "source": "sstest-set-{value}", "target": "/data"}]}}},
        "memory": {"display_name": "Memory", "unlisted_choice": {
            "enabled": True, "validation_regex": ".*",
            "spawner_override": {"mem_limit": "{value}M"}}}}},
]
c.Spawner.group_overrides = {"students": {"groups": ["students"], "spawner_override": {
    "mem_limit": "300M", "placement_constraints": ["node.role == manager"]}}}
"""


@pytest.fixture(scope="module")
def hostile_hub(make_hub, hub_id):
    return make_hub(HOSTILE_CONFIG + ANSWER_REJECTIONS, hub_id=hub_id + "-hostile")


def volumes_named(client, text):
    return [v.name for v in client.volumes.list() if text in v.name]


@pytest.mark.parametrize("user_options, field", [
    # 2: a path out of the admin's folder, whatever the admin's pattern
    ({"profile": "data", "set--unlisted-choice": "../../etc", "memory--unlisted-choice": "300"},
     "set--unlisted-choice"),
    # 3: format syntax in the text
    ({"profile": "data", "set--unlisted-choice": "{0:>99999999}",
      "memory--unlisted-choice": "300"}, "set--unlisted-choice"),
    # 4: another user's volume through a {username} pattern
    ({"container_spec": {"mounts": [{"type": "volume", "target": "/data",
                                     "source": f"sstest-data-{slugs.user_slug('mallory.x')}--x"}]}},
     "container_spec.mounts[0]"),
    # 6: zero is not "unlimited"
    ({"profile": "data", "set--unlisted-choice": "x", "memory--unlisted-choice": "0"},
     "memory--unlisted-choice"),
    ({"resource_spec": {"mem_limit": 0}}, "resource_spec.mem_limit"),
    # 7: a reservation above the server's effective limit (the admin's 256M)
    ({"resource_spec": {"mem_reservation": "400M"}}, "resource_spec.mem_reservation"),
    # 8: what used to be a 500
    ({"container_spec": {"args": "jupyterhub-singleuser 'x"}}, "container_spec.args"),
    ({"resource_spec": {"cpu_limit": 10**400}}, "number larger"),
])
def test_each_class_is_a_400_and_creates_nothing(hostile_hub, docker_client, hub_id,
                                                   user_options, field):
    hostile_hub.ensure_user("mallory")
    response = hostile_hub.api("POST", "/users/mallory/server", json=user_options)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"], response.json()["message"]
    assert service_of(docker_client, hub_id + "-hostile", "mallory") is None
    assert hostile_hub.server("mallory") is None
    assert volumes_named(docker_client, "mallory") == []
    assert volumes_named(docker_client, "sstest-set-") == []


def test_a_groups_overrides_reach_the_service(hostile_hub, docker_client, hub_id):
    hostile_hub.ensure_user("gina")
    response = hostile_hub.api("POST", "/groups/students", json={"users": ["gina"]})
    assert response.status_code in (201, 409), response.text
    ready, events = hostile_hub.spawn("gina")
    assert ready, events
    task = service_of(docker_client, hub_id + "-hostile", "gina").attrs["Spec"]["TaskTemplate"]
    assert task["Resources"]["Limits"]["MemoryBytes"] == 300 * 1024**2
    assert task["Placement"]["Constraints"] == ["node.role == manager"]
    hostile_hub.stop("gina")
    # Out of the group, the next start is the admin's own settings again.
    assert hostile_hub.api("DELETE", "/groups/students/users",
                           json={"users": ["gina"]}).status_code == 200
    ready, events = hostile_hub.spawn("gina")
    assert ready, events
    task = service_of(docker_client, hub_id + "-hostile", "gina").attrs["Spec"]["TaskTemplate"]
    assert task["Resources"]["Limits"]["MemoryBytes"] == 256 * 1024**2
    assert task["Placement"].get("Constraints") in (None, [])
    hostile_hub.stop("gina")


def test_one_size_grammar_a_profiles_lowercase_size_is_what_it_says(hostile_hub, docker_client,
                                                                    hub_id):
    # Class 9: "300m" in a profile was an HTTP 500 ("profiles misconfigured"); the .env took it.
    ready, events = hostile_hub.spawn("lena", user_options={"profile": "lower"})
    assert ready, events
    task = service_of(docker_client, hub_id + "-hostile", "lena").attrs["Spec"]["TaskTemplate"]
    assert task["Resources"]["Limits"]["MemoryBytes"] == 300 * 1024**2
    hostile_hub.stop("lena")


def test_constructed_name_pairs_get_their_own_services(hostile_hub, docker_client, hub_id):
    # With one '-' between user and server these two shared a service name.
    ready, events = hostile_hub.spawn("cc", "dd-1")
    assert ready, events
    ready, events = hostile_hub.spawn("cc-dd")
    assert ready, events
    names = {s.name for s in hub_services(docker_client, hub_id + "-hostile")}
    assert {slugs.service_name("sstest", "cc", "dd-1"),
            slugs.service_name("sstest", "cc-dd")} <= names
    assert hostile_hub.user_api("cc", "dd-1").status_code == 200
    assert hostile_hub.user_api("cc-dd").status_code == 200
    # The named-server ceiling: a second named server is refused with the limit named.
    hostile_hub.ensure_user("cc")
    response = hostile_hub.api("POST", "/users/cc/servers/ee", json={})
    assert response.status_code == 400, response.text
    assert "maximum of 1 named servers" in response.json()["message"]
    hostile_hub.stop("cc", "dd-1")
    hostile_hub.stop("cc-dd")


def test_a_users_reservations_stay_within_the_per_user_total(hostile_hub, docker_client, hub_id):
    # Each server reserves 64M; a user may reserve 100M in all.
    ready, events = hostile_hub.spawn("tara")
    assert ready, events
    response = hostile_hub.api("POST", "/users/tara/servers/two", json={})
    assert response.status_code == 400, response.text
    assert "this hub lets each user reserve" in response.json()["message"]
    assert hostile_hub.server("tara", "two") is None
    assert len([s for s in hub_services(docker_client, hub_id + "-hostile")
                if s.attrs["Spec"]["Labels"]["swarmspawner.user"] == "tara"]) == 1
    hostile_hub.stop("tara")
