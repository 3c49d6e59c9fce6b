"""The deployable stack, driven as an admin and a user would: the env file, the deploy
command, and then only the public port."""

import json
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import docker
import pytest
import requests

from tests.support.user import HubUser
from tests.support.wait import wait_for as _wait_for

# Through the public port, while the stack may still be (re)starting.
wait_for = partial(_wait_for, timeout=120, ignore=(requests.RequestException,))

pytestmark = pytest.mark.integration

PORT = 18000 + secrets.randbelow(1000)


def stack_cmd(*args, check=True):
    """The admin's deploy command, swarmspawner-stack, as installed with the package."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "swarmspawner-stack"), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


# Three profiles for everyone (the default one keeps the .env's settings) and one for a group.
PROFILES_FILE = """\
- display_name: Standard
  slug: standard
  default: true
- display_name: Large
  slug: large
  spawner_override: {mem_limit: 1G, cpu_limit: 1}
- display_name: Tagged
  slug: tagged
  spawner_override: {environment: {FLAVOUR: tagged}}
- display_name: Staff
  slug: staff
  groups: [staff]
  spawner_override:
    mem_limit: 600m
    cpu_limit: 0.25
    mem_guarantee: 32M
    placement_constraints: ["node.role == manager"]
"""


def write_env(path, **values):
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, docker_client):
    folder = tmp_path_factory.mktemp("stack")
    name = "ssstack" + secrets.token_hex(2)
    password = secrets.token_hex(8)
    (folder / "lab-password").write_text(password + "\n")
    (folder / "profiles.yaml").write_text(PROFILES_FILE)
    # A group, as an authenticator or an admin would make it.
    (folder / "extra.py").write_text('c.JupyterHub.load_groups = {"staff": {"users": ["erin"]}}\n')
    values = dict(
        STACK_NAME=name,
        PUBLIC_PORT=PORT,
        NETWORK_NAME=f"{name}-net",
        HUB_DATA_VOLUME=f"{name}-data",
        PIN_LOCAL_IMAGES="true",
        # The proxy's own port, as behind an admin's TLS terminator (the edge, HTTPS and the
        # logins: test_front_door.py; through the edge on the lab: tests/e2e).
        TLS="off",
        AUTHENTICATOR="dummy",
        DUMMY_PASSWORD_FILE="lab-password",
        USER_VOLUME=f"{name}-user-{{username}}",
        # Shared storage, as a single node has it: a folder (the playbook mounts one on a cluster).
        USER_STORAGE="shared",
        USER_STORAGE_PATH=str(folder / "users"),
        MEM_LIMIT="512M",
        CPU_LIMIT="0.5",
        POLL_INTERVAL="5",
        PROFILES_FILE="profiles.yaml",
        HUB_EXTRA_CONFIG="extra.py",
        OVERLAY_ENCRYPTED="true",
        # The stack's own PostgreSQL (the lab's e2e runs the default, SQLite on the hub's volume).
        DB_SERVICE="postgres",
    )
    env = folder / ".env"
    write_env(env, **values)
    stack_cmd("deploy", "--env", str(env), "--wait")
    yield {"env": env, "values": values, "name": name, "password": password,
           "url": f"http://127.0.0.1:{PORT}"}
    stack_cmd("remove", "--env", str(env), "--volumes", check=False)


def server_service(client, stack, user):
    found = client.services.list(filters={"label": f"swarmspawner.hub={stack}"})
    found = [s for s in found if s.attrs["Spec"]["Labels"]["swarmspawner.user"] == user]
    return found[0] if found else None


def test_files_survive_a_stop_and_start(deployment):
    user = HubUser(deployment["url"], "alice", deployment["password"])
    user.start()
    # At the root of JupyterLab's file browser, and in a folder made there.
    for path, body in (("thesis.txt", {"type": "file", "format": "text", "content": "kept"}),
                       ("work", {"type": "directory"}),
                       ("work/notes.txt", {"type": "file", "format": "text", "content": "too"})):
        response = user.contents("PUT", path, json=body)
        assert response.status_code == 201, response.text
    user.stop()
    user.start()
    assert user.contents("GET", "thesis.txt").json()["content"] == "kept"
    assert user.contents("GET", "work/notes.txt").json()["content"] == "too"
    user.stop()


def test_an_admin_sees_where_each_users_files_are(deployment):
    listing = json.loads(stack_cmd("userdata", "--env", str(deployment["env"]), "--json").stdout)
    alice = next(row for row in listing if row["user"] == "alice")
    home = Path(deployment["values"]["USER_STORAGE_PATH"]) / "alice"
    assert alice == {"user": "alice", "storage": "shared", "directory": str(home),
                     "owner": "1000:100", "mode": "0o700"}
    assert (home / "thesis.txt").read_text() == "kept"


def test_hub_restart_keeps_servers(deployment, docker_client):
    stack = deployment["name"]
    user = HubUser(deployment["url"], "bob", deployment["password"])
    user.start()
    before = server_service(docker_client, stack, "bob").id
    hub = docker_client.services.get(f"{stack}_hub")
    old_tasks = {t["ID"] for t in hub.tasks()}
    subprocess.run(["docker", "service", "update", "--force", "--detach", f"{stack}_hub"],
                   check=True, capture_output=True)
    assert wait_for(lambda: any(
        t["ID"] not in old_tasks and t["Status"]["State"] == "running" for t in hub.tasks()
    ))
    assert wait_for(lambda: requests.get(deployment["url"] + "/hub/health").status_code == 200)
    # The hub knows the server, which kept running, and the user still reaches it.
    assert wait_for(lambda: user.server_model()["ready"])
    assert wait_for(lambda: user.contents("GET", "").status_code == 200, timeout=60)
    assert server_service(docker_client, stack, "bob").id == before
    user.stop()


def in_db(docker_client, stack, sql):
    """Rows of a query, run in the database's container as the hub's role."""
    container = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={stack}_db"})[0]
    result = container.exec_run(["sh", "-c", 'PGPASSWORD="$(cat /run/secrets/db_password)" psql'
                                 f" -h 127.0.0.1 -U jupyterhub -d jupyterhub -tA -c '{sql}'"])
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode().split()


def test_the_hub_keeps_its_users_in_the_stacks_postgresql(deployment, docker_client):
    """DB_SERVICE=postgres: users are rows of the stack's database, whose password is nowhere
    but its secret; the hub carries on through a restart of the database."""
    stack = deployment["name"]
    assert {"alice", "bob"} <= set(in_db(docker_client, stack, "SELECT name FROM users"))
    password = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={stack}_db"})[0].exec_run(
        ["cat", "/run/secrets/db_password"]).output.decode().strip()
    assert len(password) == 64
    specs = json.dumps([s.attrs for s in docker_client.services.list(
        filters={"label": f"com.docker.stack.namespace={stack}"})])
    assert f"{stack}_db_password" in specs and password not in specs
    db = docker_client.services.get(f"{stack}_db")
    old_tasks = {t["ID"] for t in db.tasks()}
    started = time.monotonic()
    subprocess.run(["docker", "service", "update", "--force", "--detach", f"{stack}_db"],
                   check=True, capture_output=True)
    assert wait_for(lambda: any(
        t["ID"] not in old_tasks and t["Status"]["State"] == "running" for t in db.tasks()))
    back = time.monotonic() - started

    def logged_in():
        try:
            return HubUser(deployment["url"], "ed", deployment["password"])
        except AssertionError:  # HTTP 500 while the database is away
            return None

    # While it is away the hub answers 500; once it is back, the hub's first use of its old
    # connection fails once, and every later one works.
    user = wait_for(logged_in, timeout=60, interval=0.5)
    print(f"\nstack: the database ran again {back:.1f} s after its restart began; logins worked"
          f" again after {time.monotonic() - started:.1f} s")
    assert user
    # Kept on its volume, and used again at once: the user starts a server.
    user.start()
    assert "ed" in in_db(docker_client, stack, "SELECT name FROM users")
    user.stop()


def test_a_proxy_restart_costs_running_servers_seconds(deployment, docker_client):
    """Servers reach the hub at the proxy's node and port, which outlive the proxy's task, and
    the hub puts the new proxy's routes back within seconds."""
    stack = deployment["name"]
    user = HubUser(deployment["url"], "pia", deployment["password"])
    user.start()
    before = server_service(docker_client, stack, "pia").id
    env = server_service(docker_client, stack, "pia").attrs["Spec"]["TaskTemplate"][
        "ContainerSpec"]["Env"]
    assert f"JUPYTERHUB_API_URL=http://172.18.0.1:{PORT}/hub/api" in env  # single node: gwbridge

    def fresh_login():
        try:
            token = user._make_token()  # a token the server has never seen: it asks the hub
            return requests.get(f"{deployment['url']}/user/pia/api", timeout=5,
                                headers={"Authorization": f"token {token}"}).status_code == 200
        except (requests.RequestException, ValueError):
            return False

    proxy = docker_client.services.get(f"{stack}_proxy")
    old_tasks = {t["ID"] for t in proxy.tasks()}
    started = time.monotonic()
    subprocess.run(["docker", "service", "update", "--force", "--detach", f"{stack}_proxy"],
                   check=True, capture_output=True)
    assert wait_for(lambda: any(t["ID"] not in old_tasks and t["Status"]["State"] == "running"
                                for t in proxy.tasks()), timeout=60, interval=0.2)
    assert wait_for(fresh_login, timeout=120, interval=0.5)
    recovered = time.monotonic() - started
    print(f"\nstack: after a proxy restart, fresh logins worked again in {recovered:.1f} s")
    assert recovered <= 30
    assert server_service(docker_client, stack, "pia").id == before
    user.stop()


