"""A hub address for servers that stays valid when the hub or the proxy restarts.

A restarted service's task gets a new address on the overlay network, and the servers'
HTTP client (aiohttp with aiodns, in JupyterHub 6's ``jupyterhub-singleuser``) keeps a
name's address for the engine's DNS TTL, 600 s: by name, every server loses the hub for
minutes after each restart. Without IPVS there is no service virtual IP either. What does
stay is a port a service publishes in host mode, on the node that runs it: the node's
address and that port reach the service's new task as soon as it listens. These functions
pick that address from the Engine API's answers; the spawner does the calls.
"""


def find_service(services, name):
    """The service called ``name``, or whose stack-local name it is (``jupyterhub_proxy`` for
    ``proxy``); None if there is none, or more than one that fits."""
    exact = [s for s in services if s["Spec"]["Name"] == name]
    if exact:
        return exact[0]
    local = [s for s in services if s["Spec"]["Name"].endswith("_" + name)
             and "com.docker.stack.namespace" in s["Spec"].get("Labels", {})]
    return local[0] if len(local) == 1 else None


def host_mode_port(service, preferred_target=None):
    """The port the service publishes in host mode (the one for ``preferred_target`` if it
    publishes several), or None."""
    ports = (service.get("Endpoint", {}).get("Ports")
             or service["Spec"].get("EndpointSpec", {}).get("Ports") or [])
    published = [p for p in ports if p.get("PublishMode") == "host" and p.get("PublishedPort")]
    for port in published:
        if port.get("TargetPort") == preferred_target:
            return port["PublishedPort"]
    return published[0]["PublishedPort"] if published else None


def node_address(node):
    """The address other nodes (and containers on them) reach this node at; a loopback
    address means a single-node swarm (see :func:`is_loopback`)."""
    address = node.get("Status", {}).get("Addr") or ""
    if address in ("", "0.0.0.0"):
        # A manager's own status can say 0.0.0.0; its swarm address says where it listens.
        address = node.get("ManagerStatus", {}).get("Addr", "").rsplit(":", 1)[0]
    return address if address not in ("", "0.0.0.0") else None


def is_loopback(address):
    """A swarm advertised on loopback has one node, reached from its containers through the
    gateway of their docker_gwbridge network instead."""
    return address.startswith("127.") or address == "::1"


def running_node_id(tasks):
    """The node of the service's running task (a one-replica service), or None."""
    running = [t for t in tasks
               if t.get("DesiredState") == "running" and t["Status"]["State"] == "running"]
    return running[0].get("NodeID") if len(running) == 1 else None
