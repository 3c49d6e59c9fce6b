"""Compatibility with the original 2017 ``cassinyspawner.SwarmSpawner``.

An admin's config written for it keeps working unchanged::

    c.JupyterHub.spawner_class = 'cassinyspawner.SwarmSpawner'
    c.SwarmSpawner.container_spec = {'Image': ..., 'args': [...], 'mounts': [...]}
    c.SwarmSpawner.resource_spec = {'cpu_limit': ..., 'mem_limit': ...}
    c.SwarmSpawner.placement = ['node.role == worker']

The old dicts are translated into the new settings when the spawner is created.
Where an admin also set the new setting, the new setting wins (and a warning says so).
"""

import shlex

import docker.types
from traitlets import Bool, Dict, Float, Integer, List, TraitError, Unicode, Union, validate

from swarmspawner import SwarmSpawner as _SwarmSpawner
from swarmspawner import slugs
from swarmspawner.objects import SpecError, check_template
from swarmspawner.options import UserOptionsError, check_shape
from swarmspawner.units import nano_to_cores, parse_bytes

from . import useroptions

# Old container_spec key -> new SwarmSpawner setting.
_CONTAINER_KEYS = {
    "Image": "image",
    "image": "image",
    "args": "cmd",
    "command": "entrypoint",
    "mounts": "mounts",
    "env": "environment",
}
# Old resource_spec key (docker.types.Resources) -> new setting.
_RESOURCE_KEYS = {
    "cpu_limit": "cpu_limit",
    "mem_limit": "mem_limit",
    "cpu_reservation": "cpu_guarantee",
    "mem_reservation": "mem_guarantee",
    "generic_resources": "generic_resources",
}


def _legacy_mount(mount):
    """A mount as the original took it (docker-py's Mount or a lowercase dict)."""
    mount = dict(mount)
    if "Target" in mount:  # a docker.types.Mount: Engine API keys
        converted = {new: mount[old] for old, new in useroptions.API_MOUNT_KEYS.items() if old in mount}
        volume = mount.get("VolumeOptions") or {}
        if volume.get("DriverConfig"):
            converted["driver_config"] = volume["DriverConfig"]
        if volume.get("Labels"):
            converted["labels"] = volume["Labels"]
        if volume.get("NoCopy"):
            converted["no_copy"] = True
        if mount.get("BindOptions", {}).get("Propagation"):
            converted["propagation"] = mount["BindOptions"]["Propagation"]
        tmpfs = mount.get("TmpfsOptions") or {}
        if "SizeBytes" in tmpfs:
            converted["tmpfs_size"] = tmpfs["SizeBytes"]
        if "Mode" in tmpfs:
            converted["tmpfs_mode"] = tmpfs["Mode"]
        mount = converted
    if mount.get("source"):
        # The original filled {username} with the MD5 of the name: keep finding those volumes.
        mount["source"] = mount["source"].replace("{username}", "{username_md5}")
    return mount


def _env_dict(env):
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    return dict(item.split("=", 1) for item in env)


def translate(container_spec=None, resource_spec=None, placement=None):
    """The original settings -> ``{new setting: value}``.

    Pure, so that every example of the original documentation can be checked field by field.
    """
    settings = {}
    container_spec = dict(container_spec or {})
    rest = {}
    for key, value in container_spec.items():
        new = _CONTAINER_KEYS.get(key)
        if new is None:
            rest[key] = value
        elif new == "mounts":
            settings["mounts"] = [_legacy_mount(m) for m in value]
        elif new in ("cmd", "entrypoint"):
            settings[new] = shlex.split(value) if isinstance(value, str) else list(value)
        elif new == "environment":
            settings["environment"] = _env_dict(value)
        else:
            settings[new] = value
    if rest:
        # Any other docker.types.ContainerSpec argument (user, workdir, hostname, ...):
        # docker-py turns it into Engine API fields for us.
        extra = dict(docker.types.ContainerSpec(image="unused", **rest))
        extra = {k: v for k, v in extra.items() if k != "Image" and v is not None}
        settings["extra_container_spec"] = extra

    for key, value in dict(resource_spec or {}).items():
        new = _RESOURCE_KEYS.get(key)
        if new is None:
            raise ValueError(
                f"resource_spec key {key!r} is not known; use one of {sorted(_RESOURCE_KEYS)}"
            )
        if new in ("cpu_limit", "cpu_guarantee"):
            value = nano_to_cores(value)  # the original took nano-CPUs (1e9 = one core)
        if new == "generic_resources" and isinstance(value, list):
            value = _generic_resources(value)
        settings[new] = value

    if placement:
        settings["placement_constraints"] = list(placement)
    return settings


