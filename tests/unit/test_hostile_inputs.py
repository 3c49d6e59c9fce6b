"""A user never gets more than the admin offered: hostile inputs on every user-reachable path.

Each input is refused with HTTP 400 and a sentence naming the field, or (valid but odd)
gives exactly the intended spec. Paths: REST user_options through profiles, the spawn form,
profile unlisted choices, the original package's use_user_options, user and server names.
The same classes are sampled through a real hub in tests/integration/test_hostile_inputs.py.
"""

import asyncio
import itertools

import pytest
from tornado import web

from cassinyspawner import SwarmSpawner as LegacySpawner
from swarmspawner import slugs
from swarmspawner.objects import SpecError, check_template, make_service_spec
from swarmspawner.options import UserOptionsError, check_segment

# --- the hub's offer ---------------------------------------------------------------

PROFILES = [
    {"display_name": "Small", "slug": "small", "default": True,
     "spawner_override": {"cpu_limit": 1, "mem_limit": "2G"}},
    {"display_name": "Data", "slug": "data",
     "profile_options": {
         # A deliberately permissive pattern: the spawner's own rule must still hold.
         "set": {"display_name": "Data set", "unlisted_choice": {
             "enabled": True, "validation_regex": ".*",
             "spawner_override": {"mounts": [
                 {"type": "bind", "source": "/srv/datasets/{value}", "target": "/data",
                  "read_only": True},
                 {"type": "volume", "source": "scratch-{username}--{value}",
                  "target": "/scratch"}]}}},
         "memory": {"display_name": "Memory", "unlisted_choice": {
             "enabled": True, "validation_regex": ".*",
             "spawner_override": {"mem_limit": "{value}M"}}},
         "tag": {"display_name": "Image tag",
                 "choices": {"base": {"display_name": "Base", "default": True,
                                      "spawner_override": {"image": "example/nb:base"}}},
                 "unlisted_choice": {"enabled": True,
                                     "spawner_override": {"image": "example/nb:{value}"}}},
     }},
]


def run(coro):
    return asyncio.run(coro)


def profile_spawner(spawner_factory, **config):
    return spawner_factory(config={"SwarmSpawner": {
        "profile_list": PROFILES, "networks": ["net"], "image": "example/nb:base", **config}})


def refused(spawner, user_options):
    """The HTTP error a spawn with these options gets before anything exists."""
    with pytest.raises(web.HTTPError) as info:
        run(spawner._run_apply_user_options(user_options))
    return info.value


# --- classes 2 and 3: free text substituted into paths and templates ---------------

