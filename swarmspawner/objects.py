"""Pure builders: turn settings and a user into the Docker API's service spec.

Nothing here talks to Docker. The spawner gathers its settings into a
:class:`ServiceSettings`, and :func:`make_service_spec` returns the keyword
arguments for ``docker.APIClient.create_service`` — dicts in the Engine API's own
field names (docker.types' where they fit, after this module's own checks, which
name the setting at fault), so a test can compare them field by field.
"""

import copy
import string
from dataclasses import dataclass, field

from docker import types

from .slugs import SEPARATORS
from .units import cores_to_nano, parse_bytes, seconds_to_nano

LABEL_HUB = "swarmspawner.hub"
LABEL_USER = "swarmspawner.user"
LABEL_SERVER = "swarmspawner.server"

MOUNT_TYPES = ("bind", "volume", "tmpfs")
ENDPOINT_MODES = ("dnsrr", "vip")
RESTART_CONDITIONS = ("none", "on-failure", "any")

# Keys a mount may have, in the lowercase form the original package documented.
MOUNT_KEYS = {
    "type",
    "source",
    "target",
    "read_only",
    "driver",
    "driver_opts",
    "driver_config",
    "labels",
    "no_copy",
    "propagation",
    "tmpfs_size",
    "tmpfs_mode",
    "consistency",
}


class SpecError(ValueError):
    """A setting cannot be turned into a valid service spec; the message says which."""


@dataclass
class ServiceSettings:
    """Everything that decides one user's service, already resolved for that user."""

    name: str
    image: str
    hub_id: str
    username: str
    servername: str = ""
    args: list = field(default_factory=list)
    entrypoint: list | None = None
    env: dict = field(default_factory=dict)
    mounts: list = field(default_factory=list)
    template_namespace: dict = field(default_factory=dict)
    volume_driver: str = ""
    volume_driver_options: dict = field(default_factory=dict)
    networks: list = field(default_factory=list)
    endpoint_mode: str = "dnsrr"
    cpu_limit: float | None = None
    mem_limit: int | str | None = None
    cpu_guarantee: float | None = None
    mem_guarantee: int | str | None = None
    generic_resources: dict = field(default_factory=dict)
    placement_constraints: list = field(default_factory=list)
    placement_preferences: list = field(default_factory=list)
    restart_policy: dict = field(default_factory=lambda: {"Condition": "none"})
    stop_grace_period: float | None = None
    healthcheck: dict | None = None
    extra_labels: dict = field(default_factory=dict)
    extra_container_spec: dict = field(default_factory=dict)
    extra_task_spec: dict = field(default_factory=dict)


def make_labels(settings):
    """Labels that let the spawner and an operator find a hub's services."""
    labels = dict(settings.extra_labels)
    labels.update(
        {
            LABEL_HUB: settings.hub_id,
            LABEL_USER: settings.username,
            LABEL_SERVER: settings.servername,
        }
    )
    return labels


#: Template fields that differ per user or server, of any length: each must end where a
#: slug cannot go on (the end, or one of slugs.SEPARATORS), so that no other user's or
#: server's value, nor what follows, can make the same name. ({username_md5} is always
#: 32 characters long: it cannot run on.)
PER_USER_FIELDS = ("username", "servername")


