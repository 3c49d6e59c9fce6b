"""Profiles: the admin's list, the user's pick, the form and the spawner's hooks."""

import asyncio
import re

import pytest
from tornado import web

from swarmspawner.form import render_form
from swarmspawner.objects import make_service_spec
from swarmspawner.options import MAX_BYTES, UserOptionsError, check_shape
from swarmspawner.profiles import (
    ProfileConfigError,
    form_to_user_options,
    load_profiles,
    resolve,
)

PROFILES = [
    {
        "display_name": "Small (1 CPU, 2 GB)",
        "description": "For notebooks & light work.",
        "default": True,
        "spawner_override": {"cpu_limit": 1, "mem_limit": "2G"},
    },
    {
        "display_name": "GPU",
        "slug": "gpu",
        "kubespawner_override": {
            "image": "registry.example/gpu-notebook:1",
            "generic_resources": {"gpu": 1},
            "placement_constraints": ["node.labels.gpu == yes"],
            "environment": {"NVIDIA_VISIBLE_DEVICES": "all"},
        },
        "profile_options": {
            "image": {
                "display_name": "Image",
                "choices": {
                    "torch": {"display_name": "PyTorch", "default": True,
                              "spawner_override": {"image": "registry.example/torch:2"}},
                    "tf": {"display_name": "TensorFlow",
                           "spawner_override": {"image": "registry.example/tf:2"}},
                },
                "unlisted_choice": {
                    "enabled": True,
                    "display_name": "Other torch tag",
                    "validation_regex": r"[0-9]+(\.[0-9]+)*",
                    "spawner_override": {"image": "registry.example/torch:{value}"},
                },
            },
            "size": {
                "display_name": "Memory",
                "choices": {
                    "8g": {"display_name": "8 GB", "spawner_override": {"mem_limit": "8G"}},
                    "16g": {"display_name": "16 GB", "default": True,
                            "spawner_override": {"mem_limit": "16G",
                                                 "environment": {"SIZE": "16"}}},
                },
            },
        },
    },
]


@pytest.fixture
def profiles():
    return load_profiles(PROFILES)


# --- the admin's list -------------------------------------------------------------


def test_slugs_defaults_and_aliases(profiles):
    small, gpu = profiles
    assert small.slug == "small-1-cpu-2-gb"
    assert small.default
    assert gpu.overrides["image"] == "registry.example/gpu-notebook:1"
    assert gpu.options["size"].default_choice.key == "16g"
    assert gpu.options["image"].unlisted.regex.pattern == r"[0-9]+(\.[0-9]+)*"


@pytest.mark.parametrize(
    "profile_list, message",
    [
        ("small", "must be a list"),
        ([{"display_name": "A"}, {"display_name": "a"}], "several profiles"),
        ([{"display_name": "A", "default": True}, {"slug": "b", "default": True}], "more than one"),
        ([{"display_name": "A", "overrides": {}}], "unknown keys"),
        ([{"display_name": "A", "spawner_override": {}, "kubespawner_override": {}}], "both"),
        ([{"display_name": "A", "profile_options": {"x": {"choices": {}}}}], "no choices"),
        ([{"display_name": "A", "profile_options": {"profile": {"choices": {"a": {}}}}}],
         "reserved"),
        ([{"display_name": "A", "profile_options": {"a--b": {"choices": {"a": {}}}}}],
         "option names"),
        ([{"display_name": "A", "profile_options": {"x": {"unlisted_choice": {
            "enabled": True, "validation_regex": "("}}}}], "invalid"),
    ],
)
def test_a_bad_profile_list_is_the_admins_error(profile_list, message):
    with pytest.raises(ProfileConfigError, match=message):
        load_profiles(profile_list)


# --- the user's pick --------------------------------------------------------------


def test_no_options_gives_the_default_profile(profiles):
    profile, overrides = resolve(profiles, {})
    assert profile.slug == "small-1-cpu-2-gb"
    assert overrides == {"cpu_limit": 1, "mem_limit": "2G"}


def test_profile_then_option_overrides_merge(profiles):
    profile, overrides = resolve(profiles, {"profile": "gpu", "image": "tf", "size": "16g"})
    assert profile.slug == "gpu"
    assert overrides["image"] == "registry.example/tf:2"
    assert overrides["mem_limit"] == "16G"
    assert overrides["placement_constraints"] == ["node.labels.gpu == yes"]
    # Dicts merge: the profile's environment and the option's.
    assert overrides["environment"] == {"NVIDIA_VISIBLE_DEVICES": "all", "SIZE": "16"}