HOSTILE_TEXT = [
    "..", "../..", "../../etc", "../../../var/run/docker.sock", "x/../../y", "a/b", "/etc",
    "/var/run/docker.sock", "./x", ".", ".hidden", "...", "x..y", "x/..", "..\\x", "x\\y",
    "{username}", "{value}", "{0}", "{0:>999999999}", "{username:>40000000}", "{prefix!r}",
    "{", "}", "{{", "}}", "%s%s", "${HOME}", "$(id)", "`id`", "x;rm -rf /", "x|y", "x&y",
    "-rf", "--help", "-", "x y", " x", "x\t", "x\ny", "x\x00y", "x\x7f", "é", "ü" * 3,
    "\u202e", "x" * 129, "a" * 300, "", "*", "?", "[a]", "x*", "~", "~root", "x:y", "x@y",
    "x=y", "x,y", "'x'", '"x"', "x'", "<script>", "&amp;",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_unlisted_text_never_changes_which_folder_or_setting(spawner_factory, text):
    spawner = profile_spawner(spawner_factory)
    error = refused(spawner, {"profile": "data", "set--unlisted-choice": text,
                              "memory--unlisted-choice": "512"})
    assert error.status_code == 400
    assert "'set--unlisted-choice'" in error.jupyterhub_message
    assert spawner.mounts == []  # nothing of it applied


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_through_the_form_too(spawner_factory, text):
    spawner = profile_spawner(spawner_factory)
    form = {"profile": ["data"],
            "profile-option-data--set": ["--unlisted-choice"],
            "profile-option-data--set--unlisted-choice": [text],
            "profile-option-data--memory--unlisted-choice": ["512"],
            "profile-option-data--tag": ["base"]}
    try:
        check_segment("x", text.strip())
    except UserOptionsError:
        with pytest.raises(web.HTTPError) as info:
            run(spawner.run_options_from_form(form))
        assert info.value.status_code == 400
    else:  # the form trims the text box, as a browser user would expect: then it is plain
        options = run(spawner.run_options_from_form(form))
        assert options["set--unlisted-choice"] == text.strip()


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_as_an_image_tag(spawner_factory, text):
    spawner = profile_spawner(spawner_factory)
    error = refused(spawner, {"profile": "data", "tag--unlisted-choice": text,
                              "set--unlisted-choice": "climate", "memory--unlisted-choice": "512"})
    assert error.status_code == 400
    assert spawner.image == "example/nb:base"


@pytest.mark.parametrize("text", ["climate", "ocean_2024", "v1.2.3", "a+b", "_x", "X-1"])
def test_plain_text_gives_exactly_the_admins_folder(spawner_factory, text):
    spawner = profile_spawner(spawner_factory)
    run(spawner._run_apply_user_options({"profile": "data", "set--unlisted-choice": text,
                                         "memory--unlisted-choice": "512"}))
    mounts = make_service_spec(spawner.service_settings())["task_template"]["ContainerSpec"]["Mounts"]
    assert [m["Source"] for m in mounts] == [f"/srv/datasets/{text}", f"scratch-alice--{text}"]
    assert mounts[0]["ReadOnly"] is True


# --- class 6: zero (or too little) means unlimited ----------------------------------

@pytest.mark.parametrize("memory", ["0", "00", "0.0", "5", "1", "0.001"])
def test_a_users_zero_memory_is_a_400_not_unlimited(spawner_factory, memory):
    spawner = profile_spawner(spawner_factory)
    error = refused(spawner, {"profile": "data", "set--unlisted-choice": "x",
                              "memory--unlisted-choice": memory})
    assert error.status_code == 400
    assert "'memory--unlisted-choice'" in error.jupyterhub_message
    assert spawner.mem_limit is None


@pytest.mark.parametrize("override", [
    {"mem_limit": 0}, {"mem_limit": "0G"}, {"mem_limit": "0"}, {"mem_limit": -1},
    {"mem_limit": "-1G"}, {"mem_limit": "5M"}, {"mem_limit": "lots"}, {"mem_limit": True},
    {"cpu_limit": 0}, {"cpu_limit": 0.0}, {"cpu_limit": -1}, {"cpu_limit": 1e-10},
    {"cpu_limit": 0.0009}, {"cpu_limit": "1"}, {"mem_guarantee": -5}, {"cpu_guarantee": -1},
])
def test_an_admins_zero_limit_is_refused_not_unlimited(spawner_factory, override):
    spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": [
        {"display_name": "A", "spawner_override": override}]}})
    error = refused(spawner, {})
    assert error.status_code == 500  # the admin's to fix, said in the hub's log and page
    assert "misconfigured" in error.jupyterhub_message


@pytest.mark.parametrize("value, expected", [
    ("2G", 2 * 1024**3), ("2g", 2 * 1024**3), ("512M", 512 * 1024**2), ("1.5G", 3 * 1024**3 // 2),
    ("6M", 6 * 1024**2), (2**31, 2**31), ("1T", 1024**4), ("64MiB", 64 * 1024**2),
])
def test_one_size_grammar_in_profiles_as_in_the_env_file(spawner_factory, value, expected):
    from swarmspawner_deploy.envfile import parse

    spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": [
        {"display_name": "A", "spawner_override": {"mem_limit": value}}]}})
    run(spawner._run_apply_user_options({}))
    assert spawner.mem_limit == expected
    assert parse({"MEM_LIMIT": str(value)}, check_files=False).MEM_LIMIT == expected


@pytest.mark.parametrize("name, value", [
    ("MEM_LIMIT", "0"), ("MEM_LIMIT", "0G"), ("MEM_LIMIT", "1K"), ("MEM_LIMIT", "-1G"),
    ("CPU_LIMIT", "0"), ("CPU_LIMIT", "0.0"), ("CPU_LIMIT", "0.0001"), ("CPU_LIMIT", "-1"),
    ("USER_VOLUME", "data-{username}-x"), ("USER_VOLUME", "{username}{servername}"),
    ("USER_VOLUME", "x-{username:>99}"), ("NAMED_SERVER_LIMIT", "0"),
    ("NAMED_SERVER_LIMIT", "-1"), ("NAMED_SERVER_LIMIT", "lots"),
])
def test_the_env_file_refuses_what_would_mean_more(name, value):
    from swarmspawner_deploy.envfile import EnvError, parse

    with pytest.raises(EnvError) as info:
        parse({name: value}, check_files=False)
    assert f"{name}={value!r} is not valid" in str(info.value)


