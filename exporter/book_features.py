"""Depth features of the stored order books, for markets.parquet's ``book_history`` column.

Each stored YES book (SQLite ``book`` and the archive's ``order_books`` files) observed at or
before the market's cutoff becomes one point: best bid/ask, spread, the resting size within 1
and 5 cents of the mid on each side, and the imbalance of the 5-cent depths. Causality is by
the book's own observation time (``observed_at``), never by the grid time it belongs to. A cycle
whose book was missing or empty has no point.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from collector import books
from exporter import history
from collector.bounds import PRICE_SCALE

NEAR_1C, NEAR_5C = 10_000, 50_000  # in millionths


def features(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> dict:
    """Best-first (price millionths, size) levels -> the feature values of one book."""
    bid = bids[0][0] if bids else None
    ask = asks[0][0] if asks else None
    out = {"best_bid": None if bid is None else bid / PRICE_SCALE,
           "best_ask": None if ask is None else ask / PRICE_SCALE,
           "spread": None if bid is None or ask is None else (ask - bid) / PRICE_SCALE,
           "bid_depth_1c": None, "ask_depth_1c": None, "bid_depth_5c": None, "ask_depth_5c": None, "imbalance": None}
    if bid is None or ask is None:
        return out
    mid2 = bid + ask  # twice the mid, to stay in integers
    for name, near in (("1c", NEAR_1C), ("5c", NEAR_5C)):
        out[f"bid_depth_{name}"] = float(sum(s for p, s in bids if 2 * p >= mid2 - 2 * near))
        out[f"ask_depth_{name}"] = float(sum(s for p, s in asks if 2 * p <= mid2 + 2 * near))
    total = out["bid_depth_5c"] + out["ask_depth_5c"]
    out["imbalance"] = (out["bid_depth_5c"] - out["ask_depth_5c"]) / total if total else None
    return out


def stage(con: duckdb.DuckDBPyConnection, archive_files: list[str]) -> bool:
    """Make the found YES books readable: ``bookpts`` (SQLite's, copied: market, t, observed ms,
    levels blob) and, with archive files, ``bookarch`` (read in place, levels as columns); False
    for a database without books.

    Archived books find their market's ref through ``market_keys`` (history.stage), not through
    DuckDB's SQLite scanner on the markets table, which kept RSS growing with the markets."""
    try:  # an unchanged book's row names the earlier row holding its levels (same_as, migration 007)
        con.execute("CREATE OR REPLACE TABLE bookpts AS SELECT b.market, b.t, b.t * 1000 + b.seen_ms AS seen, "
                    "coalesce(b.levels, r.levels) AS levels FROM c.book b LEFT JOIN c.book r "
                    "ON b.same_as IS NOT NULL AND r.t = b.t - b.same_as AND r.market = b.market AND r.outcome = 0 "
                    "WHERE b.outcome = 0 AND (b.levels IS NOT NULL OR b.same_as IS NOT NULL)")
    except duckdb.Error:
        try:
            con.execute("CREATE OR REPLACE TABLE bookpts AS SELECT market, t, t * 1000 + seen_ms AS seen, levels"
                        " FROM c.book WHERE outcome = 0 AND levels IS NOT NULL")  # not yet migrated to 007
        except duckdb.Error:
            return False  # a database from before the order-book migration
    con.execute("DROP VIEW IF EXISTS bookarch")
    if archive_files:
        con.execute("CREATE VIEW bookarch AS SELECT m.id AS market, epoch(a.t)::BIGINT AS t, "
                    "epoch(a.t)::BIGINT * 1000 + a.seen_ms AS seen, a.* EXCLUDE (market_id, t, seen_ms) "
                    f"FROM read_parquet({history.sql_list(archive_files)}, hive_partitioning = true,"
                    " union_by_name = true) a JOIN market_keys m ON m.platform = a.platform AND m.market_id = a.market_id"
                    " WHERE a.outcome = 0 AND a.found")
    return True


def split(con: duckdb.DuckDBPyConnection, buckets: int, parts: Path, archived: bool) -> None:
    """The exported markets' books into parts/{hot,archived}/b=K/, K the bucket of their market
    (history.split's ``bucket_of``), so each chunk reads only its bucket's books: a query per chunk
    over every stored book made the export's time grow with the square of the data."""
    by_bucket = " JOIN bucket_of k ON x.market = k.id"
    history.split_rows(con, f"SELECT x.*, k.b FROM bookpts x{by_bucket}", buckets, parts / "hot")
    if archived:  # stage made the view
        history.split_rows(con, f"SELECT x.*, k.b FROM bookarch x{by_bucket}", buckets, parts / "archived")
        con.execute("DROP VIEW bookarch")
    con.execute("DROP TABLE bookpts")


def _archived_levels(row: dict) -> tuple[list, list]:
    out = ([], [])
    for side, i in (("bid", 0), ("ask", 1)):
        n = 1
        while f"{side}_px_{n}" in row and row[f"{side}_px_{n}"] is not None:
            out[i].append((row[f"{side}_px_{n}"], row[f"{side}_sz_{n}"]))
            n += 1
    return out


def history_of(con: duckdb.DuckDBPyConnection, refs: list[int], cutoffs: dict[int, int | None],
               parts: Path, bucket: int) -> dict[int, list[dict]]:
    """Book points per market ref (observed_at <= cutoff), ascending observation time; the refs
    are a chunk of bucket ``bucket`` (``split``)."""
    if not refs:
        return {}
    lo, hi = min(refs), max(refs)
    points: dict[int, list[tuple[int, int, tuple]]] = {}
    hot = sorted(str(p) for p in (parts / "hot" / f"b={bucket}").glob("*.parquet"))
    if hot:
        for market, t, seen, blob in con.execute(
                "SELECT market, t, seen, levels FROM read_parquet(?, hive_partitioning = false)"
                " WHERE market BETWEEN ? AND ?", [hot, lo, hi]).fetchall():
            points.setdefault(market, []).append((seen, t, books.unpack(blob)))
    archived = sorted(str(p) for p in (parts / "archived" / f"b={bucket}").glob("*.parquet"))
    if archived:
        cur = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false, union_by_name = true)"
                          " WHERE market BETWEEN ? AND ?", [archived, lo, hi])
        names = [d[0] for d in cur.description]
        for values in cur.fetchall():
            row = dict(zip(names, values))
            points.setdefault(row["market"], []).append((row["seen"], row["t"], _archived_levels(row)))
    out: dict[int, list[dict]] = {}
    for ref in refs:
        cut = cutoffs.get(ref)
        pts = sorted(p for p in points.get(ref, ()) if cut is None or p[0] <= cut * 1000)
        out[ref] = [dict(features(*levels), t=t, observed_at=seen) for seen, t, levels in pts]
    return out


def registered_files(db_path, root) -> list[str]:
    """Absolute paths of the registered order-book archive files (exporter/book_archive.py)."""
    from collector.db import connect_reader

    db = connect_reader(str(db_path))
    try:
        rows = db.execute("SELECT file FROM archived_book_partitions ORDER BY platform, file").fetchall()
    except Exception:  # noqa: BLE001 - sqlite3.OperationalError: a database from before the migration
        rows = []
    finally:
        db.close()
    return [str(root / f) for f, in rows]
