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


def not_final(db: sqlite3.Connection | None) -> dict[str, tuple[str, str, str | None]]:
    """Gamma id -> (market_id, status, resolution_detail) of every stored market not yet final.

    negRisk placeholders (``extra.neg_risk_placeholder``) are left out: they are never labelled.
    """
    if db is None:
        return {}
    out: dict[str, tuple[str, str, str | None]] = {}
    rows = db.execute("SELECT market_id, status, resolution_detail, extra FROM markets "
                      "WHERE platform = ? AND status IN ('active', 'closed')", (PLATFORM,))
    for market_id, status, detail, extra in rows:
        try:
            ids = json.loads(extra or "{}")
            gid = ids.get("gamma_id")
            placeholder = ids.get("neg_risk_placeholder")
        except (ValueError, AttributeError):
            gid = placeholder = None
        if gid and not placeholder:
            out[str(gid)] = (market_id, status, detail)
    return out