# --- the request itself: shape, numbers, unknown fields ------------------------------

SHAPES = [
    [], "profile", 1, None, True, [{"profile": "small"}], {1: "x"},
    {f"k{i}": i for i in range(40)}, {"profile": "x" * 300}, {"x" * 300: 1},
    {"profile": {"nested": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}},
    {"profile": "small", "big": 10**400}, {"profile": "small", "n": -(10**30)},
    {"profile": "small", "n": 2**60}, {"profile": "nope"}, {"profile": "../small"},
    {"profile": "small", "tag": "base"}, {"profile": "data", "tag": "nope"},
    {"profile": "data", "tag": "base", "tag--unlisted-choice": "x"},
    {"profile": "data", "tag--unlisted-choice": 5}, {"profile": "data", "tag--unlisted-choice": None},
    {"profile": "data", "tag--unlisted-choice": ["x"]}, {"profile": "small", "image": "alpine"},
    {"profile": "small", "mem_limit": "64G"}, {"profile": "small", "cpu_limit": 64},
    {"profile": "small", "placement_constraints": ["node.role == manager"]},
    {"profile": "small", "mounts": [{"type": "bind", "source": "/", "target": "/host"}]},
    {"profile": "small", "hub_id": "other"}, {"profile": "small", "service_id": "x"},
    {"profile": "%s%n"}, {"profile": "small\x00"}, {"profile": "SMALL"},
]


@pytest.mark.parametrize("user_options", SHAPES, ids=lambda o: repr(o)[:40])
def test_requests_outside_the_offer_are_400(spawner_factory, user_options):
    spawner = profile_spawner(spawner_factory)
    error = refused(spawner, user_options)
    assert error.status_code == 400
    assert error.jupyterhub_message.startswith("user_options")
    assert spawner.image == "example/nb:base" and spawner.mem_limit is None


# --- class 1: JupyterHub's group_overrides apply (tests/unit/test_spawn_state.py too) --

def test_group_overrides_are_applied_not_ignored(spawner_factory):
    from types import SimpleNamespace

    spawner = spawner_factory(config={"Spawner": {"group_overrides": {"g": {
        "groups": ["ro"], "spawner_override": {"mem_limit": "1G", "mounts": [
            {"type": "volume", "source": "shared", "target": "/shared", "read_only": True}]}}}}})
    spawner.user.groups = [SimpleNamespace(name="ro")]
    run(spawner.apply_group_overrides())
    assert spawner.mem_limit == 1024**3
    assert spawner.mounts[0]["read_only"] is True


# --- the original package's use_user_options -----------------------------------------

LEGACY = {
    "use_user_options": True, "image": "base:1", "networks": ["hub-net"],
    "mem_limit": "1G", "cpu_limit": 1.0,
    "user_options_allowed_images": ["quay.io/jupyter/*-notebook:2024-*"],
    "user_options_allowed_args": [["start-singleuser.sh"]],
    "user_options_allowed_mounts": [
        {"type": "volume", "source": "data-{username}--*"},
        {"type": "bind", "source": "/srv/datasets/*", "read_only": True},
        {"type": "tmpfs", "target": "/tmp/*"}],
    "user_options_max_cpu": 2.0, "user_options_max_mem": "4G",
    "user_options_allowed_networks": ["extra-net"],
    "user_options_allowed_constraints": ["node.labels.gpu == yes"],
    "user_options_name_pattern": "[a-z]+",
}


def legacy(spawner_factory, username="alice"):
    return spawner_factory(cls=LegacySpawner, config={"SwarmSpawner": LEGACY}, username=username)


def mount(source, target="/data", kind="volume", **extra):
    return {"container_spec": {"mounts": [{"type": kind, "source": source, "target": target,
                                           **extra}]}}


