"""The one reader of the deployment's ``.env`` file.

The hub's configuration, the deploy command, the Ansible playbooks and the tests all
read the env file through :func:`load`, so a value means the same everywhere and a bad
one is caught before anything is deployed. Each variable is declared once in
:data:`VARIABLES`, with its default, its form and a sentence for the example file.

    swarmspawner-env check .env      # validate; exit 1 naming each bad value
    swarmspawner-env json .env       # the parsed values, for other tools
    swarmspawner-env example         # the example env file, from VARIABLES
"""

import ipaddress
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass

from dotenv import dotenv_values

from swarmspawner.objects import SpecError, check_template
from swarmspawner.units import cpu_limit, memory_limit, parse_bytes

from .hubdb import SQLITE_SYNCHRONOUS
from .profilesfile import ProfilesFileError
from .profilesfile import load as load_profiles_file
from .profilesfile import server_images

AUTHENTICATORS = ("native", "github", "generic", "ldap", "dummy")
TLS_MODES = ("internal", "files", "acme", "off")
#: TLS=internal: the deployment's own CA, made beside the env file on the first deploy.
INTERNAL_CA_CERT = "secrets/internal-ca.crt"
INTERNAL_CA_KEY = "secrets/internal-ca.key"
STORAGE_MODES = ("shared", "local", "none")
STORAGE_FILESYSTEMS = ("nfs", "sshfs", "existing")
_CLASS_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


class EnvError(ValueError):
    """One or more values of the env file are wrong; ``problems`` has a sentence each."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(problems))


# --- forms: each turns the text into a value or raises ValueError(expected form) ---------

def _text(value):
    return value


def _name(value):
    if not _NAME.match(value):
        raise ValueError("letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def _port(value):
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ValueError("a port number from 1 to 65535")
    return int(value)


def _seconds(value):
    if not re.fullmatch(r"\d+(\.\d+)?", value):
        raise ValueError("a number of seconds, e.g. 300")
    return float(value)


def _cores(value):
    if value == "":
        return None
    if not re.fullmatch(r"\d+(\.\d+)?", value) or float(value) <= 0:
        raise ValueError("a number of CPU cores, e.g. 1 or 0.5, or empty for none")
    return float(value)


def _bytes(value):
    if value == "":
        return None
    try:
        return parse_bytes(value)
    except ValueError:
        raise ValueError("a size such as 512M or 2G, or empty for none") from None


def _limit(read, check, expected):
    """A limit's form: read the text, then refuse what Docker would not take as a limit."""
    def form(value):
        amount = read(value)
        try:
            return check(amount)
        except ValueError:
            raise ValueError(expected) from None
    return form


_cpu_limit = _limit(_cores, cpu_limit, "a number of CPU cores of at least 0.001, e.g. 1 or"
                    " 0.5, or empty for no limit (0 is not 'no limit')")
_memory_limit = _limit(_bytes, memory_limit, "a size of at least 6M, such as 512M or 2G, or"
                       " empty for no limit (0 is not 'no limit')")


def _bool(value):
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _list(value):
    return [item.strip() for item in value.split(",") if item.strip()]


def _constraints(value):
    return [item.strip() for item in value.split(";") if item.strip()]


def _options(value):
    options = {}
    for item in _list(value):
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise ValueError("comma-separated key=value pairs, e.g. type=nfs,o=addr=10.0.0.5")
        options[key.strip()] = val.strip()
    return options


def _authenticator(value):
    if value in AUTHENTICATORS or _CLASS_PATH.match(value):
        return value
    raise ValueError(
        ", ".join(AUTHENTICATORS[:-1]) + f" or {AUTHENTICATORS[-1]}, or an authenticator's class"
        " path configured in HUB_EXTRA_CONFIG, e.g. oauthenticator.gitlab.GitLabOAuthenticator"
    )


def _db_url(value):
    if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg2://")):
        raise ValueError("a sqlite:// or postgresql:// database URL")
    if re.match(r"^[\w+]+://[^/@]*:[^/@]*@", value):
        raise ValueError("a database URL without a password (put the password in the file"
                         " DB_PASSWORD_FILE names: it reaches the hub as a Docker secret)")
    return value


def _host_name(value):
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                        r"[A-Za-z0-9])?)*", value):
        raise ValueError("a host name such as hub.example.org (no scheme, port or path)")
    return value.lower()


