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
from traitlets import Bool, Dict, List, Unicode

from swarmspawner import SwarmSpawner as _SwarmSpawner
from swarmspawner.units import nano_to_cores

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
_API_MOUNT_KEYS = {
    "Type": "type",
    "Source": "source",
    "Target": "target",
    "ReadOnly": "read_only",
    "Consistency": "consistency",
}


def _legacy_mount(mount):
    """A mount as the original took it (docker-py's Mount or a lowercase dict)."""
    mount = dict(mount)
    if "Target" in mount:  # a docker.types.Mount: Engine API keys
        converted = {new: mount[old] for old, new in _API_MOUNT_KEYS.items() if old in mount}
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
        help="""Let users' `user_options` carry `container_spec`, `resource_spec`, `placement`,
        `network` and `name`, as the original did — but only within the allowlists the admin
        sets (see `user_options_allowed`); anything else is refused.""",
    ).tag(config=True)

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
        if not getattr(SwarmSpawner, "_warned", False):
            SwarmSpawner._warned = True
            self.log.warning(
                "cassinyspawner.SwarmSpawner and container_spec/resource_spec/placement are"
                " deprecated: use c.JupyterHub.spawner_class = 'swarm' with %s.",
                ", ".join(f"c.SwarmSpawner.{name}" for name in sorted(translated)),
            )
