"""Order books into the Parquet archive, beside the snapshots (exporter/archive.py runs this too).

    archive/order_books/platform=<p>/date=<YYYY-MM-DD>/part-<sha16>.parquet

One row per (market, grid time, outcome book), sorted by market then time, levels as plain
integer columns ``bid_px_1 .. bid_px_N``, ``bid_sz_1 ..``, ``ask_px_1 ..``, ``ask_sz_1 ..``
(price x 1e6, whole units; null where the book had fewer levels; N = the deepest book of the
partition). Sorted that way, a market's book changes little from one cycle to the next, so the
delta encoding and zstd make a 5 x 2-level book a few bytes (bench/bench_books.py measures it).
``found`` false = the platform had no book; ``seen_ms`` = observed_at - t in ms; ``book_ms`` and
``hash32`` as in SQLite. The rows leave SQLite through the same verified commit as snapshots.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from collector import books, failpoints, wire
from collector.db import file_sha256

DAY = 86400
_ROWS = """
SELECT m.market_id, b.t, b.outcome, b.seen_ms, b.levels, b.book_ms, b.hash32
  FROM book b CROSS JOIN markets m ON m.id = b.market
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
    """The archive table of (market_id, t, outcome, seen_ms, levels blob, book_ms, hash32) rows."""
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
    }
    for side, pick in (("bid", 0), ("ask", 1)):
        for n in range(depth):
            levels = [u[pick][n] if n < len(u[pick]) else None for u in unpacked]
            cols[f"{side}_px_{n + 1}"] = pa.array([lv[0] if lv else None for lv in levels], pa.int32())
            cols[f"{side}_sz_{n + 1}"] = pa.array([lv[1] if lv else None for lv in levels], pa.int64())
    return pa.table(cols)


def write(table: pa.Table, path: Path) -> None:
    ints = [n for n in table.column_names if n not in ("market_id", "found")]
    pq.write_table(table, path, compression="zstd", compression_level=9, use_dictionary=["market_id"],
                   row_group_size=1_000_000, write_statistics=True,
                   column_encoding={c: "DELTA_BINARY_PACKED" for c in ints})


def write_partition(db: sqlite3.Connection, root: Path, platform: str, start: int) -> wire.BookArchiveCommit | None:
    """Write one (platform, day) file atomically; the commit asks the sink to delete its rows."""
    from exporter.archive import _day

    rows = db.execute(_ROWS, (start, start + DAY, platform)).fetchall()
    if not rows:
        return None
    rel_dir = Path("order_books") / f"platform={platform}" / f"date={_day(start)}"
    (root / rel_dir).mkdir(parents=True, exist_ok=True)
    tmp = root / rel_dir / f".tmp-{os.getpid()}.parquet"
    write(table_of(rows), tmp)
    digest = file_sha256(tmp)
    final = root / rel_dir / f"part-{digest[:16]}.parquet"
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    failpoints.hit("archiver:after_write")
    return wire.BookArchiveCommit(
        platform=platform, day=_day(start), t_start=start, t_end=start + DAY, file=str(rel_dir / final.name),
        sha256=digest, rows=len(rows), sum_t=sum(r[1] for r in rows), sum_seen_ms=sum(r[3] for r in rows),
        sum_level_bytes=sum(len(r[4]) for r in rows if r[4] is not None))


def registered(db: sqlite3.Connection, platform: str, file: str) -> bool:
    return db.execute("SELECT 1 FROM archived_book_partitions WHERE platform = ? AND file = ?",
                      (platform, file)).fetchone() is not None
