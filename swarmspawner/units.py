"""Conversions between the units admins write and the ones the Docker API takes."""

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


def parse_bytes(value, name="value"):
    """``"2G"``, ``"512M"``, ``"1.5g"``, ``1073741824`` -> bytes as an int.

    Units are binary (K = 1024), like JupyterHub's ``mem_limit`` and Docker's ``--memory``.
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
