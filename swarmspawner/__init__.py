"""Run JupyterHub users' notebook servers as Docker Swarm services."""

__all__ = ["SwarmSpawner"]
__version__ = "1.0.0.dev0"


def __getattr__(name):
    # Loaded on first use, so that the pure modules (units, objects, slugs) import without
    # JupyterHub, as the deploy tooling on a manager node does.
    if name == "SwarmSpawner":
        from .spawner import SwarmSpawner

        return SwarmSpawner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
