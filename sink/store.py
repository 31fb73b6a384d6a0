"""Applying wire records to collector.db: one transaction per batch, idempotent, never regressing.

Every write is an upsert on a natural key, so a batch replayed after a crash (delivery is
at-least-once) leaves the database exactly as one delivery would:

* markets: (platform, market_id); metadata applies only if its observed_at is not older than what
  is stored, and a resolved or voided market never changes status again;
* snapshots: (t, market) — the first row for a market and grid time wins (INSERT OR IGNORE);
* order books: (t, market, outcome), the same rule (sink/book_store.py);
* resolutions: applied only while the market is not final and the observation is not older;
* news: (platform, market_id, url or normalised headline); phase reports: job_id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict

from itertools import repeat

from collector.wire import (FINAL_STATUSES, ArchiveCommit, BackfillMark, BookArchiveCommit, MarketUpsert, NewsHeadline, OrderBook, PhaseReport,
                            PriceSnapshot, Resolution, SnapshotColumns, columnize, news_key)
from sink import archive
from sink.book_store import LevelsIndex, apply_archive as apply_book_archive, store_books

log = logging.getLogger("sink")


_UPSERT_MARKET = """
INSERT INTO markets (platform, market_id, slug, title, description, category, outcomes, volume,
                     liquidity, end_date, status, created_at, updated_at, extra, first_seen_at,
                     observed_at)
VALUES (:platform, :market_id, :slug, :title, :description, :category, :outcomes, :volume,
        :liquidity, :end_date, :status, :created_at, :updated_at, json(:extra), :observed_at, :observed_at)
ON CONFLICT (platform, market_id) DO UPDATE SET
    slug = coalesce(excluded.slug, slug),
    title = coalesce(excluded.title, title),
    description = coalesce(excluded.description, description),
    category = coalesce(excluded.category, category),
    outcomes = coalesce(excluded.outcomes, outcomes),
    volume = coalesce(excluded.volume, volume),
    liquidity = coalesce(excluded.liquidity, liquidity),
    end_date = coalesce(excluded.end_date, end_date),
    created_at = coalesce(excluded.created_at, created_at),
    updated_at = coalesce(excluded.updated_at, updated_at),
    extra = CASE WHEN excluded.extra IS NULL THEN extra
                 ELSE json_patch(coalesce(extra, '{}'), excluded.extra) END,
    status = CASE
        WHEN status IN ('resolved', 'voided') THEN status
        WHEN coalesce(status_observed_at, 0) > excluded.observed_at THEN status
        ELSE excluded.status END,
    observed_at = excluded.observed_at
WHERE excluded.observed_at >= observed_at
"""

_ENSURE_MARKET = """
INSERT OR IGNORE INTO markets (platform, market_id, status, first_seen_at, observed_at)
VALUES (?, ?, 'active', ?, 0)
"""

_APPLY_RESOLUTION = """
UPDATE markets SET
    status = :status,
    resolution = :resolution,
    winning_outcome = :winning_outcome,
    resolved_at = :resolved_at,
    settlement_value = :settlement_value,
    resolution_detail = :detail,
    closed_at = coalesce(:closed_at, closed_at),
    status_observed_at = :observed_at
WHERE platform = :platform AND market_id = :market_id
  AND status NOT IN ('resolved', 'voided')
  AND coalesce(status_observed_at, 0) <= :observed_at