def test_default_choices_apply_when_options_are_missing(profiles):
    _, overrides = resolve(profiles, {"profile": "gpu"})
    assert overrides["image"] == "registry.example/torch:2"
    assert overrides["mem_limit"] == "16G"


def test_unlisted_choice_fills_value(profiles):
    _, overrides = resolve(profiles, {"profile": "gpu", "image--unlisted-choice": "2.3.1"})
    assert overrides["image"] == "registry.example/torch:2.3.1"


def test_override_values_do_not_leak_between_resolutions(profiles):
    _, first = resolve(profiles, {"profile": "gpu"})
    first["environment"]["X"] = "1"
    _, second = resolve(profiles, {"profile": "gpu"})
    assert "X" not in second["environment"]


@pytest.mark.parametrize(
    "user_options, field",
    [
        ({"profile": "huge"}, "'profile'"),
        ({"profile": ["gpu"]}, "'profile'"),
        ({"profile": {"$ne": "x"}}, "'profile'"),
        ({"profile": 7}, "'profile'"),
        ({"profile": "gpu", "image": "alpine"}, "'image'"),
        ({"profile": "gpu", "image": None}, "'image'"),
        ({"profile": "gpu", "size": "1T"}, "'size'"),
        ({"profile": "gpu", "size--unlisted-choice": "1T"}, "'size--unlisted-choice'"),
        ({"profile": "gpu", "cpu_limit": 10000}, "'cpu_limit'"),
        ({"profile": "gpu", "image--unlisted-choice": "latest"}, "'image--unlisted-choice'"),
        ({"profile": "gpu", "image--unlisted-choice": "2; rm -rf /"}, "'image--unlisted-choice'"),
        ({"profile": "gpu", "image--unlisted-choice": "2\n"}, "'image--unlisted-choice'"),
        ({"profile": "gpu", "image--unlisted-choice": "1" * 300}, "'image--unlisted-choice'"),
        ({"profile": "gpu", "image--unlisted-choice": ""}, "'image--unlisted-choice'"),
        ({"profile": "gpu", "image": "tf", "image--unlisted-choice": "2"}, "'image'"),
        ({"image": "tf"}, "'image'"),  # an option of another profile than the default
        ({"container_spec": {"Image": "alpine"}}, "'container_spec'"),
        ({"image": "x" * 100_000}, "bytes"),
    ],
)
def test_anything_not_offered_is_refused_naming_the_field(profiles, user_options, field):
    with pytest.raises(UserOptionsError) as info:
        resolve(profiles, user_options)
    assert field in str(info.value)


def test_validation_message_replaces_the_regex():
    profiles = load_profiles([{"display_name": "A", "profile_options": {"tag": {
        "unlisted_choice": {"enabled": True, "validation_regex": "[a-z]+",
                            "validation_message": "lowercase letters only"}}}}])
    with pytest.raises(UserOptionsError, match="lowercase letters only"):
        resolve(profiles, {"tag--unlisted-choice": "ABC"})


def test_without_profiles_only_empty_options_pass():
    assert resolve([], {}) == (None, {})
    with pytest.raises(UserOptionsError, match="'image'.*no choices"):
        resolve([], {"image": "alpine"})


@pytest.mark.parametrize(
    "user_options, message",
    [
        (["profile", "gpu"], "must be a JSON object"),
        ("gpu", "must be a JSON object"),
        (None, "must be a JSON object"),
        ({1: "a"}, "field names must be strings"),
        ({("a",): "b"}, "field names must be strings"),
        ({f"k{i}": i for i in range(100)}, "at most 32"),
        ({"k" * 1000: 1}, "longer than"),
        ({"a": b"bytes"}, "plain JSON"),
        ({"a": float("nan")}, "plain JSON"),
        ({"a": object()}, "plain JSON"),
        ({"a": "x" * (MAX_BYTES + 1)}, "bytes of JSON"),
    ],
)
def test_shape_of_user_options(user_options, message):
    with pytest.raises(UserOptionsError, match=message):
        check_shape(user_options)


def test_deep_nesting_is_refused():
    deep = []
    for _ in range(10):
        deep = [deep]
    with pytest.raises(UserOptionsError, match="nested"):
        check_shape({"a": deep})
    very_deep = []
    for _ in range(5000):
        very_deep = [very_deep]
    with pytest.raises(UserOptionsError):
        check_shape({"a": very_deep})


# --- the form ---------------------------------------------------------------------


