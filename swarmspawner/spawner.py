"""SwarmSpawner: each user's notebook server is one Docker Swarm service.

The lifecycle lives here; the service spec comes from :mod:`.objects`, names from
:mod:`.slugs`, and every view of running tasks from the shared :mod:`.reflector`.
"""

import asyncio
import contextlib
import copy
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import docker.errors
import sqlalchemy
from jupyterhub import __version__ as jupyterhub_version
from jupyterhub.spawner import Spawner
from jupyterhub.traitlets import ByteSpecification
from jupyterhub.utils import exponential_backoff, maybe_future
from tornado import web
from traitlets import (
    Bool,
    Callable,
    Dict,
    Float,
    Integer,
    List,
    TraitError,
    Unicode,
    Union,
    default,
    validate,
)

from . import profiles as profiles_mod
from . import hubaddress, slugs, storage, units
from .admission import Ticket
from .client import AsyncDocker
from .errors import SpawnError
from .form import render_form
from .objects import (
    ENDPOINT_MODES,
    LABEL_HUB,
    LABEL_SERVER,
    LABEL_USER,
    ServiceSettings,
    SpecError,
    make_service_spec,
)
from .options import UserOptionsError
from .reflector import ENDED_STATES, STARTING_STATES, TaskReflector

# (percent, message) shown on the spawn page as the task moves through the swarm.
_PROGRESS = {
    "new": (25, "Waiting for the swarm to schedule the server"),
    "allocated": (25, "Waiting for the swarm to schedule the server"),
    "pending": (30, "Waiting for the swarm to place the server on a node"),
    "assigned": (40, "Assigned to node {node}"),
    "accepted": (45, "Accepted by node {node}"),
    "preparing": (50, "Preparing on node {node}: getting image {image}"),
    "ready": (70, "Image ready on node {node}"),
    "starting": (80, "Starting on node {node}"),
    "running": (90, "Running on node {node}; waiting for the notebook server to answer"),
}


class NodeLost(Exception):
    """The node a server was booting on left the swarm's ready nodes."""

    def __init__(self, node, state):
        super().__init__(node, state)
        self.node = node
        self.state = state

    def message(self, pinned):
        why = ("your files are on that node" if pinned else
               "it was lost again on the next node")
        return (f"Your server could not start: node {self.node} stopped answering while it"
                f" started there (the swarm reports the node {self.state}), and {why}."
                " Try again in a few minutes, or ask an admin about the node.")


@dataclass(eq=False)
class SpawnState:
    """One spawn of a server: the user's choice, what it changed, what the user is shown."""

    #: The user_options this spawn was begun with (a form's, or the REST request's).
    user_options: dict | None = None
    #: The admin's profiles for this user, evaluated once per spawn.
    profiles: list | None = None
    #: The form refused user_options: the form is shown again with them.
    refused: bool = False
    #: Settings this spawn changed (profile, group overrides) -> their values before.
    saved: dict = field(default_factory=dict)
    options_applied: bool = False
    #: Placement on the user's volume node, decided once (the REST request's check, then start).
    node_constraints: list | None = None
    starting: bool = False
    finished: bool = False
    _events: list = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, progress, message):
        self._events.append({"progress": progress, "message": message})
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def finish(self):
        self.starting = False
        self.finished = True
        self._changed.set()

    async def events(self):
        """Every progress event, as they come, until the start is over."""
        shown = 0
        while True:
            while shown < len(self._events):
                yield self._events[shown]
                shown += 1
            if self.finished:
                return
            await self._changed.wait()


class ByteSize(ByteSpecification):
    """JupyterHub's ByteSpecification read with the project's one size grammar
    (units.parse_bytes): a profile's ``"2g"`` means what the .env's ``2g`` does."""

    def validate(self, obj, value):
        if value is None:
            return None
        try:
            return units.parse_bytes(value, self.name)
        except ValueError as e:
            raise TraitError(str(e)) from None


