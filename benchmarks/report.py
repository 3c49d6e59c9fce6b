"""The benchmark's results: JSON, a markdown table with ratios and targets, and a PNG plot."""

import json
from pathlib import Path

METRICS = ("p50", "p95", "max", "all_ready", "stop_seconds", "stop_gone_seconds",
           "requests_per_poll", "hub_cpu_percent")

# The benchmark's targets for this spawner, against the floor of the same run.
TARGET_RATIO = 1.2
TARGET_REQUESTS_PER_POLL = 2
TARGET_STOP_100 = 3.0
TARGET_IDLE_CPU_PERCENT = 2.0


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def add_ratios(phases):
    """Each spawner figure over dockerspawner's and over the floor's, same image and N."""
    index = {(p["system"], p["image"], p["n"]): p for p in phases}
    for p in phases:
        p["ratio_to_dockerspawner"] = {}
        p["ratio_to_floor"] = {}
        ds = index.get(("dockerspawner", p["image"], p["n"]))
        floor = index.get(("floor", p["image"], p["n"]))
        for metric in METRICS:
            if ds is not None and p["system"] != "dockerspawner":
                p["ratio_to_dockerspawner"][metric] = ratio(p.get(metric), ds.get(metric))
            if floor is not None and p["system"] != "floor":
                p["ratio_to_floor"][metric] = ratio(p.get(metric), floor.get(metric))
    return phases


def check_targets(phases):
    """The targets for this spawner: (what, figure, target, met) rows."""
    rows = []
    for p in phases:
        if p["system"] != "swarmspawner":
            continue
        where = f"{p['n']} x {p['image']}"
        if (p["image"] == "notebook" and p["n"] in (1, 10, 30)) or (
                p["image"] == "tiny" and p["n"] == 100):
            for metric, label in (("all_ready", "all ready"), ("p50", "median")):
                ratio = p["ratio_to_floor"].get(metric)
                rows.append((f"{where}: {label} / floor", ratio, TARGET_RATIO,
                             ratio is not None and ratio <= TARGET_RATIO))
        if p.get("requests_per_poll") is not None:
            rows.append((f"{where}: engine requests per poll interval", p["requests_per_poll"],
                         TARGET_REQUESTS_PER_POLL,
                         p["requests_per_poll"] <= TARGET_REQUESTS_PER_POLL))
        if p["image"] == "idle":
            rows.append((f"{where}: hub CPU % while they idle", p.get("hub_cpu_percent"),
                         TARGET_IDLE_CPU_PERCENT, p.get("hub_cpu_percent") is not None
                         and p["hub_cpu_percent"] < TARGET_IDLE_CPU_PERCENT))
        if p["image"] == "tiny" and p["n"] == 100:
            rows.append((f"{where}: stop all (s)", p.get("stop_seconds"), TARGET_STOP_100,
                         p.get("stop_seconds") is not None and p["stop_seconds"] <= TARGET_STOP_100))
    return rows