def check_template(text, where="template"):
    """Raise SpecError unless ``text`` is a template whose names are one user's by construction.

    ``{username}`` (and ``{servername}``) must be followed by the end or by ``--``, ``_``,
    ``.`` or ``/`` -- never by ``-``: ``data-{username}-*`` would match ``alice-admin``'s
    ``data-alice-admin-…`` for ``alice`` -- and must not directly follow another field.
    Fields are plain names: no format spec or conversion.
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        raise SpecError(f"{where} {text!r} is not a valid template: {e}") from None
    for n, (_, field_name, spec, conversion) in enumerate(parts):
        if field_name is None:
            continue
        if spec or conversion or not field_name.isidentifier():
            raise SpecError(f"{where} {text!r}: write fields as plain {{name}}, not {{{field_name}"
                            f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        if field_name not in PER_USER_FIELDS:
            continue
        after = parts[n + 1][0] if n + 1 < len(parts) else ""
        last = n + 1 >= len(parts) or (not after and parts[n + 1][1] is None)
        if not last and not after.startswith(SEPARATORS):
            raise SpecError(
                f"{where} {text!r}: {{{field_name}}} must be followed by the end or by"
                f" {', '.join(repr(s) for s in SEPARATORS)} (a name part never contains those),"
                f" so that no other user's name can match; e.g. 'data-{{{field_name}}}--*'"
            )
        before = parts[n][0]
        if n > 0 and not before and parts[n - 1][1] is not None:
            raise SpecError(f"{where} {text!r}: {{{field_name}}} directly follows another field")
    return text


class _StrictFormatter(string.Formatter):
    def get_value(self, key, args, kwargs):
        if key not in kwargs:
            known = ", ".join("{%s}" % k for k in sorted(kwargs))
            raise SpecError(f"unknown template field {{{key}}}; known fields: {known}")
        return kwargs[key]


def expand_template(text, namespace, where="template"):
    """Fill ``{username}``-style fields in one pass (a value is never read as a template);
    an unknown field is an error, not a silent blank."""
    check_template(text, where)
    return _StrictFormatter().vformat(text, (), namespace)


def make_mount(mount, namespace, volume_driver="", volume_driver_options=None, volume_labels=None):
    """One mount in the lowercase form admins write -> the Engine API's Mount object.

    ``{username}``-style fields are expanded in the source and in the driver's options (an
    NFS ``device`` per user); a named volume also gets ``volume_labels`` (whose it is).
    """
    if not isinstance(mount, dict):
        raise SpecError(f"a mount must be a dict with 'type', 'source' and 'target', not {mount!r}")
    unknown = set(mount) - MOUNT_KEYS
    if unknown:
        raise SpecError(
            f"mount {mount!r} has unknown keys {sorted(unknown)}; allowed: {sorted(MOUNT_KEYS)}"
        )
    kind = mount.get("type", "volume")
    if kind not in MOUNT_TYPES:
        raise SpecError(f"mount type {kind!r} must be one of {', '.join(MOUNT_TYPES)}")
    target = mount.get("target")
    if not target or not str(target).startswith("/"):
        raise SpecError(f"mount {mount!r} needs an absolute 'target' path inside the container")
    source = mount.get("source") or ""
    if source:
        source = expand_template(source, namespace, "mount source")
    if kind == "bind" and not source.startswith("/"):
        raise SpecError(f"bind mount {mount!r} needs an absolute 'source' path on the node")
    if kind == "tmpfs" and source:
        raise SpecError(f"tmpfs mount {mount!r} takes no 'source'")

    driver = (_driver_config(mount, volume_driver, volume_driver_options, namespace)
              if kind == "volume" else None)
    labels = {**(volume_labels or {}), **dict(mount.get("labels") or {})}
    spec = types.Mount(
        target,
        source or None,
        type=kind,
        read_only=bool(mount.get("read_only", False)),
        consistency=mount.get("consistency") or None,
        propagation=(mount.get("propagation") or None) if kind == "bind" else None,
        no_copy=bool(mount.get("no_copy")) if kind == "volume" else False,
        labels=labels if kind == "volume" and source and labels else None,
        # Only a named volume takes a driver: an anonymous one is the node's default.
        driver_config=driver if source else None,
        tmpfs_size=parse_bytes(mount.get("tmpfs_size"), "tmpfs_size") if kind == "tmpfs" else None,
        tmpfs_mode=int(mount["tmpfs_mode"]) if kind == "tmpfs" and mount.get("tmpfs_mode") is not None
        else None,
    )
    if spec["Source"] is None:
        del spec["Source"]  # an anonymous volume or a tmpfs: no source at all
    return spec


def _driver_config(mount, default_driver, default_options, namespace):
    legacy = mount.get("driver_config")
    if legacy:
        # docker-py's DriverConfig is a dict with Name and Options.
        config = {k: v for k, v in dict(legacy).items() if k in ("Name", "Options") and v}
        options = config.get("Options")
    else:
        name = mount.get("driver") or default_driver
        if not name:
            return None
        config = {"Name": name}
        options = mount.get("driver_opts")
        if options is None and name == default_driver:
            options = default_options
    if options:
        config["Options"] = {
            str(k): expand_template(str(v), namespace, f"volume driver option {k!r}")
            for k, v in options.items()
        }
    return config


def make_resources(settings):
    """Limits and reservations; generic resources (GPUs) can only be reserved."""
    for kind, value in settings.generic_resources.items():
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise SpecError(
                f"generic resource {kind!r} must be a count (e.g. 1) or a named resource"
                f" (e.g. 'GPU-0a1b'), not {value!r}"
            )
    return types.Resources(
        cpu_limit=cores_to_nano(settings.cpu_limit) if settings.cpu_limit else None,
        mem_limit=parse_bytes(settings.mem_limit, "mem_limit") if settings.mem_limit else None,
        cpu_reservation=cores_to_nano(settings.cpu_guarantee) if settings.cpu_guarantee else None,
        mem_reservation=parse_bytes(settings.mem_guarantee, "mem_guarantee")
        if settings.mem_guarantee else None,
        generic_resources=dict(sorted(settings.generic_resources.items())) or None,
    )


def make_placement(constraints, preferences):
    """Constraints as Docker writes them; preferences as ``spread=node.labels.zone``."""
    prefs = []
    for pref in preferences:
        if isinstance(pref, dict):
            prefs.append(copy.deepcopy(pref))
            continue
        strategy, _, descriptor = str(pref).partition("=")
        if strategy != "spread" or not descriptor:
            raise SpecError(
                f"placement preference {pref!r} must look like 'spread=node.labels.zone'"
            )
        prefs.append(types.PlacementPreference("spread", descriptor))
    return types.Placement(constraints=[str(c) for c in constraints] or None,
                           preferences=prefs or None)


def make_restart_policy(policy):
    """Accepts the API's keys or the lowercase ones; delays and windows in seconds."""
    aliases = {
        "condition": "Condition",
        "delay": "Delay",
        "max_attempts": "MaxAttempts",
        "window": "Window",
    }
    result = {}
    for key, value in policy.items():
        api_key = aliases.get(key, key)
        if api_key not in ("Condition", "Delay", "MaxAttempts", "Window"):
            raise SpecError(f"restart_policy has unknown key {key!r}")
        if api_key in ("Delay", "Window") and key in aliases:
            value = seconds_to_nano(value)
        result[api_key] = value
    condition = result.get("Condition", "none")
    if condition not in RESTART_CONDITIONS:
        raise SpecError(
            f"restart_policy condition {condition!r} must be one of {', '.join(RESTART_CONDITIONS)}"
        )
    result["Condition"] = condition
    return result


