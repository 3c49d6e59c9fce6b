"""`make bench-lab`'s harness runs on the lab at a tiny N: the hubs and the floor on the
manager, users' servers on the workers. Not a timed test: no figure is judged."""

import json

import pytest

from benchmarks import run

from .conftest import connect


def test_the_benchmark_runs_on_the_lab(pytestconfig, inventory, workers, tmp_path):
    if not pytestconfig.option.e2e_node_loss:
        pytest.skip("the benchmark starts hubs on the first manager: only on the lab of this"
                    " machine (make e2e without INVENTORY)")
    # Tiny servers answer within seconds: a server silent for a minute is an error to report.
    out = run.main(["--lab", inventory, "--notebook-n", "", "--tiny-n", "2",
                    "--poll-interval", "1", "--idle-window", "2", "--server-timeout", "60",
                    "--systems", "floor,swarmspawner-boot1,dockerspawner", "--out", str(tmp_path)])

    data = json.loads(out["json"].read_text())
    assert data["meta"]["nodes"] == 1 + len(workers)
    assert [p["system"] for p in data["phases"]] == ["floor", "swarmspawner-boot1",
                                                     "dockerspawner"]
    worker_names = {connect(inventory, name).check_output("hostname") for name in workers}
    for phase in data["phases"]:
        assert len(phase["latencies"]) + len(phase["errors"]) == 2, phase
        if phase["system"] == "dockerspawner":
            # dockerspawner addresses a server by its service's name, and its first check can
            # come before the swarm's gossip has brought that name to the hub's node: JupyterHub
            # 6's resolver (aiohttp through c-ares) then kept the "no data" answer for the rest of
            # http_timeout, in 2 of ~10 lab runs (2026-12), while getaddrinfo had the address.
            # The floor and this spawner use the task's IP. The error is the measurement's
            # finding, reported in results.md; the harness has placed and counted the server.
            assert all("didn't respond" in error for error in phase["errors"]), phase
        else:
            assert phase["errors"] == [], phase
        if phase["system"] != "floor":
            assert phase["requests"] > 0, phase  # counted on this machine, from the manager
            assert set(phase["server_nodes"]) <= worker_names, phase
            assert len(phase["latencies"]) <= sum(phase["server_nodes"].values()) <= 2, phase