def test_form_renders_profiles_options_and_escapes(profiles):
    html = render_form(profiles)
    assert 'type="radio" name="profile"' in html
    assert 'value="small-1-cpu-2-gb" checked' in html
    assert "For notebooks &amp; light work." in html
    assert 'name="profile-option-gpu--image"' in html
    assert re.search(r'<option value="16g"\s+selected>16 GB</option>', html)
    assert 'name="profile-option-gpu--image--unlisted-choice"' in html
    assert '<option value="--unlisted-choice">Other torch tag (type below)</option>' in html
    assert "<script" not in html  # works without JavaScript
    assert 'class="form-select"' in html and 'class="form-check-input"' in html


def test_form_escapes_hostile_display_names():
    profiles = load_profiles([{"display_name": "<script>alert(1)</script>", "slug": "x",
                               "description": '"><img src=x onerror=alert(1)>'}])
    html = render_form(profiles)
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_form_preselects_the_previous_profile(profiles):
    html = render_form(profiles, previous={"profile": "gpu"})
    assert 'value="gpu" checked' in html
    assert 'value="small-1-cpu-2-gb" checked' not in html
    # Garbage from an old spawn falls back to the default.
    html = render_form(profiles, previous={"profile": ["x"]})
    assert 'value="small-1-cpu-2-gb" checked' in html


def test_form_preselects_previous_choices_and_text(profiles):
    html = render_form(profiles, previous={"profile": "gpu", "size": "8g",
                                           "image--unlisted-choice": '"><b>x'})
    assert re.search(r'<option value="8g"\s+selected>', html)
    assert not re.search(r'<option value="16g"\s+selected>', html)
    assert re.search(r'<option value="--unlisted-choice"\s+selected>', html)
    assert 'value="&#34;&gt;&lt;b&gt;x"' in html
    # Values of the wrong type are ignored, not rendered.
    html = render_form(profiles, previous={"profile": "gpu", "size": ["8g"],
                                           "image--unlisted-choice": 5})
    assert re.search(r'<option value="16g"\s+selected>', html)


