"""The original ``use_user_options`` made safe: users' service fields, within allowlists.

Pure. The original package took ``user_options`` like::

    {"container_spec": {"Image": ..., "args": [...], "mounts": [...]},
     "resource_spec": {"cpu_limit": ..., "mem_limit": ..., "cpu_reservation": ...,
                       "mem_reservation": ...},
     "placement": [...], "network": [...], "name": "..."}

and used them as they came. Here each field is accepted only inside an allowlist the admin
set; a field without one is refused. :func:`check` returns a :class:`Request` of checked
values or raises UserOptionsError naming the field.
"""

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from swarmspawner.objects import SpecError, expand_template
from swarmspawner.options import UserOptionsError, check_text
from swarmspawner.units import MIN_MEMORY, NANO, parse_bytes

LEGACY_FIELDS = ("container_spec", "resource_spec", "placement", "network", "networks", "name")

# The least a user may ask for: below it a server hardly starts (Docker's floor: 0.001).
MIN_CPU_CORES = 0.01
MAX_LIST = 16

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SERVICE_SUFFIX = re.compile(r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")
#: The original package's mount keys (the Engine API's) -> the spawner's.
API_MOUNT_KEYS = {"Type": "type", "Source": "source", "Target": "target", "ReadOnly": "read_only",
                  "Consistency": "consistency"}
#: Those a user may send in user_options.
_MOUNT_KEYS = {k: v for k, v in API_MOUNT_KEYS.items() if k != "Consistency"}


@dataclass
class Allowlists:
    """What the admin allows; an empty list or None allows nothing for that field."""

    images: list = field(default_factory=list)
    args: list = field(default_factory=list)
    mounts: list = field(default_factory=list)
    max_cpu: float | None = None
    max_mem: int | None = None
    networks: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    name_pattern: str = ""


@dataclass
class Request:
    """The checked fields, in the new settings' units (cores, bytes)."""

    image: str | None = None
    args: list | None = None
    mounts: list = field(default_factory=list)
    cpu_limit: float | None = None
    mem_limit: int | None = None
    cpu_guarantee: float | None = None
    mem_guarantee: int | None = None
    networks: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    name: str = ""


def check(options, allow, namespace):
    """Check the legacy fields of ``options`` against ``allow``.

    ``namespace`` fills ``{username}``-style fields in the admin's mount patterns.
    """
    request = Request()
    spec = options.get("container_spec")
    if spec is not None:
        _check_container_spec(_dict("container_spec", spec), allow, namespace, request)
    resources = options.get("resource_spec")
    if resources is not None:
        _check_resources(_dict("resource_spec", resources), allow, request)
    if "placement" in options:
        request.constraints = _check_constraints(options["placement"], allow)
    if "network" in options and "networks" in options:
        raise UserOptionsError("user_options fields 'network' and 'networks' are both given;"
                               " give one of them.")
    for key in ("network", "networks"):
        if key in options:
            request.networks = _check_networks(key, options[key], allow)
    if "name" in options:
        request.name = _check_name(options["name"], allow)
    return request


def _check_container_spec(spec, allow, namespace, request):
    for key, value in spec.items():
        where = f"container_spec.{key}"
        if key in ("Image", "image"):
            request.image = _check_image(where, value, allow)
        elif key == "args":
            request.args = _check_args(where, value, allow)
        elif key == "mounts":
            request.mounts = _check_mounts(where, value, allow, namespace)
        else:
            raise UserOptionsError(
                f"user_options field {where!r} is not accepted; users may set only"
                " container_spec.Image, args and mounts, within the hub's allowlists."
            )


def _check_image(where, value, allow):
    image = check_text(where, value)
    if not allow.images:
        raise _no_allowlist(where, "images", "user_options_allowed_images")
    if not any(fnmatch.fnmatchcase(image, pattern) for pattern in allow.images):
        raise UserOptionsError(f"user_options field {where!r}: image {image!r} is not allowed"
                               " on this hub.")
    return image


def _check_args(where, value, allow):
    if isinstance(value, str):
        check_text(where, value, 1024)
        try:
            value = shlex.split(value)
        except ValueError as e:  # an unbalanced quote
            raise UserOptionsError(f"user_options field {where!r} cannot be read as a"
                                   f" command: {e}.") from None
    args = _string_list(where, value)
    if not allow.args:
        raise _no_allowlist(where, "commands", "user_options_allowed_args")
    if args not in [list(a) for a in allow.args]:
        raise UserOptionsError(f"user_options field {where!r}: {shlex.join(args)!r} is not"
                               " an allowed command on this hub.")
    return args


def _check_mounts(where, value, allow, namespace):
    if not isinstance(value, list):
        raise UserOptionsError(f"user_options field {where!r} must be a list of mounts.")
    if len(value) > MAX_LIST:
        raise UserOptionsError(f"user_options field {where!r} has more than {MAX_LIST} mounts.")
    if value and not allow.mounts:
        raise _no_allowlist(where, "mounts", "user_options_allowed_mounts")
    return [_check_mount(f"{where}[{n}]", m, allow, namespace) for n, m in enumerate(value)]


def _check_mount(where, raw, allow, namespace):
    raw = _dict(where, raw)
    mount = {}
    for key, value in raw.items():
        name = _MOUNT_KEYS.get(key, key)
        if name not in _MOUNT_KEYS.values():
            raise UserOptionsError(
                f"user_options field '{where}.{key}' is not accepted; a user's mount has only"
                " type, source, target and read_only."
            )
        mount[name] = value
    kind = check_text(f"{where}.type", mount.get("type", "volume"))
    source = check_text(f"{where}.source", mount.get("source") or "")
    target = check_text(f"{where}.target", mount.get("target") or "")
    read_only = mount.get("read_only", False)
    if not isinstance(read_only, bool):
        raise UserOptionsError(f"user_options field '{where}.read_only' must be true or false.")
    if not _clean_path(target) or target == "/":
        raise UserOptionsError(f"user_options field '{where}.target' must be a normalized"
                               f" absolute path below '/', not {target!r}.")
    if "{" in source or "}" in source:
        raise UserOptionsError(f"user_options field '{where}.source' may not contain braces.")
    if kind == "bind" and (not _clean_path(source) or source == "/"):
        raise UserOptionsError(f"user_options field '{where}.source' must be a normalized"
                               f" absolute path below '/', not {source!r}.")
    if kind == "volume" and source and not _VOLUME_NAME.match(source):
        raise UserOptionsError(f"user_options field '{where}.source': {source!r} is not a"
                               " volume name.")
    if kind == "tmpfs" and source:
        raise UserOptionsError(f"user_options field '{where}.source': a tmpfs has no source.")
    for entry in allow.mounts:
        if _mount_allowed(entry, kind, source, target, namespace):
            forced = bool(entry.get("read_only", False))
            result = {"type": kind, "target": target, "read_only": read_only or forced}
            if source:
                result["source"] = source
            return result
    what = f"{kind} mount of {source!r} at {target!r}" if source else f"{kind} mount at {target!r}"
    raise UserOptionsError(f"user_options field {where!r}: a {what} is not allowed on this hub.")


def _mount_allowed(entry, kind, source, target, namespace):
    if entry.get("type", "volume") != kind:
        return False
    pattern = entry.get("source") or ""
    if pattern:
        try:
            pattern = expand_template(pattern, namespace)
        except SpecError:
            return False
        if not source or not fnmatch.fnmatchcase(source, pattern):
            return False
    elif source:
        return False  # an entry without a source allows anonymous volumes (or tmpfs) only
    target_pattern = entry.get("target")
    return not target_pattern or fnmatch.fnmatchcase(target, target_pattern)


def _clean_path(path):
    return path.startswith("/") and posixpath.normpath(path) == path and "//" not in path


def _check_resources(resources, allow, request):
    for key, value in resources.items():
        where = f"resource_spec.{key}"
        if key in ("cpu_limit", "cpu_reservation"):
            cores = _cpu(where, value, allow)
            setattr(request, "cpu_limit" if key == "cpu_limit" else "cpu_guarantee", cores)
        elif key in ("mem_limit", "mem_reservation"):
            memory = _memory(where, value, allow)
            setattr(request, "mem_limit" if key == "mem_limit" else "mem_guarantee", memory)
        else:
            raise UserOptionsError(
                f"user_options field {where!r} is not accepted; users may set only cpu_limit,"
                " mem_limit, cpu_reservation and mem_reservation."
            )
    if request.cpu_limit and request.cpu_guarantee and request.cpu_guarantee > request.cpu_limit:
        raise UserOptionsError("user_options field 'resource_spec.cpu_reservation' is larger"
                               " than resource_spec.cpu_limit.")
    if request.mem_limit and request.mem_guarantee and request.mem_guarantee > request.mem_limit:
        raise UserOptionsError("user_options field 'resource_spec.mem_reservation' is larger"
                               " than resource_spec.mem_limit.")


def _cpu(where, value, allow):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise UserOptionsError(f"user_options field {where!r} must be a number of nano-CPUs"
                               " (1000000000 = one core).")
    if allow.max_cpu is None:
        raise _no_allowlist(where, "CPU settings", "user_options_max_cpu")
    cores = value / NANO
    if cores < MIN_CPU_CORES:
        raise UserOptionsError(f"user_options field {where!r}: {value} nano-CPUs is less than"
                               f" {MIN_CPU_CORES} cores (1000000000 nano-CPUs = one core).")
    if cores > allow.max_cpu:
        raise UserOptionsError(f"user_options field {where!r}: {cores:g} cores is more than the"
                               f" {allow.max_cpu:g} this hub allows.")
    return cores


def _memory(where, value, allow):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UserOptionsError(f"user_options field {where!r} must be a number of bytes.")
    try:
        memory = parse_bytes(check_text(where, value, 32) if isinstance(value, str) else value,
                             where)
    except ValueError:
        raise UserOptionsError(f"user_options field {where!r} must be a number of bytes"
                               " or a size like '2G'.") from None
    if allow.max_mem is None:
        raise _no_allowlist(where, "memory settings", "user_options_max_mem")
    if memory < MIN_MEMORY:
        raise UserOptionsError(f"user_options field {where!r}: {memory} bytes is less than"
                               " Docker's minimum of 6 MiB.")
    if memory > allow.max_mem:
        raise UserOptionsError(f"user_options field {where!r}: {memory} bytes is more than the"
                               f" {allow.max_mem} this hub allows.")
    return memory


def _check_constraints(value, allow):
    constraints = _string_list("placement", value)
    if constraints and not allow.constraints:
        raise _no_allowlist("placement", "placement constraints",
                            "user_options_allowed_constraints")
    allowed = {_squeeze(c) for c in allow.constraints}
    for n, constraint in enumerate(constraints):
        if _squeeze(constraint) not in allowed:
            raise UserOptionsError(f"user_options field 'placement[{n}]': {constraint!r} is not"
                                   " an allowed placement constraint on this hub.")
    return constraints


def _squeeze(constraint):
    return re.sub(r"\s+", "", constraint)


def _check_networks(key, value, allow):
    networks = _string_list(key, value)
    if networks and not allow.networks:
        raise _no_allowlist(key, "networks", "user_options_allowed_networks")
    for n, network in enumerate(networks):
        if network not in allow.networks:
            raise UserOptionsError(f"user_options field '{key}[{n}]': network {network!r} is"
                                   " not allowed on this hub.")
    return networks


def _check_name(value, allow):
    name = check_text("name", value, 30)
    if not allow.name_pattern:
        raise _no_allowlist("name", "service names", "user_options_name_pattern")
    if not _SERVICE_SUFFIX.match(name) or not re.fullmatch(allow.name_pattern, name):
        raise UserOptionsError(f"user_options field 'name': {name!r} is not an allowed name;"
                               " use lowercase letters, digits and '-' as this hub allows.")
    return name


def _dict(where, value):
    if not isinstance(value, dict):
        raise UserOptionsError(f"user_options field {where!r} must be an object.")
    return value


def _string_list(where, value):
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise UserOptionsError(f"user_options field {where!r} must be a list of at most"
                               f" {MAX_LIST} strings.")
    return [check_text(f"{where}[{n}]", item, 1024) for n, item in enumerate(value)]


def _no_allowlist(where, what, setting):
    return UserOptionsError(
        f"user_options field {where!r} is not accepted: this hub allows users no {what}"
        f" (c.SwarmSpawner.{setting} is not set)."
    )