LEGACY_REFUSED = [
    # class 4: another user's volumes through a {username} pattern
    mount("data-alice-smith-0123456789abcdef--x"), mount(f"data-{slugs.user_slug('alice.smith')}--x"),
    mount(f"data-{slugs.user_slug('alice-admin')}--x"), mount("data-bob--x"), mount("data-alicex--1"),
    mount("data-alice-x"), mount("data-alice"), mount("data-"),
    # class 2: paths
    mount("/", kind="bind"), mount("/srv/datasets/../../etc", kind="bind"),
    mount("/srv/datasets/x/../../etc", kind="bind"), mount("/var/run/docker.sock", kind="bind"),
    mount("/srv/datasets/./x", kind="bind"), mount("/srv/datasets//x", kind="bind"),
    mount("srv/datasets/x", kind="bind"), mount("/srv/datasets/x", "/", kind="bind"),
    mount("/srv/datasets/x", "relative", kind="bind"), mount("/srv/datasets/x", "/a/../b", kind="bind"),
    mount("/srv/datasets/{username}", kind="bind"), mount("data-alice--{0:>99999}"),
    mount("data-alice--x", "/data", propagation="rshared"), mount("x", "/tmp/x", kind="tmpfs"),
    mount("", "/etc", kind="tmpfs"), mount("data-alice--x", "/data", driver="local"),
    {"container_spec": {"mounts": [{"Type": "volume", "Source": "data-alice--x",
                                    "Target": "/data", "VolumeOptions": {}}]}},
    {"container_spec": {"mounts": "data-alice--x:/data"}},
    {"container_spec": {"mounts": [mount("data-alice--x")["container_spec"]["mounts"][0]] * 17}},
    # images and commands
    {"container_spec": {"Image": "alpine"}}, {"container_spec": {"Image": "quay.io/jupyter/x"}},
    {"container_spec": {"Image": "quay.io/jupyter/base-notebook:2023-01"}},
    {"container_spec": {"Image": ["quay.io/jupyter/base-notebook:2024-05"]}},
    {"container_spec": {"args": ["bash", "-c", "id"]}}, {"container_spec": {"args": "bash -c id"}},
    {"container_spec": {"args": "start-singleuser.sh 'unbalanced"}},  # class 8: was a 500
    {"container_spec": {"args": 'start-singleuser.sh "x'}}, {"container_spec": {"args": [1]}},
    {"container_spec": {"User": "root"}}, {"container_spec": {"Privileged": True}},
    {"container_spec": {"env": ["X=1"]}}, {"container_spec": "x"},
    # class 6 and 7: limits and bounds
    {"resource_spec": {"cpu_limit": 0}}, {"resource_spec": {"mem_limit": 0}},
    {"resource_spec": {"cpu_limit": -(10**9)}}, {"resource_spec": {"mem_limit": -1}},
    {"resource_spec": {"cpu_limit": 1}}, {"resource_spec": {"mem_limit": 1024}},
    {"resource_spec": {"cpu_limit": 3 * 10**9}}, {"resource_spec": {"mem_limit": "5G"}},
    {"resource_spec": {"mem_limit": 10**400}},  # class 8: was a 500 (too large for a float)
    {"resource_spec": {"cpu_limit": 10**300}}, {"resource_spec": {"cpu_limit": "1"}},
    {"resource_spec": {"cpu_limit": True}}, {"resource_spec": {"mem_limit": "lots"}},
    {"resource_spec": {"mem_limit": [1]}}, {"resource_spec": {"gpu": 1}},
    {"resource_spec": {"cpu_reservation": 2 * 10**9}},  # above the admin's 1-core limit
    {"resource_spec": {"mem_reservation": "2G"}},  # above the admin's 1G limit
    {"resource_spec": {"cpu_limit": 10**9, "cpu_reservation": 2 * 10**9}},
    {"resource_spec": {"mem_limit": "1G", "mem_reservation": "2G"}},
    # placement, networks, names
    {"placement": ["node.role == manager"]}, {"placement": "node.labels.gpu == yes"},
    {"placement": ["node.labels.gpu == yes", "node.hostname == n1"]},
    {"network": ["ingress"]}, {"network": "extra-net"}, {"networks": ["hub-net", "other"]},
    {"network": ["extra-net"], "networks": ["extra-net"]},
    {"name": "../x"}, {"name": "UPPER"}, {"name": "a-b"}, {"name": "x" * 40}, {"name": ""},
    {"name": "a--b"}, {"name": 5}, {"name": "{username}"},
]


@pytest.mark.parametrize("user_options", LEGACY_REFUSED, ids=lambda o: repr(o)[:50])
def test_original_user_options_beyond_the_allowlists_are_400(spawner_factory, user_options):
    spawner = legacy(spawner_factory)
    error = refused(spawner, user_options)
    assert error.status_code == 400, error
    assert error.jupyterhub_message.startswith("user_options")
    assert spawner.image == "base:1" and spawner.mounts == []


