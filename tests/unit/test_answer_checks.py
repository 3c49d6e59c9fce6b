"""How often start() checks that a new server answers: often while few boot, spread out with
many (each check is a connect on the hub's event loop)."""

import pytest

from swarmspawner import SwarmSpawner


@pytest.mark.parametrize("waiting, interval", [(1, 0.1), (10, 0.1), (20, 0.2), (50, 0.5),
                                               (500, 0.5)])
def test_checks_spread_out_as_more_servers_wait_to_answer(spawner_factory, monkeypatch,
                                                          waiting, interval):
    monkeypatch.setattr(SwarmSpawner, "_answer_checks", waiting)
    assert spawner_factory()._answer_check_interval() == pytest.approx(interval)


def test_an_admins_longer_interval_is_kept(spawner_factory, monkeypatch):
    monkeypatch.setattr(SwarmSpawner, "_answer_checks", 1)
    spawner = spawner_factory(config={"SwarmSpawner": {"answer_probe_interval": 2.0}})
    assert spawner._answer_check_interval() == 2.0
