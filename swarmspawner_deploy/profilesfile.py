"""The profiles file: the servers users choose from, as YAML, named in the .env.

    PROFILES_FILE=profiles.yaml

z2jh's ``profileList`` shape, with this project's field names::

    - display_name: Small (1 CPU, 2 GB)
      slug: small
      default: true
      spawner_override: {cpu_limit: 1, mem_limit: 2G}
    - display_name: GPU
      slug: gpu
      groups: [gpu-users]      # only members of these JupyterHub groups see it or may start it
      spawner_override:
        image: example/gpu-notebook:1
        generic_resources: {gpu: 1}
        placement_constraints: ["node.labels.gpu == yes"]
      profile_options: {}      # choices within the profile, as c.SwarmSpawner.profile_list's

The deploy command and ``swarmspawner-env check`` refuse a bad file, naming its path, the
line and the field; the hub checks it again when it starts. It reaches the hub as a Docker
config, and a changed file redeploys the hub like any .env change.
"""

import yaml

from swarmspawner import placement, units
from swarmspawner.objects import SpecError, make_mount
from swarmspawner.profiles import ProfileConfigError, load_profiles


GROUPS_FIELD = "groups"
_OVERRIDE_KEYS = ("spawner_override", "kubespawner_override")
_SAMPLE_NAMESPACE = {"username": "user", "servername": "", "prefix": "jupyter",
                     "username_md5": "0" * 32}


