"""bench/bench_scale.py's figures: read collector.db and the samples after a run, compare with the
world's truth (bench/scale_truth.py), write scale.json and SCALE.md."""

from __future__ import annotations

import calendar
import json
import os
import platform as host
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import scale_books
import scale_truth

CYCLE_S = 900
RESOLVE_S = 1800           # a market final this long before the end must have its label
PHASES = ("discover", "snapshot", "resolve")
PROGRAM_OF = {"polymarket": "fetcher-polymarket", "kalshi": "fetcher-kalshi"}


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _phases(db: sqlite3.Connection, platform: str, g: int) -> tuple[dict, dict, dict]:
    """Per phase: requests, longest simulated wall seconds, runs (failed runs, latest start after g).
    SNAPSHOT: the run(s) for grid time g, whenever they started; DISCOVER and RESOLVE: the runs
    that started in [g, g+900)."""
    req, wall, runs = {}, {}, {}
    for phase, n, r, w, bad, late in db.execute(
            "SELECT phase, count(*), sum(requests), max(finished_at - started_at), sum(ok = 0), max(started_at) - ?"
            " FROM phase_runs WHERE platform = ? AND (CASE WHEN phase = 'snapshot' THEN grid_time = ?"
            " ELSE started_at >= ? AND started_at < ? END) GROUP BY phase", (g, platform, g, g, g + CYCLE_S)):
        req[phase], wall[phase] = r, round(w, 1)
        runs[phase] = {"runs": n, "failed": bad, "last_started_after_grid_s": round(late, 1)}
    return req, wall, runs


def refresh_phases(doc: dict, db: sqlite3.Connection) -> None:
    """Recompute the phase columns of every cycle row from collector.db (for a finished run's files)."""
    for c in doc["cycles"]:
        g = calendar.timegm(time.strptime(c["grid_time"], "%Y-%m-%dT%H:%M:%SZ"))
        c["requests"], c["wall_s"], c["runs"] = _phases(db, c["platform"], g)
    doc["summary"]["phase_wall_max_s"] = {p: max((c["wall_s"].get(p, 0) for c in doc["cycles"]), default=0)
                                          for p in PHASES}


def _snapshotted(db: sqlite3.Connection, platform: str, g: int) -> set[str]:
    return {r[0] for r in db.execute("SELECT m.market_id FROM snapshot s JOIN markets m ON m.id = s.market"
                                     " WHERE s.t = ? AND m.platform = ?", (g, platform))}


def _delta(marks: dict, g: int, key: str, name: str | None = None) -> float:
    a, b = marks[g], marks[g + CYCLE_S]
    return round((b[key][name] - a[key][name]) if name else (b[key] - a[key]), 2)


def _labels(db: sqlite3.Connection, truth: scale_truth.Truth, start: float, end: float) -> dict:
    """Markets tracked that became final in the run (with a RESOLVE cadence to spare) and their labels."""
    out = {}
    for platform in scale_truth.PLATFORMS:
        final, labelled, delays = 0, 0, []
        for market_id, status, seen in db.execute(
                "SELECT market_id, status, status_observed_at FROM markets WHERE platform = ?", (platform,)):
            f = truth.final_at(platform, market_id)
            if f is None or not start <= f <= end - RESOLVE_S:
                continue
            final += 1
            if status in ("resolved", "voided"):
                labelled += 1
                if seen is not None:
                    delays.append(seen - f)
        out[platform] = {"became_final": final, "labelled": labelled,
                         "delay_s_median": round(statistics.median(delays), 1) if delays else None,
                         "delay_s_max": round(max(delays), 1) if delays else None}
    return out


def _archive(db: sqlite3.Connection, grids: list[int]) -> dict:
    """Bytes per row of the run's snapshots written by the project's archiver (exporter/archive.py)."""
    from exporter.archive import DAY, write_partition

    day = grids[0] // DAY * DAY
    rows = size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for platform in scale_truth.PLATFORMS:
            commit = write_partition(db, Path(tmp), platform, day)
            if commit is not None:
                rows += commit.rows
                size += (Path(tmp) / commit.file).stat().st_size
    return {"rows": rows, "bytes": size, "bytes_per_row": round(size / rows, 2) if rows else None}


