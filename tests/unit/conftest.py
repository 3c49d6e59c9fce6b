"""A spawner with a stand-in user and hub: enough to build a service spec, no Docker."""

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from jupyterhub.objects import Hub
from traitlets.config import Config

from swarmspawner import SwarmSpawner


class FakeUser:
    def __init__(self, name):
        self.name = name
        self.escaped_name = quote(name, safe="")
        self.url = f"/user/{self.escaped_name}/"
        self.id = 7
        self.settings = {}
        self.groups = []

    def progress_url(self, server_name=""):
        return f"/hub/api/users/{self.escaped_name}/servers/{server_name}/progress"


def make_spawner(cls=SwarmSpawner, config=None, username="alice", servername="", **kwargs):
    cfg = Config()
    for section, values in (config or {}).items():
        for key, value in values.items():
            cfg[section][key] = value
    hub = Hub(ip="0.0.0.0", port=8081, base_url="/hub/", connect_ip="hub")
    orm_spawner = SimpleNamespace(name=servername, server=None, last_activity=None)
    spawner = cls(config=cfg, user=FakeUser(username), hub=hub, orm_spawner=orm_spawner, **kwargs)
    # Server tokens are made by the hub at spawn time; stand in for one.
    spawner.api_token = "not-a-real-token"
    return spawner


@pytest.fixture
def spawner_factory():
    return make_spawner