def _generic_resources(value):
    # docker-py's list form: [{'DiscreteResourceSpec': {'Kind': 'gpu', 'Value': 1}}, ...]
    result = {}
    for item in value:
        for spec in item.values():
            result[spec["Kind"]] = spec["Value"]
    return result


class SwarmSpawner(_SwarmSpawner):
    """The original ``cassinyspawner.SwarmSpawner`` settings on top of the new spawner."""

    # The deprecation is said once per hub process, not once per user.
    _deprecation_warned = False

    container_spec = Dict(
        help="""Deprecated: use `image`, `cmd`, `entrypoint`, `mounts`, `environment` and
        `extra_container_spec`. The original ContainerSpec arguments; `Image` is required.""",
    ).tag(config=True)

    resource_spec = Dict(
        help="""Deprecated: use `cpu_limit`, `mem_limit`, `cpu_guarantee`, `mem_guarantee`
        (cores and bytes) and `generic_resources`. CPU values here are nano-CPUs.""",
    ).tag(config=True)

    placement = List(
        Unicode(),
        help="Deprecated: use `placement_constraints`.",
    ).tag(config=True)

    use_user_options = Bool(
        False,
        help="""Let users' `user_options` carry `container_spec` (`Image`, `args`, `mounts`),
        `resource_spec` (`cpu_limit`, `mem_limit`, `cpu_reservation`, `mem_reservation`, CPUs
        in nano-CPUs as the original took them), `placement`, `network` and `name`, as the
        original did — but each only within its allowlist (`user_options_allowed_images`,
        `user_options_allowed_args`, `user_options_allowed_mounts`, `user_options_max_cpu`,
        `user_options_max_mem`, `user_options_allowed_networks`,
        `user_options_allowed_constraints`, `user_options_name_pattern`). A field whose
        allowlist is not set is refused with HTTP 400, and nothing is created.""",
    ).tag(config=True)

    user_options_allowed_images = List(
        Unicode(),
        help="""Images users may name in `container_spec.Image`, as shell-style patterns
        (`*` also matches `/`), e.g. `["quay.io/jupyter/*-notebook:2024-*"]`.""",
    ).tag(config=True)

    user_options_allowed_args = List(
        List(Unicode()),
        help="""Commands users may give in `container_spec.args`, each an exact list of
        arguments, e.g. `[["start-singleuser.sh"]]`.""",
    ).tag(config=True)

    user_options_allowed_mounts = List(
        Dict(),
        help="""Mounts users may add in `container_spec.mounts` (added to the configured
        `mounts`). Each entry allows mounts of its `type` (`volume`, `bind` or `tmpfs`) whose
        source matches its `source` pattern (shell-style; `{username}` is the user's name
        as in `mounts`) and, if given, whose target matches its `target` pattern;
        `"read_only": True` makes them read-only. An entry without `source` allows only
        anonymous volumes (or tmpfs). E.g. `[{"type": "volume", "source":
        "data-{username}--*"}, {"type": "bind", "source": "/srv/datasets/*", "read_only": True}]`.
        Bind sources must be normalized absolute paths, never `/`.""",
    ).tag(config=True)

    @validate("user_options_allowed_mounts")
    def _check_allowed_mounts(self, proposal):
        # Per-user patterns must be exact by construction: {username} followed by a
        # separator no name part contains, and no wildcard before it ('*-{username}' would
        # match 'malice' for 'alice').
        for n, entry in enumerate(proposal["value"]):
            pattern = str(entry.get("source") or "")
            where = f"user_options_allowed_mounts[{n}].source"
            try:
                check_template(pattern, where)
            except SpecError as e:
                raise TraitError(str(e)) from None
            for field_name in ("{username}", "{servername}"):
                if field_name in pattern and any(c in pattern.split(field_name)[0] for c in "*?["):
                    raise TraitError(f"{where} {pattern!r}: no wildcard may come before"
                                     f" {field_name}")
        return proposal["value"]

    user_options_max_cpu = Float(
        None,
        allow_none=True,
        help="""The largest `resource_spec.cpu_limit` or `cpu_reservation` users may ask for,
        in cores (users send nano-CPUs, as in the original). None: users may not set CPU.""",
    ).tag(config=True)

    user_options_max_mem = Union(
        [Integer(), Unicode()],
        default_value=None,
        allow_none=True,
        help="""The largest `resource_spec.mem_limit` or `mem_reservation` users may ask for,
        in bytes or as a size like `"4G"`. None: users may not set memory.""",
    ).tag(config=True)

    user_options_allowed_networks = List(
        Unicode(),
        help="""Networks users may add to their server in `network` (added to the configured
        `networks`, which the hub needs to reach the server).""",
    ).tag(config=True)

    user_options_allowed_constraints = List(
        Unicode(),
        help="""Placement constraints users may add in `placement` (added to the configured
        `placement_constraints`, never replacing them), compared exactly, ignoring spaces,
        e.g. `["node.labels.gpu == yes"]`.""",
    ).tag(config=True)

    user_options_name_pattern = Unicode(
        "",
        help="""A regular expression the `name` in user_options must match in full; the
        server's service is then `{service_prefix}-{user}-{name}`. Empty: users may not name
        services.""",
    ).tag(config=True)

    # The checked `name` from user_options; set per spawn through the override mechanism.
    legacy_service_suffix = Unicode("")
    _internal_overrides = frozenset({"legacy_service_suffix"})

    def allowlists(self):
        return useroptions.Allowlists(
            images=list(self.user_options_allowed_images),
            args=[list(a) for a in self.user_options_allowed_args],
            mounts=list(self.user_options_allowed_mounts),
            max_cpu=self.user_options_max_cpu,
            max_mem=None if self.user_options_max_mem is None
            else parse_bytes(self.user_options_max_mem, "user_options_max_mem"),
            networks=list(self.user_options_allowed_networks),
            constraints=list(self.user_options_allowed_constraints),
            name_pattern=self.user_options_name_pattern,
        )

    async def resolve_user_options(self, user_options):
        if not self.use_user_options or not isinstance(user_options, dict):
            return await super().resolve_user_options(user_options)
        check_shape(user_options)
        legacy = {k: v for k, v in user_options.items() if k in useroptions.LEGACY_FIELDS}
        rest = {k: v for k, v in user_options.items() if k not in legacy}
        overrides = await super().resolve_user_options(rest)
        if not legacy:
            return overrides
        request = useroptions.check(legacy, self.allowlists(), self.mount_namespace())
        if request.image:
            overrides["image"] = request.image
        if request.args is not None:
            overrides["cmd"] = request.args
        for name in ("cpu_limit", "mem_limit", "cpu_guarantee", "mem_guarantee"):
            if getattr(request, name) is not None:
                overrides[name] = getattr(request, name)
        if request.mounts:
            mounts = list(overrides.get("mounts", self.mounts))
            taken = {m.get("target") for m in mounts}
            for n, mount in enumerate(request.mounts):
                if mount["target"] in taken:
                    raise UserOptionsError(
                        f"user_options field 'container_spec.mounts[{n}].target':"
                        f" {mount['target']!r} is already used by the hub's own mounts."
                    )
                taken.add(mount["target"])
            overrides["mounts"] = mounts + request.mounts
        if request.networks:
            networks = list(overrides.get("networks", self.networks))
            overrides["networks"] = networks + [n for n in request.networks if n not in networks]
        if request.constraints:
            constraints = list(overrides.get("placement_constraints", self.placement_constraints))
            overrides["placement_constraints"] = constraints + request.constraints
        if request.name:
            overrides["legacy_service_suffix"] = request.name
        # A reservation is bounded by the limit the server will have, the user's or the admin's.
        for guarantee, limit, field in (("cpu_guarantee", "cpu_limit", "cpu_reservation"),
                                        ("mem_guarantee", "mem_limit", "mem_reservation")):
            wanted = overrides.get(guarantee)
            ceiling = overrides.get(limit, getattr(self, limit))
            if wanted is not None and ceiling is not None and wanted > ceiling:
                raise UserOptionsError(
                    f"user_options field 'resource_spec.{field}' is larger than the server's"
                    f" {limit} ({ceiling:g}): a server could never get it."
                )
        return overrides

    def service_settings(self):
        settings = super().service_settings()
        if self.legacy_service_suffix:
            settings.name = slugs.service_name(
                self.service_prefix, self.user.name, self.legacy_service_suffix
            )
        return settings

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._apply_legacy_settings()

    def _configured(self, name):
        return any(name in self.config.get(section, {}) for section in ("SwarmSpawner", "Spawner"))

    def _apply_legacy_settings(self):
        translated = translate(self.container_spec, self.resource_spec, self.placement)
        if not translated:
            return
        for name, value in translated.items():
            if self._configured(name):
                self.log.warning(
                    "Both the deprecated cassinyspawner settings and c.SwarmSpawner.%s are set;"
                    " c.SwarmSpawner.%s wins.",
                    name,
                    name,
                )
                continue
            setattr(self, name, value)
        if not SwarmSpawner._deprecation_warned:
            SwarmSpawner._deprecation_warned = True
            self.log.warning(
                "cassinyspawner.SwarmSpawner and container_spec/resource_spec/placement are"
                " deprecated: use c.JupyterHub.spawner_class = 'swarm' with %s.",
                ", ".join(f"c.SwarmSpawner.{name}" for name in sorted(translated)),
            )