def deep_merge(base, extra):
    """``extra`` over ``base``; nested dicts merge, everything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def make_service_spec(settings):
    """The keyword arguments for ``APIClient.create_service`` for one user's server."""
    if settings.endpoint_mode not in ENDPOINT_MODES:
        raise SpecError(
            f"endpoint_mode {settings.endpoint_mode!r} must be one of {', '.join(ENDPOINT_MODES)}"
        )
    labels = make_labels(settings)
    container = {
        "Image": settings.image,
        "Args": list(settings.args),
        "Env": [f"{key}={value}" for key, value in sorted(settings.env.items())],
        "Labels": dict(labels),
        "Mounts": [
            make_mount(m, settings.template_namespace, settings.volume_driver,
                       settings.volume_driver_options,
                       {LABEL_HUB: settings.hub_id, LABEL_USER: settings.username})
            for m in settings.mounts
        ],
    }
    if settings.entrypoint:
        container["Command"] = list(settings.entrypoint)
    if settings.stop_grace_period is not None:
        container["StopGracePeriod"] = seconds_to_nano(settings.stop_grace_period)
    if settings.healthcheck is not None:
        container["HealthCheck"] = dict(settings.healthcheck)
    container = deep_merge(container, settings.extra_container_spec)

    task = {
        "ContainerSpec": container,
        "Resources": make_resources(settings),
        "RestartPolicy": make_restart_policy(settings.restart_policy),
        "Placement": make_placement(
            settings.placement_constraints, settings.placement_preferences
        ),
        "Networks": [{"Target": net} for net in settings.networks],
    }
    task = deep_merge(task, settings.extra_task_spec)

    return {
        "name": settings.name,
        "labels": labels,
        "task_template": task,
        "mode": {"Replicated": {"Replicas": 1}},
        "endpoint_spec": {"Mode": settings.endpoint_mode},
    }
