"""Storing OrderBook records: packed levels, first row per (t, market, outcome) wins.

Kept apart from sink/store.py so the book rules live in one place. Idempotent like snapshots:
INSERT OR IGNORE on the primary key, and ``book_cycles`` grows only by the rows actually
inserted (YES books only, so it counts markets), so a replayed batch changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict

from collector import books
from collector.wire import BookArchiveCommit, OrderBook

log = logging.getLogger("sink")

_INSERT = ("INSERT OR IGNORE INTO book (t, market, outcome, seen_ms, levels, book_ms, hash32) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")
_BUMP = """
INSERT INTO book_cycles (platform, t, rows, found) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, t) DO UPDATE SET rows = rows + excluded.rows, found = found + excluded.found
"""


def _row(b: OrderBook, market: int) -> tuple:
    seen_ms = round((b.observed_at - b.t) * 1000)
    if not b.found:
        return (b.t, market, b.outcome, seen_ms, None, None, None)
    levels = books.pack(b.bid_px, b.bid_sz, b.ask_px, b.ask_sz)
    book_ms = b.book_ms - round(b.observed_at * 1000) if b.book_ms is not None else None
    return (b.t, market, b.outcome, seen_ms, levels, book_ms, books.hash_prefix(b.book_hash))


def store_books(db: sqlite3.Connection, records: list[OrderBook], ids: dict[str, dict[str, int]],
                counts: dict[str, int]) -> None:
    """Insert books (market ids already known to ``ids``); bad levels are logged and counted."""
    groups: dict[tuple[str, int, bool], list[tuple]] = defaultdict(list)
    for b in records:
        try:
            row = _row(b, ids[b.platform][b.market_id])
        except (books.BadLevels, OverflowError, TypeError) as exc:
            counts["books_rejected"] += 1
            log.warning("order book for %s/%s t=%d rejected: %s [books_rejected=%d]", b.platform, b.market_id,
                        b.t, exc, counts["books_rejected"])
            continue
        groups[(b.platform, b.t, row[4] is not None, b.outcome)].append(row)
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
    from sink.archive import file_sha256

    if db.execute("SELECT 1 FROM archived_book_partitions WHERE platform = ? AND file = ?",
                  (c.platform, c.file)).fetchone():
        return None  # replayed
    path = (archive_dir / c.file).resolve()
    if archive_dir.resolve() not in path.parents:
        return f"{c.file}: outside the archive directory"
    try:
        digest = file_sha256(path)
    except OSError as exc:
        return f"{c.file}: unreadable: {exc}"
    if digest != c.sha256:
        return f"{c.file}: sha256 {digest[:12]} != {c.sha256[:12]}"
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
