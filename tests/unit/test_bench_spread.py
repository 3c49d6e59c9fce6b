"""Several benchmark runs side by side (benchmarks/spread.py): pure arithmetic on their JSON."""

import json

from benchmarks import spread


def test_spread_of_runs_gives_median_and_range(tmp_path):
    """benchmarks.spread over several runs' JSON (here the same run twice and a slower one)."""
    phase = {"system": "swarmspawner", "image": "tiny", "n": 2, "p50": 1.0, "all_ready": 2.0,
             "errors": []}
    floor = {**phase, "system": "floor", "all_ready": 1.0}
    meta = {"started": "t0", "finished": "t1", "load_average_start": [1, 1, 1],
            "load_average_end": [2, 2, 2]}
    paths = []
    for i, scale in enumerate((1, 1, 2)):
        path = tmp_path / f"run-{i}.json"
        path.write_text(json.dumps({"meta": meta, "phases": [
            floor, {**phase, "all_ready": 2.0 * scale}]}))
        paths.append(str(path))
    text = spread.main(paths)
    assert "| swarmspawner | 1.00 (1.00–1.00) | 2.00 (2.00–4.00) |" in text
    assert "2.00× (2.00–4.00)" in text  # all ready ÷ floor, run by run
