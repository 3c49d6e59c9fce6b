"""Run JupyterHub users' notebook servers as Docker Swarm services."""

from .spawner import SwarmSpawner

__all__ = ["SwarmSpawner"]
__version__ = "1.0.0.dev0"
