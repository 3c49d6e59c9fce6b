"""The profiles file: parsed, checked with file, line and field, filtered by group."""

import json
import textwrap

import pytest

from swarmspawner.profiles import load_profiles
from swarmspawner_deploy import profilesfile
from swarmspawner_deploy.envfile import EnvError, load
from swarmspawner_deploy.envfile import main as envfile_main

GOOD = """\
# Three profiles for everyone, one for the gpu group.
- display_name: Small (1 CPU, 2 GB)
  slug: small
  default: true
  spawner_override: {cpu_limit: 1, mem_limit: 2G}
- display_name: Large
  slug: large
  spawner_override:
    cpu_limit: 2
    mem_limit: 8g
    mem_guarantee: 1G
    environment: {SIZE: large}
- display_name: R
  slug: r
  profile_options:
    version:
      display_name: Version
      choices:
        "4.4": {display_name: R 4.4, spawner_override: {image: "example/r:4.4"}}
- display_name: GPU
  slug: gpu
  groups: [gpu-users]
  spawner_override:
    image: example/gpu:1
    generic_resources: {gpu: 1}
    placement_constraints: ["node.labels.gpu == yes"]
    mounts:
      - {type: volume, source: "gpu-cache-{username}", target: /cache}
"""


def write(tmp_path, text, name="profiles.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_gives_the_profiles_each_group_sees(tmp_path):
    profiles = profilesfile.load(write(tmp_path, GOOD))
    everyone = profilesfile.for_groups(profiles, set())
    assert [p["slug"] for p in everyone] == ["small", "large", "r"]
    members = profilesfile.for_groups(profiles, {"gpu-users", "other"})
    assert [p["slug"] for p in members] == ["small", "large", "r", "gpu"]
    assert all("groups" not in p for p in members)
    assert [p.slug for p in load_profiles(members)] == ["small", "large", "r", "gpu"]


@pytest.mark.parametrize("text, expected", [
    ("- display_name: A\n  spawner_override: {mem_limit: [\n", "line 3: not valid YAML"),
    ("- display_name: A\n  colour: red\n", "has unknown keys ['colour']"),
    ("- display_name: A\n  spawner_override:\n    mem_limit: lots\n",
     "line 3: profile 'A'.spawner_override.mem_limit = 'lots'"),
    ("- display_name: A\n  spawner_override:\n    mem_limit: 0\n",
     "line 3: profile 'A'.spawner_override.mem_limit = 0: mem_limit must be at least 6M"),
    ("- display_name: A\n\n  spawner_override:\n    cpu_limit: 0\n", "line 4:"),
    ("- display_name: A\n  spawner_override:\n    hub_id: other\n",
     "line 3: profile 'A'.spawner_override.hub_id is not a setting a profile can set"),
    ("- display_name: A\n  groups: gpu\n", "line 2: profile 'A'.groups must be a list"),
    ("- display_name: A\n  spawner_override:\n    mounts:\n      - {type: volume, source: "
     "'d-{username}-x', target: /d}\n", "line 3: profile 'A'.spawner_override.mounts"),
    ("- display_name: A\n  profile_options:\n    v:\n      choices:\n        x:\n"
     "          spawner_override: {mem_limit: 2 GB of RAM}\n",
     "line 6: profile 'A'.v.x.spawner_override.mem_limit"),
    ("small: {}\n", "line 1: the file must be a list of profiles"),
])
def test_a_broken_file_names_the_file_the_line_and_the_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(profilesfile.ProfilesFileError) as info:
        profilesfile.load(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value), str(info.value)


def test_the_env_check_refuses_a_broken_profiles_file(tmp_path):
    write(tmp_path, "- display_name: A\n  spawner_override:\n    mem_limit: lots\n")
    (tmp_path / "pw").write_text("x\n")
    env = tmp_path / ".env"
    env.write_text("PROFILES_FILE=profiles.yaml\nDUMMY_PASSWORD_FILE=pw\n")
    with pytest.raises(EnvError) as info:
        load(str(env))
    assert "PROFILES_FILE: " in str(info.value) and "line 3" in str(info.value)
    write(tmp_path, GOOD)
    assert load(str(env)).PROFILES_FILE == "profiles.yaml"


def test_every_image_is_listed_with_the_placements_it_runs_under(tmp_path):
    profiles = profilesfile.load(write(tmp_path, GOOD + """\
- display_name: Pick
  slug: pick
  spawner_override: {placement_constraints: ["node.labels.big == yes"]}
  profile_options:
    image:
      choices:
        gpu: {spawner_override: {image: example/gpu:1}}
        same: {spawner_override: {mem_limit: 1G}}
      unlisted_choice:
        enabled: true
        spawner_override: {image: "example/any:{value}"}
"""))
    images = profilesfile.server_images(profiles, "example/notebook:1", ["node.role == worker"])
    assert images == [
        {"name": "example/notebook:1",
         "placements": [["node.role == worker"], ["node.labels.big == yes"]]},
        {"name": "example/r:4.4", "placements": [["node.role == worker"]]},
        {"name": "example/gpu:1",
         "placements": [["node.labels.gpu == yes"], ["node.labels.big == yes"]]},
    ]


def test_pinned_profiles_name_their_images_by_id_and_nothing_else_changes(tmp_path):
    profiles = profilesfile.load(write(tmp_path, GOOD))
    refs = {"example/gpu:1": "sha256:" + "a" * 64, "example/r:4.4": "sha256:" + "b" * 64}
    pinned = profilesfile.pin_images(profiles, refs)
    assert pinned[3]["spawner_override"]["image"] == refs["example/gpu:1"]
    choice = pinned[2]["profile_options"]["version"]["choices"]["4.4"]
    assert choice["spawner_override"]["image"] == refs["example/r:4.4"]
    assert pinned[:2] == profiles[:2]
    assert profiles[3]["spawner_override"]["image"] == "example/gpu:1"  # the input is kept
    assert [p.slug for p in load_profiles(profilesfile.for_groups(pinned, None))] == [
        "small", "large", "r", "gpu"]


def test_a_placement_the_swarm_would_refuse_is_named_with_its_line(tmp_path):
    path = write(tmp_path, "- display_name: A\n  spawner_override:\n"
                           "    placement_constraints: ['node.colour == red']\n")
    with pytest.raises(profilesfile.ProfilesFileError, match="line 3: .*placement_constraints"):
        profilesfile.load(path)


def test_the_env_json_lists_every_image_for_the_playbook(tmp_path, capsys):
    write(tmp_path, GOOD)
    (tmp_path / "pw").write_text("lab-password\n")
    env = tmp_path / ".env"
    env.write_text("PROFILES_FILE=profiles.yaml\nDUMMY_PASSWORD_FILE=pw\nAUTHENTICATOR=dummy\n"
                   "SINGLEUSER_IMAGE=example/notebook:1\nPLACEMENT_CONSTRAINTS=node.role == worker\n")
    assert envfile_main(["json", str(env)]) == 0
    images = json.loads(capsys.readouterr().out)["IMAGES"]
    assert [(i["name"], i["placements"]) for i in images] == [
        ("swarmspawner/hub:latest", [["node.role == manager"]]),
        ("example/notebook:1", [["node.role == worker"]]),
        ("example/r:4.4", [["node.role == worker"]]),
        ("example/gpu:1", [["node.labels.gpu == yes"]]),
    ]
