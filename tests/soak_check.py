"""Compare a collector.db with the simulator's truth after a soak run; a report with hard invariants.

Hard (the run fails on any):
* markets missing (live for an hour of the run but never stored), resolutions wrong or stored
  before the market was final, PRAGMA integrity_check;
* **per cycle**, for every snapshot grid time t of the run (up to the last complete one, so cycles
  after the last stored one count too): every market the simulator had open for the whole slot
  [t, t + cadence) has a row at t, unless a recorded, specific cause explains that exact slot:
  that platform's fetcher SIGKILLed within the recovery window before or during the slot (the
  scheduler needs ``recovery_s`` to notice and re-issue), the scheduler SIGKILLed at the slot's
  start, the slot's snapshot run reported failed, or it reported at least as many skipped
  records as are missing. A sink kill explains nothing: senders re-send what was not acknowledged;
* stored prices within ``PRICE_TOLERANCE`` of what the simulator served around the slot;
* snapshot_cycles row counts equal the rows stored (the counter kept in the same transaction);
* labels complete: no stored market that was final in the simulator before a successful RESOLVE
  run of its platform started is still unlabelled (negRisk placeholders, never labelled, aside).
Soft (reported): resolutions still pending although final in the simulator for a while, database
size per million snapshots.

tests/test_soak.py proves the checker can fail: with failpoints (collector/failpoints.py) making
the sink acknowledge before committing, drop rows, or a fetcher skip a cycle, it reports FAIL.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

MIN_OVERLAP_S = 3600  # a market live this long during the run must have been discovered
PRICE_TOLERANCE = 0.05  # |stored yes - simulator's walk| around the slot, in probability
PRICE_SCALE = 1_000_000


@dataclass
class Cadence:
    snapshot: int
    discover: int
    resolve: int
    recovery_s: float = 0.0  # simulated seconds from a fetcher kill until its job is re-issued
    restart_s: float = 0.0  # simulated seconds supervisord needs to restart a program


def check(db_path: Path, truth: dict, chaos: list[dict], end_sim: float, config: Cadence) -> dict:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        start_sim = db.execute("SELECT min(started_at) FROM phase_runs").fetchone()[0] or end_sim
        stored = {(p, m): (status, res, win, obs, resolved_at) for p, m, status, res, win, obs, resolved_at in db.execute(
            "SELECT platform, market_id, status, resolution, winning_outcome, status_observed_at, resolved_at FROM markets")}
        dup_markets = db.execute("SELECT count(*) FROM (SELECT 1 FROM markets GROUP BY platform, market_id"
                                 " HAVING count(*) > 1)").fetchone()[0]
        cycles = db.execute("SELECT platform, t, rows FROM snapshot_cycles WHERE source = 'live' ORDER BY t").fetchall()
        rows: dict[tuple[str, int], dict[str, int | None]] = defaultdict(dict)
        for platform, market_id, t, yes in db.execute(
                "SELECT m.platform, m.market_id, s.t, s.yes FROM snapshot s JOIN markets m ON m.id = s.market"):
            rows[(platform, t)][market_id] = yes
        resolves: dict[str, list[float]] = defaultdict(list)  # platform -> starts of successful RESOLVE runs
        for p, started in db.execute("SELECT platform, started_at FROM phase_runs WHERE phase = 'resolve' AND ok = 1"):
            resolves[p].append(started)
        runs: dict[tuple[str, int], list[tuple[int, int, str]]] = defaultdict(list)
        for p, g, ok, skipped, msg in db.execute(
                "SELECT platform, grid_time, ok, skipped, message FROM phase_runs WHERE phase = 'snapshot'"):
            runs[(p, g)].append((ok, skipped, msg or ""))
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
    size = sum(f.stat().st_size for f in db_path.parent.glob(db_path.name + "*"))

    missing, wrong, early, pending, unlabelled = [], [], [], [], []
    for platform in ("polymarket", "kalshi"):
        for m in truth[platform]:
            if m.get("is_mve"):
                continue
            key = (platform, m["market_id"])
            opened = m.get("open_time") or m.get("created_time") or 0
            closed = m.get("close_time") or end_sim
            if min(closed, end_sim) - max(opened, start_sim) >= MIN_OVERLAP_S and key not in stored:
                missing.append(key)
            if key not in stored:
                continue
            status, res, win, observed, resolved_at = stored[key]
            outcome, final_at = m.get("outcome"), m.get("final_at")
            if status in ("resolved", "voided"):
                want = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}.get(outcome)
                if (status, res) != want:
                    wrong.append((key, (status, res), outcome))
                if final_at is None or observed is None or observed + 1 < final_at:
                    early.append((key, observed, final_at))
            elif outcome and final_at and not m.get("placeholder"):
                if any(started > final_at for started in resolves[platform]):
                    unlabelled.append((key, final_at))  # a RESOLVE that began after finality missed it
                elif final_at < end_sim - 3 * config.resolve:
                    pending.append(key)

    counted = {(p, t): n for p, t, n in cycles}
    counter_mismatch = [(k, counted.get(k, 0), len(v)) for k, v in rows.items() if counted.get(k, 0) != len(v)]
    gaps, price_bad, checked_rows = cycle_gaps(truth, rows, runs, chaos, start_sim, end_sim, config)
    unexplained = [g for g in gaps if not g["explained_by"]]
    ok = not (missing or wrong or early or unlabelled or dup_markets or unexplained or price_bad
              or counter_mismatch) \
        and integrity == "ok"
    snapshots = sum(len(v) for v in rows.values())
    return {
        "ok": ok, "sim_hours": round((end_sim - start_sim) / 3600, 1),
        "markets_stored": len(stored), "markets_missing": len(missing), "markets_duplicated": dup_markets,
        "missing_examples": missing[:5],
        "resolutions_final": sum(1 for v in stored.values() if v[0] in ("resolved", "voided")),
        "resolutions_wrong": len(wrong), "wrong_examples": wrong[:5],
        "resolutions_early": len(early), "early_examples": early[:5],
        "resolutions_pending_late": len(pending),
        "labels_missing_after_resolve": len(unlabelled), "unlabelled_examples": unlabelled[:5],
        "snapshots": snapshots, "snapshot_cycles": len(rows),
        "cycles_checked": len({(g["platform"], g["t"]) for g in gaps}) + len(checked_rows),
        "rows_expected": sum(checked_rows.values()) + sum(g["missing"] for g in gaps),
        "cycle_counter_mismatch": len(counter_mismatch), "counter_examples": counter_mismatch[:5],
        "prices_checked": sum(checked_rows.values()), "prices_out_of_tolerance": len(price_bad),
        "price_examples": price_bad[:5],
        "gaps": gaps, "gaps_unexplained": len(unexplained),
        "integrity_check": integrity, "db_bytes": size,
        "db_mb_per_million_snapshots": round(size / 1e6 / max(snapshots / 1e6, 1e-9), 1) if snapshots else None,
    }


def cycle_gaps(truth: dict, rows: dict, runs: dict, chaos: list[dict], start_sim: float, end_sim: float,
               config: Cadence) -> tuple[list[dict], list, dict]:
    """(cycles with expected markets missing, each with its specific explanations; prices out of
    tolerance; rows checked per complete cycle)."""
    step = config.snapshot
    first = (int(start_sim) // step + 1) * step  # the first whole slot after the run started
    last = int(end_sim - step) // step * step  # the last slot that had its whole interval
    gaps, price_bad, checked = [], [], {}
    for platform in ("polymarket", "kalshi"):
        markets = [m for m in truth[platform] if not m.get("is_mve") and not m.get("placeholder")]  # never snapshotted
        for t in range(first, last + 1, step):
            have = rows.get((platform, t), {})
            expected = [m for m in markets
                        if max(m.get("open_time") or 0, m.get("created_time") or 0) <= t
                        and (m.get("close_time") or end_sim + step) >= t + step]
            absent = [m["market_id"] for m in expected if m["market_id"] not in have]
            for m in expected:
                yes = have.get(m["market_id"])
                if yes is None or not m.get("prices"):
                    continue
                near = [p for ts, p in m["prices"] if t - step <= ts <= t + step]
                if near and not min(near) - PRICE_TOLERANCE <= yes / PRICE_SCALE <= max(near) + PRICE_TOLERANCE:
                    price_bad.append((platform, m["market_id"], t, yes / PRICE_SCALE, (min(near), max(near))))
            if not absent:
                checked[(platform, t)] = len(expected)
                continue
            gaps.append({"platform": platform, "t": t, "missing": len(absent), "expected": len(expected),
                         "examples": absent[:3], "explained_by": explain(platform, t, len(absent), runs, chaos, config)})
    return gaps, price_bad, checked


def explain(platform: str, t: int, n_missing: int, runs: dict, chaos: list[dict], config: Cadence) -> list[str]:
    """Only causes recorded for this platform and this exact slot [t, t + cadence)."""
    step, why = config.snapshot, []
    for k in chaos:
        at = k["sim_time"]
        if k["program"] == f"fetcher-{platform}" and t - config.recovery_s <= at < t + step:
            why.append(f"fetcher-{platform} killed at t{at - t:+.0f}s")
        if k["program"] == "scheduler" and t - config.restart_s <= at < t + step:
            why.append(f"scheduler killed at t{at - t:+.0f}s")
    for ok, skipped, msg in runs.get((platform, t), []):
        if not ok:
            why.append(f"snapshot run failed: {msg[:80]}")
        elif skipped >= n_missing:
            why.append(f"snapshot run skipped {skipped} bad records")
    return why


def render(r: dict) -> str:
    def mark(good: bool) -> str:
        return "ok  " if good else "FAIL"

    lines = [
        f"soak report: {'PASS' if r['ok'] else 'FAIL'} ({r['sim_hours']} simulated hours)",
        f"  {mark(not r['markets_missing'])} markets missing: {r['markets_missing']} (of {r['markets_stored']} stored)"
        + (f" e.g. {r['missing_examples']}" if r["markets_missing"] else ""),
        f"  {mark(not r['markets_duplicated'])} markets duplicated: {r['markets_duplicated']}",
        f"  {mark(not r['resolutions_wrong'])} resolutions wrong: {r['resolutions_wrong']} (of {r['resolutions_final']} final)"
        + (f" e.g. {r['wrong_examples']}" if r["resolutions_wrong"] else ""),
        f"  {mark(not r['resolutions_early'])} resolutions stored before final: {r['resolutions_early']}"
        + (f" e.g. {r['early_examples']}" if r["resolutions_early"] else ""),
        f"  {mark(not r['labels_missing_after_resolve'])} labels missing one RESOLVE after finality: "
        f"{r['labels_missing_after_resolve']}"
        + (f" e.g. {r['unlabelled_examples']}" if r["labels_missing_after_resolve"] else ""),
        f"  info resolutions final in the simulator > 3 resolve intervals ago but still pending: {r['resolutions_pending_late']}",
        f"  info {r['snapshots']} snapshots in {r['snapshot_cycles']} cycles; {r['cycles_checked']} complete cycles "
        f"checked against the simulator ({r['rows_expected']} rows expected)",
        f"  {mark(not r['cycle_counter_mismatch'])} snapshot_cycles counters differing from rows: "
        f"{r['cycle_counter_mismatch']}" + (f" e.g. {r['counter_examples']}" if r["cycle_counter_mismatch"] else ""),
        f"  {mark(not r['prices_out_of_tolerance'])} prices off the simulator by > {PRICE_TOLERANCE}: "
        f"{r['prices_out_of_tolerance']} of {r['prices_checked']}"
        + (f" e.g. {r['price_examples']}" if r["prices_out_of_tolerance"] else ""),
        f"  {mark(not r['gaps_unexplained'])} cycles with expected markets missing: {len(r['gaps'])}, "
        f"unexplained: {r['gaps_unexplained']}",
    ]
    for g in r["gaps"]:
        lines.append(f"       {g['platform']} t={g['t']}: {g['missing']} of {g['expected']} missing "
                     f"(e.g. {', '.join(g['examples'])}): {'; '.join(g['explained_by']) or 'UNEXPLAINED'}")
    lines.append(f"  {mark(r['integrity_check'] == 'ok')} PRAGMA integrity_check: {r['integrity_check']}")
    if "books_checked" in r:
        lines.append(f"  {mark(not r['books_mismatched'])} order books whose best levels the simulator never quoted: "
                     f"{r['books_mismatched']} of {r['books_checked']} checked"
                     + (f" e.g. {r['book_mismatch_examples']}" if r["books_mismatched"] else ""))
    if r.get("db_mb_per_million_snapshots") is not None:
        lines.append(f"  info database size: {r['db_bytes'] / 1e6:.1f} MB, "
                     f"{r['db_mb_per_million_snapshots']} MB per million snapshots")
    if "peak_rss_mb" in r:
        lines.append("  info peak RSS (MB): " + ", ".join(f"{k} {v}" for k, v in r["peak_rss_mb"].items()))
    if "records_rejected" in r:
        lines.append(f"  info records rejected by the sink's bounds: {r['records_rejected']}, skipped by the "
                     f"parsers: {r.get('records_skipped', 0)}")
    if "chaos_kills" in r:
        lines.append(f"  info SIGKILLs: {len(r['chaos_kills'])} ({', '.join(k['program'] for k in r['chaos_kills'])})")
    if r.get("simulator_faults"):
        lines.append(f"  info faults injected by the simulator ({r.get('simulator_requests', 0)} requests): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(r["simulator_faults"].items())))
    return "\n".join(lines)
