"""Several runs of `make bench` side by side: each figure's median and its spread (min–max).

    python -m benchmarks.spread run-1.json run-2.json run-3.json > summary.md

Ratios are taken within each run (against the floor, dockerspawner, or another system of the
same run given with --against), then spread over the runs, so that load that hit one run hits
both sides of its ratio.
"""

import argparse
import json
import statistics
from pathlib import Path

from benchmarks.report import ratio

COLUMNS = (("p50", "p50 s", 2), ("all_ready", "all ready s", 2), ("stop_seconds", "stop s", 2),
           ("requests_per_poll", "req / poll", 1), ("hub_cpu_percent", "hub CPU %", 1))
HELD_COLUMNS = (("all_ready", "all started s", 1), ("requests_per_poll", "req / poll", 1),
                ("hub_cpu_percent", "hub CPU %", 1), ("proxy_cpu_percent", "proxy CPU %", 1),
                ("hub_rss_mb", "hub RSS MB", 0),
                ("adopt_seconds", "adopt s", 1), ("stop_seconds", "stop s", 2),
                ("stop_gone_seconds", "gone s", 1))


def spread(values, digits=2, suffix=""):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    low, mid, high = min(values), statistics.median(values), max(values)
    if len(values) == 1:
        return f"{mid:.{digits}f}{suffix}"
    return f"{mid:.{digits}f}{suffix} ({low:.{digits}f}–{high:.{digits}f})"


def table(runs, image, n, against):
    """One table: a row per system of the runs that measured ``n`` x ``image``."""
    held = image == "idle"
    columns = HELD_COLUMNS if held else COLUMNS
    systems = []
    for run in runs:
        for p in run["phases"]:
            if (p["image"], p["n"]) == (image, n) and p["system"] not in systems:
                systems.append(p["system"])

    def phase(run, system):
        return next((p for p in run["phases"]
                     if (p["system"], p["image"], p["n"]) == (system, image, n)), None)

    ratio_to = [a for a in against if a in systems]
    head = [h for _, h, _ in columns] + ["errors"] + [f"all ÷ {a}" for a in ratio_to]
    label = f"{n} held" if held else f"{n} × {image}"
    lines = [f"| {label} | " + " | ".join(head) + " |",
             "| --- | " + " | ".join("---:" for _ in head) + " |"]
    for system in systems:
        found = [(run, phase(run, system)) for run in runs]
        found = [(run, p) for run, p in found if p is not None]
        cells = [spread([p.get(key) for _, p in found], digits) for key, _, digits in columns]
        cells.append(str(sum(len(p["errors"]) for _, p in found)))
        for other in ratio_to:
            if other == system:
                cells.append("–")
                continue
            ratios = []
            for run, p in found:
                base = phase(run, other)
                ratios.append(ratio(p.get("all_ready"), base and base.get("all_ready")))
            cells.append(spread(ratios, 2, "×"))
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="results.json of each run")
    parser.add_argument("--against", default="floor,dockerspawner",
                        help="systems whose all-ready figure each row is divided by")
    args = parser.parse_args(argv)
    runs = [json.loads(Path(path).read_text()) for path in args.results]
    against = [a for a in args.against.split(",") if a]
    seen = []
    for run in runs:
        for p in run["phases"]:
            if (p["image"], p["n"]) not in seen:
                seen.append((p["image"], p["n"]))
    out = [f"{len(runs)} runs; each figure the median, the spread (min–max) in brackets.", ""]
    for image, n in seen:
        out += [table(runs, image, n, against), ""]
    for i, run in enumerate(runs, 1):
        meta = run["meta"]
        load = " ".join(f"{x:.2f}" for x in meta["load_average_start"])
        end = " ".join(f"{x:.2f}" for x in meta.get("load_average_end") or [])
        out.append(f"- run {i}: {meta['started']} – {meta.get('finished', '?')}, load average"
                   f" (1, 5, 15 min) {load} → {end}")
    print("\n".join(out))
    return "\n".join(out)


if __name__ == "__main__":
    main()