def test_the_hub_reaches_the_engine_only_through_its_docker_proxy(deployment, docker_client):
    """Day 2 too: the proxy restarted, the hub spawns, polls and stops as before."""
    stack = deployment["name"]
    hub = docker_client.services.get(f"{stack}_hub").attrs["Spec"]["TaskTemplate"]
    assert not any("docker.sock" in m.get("Source", "") for m in hub["ContainerSpec"]["Mounts"])
    assert "DOCKER_HOST=tcp://dockerapi:2375" in hub["ContainerSpec"]["Env"]
    # Root in their containers, without root's powers: only the hub keeps three capabilities,
    # to make users' directories on the shared storage.
    for service in docker_client.services.list(
            filters={"label": f"com.docker.stack.namespace={stack}"}):
        container = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert container.get("CapabilityDrop") == ["ALL"], service.name
        assert container.get("CapabilityAdd") == (
            ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"] if service.name == f"{stack}_hub"
            else None), service.name
    running = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={stack}_hub"})[0]
    status = running.exec_run(["grep", "CapEff", "/proc/1/status"]).output.decode()
    assert status.split() == ["CapEff:", "000000000000000b"], status
    proxy = docker_client.services.get(f"{stack}_dockerapi")
    old_tasks = {t["ID"] for t in proxy.tasks()}
    subprocess.run(["docker", "service", "update", "--force", "--detach", f"{stack}_dockerapi"],
                   check=True, capture_output=True)
    assert wait_for(lambda: any(
        t["ID"] not in old_tasks and t["Status"]["State"] == "running" for t in proxy.tasks()))
    user = HubUser(deployment["url"], "dora", deployment["password"])
    user.start()
    assert server_service(docker_client, stack, "dora") is not None
    user.stop()
    assert server_service(docker_client, stack, "dora") is None