def _f(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def _x(x):
    return "–" if x is None else f"{x:.2f}×"


def markdown(meta, phases, targets):
    lines = [
        "| servers | system | p50 s | p95 s | max s | all ready s | errors | stop s "
        "| req / poll | hub CPU % | p50 ÷ ds | all ÷ ds | p50 ÷ floor | all ÷ floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    held = [p for p in phases if p["image"] == "idle"]
    for p in phases:
        if p["image"] == "idle":
            continue
        rd, rf = p.get("ratio_to_dockerspawner", {}), p.get("ratio_to_floor", {})
        lines.append(
            f"| {p['n']} × {p['image']} | {p['system']} | {_f(p['p50'])} | {_f(p['p95'])} "
            f"| {_f(p['max'])} | {_f(p['all_ready'])} | {len(p['errors'])} "
            f"| {_f(p.get('stop_seconds'))} | {_f(p.get('requests_per_poll'), 1)} "
            f"| {_f(p.get('hub_cpu_percent'), 1)} | {_x(rd.get('p50'))} | {_x(rd.get('all_ready'))} "
            f"| {_x(rf.get('p50'))} | {_x(rf.get('all_ready'))} |"
        )
    out = [
        f"Run of {meta['started']}–{meta.get('finished', '?')} on {meta['cpus']} cores, "
        f"Docker {meta['engine']}, dockerspawner {meta.get('dockerspawner_version', '?')}; "
        f"load average (1, 5, 15 min) at the start {_load(meta['load_average_start'])}, "
        f"at the end {_load(meta.get('load_average_end'))} (other sessions' tests may share "
        f"the cores). Poll interval {meta['poll_interval']:g} s; requests and the hub's CPU"
        f" (JupyterHub's process; the proxy it runs, apart) over "
        f"{meta['idle_window']:g} s with the N servers running; N = 1 is the median of "
        f"{meta['repeats_single']} runs.",
        "",
        *lines,
    ]
    if held:
        out += ["", f"Servers held (tiny, at most {meta.get('idle_in_flight')} start requests at"
                f" once); requests, CPU and the hub's memory: the median of"
                f" {meta.get('idle_samples')} idle windows and one after the last restart; adopt:"
                " the hub's container restarted until its API lists all N ready, median of"
                f" {meta.get('idle_samples')} (each in the JSON):", "",
                "| servers | system | all started s | errors | req / poll | hub CPU % "
                "| proxy CPU % | hub RSS MB | adopt s | stop s | gone s |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {p['n']} held | {p['system']} | {_f(p['all_ready'])} | {len(p['errors'])} "
                f"| {_f(p.get('requests_per_poll'), 1)} | {_f(p.get('hub_cpu_percent'), 1)} "
                f"| {_f(p.get('proxy_cpu_percent'), 1)} | {_f(p.get('hub_rss_mb'), 0)} | {_f(p.get('adopt_seconds'), 1)} "
                f"| {_f(p.get('stop_seconds'))} | {_f(p.get('stop_gone_seconds'))} |"
                for p in held]
    if targets:
        out += ["", "Targets for swarmspawner:", "",
                "| target | figure | at most | met |", "| --- | ---: | ---: | --- |"]
        out += [f"| {what} | {_f(value)} | {limit:g} | {'yes' if ok else '**no**'} |"
                for what, value, limit, ok in targets]
    return "\n".join(out) + "\n"


def _load(values):
    return "?" if not values else " ".join(f"{v:.2f}" for v in values)


def plot(path, phases):
    """p50 and all-ready against N, one panel per image; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    image_kinds = [k for k in ("notebook", "tiny") if any(p["image"] == k for p in phases)]
    if not image_kinds:
        return None  # only servers held: nothing to plot
    fig, axes = plt.subplots(1, len(image_kinds), figsize=(6 * len(image_kinds), 4.2),
                             squeeze=False)
    colors = {"floor": "tab:gray", "jupyterhub": "black", "swarmspawner": "tab:blue", "swarmspawner-dp": "tab:purple",
              "swarmspawner-pg": "tab:green", "dockerspawner": "tab:orange"}
    others = iter(["tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"])
    for system in dict.fromkeys(p["system"] for p in phases):  # e.g. swarmspawner-boot4
        if system not in colors:
            colors[system] = next(others, "black")
    for ax, kind in zip(axes[0], image_kinds):
        for system in colors:
            rows = sorted((p for p in phases if p["image"] == kind and p["system"] == system),
                          key=lambda p: p["n"])
            if not rows:
                continue
            ns = [p["n"] for p in rows]
            ax.plot(ns, [p["all_ready"] for p in rows], "o-", color=colors[system],
                    label=f"{system}: all ready")
            ax.plot(ns, [p["p50"] for p in rows], "s--", color=colors[system],
                    label=f"{system}: median")
        ax.set_title(f"{kind} servers started at once")
        ax.set_xlabel("N (servers)")
        ax.set_ylabel("seconds from request to ready")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write(out_dir, meta, phases):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    add_ratios(phases)
    targets = check_targets(phases)
    data = {"meta": meta, "phases": phases,
            "targets": [{"what": w, "figure": v, "at_most": t, "met": ok}
                        for w, v, t, ok in targets]}
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    md_path = out_dir / "results.md"
    md_path.write_text(markdown(meta, phases, targets))
    png_path = plot(out_dir / "latency.png", phases)
    return {"json": json_path, "markdown": md_path, "png": png_path}
