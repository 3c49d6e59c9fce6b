"""The hub's only way to the Docker engine: a filtering proxy in front of a manager's socket.

    swarmspawner-docker-proxy --hub-id jupyterhub --network jupyterhub --bind-roots /srv/users

A hub with the socket itself owns every node (a container binding / is root on the node).
Swarm has no RBAC, so this is ours: it passes the exact calls the spawner and its watcher
make -- list services, tasks, nodes and networks, inspect nodes and networks, follow events,
inspect, remove and read the logs of this hub's own services, create services -- and refuses every other one with
HTTP 403 and a sentence. A service to create is read first: it must carry this hub's label,
join only the allowed networks, bind only below the allowed roots (a local volume with a
bind device counts as a bind), publish no port, take no secret, config, capability or
sysctl, and be a container. The stack runs it on a manager, on a network only the hub
shares, so nothing else reaches it.
"""

import argparse
import json
import posixpath
import re

from swarmspawner.objects import LABEL_HUB

#: (method, path without the API version) the hub may send as they are.
_READ_ONLY = [
    ("GET", r"/_ping"), ("HEAD", r"/_ping"), ("GET", r"/version"),
    ("GET", r"/services"), ("GET", r"/tasks"), ("GET", r"/nodes"), ("GET", r"/nodes/[^/]+"),
    ("GET", r"/networks"), ("GET", r"/networks/[^/]+"), ("GET", r"/events"),
]
_VERSION = re.compile(r"^/v\d+\.\d+(/.*)$")
_OWN_SERVICE = re.compile(r"^/services/([^/]+)(/logs)?$")


class Refused(Exception):
    """A request this proxy does not pass on; the sentence says why."""


def api_path(path):
    """The path without its /vX.Y prefix."""
    found = _VERSION.match(path)
    return found.group(1) if found else path


def route(method, path):
    """What to do with a request: "pass", "create" (check the body first) or ("own", service
    id) (check that the service is this hub's first); Refused otherwise."""
    path = api_path(path)
    if any(method == m and re.fullmatch(p, path) for m, p in _READ_ONLY):
        return "pass"
    if method == "POST" and path == "/services/create":
        return "create"
    found = _OWN_SERVICE.match(path)
    if found and (method == "GET" or (method == "DELETE" and not found.group(2))):
        return ("own", found.group(1))
    raise Refused(f"{method} {path} is not one of the calls the hub makes")


def _inside(path, roots):
    path = posixpath.normpath(path or "")
    return path.startswith("/") and any(path == r or path.startswith(r.rstrip("/") + "/")
                                        for r in roots)


def check_service(spec, hub_id, networks, bind_roots):
    """Refused unless the service spec is one this hub may create (see the module's text).
    ``networks``: the names and IDs servers may join; ``bind_roots``: where binds may point."""
    labels = spec.get("Labels") or {}
    if labels.get(LABEL_HUB) != hub_id:
        raise Refused(f"a service must carry the label {LABEL_HUB}={hub_id}")
    task = spec.get("TaskTemplate") or {}
    if set(task) & {"PluginSpec", "NetworkAttachmentSpec"} or "ContainerSpec" not in task:
        raise Refused("a service must run a container")
    container = task["ContainerSpec"]
    for key in ("CapabilityAdd", "Sysctls", "Secrets", "Configs", "Privileges"):
        if container.get(key):
            raise Refused(f"a server may not have {key}")
    for mount in container.get("Mounts") or []:
        kind, source = mount.get("Type", "volume"), mount.get("Source")
        if kind not in ("bind", "volume", "tmpfs"):
            raise Refused(f"a server may not mount {kind!r}")
        if kind == "bind" and not _inside(source, bind_roots):
            raise Refused(f"a server may bind only below {', '.join(bind_roots) or 'nothing'},"
                          f" not {source}")
        driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
        options = driver.get("Options") or {}
        if "bind" in str(options.get("o", "")).split(",") or options.get("type") == "none":
            if not _inside(options.get("device"), bind_roots):
                raise Refused(f"a server's volume may bind only below"
                              f" {', '.join(bind_roots) or 'nothing'}, not {options.get('device')}")
    for attachment in task.get("Networks") or spec.get("Networks") or []:
        if attachment.get("Target") not in networks:
            raise Refused(f"a server may join only {', '.join(sorted(networks))}, not"
                          f" {attachment.get('Target')}")
    if (spec.get("EndpointSpec") or {}).get("Ports"):
        raise Refused("a server may not publish ports")


