"""Where a user's files live: a directory on shared storage, or named volumes on one node.

Shared storage (``SwarmSpawner.shared_home_root``): the same filesystem is mounted at the same
path on every node and in the hub's container, so the hub makes each user's directory once
and every node's engine can bind it. Named volumes live on the node where they were made;
:func:`node_unusable` says why a server cannot go back to that node.
"""

import os


def user_dir(root, username_slug):
    """A user's directory under the shared root: one path segment, the user's safe name."""
    if not username_slug or "/" in username_slug or username_slug in (".", ".."):
        raise ValueError(f"not a safe directory name: {username_slug!r}")
    return os.path.join(root, username_slug)


def ensure_user_dir(path, uid, gid, mode):
    """Create the user's directory, owned by ``uid:gid`` with ``mode``; returns whether it
    was created. An existing directory is left as the admin or the user keeps it."""
    root = os.path.dirname(path)
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"the shared storage {root} is not there (is it mounted on the hub's node?)")
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise NotADirectoryError(f"{path} exists and is not a directory") from None
        return False
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # mkdir's mode passes through the umask
    return True


def node_unusable(node, name):
    """Why a server cannot start on this node (an Engine API node) and what an admin can do;
    None if it can."""
    if node is None:
        return ("is no longer part of the swarm",
                "An admin can join it again, or move the user's volume to another node")
    state = node.get("Status", {}).get("State")
    availability = node.get("Spec", {}).get("Availability")
    if state != "ready":
        return (f"is {state or 'unknown'} (its engine does not answer the swarm)",
                f"An admin can start the Docker engine on {name} again")
    if availability != "active":
        done = {"drain": "drained", "pause": "paused"}.get(availability, availability)
        return (f"is {done} by an admin",
                f"An admin can make it active again (docker node update --availability active"
                f" {name})")
    return None


def node_hostname(node, fallback):
    return (node or {}).get("Description", {}).get("Hostname") or fallback