def test_the_networks_are_encrypted_and_stay_so(deployment, docker_client):
    """OVERLAY_ENCRYPTED=true: both networks encrypted; turning it off in place is refused."""
    stack = deployment["name"]
    for name in (deployment["values"]["NETWORK_NAME"], f"{stack}_control"):
        assert "encrypted" in docker_client.networks.get(name).attrs["Options"], name
    hub = docker_client.services.get(f"{stack}_hub").attrs["Version"]["Index"]
    write_env(deployment["env"], **dict(deployment["values"], OVERLAY_ENCRYPTED="false"))
    refused = stack_cmd("deploy", "--env", str(deployment["env"]), check=False)
    write_env(deployment["env"], **deployment["values"])
    assert refused.returncode == 1
    assert "encryption cannot change in place" in refused.stderr, refused.stderr
    assert docker_client.services.get(f"{stack}_hub").attrs["Version"]["Index"] == hub


def test_changed_limits_apply_to_the_next_spawns(deployment, docker_client):
    stack = deployment["name"]
    values = dict(deployment["values"], MEM_LIMIT="640M", CONCURRENT_SPAWN_LIMIT="1")
    write_env(deployment["env"], **values)
    hub = docker_client.services.get(f"{stack}_hub")
    old_tasks = {t["ID"] for t in hub.tasks()}
    stack_cmd("deploy", "--env", str(deployment["env"]))
    assert wait_for(lambda: any(
        t["ID"] not in old_tasks and t["Status"]["State"] == "running" for t in hub.tasks()
    ), timeout=180)
    assert wait_for(lambda: requests.get(deployment["url"] + "/hub/health").status_code == 200)
    user = HubUser(deployment["url"], "carol", deployment["password"])
    other = HubUser(deployment["url"], "dave", deployment["password"])
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(user.start)
        # While carol's server starts, the hub's one start at a time is taken: dave is told to
        # come back, and nothing of his is created.
        assert wait_for(lambda: (user.server_model() or {}).get("pending") == "spawn", timeout=30)
        refused = other.hub_api("POST", "/users/dave/server", json={})
        started.result()
    assert refused.status_code == 429, refused.text
    assert "Too many users trying to log in right now" in refused.json()["message"]
    assert server_service(docker_client, stack, "dave") is None
    service = server_service(docker_client, stack, "carol")
    limits = service.attrs["Spec"]["TaskTemplate"]["Resources"]["Limits"]
    assert limits["MemoryBytes"] == 640 * 1024**2
    user.stop()