class ProfilesFileError(ValueError):
    """The profiles file cannot be used; ``problems`` has a sentence each."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Located(dict):
    """A mapping that remembers the line of each of its keys (1-based)."""

    line = 0
    lines = {}


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    mapping = _Located(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {loader.construct_object(key, deep=True): key.start_mark.line + 1
                     for key, _ in node.value}
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- what a profile may set, and how each value is checked ----------------------------

def _text(value):
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _texts(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return value


def _text_map(value):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError("must be a mapping of names to values")
    return value


def _cores(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or value < 0):
        raise ValueError("must be a number of CPU cores, e.g. 0.5")
    return value


def _generic(value):
    _text_map(value)
    for kind, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, (int, str)):
            raise ValueError(f"{kind!r} must be a count (e.g. 1) or a named resource")
    return value


def _mounts(value):
    if not isinstance(value, list):
        raise ValueError("must be a list of mounts")
    for mount in value:
        try:
            make_mount(dict(mount) if isinstance(mount, dict) else mount, _SAMPLE_NAMESPACE)
        except SpecError as e:
            raise ValueError(str(e)) from None
    return value


#: Settings a profile may set (spawner_override), each with its check.
SETTINGS = {
    "image": _text,
    "cmd": _texts,
    "environment": _text_map,
    "cpu_limit": units.cpu_limit,
    "mem_limit": units.memory_limit,
    "cpu_guarantee": _cores,
    "mem_guarantee": lambda v: units.parse_bytes(v, "mem_guarantee"),
    "generic_resources": _generic,
    "placement_constraints": lambda v: placement.check(_texts(v)),
    "placement_preferences": _texts,
    "mounts": _mounts,
}


def _check_overrides(path, where, overrides, problems):
    if not isinstance(overrides, dict):
        problems.append(f"{path} line {_line(overrides)}: {where} must be a mapping of settings")
        return
    for name, value in overrides.items():
        line = overrides.lines.get(name, overrides.line) if isinstance(overrides, _Located) else "?"
        if name not in SETTINGS:
            problems.append(f"{path} line {line}: {where}.{name} is not a setting a profile can"
                            f" set; it can set {', '.join(sorted(SETTINGS))}")
            continue
        if "{value}" in str(value):
            continue  # filled by a user's text at spawn time, checked then
        try:
            SETTINGS[name](value)
        except (ValueError, TypeError) as e:
            problems.append(f"{path} line {line}: {where}.{name} = {value!r:.60}: {e}")


def _line(node):
    return getattr(node, "line", "?")


def check(profiles, path):
    """Problems with a parsed profiles file, each naming the file, the line and the field."""
    if profiles is None:
        return []
    if not isinstance(profiles, list):
        return [f"{path} line {_line(profiles)}: the file must be a list of profiles"]
    problems = []
    for n, raw in enumerate(profiles):
        if not isinstance(raw, dict):
            problems.append(f"{path}: entry {n + 1} must be a profile (a mapping)")
            continue
        where = f"profile {raw.get('slug') or raw.get('display_name') or n + 1!r}"
        groups = raw.get(GROUPS_FIELD)
        if groups is not None and (not isinstance(groups, list) or not groups
                                   or not all(isinstance(g, str) and g for g in groups)):
            problems.append(f"{path} line {raw.lines.get(GROUPS_FIELD)}: {where}.groups must be"
                            " a list of JupyterHub group names")
        for key in _OVERRIDE_KEYS:
            if key in raw:
                _check_overrides(path, f"{where}.{key}", raw[key], problems)
        for name, option in (raw.get("profile_options") or {}).items():
            if not isinstance(option, dict):
                continue  # load_profiles says why
            for key, choice in (option.get("choices") or {}).items():
                for override in _OVERRIDE_KEYS:
                    if isinstance(choice, dict) and override in choice:
                        _check_overrides(path, f"{where}.{name}.{key}.{override}",
                                         choice[override], problems)
    if not problems:
        try:
            load_profiles(for_groups(profiles, None))
        except ProfileConfigError as e:
            problems.append(f"{path}: {e}")
    return problems


def load(path):
    """The profiles in the file at ``path``, checked; ProfilesFileError naming each problem."""
    try:
        with open(path) as f:
            profiles = yaml.load(f, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except OSError as e:
        raise ProfilesFileError([f"{path}: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ProfilesFileError([f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}"]) \
            from None
    problems = check(profiles, path)
    if problems:
        raise ProfilesFileError(problems)
    return profiles or []


def for_groups(profiles, groups):
    """The profiles a member of ``groups`` sees (None: all of them), as profile_list entries."""
    return [
        {key: value for key, value in profile.items() if key != GROUPS_FIELD}
        for profile in profiles
        if groups is None or not profile.get(GROUPS_FIELD) or set(profile[GROUPS_FIELD]) & groups
    ]


def _overrides(entry):
    return {**(entry.get("kubespawner_override") or {}), **(entry.get("spawner_override") or {})}


def server_images(profiles, image, constraints):
    """Every image a user's server may run, each with the placements it may run under:
    [{"name": ..., "placements": [[constraint, ...], ...]}]. ``image`` and ``constraints`` are
    the servers' defaults, which a profile or a choice within it overrides. An image or a
    placement filled from a user's own text ({value}) is left out: nobody knows it ahead."""
    found = {}

    def add(overrides):
        name = overrides.get("image", image)
        placement = list(overrides.get("placement_constraints", constraints))
        if "{value}" in name or any("{value}" in c for c in placement):
            return
        placements = found.setdefault(name, [])
        if placement not in placements:
            placements.append(placement)

    add({})
    for profile in profiles:
        base = _overrides(profile)
        add(base)
        for option in (profile.get("profile_options") or {}).values():
            for choice in (option.get("choices") or {}).values():
                add({**base, **_overrides(choice)})
    return [{"name": name, "placements": placements} for name, placements in found.items()]


def pin_images(profiles, refs):
    """The profiles with each image named as ``refs`` maps it (name -> local image ID), so that
    the nodes, which hold those images already, never try to pull them."""
    def pinned(entry):
        entry = dict(entry)
        for key in _OVERRIDE_KEYS:
            if isinstance(entry.get(key), dict) and entry[key].get("image") in refs:
                entry[key] = {**entry[key], "image": refs[entry[key]["image"]]}
        return entry

    result = []
    for profile in profiles:
        profile = pinned(profile)
        if profile.get("profile_options"):
            profile["profile_options"] = {
                name: {**option, "choices": {key: pinned(choice) for key, choice
                                             in (option.get("choices") or {}).items()}}
                if option.get("choices") else option
                for name, option in profile["profile_options"].items()}
        result.append(profile)
    return result

