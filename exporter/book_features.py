"""Depth features of the stored order books, for markets.parquet's ``book_history`` column.

Each stored YES book (SQLite ``book`` and the archive's ``order_books`` files) observed at or
before the market's cutoff becomes one point: best bid/ask, spread, the resting size within 1
and 5 cents of the mid on each side, and the imbalance of the 5-cent depths. Causality is by
the book's own observation time (``observed_at``), never by the grid time it belongs to. A cycle
whose book was missing or empty has no point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collector import books
from exporter import history
from collector.bounds import PRICE_SCALE
from exporter.columns import BOOK_POINT

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


FEATURES = ("best_bid", "best_ask", "spread", "bid_depth_1c", "ask_depth_1c", "bid_depth_5c", "ask_depth_5c",
            "imbalance")


@dataclass
class MarketBooks:
    """One market's book points, ascending observation time: what a prompt looks up."""
    observed: list[int]  # observed_at, unix ms
    table: pa.Table

    def __len__(self) -> int:
        return len(self.observed)

    def __getitem__(self, i: int) -> dict:
        """Point i as ``features`` gives it, with t and observed_at (unix ms)."""
        row = self.table.slice(i, 1).to_pylist()[0]
        return {**{k: row[k] for k in FEATURES}, "t": row["t_s"], "observed_at": row["seen"]}


@dataclass
class ChunkBooks:
    """The book points of a chunk's markets, one table sorted by (market, observed_at, t).

    Features are computed for all of them at once with NumPy: per book in Python (one dict each)
    a chunk of 750k books took ~1 GB and ~23 s of CPU per million books (bench_year.py --books).
    """
    table: pa.Table  # market, t_s, seen (ms), the FEATURES
    starts: dict[int, tuple[int, int]]  # ref -> its rows [lo, hi)

    def for_market(self, ref: int) -> MarketBooks | None:
        lo, hi = self.starts.get(ref, (0, 0))
        if lo == hi:
            return None
        part = self.table.slice(lo, hi - lo)
        return MarketBooks(part["seen"].to_pylist(), part)

    def column(self, refs: list[int]) -> pa.Array:
        """markets.parquet's book_history for markets ``refs`` (ascending, as the table)."""
        offsets, pos = [0], 0
        for ref in refs:
            pos = self.starts.get(ref, (pos, pos))[1]
            offsets.append(pos)
        t = self.table
        points = pa.StructArray.from_arrays(
            [pc.cast(t["t_s"], BOOK_POINT.field("t").type).combine_chunks(),
             pc.cast(t["seen"], BOOK_POINT.field("observed_at").type).combine_chunks(),
             *(t[k].combine_chunks() for k in FEATURES)], fields=list(BOOK_POINT))
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), points)


def empty_column(n: int) -> pa.Array:
    """book_history for n markets without books."""
    return pa.array([[]] * n, pa.list_(BOOK_POINT))


def history_of(con: duckdb.DuckDBPyConnection, refs: list[int], cutoffs: dict[int, int | None],
               parts: Path, bucket: int) -> ChunkBooks:
    """Book points of markets ``refs`` (ascending; a chunk of bucket ``bucket``, ``split``) observed at
    or before their cutoff."""
    lo, hi = (min(refs), max(refs)) if refs else (0, -1)
    pieces = []
    hot = sorted(str(p) for p in (parts / "hot" / f"b={bucket}").glob("*.parquet"))
    if hot:
        rows = con.execute("SELECT market, t, seen, levels FROM read_parquet(?, hive_partitioning = false)"
                           " WHERE market BETWEEN ? AND ?", [hot, lo, hi]).fetchall()
        pieces.append(_hot_levels(rows))
    archived = sorted(str(p) for p in (parts / "archived" / f"b={bucket}").glob("*.parquet"))
    if archived:
        table = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false, union_by_name = true)"
                            " WHERE market BETWEEN ? AND ?", [archived, lo, hi]).to_arrow_table()
        pieces.append(_archived_levels(table))
    market, t, seen, bid_px, bid_sz, ask_px, ask_sz = _concat(pieces)
    if not refs or not len(market):
        market = t = seen = np.zeros(0, np.int64)
        empty = np.zeros(0)
        return ChunkBooks(pa.table({"market": market, "t_s": t, "seen": seen, **{k: empty for k in FEATURES}}), {})
    ref_array = np.asarray(refs, np.int64)
    cut = np.array([cutoffs.get(r) if cutoffs.get(r) is not None else np.iinfo(np.int64).max // 1000
                    for r in refs], np.int64)
    at = np.searchsorted(ref_array, market)
    keep = (at < len(ref_array)) & (ref_array[np.minimum(at, len(ref_array) - 1)] == market)
    keep &= seen <= cut[np.minimum(at, len(ref_array) - 1)] * 1000
    order = np.flatnonzero(keep)
    order = order[np.lexsort((t[order], seen[order], market[order]))]
    market, t, seen = market[order], t[order], seen[order]
    values = _features(bid_px[order], bid_sz[order], ask_px[order], ask_sz[order])
    table = pa.table({"market": market, "t_s": t, "seen": seen,
                      **{k: pa.array(v, pa.float64(), mask=np.isnan(v)) for k, v in values.items()}})
    bounds = np.flatnonzero(np.diff(market)) + 1 if len(market) else np.array([], np.int64)
    first = [0, *bounds.tolist()]
    last = [*bounds.tolist(), len(market)]
    return ChunkBooks(table, {int(market[a]): (a, b) for a, b in zip(first, last)})


