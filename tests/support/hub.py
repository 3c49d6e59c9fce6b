"""Drive a real JupyterHub, running in a container of the hub image, through its REST API.

The hub container joins the test overlay network, so its proxy reaches users' servers
at their task addresses there, and publishes its proxy port on 127.0.0.1 for the tests,
as a user's browser would reach it.
"""

import json
import secrets
import textwrap
import time
from pathlib import Path

import docker
import requests

HUB_CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.spawner_class = "swarm"
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = {container_name!r}
c.JupyterHub.cleanup_servers = False
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
# As the deployed hub (config/jupyterhub_config.py) runs it.
from swarmspawner_deploy.hubdb import tune_sqlite
tune_sqlite("NORMAL")
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/data/cookie_secret"
c.JupyterHub.allow_named_servers = True
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "tester",
    "scopes": ["admin:users", "admin:servers", "admin:groups", "access:servers", "read:hub",
               "tokens"],
    "services": ["tester"],
}}]
c.SwarmSpawner.image = {image!r}
c.SwarmSpawner.networks = [{network!r}]
c.SwarmSpawner.hub_id = {hub_id!r}
c.SwarmSpawner.service_prefix = {prefix!r}
# Answer a spawn request at once (202), so the test can follow every progress event.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
"""


class Hub:
    def __init__(self, client, workdir, *, image, singleuser_image, network, hub_id, prefix,
                 name, extra_config="", docker_socket="/var/run/docker.sock", ip=None,
                 binds=None, publish_ip="127.0.0.1"):
        self.client = client
        self.workdir = Path(workdir)
        self.image = image
        self.network = network
        self.hub_id = hub_id
        self.name = name
        self.docker_socket = docker_socket
        # Where the proxy's port is published on the engine's host, and reached from here.
        self.publish_ip = publish_ip
        self.binds = dict(binds or {})  # host path -> the same path in the hub, e.g. shared storage
        # A fixed address: servers' HTTP clients cache the hub's address (aiodns keeps the
        # engine's 600 s DNS answers), so a restarted hub must come back at the same one.
        self.ip = ip
        self.token = secrets.token_hex(16)
        self.password = secrets.token_hex(8)
        self.container = None
        self.port = None
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        config = HUB_CONFIG.format(
            container_name=name,
            password=self.password,
            token=self.token,
            image=singleuser_image,
            network=network,
            hub_id=hub_id,
            prefix=prefix,
        )
        (self.workdir / "jupyterhub_config.py").write_text(
            config + "\n" + textwrap.dedent(extra_config)
        )

    # --- the container ----------------------------------------------------------

    def start(self, timeout=60):
        api = self.client.api
        endpoint = api.create_endpoint_config(ipv4_address=self.ip) if self.ip else None
        created = api.create_container(
            self.image,
            ["jupyterhub", "-f", "/srv/jupyterhub/jupyterhub_config.py"],
            name=self.name,
            ports=[8000],
            host_config=api.create_host_config(
                port_bindings={8000: (self.publish_ip, None)},
                binds={
                    str(self.workdir): {"bind": "/srv/jupyterhub", "mode": "rw"},
                    # None: no socket, as the deployed hub (it reaches a Docker proxy by TCP).
                    **({self.docker_socket: {"bind": "/var/run/docker.sock", "mode": "rw"}}
                       if self.docker_socket else {}),
                    **{host: {"bind": inside, "mode": "rw"} for host, inside in self.binds.items()},
                },
                network_mode=self.network,
            ),
            networking_config=api.create_networking_config({self.network: endpoint}),
        )
        # Recorded before it starts, so that remove() finds it even if starting fails.
        self.container = self.client.containers.get(created["Id"])
        api.start(created["Id"])
        self.container.reload()
        self.port = int(self.container.ports["8000/tcp"][0]["HostPort"])
        self._wait_healthy(timeout)
        return self

    def restart(self, timeout=60):
        """Stop the hub and start a new one on the same database, as a service update would."""
        self.container.stop(timeout=20)
        self.container.remove()
        self.start(timeout)

    def restart_container(self, timeout=30):
        """Restart the hub's container as it is, as the engine would after a crash (its proxy
        port is published anew)."""
        self.container.restart(timeout=timeout)
        self.container.reload()
        self.port = int(self.container.ports["8000/tcp"][0]["HostPort"])

    def remove(self):
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except docker.errors.NotFound:
                pass
            self.container = None

    def logs(self):
        return self.container.logs().decode("utf8", "replace") if self.container else ""

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url("/hub/health"), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.3)
        raise RuntimeError(f"hub did not become healthy; its log:\n{self.logs()[-4000:]}")

    # --- the REST API -----------------------------------------------------------

    def url(self, path):
        return f"http://{self.publish_ip}:{self.port}{path}"

    def api(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        headers["Authorization"] = f"token {self.token}"
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url("/hub/api" + path), headers=headers, **kwargs)

    def ensure_user(self, name):
        response = self.api("POST", f"/users/{name}")
        assert response.status_code in (201, 409), response.text

    def server(self, user, server=""):
        model = self.api("GET", f"/users/{user}").json()
        return model.get("servers", {}).get(server)

    def spawn(self, user, server="", user_options=None, timeout=180):
        """Ask for a server and follow its progress; returns (ready, events)."""
        self.ensure_user(user)
        response = self.api("POST", self._server_path(user, server), json=user_options or {})
        if response.status_code == 201:
            # Right after a failed spawn JupyterHub answers 201 while the new spawn is still
            # under way: ready only if the server says so.
            model = self.server(user, server)
            if model and model.get("ready"):
                return True, []
            return self.follow_progress(user, server, timeout)
        if response.status_code != 202:
            return False, [{"failed": True, "status": response.status_code,
                            "message": _message(response)}]
        return self.follow_progress(user, server, timeout)

    def follow_progress(self, user, server="", timeout=180):
        events = []
        with self.api("GET", self._server_path(user, server) + "/progress", stream=True,
                      timeout=timeout) as response:
            for line in response.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:"):])
                events.append(event)
                if event.get("ready"):
                    return True, events
                if event.get("failed"):
                    return False, events
        return False, events

    def stop(self, user, server="", timeout=120):
        response = self.api("DELETE", self._server_path(user, server))
        assert response.status_code in (202, 204), response.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server(user, server) is None:
                return
            time.sleep(0.3)
        raise AssertionError(f"{user}'s server {server!r} did not stop")

    @staticmethod
    def _server_path(user, server):
        return f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"

    def user_api(self, user, server="", path="/api", method="GET", **kwargs):
        """A request to the user's own server, through the hub's proxy."""
        prefix = f"/user/{user}/{server}/" if server else f"/user/{user}/"
        return requests.request(
            method,
            self.url(prefix.rstrip("/") + path),
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
            **kwargs,
        )

    def write_file(self, user, path, content, server=""):
        """Save a text file through the user's server's Contents API, as JupyterLab does."""
        return self.user_api(user, server, f"/api/contents/{path}", method="PUT",
                             json={"type": "file", "format": "text", "content": content})

    def read_file(self, user, path, server=""):
        response = self.user_api(user, server, f"/api/contents/{path}")
        return response.json()["content"] if response.status_code == 200 else None


def _message(response):
    try:
        return response.json().get("message", response.text)
    except ValueError:
        return response.text
