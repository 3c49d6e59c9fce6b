"""Names for the Swarm objects a spawner creates.

A service is named ``{prefix}-{user}-{server}`` as the original cassinyspawner named
them, with ``server`` being ``1`` for a user's default server. Names are valid DNS
labels, so that a server's service name resolves on its networks (for an operator, or a
service that reaches it by name; the hub and the proxy use its task's address).

Each part goes through :func:`jupyterhub.slugs.safe_slug`, which keeps a simple name
(lowercase letters and digits) as it is and turns anything else into a stripped form
plus a hash of the original. A simple part never contains ``-`` and an escaped part
always ends in its own hash, so joining parts with ``-`` cannot make two different
(user, server) pairs meet on one name, short of a hash collision.
"""

import hashlib
import re

from jupyterhub.slugs import safe_slug

#: Docker's limit for a service name, which is also a DNS label's.
MAX_NAME_LENGTH = 63
_HASH_LENGTH = 8
_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

DEFAULT_SERVER_SUFFIX = "1"


def _hash(*parts):
    joined = "\0".join(parts).encode("utf8")
    return hashlib.sha256(joined).hexdigest()[:_HASH_LENGTH]


def check_prefix(prefix):
    """Raise ValueError unless ``prefix`` can start a service name."""
    if not _PREFIX_PATTERN.match(prefix) or len(prefix) > 20:
        raise ValueError(
            f"service_prefix {prefix!r} must be 1-20 lowercase letters, digits and single"
            " hyphens, starting with a letter (e.g. 'jupyter')"
        )
    return prefix


def user_slug(username):
    """The DNS-safe form of a username, unique per username."""
    return safe_slug(username)


def server_slug(servername):
    """The DNS-safe form of a server name; ``1`` for the default server."""
    if not servername:
        return DEFAULT_SERVER_SUFFIX
    return safe_slug(servername)


def service_name(prefix, username, servername=""):
    """``{prefix}-{user}-{server}``, always a valid DNS label of at most 63 characters."""
    name = f"{prefix}-{user_slug(username)}-{server_slug(servername)}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    # Too long: keep a readable head and make it unique with a hash of the whole input.
    suffix = _hash(prefix, username, servername)
    head = name[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{suffix}"


def md5_username(username):
    """The hex MD5 of a username: what the original package used in names and mounts."""
    return hashlib.md5(username.encode("utf8")).hexdigest()
