"""The outer checks every ``user_options`` passes before anyone reads a field of it.

``user_options`` is user input: it comes from the spawn form and, just as well, from
anyone with a token who posts JSON to the REST API. Before the profile or allowlist
checks look inside, it must be a small JSON object with string keys.
"""

import json
import re

#: Bounds on what a user may send; generous for any real choice, small for a hub's memory.
MAX_KEYS = 32
MAX_BYTES = 16 * 1024
MAX_DEPTH = 6
MAX_TEXT = 255
#: The largest number a user may send: beyond it a float loses the integer, or overflows.
MAX_NUMBER = 2**53
#: Free text that fills an admin's ``{value}``: one name or path segment, so that whatever
#: the admin's own pattern allows, it cannot climb out of a folder (``..``, ``/``), name a
#: hidden file, start an option (``-x``) or carry template syntax (braces).
MAX_SEGMENT = 128
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


class UserOptionsError(ValueError):
    """The user asked for something this hub does not offer.

    The message is one sentence for the user that names the field; the spawner turns
    it into an HTTP 400.
    """


def check_shape(user_options):
    """Refuse anything but a small JSON object with string keys."""
    if not isinstance(user_options, dict):
        raise UserOptionsError(
            f"user_options must be a JSON object (a dict), not {_kind(user_options)}."
        )
    if len(user_options) > MAX_KEYS:
        raise UserOptionsError(
            f"user_options has {len(user_options)} fields; at most {MAX_KEYS} are accepted."
        )
    for key in user_options:
        if not isinstance(key, str):
            raise UserOptionsError(f"user_options field names must be strings, not {key!r:.40}.")
        if len(key) > MAX_TEXT:
            raise UserOptionsError(
                f"user_options field {key[:40]!r}… has a name longer than {MAX_TEXT} characters."
            )
    try:
        size = len(json.dumps(user_options, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        raise UserOptionsError(
            "user_options must be plain JSON data (objects, lists, strings, numbers, booleans)."
        ) from None
    if size > MAX_BYTES:
        raise UserOptionsError(
            f"user_options is {size} bytes of JSON; at most {MAX_BYTES} are accepted."
        )
    _check_depth(user_options, 0)


def _check_depth(value, depth):
    if depth > MAX_DEPTH:
        raise UserOptionsError(f"user_options is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise UserOptionsError(
            f"user_options has a number larger than {MAX_NUMBER} ({str(value)[:20]}…);"
            " no setting takes one that large."
        )
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _check_depth(child, depth + 1)


def check_text(field, value, max_length=MAX_TEXT):
    """A single-line string of bounded length, or a UserOptionsError naming ``field``."""
    if not isinstance(value, str):
        raise UserOptionsError(f"user_options field {field!r} must be a string, not {_kind(value)}.")
    if len(value) > max_length:
        raise UserOptionsError(
            f"user_options field {field!r} is {len(value)} characters long;"
            f" at most {max_length} are accepted."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UserOptionsError(f"user_options field {field!r} contains control characters.")
    return value


def check_segment(field, value):
    """Text that fills an admin's ``{value}``: one safe name or path segment, or an error."""
    check_text(field, value, MAX_SEGMENT)
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise UserOptionsError(
            f"user_options field {field!r}: {value!r} is not allowed: the text fills one name"
            " or path segment: letters, digits, '.', '_', '+' and '-', starting with a letter,"
            f" digit or '_', without '..', at most {MAX_SEGMENT} characters."
        )
    return value


def _kind(value):
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