def test_a_refused_form_comes_back_as_the_user_left_it(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    with pytest.raises(web.HTTPError):
        run(spawner.run_options_from_form({
            "profile": ["gpu"], "profile-option-gpu--size": ["8g"],
            "profile-option-gpu--image": ["--unlisted-choice"],
            "profile-option-gpu--image--unlisted-choice": ["nope"]}))
    html = run(spawner.get_options_form())
    assert 'value="gpu" checked' in html
    assert re.search(r'<option value="8g"\s+selected>', html)
    assert 'value="nope"' in html
    # Only once: the next form starts from the last spawn's options again.
    assert 'value="small-1-cpu-2-gb" checked' in run(spawner.get_options_form())


def test_form_data_becomes_user_options_of_the_chosen_profile_only(profiles):
    form = {
        "profile": ["gpu"],
        "profile-option-gpu--image": ["tf"],
        "profile-option-gpu--image--unlisted-choice": ["ignored"],
        "profile-option-gpu--size": ["8g"],
        "profile-option-other--x": ["y"],
        "_xsrf": ["token"],
    }
    assert form_to_user_options(profiles, form) == {
        "profile": "gpu", "image": "tf", "size": "8g"}
    form["profile-option-gpu--image"] = ["--unlisted-choice"]
    form["profile-option-gpu--image--unlisted-choice"] = [" 2.1 "]
    assert form_to_user_options(profiles, form) == {
        "profile": "gpu", "image--unlisted-choice": "2.1", "size": "8g"}
    assert form_to_user_options(profiles, {}) == {}
    assert form_to_user_options(profiles, {"profile": ["nope"]}) == {"profile": "nope"}


# --- the spawner's hooks ----------------------------------------------------------


def run(coro):
    return asyncio.run(coro)


def gpu_spawner(spawner_factory, **config):
    return spawner_factory(config={"SwarmSpawner": {
        "profile_list": PROFILES, "networks": ["net"], "image": "base:1",
        "environment": {"BASE": "1"}, **config}})


def test_spawner_applies_a_profile_to_its_service(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    run(spawner._run_apply_user_options({"profile": "gpu", "size": "8g"}))
    spec = make_service_spec(spawner.service_settings())
    task = spec["task_template"]
    assert task["ContainerSpec"]["Image"] == "registry.example/torch:2"
    assert task["Resources"]["Limits"]["MemoryBytes"] == 8 * 1024**3
    assert task["Resources"]["Reservations"]["GenericResources"] == [
        {"DiscreteResourceSpec": {"Kind": "gpu", "Value": 1}}]
    assert task["Placement"]["Constraints"] == ["node.labels.gpu == yes"]
    env = task["ContainerSpec"]["Env"]
    assert "BASE=1" in env and "NVIDIA_VISIBLE_DEVICES=all" in env


def test_next_spawn_starts_from_the_admins_settings(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    run(spawner._run_apply_user_options({"profile": "gpu"}))
    assert spawner.image == "registry.example/torch:2"
    run(spawner._run_apply_user_options({"profile": "small-1-cpu-2-gb"}))
    assert spawner.image == "base:1"
    assert spawner.placement_constraints == []
    assert spawner.generic_resources == {}
    assert spawner.environment == {"BASE": "1"}
    assert spawner.mem_limit == 2 * 1024**3


def test_bad_options_are_an_http_400_naming_the_field(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    with pytest.raises(web.HTTPError) as info:
        run(spawner._run_apply_user_options({"profile": "gpu", "image": "alpine"}))
    assert info.value.status_code == 400
    assert "'image'" in info.value.jupyterhub_message
    assert spawner.image == "base:1"  # nothing applied


def test_percent_in_a_message_does_not_break_tornado(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    with pytest.raises(web.HTTPError) as info:
        run(spawner._run_apply_user_options({"profile": "%s%d"}))
    assert "%s%d" in info.value.get_message()
    assert "%s%d" in str(info.value)


def test_callable_profile_list_sync_and_async(spawner_factory):
    def by_name(spawner):
        return PROFILES if spawner.user.name == "alice" else PROFILES[:1]

    async def async_by_name(spawner):
        return by_name(spawner)

    for hook in (by_name, async_by_name):
        alice = spawner_factory(config={"SwarmSpawner": {"profile_list": hook}})
        bob = spawner_factory(config={"SwarmSpawner": {"profile_list": hook}}, username="bob")
        run(alice._run_apply_user_options({"profile": "gpu"}))
        with pytest.raises(web.HTTPError):
            run(bob._run_apply_user_options({"profile": "gpu"}))
        assert "gpu" in run(alice.get_options_form())
        assert "gpu" not in run(bob.get_options_form())


def test_no_profiles_means_no_form_and_no_options(spawner_factory):
    spawner = spawner_factory()
    assert run(spawner.get_options_form()) == ""
    run(spawner._run_apply_user_options({}))
    with pytest.raises(web.HTTPError):
        run(spawner._run_apply_user_options({"image": "alpine"}))


def test_options_from_form_checks_before_the_spawn(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    options = run(spawner.run_options_from_form(
        {"profile": ["gpu"], "profile-option-gpu--size": ["8g"]}))
    assert options == {"profile": "gpu", "size": "8g"}
    with pytest.raises(web.HTTPError) as info:
        run(spawner.run_options_from_form({
            "profile": ["gpu"], "profile-option-gpu--image": ["--unlisted-choice"],
            "profile-option-gpu--image--unlisted-choice": ["../../evil"]}))
    assert info.value.status_code == 400
    assert "image--unlisted-choice" in info.value.jupyterhub_message


def test_a_profile_may_not_touch_identity_or_unknown_settings(spawner_factory):
    for override in ({"hub_id": "other"}, {"service_id": "x"}, {"no_such_setting": 1},
                     {"cpu_limit": "lots"}):
        spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": [
            {"display_name": "A", "spawner_override": override}]}})
        with pytest.raises(web.HTTPError) as info:
            run(spawner._run_apply_user_options({}))
        assert info.value.status_code == 500
    assert spawner.cpu_limit is None


def test_callable_override_values(spawner_factory):
    spawner = spawner_factory(config={"SwarmSpawner": {"profile_list": [
        {"display_name": "A", "spawner_override": {
            "environment": lambda s: {"WHO": s.user.name}}}]}})
    run(spawner._run_apply_user_options({}))
    assert spawner.environment["WHO"] == "alice"


def test_admins_own_hook_gets_the_unknown_fields(spawner_factory):
    seen = {}

    def hook(spawner, user_options):
        seen.update(user_options)

    spawner = gpu_spawner(spawner_factory, apply_user_options=hook)
    run(spawner._run_apply_user_options({"profile": "gpu", "custom": 1}))
    assert seen == {"profile": "gpu", "custom": 1}
    assert spawner.image == "registry.example/torch:2"


def test_start_applies_options_if_the_hub_did_not(spawner_factory):
    spawner = gpu_spawner(spawner_factory)
    spawner.user_options = {"profile": "nope"}
    with pytest.raises(web.HTTPError) as info:
        run(spawner.start())
    assert info.value.status_code == 400
