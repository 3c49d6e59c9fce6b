"""Which systems a benchmark run holds (benchmarks/run.py's `--systems`): pure parsing."""

import pytest

from benchmarks import run


def test_boot_limits_follow_this_spawner_in_order_of_their_limit():
    systems = run.parse_systems("dockerspawner, swarmspawner-boot4,floor,swarmspawner-boot1,"
                                "swarmspawner")
    assert systems == ["floor", "swarmspawner", "swarmspawner-boot1", "swarmspawner-boot4",
                       "dockerspawner"]
    # Each hub a code of its own in its services' and containers' names.
    hubs = [s for s in systems if s != "floor"]
    assert len({run.code(s) for s in hubs}) == len(hubs)


def test_an_unknown_system_is_named():
    with pytest.raises(SystemExit, match="unknown systems kube"):
        run.parse_systems("floor,kube")


class FlakyContainer:
    """An exec whose output is lost once, as through the lab's SSH-forwarded socket."""
    name = "hub"

    def __init__(self, outputs):
        self.outputs = list(outputs)

    def exec_run(self, cmd):
        return run.docker.models.containers.ExecResult(0, self.outputs.pop(0))


def test_the_process_probe_is_asked_again_when_its_output_is_lost(monkeypatch):
    monkeypatch.setattr(run.time, "sleep", lambda s: None)
    found = b'[["/usr/bin/python3 /usr/local/bin/jupyterhub -f x", 1.5, 120.0]]'
    assert run.hub_processes(FlakyContainer([b"", found])) == {"hub": (1.5, 120.0)}
    with pytest.raises(RuntimeError, match="the process probe in hub printed b'' \\(exit 0\\)"):
        run.hub_processes(FlakyContainer([b"", b"", b""]))