def _features(bid_px, bid_sz, ask_px, ask_sz) -> dict[str, np.ndarray]:
    """``features`` for every book at once: level arrays (books x depth, NaN where a book has
    fewer levels), prices in millionths; the same numbers as ``features`` (integer sums and
    comparisons are exact in float64 below 2**53)."""
    bid, ask = bid_px[:, 0], ask_px[:, 0]
    both = ~np.isnan(bid) & ~np.isnan(ask)
    out = {"best_bid": bid / PRICE_SCALE, "best_ask": ask / PRICE_SCALE, "spread": (ask - bid) / PRICE_SCALE}
    mid2 = np.where(both, bid + ask, np.nan)[:, None]
    with np.errstate(invalid="ignore"):
        for name, near in (("1c", NEAR_1C), ("5c", NEAR_5C)):
            out[f"bid_depth_{name}"] = np.where(both, np.where(2 * bid_px >= mid2 - 2 * near, bid_sz, 0).sum(axis=1),
                                                np.nan)
            out[f"ask_depth_{name}"] = np.where(both, np.where(2 * ask_px <= mid2 + 2 * near, ask_sz, 0).sum(axis=1),
                                                np.nan)
        total = out["bid_depth_5c"] + out["ask_depth_5c"]
        out["imbalance"] = np.where(both & (total != 0), (out["bid_depth_5c"] - out["ask_depth_5c"]) / total, np.nan)
    return out


Levels = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _hot_levels(rows: list[tuple]) -> Levels:
    """SQLite's books (levels packed, collector/books.py) as level arrays; only the hot days' books
    of one chunk, so unpacking them one by one stays small."""
    unpacked = [books.unpack(blob) if blob is not None else ([], []) for _, _, _, blob in rows]
    depth = max([max(len(b), len(a)) for b, a in unpacked] + [1])
    arrays = [np.full((len(rows), depth), np.nan) for _ in range(4)]
    for i, (bids, asks) in enumerate(unpacked):
        for side, levels in ((0, bids), (2, asks)):
            for n, (px, sz) in enumerate(levels):
                arrays[side][i, n], arrays[side + 1][i, n] = px, sz
    ints = [np.array([r[k] for r in rows], np.int64) for k in range(3)]
    return (*ints, *arrays)


def _archived_levels(table: pa.Table) -> Levels:
    """Archived books (levels as columns bid_px_1 .. N, exporter/book_archive.py) as level arrays."""
    def side(prefix: str) -> np.ndarray:
        cols, n = [], 1
        while f"{prefix}_{n}" in table.column_names:
            cols.append(pc.fill_null(pc.cast(table[f"{prefix}_{n}"], pa.float64()), np.nan).to_numpy())
            n += 1
        return np.column_stack(cols) if cols else np.full((table.num_rows, 1), np.nan)

    ints = [pc.cast(table[c], pa.int64()).to_numpy() for c in ("market", "t", "seen")]
    return (*ints, side("bid_px"), side("bid_sz"), side("ask_px"), side("ask_sz"))


def _concat(pieces: list[Levels]) -> Levels:
    """Hot and archived level arrays as one, padded to the deeper one's depth."""
    if not pieces:
        empty = np.zeros(0, np.int64)
        return (empty, empty, empty, *(np.full((0, 1), np.nan) for _ in range(4)))
    depth = max(p[3].shape[1] for p in pieces)

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, depth - a.shape[1])), constant_values=np.nan)

    return (*(np.concatenate([p[k] for p in pieces]) for k in range(3)),
            *(np.concatenate([pad(p[k]) for p in pieces]) for k in range(3, 7)))


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
