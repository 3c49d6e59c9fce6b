"""Names for the Swarm objects a spawner creates, and for what admins template per user.

A service is named ``{prefix}-{user}--{server}``, with ``server`` being ``1`` for a user's
default server. Names are valid DNS labels, so that a server's service name resolves on
its networks (for an operator, or a service that reaches it by name; the hub and the
proxy use its task's address).

Each part goes through :func:`safe_slug`: a simple name (lowercase letters and digits,
starting with a letter) stays as it is; anything else becomes a stripped form plus a
16-hex-digit hash of the original (64 bits: not something a user who picks their own name
can search for a match to). A slug never contains ``--``, ``_``, ``.`` or ``/``, so a part
followed by one of those ends there: ``user--server`` can be read back one way only, and
so can an admin's ``home-{username}--{servername}``.
"""

import hashlib
import re

#: Docker's limit for a service name, which is also a DNS label's.
MAX_NAME_LENGTH = 63
#: A slug's length at most, so that two joined with ``--`` fit a DNS label.
MAX_SLUG_LENGTH = 30
_HASH_LENGTH = 16
_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: JupyterHub's simple name (jupyterhub.slugs.is_valid_simple_name): kept as it is.
_SIMPLE = re.compile(r"^[a-z][a-z0-9]*$")
#: What may follow a slug in a name: nothing a slug contains.
SEPARATORS = ("--", "_", ".", "/")

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


def safe_slug(name):
    """A DNS-safe part, unique per ``name``: the name itself when it is simple."""
    if _SIMPLE.match(name) and len(name) <= MAX_SLUG_LENGTH:
        return name
    head = _NOT_SLUG.sub("-", name.lower()).strip("-")
    if not head[:1].isalpha():
        head = f"x-{head}".rstrip("-")
    head = head[: MAX_SLUG_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{_hash(name)}"


def user_slug(username):
    """The DNS-safe form of a username, unique per username (``{username}`` in templates)."""
    return safe_slug(username)


def server_slug(servername):
    """The DNS-safe form of a server name; ``1`` for the default server."""
    if not servername:
        return DEFAULT_SERVER_SUFFIX
    return safe_slug(servername)


def service_name(prefix, username, servername=""):
    """``{prefix}-{user}--{server}``, always a valid DNS label of at most 63 characters."""
    name = f"{prefix}-{user_slug(username)}--{server_slug(servername)}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    # Too long: keep a readable head and make it unique with a hash of the whole input.
    suffix = _hash(prefix, username, servername)
    head = name[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{suffix}"


def md5_username(username):
    """The hex MD5 of a username: what the original package used in names and mounts."""
    return hashlib.md5(username.encode("utf8")).hexdigest()


def template_fields(username, servername="", prefix=""):
    """The fields of mount and volume templates for one server: all DNS- and volume-name-safe."""
    return {
        "username": user_slug(username),
        "servername": safe_slug(servername) if servername else "",
        "prefix": prefix,
        "username_md5": md5_username(username),
    }
