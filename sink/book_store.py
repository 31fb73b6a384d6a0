"""Storing OrderBook records: packed levels, first row per (t, market, outcome) wins.

Kept apart from sink/store.py so the book rules live in one place. Idempotent like snapshots:
INSERT OR IGNORE on the primary key, and ``book_cycles`` grows only by the rows actually
inserted (YES books only, so it counts markets), so a replayed batch changes nothing.

Most books are the same from one cycle to the next (illiquid markets), so a book whose levels
equal those of an earlier row of the same market, outcome and UTC day is stored without them:
``same_as`` = seconds back to that row (migration 007; the ``book_levels`` and ``order_books``
views resolve it). The row keeps its own observation time and book timestamp; not the hash
(5 bytes, new on every answer if the platform hashes its timestamp too): the hash is a change
detector, and the row's levels are known to be the referenced row's. Which row to point at comes
from ``LevelsIndex`` (memory) or the previous cycle, and is always checked against the table
inside the same transaction, so a rolled-back batch, a restart or a replay can only cost bytes
(a full row), never a wrong reference.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict

from collector import books
from collector.wire import BookArchiveCommit, OrderBook

log = logging.getLogger("sink")

_INSERT = ("INSERT OR IGNORE INTO book (t, market, outcome, seen_ms, levels, book_ms, hash32, same_as) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_LEVELS_AT = "SELECT levels, same_as FROM book WHERE t = ? AND market = ? AND outcome = ?"
_PREVIOUS_CYCLE = "SELECT max(t) FROM book_cycles WHERE platform = ? AND t < ? AND t >= ?"
DAY = 86400  # references never cross a UTC day: the archive moves whole days
REFERENCE_BYTES = 3  # a blob no longer than a same_as value is stored as it is


class LevelsIndex:
    """market ref * 2 + outcome -> grid time of the newest row holding that book's levels.

    Only today's entries are kept (a reference cannot reach further back), so memory is bounded
    by the markets booked in one day. A hint only: store_books checks it against the table.
    """

    def __init__(self) -> None:
        self.day = -1
        self.newest: dict[int, int] = {}

    def get(self, key: int) -> int | None:
        return self.newest.get(key)

    def put(self, key: int, t: int) -> None:
        if t // DAY > self.day:
            self.day = t // DAY
            self.newest = {k: v for k, v in self.newest.items() if v // DAY == self.day}
        if t // DAY == self.day and t > self.newest.get(key, -1):
            self.newest[key] = t


_BUMP = """
INSERT INTO book_cycles (platform, t, rows, found) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, t) DO UPDATE SET rows = rows + excluded.rows, found = found + excluded.found
"""


def _row(b: OrderBook, market: int) -> tuple:
    seen_ms = round((b.observed_at - b.t) * 1000)
    if not b.found:
        return (b.t, market, b.outcome, seen_ms, None, None, None, None)
    levels = books.pack(b.bid_px, b.bid_sz, b.ask_px, b.ask_sz)
    book_ms = b.book_ms - round(b.observed_at * 1000) if b.book_ms is not None else None
    return (b.t, market, b.outcome, seen_ms, levels, book_ms, books.hash_prefix(b.book_hash), None)


def _holding_row(db: sqlite3.Connection, t: int, market: int, outcome: int) -> int | None:
    """Grid time of the row holding the levels of the book stored at t (itself or its reference)."""
    found = db.execute(_LEVELS_AT, (t, market, outcome)).fetchone()
    if found is None or (found[0] is None and found[1] is None):
        return None
    return t if found[1] is None else t - found[1]


def _as_reference(db: sqlite3.Connection, row: tuple, base: int | None) -> tuple:
    """``row`` as a same_as reference to the row at ``base`` if that row holds the same levels."""
    t, market, outcome, levels = row[0], row[1], row[2], row[4]
    if base is None or not base < t or base // DAY != t // DAY or len(levels) <= REFERENCE_BYTES:
        return row
    held = db.execute(_LEVELS_AT, (base, market, outcome)).fetchone()
    if held is None or held[0] != levels:
        return row
    return row[:4] + (None, row[5], None, t - base)  # the hash identifies levels: the base row has them


def store_books(db: sqlite3.Connection, records: list[OrderBook], ids: dict[str, dict[str, int]],
                counts: dict[str, int], index: LevelsIndex | None = None) -> None:
    """Insert books (market ids already known to ``ids``); bad levels are logged and counted.

    ``index`` (the sink keeps one) finds the earlier row an unchanged book can point at; without
    it, or for a market it does not know, the previous cycle's row is tried. Cycle by cycle, so a
    batch holding several cycles of a market (a backlog) points at its own earlier rows too.
    """
    index = index if index is not None else LevelsIndex()
    by_cycle: dict[int, list[OrderBook]] = defaultdict(list)
    for b in records:
        by_cycle[b.t].append(b)
    for t in sorted(by_cycle):
        _store_cycle(db, by_cycle[t], ids, counts, index)


def _store_cycle(db: sqlite3.Connection, records: list[OrderBook], ids: dict[str, dict[str, int]],
                 counts: dict[str, int], index: LevelsIndex) -> None:
    """store_books for the records of one grid time."""
    previous: dict[str, int | None] = {}  # platform -> its previous cycle's grid time today
    groups: dict[tuple[str, int, bool, int], list[tuple]] = defaultdict(list)
    for b in records:
        try:
            row = _row(b, ids[b.platform][b.market_id])
        except (books.BadLevels, OverflowError, TypeError) as exc:
            counts["books_rejected"] += 1
            log.warning("order book for %s/%s t=%d rejected: %s [books_rejected=%d]", b.platform, b.market_id,
                        b.t, exc, counts["books_rejected"])
            continue
        if row[4] is not None:
            key = row[1] * 2 + b.outcome
            base = index.get(key)
            if base is None or base >= b.t:  # unknown, or a later cycle arrived first (a re-sent batch)
                if b.platform not in previous:
                    day_start = b.t - b.t % DAY
                    previous[b.platform] = db.execute(_PREVIOUS_CYCLE, (b.platform, b.t, day_start)).fetchone()[0]
                prev = previous[b.platform]
                base = None if prev is None else _holding_row(db, prev, row[1], b.outcome)
            row = _as_reference(db, row, base)
            if row[7] is None:
                index.put(key, b.t)
        groups[(b.platform, b.t, row[4] is not None or row[7] is not None, b.outcome)].append(row)
    bumps: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (platform, t, found, outcome), rows in groups.items():
        inserted = db.executemany(_INSERT, rows).rowcount
        counts["books"] += inserted
        if outcome == 0:  # book_cycles counts markets: their YES (Kalshi: only) book
            bumps[(platform, t)][0] += inserted
            bumps[(platform, t)][1] += inserted if found else 0
    db.executemany(_BUMP, [(p, t, n, f) for (p, t), (n, f) in bumps.items() if n])


_RANGE = "b.t >= ? AND b.t < ? AND b.market IN (SELECT id FROM markets WHERE platform = ?)"


def apply_archive(db: sqlite3.Connection, archive_dir, c: BookArchiveCommit, now: float) -> str | None:
    """Verify a book archive file against the rows, then delete them and register it; why not, or None."""
    from sink.archive import check_file

    if db.execute("SELECT 1 FROM archived_book_partitions WHERE platform = ? AND file = ?",
                  (c.platform, c.file)).fetchone():
        return None  # replayed
    why = check_file(archive_dir, c.file, c.sha256)
    if why:
        return why
    have = db.execute(f"SELECT count(*), coalesce(sum(b.t), 0), coalesce(sum(b.seen_ms), 0), "
                      f"coalesce(sum(length(b.levels)), 0) FROM book b WHERE {_RANGE}",
                      (c.t_start, c.t_end, c.platform)).fetchone()
    want = (c.rows, c.sum_t, c.sum_seen_ms, c.sum_level_bytes)
    if tuple(have) != want:
        return f"{c.platform} {c.day}: book rows in SQLite {tuple(have)} differ from the file's {want}"
    db.execute(f"DELETE FROM book AS b WHERE {_RANGE}", (c.t_start, c.t_end, c.platform))
    db.execute("INSERT INTO archived_book_partitions (platform, day, file, t_start, t_end, rows, sha256, archived_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (c.platform, c.day, c.file, c.t_start, c.t_end, c.rows, c.sha256, now))
    log.info("archived %s %s: %d order books moved to %s", c.platform, c.day, c.rows, c.file)
    return None