class SwarmSpawner(Spawner):
    """Spawn each single-user server as a Docker Swarm service."""

    # --- what runs --------------------------------------------------------------

    image = Unicode(
        "quay.io/jupyter/base-notebook:latest",
        help="""The image of users' notebook servers. It must provide `jupyterhub-singleuser`
        (or whatever `cmd` names). Every node that may run a server needs it, or a registry
        to pull it from.""",
    ).tag(config=True)

    entrypoint = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        help="""Override the image's ENTRYPOINT (the service's `Command`). Usually leave this
        unset and set `cmd`, which becomes the service's `Args` (the image's CMD).""",
    ).tag(config=True)

    # --- names and identity -----------------------------------------------------

    service_prefix = Unicode(
        "jupyter",
        help="""Services are named `{service_prefix}-{user}-{server}`, where `server` is `1`
        for a user's default server. Lowercase letters, digits and hyphens.""",
    ).tag(config=True)

    @validate("service_prefix")
    def _check_prefix(self, proposal):
        try:
            return slugs.check_prefix(proposal["value"])
        except ValueError as e:
            raise TraitError(str(e)) from e

    hub_id = Unicode(
        "jupyterhub",
        help=f"""Identifies this hub's services on the swarm through the label `{LABEL_HUB}`.
        Give each hub that shares a swarm its own id; a hub adopts and watches only the
        services with its id.""",
    ).tag(config=True)

    jupyterhub_service_name = Unicode(
        "",
        help="""The Swarm service name of the hub (the original cassinyspawner's setting). When
        set and `hub_connect_url` is not: if that service publishes a port in host mode (the
        hub's own proxy, or its API), servers reach the hub at that node's address and port,
        which stay valid when the hub restarts (see `hub_connect_service`); otherwise at
        `http://{jupyterhub_service_name}:{hub port}`, an address servers keep for the
        engine's DNS TTL (600 s) after a hub restart.""",
    ).tag(config=True)

    hub_connect_service = Unicode(
        "",
        help="""A Swarm service that publishes, in host mode, a port reaching the hub's API,
        e.g. the proxy's public port (`jupyterhub_proxy`; a stack's short name `proxy` works
        too). Each server then reaches the hub at `http://{node address}:{published port}` of
        the node running that service, looked up at each start: unlike a service name (whose
        address servers keep for 600 s, while a restarted task gets a new one) or a virtual IP
        (which needs IPVS), it stays valid when the hub or the proxy restarts. Overrides
        `hub_connect_url` when the service is found; falls back to it when not.""",
    ).tag(config=True)

    # --- where it runs ----------------------------------------------------------

    networks = List(
        Unicode(),
        help="""Overlay networks to attach each server to. The hub and the proxy must be on
        the first: they reach a server at its task's address there (not by its service name,
        whose DNS answer servers' and the hub's HTTP clients would keep for 600 s).""",
    ).tag(config=True)

    endpoint_mode = Unicode(
        "dnsrr",
        help="""`dnsrr` (default): the service name resolves straight to the server's task; a
        single-replica server needs no virtual IP (and kernels without IPVS cannot route
        one). `vip` gives the service a virtual IP. The hub and the proxy use the task's
        address either way.""",
    ).tag(config=True)

    @validate("endpoint_mode")
    def _check_endpoint_mode(self, proposal):
        if proposal["value"] not in ENDPOINT_MODES:
            raise TraitError(f"endpoint_mode must be one of {', '.join(ENDPOINT_MODES)}")
        return proposal["value"]

    placement_constraints = List(
        Unicode(),
        help="""Swarm placement constraints, as `docker service create --constraint` takes them,
        e.g. `["node.role == worker", "node.labels.gpu == yes"]`.""",
    ).tag(config=True)

    placement_preferences = List(
        Union([Unicode(), Dict()]),
        help="""Swarm placement preferences, e.g. `["spread=node.labels.zone"]`.""",
    ).tag(config=True)

    restart_policy = Dict(
        {"Condition": "none"},
        help="""The service's restart policy (`Condition`: none, on-failure or any; `Delay` and
        `Window` in nanoseconds, or lowercase keys with seconds). `none` by default so that a
        server that crashes does not restart in a loop; the hub notices it stopped.""",
    ).tag(config=True)

    # --- storage ----------------------------------------------------------------

    mounts = List(
        Dict(),
        help="""Mounts for each server, as dicts with `type` (`bind`, `volume` or `tmpfs`),
        `source` and `target`, and optionally `read_only`, `driver`, `driver_opts`, `labels`,
        `no_copy`, `propagation`, `tmpfs_size`, `tmpfs_mode`. Sources may use `{username}`
        (a DNS-safe form of the user's name), `{servername}` (the server's, empty for the
        default server), `{prefix}` and `{username_md5}` (the original package's
        `{username}`). A named volume is created when missing and kept when the
        server stops; a volume without a source is anonymous and goes with the service.""",
    ).tag(config=True)

    volume_driver = Unicode(
        "",
        help="""Volume driver for named volumes that do not name their own `driver`
        (empty: the engine's default, `local`).""",
    ).tag(config=True)

    volume_driver_options = Dict(
        help="""Options for `volume_driver`, e.g. an NFS share through the local driver:
        `{"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/export/home/{username}"}`.""",
    ).tag(config=True)

    shared_home_root = Unicode(
        "",
        help="""Shared storage for users' files: a path where the same filesystem (NFS, sshfs,
        ...) is mounted on every node that may run a server and in the hub's container. Each
        user gets the directory `{shared_home_root}/{username}`, made by the hub on their first
        start (owned by `home_uid`:`home_gid`, mode `home_mode`) and mounted at `home_target`
        in each of their servers, so their files follow them to any node. Empty: none.""",
    ).tag(config=True)

    home_target = Unicode(
        "/home/jovyan",
        help="""Where the user's directory on shared storage is mounted in their servers. Set
        `notebook_dir` to it, or below it, so that nothing a user makes in JupyterLab's file
        browser is outside it.""",
    ).tag(config=True)

    home_uid = Integer(1000, help="Owner of a new user directory: the image's user (jovyan).").tag(
        config=True)
    home_gid = Integer(100, help="Group of a new user directory: the image's group (users).").tag(
        config=True)
    home_mode = Integer(0o700, help="Mode of a new user directory (0o700: its owner only).").tag(
        config=True)

    volume_node_sticky = Bool(
        False,
        help="""Node-local storage: keep each user's servers on the node where their first
        server ran, which holds their named volumes. The node is kept in the server's state
        (through stops and hub restarts; admins see it as `volume_node` in the REST API's server
        state, and with `swarmspawner-userdata list`). When that node is down, drained or gone,
        the start fails at once with a sentence naming it, unless `volume_node_fallback`.""",
    ).tag(config=True)

    volume_node_fallback = Bool(
        False,
        help="""With `volume_node_sticky`: when the user's node is down, drained or gone, start
        the server on another node anyway, telling the user that their files stay on the old
        node (which stays their node, so the files are back once it is).""",
    ).tag(config=True)

    # --- resources --------------------------------------------------------------

    generic_resources = Dict(
        help="""Generic resources each server reserves, e.g. `{"gpu": 1}` (a count) or
        `{"gpu": "GPU-0a1b"}` (a named resource). Nodes must advertise them.""",
    ).tag(config=True)

    mem_limit = ByteSize(
        None, allow_none=True, help=Spawner.class_traits()["mem_limit"].help
    ).tag(config=True)
    mem_guarantee = ByteSize(
        None, allow_none=True, help=Spawner.class_traits()["mem_guarantee"].help
    ).tag(config=True)

    @validate("mem_limit", "cpu_limit")
    def _check_limit(self, proposal):
        # A limit means what it says or is refused: Docker reads 0 as "no limit".
        check = units.memory_limit if proposal["trait"].name == "mem_limit" else units.cpu_limit
        try:
            return check(proposal["value"], proposal["trait"].name)
        except ValueError as e:
            raise TraitError(str(e)) from None

    @validate("mem_guarantee", "cpu_guarantee")
    def _check_guarantee(self, proposal):
        value = proposal["value"]
        if value is not None and value < 0:
            raise TraitError(f"{proposal['trait'].name} must not be negative, not {value!r}")
        return value

    user_cpu_guarantee_total = Float(
        None,
        allow_none=True,
        help="""CPU cores one user's servers may reserve in all (their `cpu_guarantee` added
        up, over the servers that run or start); a start beyond it is refused with HTTP 400
        and a sentence. None: no ceiling.""",
    ).tag(config=True)

    user_mem_guarantee_total = ByteSize(
        None,
        allow_none=True,
        help="""Memory one user's servers may reserve in all (their `mem_guarantee` added
        up), e.g. "8G"; a start beyond it is refused with HTTP 400. None: no ceiling.""",
    ).tag(config=True)

    # --- extras -----------------------------------------------------------------

    healthcheck = Dict(
        {"Test": ["NONE"]},
        allow_none=True,
        help="""The servers' health check, as the Engine API's HealthConfig (`Test`, and
        `Interval`, `Timeout`, `StartPeriod` in nanoseconds, `Retries`). By default the
        image's HEALTHCHECK is switched off for spawned servers: JupyterHub already waits for
        a server to answer HTTP before sending its user there, while the swarm would keep the
        task "starting" — and its name out of DNS — until the first check passes, a whole
        interval after the server is up. None keeps the image's check.""",
    ).tag(config=True)

    stop_grace_period = Float(
        10.0,
        help="Seconds a server has to exit after SIGTERM before it is killed.",
    ).tag(config=True)

    extra_labels = Dict(help="Extra labels for each service and its container.").tag(config=True)

    extra_container_spec = Dict(
        help="""Merged into the service's `ContainerSpec` (Engine API field names, e.g.
        `{"User": "1000", "Hostname": "notebook"}`).""",
    ).tag(config=True)

    extra_task_spec = Dict(
        help="""Merged into the service's `TaskTemplate` (Engine API field names).""",
    ).tag(config=True)

    # --- talking to Docker ------------------------------------------------------

    docker_host = Unicode(
        "",
        help="""The engine's address, e.g. `unix:///var/run/docker.sock` or
        `tcp://manager:2376`. Empty: `DOCKER_HOST` or the local socket. It must be a manager.""",
    ).tag(config=True)

    tls_config = Dict(
        help="""Arguments for `docker.tls.TLSConfig` (e.g. `client_cert`, `ca_cert`,
        `verify`) to reach a TLS-protected engine.""",
    ).tag(config=True)

    docker_max_concurrency = Integer(
        10,
        help="""At most this many Docker API requests are in flight from this hub at once;
        further ones wait their turn. The hub's event loop never waits on Docker.""",
    ).tag(config=True)

    boot_limit_per_node = Integer(
        4,
        help="""At most this many servers boot at once on each node, from the creation of their
        service until they answer; further starts wait their turn in order of request, each
        user seeing their place in line on the progress page (one that may boot on a node with
        a free place goes ahead of one waiting for a full node). Notebook servers booting at
        once contend for a node's CPU: four at a time on 2 cores, 30 of them were all ready
        0.82-0.89x as soon as all at once and the median user waited half as long
        (benchmarks/results/scale.md). Servers that start in a fraction of a second gain
        nothing and wait for the swarm's steps in turn: 0 for no limit. The swarm picks a
        server's node: until it has, a booting server counts against every ready node its
        placement constraints allow. Waiting counts towards `start_timeout`.""",
    ).tag(config=True)

    watch_interval = Float(
        15.0,
        help="""Seconds between the hub's listings of its tasks while nothing is starting or
        stopping. One listing serves every server's poll, so the number of engine requests does
        not grow with the number of servers; the listing's size does (about 2.7 kB a server,
        some 0.2 % of a core at 500 servers and 15 s). A server that exits is seen within
        this interval plus the hub's poll interval.""",
    ).tag(config=True)

    watch_busy_interval = Float(
        0.25,
        help="Seconds between listings while a server is starting or stopping.",
    ).tag(config=True)

    unschedulable_timeout = Float(
        5.0,
        help="""Seconds a new server may wait while the swarm reports that no node can take it
        (constraints not met, not enough resources) before the spawn fails with Docker's
        reason.""",
    ).tag(config=True)

    answer_probe_interval = Float(
        0.1,
        help="""Once a server's task runs, start() checks that the server accepts connections
        on its port: at once, then every this many seconds while at most 10 servers of the
        hub wait to answer; with more, each is checked less often, to at most 0.5 s apart
        (with the default, from 50 servers on). start() returns when it answers, so the hub's
        first HTTP check finds it up (JupyterHub's own checks back off to seconds apart, which
        a user would wait out). A server that never answers fails after `http_timeout`, and
        one that exits fails with Docker's reason. 0: return as soon as the task runs.""",
    ).tag(config=True)

    adopt_timeout = Float(
        300.0,
        help="""When the hub starts and Docker reports a server's task running, seconds the
        hub waits for the server to accept connections at its address before JupyterHub's own
        check (`http_timeout`), which stops a server it cannot reach. Docker's word that the
        task runs is kept that long: after the manager's engine restarted, the overlay network
        takes tens of seconds to reach the workers again, and the servers there are fine.
        JupyterHub checks servers in the background after `init_spawners_timeout`, so the hub
        answers meanwhile. A server whose task stops is not waited for.""",
    ).tag(config=True)

    failure_log_lines = Integer(
        20,
        help="""When a server fails to start after its container ran (it exited, or never
        answered), the user's error (progress page, REST answer) and the hub's log show the
        server's own last lines of output: at most this many, and at most 4 KB. 0: none.""",
    ).tag(config=True)

    stop_timeout = Float(
        0.0,
        help="""Seconds stop() waits, after removing the server's service, for the swarm to
        remove its task too. 0 (the default): stop() returns once the service is removed; the
        node stops the container in the background, and a new start under the same name does
        not wait for it (nor for a task on a node that went down, which the swarm only forgets
        once the node is back).""",
    ).tag(config=True)

    # --- what users may choose ---------------------------------------------------

    profile_list = Union(
        [List(Dict()), Callable()],
        default_value=[],
        help="""Servers users choose from on the spawn form, in KubeSpawner's form: a list of
        dicts with `display_name`, `slug` (optional, derived from the display name),
        `description`, `default` and `spawner_override` (alias `kubespawner_override`): a dict
        of SwarmSpawner settings, e.g. `{"image": ..., "cpu_limit": 2, "mem_limit": "4G",
        "placement_constraints": [...], "mounts": [...], "environment": {...}}`. A dict value
        is merged into the setting's configured dict; any other value replaces it. A value may
        be a callable taking the spawner. `profile_options` offer choices within a profile:
        `{name: {"display_name", "choices": {key: {"display_name", "default",
        "spawner_override"}}, "unlisted_choice": {"enabled", "display_name",
        "validation_regex", "validation_message", "spawner_override"}}}`, where `{value}` in
        the unlisted choice's override strings becomes the user's text (which must match
        `validation_regex` in full).

        May be a callable (sync or async) taking the spawner and returning the list, e.g. to
        offer profiles by the user's groups. Users pick through `user_options`
        `{"profile": slug, "<option>": key, "<option>--unlisted-choice": text}`, from the form
        or the REST API; anything not offered is refused with HTTP 400.""",
    ).tag(config=True)

    profile_form_template = Unicode(
        "",
        help="""Jinja2 template text for the profiles on the spawn form, replacing the
        built-in `swarmspawner/templates/profiles_form.html` (start from a copy of it).""",
    ).tag(config=True)

    @default("options_form")
    def _default_options_form(self):
        # JupyterHub's pages tell its JavaScript whether there is a form by this value's truth.
        return self._render_profile_form if self.profile_list else ""

    @default("options_from_form")
    def _default_options_from_form(self):
        return self._profile_options_from_form

    # Settings a profile may not override: they identify or locate this server.
    _protected_traits = frozenset(
        {"service_id", "service_name", "hub_id", "service_prefix", "docker_host", "tls_config",
         "user", "hub", "orm_spawner", "db", "api_token", "oauth_client_id"}
    )
    # Settings that internal option handlers (not profiles) may set.
    _internal_overrides = frozenset()

    async def load_profiles(self):
        """The profiles for this user (``profile_list`` evaluated); a bad list is the admin's
        error (ProfileConfigError)."""
        profile_list = self.profile_list
        if callable(profile_list):
            profile_list = await maybe_future(profile_list(self))
        return profiles_mod.load_profiles(profile_list or [])

    async def _spawn_profiles(self):
        """This spawn's profiles: ``profile_list`` is evaluated once per spawn."""
        spawn = self._spawn_state()
        if spawn.profiles is None:
            spawn.profiles = await self.load_profiles()
        return spawn.profiles

    async def _render_profile_form(self, spawner=None):
        try:
            profiles = await self.load_profiles()
        except profiles_mod.ProfileConfigError as e:
            raise self._admin_error(e) from e
        if not profiles:
            return ""
        spawn = self._spawn
        previous = self.user_options
        if spawn is not None and spawn.refused:
            # Once: the page after shows the last spawn's choice again.
            previous, spawn.refused = spawn.user_options, False
        return render_form(profiles, previous, self.profile_form_template)

    async def _profile_options_from_form(self, form_data):
        # A form's POST is the first step of its spawn.
        spawn = self._begin_spawn()
        try:
            profiles = await self._spawn_profiles()
        except profiles_mod.ProfileConfigError as e:
            raise self._admin_error(e) from e
        if not profiles:
            return self._passthrough_options_from_form(form_data)
        spawn.user_options = profiles_mod.form_to_user_options(profiles, form_data)
        # Checked here too, so that a bad form is shown again with the reason (HTTP 400)
        # before JupyterHub begins a spawn, filled in as the user left it.
        try:
            await self.resolve_user_options_or_400(spawn.user_options)
        except web.HTTPError:
            spawn.refused = True
            raise
        return spawn.user_options

    async def resolve_user_options(self, user_options):
        """``user_options`` -> ``{setting: value}``, or UserOptionsError for the user.

        Subclasses that accept more fields handle theirs and pass the rest on.
        """
        profiles = await self._spawn_profiles()
        # An admin's own apply_user_options hook owns the fields we do not know.
        theirs = ()
        if self.apply_user_options is not None and isinstance(user_options, dict):
            known = {profiles_mod.PROFILE_FIELD}
            for profile in profiles:
                for name in profile.options:
                    known |= {name, name + profiles_mod.UNLISTED_SUFFIX}
            theirs = set(user_options) - known
        _, overrides = profiles_mod.resolve(profiles, user_options, ignore=theirs)
        return overrides

    async def resolve_user_options_or_400(self, user_options):
        try:
            return await self.resolve_user_options(user_options)
        except UserOptionsError as e:
            raise _bad_request(str(e)) from e
        except profiles_mod.ProfileConfigError as e:
            raise self._admin_error(e) from e

    # --- one spawn's state ------------------------------------------------------
    #
    # A spawner object serves every spawn of its server. What one spawn chose and changed
    # lives in one SpawnState, begun by the spawn's first step (the form's POST, or else
    # JupyterHub's group overrides) and finished when start() returns; the settings it
    # changed are put back when the next one begins.

    _spawn = None

    def _spawn_state(self):
        if self._spawn is None or self._spawn.finished:
            return self._begin_spawn()
        return self._spawn

    def _begin_spawn(self):
        previous = self._spawn
        if previous is not None:
            for name, value in previous.saved.items():
                setattr(self, name, value)
        self._spawn = SpawnState()
        # The form's POST began this spawn already: keep its profiles and choice.
        if (previous is not None and not previous.finished and not previous.refused
                and previous.user_options is not None
                and previous.user_options == self.user_options):
            self._spawn.profiles = previous.profiles
            self._spawn.user_options = previous.user_options
        return self._spawn

    async def apply_group_overrides(self):
        """JupyterHub's first step of every spawn: begin it, then apply ``group_overrides``.

        Applied like a profile's overrides (checked, merged, undone before the next spawn),
        so a user who leaves a group loses its settings at their next start.
        """
        spawn = self._begin_spawn()
        if spawn.profiles is None and spawn.user_options is None:
            spawn.user_options = self.user_options
        group_overrides = self.group_overrides
        if callable(group_overrides):
            group_overrides = await maybe_future(group_overrides(self))
        groups = {group.name for group in getattr(self.user, "groups", [])}
        for key in sorted(group_overrides or {}):
            entry = group_overrides[key]
            if groups & set(entry.get("groups", [])):
                self.log.info("Applying group_override %s for %s", key, self._log_name)
                try:
                    await self._override_settings(entry.get("spawner_override", {}))
                except profiles_mod.ProfileConfigError as e:
                    raise self._admin_error(e) from e

    async def apply_profile(self, user_options):
        """Check ``user_options`` and set this spawn's settings from it (or raise HTTP 400)."""
        spawn = self._spawn_state()
        if spawn.options_applied:
            spawn = self._begin_spawn()  # a second choice without a spawn between: start over
        overrides = await self.resolve_user_options_or_400(user_options)
        try:
            await self._override_settings(overrides)
            await self._check_user_totals()
        except profiles_mod.ProfileConfigError as e:
            field = profiles_mod.text_fields(spawn.profiles or [], user_options).get(e.setting)
            if field:  # the user's text made the setting invalid: theirs to change
                raise _bad_request(f"user_options field {field!r}: {e}") from e
            raise self._admin_error(e) from e
        spawn.options_applied = True

    async def _check_user_totals(self):
        """Refuse (HTTP 400) a server whose reservation would take the user past the hub's
        per-user totals; checked once this spawn's settings are known, before anything exists."""
        cpu_total, mem_total = self.user_cpu_guarantee_total, self.user_mem_guarantee_total
        if cpu_total is None and mem_total is None:
            return
        reflector = self.reflector
        await reflector.ready()
        cpu, memory = reflector.reservations(self.user.name, exclude=self.service_id)
        wanted_cpu, wanted_mem = self.cpu_guarantee or 0, self.mem_guarantee or 0
        if cpu_total is not None and cpu + wanted_cpu > cpu_total:
            raise _bad_request(
                f"Your running servers reserve {cpu:g} CPU cores and this one would add"
                f" {wanted_cpu:g}: more than the {cpu_total:g} this hub lets each user reserve."
                " Stop one of your servers first."
            )
        if mem_total is not None and memory + wanted_mem > mem_total:
            raise _bad_request(
                f"Your running servers reserve {_size(memory)} of memory and this one would add"
                f" {_size(wanted_mem)}: more than the {_size(mem_total)} this hub lets each user"
                " reserve. Stop one of your servers first."
            )

    async def _override_settings(self, overrides):
        """Set settings for this spawn only; their previous values are kept to put back."""
        saved = self._spawn_state().saved
        for name, value in overrides.items():
            allowed = name in self._internal_overrides or (
                self.has_trait(name)
                and self.trait_metadata(name, "config")
                and name not in self._protected_traits
            )
            if not allowed:
                raise profiles_mod.ProfileConfigError(
                    f"{name!r} is not a SwarmSpawner setting a profile can override", name
                )
            if callable(value):
                value = await maybe_future(value(self))
            current = getattr(self, name)
            if isinstance(value, dict) and isinstance(current, dict):
                value = {**current, **value}
            saved.setdefault(name, copy.deepcopy(current))
            try:
                setattr(self, name, value)
            except Exception as e:
                raise profiles_mod.ProfileConfigError(f"{name} = {value!r:.100}: {e}", name) from e

    # JupyterHub has no public hook that runs before start() and turns an HTTPError into the
    # REST answer (a 400 while nothing exists yet); this private one does in JupyterHub 5.3-6.
    # A JupyterHub without it would still check the options, in start() (a failed spawn).
    if not hasattr(Spawner, "_run_apply_user_options"):  # pragma: no cover
        raise ImportError(f"SwarmSpawner needs JupyterHub 5.3 to 6 (found {jupyterhub_version})")

    async def _run_apply_user_options(self, user_options):
        await self.apply_profile(user_options)
        if self.apply_user_options is not None:
            await super()._run_apply_user_options(user_options)
        # A volume node that cannot take the server: refused here (HTTP 400, nothing made)
        # rather than as a failed spawn; start() uses what this decided.
        try:
            await self._volume_node_constraints()
        except SpawnError as e:
            raise _bad_request(str(e)) from e

    def _admin_error(self, error):
        self.log.error("SwarmSpawner profile settings for %s: %s", self._log_name, error)
        return _http_error(500, f"The hub's server profiles are misconfigured: {error}")

    # --- JupyterHub's own settings, with values that fit Swarm ------------------

    @default("ip")
    def _default_ip(self):
        return "0.0.0.0"

    @default("port")
    def _default_port(self):
        return 8888

    @default("hub_connect_url")
    def _default_hub_connect_url(self):
        # The original package's way: servers reach the hub by its service name.
        if not self.jupyterhub_service_name:
            return None
        port = urlparse(self.hub.api_url).port or 8081
        return f"http://{self.jupyterhub_service_name}:{port}"

    #: Per hub process: service name -> (the address found, when), so that 100 starts at
    #: once ask the engine once.
    _hub_addresses = {}
    _hub_address_warned = set()
    HUB_ADDRESS_TTL = 10

    _configured_hub_url = None

    def _base_hub_connect_url(self):
        """hub_connect_url as configured (or defaulted), before a start set it."""
        if self._configured_hub_url is None:
            self._configured_hub_url = (self.hub_connect_url,)
        return self._configured_hub_url[0]

    async def _stable_hub_connect_url(self):
        """``http://node:port`` of the service that publishes the hub's API in host mode."""
        name = self.hub_connect_service
        if not name and self.jupyterhub_service_name and (
                self._base_hub_connect_url() == self._default_hub_connect_url()):
            name = self.jupyterhub_service_name
        if not name:
            return None
        loop = asyncio.get_running_loop()
        cached = self._hub_addresses.get(name)
        if cached and loop.time() - cached[1] < self.HUB_ADDRESS_TTL:
            return cached[0]
        url = await self._look_up_published_address(name)
        if url is None and name not in self._hub_address_warned:
            self._hub_address_warned.add(name)
            self.log.warning(
                "Service %s publishes no port in host mode on a running task: servers reach the"
                " hub at %s", name, self._base_hub_connect_url() or self.hub.api_url)
        if url is None:
            return cached[0] if cached else None
        self._hub_addresses[name] = (url, loop.time())
        return url

    async def _look_up_published_address(self, name):
        service = hubaddress.find_service(
            await self.docker.call("services", filters={"name": name}), name)
        if service is None:
            return None
        hub_port = urlparse(self.hub.api_url).port or 8081
        port = hubaddress.host_mode_port(service, preferred_target=hub_port)
        node_id = hubaddress.running_node_id(await self.docker.call(
            "tasks", filters={"service": service["ID"], "desired-state": "running"}))
        if port is None or node_id is None:
            return None
        address = hubaddress.node_address(await self.docker.call("inspect_node", node_id))
        if address and hubaddress.is_loopback(address):
            bridge = await self.docker.call("inspect_network", "docker_gwbridge")
            address = (bridge.get("IPAM", {}).get("Config") or [{}])[0].get("Gateway")
        return f"http://{address}:{port}" if address else None

    # --- state ------------------------------------------------------------------

    service_id = Unicode("")
    service_name = Unicode("")
    #: With volume_node_sticky: {"id", "name"} of the node that holds the user's volumes.
    volume_node = Dict()

    def load_state(self, state):
        super().load_state(state)
        self.service_id = state.get("service_id", "")
        self.service_name = state.get("service_name", "")
        self.volume_node = state.get("volume_node") or {}

    def get_state(self):
        state = super().get_state()
        if self.service_id:
            state["service_id"] = self.service_id
            state["service_name"] = self.service_name
        if self.volume_node:
            state["volume_node"] = dict(self.volume_node)
        return state

    def clear_state(self):
        # The volume node outlives the server: it is where the user's files are.
        super().clear_state()
        self.service_id = ""
        self.service_name = ""

    # --- helpers ----------------------------------------------------------------

    @property
    def docker(self):
        return AsyncDocker.shared(
            self.docker_host or None, self.tls_config, self.docker_max_concurrency
        )

    @property
    def reflector(self):
        return TaskReflector.for_hub(
            self.docker, self.hub_id, self.watch_interval, self.watch_busy_interval, self.log
        )

    def mount_namespace(self):
        """Fields for mount sources: all DNS- and volume-name-safe."""
        return slugs.template_fields(self.user.name, self.name, self.service_prefix)

    def home_dir(self):
        """The user's directory on shared storage (the same path on every node), or None."""
        if not self.shared_home_root:
            return None
        return storage.user_dir(self.shared_home_root, slugs.user_slug(self.user.name))

    def home_mounts(self):
        home = self.home_dir()
        return [{"type": "bind", "source": home, "target": self.home_target}] if home else []

    async def _ensure_home(self):
        home = self.home_dir()
        if home is None:
            return
        try:
            created = await asyncio.to_thread(
                storage.ensure_user_dir, home, self.home_uid, self.home_gid, self.home_mode)
        except OSError as e:
            self.log.error("Cannot make %s's directory %s: %s", self.user.name, home, e)
            raise SpawnError(
                f"Your files' directory could not be made on the shared storage ({e})."
                " Please tell an admin.") from e
        if created:
            self.log.info("Made %s's directory %s", self.user.name, home)

    def _known_volume_node(self):
        """This server's node, else one of the user's other servers' (they share volumes)."""
        if self.volume_node:
            return dict(self.volume_node)
        orm_user = getattr(self.user, "orm_user", None)
        for orm_spawner in (getattr(orm_user, "orm_spawners", None) or {}).values():
            node = (orm_spawner.state or {}).get("volume_node")
            if node:
                return dict(node)
        return {}

    async def _volume_node_constraints(self):
        """Placement on the user's volume node, once per spawn; a sentence naming the node
        when it cannot be used."""
        spawn = self._spawn_state()
        if spawn.node_constraints is None:
            spawn.node_constraints = await self._decide_volume_node()
        return spawn.node_constraints

    async def _decide_volume_node(self):
        if not self.volume_node_sticky:
            return []
        node = self._known_volume_node()
        if not node:
            return []  # the first start: wherever the swarm places it
        try:
            found = await self.docker.call("inspect_node", node["id"])
        except docker.errors.NotFound:
            found = None
        name = storage.node_hostname(found, node.get("name") or node["id"][:12])
        unusable = storage.node_unusable(found, name)
        self.volume_node = {"id": node["id"], "name": name}
        if unusable is None:
            return [f"node.id=={node['id']}"]
        problem, remedy = unusable
        if self.volume_node_fallback:
            message = (f"Your files are on node {name}, which {problem}: this server starts on"
                       " another node without them. They are there again once that node is back.")
            self.log.warning("%s: %s", self._log_name, message)
            self._emit(5, message)
            return []
        raise SpawnError(
            f"Your server cannot start: your files are on node {name}, which {problem}."
            f" {remedy}, or allow starting elsewhere without the files (volume_node_fallback).")

    def service_settings(self):
        """Everything that decides this server's service, resolved for this user."""
        return ServiceSettings(
            name=slugs.service_name(self.service_prefix, self.user.name, self.name),
            image=self.image,
            hub_id=self.hub_id,
            username=self.user.name,
            servername=self.name,
            args=list(self.cmd) + list(self.get_args()),
            entrypoint=self.entrypoint,
            env=self.get_env(),
            mounts=self.mounts + self.home_mounts(),
            template_namespace=self.mount_namespace(),
            volume_driver=self.volume_driver,
            volume_driver_options=self.volume_driver_options,
            networks=self.networks,
            endpoint_mode=self.endpoint_mode,
            cpu_limit=self.cpu_limit,
            mem_limit=self.mem_limit,
            cpu_guarantee=self.cpu_guarantee,
            mem_guarantee=self.mem_guarantee,
            generic_resources=self.generic_resources,
            placement_constraints=self.placement_constraints,
            placement_preferences=self.placement_preferences,
            restart_policy=self.restart_policy,
            stop_grace_period=self.stop_grace_period,
            healthcheck=self.healthcheck,
            extra_labels=self.extra_labels,
            extra_container_spec=self.extra_container_spec,
            extra_task_spec=self.extra_task_spec,
        )

    def _emit(self, progress, message):
        # Each step is the user's to see (progress); the hub's log keeps two lines per start
        # (created, running): at INFO, every step of 100 starts at once cost the hub's event
        # loop over a second of writes to its log (benchmarks/results/README.md).
        self.log.debug("Server %s: %s", self.service_name, message)
        self._spawn_state().emit(progress, message)

    # --- lifecycle --------------------------------------------------------------

    async def start(self):
        spawn = self._spawn_state()
        spawn.starting = True
        try:
            # Should the hub ever skip its apply_user_options step, options are still never
            # used unchecked.
            if not spawn.options_applied:
                await self.apply_profile(self.user_options)
            return await self._start()
        finally:
            spawn.finish()

    async def _start(self):
        if not self.networks:
            raise SpawnError(
                "The hub has no network for servers: set c.SwarmSpawner.networks to the overlay"
                " network the hub and the proxy are on."
            )
        base_url = self._base_hub_connect_url()
        # Read by get_env() for JUPYTERHUB_API_URL.
        self.hub_connect_url = await self._stable_hub_connect_url() or base_url
        self.log.debug("Server %s reaches the hub at %s", self._log_name, self.hub_connect_url)
        try:
            settings = self.service_settings()
            settings.placement_constraints = [
                *settings.placement_constraints, *await self._volume_node_constraints()]
            spec = make_service_spec(settings)
        except (SpecError, ValueError) as e:
            raise SpawnError(f"The server's settings are not valid: {e}") from e
        self.service_name = settings.name
        await self._ensure_home()
        async with self._boot_turn(settings.placement_constraints):
            return await self._boot(spec)

    async def _boot(self, spec):
        # A node lost while the server boots there (a worker's engine or host gone) takes
        # the start with it: the server is created once more, and the swarm places it on a
        # live node, unless the user's files pin it to the lost one.
        for attempt in (1, 2):
            self._emit(10, f"Creating service {self.service_name}")
            self.log.info("Creating service %s", self.service_name)
            creating = asyncio.ensure_future(self._create_service(spec))
            try:
                created = await asyncio.shield(creating)
            except asyncio.CancelledError:
                await asyncio.shield(self._remove_when_created(creating))
                raise
            self.service_id = created["ID"]
            self._created_at = time.monotonic()
            self._save_state_now()
            try:
                return await self._until_ready()
            except NodeLost as lost:
                await asyncio.shield(self._remove_service())
                pinned = bool(self._spawn_state().node_constraints)
                if attempt == 2 or pinned:
                    raise SpawnError(lost.message(pinned)) from None
                if self.volume_node_sticky:
                    self.volume_node = {}  # recorded by this start, on the lost node
                self.log.warning("Server %s: node %s was lost while it booted there; creating"
                                 " it again", self.service_name, lost.node)
                self._emit(10, f"Node {lost.node} stopped answering while your server started"
                               " there; starting it on another node")
            except Exception:
                await asyncio.shield(self._remove_service())
                raise
        # Cancelled (start_timeout, the user stopping the start, the hub shutting down): the
        # service stays. JupyterHub stops it next, as poll() reports it; a hub that shuts
        # down leaves it to the next one, which finds it in the state saved above.

    def _save_state_now(self):
        """Write the spawner's state (the new service's id) to the hub's database now, not
        only when the start returns, as JupyterHub does: a hub that restarts while the server
        boots then adopts the server, or removes it, instead of leaving it running unseen."""
        if self.orm_spawner is None:
            return
        session = sqlalchemy.inspect(self.orm_spawner).session
        if session is not None:
            self.orm_spawner.state = self.get_state()
            session.commit()

    async def _remove_when_created(self, creating):
        """A start cancelled while its service was being created: remove it once it is."""
        try:
            created = await creating
        except Exception:
            return  # nothing was created
        self.service_id = created["ID"]
        await self._remove_service()

    async def _until_ready(self):
        task = await self._wait_until_running()
        self.log.info(
            "Server %s running as task %s on node %s",
            self.service_name,
            task["ID"],
            self.reflector.node_name(task),
        )
        if self.volume_node_sticky and not self.volume_node and task.get("NodeID"):
            self.volume_node = {"id": task["NodeID"], "name": self.reflector.node_name(task)}
        address = self._task_address(task)
        await self._wait_until_listening(task, address)
        return f"http://{address}:{self.port}"

    _boot_ticket = None

    @contextlib.asynccontextmanager
    async def _boot_turn(self, constraints):
        """Wait for a place to boot (boot_limit_per_node), and hold it while inside."""
        if self.boot_limit_per_node <= 0:
            yield
            return
        reflector = self.reflector
        await reflector.ready()
        admission = reflector.admission
        ticket = Ticket(list(constraints), self.boot_limit_per_node)
        logged = False

        def on_wait(place, booting):
            nonlocal logged
            if not logged:  # once per start in the hub's log; every change on the user's page
                logged = True
                self.log.info("Server %s waits for its turn to boot: number %d in line",
                              self.service_name, place)
            self._emit(5, f"Waiting for a turn to start: number {place} in line, {booting}"
                          f" servers starting now")

        await admission.turn(ticket, on_wait)  # leaves the line itself if cancelled
        self._boot_ticket = ticket
        try:
            yield
        finally:
            admission.release(ticket)
            self._boot_ticket = None

    def _placed(self, task):
        """The swarm gave the booting server a node: it counts against that node only."""
        if self._boot_ticket is not None and task.get("NodeID"):
            self.reflector.admission.placed(self._boot_ticket, task["NodeID"])

    def _task_address(self, task):
        """The task's address on the hub's network.

        The hub and the proxy reach a server by address, not by service name: JupyterHub's
        HTTP client caches a name's address for as long as the engine's DNS answer says
        (600 s), so a server started again under the same name would be looked for at its
        old address. A task that shows no address there (which a running task on the
        hub's network always has) falls back to the service name.
        """
        wanted = self.networks[0]
        attachments = task.get("NetworksAttachments") or []
        for attachment in attachments:
            network = attachment["Network"]
            if wanted in (network["Spec"]["Name"], network["ID"]) and attachment["Addresses"]:
                return attachment["Addresses"][0].split("/")[0]
        return self.service_name

    async def get_url(self):
        """After a hub restart: the server's current address, should its task have moved, once
        the server answers there (see adopt_timeout)."""
        await self.reflector.ready()
        task = await self._task_once_started()
        if task is None or task["Status"]["State"] != "running" or self.server is None:
            return await super().get_url()
        address = self._task_address(task)
        await self._wait_until_reachable(address)
        return f"http://{address}:{self.port}{self.server.base_url}"

    async def _task_once_started(self):
        """The server's task once it no longer starts (a hub that restarted while the server
        booted), waiting at most adopt_timeout."""
        reflector = self.reflector
        task = reflector.current_task(self.service_id)
        if task is None or task["Status"]["State"] not in STARTING_STATES:
            return task
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.adopt_timeout
        with reflector.watching():
            while (task is not None and task["Status"]["State"] in STARTING_STATES
                   and loop.time() < deadline):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await reflector.next_update()
                task = reflector.current_task(self.service_id)
        return task

    async def _wait_until_reachable(self, address):
        reflector = self.reflector
        started = time.monotonic()

        async def reachable_or_stopped():
            if await _accepts_connections(address, self.port):
                return True
            task = reflector.current_task(self.service_id)
            return task is None or task["Status"]["State"] != "running"

        try:
            await exponential_backoff(reachable_or_stopped, "", start_wait=0.5, max_wait=2,
                                      timeout=self.adopt_timeout, timeout_tolerance=0)
        except TimeoutError:
            self.log.warning("%s runs, says Docker, but was not reachable at %s:%s for %g s",
                             self._log_name, address, self.port, self.adopt_timeout)
            return
        waited = time.monotonic() - started
        if waited > 1:
            self.log.info("%s was reachable again at %s after %.1f s", self._log_name, address,
                          waited)

    async def _create_service(self, spec):
        try:
            return await self.docker.call("create_service", **spec)
        except docker.errors.APIError as e:
            if e.status_code != 409:
                raise SpawnError(f"Docker refused to create the server: {_reason(e)}") from e
        # A service with this name is left over, e.g. from a hub that lost its database.
        await self._remove_leftover(spec)
        try:
            return await self.docker.call("create_service", **spec)
        except docker.errors.APIError as e:
            raise SpawnError(f"Docker refused to create the server: {_reason(e)}") from e

    async def _remove_leftover(self, spec):
        name = spec["name"]
        found = await self.docker.call("services", filters={"name": name})
        for service in found:
            if service["Spec"]["Name"] != name:
                continue  # the name filter matches prefixes
            labels = service["Spec"].get("Labels", {})
            mine = (
                labels.get(LABEL_HUB) == self.hub_id
                and labels.get(LABEL_USER) == self.user.name
                and labels.get(LABEL_SERVER) == self.name
            )
            if not mine:
                raise SpawnError(
                    f"A service named {name} already exists and does not belong to this server."
                    " An operator must remove or rename it."
                )
            self.log.warning("Removing leftover service %s before starting anew", name)
            self.service_id = service["ID"]
            await self._remove_service()

    async def _wait_until_running(self):
        reflector = self.reflector
        loop = asyncio.get_running_loop()
        last_seen = None
        unschedulable_since = None
        with reflector.watching():
            while True:
                await reflector.next_update()
                task = reflector.current_task(self.service_id)
                if task is None:
                    continue
                status = task["Status"]
                state = status["State"]
                seen = (task["ID"], state, status.get("Err"))
                if seen != last_seen:
                    last_seen = seen
                    self._emit_task_progress(task)
                    self._placed(task)
                if state == "running":
                    return task
                if state in ENDED_STATES or task.get("DesiredState") != "running":
                    await self._raise_if_node_lost(task)
                    raise SpawnError(await self._failure(task))
                if state == "pending" and status.get("Err"):
                    unschedulable_since = unschedulable_since or loop.time()
                    if loop.time() - unschedulable_since >= self.unschedulable_timeout:
                        raise SpawnError(self._failure_message(task))
                else:
                    unschedulable_since = None

    async def _wait_until_listening(self, task, address):
        if self.answer_probe_interval <= 0:
            return
        reflector = self.reflector

        async def answers():
            if await _accepts_connections(address, self.port):
                return True
            current = reflector.current_task(self.service_id) or task
            if current["Status"]["State"] != "running" or current.get("DesiredState") != "running":
                await self._raise_if_node_lost(current)
                raise SpawnError(await self._failure(current))
            return False

        SwarmSpawner._answer_checks += 1
        try:
            with reflector.watching():
                async with asyncio.timeout(self.http_timeout):
                    while not await answers():
                        await asyncio.sleep(self._answer_check_interval())
        except TimeoutError:
            message = (f"Your server runs on node {reflector.node_name(task)} but did not"
                       f" answer on port {self.port} within {self.http_timeout:g} s.")
            raise SpawnError(await self._with_output(message, task)) from None
        finally:
            SwarmSpawner._answer_checks -= 1

    #: Servers this hub process is checking for an answer now, all spawners together.
    _answer_checks = 0

    def _answer_check_interval(self):
        """answer_probe_interval while few servers wait to answer; with more, each is checked
        less often (each check is a connect and a close on the hub's event loop: with 100
        booting at once they showed in its profile), to at most 0.5 s apart."""
        crowd = max(1.0, SwarmSpawner._answer_checks / ANSWER_CHECKS_AT_FULL_RATE)
        return min(self.answer_probe_interval * crowd, max(self.answer_probe_interval, 0.5))

    def _emit_task_progress(self, task):
        state = task["Status"]["State"]
        progress, message = _PROGRESS.get(state, (None, f"Task is {state}"))
        message = message.format(node=self.reflector.node_name(task), image=self.image)
        err = task["Status"].get("Err")
        if err:
            message = f"{message}: {err}"
        self._emit(progress, message)

    def _failure_message(self, task):
        status = task["Status"]
        reason = status.get("Err") or status.get("Message") or status["State"]
        node = self.reflector.node_name(task)
        where = f" on node {node}" if node else ""
        return f"Your server could not start{where}: {reason} (task {status['State']})"

    async def _raise_if_node_lost(self, task):
        """NodeLost when the task ended because its node left the swarm's ready nodes (the
        swarm marks a node down once its engine stops answering, and shuts its tasks down
        without word from the node). Asked of the engine, not the reflector's node list:
        the node event may come after the listing that shows the task ended."""
        node_id = task.get("NodeID")
        if not node_id or task["Status"]["State"] in ENDED_STATES:
            return  # never placed, or the node itself reported the end: its reason stands
        try:
            node = await self.docker.call("inspect_node", node_id)
        except docker.errors.NotFound:
            node = None
        state = ((node or {}).get("Status") or {}).get("State", "gone")
        if state != "ready":
            raise NodeLost(self.reflector.node_name(task) or node_id[:12], state)

    async def _failure(self, task):
        return await self._with_output(self._failure_message(task), task)

    async def _with_output(self, message, task):
        """``message`` and, when the server's container ran, its last lines of output:
        Docker's reason ("non-zero exit (127)") rarely says what went wrong, the server does."""
        container = task["Status"].get("ContainerStatus", {}).get("ContainerID")
        if not container or self.failure_log_lines <= 0:
            return message
        try:
            output = await self.docker.service_logs(self.service_id, self.failure_log_lines)
        except Exception as e:  # the node may be gone: Docker's reason still stands
            self.log.warning("Could not read the output of %s: %s", self.service_name, e)
            return message
        lines = output.strip().splitlines()[-self.failure_log_lines:]
        output = "\n".join(lines)[-_FAILURE_OUTPUT_BYTES:]
        if not output:
            return message
        self.log.warning("Server %s failed: %s Its last output:\n%s", self.service_name, message,
                         output)
        return f"{message}. Its last output:\n{output}"

    async def progress(self):
        spawn = self._spawn
        if spawn is None:
            return
        async for event in spawn.events():
            yield event

    #: When this hub created the service (time.monotonic()), for poll().
    _created_at = float("inf")

    async def poll(self):
        if not self.service_id:
            return 0
        if self._spawn is not None and self._spawn.starting:
            return None
        reflector = self.reflector
        await reflector.ready()
        task = reflector.current_task(self.service_id)
        if task is None:
            # Created after the latest listing was asked for: starting, not gone. (JupyterHub
            # stops a cancelled start only if poll() says it runs.)
            return None if reflector.listed_at < self._created_at < float("inf") else 0
        state = task["Status"]["State"]
        if task.get("DesiredState") == "running" and (
            state == "running" or state in STARTING_STATES
        ):
            return None
        return task["Status"].get("ContainerStatus", {}).get("ExitCode") or 0

    async def stop(self, now=False):
        if not self.service_id:
            return
        await self._remove_service()

    async def _remove_service(self):
        """Remove the service; wait up to stop_timeout for the swarm to shut its task down."""
        try:
            await self.docker.call("remove_service", self.service_id)
        except docker.errors.NotFound:
            pass
        if self.stop_timeout > 0:
            await self._wait_for_tasks_gone()
        self.reflector.forget(self.service_id)
        self.service_id = ""
        self._created_at = float("inf")

    async def _wait_for_tasks_gone(self):
        reflector = self.reflector
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_timeout
        with reflector.watching():
            while True:
                try:
                    await asyncio.wait_for(reflector.next_update(), deadline - loop.time())
                except asyncio.TimeoutError:
                    self.log.warning(
                        "Service %s removed, but its task was still shutting down after %ss",
                        self.service_name,
                        self.stop_timeout,
                    )
                    break
                if not reflector.has_tasks(self.service_id):
                    break


#: Up to this many servers waiting to answer are each checked every answer_probe_interval.
ANSWER_CHECKS_AT_FULL_RATE = 10

#: The most of a failed server's output a user is shown.
_FAILURE_OUTPUT_BYTES = 4096


async def _accepts_connections(address, port, timeout=1.0):
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


def _http_error(status, message):
    # No args: Tornado leaves a '%' in the message alone. JupyterHub shows
    # jupyterhub_message as it is, on the form page and in the REST API's JSON.
    error = web.HTTPError(status, message)
    error.jupyterhub_message = message
    return error


def _size(n):
    return f"{n / 1024**3:.3g} GB" if n >= 1024**3 else f"{n / 1024**2:.4g} MB"


def _bad_request(message):
    return _http_error(400, message)


def _reason(error):
    """Docker's own sentence from an API error."""
    explanation = getattr(error, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf8", "replace")
    return explanation or str(error)