def _url(value):
    if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError("an http:// or https:// URL, or empty")
    return value


def _ldap_uri(value):
    if value and not re.fullmatch(r"ldaps?://[A-Za-z0-9.\-\[\]:]+?(:\d{1,5})?/?", value):
        raise ValueError("ldap://HOST[:PORT] or ldaps://HOST[:PORT], or empty")
    return value.rstrip("/")


def _dn_list(value):
    # DNs contain commas: a list of them is ';'-separated.
    return [item.strip() for item in value.split(";") if item.strip()]


def _sqlite_synchronous(value):
    if value not in SQLITE_SYNCHRONOUS:
        raise ValueError(" or ".join(SQLITE_SYNCHRONOUS))
    return value


def _choice(*choices):
    def form(value):
        if value not in choices:
            raise ValueError(" or ".join(choices))
        return value
    return form


def _host_path(value):
    if not value.startswith("/") or value.rstrip("/") == "" or ".." in value.split("/"):
        raise ValueError("an absolute path on the nodes, e.g. /srv/swarmspawner/users")
    return value.rstrip("/")


def _subnet(value):
    try:
        return str(ipaddress.ip_network(value))
    except ValueError:
        raise ValueError("an IPv4 subnet in CIDR form, e.g. 10.213.213.0/24") from None


def _host_paths(value):
    return [_host_path(item.strip()) for item in value.split(";") if item.strip()]


def _id(value):
    if not value.isdigit() or int(value) > 2**31 - 1:
        raise ValueError("a numeric user or group id, e.g. 1000")
    return int(value)


def _mode(value):
    if not re.fullmatch(r"0?[0-7]{3}", value):
        raise ValueError("an octal file mode such as 0700 or 0750")
    return int(value, 8)


def _nfs_export(value):
    if value and not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:/\S*", value):
        raise ValueError("SERVER:/PATH, e.g. 10.0.0.5:/export/jupyterhub, or empty")
    return value


def _volume_template(value):
    expected = ("a volume name containing {username}, at the end or followed by '--', '_' or"
                " '.', e.g. jupyterhub-user-{username}, or empty for no persistent volume")
    if value and "{username}" not in value:
        raise ValueError(expected)
    try:
        return check_template(value) if value else value
    except SpecError:
        raise ValueError(expected) from None


def _path(value):
    if not value.startswith("/"):
        raise ValueError("an absolute path inside the container")
    return value


def _log_size(value):
    if not re.fullmatch(r"\d+[kmg]", value):
        raise ValueError("a size with a unit k, m or g, e.g. 10m")
    return value


def _count(value):
    if not value.isdigit() or int(value) < 1:
        raise ValueError("a whole number, 1 or more")
    return int(value)


def _whole(value):
    if not value.isdigit():
        raise ValueError("a whole number, 0 or more")
    return int(value)


def _optional_count(value):
    return None if value == "" else _count(value)


_POOL = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}):(\d{1,2})$")


def _address_pools(value):
    pools = []
    for item in _list(value):
        match = _POOL.match(item)
        if not match:
            raise ValueError("comma-separated BASE/PREFIX:SIZE pools, e.g. 10.201.0.0/16:24")
        pools.append({"base": match[1], "size": int(match[2])})
    return pools


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    parse: object
    help: str
    section: str


def _vars(section, *rows):
    return [Variable(name, default, parse, help, section) for name, default, parse, help in rows]


