"""Profiles' images on the nodes that may run them before any user asks: the admin edits the
profiles file, runs `make sync`, and each image is on the nodes its placement allows; a
profile's first start pulls nothing.

Two images new to the cluster each run (a label of a random value gives a new image ID):
"course" may run on any worker, "one-node" only on one worker by its hostname (as a GPU
profile's image only on GPU nodes).
"""

import io
import os
import secrets
import subprocess
import time

import docker
import pytest

from tests.e2e.conftest import REPO, running_node, user_service

ARCHIVES = REPO / "lab" / "images"


def image_id(host, name):
    result = host.run(f"docker image inspect --format '{{{{.Id}}}}' {name}")
    return result.stdout.strip() if result.rc == 0 else None


def build(controller, name, base):
    """A new image under this name: the base with a label of a random value (a new ID)."""
    dockerfile = f"FROM {base}\nLABEL swarmspawner.e2e={secrets.token_hex(4)}\n"
    image, _ = controller.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=name, rm=True)
    return image.id


def sync(env_file, inventory):
    """The admin's command after editing the .env or the profiles file."""
    result = subprocess.run(
        ["make", "--no-print-directory", "sync", f"ENV={env_file}", f"LAB_INVENTORY={inventory}"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def profiles(env, env_path, inventory, workers, node_host):
    """The two new images built here, absent from every node; the profiles file naming them
    deployed with `make sync`; afterwards the lab's own .env synced back."""
    controller = docker.from_env()
    tag = secrets.token_hex(4)
    built = {}
    for kind in ("course", "one-node"):
        name = f"swarmspawner/e2e-{kind}:{tag}"
        built[kind] = (name, build(controller, name, env.SINGLEUSER_IMAGE))
    one_node = sorted(workers)[0]
    hostname = node_host(one_node).check_output("hostname")
    (env_path.parent / "profiles-e2e.yaml").write_text(f"""\
- display_name: Course
  slug: course
  default: true
  spawner_override: {{image: "{built['course'][0]}"}}
- display_name: One node only
  slug: one-node
  spawner_override:
    image: "{built['one-node'][0]}"
    placement_constraints: ["node.hostname == {hostname}"]
""")
    with_profiles = env_path.parent / ".env.profiles"
    with_profiles.write_text(env_path.read_text() + "PROFILES_FILE=profiles-e2e.yaml\n")
    os.chmod(with_profiles, 0o600)
    before = {(name, kind): image_id(node_host(name), built[kind][0])
              for name in [*workers] for kind in built}
    started = time.monotonic()
    sync(with_profiles, inventory)
    print(f"\nmake sync with the profiles file: {time.monotonic() - started:.0f} s")
    yield {"built": built, "one_node": one_node, "hostname": hostname, "before": before,
           "env": with_profiles, "controller": controller}
    sync(env_path, inventory)
    for name, _ in built.values():
        controller.images.remove(name)
        (ARCHIVES / (name.replace("/", "_").replace(":", "_") + ".tar")).unlink(missing_ok=True)


def test_each_profile_image_is_on_the_nodes_that_may_run_it(profiles, workers, manager, node_host):
    built = profiles["built"]
    assert set(profiles["before"].values()) == {None}, "the images were on a node before the sync"
    for name in workers:
        host = node_host(name)
        assert image_id(host, built["course"][0]) == built["course"][1], name
        wanted = built["one-node"][1] if name == profiles["one_node"] else None
        assert image_id(host, built["one-node"][0]) == wanted, name
    # The first manager holds every image: the deploy there names them by their IDs.
    for name, wanted in built.values():
        assert image_id(manager, name) == wanted


@pytest.mark.parametrize("profile", ["course", "one-node"])
def test_a_profile_s_first_start_pulls_nothing(profiles, profile, hub_user, swarm, env,
                                               node_host):
    name, wanted = profiles["built"][profile]
    since = int(time.time()) - 1
    hub_user.start(user_options={"profile": profile})
    service = user_service(swarm, env, hub_user.name)
    spec = swarm.json(f"service inspect {service}")[0]["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"] == wanted, f"{service} names {spec['Image']}, not {name}'s ID"
    node = running_node(swarm, service)
    if profile == "one-node":
        assert node == profiles["hostname"]
    host = node_host(node)
    pulls = host.check_output(
        f"docker events --since {since} --until {int(time.time())} --filter type=image"
        " --filter event=pull --format '{{.Actor.ID}}'")
    assert pulls == "", f"{node} pulled {pulls} for the first start of {profile}"
    response = hub_user.contents("GET", "")
    assert response.status_code == 200, response.text
    print(f"\n{profile}: started on {node} from {wanted[:19]} with no pull")


def test_an_image_rebuilt_under_its_name_replaces_it_at_the_next_sync(profiles, env, inventory,
                                                                     workers, manager, node_host,
                                                                     hub_user, swarm):
    """Day 2: the admin rebuilds the course's image under the same name and runs make sync."""
    name, old = profiles["built"]["course"]
    new = build(profiles["controller"], name, env.SINGLEUSER_IMAGE)
    assert new != old
    sync(profiles["env"], inventory)
    for host in [*(node_host(w) for w in workers), manager]:
        assert image_id(host, name) == new
    hub_user.start(user_options={"profile": "course"})
    service = user_service(swarm, env, hub_user.name)
    spec = swarm.json(f"service inspect {service}")[0]["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"] == new