@pytest.mark.parametrize("user_options, check", [
    (mount("data-alice--x"), lambda t: t["ContainerSpec"]["Mounts"][0]["Source"] == "data-alice--x"),
    (mount("/srv/datasets/climate", kind="bind"),
     lambda t: t["ContainerSpec"]["Mounts"][0]["ReadOnly"] is True),  # forced read-only
    ({"resource_spec": {"mem_reservation": "512M"}},
     lambda t: t["Resources"]["Reservations"]["MemoryBytes"] == 512 * 1024**2),
    ({"resource_spec": {"cpu_limit": 2 * 10**9, "cpu_reservation": 2 * 10**9}},
     lambda t: t["Resources"]["Limits"]["NanoCPUs"] == 2 * 10**9),
    ({"placement": ["node.labels.gpu==yes"]},
     lambda t: t["Placement"]["Constraints"] == ["node.labels.gpu==yes"]),
])
def test_valid_but_odd_requests_give_exactly_the_intended_spec(spawner_factory, user_options, check):
    spawner = legacy(spawner_factory)
    run(spawner._run_apply_user_options(user_options))
    assert check(make_service_spec(spawner.service_settings())["task_template"])


@pytest.mark.parametrize("pattern", [
    "data-{username}-*", "*-{username}", "*{username}--x", "?{username}", "[ab]{username}",
    "{username}{servername}", "data-{username:>9}", "data-{username!r}", "{username}-{value}",
])
def test_an_ambiguous_per_user_pattern_is_refused_when_the_hub_starts(spawner_factory, pattern):
    from traitlets import TraitError

    with pytest.raises(TraitError):
        spawner_factory(cls=LegacySpawner, config={"SwarmSpawner": {
            "user_options_allowed_mounts": [{"type": "volume", "source": pattern}]}})


# --- class 5: names no two (user, server) pairs share ---------------------------------

TRICKY_NAMES = [
    "", "1", "a", "b", "a-b", "a-b-1", "b-1", "alice", "Alice", "alice.", "alice-1", "alice-",
    "alice--1", "alice-admin", "alice.smith", "alice_smith", "alicex", "x-alice", "-",
    "--", "a--b", "ünï", "a" * 40, "a" * 41, "1234", "x-1234", "dr. who", "dr-who", "drwho",
]


def test_no_two_user_server_pairs_share_a_service_name():
    pairs = list(itertools.product([n for n in TRICKY_NAMES if n], TRICKY_NAMES))
    names = {}
    for user, server in pairs:
        name = slugs.service_name("jupyter", user, server)
        assert name not in names, f"{(user, server)} and {names[name]} share {name}"
        names[name] = (user, server)


def test_no_two_pairs_share_a_volume_name_from_a_valid_template():
    template = "home-{username}--{servername}"
    check_template(template)
    seen = {}
    for user, server in itertools.product([n for n in TRICKY_NAMES if n], TRICKY_NAMES):
        name = template.format(username=slugs.user_slug(user),
                               servername=slugs.safe_slug(server) if server else "")
        assert name not in seen, f"{(user, server)} and {seen[name]} share {name}"
        seen[name] = (user, server)


@pytest.mark.parametrize("user_a, server_a, user_b, server_b", [
    # Constructed: with a single '-' between user and server these met on one name.
    ("a", "b-1", "a-b", "1"), ("x", "y-z", "x-y", "z"), ("alice", "admin-1", "alice-admin", "1"),
    ("a", "b", "a-b", ""), ("a-b", "c", "a", "b-c"),
])
def test_constructed_collisions_do_not_collide(user_a, server_a, user_b, server_b):
    assert slugs.service_name("p", user_a, server_a) != slugs.service_name("p", user_b, server_b)


def test_escaped_names_carry_64_bits_of_hash():
    slug = slugs.user_slug("Alice")
    assert len(slug.rsplit("-", 1)[1]) == 16
    assert slugs.user_slug("alice") == "alice"  # simple names stay readable


@pytest.mark.parametrize("template", [
    "home-{username}-{servername}", "{username}-x", "x-{username}-", "{username}{value}",
    "{value}{username}", "{username:>5}", "{username!s}", "{servername}-{username}",
])
def test_ambiguous_templates_are_refused(template):
    with pytest.raises(SpecError):
        check_template(template)