VARIABLES = [
    *_vars(
        "Stack",
        ("STACK_NAME", "jupyterhub", _name,
         "Name of the Swarm stack (docker stack ls)."),
        ("PUBLIC_PORT", "443", _port,
         "Port users reach the hub on, published in host mode on its node: HTTPS at the edge"
         " (Caddy), or the proxy's plain HTTP with TLS=off."),
        ("NETWORK_NAME", "jupyterhub", _name,
         "Overlay network of the proxy, the hub and every user's server."),
        ("HUB_DATA_VOLUME", "jupyterhub-data", _name,
         "Volume for the hub's database."),
        ("HUB_IMAGE", "swarmspawner/hub:latest", _text,
         "Image of the hub (and of the proxy, which runs from the same image)."),
        ("PIN_LOCAL_IMAGES", "false", _bool,
         "true: run the images by their local ID (built or loaded on every node, no registry),"
         " so no node ever tries a pull."),
        ("HUB_CONSTRAINT", "node.role == manager", _text,
         "Where the hub runs; it needs a manager's Docker socket."),
        ("DB_SERVICE", "none", _choice("none", "postgres"),
         "postgres: run PostgreSQL (POSTGRES_IMAGE, Debian's packages) as a service of the stack,"
         " on the hub's node and its private network, with its data on the volume"
         " STACK_NAME_db_data and a password the deploy makes as a Docker secret; the hub uses"
         " it (leave DB_URL and DB_PASSWORD_FILE unset). none: DB_URL says where the database"
         " is."),
        ("POSTGRES_IMAGE", "swarmspawner/postgres:latest", _text,
         "With DB_SERVICE=postgres: the database's image (docker/postgres/, built by make"
         " images)."),
        ("DB_URL", "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite", _db_url,
         "The hub's database; PostgreSQL works too (postgresql://USER@HOST/DB, no password"
         " here)."),
        ("DB_PASSWORD_FILE", "", _text,
         "File holding the database password (it reaches the hub as a Docker secret); empty"
         " when DB_URL needs none."),
        ("SQLITE_SYNCHRONOUS", "NORMAL", _sqlite_synchronous,
         "With a sqlite:// DB_URL: NORMAL (WAL; a commit does not wait for the disk, so many users"
         " starting or stopping at once do not stall the hub; a power cut may lose the last"
         " commits) or FULL (every commit waits for the disk)."),
    ),
    *_vars(
        "Front door (HTTPS)",
        ("PUBLIC_HOST", "localhost", _host_name,
         "The host name users type (in DNS, naming the node the edge runs on): the certificate is"
         " for it, and OAuth callbacks go to https://PUBLIC_HOST[:PUBLIC_PORT]/hub/oauth_callback."),
        ("TLS", "internal", _choice(*TLS_MODES),
         "internal: a certificate from this deployment's own CA, made beside this file as"
         f" {INTERNAL_CA_CERT} (give it to browsers, or curl --cacert), for labs and trials;"
         " files: your own certificate (TLS_CERT_FILE, TLS_KEY_FILE); acme: a certificate for"
         " PUBLIC_HOST from an ACME CA (Let's Encrypt), renewed without restarts (PUBLIC_HOST in"
         " public DNS, PUBLIC_PORT=443, HTTP_PORT=80); off: plain HTTP from the proxy at"
         " PUBLIC_PORT, for a TLS terminator of your own in front."),
        ("HTTP_PORT", "80", _port,
         "The edge's plain HTTP port: it redirects to HTTPS (and answers ACME's HTTP challenge)."),
        ("INTERNAL_PORT", "8000", _port,
         "With TLS on: the port the proxy publishes on its node for users' servers to reach the"
         " hub (plain HTTP: keep it closed to everything outside the cluster)."),
        ("TLS_CERT_FILE", "", _text,
         "files: the certificate chain (PEM), the server's certificate first."),
        ("TLS_KEY_FILE", "", _text,
         "files: its private key (PEM); it reaches the edge as a Docker secret."),
        ("ACME_EMAIL", "", _text,
         "acme: the contact address for the CA's notices; empty for none."),
        ("ACME_CA", "", _url,
         "acme: the CA's ACME directory URL; empty for Let's Encrypt."),
    ),
    *_vars(
        "Login",
        ("AUTHENTICATOR", "native", _authenticator,
         "How users log in. native: users sign up on the hub and an admin approves each account"
         " at /hub/authorize (ADMIN_USERS sign up first, and are admins at once); github or"
         " generic: OAuth 2 / OpenID Connect (OAUTH_*); ldap: a directory (LDAP_*); dummy: any"
         " user name with the password in DUMMY_PASSWORD_FILE (a lab only: not a login); or an"
         " authenticator's class path, configured in HUB_EXTRA_CONFIG."),
        ("ADMIN_USERS", "", _list,
         "Comma-separated admin user names; they can log in with every authenticator."),
        ("ALLOWED_USERS", "", _list,
         "github, generic, ldap: comma-separated users let in besides the allowed organisations"
         " or groups."),
        ("ALLOW_ALL_USERS", "false", _bool,
         "github, generic, ldap: let in everyone the provider or directory accepts."),
        ("OPEN_SIGNUP", "false", _bool,
         "native: a new account works at once, without an admin's approval."),
        ("DUMMY_PASSWORD_FILE", "secrets/lab-password", _text,
         "dummy: the file holding the lab password (kept out of git)."),
        ("OAUTH_CLIENT_ID", "", _text,
         "github, generic: the OAuth app's client id."),
        ("OAUTH_CLIENT_SECRET_FILE", "", _text,
         "github, generic: the file holding the app's client secret (a Docker secret for the"
         " hub)."),
        ("GITHUB_ALLOWED_ORGANIZATIONS", "", _list,
         "github: comma-separated organisations (or org:team) whose members may log in."),
        ("OAUTH_AUTHORIZE_URL", "", _url,
         "generic: the provider's authorization endpoint."),
        ("OAUTH_TOKEN_URL", "", _url,
         "generic: the provider's token endpoint."),
        ("OAUTH_USERDATA_URL", "", _url,
         "generic: the provider's userinfo endpoint."),
        ("OAUTH_SCOPES", "openid,profile,email", _list,
         "generic: comma-separated scopes to ask for."),
        ("OAUTH_USERNAME_CLAIM", "preferred_username", _text,
         "generic: the userinfo claim that is the user name."),
        ("OAUTH_GROUPS_CLAIM", "groups", _text,
         "generic: the userinfo claim listing the user's groups."),
        ("OAUTH_ALLOWED_GROUPS", "", _list,
         "generic: comma-separated groups whose members may log in."),
        ("OAUTH_LOGIN_SERVICE", "OpenID Connect", _text,
         "generic: the provider's name on the login button."),
        ("LDAP_SERVER", "", _ldap_uri,
         "ldap: ldap://HOST[:PORT] (StartTLS before any password is sent) or ldaps://HOST[:PORT]."),
        ("LDAP_CA_FILE", "", _text,
         "ldap: the CA certificate (PEM) that signed the directory's; empty for the system's."),
        ("LDAP_INSECURE", "false", _bool,
         "ldap: true sends passwords without TLS (a lab's directory only)."),
        ("LDAP_BIND_DN_TEMPLATE", "", _dn_list,
         "ldap: a user's DN with {username}, e.g. uid={username},ou=people,dc=example,dc=org"
         " (';' between several); or empty, and LDAP_SEARCH_BASE finds it."),
        ("LDAP_SEARCH_BASE", "", _text,
         "ldap: where to search for the user's entry, e.g. ou=people,dc=example,dc=org."),
        ("LDAP_USER_ATTRIBUTE", "uid", _text,
         "ldap: the attribute holding the user name (sAMAccountName on Active Directory)."),
        ("LDAP_SEARCH_USER_DN", "", _text,
         "ldap: the DN to search as; empty for an anonymous search."),
        ("LDAP_SEARCH_PASSWORD_FILE", "", _text,
         "ldap: the file holding its password (a Docker secret for the hub)."),
        ("LDAP_ALLOWED_GROUPS", "", _dn_list,
         "ldap: group DNs whose members may log in, ';' between them."),
    ),
    *_vars(
        "Users",
        ("HUB_EXTRA_CONFIG", "", _text,
         "Optional file of extra Python configuration for the hub (it reaches the hub as a Docker"
         " secret)."),
        ("ALLOW_NAMED_SERVERS", "true", _bool,
         "Let users run several named servers."),
        ("NAMED_SERVER_LIMIT", "3", _count,
         "Named servers a user may have at most (besides the default one)."),
        ("USER_CPU_GUARANTEE_TOTAL", "", _cores,
         "CPU cores one user's running servers may reserve in all; empty for no ceiling."),
        ("USER_MEM_GUARANTEE_TOTAL", "", _bytes,
         "Memory one user's running servers may reserve in all, e.g. 8G; empty for no ceiling."),
        ("ACTIVE_SERVER_LIMIT", "", _optional_count,
         "Servers running at once on the whole hub at most; empty for no limit."),
        ("CONCURRENT_SPAWN_LIMIT", "100", _whole,
         "Starts in progress on the whole hub at most, those waiting their turn"
         " (BOOT_LIMIT_PER_NODE) included; one more is refused with JupyterHub's \"Too many"
         " users trying to log in right now. Try again in ...\" (HTTP 429). 0: no limit. A start"
         " waiting its turn costs the hub little: raise it when more users than this start at"
         " once (a class at its first lab), within what START_TIMEOUT lets the line reach."),
        ("IDLE_TIMEOUT", "3600", _seconds,
         "Stop servers idle this many seconds (the idle culler); 0 turns it off."),
    ),
    *_vars(
        "Servers",
        ("SINGLEUSER_IMAGE", "swarmspawner/singleuser:latest", _text,
         "Image of users' notebook servers."),
        ("SERVICE_PREFIX", "jupyter", _name,
         "Servers are services named PREFIX-USER-SERVER."),
        ("CPU_LIMIT", "1", _cpu_limit,
         "CPU cores a server may use; empty for no limit."),
        ("MEM_LIMIT", "2G", _memory_limit,
         "Memory a server may use, e.g. 2G; empty for no limit."),
        ("CPU_GUARANTEE", "", _cores,
         "CPU cores reserved for each server; empty for none."),
        ("MEM_GUARANTEE", "", _bytes,
         "Memory reserved for each server, e.g. 512M; empty for none."),
        ("PLACEMENT_CONSTRAINTS", "", _constraints,
         "Where servers may run, ';'-separated, e.g. node.role == worker;node.labels.gpu == no"),
        ("PROFILES_FILE", "", _text,
         "Optional YAML file of the servers users choose from (profiles, see"
         " swarmspawner_deploy/profilesfile.py); empty: the one kind of server above. The"
         " playbook (make up, make sync) puts each profile's image on the nodes that may run it."),
        ("START_TIMEOUT", "300", _seconds,
         "Seconds a server may take to start, waiting for its turn (BOOT_LIMIT_PER_NODE)"
         " included."),
        ("BOOT_LIMIT_PER_NODE", "4", _whole,
         "At most this many servers boot at once on each node; further starts wait their turn"
         " in order, each user shown their place in line. Notebook servers booting at once"
         " contend for a node's CPU: 4 at a time on 2 cores had 30 all ready sooner and the"
         " median user waiting half as long (benchmarks/results/scale.md); more cores, more at"
         " once. 0: no limit (for servers that start in a fraction of a second)."),
        ("POLL_INTERVAL", "30", _seconds,
         "Seconds between the hub's checks of running servers."),
    ),
    *_vars(
        "Users' files",
        ("USER_STORAGE", "shared", _choice(*STORAGE_MODES),
         "shared: each user's directory on a filesystem shared by every node (USER_STORAGE_PATH),"
         " so their files follow them to any node; local: a named volume (USER_VOLUME) on the node"
         " of their first start, their servers kept on that node; none: nothing is kept."),
        ("USER_VOLUME_TARGET", "/home/jovyan", _path,
         "Where the user's files are mounted in their servers; JupyterLab opens there."),
        ("USER_STORAGE_PATH", "/srv/swarmspawner/users", _host_path,
         "shared: where the shared filesystem is mounted on every node (and in the hub); a"
         " user's directory is USER_STORAGE_PATH/<user>."),
        ("STORAGE_FILESYSTEM", "nfs", _choice(*STORAGE_FILESYSTEMS),
         "shared: how the playbook mounts USER_STORAGE_PATH on every node: nfs (NFS_EXPORT, or an"
         " NFS server it sets up on the inventory's 'storage' host), sshfs (FUSE over SSH from the"
         " 'storage' host, for kernels without an NFS client) or existing (the admin's own mount,"
         " or a single node)."),
        ("NFS_EXPORT", "", _nfs_export,
         "shared, nfs: the export every node mounts, SERVER:/PATH; empty: the playbook serves"
         " /srv/swarmspawner/export from the inventory's 'storage' host."),
        ("USER_UID", "1000", _id,
         "Owner of users' directories: the uid the image's user runs as (jovyan)."),
        ("USER_GID", "100", _id,
         "Group of users' directories: the image user's gid (users)."),
        ("USER_DIR_MODE", "0700", _mode,
         "shared: mode of a new user directory."),
        ("USER_VOLUME", "jupyterhub-user-{username}", _volume_template,
         "local: each user's volume."),
        ("VOLUME_DRIVER", "", _text,
         "local: driver of users' volumes; empty for the engine's default."),
        ("VOLUME_DRIVER_OPTIONS", "", _options,
         "local: driver options, e.g. type=nfs,o=addr=10.0.0.5,device=:/export/{username}"),
        ("LOCAL_STORAGE_FALLBACK", "false", _bool,
         "local: when a user's node is down or drained, start their server elsewhere (without"
         " their files, which they are told stay on that node) instead of refusing."),
    ),
    *_vars(
        "Least privilege",
        ("CONTROL_SUBNET", "10.213.213.0/24", _subnet,
         "Subnet of the stack's private network, where only the hub reaches the proxy's API and"
         " the engine (through its filtering proxy); users' servers are not on it. Each stack of"
         " a swarm needs its own: the deploy refuses one another network uses, naming a free one."),
        ("OVERLAY_ENCRYPTED", "false", _bool,
         "true: the stack's overlay networks encrypt what crosses between nodes (IPsec, Docker's"
         " encrypted overlay; the playbook first checks that every node's kernel has ESP with"
         " AES-GCM, without which the traffic would be dropped). Takes effect on networks the deploy"
         " creates: switching it on an existing deployment is refused until the stack is removed."),
        ("SERVER_ISOLATION", "true", _bool,
         "true: users' servers cannot open connections to each other (the playbook's agent on"
         " every node firewalls each server's own network namespace as it starts: it accepts"
         " only the proxy's and the hub's connections, to its own port); false: they can, e.g."
         " for a course whose students share services. Applied by `make up` and `make sync`."),
        ("SERVER_BIND_ROOTS", "", _host_paths,
         "Folders on the nodes below which users' servers may bind, ';'-separated (the shared"
         " USER_STORAGE_PATH counts already), for mounts an admin adds in HUB_EXTRA_CONFIG. The"
         " hub reaches the engine only through the stack's filtering proxy, which refuses a"
         " server binding anything else."),
    ),
    *_vars(
        "Hosts (the Ansible playbook's Docker engines, daemon.json)",
        ("DOCKER_LOG_MAX_SIZE", "10m", _log_size,
         "Rotate a container's log at this size."),
        ("DOCKER_LOG_MAX_FILE", "3", _count,
         "Rotated log files kept per container."),
        ("DOCKER_ADDRESS_POOLS", "", _address_pools,
         "Local networks' address pools, e.g. 10.201.0.0/16:24; empty for the engine's default."),
        ("REGISTRY_MIRRORS", "", _list,
         "Comma-separated registry mirror URLs; empty for none."),
        ("INSECURE_REGISTRIES", "", _list,
         "Comma-separated registries reached over plain HTTP, e.g. 10.0.0.5:5000; empty for none."),
    ),
]
BY_NAME = {v.name: v for v in VARIABLES}


