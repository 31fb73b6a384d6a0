"""Storing OrderBook records: packed levels, first row per (t, market, outcome) wins.

Kept apart from sink/store.py so the book rules live in one place. Idempotent like snapshots:
INSERT OR IGNORE on the primary key, and ``book_cycles`` grows only by the rows actually
inserted, so a replayed batch (at-least-once delivery) changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict

from collector import books
from collector.wire import OrderBook

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
        groups[(b.platform, b.t, row[4] is not None)].append(row)
    bumps: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (platform, t, found), rows in groups.items():
        inserted = db.executemany(_INSERT, rows).rowcount
        bumps[(platform, t)][0] += inserted
        bumps[(platform, t)][1] += inserted if found else 0
        counts["books"] += inserted
    db.executemany(_BUMP, [(p, t, n, f) for (p, t), (n, f) in bumps.items() if n])
