"""What collector.db already holds for Kalshi (read-only): so phases publish only what changed."""

from __future__ import annotations

import sqlite3

from collector import clock, wire

SETTLED_FIRST_LOOKBACK_S = 86400  # first RESOLVE: settlements since a day before our first market


class Known:
    """What collector.db holds for one market: enough to publish only what changed."""

    __slots__ = ("status", "updated_at", "category", "end_date", "detail", "volume", "placeholder")

    def __init__(self, status, updated_at, category, end_date, detail, volume, placeholder) -> None:
        self.status, self.updated_at, self.category = status, updated_at, category
        self.end_date, self.detail, self.volume, self.placeholder = end_date, detail, volume, placeholder

    def differs(self, u) -> bool:
        status = "closed" if self.status in wire.FINAL_STATUSES else self.status
        return (self.placeholder or status != u.status or self.updated_at != u.updated_at
                or self.end_date != u.end_date or self.volume != u.volume
                or (self.category is None and u.category is not None))

    def needs(self, r) -> bool:
        return self.status not in wire.FINAL_STATUSES and (self.status != r.status or self.detail != r.detail)

    def update(self, u, r) -> None:
        self.placeholder = False
        self.updated_at, self.end_date, self.volume = u.updated_at, u.end_date, u.volume
        self.category = u.category or self.category
        if self.status not in wire.FINAL_STATUSES:
            self.status, self.detail = (r.status, r.detail) if r is not None else (u.status, self.detail)


def known_markets(db: sqlite3.Connection | None) -> dict[str, Known]:
    if db is None:
        return {}
    rows = db.execute("SELECT market_id, status, updated_at, category, end_date, resolution_detail, volume,"
                      " observed_at = 0 FROM markets WHERE platform = 'kalshi'")
    return {r[0]: Known(*r[1:]) for r in rows}


def listing_watermark(db: sqlite3.Connection | None, listing: str, phase: str = "resolve",
                      first_lookback_s: float | None = SETTLED_FIRST_LOOKBACK_S) -> float | None:
    """Where a RESOLVE listing window starts: when the newest run that read it to its end started.

    A run names ``listing`` in its report's ``listings_complete`` only after the listing ended on an empty cursor, so a
    listing cut short (SIGTERM, a stuck cursor, retries spent) never moves the window: the next
    run reads again from where the last complete one began. Never the newest ``resolved_at``
    stored: listings come in creation order, not settlement order, so a partial read would
    advance that past settlements it never saw. Before any complete run: a day before the first
    market we stored (``first_lookback_s`` None: None, e.g. DISCOVER then sweeps everything);
    None when no market is stored.
    """
    if db is None:
        return None
    done = db.execute("SELECT max(r.started_at) FROM phase_runs r JOIN phase_listings l ON l.job_id = r.job_id"
                      " WHERE r.platform = 'kalshi' AND r.phase = ? AND l.listing = ?", (phase, listing)).fetchone()[0]
    if done is not None:
        return min(done, clock.now())
    if first_lookback_s is None:
        return None
    first = db.execute("SELECT min(first_seen_at) FROM markets WHERE platform = 'kalshi'").fetchone()[0]
    return None if first is None else first - first_lookback_s