class Settings(dict):
    """Parsed values by variable name, also readable as attributes (``settings.MEM_LIMIT``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _needs(settings, why, *names):
    return [f"{why} needs {name}" for name in names if not settings[name]]


def _front_door_problems(settings):
    tls = settings.TLS
    problems = []
    if tls == "files":
        problems += _needs(settings, "TLS=files", "TLS_CERT_FILE", "TLS_KEY_FILE")
    if tls == "acme":
        if settings.PUBLIC_HOST == "localhost" or "." not in settings.PUBLIC_HOST:
            problems.append(f"TLS=acme needs PUBLIC_HOST to be a host name in public DNS, not"
                            f" {settings.PUBLIC_HOST!r} (or use TLS=internal)")
        for name, port in (("PUBLIC_PORT", 443), ("HTTP_PORT", 80)):
            if settings[name] != port:
                problems.append(f"TLS=acme needs {name}={port}: the CA checks the host there")
    if tls != "off" and len({settings.PUBLIC_PORT, settings.HTTP_PORT, settings.INTERNAL_PORT}) < 3:
        problems.append("PUBLIC_PORT, HTTP_PORT and INTERNAL_PORT must be three different ports")
    return problems


def _login_problems(settings):
    kind = settings.AUTHENTICATOR
    why = f"AUTHENTICATOR={kind}"
    problems = []
    if kind in ("github", "generic"):
        problems += _needs(settings, why, "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET_FILE")
        if settings.TLS == "off":
            problems.append(f"{why} needs HTTPS for its callback: TLS other than off")
    if kind == "generic":
        problems += _needs(settings, why, "OAUTH_AUTHORIZE_URL", "OAUTH_TOKEN_URL",
                           "OAUTH_USERDATA_URL")
    if kind == "ldap":
        problems += _needs(settings, why, "LDAP_SERVER")
        if not settings.LDAP_BIND_DN_TEMPLATE and not settings.LDAP_SEARCH_BASE:
            problems.append(f"{why} needs LDAP_BIND_DN_TEMPLATE or LDAP_SEARCH_BASE (how to find"
                            " a user's entry)")
        if settings.LDAP_SEARCH_USER_DN and not settings.LDAP_SEARCH_PASSWORD_FILE:
            problems.append("LDAP_SEARCH_USER_DN needs LDAP_SEARCH_PASSWORD_FILE")
        if settings.LDAP_INSECURE and settings.LDAP_SERVER.startswith("ldaps:"):
            problems.append("LDAP_INSECURE=true contradicts an ldaps:// LDAP_SERVER")
    allowed = {"github": "GITHUB_ALLOWED_ORGANIZATIONS", "generic": "OAUTH_ALLOWED_GROUPS",
               "ldap": "LDAP_ALLOWED_GROUPS"}.get(kind)
    if allowed and not (settings[allowed] or settings.ALLOWED_USERS or settings.ALLOW_ALL_USERS):
        problems.append(f"{why} lets nobody in but ADMIN_USERS: set {allowed}, ALLOWED_USERS or"
                        " ALLOW_ALL_USERS=true")
    return problems


def secret_files(settings):
    """The files the settings name whose contents reach a service as Docker secrets:
    (variable, path relative to the env file, secret name, service) each. The variable is
    None for the internal CA, which the deploy makes itself when it is missing."""
    kind = settings.AUTHENTICATOR
    rows = [
        ("DUMMY_PASSWORD_FILE", "lab_password", "hub", kind == "dummy"),
        ("OAUTH_CLIENT_SECRET_FILE", "oauth_client_secret", "hub", kind in ("github", "generic")),
        ("LDAP_SEARCH_PASSWORD_FILE", "ldap_search_password", "hub", kind == "ldap"),
        ("LDAP_CA_FILE", "ldap_ca", "hub", kind == "ldap"),
        ("DB_PASSWORD_FILE", "db_password", "hub", True),
        ("HUB_EXTRA_CONFIG", "extra_config", "hub", True),
        ("TLS_CERT_FILE", "tls_cert", "edge", settings.TLS == "files"),
        ("TLS_KEY_FILE", "tls_key", "edge", settings.TLS == "files"),
    ]
    found = [(name, settings[name], secret, service)
             for name, secret, service, used in rows if used and settings[name]]
    if settings.TLS == "internal":
        found += [(None, INTERNAL_CA_CERT, "ca_cert", "edge"),
                  (None, INTERNAL_CA_KEY, "ca_key", "edge")]
    return found


def _python_problems(variable, base_dir, path):
    """A Python file's syntax errors, found here rather than by a hub that would not start.
    (What only running it shows, a name never imported say, the deploy reports from the
    new hub's output, and Swarm puts back the hub that ran: swarmspawner_deploy/rollout.py.)"""
    try:
        with open(os.path.join(base_dir, path), "rb") as source:
            compile(source.read(), path, "exec")
    except SyntaxError as e:
        line = f": {e.text.strip()}" if e.text else ""
        return [f"{variable}={path!r}: line {e.lineno}: {e.msg}{line}"]
    except ValueError as e:  # a NUL byte
        return [f"{variable}={path!r}: not Python source: {e}"]
    return []


def parse(raw, base_dir=".", check_files=True):
    """Text values by name -> :class:`Settings`; every problem is reported at once.

    ``check_files=False`` where the files an env file names are not at hand (in the hub,
    which gets their contents as Docker secrets).
    """
    problems = []
    unknown = sorted(set(raw) - set(BY_NAME))
    for name in unknown:
        problems.append(f"{name} is not a setting this deployment knows (a typo?)")
    settings = Settings()
    for var in VARIABLES:
        text = raw.get(var.name)
        text = var.default if text is None else str(text).strip()
        try:
            settings[var.name] = var.parse(text)
        except ValueError as e:
            problems.append(f"{var.name}={text!r} is not valid: expected {e}")
    if not problems:
        problems += _front_door_problems(settings) + _login_problems(settings)
    if check_files and not problems:
        for variable, path, _, _ in secret_files(settings):
            full = os.path.join(base_dir, path)
            if variable and (not os.path.isfile(full) or not open(full, "rb").read().strip()):
                problems.append(f"{variable}={path!r}: the file is missing or empty")
            elif variable == "DUMMY_PASSWORD_FILE" and len(open(full).read().strip()) < 8:
                # JupyterHub's shared-password authenticator refuses to start with less.
                problems.append(f"{variable}={path!r}: the lab password must have 8 characters"
                                " or more")
    if not problems and settings.DB_SERVICE == "postgres":
        problems += [f"DB_SERVICE=postgres runs the hub's database itself: leave {name} unset"
                     for name in ("DB_URL", "DB_PASSWORD_FILE")
                     if settings[name] != BY_NAME[name].default]
    if not problems and settings.USER_STORAGE == "local" and not settings.USER_VOLUME:
        problems.append("USER_STORAGE=local needs USER_VOLUME, the name of each user's volume")
    for guarantee, limit in (("CPU_GUARANTEE", "CPU_LIMIT"), ("MEM_GUARANTEE", "MEM_LIMIT")):
        if not problems and settings[guarantee] and settings[limit] and (
            settings[guarantee] > settings[limit]
        ):
            problems.append(f"{guarantee} is larger than {limit}: a server could never get it")
    if check_files and not problems and settings.HUB_EXTRA_CONFIG:
        problems += _python_problems("HUB_EXTRA_CONFIG", base_dir, settings.HUB_EXTRA_CONFIG)
    if check_files and not problems and settings.PROFILES_FILE:
        try:
            load_profiles_file(os.path.join(base_dir, settings.PROFILES_FILE))
        except ProfilesFileError as e:
            problems.extend(f"PROFILES_FILE: {problem}" for problem in e.problems)
    if problems:
        raise EnvError(problems)
    return settings


def load(path=".env", check_files=True):
    """Read and validate an env file. Relative file settings are relative to its folder."""
    if not os.path.isfile(path):
        raise EnvError([f"{path}: no such env file; copy config/env.example to start one"])
    raw = {k: v for k, v in dotenv_values(path).items() if v is not None}
    return parse(raw, os.path.dirname(os.path.abspath(path)), check_files)


def images(settings, path):
    """Every image the deployment runs, with the placements it runs under (the playbook puts
    each on the nodes that may run it): the hub's, the database's (DB_SERVICE=postgres), the
    servers' default, the profiles'."""
    profiles = (load_profiles_file(os.path.join(os.path.dirname(os.path.abspath(path)),
                                                settings.PROFILES_FILE))
                if settings.PROFILES_FILE else [])
    hub = {"name": settings.HUB_IMAGE, "placements": [[settings.HUB_CONSTRAINT]]}
    database = ([{"name": settings.POSTGRES_IMAGE, "placements": [[settings.HUB_CONSTRAINT]]}]
                if settings.DB_SERVICE == "postgres" else [])
    servers = server_images(profiles, settings.SINGLEUSER_IMAGE, settings.PLACEMENT_CONSTRAINTS)
    for image in servers:
        if image["name"] == hub["name"]:
            image["placements"].append(hub["placements"][0])
            return [*database, *servers]
    return [hub, *database, *servers]


def example():
    """The example env file: every variable with its sentence and default."""
    lines = [
        "# The deployment's settings: copy to .env and edit. Every variable is optional;",
        "# the value shown is the default. Checked by: swarmspawner-env check .env",
    ]
    section = None
    for var in VARIABLES:
        if var.section != section:
            section = var.section
            lines += ["", f"# --- {section} " + "-" * (70 - len(section))]
        lines += [*(f"# {line}" for line in textwrap.wrap(var.help, 96)),
                  f"{var.name}={var.default}"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "check"
    if command == "example":
        sys.stdout.write(example())
        return 0
    path = argv[1] if len(argv) > 1 else ".env"
    try:
        settings = load(path)
    except EnvError as e:
        print(f"{path} has {len(e.problems)} problem(s):", file=sys.stderr)
        for problem in e.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if command == "json":
        # FILES: what the deploy reads beside the env file (the Ansible stack role copies them).
        files = [path for _, path, _, _ in secret_files(settings)]
        files += [settings.PROFILES_FILE] if settings.PROFILES_FILE else []
        json.dump({**settings, "FILES": files, "IMAGES": images(settings, path)}, sys.stdout,
                  indent=1, sort_keys=True)
        print()
    else:
        print(f"{path}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
