"""A hub run the original package's way: one Swarm service running JupyterHub and its own
proxy, its port published (in host mode: this kernel has no IPVS for the routing mesh), servers
told where the hub is by `jupyterhub_service_name`. Servers reach it at its node's address and
published port, which stay valid when it restarts: a spawn right after it starts works, and
fresh logins to a running server work again within 30 s of a restart.
"""

import secrets
import socket
import subprocess
import time

import docker
import pytest
import requests

from swarmspawner_deploy.images import HUB_IMAGE
from tests.support.hub import HUB_CONFIG
from tests.support.wait import wait_for

RECOVERY_S = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubService:
    """The hub as a Swarm service, driven through its published port."""

    def __init__(self, client, workdir, network, singleuser_image, hub_id):
        self.client = client
        self.name = f"sstest-hubsvc-{secrets.token_hex(3)}"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "data").mkdir(exist_ok=True)
        config = HUB_CONFIG.format(
            container_name=self.name, password=secrets.token_hex(8), token=self.token,
            image=singleuser_image, network=network, hub_id=hub_id, prefix="sstest")
        (workdir / "jupyterhub_config.py").write_text(config + f"""
c.JupyterHub.ip = "0.0.0.0"
c.JupyterHub.port = 8000
c.SwarmSpawner.jupyterhub_service_name = {self.name!r}
c.Spawner.mem_limit = "512M"
""")
        self.service = client.services.create(
            HUB_IMAGE, ["jupyterhub", "-f", "/srv/jupyterhub/jupyterhub_config.py"],
            name=self.name, networks=[network],
            mounts=[f"{workdir}:/srv/jupyterhub:rw",
                    "/var/run/docker.sock:/var/run/docker.sock:rw"],
            endpoint_spec=docker.types.EndpointSpec(
                mode="dnsrr", ports={self.port: (8000, "tcp", "host")}),
            restart_policy=docker.types.RestartPolicy(condition="any"))

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, method, path, **kwargs):
        return requests.request(method, self.url("/hub/api" + path), timeout=10,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def healthy(self):
        try:
            return requests.get(self.url("/hub/health"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def fresh_login_works(self, user):
        """A token the server has never seen: it must ask the hub."""
        try:
            token = self.api("POST", f"/users/{user}/tokens", json={"expires_in": 600})
            response = requests.get(self.url(f"/user/{user}/api"), timeout=5,
                                    headers={"Authorization": f"token {token.json()['token']}"})
            return response.status_code == 200
        except (requests.RequestException, ValueError, KeyError):
            return False

    def logs(self):
        return b"".join(self.service.logs(stdout=True, stderr=True)).decode(errors="replace")[-3000:]

    def remove(self):
        try:
            self.service.remove()
        except docker.errors.NotFound:
            pass


@pytest.fixture
def hub_service(docker_client, tmp_path, network, singleuser_image, hub_id):
    hub = HubService(docker_client, tmp_path / "hub", network, singleuser_image, hub_id)
    yield hub
    hub.remove()


def test_spawn_at_once_and_fresh_logins_after_a_restart(hub_service, docker_client, hub_id):
    assert wait_for(hub_service.healthy, timeout=120)
    user = "orig" + secrets.token_hex(2)
    assert hub_service.api("POST", f"/users/{user}").status_code == 201
    # Right after the hub answers: the server finds the hub without the swarm's DNS.
    started = time.monotonic()
    assert hub_service.api("POST", f"/users/{user}/server").status_code in (201, 202)
    assert wait_for(lambda: (hub_service.api("GET", f"/users/{user}").json()["servers"]
                             .get("", {}).get("ready")), timeout=RECOVERY_S)
    print(f"\noriginal way: a spawn right after the hub started was ready in "
          f"{time.monotonic() - started:.1f} s")
    env = docker_client.services.list(filters={"label": f"swarmspawner.user={user}"})[0].attrs[
        "Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    api_url = next(e for e in env if e.startswith("JUPYTERHUB_API_URL="))
    # The node's port, not a name.
    assert f":{hub_service.port}/hub/api" in api_url, (api_url, hub_service.logs())
    assert hub_service.fresh_login_works(user)

    server_before = docker_client.services.list(filters={"label": f"swarmspawner.user={user}"})[0].id
    old_tasks = {t["ID"] for t in hub_service.service.tasks()}
    started = time.monotonic()
    subprocess.run(["docker", "service", "update", "--force", "--detach", hub_service.name],
                   check=True, capture_output=True)

    def replaced():
        running = {t["ID"] for t in hub_service.service.tasks()
                   if t["Status"]["State"] == "running" and t["DesiredState"] == "running"}
        return running and not running & old_tasks

    assert wait_for(replaced, timeout=60, interval=0.2)
    restarted = time.monotonic() - started
    assert wait_for(lambda: hub_service.fresh_login_works(user), timeout=120, interval=0.5)
    recovered = time.monotonic() - started
    print(f"original way: the hub's new task ran {restarted:.1f} s after the restart began; fresh"
          f" logins worked again after {recovered:.1f} s")
    assert recovered <= RECOVERY_S
    assert docker_client.services.list(
        filters={"label": f"swarmspawner.user={user}"})[0].id == server_before
    hub_service.api("DELETE", f"/users/{user}/server")
    assert wait_for(lambda: not docker_client.services.list(
        filters={"label": f"swarmspawner.user={user}"}), timeout=60)
