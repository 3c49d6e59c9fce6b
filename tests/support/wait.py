"""Waiting for what a user or operator would see, without timed assertions."""

import time


def wait_for(condition, timeout=30, interval=0.5, ignore=()):
    """Call ``condition`` until it returns something truthy, and return that.

    After ``timeout`` seconds, one last call's result is returned (falsy). Exceptions of
    the ``ignore`` types count as "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except ignore:
            result = None
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)