"""

# Snapshot columns arrive already scaled (integer millionths, whole units): see wire.SnapshotColumns.
_INSERT_LIVE = ("INSERT OR IGNORE INTO snapshot (t, market, yes, bid, ask, volume, liquidity, lag)"
                " VALUES (?,?,?,?,?,?,?,?)")
_INSERT_BACKFILL = (
    "INSERT OR IGNORE INTO snapshot_backfill (t, market, yes, bid, ask, volume, liquidity) VALUES (?,?,?,?,?,?,?)"
)
_BUMP_CYCLE = """
INSERT INTO snapshot_cycles (platform, source, t, rows) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, source, t) DO UPDATE SET rows = rows + excluded.rows
"""
_INSERT_NEWS = """
INSERT OR IGNORE INTO news_context (market_id, platform, headline, source, captured_at, url,
                                   published_at, dedup_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_PHASE = """
INSERT OR IGNORE INTO phase_runs (job_id, platform, phase, grid_time, started_at, finished_at, ok,
                                  requests, retries, records, skipped, errors, message)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
"""




class Store:
    """The sink's writer. Not thread-safe: the sink's single loop owns it."""

    def __init__(self, db: sqlite3.Connection, archive_dir=None):
        self.db = db
        self.archive_dir = archive_dir
        self._ids: dict[str, dict[str, int]] = defaultdict(dict)  # platform -> market_id -> id
        self._book_levels = LevelsIndex()  # where each market's newest book levels are stored
        self.forget_ids()

    # --- meta ---------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- the batch transaction ----------------------------------------------------------------

    def apply(self, records: list, now: float, store_snapshots: bool = True) -> dict[str, int]:
        """Apply records inside the caller's transaction; returns counts of what was stored.

        Markets first (so snapshots and resolutions in the same batch find their row), then the
        rest. Snapshots are skipped, and counted as dropped, when the disk guard is on.
        """
        counts: dict[str, int] = defaultdict(int)
        by_type: dict[type, list] = defaultdict(list)
        for r in records:
            by_type[type(r)].append(r)
        markets, snaps, columns = by_type[MarketUpsert], by_type[PriceSnapshot], by_type[SnapshotColumns]
        resolutions, news, phases = by_type[Resolution], by_type[NewsHeadline], by_type[PhaseReport]
        marks, commits, order_books = by_type[BackfillMark], by_type[ArchiveCommit], by_type[OrderBook]
        if markets:
            counts["markets"] = self._markets(markets)
        if resolutions:
            counts["resolutions"] = self._resolutions(resolutions, now)
        if snaps:
            columns.extend(columnize(snaps))
        if columns:
            if store_snapshots:
                counts["snapshots"] = self._snapshots(columns, now, counts)
            else:
                counts["snapshots_dropped_disk"] = sum(len(c.market_ids) for c in columns)
        if order_books:
            if store_snapshots:
                for platform in {b.platform for b in order_books}:
                    missing = {b.market_id for b in order_books if b.platform == platform} - self._ids[platform].keys()
                    if missing:
                        self._ensure_markets(platform, missing, now)
                store_books(self.db, order_books, self._ids, counts, self._book_levels)
            else:
                counts["books_dropped_disk"] = len(order_books)
        if news:
            cur = self.db.executemany(
                _INSERT_NEWS,
                [
                    (h.market_id, h.platform, h.headline, h.source, h.captured_at, h.url,
                     h.published_at, news_key(h))
                    for h in news
                ],
            )
            counts["news"] = cur.rowcount
        if marks:
            cur = self.db.executemany(
                "INSERT OR IGNORE INTO backfill_markets (platform, market_id, points, resolution_s, done_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(m.platform, m.market_id, m.points, m.resolution_s, m.done_at) for m in marks],
            )
            counts["backfill_marks"] = cur.rowcount
        if phases:
            cur = self.db.executemany(
                _INSERT_PHASE,
                [
                    (p.job_id, p.platform, p.phase, p.grid_time, p.started_at, p.finished_at,
                     int(p.ok), p.requests, p.retries, p.records, p.skipped, p.errors, p.message)
                    for p in phases
                ],
            )
            counts["phase_reports"] = cur.rowcount
            self.db.executemany("INSERT OR IGNORE INTO phase_listings (job_id, listing) VALUES (?, ?)",
                                [(p.job_id, name) for p in phases for name in p.listings_complete])
        for c in by_type[BookArchiveCommit]:  # last, as below: books of this transaction are in place
            refused = apply_book_archive(self.db, self.archive_dir, c, now) if self.archive_dir else "no archive dir"
            counts["archive_commits_refused" if refused else "archive_commits"] += 1
            if refused:
                log.error("book archive commit refused: %s", refused)
        for c in commits:  # last: snapshots of this same transaction are in place before the check
            refused = archive.apply_commit(self.db, self.archive_dir, c, now) if self.archive_dir else "no archive dir"
            if refused:
                counts["archive_commits_refused"] += 1
                log.error("archive commit refused: %s", refused)
            else:
                counts["archive_commits"] += 1
        return counts

    def _markets(self, markets: list[MarketUpsert]) -> int:
        rows = [
            {
                "platform": m.platform,
                "market_id": m.market_id,
                "slug": m.slug,
                "title": m.title,
                "description": m.description,
                "category": m.category,
                "outcomes": json.dumps(m.outcomes) if m.outcomes is not None else None,
                "volume": m.volume,
                "liquidity": m.liquidity,
                "end_date": m.end_date,
                "status": m.status if m.status in ("active", "closed") else "active",
                "created_at": m.created_at,
                "updated_at": m.updated_at,
                "extra": json.dumps(m.extra, sort_keys=True) if m.extra else None,
                "observed_at": m.observed_at,
            }
            for m in markets
        ]
        cur = self.db.executemany(_UPSERT_MARKET, rows)
        self._learn_ids({(m.platform, m.market_id) for m in markets if m.market_id not in self._ids[m.platform]})
        return cur.rowcount

    def _resolutions(self, resolutions: list[Resolution], now: float) -> int:
        for r in resolutions:
            if r.market_id not in self._ids[r.platform]:
                self._ensure_markets(r.platform, {r.market_id}, now)
        rows = []
        for r in resolutions:
            status = r.status if r.status in ("closed", "resolved", "voided") else "closed"
            resolution = r.resolution if status == "resolved" and r.resolution in ("YES", "NO") else None
            if status == "resolved" and resolution is None:
                log.warning("resolution for %s/%s without YES/NO kept as closed", r.platform, r.market_id)
                status = "closed"
            rows.append(
                {
                    "platform": r.platform, "market_id": r.market_id, "status": status,
                    "resolution": resolution, "winning_outcome": r.winning_outcome,
                    "resolved_at": r.resolved_at if status in FINAL_STATUSES else None,
                    "settlement_value": r.settlement_value, "detail": r.detail,
                    "closed_at": r.closed_at, "observed_at": r.observed_at,
                }
            )
        return self.db.executemany(_APPLY_RESOLUTION, rows).rowcount

    def _snapshots(self, columns: list[SnapshotColumns], now: float, counts: dict[str, int]) -> int:
        """Insert column batches; the rows are zipped in C, no per-row Python code runs here."""
        stored = 0
        for c in columns:
            n = len(c.market_ids)
            lag = c.lag if c.lag is not None else repeat(None, n)
            if not all(len(col) == n for col in (c.yes, c.bid, c.ask, c.volume, c.liquidity, c.lag or c.yes)):
                counts["snapshot_columns_rejected"] += 1
                log.warning("snapshot columns for %s t=%d have unequal lengths; rejected", c.platform, c.t)
                continue
            ids = self._ids[c.platform]
            if not all(map(ids.__contains__, c.market_ids)):  # C-speed check; rare slow path below
                self._ensure_markets(c.platform, set(c.market_ids).difference(ids), now)
            backfill = c.source == "backfill"
            rows = zip(repeat(c.t), map(ids.__getitem__, c.market_ids), c.yes, c.bid, c.ask, c.volume, c.liquidity,
                       *(() if backfill else (lag,)))  # history is read as of its own t: no lag column
            inserted = self.db.executemany(_INSERT_BACKFILL if backfill else _INSERT_LIVE, rows).rowcount
            if inserted and not backfill:  # history points are counted per market in backfill_markets
                self.db.execute(_BUMP_CYCLE, (c.platform, "live", c.t, inserted))
            stored += inserted
        return stored

    def _ensure_markets(self, platform: str, market_ids: set[str], now: float) -> None:
        """Placeholder rows for markets seen in a snapshot or resolution before their metadata."""
        self.db.executemany(_ENSURE_MARKET, [(platform, m, now) for m in market_ids])
        self._learn_ids({(platform, m) for m in market_ids})

    def _learn_ids(self, keys: set[tuple[str, str]]) -> None:
        for platform, market_id in keys:
            row = self.db.execute(
                "SELECT id FROM markets WHERE platform = ? AND market_id = ?", (platform, market_id)
            ).fetchone()
            if row:
                self._ids[platform][market_id] = row[0]

    def forget_ids(self) -> None:
        """(Re)load the id cache; after a rolled-back transaction it may name rows that are gone."""
        self._ids.clear()
        for rid, platform, market_id in self.db.execute("SELECT id, platform, market_id FROM markets"):
            self._ids[platform][market_id] = rid

    def bump_counters(self, counters: dict[str, int]) -> None:
        self.db.executemany(
            "INSERT INTO sink_counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            [(k, v) for k, v in counters.items() if v],
        )

    def set_counter(self, name: str, value: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO sink_counters (name, value) VALUES (?, ?)", (name, value))
