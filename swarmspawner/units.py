"""Conversions between the units admins write and the ones the Docker API takes.

The one grammar for sizes and limits: the .env file, profiles, mounts and the original
package's user options all read them here, with the same errors. Pure: no JupyterHub
(the deploy tooling on a manager node uses it too).
"""

import re

NANO = 10**9

_BYTE_UNITS = {
    "": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
}
_BYTES_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


#: Below these Docker refuses a service; 0 it would read as "no limit".
MIN_MEMORY = 6 * 1024**2
MIN_CPU_CORES = 0.001


def parse_bytes(value, name="value"):
    """``"2G"``, ``"512M"``, ``"1.5g"``, ``1073741824`` -> bytes as an int.

    Units are binary (K = 1024), like JupyterHub's ``mem_limit`` (its ByteSpecification:
    every size it takes means the same here; lowercase units and a ``B``/``iB`` ending are
    taken too) and Docker's ``--memory``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of bytes or a size like '2G', not {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value!r}")
        return int(value)
    match = _BYTES_PATTERN.match(str(value))
    if not match:
        raise ValueError(
            f"{name} must be a number of bytes or a size like '512M' or '2G', not {value!r}"
        )
    number, unit = match.groups()
    return int(float(number) * _BYTE_UNITS[unit.lower()])


def memory_limit(value, name="mem_limit"):
    """A memory limit in bytes, or None for none; too small to run is refused (0 included:
    Docker would read it as no limit at all)."""
    if value is None:
        return None
    memory = parse_bytes(value, name)
    if memory < MIN_MEMORY:
        raise ValueError(
            f"{name} must be at least 6M, Docker's smallest limit, not {value!r};"
            " for no limit leave it unset (0 is not 'none')"
        )
    return memory


def cpu_limit(value, name="cpu_limit"):
    """CPU cores as a limit, or None for none; 0, negative or below 0.001 cores is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{name} must be a number of CPU cores, e.g. 1 or 0.5, not {value!r}")
    if value < MIN_CPU_CORES:
        raise ValueError(
            f"{name} must be at least {MIN_CPU_CORES} cores, not {value!r}; for no limit leave"
            " it unset (0 is not 'none')"
        )
    return float(value)


def cores_to_nano(cores):
    """CPU cores (``1.5``) -> Docker's NanoCPUs (``1500000000``)."""
    if cores is None:
        return None
    return int(round(float(cores) * NANO))


def nano_to_cores(nano):
    """Docker's NanoCPUs -> CPU cores."""
    if nano is None:
        return None
    return nano / NANO


def seconds_to_nano(seconds):
    """Seconds -> the nanoseconds Docker takes for durations."""
    if seconds is None:
        return None
    return int(round(float(seconds) * NANO))
