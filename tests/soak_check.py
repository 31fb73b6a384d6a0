"""Compare a collector.db with the simulator's truth after a soak run; a report with hard invariants.

Hard (the run fails on any): markets missing or duplicated, resolutions wrong or stored before the
market was final, duplicate snapshots, snapshot cycles missing without an explanation (a SIGKILL of
a program that cycle depended on, or a phase run that failed), PRAGMA integrity_check.
Soft (reported): resolutions still pending although final in the simulator for a while, database
size per million snapshots.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MIN_OVERLAP_S = 3600  # a market live this long during the run must have been discovered


@dataclass
class Cadence:
    snapshot: int
    discover: int
    resolve: int


def _unix(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def check(db_path: Path, truth: dict, chaos: list[dict], end_sim: float, config: Cadence) -> dict:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        start_sim = db.execute("SELECT min(started_at) FROM phase_runs").fetchone()[0] or end_sim
        stored = {(p, m): (status, res, win, obs, resolved_at) for p, m, status, res, win, obs, resolved_at in db.execute(
            "SELECT platform, market_id, status, resolution, winning_outcome, status_observed_at, resolved_at FROM markets")}
        dup_markets = db.execute("SELECT count(*) FROM (SELECT 1 FROM markets GROUP BY platform, market_id"
                                 " HAVING count(*) > 1)").fetchone()[0]
        dup_snaps = db.execute("SELECT count(*) FROM (SELECT 1 FROM price_snapshots GROUP BY platform, market_id,"
                               " snapshot_at HAVING count(*) > 1)").fetchone()[0]
        cycles = db.execute("SELECT platform, t, rows FROM snapshot_cycles WHERE source = 'live' ORDER BY t").fetchall()
        failed = {(p, g): msg for p, g, msg in db.execute(
            "SELECT platform, grid_time, message FROM phase_runs WHERE phase = 'snapshot' AND ok = 0")}
        snapshots = sum(r for _, _, r in cycles)
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
    size = sum(f.stat().st_size for f in db_path.parent.glob(db_path.name + "*"))

    missing, wrong, early, pending = [], [], [], []
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
            elif outcome and final_at and final_at < end_sim - 3 * config.resolve:
                pending.append(key)

    gaps = []
    by_platform: dict[str, set[int]] = {}
    for platform, t, _ in cycles:
        by_platform.setdefault(platform, set()).add(t)
    for platform, ts in by_platform.items():
        for t in range(min(ts), max(ts) + 1, config.snapshot):
            if t in ts:
                continue
            why = [f"{k['program']} killed" for k in chaos
                   if k["program"] in ("sink", "scheduler", f"fetcher-{platform}")
                   and t - 2 * config.snapshot <= k["sim_time"] <= t + 2 * config.snapshot]
            if (platform, t) in failed:
                why.append(f"snapshot failed: {failed[(platform, t)][:80]}")
            gaps.append({"platform": platform, "t": t, "explained_by": why})
    unexplained = [g for g in gaps if not g["explained_by"]]
    ok = not (missing or wrong or early or dup_markets or dup_snaps or unexplained) and integrity == "ok"
    return {
        "ok": ok, "sim_hours": round((end_sim - start_sim) / 3600, 1),
        "markets_stored": len(stored), "markets_missing": len(missing), "markets_duplicated": dup_markets,
        "missing_examples": missing[:5],
        "resolutions_final": sum(1 for v in stored.values() if v[0] in ("resolved", "voided")),
        "resolutions_wrong": len(wrong), "wrong_examples": wrong[:5],
        "resolutions_early": len(early), "early_examples": early[:5],
        "resolutions_pending_late": len(pending),
        "snapshots": snapshots, "snapshot_cycles": sum(len(v) for v in by_platform.values()),
        "duplicate_snapshots": dup_snaps, "gaps": gaps, "gaps_unexplained": len(unexplained),
        "integrity_check": integrity, "db_bytes": size,
        "db_mb_per_million_snapshots": round(size / 1e6 / max(snapshots / 1e6, 1e-9), 1) if snapshots else None,
    }


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
        f"  info resolutions final in the simulator > 3 resolve intervals ago but still pending: {r['resolutions_pending_late']}",
        f"  {mark(not r['duplicate_snapshots'])} duplicate snapshots: {r['duplicate_snapshots']} "
        f"({r['snapshots']} snapshots in {r['snapshot_cycles']} cycles)",
        f"  {mark(not r['gaps_unexplained'])} snapshot cycles missing: {len(r['gaps'])}, unexplained: {r['gaps_unexplained']}",
    ]
    for g in r["gaps"]:
        lines.append(f"       {g['platform']} t={g['t']}: {', '.join(g['explained_by']) or 'UNEXPLAINED'}")
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
    if "chaos_kills" in r:
        lines.append(f"  info SIGKILLs: {len(r['chaos_kills'])} ({', '.join(k['program'] for k in r['chaos_kills'])})")
    if r.get("simulator_faults"):
        lines.append(f"  info faults injected by the simulator ({r.get('simulator_requests', 0)} requests): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(r["simulator_faults"].items())))
    return "\n".join(lines)
