"""Order books into the Parquet archive, beside the snapshots (exporter/archive.py runs this too).

    archive/order_books/platform=<p>/date=<YYYY-MM-DD>/part-<sha16>.parquet

One row per (market, grid time, outcome book), sorted by market then time, levels as plain
integer columns ``bid_px_1 .. bid_px_N``, ``bid_sz_1 ..``, ``ask_px_1 ..``, ``ask_sz_1 ..``
(price x 1e6, whole units; null where the book had fewer levels; N = the deepest book of the
partition). Sorted that way, a market's book changes little from one cycle to the next, so
zstd makes a 5 x 2-level book a few bytes (bench/bench_books.py measures it).
``found`` false = the platform had no book; ``seen_ms`` = observed_at - t in ms; ``book_ms``,
``hash32`` and ``same_as`` as in SQLite, but every row carries its levels (an unchanged book's
are repeated: sorted by market and time they cost almost nothing), so a file needs no other to
be read. The rows leave SQLite through the same verified commit as snapshots.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from collector import books, wire

DAY = 86400
_ROWS = """
SELECT m.market_id, b.t, b.outcome, b.seen_ms, b.levels, b.book_ms, b.hash32, b.same_as
  FROM book_levels b CROSS JOIN markets m ON m.id = b.market
 WHERE b.t >= ? AND b.t < ? AND m.platform = ?
 ORDER BY m.market_id, b.outcome, b.t
"""


def partitions(db: sqlite3.Connection, before: int) -> list[tuple[str, int]]:
    """(platform, day start) of whole UTC days before ``before`` with book rows still in SQLite."""
    try:
        days = db.execute("SELECT DISTINCT platform, (t / ?) * ? FROM book_cycles WHERE t < ? ORDER BY 2, 1",
                          (DAY, DAY, before - before % DAY)).fetchall()
    except sqlite3.OperationalError:
        return []  # a database from before the order-book migration
    return [(p, start) for p, start in days
            if db.execute("SELECT 1 FROM book b CROSS JOIN markets m ON m.id = b.market WHERE b.t >= ? AND b.t < ? "
                          "AND m.platform = ? LIMIT 1", (start, start + DAY, p)).fetchone()]


def table_of(rows: list[tuple]) -> pa.Table:
    """The archive table of (market_id, t, outcome, seen_ms, levels blob, book_ms, hash32, same_as) rows."""
    unpacked = [books.unpack(r[4]) if r[4] is not None else ([], []) for r in rows]
    depth = max([max(len(b), len(a)) for b, a in unpacked] + [1])
    cols: dict[str, pa.Array] = {
        "market_id": pa.array([r[0] for r in rows], pa.string()).dictionary_encode(),
        "t": pa.array([r[1] for r in rows], pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        "outcome": pa.array([r[2] for r in rows], pa.int8()),
        "found": pa.array([r[4] is not None for r in rows], pa.bool_()),
        "seen_ms": pa.array([r[3] for r in rows], pa.int64()),
        "book_ms": pa.array([r[5] for r in rows], pa.int64()),
        "hash32": pa.array([r[6] for r in rows], pa.int64()),
        "same_as": pa.array([r[7] for r in rows], pa.int32()),
    }
    for side, pick in (("bid", 0), ("ask", 1)):
        for n in range(depth):
            levels = [u[pick][n] if n < len(u[pick]) else None for u in unpacked]
            cols[f"{side}_px_{n + 1}"] = pa.array([lv[0] if lv else None for lv in levels], pa.int32())
            cols[f"{side}_sz_{n + 1}"] = pa.array([lv[1] if lv else None for lv in levels], pa.int64())
    return pa.table(cols)


# Sorted by market and time, t and the observation offsets change by small steps (delta coding);
# the levels repeat for as long as a book sits still, which zstd over plain values packs best
# (bench/bench_books.py: 8.5 vs 12.7 B a book with delta-coded levels under realistic churn).
_DELTA_CODED = ("t", "seen_ms", "book_ms")


def write(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", compression_level=9, use_dictionary=["market_id"],
                   row_group_size=1_000_000, write_statistics=True,
                   column_encoding={c: "DELTA_BINARY_PACKED" if c in _DELTA_CODED else "PLAIN"
                                    for c in table.column_names if c not in ("market_id", "found")})


def write_partition(db: sqlite3.Connection, root: Path, platform: str, start: int) -> wire.BookArchiveCommit | None:
    """Write one (platform, day) file atomically; the commit asks the sink to delete its rows."""
    from exporter.archive import day_of, place

    rows = db.execute(_ROWS, (start, start + DAY, platform)).fetchall()
    if not rows:
        return None
    placed = place(root, "order_books", platform, start, lambda tmp: write(table_of(rows), tmp))
    if placed is None:
        return None
    file, digest = placed
    return wire.BookArchiveCommit(
        platform=platform, day=day_of(start), t_start=start, t_end=start + DAY, file=file,
        sha256=digest, rows=len(rows), sum_t=sum(r[1] for r in rows), sum_seen_ms=sum(r[3] for r in rows),
        sum_level_bytes=sum(len(r[4]) for r in rows if r[4] is not None and r[7] is None))  # as stored


def registered(db: sqlite3.Connection, platform: str, file: str) -> bool:
    return db.execute("SELECT 1 FROM archived_book_partitions WHERE platform = ? AND file = ?",
                      (platform, file)).fetchone() is not None