def refusal(message):
    return json.dumps({"message": f"swarmspawner-docker-proxy: refused: {message}"})


def make_app(engine_socket, hub_id, network_names, bind_roots):
    """The aiohttp application: requests in, the engine's answers streamed back."""
    import aiohttp
    import yarl
    from aiohttp import web

    state = {}

    async def engine():
        if "session" not in state:
            state["session"] = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=engine_socket),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return state["session"]

    async def allowed_networks(session):
        """The allowed networks by name and ID (the spawner names them; tasks show IDs), looked
        up once they all exist (a network keeps its ID while the stack that uses it runs)."""
        if "networks" in state:
            return state["networks"]
        found = set(network_names)
        for name in network_names:
            async with session.get(f"http://docker/networks/{name}") as answer:
                if answer.status != 200:
                    return found
                found.add((await answer.json())["Id"])
        state["networks"] = found
        return found

    async def service_is_ours(session, service_id):
        async with session.get(f"http://docker/services/{service_id}") as answer:
            if answer.status != 200:
                return answer.status  # the engine's own 404 goes back as it is
            labels = (await answer.json())["Spec"].get("Labels") or {}
            return labels.get(LABEL_HUB) == hub_id

    async def handle(request):
        session = await engine()
        body = await request.read()
        try:
            decision = route(request.method, request.path)
            if decision == "create":
                check_service(json.loads(body or b"{}"), hub_id,
                              await allowed_networks(session), bind_roots)
            elif isinstance(decision, tuple):
                ours = await service_is_ours(session, decision[1])
                if ours is not True:
                    if ours is not False:
                        return web.Response(status=ours, text=refusal("no such service"),
                                            content_type="application/json")
                    raise Refused(f"service {decision[1]} is not this hub's")
        except Refused as e:
            request.app.logger.warning("refused %s %s: %s", request.method, request.path, e)
            return web.Response(status=403, text=refusal(e), content_type="application/json")
        except ValueError:
            return web.Response(status=400, text=refusal("the body is not JSON"),
                                content_type="application/json")
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-registry-auth")}
        # Sent on as it came (the engine decodes it as the check above did).
        url = yarl.URL(f"http://docker{request.raw_path}", encoded=True)
        async with session.request(request.method, url, data=body or None,
                                   headers=headers) as answer:
            response = web.StreamResponse(status=answer.status, headers={
                k: v for k, v in answer.headers.items()
                if k.lower() in ("content-type", "api-version", "docker-experimental", "ostype")})
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def close(app):
        if "session" in state:
            await state["session"].close()

    app = web.Application(client_max_size=1024**2)
    app.router.add_route("*", "/{path:.*}", handle)
    app.on_cleanup.append(close)
    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="/var/run/docker.sock", help="the engine's socket")
    parser.add_argument("--port", type=int, default=2375)
    parser.add_argument("--hub-id", required=True, help="the label value of this hub's servers")
    parser.add_argument("--network", action="append", default=[],
                        help="a network servers may join (repeat)")
    parser.add_argument("--bind-roots", default="",
                        help="folders below which servers may bind, ';'-separated")
    args = parser.parse_args(argv)
    import logging

    from aiohttp import web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    roots = [posixpath.normpath(r.strip()) for r in args.bind_roots.split(";") if r.strip()]
    app = make_app(args.engine, args.hub_id, args.network, roots)
    # On SIGTERM: a second for calls in flight, not aiohttp's 60 s. The hub's event stream never
    # ends by itself, so the proxy would wait out Swarm's grace period and its SIGKILL, the hub
    # without an engine all the while; the hub's watcher reconnects to the next one.
    web.run_app(app, port=args.port, access_log=None, print=None, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()