def test_a_group_only_profile_is_its_members_alone(deployment, docker_client):
    stack = deployment["name"]
    outsider = HubUser(deployment["url"], "dan", deployment["password"])
    response = outsider.hub_api("POST", "/users/dan/server", json={"profile": "staff"})
    assert response.status_code == 400, response.text
    assert "'staff' is not a profile of this hub" in response.json()["message"]
    assert server_service(docker_client, stack, "dan") is None
    form = outsider.page("/hub/spawn")
    assert 'value="large"' in form and 'value="staff"' not in form

    member = HubUser(deployment["url"], "erin", deployment["password"])
    assert 'value="staff"' in member.page("/hub/spawn")
    member.start(user_options={"profile": "staff"})
    task = server_service(docker_client, stack, "erin").attrs["Spec"]["TaskTemplate"]
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 250_000_000, "MemoryBytes": 600 * 1024**2},
        "Reservations": {"MemoryBytes": 32 * 1024**2},
    }
    assert task["Placement"]["Constraints"] == ["node.role == manager"]
    member.stop()


def test_a_redeploy_that_breaks_the_hub_puts_back_the_one_that_ran(deployment, docker_client):
    """A class the hub's extra configuration uses but never imports (no syntax error, which the
    deploy refuses itself): the deploy fails with the hub's own error as soon as the new hub
    exits, Swarm puts back the hub that ran, and users go on; the fixed file then deploys."""
    stack, url = deployment["name"], deployment["url"]
    user = HubUser(url, "frank", deployment["password"])
    user.start()
    hub = docker_client.services.get(f"{stack}_hub")
    running_spec = hub.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    folder = deployment["env"].parent
    (folder / "typo.py").write_text("c.JupyterHub.authenticator_class = GitLabOAuthenticator\n")
    broken = folder / ".env.typo"
    write_env(broken, **dict(deployment["values"], HUB_EXTRA_CONFIG="typo.py"))

    started = time.monotonic()
    done = stack_cmd("deploy", "--env", str(broken), "--wait", check=False)
    print(f"\nbroken redeploy: refused after {time.monotonic() - started:.1f} s")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{stack}_hub: its new task failed, and Swarm is putting back what ran before" in (
        done.stderr)
    assert "non-zero exit (1)" in done.stderr  # Docker's word
    assert "NameError: name 'GitLabOAuthenticator' is not defined" in done.stderr  # the hub's
    assert "hub is up" not in done.stdout

    def put_back():
        hub.reload()
        return hub.attrs["Spec"]["TaskTemplate"]["ContainerSpec"] == running_spec and any(
            t["Status"]["State"] == "running" and t["DesiredState"] == "running"
            for t in hub.tasks())
    assert wait_for(put_back)
    assert wait_for(lambda: requests.get(url + "/hub/health").status_code == 200)
    assert wait_for(lambda: user.contents("GET", "").status_code == 200, timeout=60)
    assert HubUser(url, "grace", deployment["password"]).hub_api("GET", "/users/grace").ok

    # The admin fixes the file and deploys again: the swarm's record of the rollback does not
    # stand in the way, the fixed hub takes over, and the user's server runs on untouched.
    server = server_service(docker_client, stack, "frank")
    (folder / "typo.py").write_text((folder / "extra.py").read_text())
    done = stack_cmd("deploy", "--env", str(broken), "--wait", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hub is up" in done.stdout
    hub.reload()
    assert hub.attrs["Spec"]["TaskTemplate"]["ContainerSpec"] != running_spec
    assert (hub.attrs.get("UpdateStatus") or {}).get("State") == "completed"
    assert wait_for(lambda: user.contents("GET", "").status_code == 200, timeout=60)
    assert server_service(docker_client, stack, "frank").id == server.id
    user.stop()


def test_a_first_deploy_whose_hub_cannot_start_leaves_nothing_running(deployment, tmp_path,
                                                                      docker_client):
    """A second stack on the swarm: its private network's subnet must differ from the first
    one's (the swarm would never start its tasks), which the deploy says before it deploys.
    Then, with nothing to roll back to, a hub that cannot start: the deploy says why once the
    new hub failed twice, and takes the stack away again rather than leave Swarm restarting
    a failing hub."""
    name = "ssfirst" + secrets.token_hex(2)
    (tmp_path / "pw").write_text("a-lab-password\n")
    (tmp_path / "typo.py").write_text("c.JupyterHub.authenticator_class = GitLabOAuthenticator\n")
    env = tmp_path / ".env"
    values = dict(STACK_NAME=name, NETWORK_NAME=f"{name}-net", HUB_DATA_VOLUME=f"{name}-data",
                  PUBLIC_PORT=PORT + 1, TLS="off", AUTHENTICATOR="dummy",
                  DUMMY_PASSWORD_FILE="pw", PIN_LOCAL_IMAGES="true", HUB_EXTRA_CONFIG="typo.py")
    label = {"label": f"com.docker.stack.namespace={name}"}
    write_env(env, **values)  # the default CONTROL_SUBNET, as the first stack has it
    done = stack_cmd("deploy", "--env", str(env), "--wait", check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"CONTROL_SUBNET=10.213.213.0/24 overlaps the subnet 10.213.213.0/24 of network"
            f" {deployment['name']}_control") in done.stderr
    assert "Set CONTROL_SUBNET to a free one, such as 10.213." in done.stderr
    assert not docker_client.services.list(filters=label)
    assert not [s for s in docker_client.secrets.list() if s.name.startswith(name)]

    write_env(env, **values, CONTROL_SUBNET="10.213.215.0/24")
    try:
        started = time.monotonic()
        done = stack_cmd("deploy", "--env", str(env), "--wait", check=False)
        print(f"\nfirst deploy of a hub that cannot start: refused after "
              f"{time.monotonic() - started:.1f} s")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"{name}_hub: 2 of its tasks failed in a row" in done.stderr
        assert "non-zero exit (1)" in done.stderr
        assert "NameError: name 'GitLabOAuthenticator' is not defined" in done.stderr
        assert "its services were removed again" in done.stderr
        assert not docker_client.services.list(filters=label)
        assert not docker_client.networks.list(filters=label)
        # Fixed, the same .env deploys.
        (tmp_path / "typo.py").write_text("c.JupyterHub.shutdown_on_logout = False\n")
        done = stack_cmd("deploy", "--env", str(env), "--wait", check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert requests.get(f"http://127.0.0.1:{PORT + 1}/hub/health").status_code == 200
    finally:
        stack_cmd("remove", "--env", str(env), "--volumes", check=False)


@pytest.mark.parametrize("profiles, expected", [
    ("- display_name: A\n  spawner_override: {mem_limit: [\n", "not valid YAML"),
    ("- display_name: A\n  colour: red\n", "unknown keys ['colour']"),
    ("- display_name: A\n  spawner_override:\n    mem_limit: lots\n",
     "line 3: profile 'A'.spawner_override.mem_limit"),
])
def test_a_broken_profiles_file_deploys_nothing(tmp_path, docker_client, profiles, expected):
    name = "ssbad" + secrets.token_hex(2)
    (tmp_path / "profiles.yaml").write_text(profiles)
    (tmp_path / "pw").write_text("a-lab-password\n")
    env = tmp_path / ".env"
    write_env(env, STACK_NAME=name, NETWORK_NAME=f"{name}-net", AUTHENTICATOR="dummy",
              DUMMY_PASSWORD_FILE="pw", PROFILES_FILE="profiles.yaml")
    result = stack_cmd("deploy", "--env", str(env), check=False)
    assert result.returncode == 1
    assert "profiles.yaml" in result.stderr and expected in result.stderr, result.stderr
    assert "nothing was deployed" in result.stderr
    assert not docker_client.services.list(filters={"label": f"com.docker.stack.namespace={name}"})
    assert not [s for s in docker_client.secrets.list() if s.name.startswith(name)]


def test_a_bad_env_file_deploys_nothing(tmp_path, docker_client):
    name = "ssbad" + secrets.token_hex(2)
    env = tmp_path / ".env"
    write_env(env, STACK_NAME=name, NETWORK_NAME=f"{name}-net", MEM_LIMIT="lots",
              PUBLIC_PORT="70000", AUTHENTICATOR="ldap please", DUMMY_PASSWORD_FILE="missing")
    result = stack_cmd("deploy", "--env", str(env), check=False)
    assert result.returncode == 1
    for expected in ("MEM_LIMIT='lots'", "a size such as 512M", "PUBLIC_PORT='70000'",
                     "1 to 65535", "AUTHENTICATOR='ldap please'", "nothing was deployed"):
        assert expected in result.stderr, result.stderr
    # A missing secret file is named too, once the values themselves are right.
    write_env(env, STACK_NAME=name, NETWORK_NAME=f"{name}-net", AUTHENTICATOR="dummy",
              DUMMY_PASSWORD_FILE="missing")
    result = stack_cmd("deploy", "--env", str(env), check=False)
    assert result.returncode == 1 and "DUMMY_PASSWORD_FILE='missing'" in result.stderr
    assert not docker_client.services.list(filters={"label": f"com.docker.stack.namespace={name}"})
    assert not [s for s in docker_client.secrets.list() if s.name.startswith(name)]
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(f"{name}-net")
