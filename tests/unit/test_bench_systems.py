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
