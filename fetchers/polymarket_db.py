"""What the Polymarket phases read from collector.db (read-only, one short query each).

The fetcher never writes the database; it compares what it fetches with what the sink has
stored, so DISCOVER can stop at known markets and SNAPSHOT only re-sends changed metadata.
"""

from __future__ import annotations

import json
import sqlite3

PLATFORM = "polymarket"


def known_markets(db: sqlite3.Connection | None) -> dict[str, tuple[str | None, str]]:
    """market_id -> (updated_at, status) for every stored Polymarket market."""
    if db is None:
        return {}
    rows = db.execute("SELECT market_id, updated_at, status FROM markets WHERE platform = ?", (PLATFORM,))
    return {market_id: (updated_at, status) for market_id, updated_at, status in rows}


def has_history(db: sqlite3.Connection | None) -> bool:
    """Whether any closed or final Polymarket market is stored (the history sweep ran on this db)."""
    if db is None:
        return False
    row = db.execute("SELECT 1 FROM markets WHERE platform = ? AND status IN ('closed', 'resolved', 'voided') "
                     "LIMIT 1", (PLATFORM,)).fetchone()
    return row is not None


def last_full_snapshot(db: sqlite3.Connection) -> int | None:
    """Grid time of the newest snapshot run that completed (ok), or None."""
    row = db.execute("SELECT max(grid_time) FROM phase_runs WHERE platform = ? AND phase = 'snapshot' AND ok = 1",
                     (PLATFORM,)).fetchone()
    return row[0] if row else None


def resolve_candidates(db: sqlite3.Connection | None, now_iso: str) -> dict[str, str]:
    """Gamma id -> market_id of markets not final that may have closed.

    Those are: already closed (pending a final verdict), past their end date, or active but
    missing from the last complete snapshot sweep (the open catalogue no longer lists them).
    """
    if db is None:
        return {}
    seen: set[str] | None = None
    t = last_full_snapshot(db)
    if t is not None:
        seen = {r[0] for r in db.execute(
            "SELECT m.market_id FROM snapshot s JOIN markets m ON m.id = s.market "
            "WHERE s.t = ? AND m.platform = ?", (t, PLATFORM))}
    out: dict[str, str] = {}
    rows = db.execute("SELECT market_id, status, end_date, extra FROM markets "
                      "WHERE platform = ? AND status IN ('active', 'closed')", (PLATFORM,))
    for market_id, status, end_date, extra in rows:
        due = status == "closed" or (end_date is not None and end_date < now_iso) or (
            seen is not None and market_id not in seen)
        if not due:
            continue
        try:
            gid = json.loads(extra or "{}").get("gamma_id")
        except (ValueError, AttributeError):
            gid = None
        if gid:
            out[str(gid)] = market_id
    return out
