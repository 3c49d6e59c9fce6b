"""configurable-http-proxy run as a service of its own: its routes come back within seconds.

A restarted proxy starts with an empty routing table, and JupyterHub puts the routes back only
when it starts or at its activity check (``last_activity_interval``, 5 minutes): until then
every user's URL fails. This proxy class has the hub check the table every
``route_check_interval`` seconds -- one GET of the routes, and an add only for what is missing.

    c.JupyterHub.proxy_class = "swarmspawner.proxy.RouteKeepingProxy"
    c.ConfigurableHTTPProxy.should_start = False
    c.JupyterHubHTTPClient.connector_options = fresh_lookups()

The hub reaches the proxy's API by its service name, and a restarted proxy's task has a new
address: :func:`fresh_lookups` has the hub's HTTP client look names up at each connection
(the engine's DNS answers in microseconds) instead of keeping them for their TTL, 600 s.
"""

import asyncio

from aiohttp import ThreadedResolver
from jupyterhub.proxy import ConfigurableHTTPProxy
from tornado.ioloop import PeriodicCallback
from traitlets import Float


class RouteKeepingProxy(ConfigurableHTTPProxy):
    route_check_interval = Float(
        3,
        help="""Seconds between checks that the proxy has every route (0: only JupyterHub's
        own checks). After a proxy restart, users' URLs work again within this time.""",
    ).tag(config=True)

    _route_checker = None

    async def check_routes(self, user_dict, service_dict, routes=None):
        # JupyterHub's first check, at its start, is when the app's users are known.
        if self._route_checker is None and self.route_check_interval > 0:
            self._route_checker = PeriodicCallback(self._check_now, self.route_check_interval * 1e3)
            self._route_checker.start()
        return await super().check_routes(user_dict, service_dict, routes)

    async def _check_now(self):
        try:
            await super().check_routes(self.app.users, self.app._service_map)
        except Exception as e:  # the proxy restarting: the next check tries again
            self.log.warning("Checking the proxy's routes failed: %s", e)


class FreshResolver(ThreadedResolver):
    """The system's resolver (getaddrinfo, which keeps nothing) instead of aiodns, whose
    c-ares keeps each answer for its TTL; made before the hub's event loop runs."""

    def __init__(self):
        self._loop = None

    async def resolve(self, *args, **kwargs):
        self._loop = asyncio.get_running_loop()
        return await super().resolve(*args, **kwargs)


def fresh_lookups():
    """``JupyterHubHTTPClient.connector_options`` for names looked up at each connection."""
    return {"resolver": FreshResolver(), "use_dns_cache": False}
