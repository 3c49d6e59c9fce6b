"""`make bench`'s harness runs end to end on a tiny N. Not a timed test: no figure is judged."""

import json

import pytest

from benchmarks import run

pytestmark = pytest.mark.integration


def test_bench_harness_runs_on_a_tiny_n(docker_client, tmp_path):
    # Every kind of hub once (a boot limit is one line of this spawner's configuration:
    # tests/unit/test_bench_systems.py parses those).
    systems = list(run.SYSTEMS)
    out = run.main([
        "--notebook-n", "", "--tiny-n", "2", "--idle-n", "2", "--idle-samples", "1",
        "--poll-interval", "1", "--idle-window", "2",
        "--systems", ",".join(systems), "--out", str(tmp_path),
    ])

    data = json.loads(out["json"].read_text())
    hubs = [s for s in systems if s != "floor"]
    assert {(p["system"], p["image"], p["n"]) for p in data["phases"]} == {
        *((s, "tiny", 2) for s in systems), *((s, "idle", 2) for s in hubs)}
    held = [p for p in data["phases"] if p["image"] == "idle"]
    for phase in held:
        # Both servers started, measured idle, adopted by the restarted hub, stopped.
        assert phase["errors"] == [] and len(phase["latencies"]) == 2, phase
        # JupyterHub alone never calls the engine.
        assert (phase["idle_samples"][0]["requests"] > 0) is (phase["system"] != "jupyterhub"), phase
        assert len(phase["idle_samples"]) == 2 and phase["hub_rss_mb"] > 0, phase
        # JupyterHub's process and the proxy it runs, apart.
        assert phase["hub_cpu_percent"] is not None, phase
        assert phase["proxy_cpu_percent"] is not None, phase
        assert phase["adopt_seconds"] > 0 and phase["stop_seconds"] is not None, phase
    for phase in data["phases"]:
        if phase["image"] == "idle":
            continue
        assert phase["errors"] == [], phase
        assert len(phase["latencies"]) == 2 and all(t > 0 for t in phase["latencies"]), phase
        # From the first request to the last ready: at least the slowest server's own wait.
        assert phase["all_ready"] >= max(phase["latencies"]) - 0.01, phase
        assert phase["stop_seconds"] is not None, phase
        if phase["system"] != "floor":
            assert (phase["requests"] > 0) is (phase["system"] != "jupyterhub"), phase
            assert phase["hub_cpu_percent"] is not None, phase
            assert phase["ratio_to_floor"]["all_ready"] > 0, phase
    ours = next(p for p in data["phases"] if p["system"] == "swarmspawner")
    assert ours["ratio_to_dockerspawner"]["p50"] > 0
    assert data["meta"]["load_average_start"] and data["meta"]["load_average_end"]

    table = out["markdown"].read_text()
    assert "| 2 × tiny | swarmspawner |" in table
    assert "| 2 held | dockerspawner |" in table
    assert "p50 ÷ floor" in table
    if out["png"] is not None:
        assert out["png"].read_bytes().startswith(b"\x89PNG")

    # Nothing of the run is left on the engine.
    run_id = data["meta"]["run_id"]
    assert not [s.name for s in docker_client.services.list() if run_id in s.name]
    # The list call alone: inspecting each container races with ones the engine is removing.
    names = [n for c in docker_client.api.containers(all=True) for n in c["Names"]]
    assert not [n for n in names if run_id in n]

