"""The benchmark's ``jupyterhub`` system: JupyterHub with a spawner that starts nothing.

Every server is one shared HTTP answer in the hub's own container (the tiny image's server,
200 on every path), so this hub's CPU and memory with N servers held are JupyterHub's own for
N running servers: its poll timers, its activity updates, its proxy. No spawner can go below
it; beside it, the other hubs' figures show what their spawner adds. Copied into the hub's
folder with the tiny server and imported by its configuration (benchmarks/run.py).
"""

import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import Spawner

PORT = 8890


def start_answering():
    """The shared server, fed to Python on stdin: its command line (``python3 -``) must not
    say "jupyterhub", which the benchmark reads as the hub's process when it splits the CPU."""
    with open(Path(__file__).with_name("ssbench-httpd.py"), "rb") as script:
        return subprocess.Popen([sys.executable, "-", f"--port={PORT}"], stdin=script)


class NoServerSpawner(Spawner):
    running = False

    def load_state(self, state):
        super().load_state(state)
        self.running = state.get("running", False)

    def get_state(self):
        state = super().get_state()
        if self.running:
            state["running"] = True
        return state

    def clear_state(self):
        super().clear_state()
        self.running = False

    async def start(self):
        self.running = True
        return f"http://127.0.0.1:{PORT}"

    async def poll(self):
        return None if self.running else 0

    async def stop(self, now=False):
        self.running = False