def build(args, work: Path, grids: list[int], marks: dict, sampler, started_sim: float, end_sim: float) -> dict:
    from scale_truth import START, Truth, world

    t0 = time.monotonic()
    truth = Truth(world(args, START))
    db = sqlite3.connect(f"file:{work / 'collector.db'}?mode=ro", uri=True)
    planned = scale_books.planner_lines(work)
    cycles = []
    real_cycle = CYCLE_S / args.speed
    for g in grids:
        for platform in scale_truth.PLATFORMS:
            n_open, whole = truth.open_at(platform, g, CYCLE_S)
            rows = _snapshotted(db, platform, g)
            req, wall, runs = _phases(db, platform, g)
            cpu = _delta(marks, g, "cpu", PROGRAM_OF[platform]) if g + CYCLE_S in marks else None
            sink = _delta(marks, g, "cpu", "sink") if g + CYCLE_S in marks else None
            cycles.append({
                "platform": platform, "grid_time": iso(g), "open_markets": n_open, "open_whole_slot": len(whole),
                "snapshotted": len(rows), "covered": len(whole & rows),
                "coverage": round(len(whole & rows) / len(whole), 4) if whole else None,
                "requests": req, "wall_s": wall, "runs": runs,
                "cpu_s": cpu, "cpu_share_of_core": round(cpu / real_cycle, 4) if cpu is not None else None,
                "sink_cpu_s": sink, "sink_cpu_share_of_core": round(sink / real_cycle, 4) if sink is not None else None,
                "db_bytes_added": _delta(marks, g, "db_bytes") if g + CYCLE_S in marks else None,
                **scale_books.cycle(db, platform, g, iso(g), whole, truth.trading(platform, g, whole), planned, marks[g].get("sim_stats"),
                                    marks.get(g + CYCLE_S, {}).get("sim_stats")),
            })
    steady = [c for c in cycles if c["db_bytes_added"] is not None and c["platform"] == "polymarket"]
    steady = steady[1:] or steady   # the first measured cycle still adds the catalogue itself
    per_cycle = statistics.mean(c["db_bytes_added"] for c in steady) if steady else 0
    archive = _archive(db, grids)
    rows_per_cycle = statistics.mean(sum(c["snapshotted"] for c in cycles if c["grid_time"] == iso(g)) for g in grids)
    book_rows_per_cycle = statistics.mean(sum(c["book_rows"] for c in cycles if c["grid_time"] == iso(g)) for g in grids)
    arch_day = archive["bytes_per_row"] * rows_per_cycle * 86400 / CYCLE_S if archive["bytes_per_row"] else None

    def mean_of(key: str, platform: str | None = None) -> float | None:
        vals = [c[key] for c in cycles if c[key] is not None and (platform is None or c["platform"] == platform)]
        return round(statistics.mean(vals), 4) if vals else None

    summary = {
        "world": {n: getattr(args, n) for n in scale_truth.SIZE_OPTIONS}, "seed": args.seed,
        "speed": args.speed, "requests_per_second": 2.0 * args.speed, "cycles": len(grids),
        "label": args.label, "run_started_sim": iso(started_sim), "run_ended_sim": iso(end_sim),
        "machine": {"cpus": os.cpu_count(), "python": host.python_version(), "load_avg_at_end": getattr(sampler, "load_avg_at_end", None) or os.getloadavg(),
                    "load_avg_mean": sampler.load_avg_mean()},
        "coverage_min": min((c["coverage"] for c in cycles if c["coverage"] is not None), default=None),
        "phase_wall_max_s": {p: max((c["wall_s"].get(p, 0) for c in cycles), default=0) for p in PHASES},
        "fetcher_cpu_share_mean": {p: mean_of("cpu_share_of_core", p) for p in scale_truth.PLATFORMS},
        "sink_cpu_share_mean": mean_of("sink_cpu_share_of_core", "polymarket"),
        "peak_rss_mb": {k: round(v, 1) for k, v in sampler.peak.items()},
        "labels": _labels(db, truth, started_sim, end_sim),
        "db_bytes_per_cycle_steady": round(per_cycle), "db_bytes_per_day": round(per_cycle * 96),
        "db_bytes_per_year": round(per_cycle * 96 * 365),
        "archive": archive, "snapshot_rows_per_cycle": round(rows_per_cycle),
        "archive_bytes_per_day": round(arch_day) if arch_day else None,
        "archive_bytes_per_year": round(arch_day * 365) if arch_day else None,
        "books": scale_books.summary(cycles),
        "book_storage": scale_books.storage(db, grids[0] // 86400 * 86400, book_rows_per_cycle),
        "analysis_s": round(time.monotonic() - t0, 1),
    }
    db.close()
    return {"cycles": cycles, "summary": summary}


def _mb(b) -> str:
    return "n/a" if b is None else f"{b / 1e6:,.1f} MB" if b < 1e9 else f"{b / 1e9:,.2f} GB"


def markdown(doc: dict) -> str:
    s = doc["summary"]
    w = s["world"]
    lines = [
        "# Scale run: the whole pipeline at real size" + (f" ({s['label']})" if s["label"] else ""),
        "",
        "Written by `make scale` (`.venv/bin/python bench/bench_scale.py --speed "
        f"{s['speed']:g} --cycles {s['cycles']}`); machine-readable twin: `bench/scale.json`.",
        "",
        f"World: {w['open_polymarket']:,} open + {w['closed_polymarket']:,} closed Polymarket markets, "
        f"{w['open_kalshi']:,} open + {w['closed_kalshi']:,} closed non-parlay Kalshi markets (seed {s['seed']}). "
        f"Simulated clock at {s['speed']:g}x, so every fetcher's request rate was raised to "
        f"{s['requests_per_second']:g} req/s = the default 2 req/s per simulated second; cycle figures are "
        f"per 900 simulated seconds ({900 / s['speed']:g} real s). CPU shares are of one core in real time. "
        f"Machine: {s['machine']['cpus']} cores shared with other jobs (1-minute load average {s['machine']['load_avg_mean']:.1f} "
        f"on average over the run, {s['machine']['load_avg_at_end'][0]:.1f} at the end), Python {s['machine']['python']}.",
        "",
        "| platform | grid time | open at t | open whole slot | snapshotted | covered | requests (discover/snapshot/resolve)"
        " | phase wall s (d/s/r) | fetcher CPU s (share) | sink CPU s (share) | DB bytes added |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in doc["cycles"]:
        req = "/".join(str(c["requests"].get(p, 0)) for p in PHASES)
        wall = "/".join(str(c["wall_s"].get(p, "-")) for p in PHASES)
        cov = "n/a" if c["coverage"] is None else f"{c['coverage']:.2%}"
        cpu = "n/a" if c["cpu_s"] is None else f"{c['cpu_s']:.1f} ({c['cpu_share_of_core']:.1%})"
        sink = "n/a" if c["sink_cpu_s"] is None else f"{c['sink_cpu_s']:.1f} ({c['sink_cpu_share_of_core']:.1%})"
        lines.append(f"| {c['platform']} | {c['grid_time']} | {c['open_markets']:,} | {c['open_whole_slot']:,} | "
                     f"{c['snapshotted']:,} | {c['covered']:,} ({cov}) | {req} | {wall} | {cpu} | {sink} | "
                     f"{_mb(c['db_bytes_added'])} |")
    lines += ["", *scale_books.table(doc["cycles"])]
    lab = s["labels"]
    lines += [
        "Summary:",
        "",
        f"- Open markets snapshotted, worst cycle: **{s['coverage_min']:.2%}** of those open for the whole slot "
        "(target 100%)." if s["coverage_min"] is not None else "- Coverage: n/a",
        f"- Longest phase run (simulated s, cadence 300/900/1800): discover {s['phase_wall_max_s']['discover']}, "
        f"snapshot {s['phase_wall_max_s']['snapshot']}, resolve {s['phase_wall_max_s']['resolve']}.",
        f"- Mean CPU share of one core (target < 10%): fetcher-polymarket {s['fetcher_cpu_share_mean']['polymarket']}, "
        f"fetcher-kalshi {s['fetcher_cpu_share_mean']['kalshi']}, sink {s['sink_cpu_share_mean']}.",
        "- Peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in s["peak_rss_mb"].items()) + ".",
    ]
    for p in scale_truth.PLATFORMS:
        lines.append(f"- Labels, {p}: {lab[p]['labelled']:,} recorded of {lab[p]['became_final']:,} tracked markets "
                     f"that became final during the run (at least {RESOLVE_S} s before its end); delay from finality "
                     f"to label median {lab[p]['delay_s_median']} s, max {lab[p]['delay_s_max']} s (simulated).")
    a = s["archive"]
    lines += [
        f"- Database growth in a steady cycle: {_mb(s['db_bytes_per_cycle_steady'])} -> {_mb(s['db_bytes_per_day'])} "
        f"a day, {_mb(s['db_bytes_per_year'])} a year at this scale (before archiving).",
        f"- Archive: the run's {a['rows']:,} snapshot rows written by the archiver take {a['bytes_per_row']} B/row; "
        f"{s['snapshot_rows_per_cycle']:,} rows a cycle -> {_mb(s['archive_bytes_per_day'])} a day, "
        f"{_mb(s['archive_bytes_per_year'])} a year (price snapshots; order-book rows below).",
        *scale_books.summary_lines(s),
        "",
    ]
    return "\n".join(lines)


def figures(doc: dict) -> list[list[str]]:
    """Headline rows for the README's figure table ([name, measured, target, compared with]);
    bench/run_all.py copies them from scale.json, as `make bench` does not rerun the scale run."""
    s, cyc = doc["summary"], doc["cycles"]
    opens = {p: max(c["open_markets"] for c in cyc if c["platform"] == p) for p in scale_truth.PLATFORMS}
    tag = f"scale run, {opens['polymarket']:,} + {opens['kalshi']:,} open markets, {s['cycles']} cycles at {s['speed']:g}x"
    cpu = s["fetcher_cpu_share_mean"]
    rss = s["peak_rss_mb"]
    return [
        [f"{tag}: open markets snapshotted", f"{s['coverage_min']:.2%} (worst cycle)" if s["coverage_min"] is not None
         else "n/a", "100%", "markets open for the whole slot in the simulator's truth"],
        [f"{tag}: longest SNAPSHOT phase", f"{s['phase_wall_max_s']['snapshot']:.0f} s (simulated)", "well inside 900 s",
         f"discover {s['phase_wall_max_s']['discover']:.0f} s / 300, resolve {s['phase_wall_max_s']['resolve']:.0f} s / 1800"],
        [f"{tag}: CPU, share of one core", f"fetchers {cpu['polymarket']:.1%} / {cpu['kalshi']:.1%}, sink "
         f"{s['sink_cpu_share_mean']:.1%}" if None not in (cpu["polymarket"], cpu["kalshi"], s["sink_cpu_share_mean"])
         else "n/a", "< 10% each", "mean over the measured cycles, real time"],
        [f"{tag}: peak RSS", ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()), "bounded", "VmHWM of each program"],
        [f"{tag}: storage per day", f"SQLite {_mb(s['db_bytes_per_day'])}, archive {_mb(s['archive_bytes_per_day'])}",
         "one machine", f"a year: {_mb(s['db_bytes_per_year'])} in SQLite or {_mb(s['archive_bytes_per_year'])} archived"],
        *scale_books.figures(s, tag),
    ]


def write(doc: dict, out: Path) -> None:
    doc["summary"]["figures"] = figures(doc)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "SCALE.md").write_text(markdown(doc))
