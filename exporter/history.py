"""Price histories of the exported markets, streamed in bounded chunks of markets.

collector.db clusters live snapshots by (t, market) for cheap appends, which is the wrong order
for per-market lists. So DuckDB copies SQLite's snapshot tables into its scratch file (columnar,
compressed, ~5 s for 10M rows), reads the Parquet archive in place, splits both into buckets of
consecutive market ids (~BUCKET_ROWS rows each, Parquet files in the export's temp directory) and
sorts one bucket at a time by (market, t, source), so the sort's memory does not grow with the
data. The sorted rows are cut into chunks of ~CHUNK_ROWS rows, already cut at each market's
cutoff by the time each price was *read* (o = t + lag; a sweep reads for minutes after its grid
time t). Within a chunk, a live row wins over a backfill row for the same (market, t), exactly like the
``price_snapshots`` view (which DuckDB cannot read: SQLite-specific SQL inside the view).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from collector.bounds import PRICE_SCALE  # prices are stored as integers in millionths
from exporter.catalog import Market

CHUNK_ROWS = 750_000  # snapshots per chunk: bounds the Arrow data of one chunk to ~75 MB
BUCKET_ROWS = 4_000_000  # snapshots sorted at once by DuckDB (consecutive chunks): bounds the sort's memory
PARTITION_FLUSH_ROWS = 100_000  # rows DuckDB buffers per thread while splitting the snapshots into buckets
SPLIT_FANOUT = 16  # files one COPY writes at once while splitting (history._split_into)
STREAM_BATCH_ROWS = 100_000  # rows per record batch of the ordered snapshot stream


@dataclass
class Chunk:
    markets: list[Market]
    table: pa.Table  # market, t, observed_at, known_at, yes_price, best_bid, best_ask, volume, liquidity
    offsets: list[int]  # rows of markets[i] are table[offsets[i]:offsets[i+1]]
    bucket: int  # the bucket of the plan the chunk belongs to (split: its files)


def stage(con: duckdb.DuckDBPyConnection, refs: np.ndarray, cutoffs: np.ndarray,
          archive_files: list[tuple[str, str]] = (), keys: pa.Table | None = None) -> dict[str, int]:
    """Make ``snaps`` every stored snapshot, count them per market, and register the exported
    markets with their cutoffs.

    Live snapshots come from both stores: the hot SQLite table and the registered Parquet archive
    files (exporter/archive.py); a row is in exactly one of them, so the export is the same
    before and after archiving. SQLite's rows (the hot days and backfill) are copied into DuckDB,
    a consistent picture of a database the sink keeps writing; the archive files are immutable
    (named by their hash) and are read in place, so the export's memory does not grow with the
    archive: copying a year of it into DuckDB first had left RSS growing with the rows. ``keys``
    (id, platform, market_id of every market) becomes the table ``market_keys`` that maps an
    archived row to its ref; it is needed whenever either archive (prices or books) has files.
    """
    live_lag = "lag" if "lag" in _columns(con, "c.snapshot") else "NULL"  # a database before migration 004
    con.execute(f"CREATE OR REPLACE TABLE staged AS SELECT market, t, yes, bid, ask, volume, liquidity,"
                f" 0::UTINYINT AS src, t + coalesce({live_lag}, 0) AS o FROM c.snapshot")
    con.execute("INSERT INTO staged SELECT market, t, yes, bid, ask, volume, liquidity, 1::UTINYINT, t"
                " FROM c.snapshot_backfill")  # history points are known as of their own time
    sources = ["SELECT * FROM staged"]
    if keys is not None:  # the archive names markets by (platform, market_id); keys maps them to refs
        con.register("keys_arrow", keys)
        con.execute("CREATE OR REPLACE TABLE market_keys AS SELECT * FROM keys_arrow")
        con.unregister("keys_arrow")
    by_platform: dict[str, list[str]] = {}
    for platform, path in archive_files:
        by_platform.setdefault(platform, []).append(path)
    for platform, paths in sorted(by_platform.items()):
        lag = "a.lag" if any("lag" in pq.read_schema(p).names for p in paths) else "NULL"
        sources.append(f"SELECT m.id, epoch(a.t)::BIGINT, a.yes, a.bid, a.ask, a.volume, a.liquidity, 0::UTINYINT,"
                       f" epoch(a.t)::BIGINT + coalesce({lag}, 0) FROM read_parquet({sql_list(paths)},"
                       f" union_by_name = true) a JOIN market_keys m ON m.platform = {_sql_text(platform)}"
                       " AND m.market_id = a.market_id")
    con.execute("CREATE OR REPLACE VIEW snaps AS " + " UNION ALL ".join(sources))
    ids = pa.table({"id": pa.array(refs, pa.int64()), "cut": pa.array(cutoffs, pa.int64())})
    con.register("exported_arrow", ids)
    con.execute("CREATE OR REPLACE TABLE exported AS SELECT * FROM exported_arrow")
    con.unregister("exported_arrow")
    # One pass over both stores: per market, the rows kept (read at or before the cutoff) and the
    # rows left out, and the time range of every stored snapshot.
    con.execute("CREATE OR REPLACE TABLE snap_counts AS SELECT s.market, count(e.id) FILTER (WHERE s.o <= e.cut) AS kept,"
                " count(e.id) FILTER (WHERE s.o > e.cut) AS after, min(s.t) AS min_t, max(s.t) AS max_t"
                " FROM snaps s LEFT JOIN exported e ON s.market = e.id GROUP BY s.market")
    after, total, min_t, max_t = con.execute("SELECT coalesce(sum(after), 0), coalesce(sum(kept + after), 0),"
                                             " min(min_t), max(max_t) FROM snap_counts").fetchone()
    return {"snapshots_after_cutoff": int(after), "snapshots_of_exported": int(total),
            "snapshot_min_t": min_t, "snapshot_max_t": max_t}


def after_cutoff(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """Per exported market ref, how many of its stored snapshots were read after its cutoff."""
    return dict(con.execute("SELECT market, after FROM snap_counts WHERE after > 0").fetchall())


def plan(con: duckdb.DuckDBPyConnection, refs: np.ndarray) -> list[list[tuple[int, int]]]:
    """Buckets of chunks: a chunk is a slice (start, stop) of ``refs`` holding about CHUNK_ROWS
    snapshots; a bucket is consecutive chunks holding about BUCKET_ROWS, sorted at once."""
    counts = dict(con.execute("SELECT market, kept FROM snap_counts WHERE kept > 0").fetchall())
    buckets: list[list[tuple[int, int]]] = [[]]
    start, rows, bucket_rows = 0, 0, 0
    for i, ref in enumerate(refs.tolist()):
        n = counts.get(ref, 0)
        if i > start and rows + n > CHUNK_ROWS:
            if buckets[-1] and bucket_rows + rows > BUCKET_ROWS:
                buckets.append([])
                bucket_rows = 0
            buckets[-1].append((start, i))
            bucket_rows += rows
            start, rows = i, 0
        rows += n
    if start < len(refs):
        if buckets[-1] and bucket_rows + rows > BUCKET_ROWS:
            buckets.append([])
        buckets[-1].append((start, len(refs)))
    return [b for b in buckets if b]


def chunks(con: duckdb.DuckDBPyConnection, refs: np.ndarray, plan_: list[list[tuple[int, int]]],
           stats: dict[str, int], parts: Path, markets: Callable[[int, int], list[Market]]) -> Iterator[Chunk]:
    """Every exported snapshot, sorted by (market, t, source) one bucket at a time, cut into the
    planned chunks; ``markets(lo, hi)`` builds the chunk's Market objects (refs lo..hi).

    One global ORDER BY over every staged row needed sort memory that grew with the rows (peak
    RSS x1.39 from 6M to 300M rows; at memory_limit 128 MB it failed), and a query per range of
    markets re-scanned the whole staged table each time (staged rows are in (t, market) order).
    So ``split`` writes the rows, split by bucket, to Parquet files in ``parts`` (DuckDB's
    partitioned COPY, out of core), and each bucket is then read and sorted on its own: the sort
    is bounded by BUCKET_ROWS at any size and the time stays linear. Rows past a chunk's last
    market are kept for the next chunk. The stream runs on its own cursor so the other queries
    of the export loop do not end it.
    """
    stats.setdefault("backfill_shadowed", 0)
    cursor = con.cursor()
    cursor.execute("SET enable_progress_bar = false")  # a new cursor would draw one on a terminal
    for k, bucket in enumerate(plan_):
        files = sorted(str(p) for p in (parts / f"b={k}").glob("*.parquet"))
        source = "read_parquet(?)" if files else "no_snaps"  # a bucket of markets without snapshots
        reader = cursor.execute(f"SELECT {STREAM_COLUMNS} FROM {source} ORDER BY market, t, src",
                                [files] if files else []).to_arrow_reader(STREAM_BATCH_ROWS)
        pending: list[pa.RecordBatch] = []
        exhausted = False
        for start, stop in bucket:
            last = int(refs[stop - 1])
            while not exhausted and (not pending or pending[-1]["market"][-1].as_py() <= last):
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    exhausted = True
                    continue
                if batch.num_rows:
                    pending.append(batch)
            table = pa.Table.from_batches(pending, schema=reader.schema).combine_chunks()
            cut = int(np.searchsorted(table["market"].to_numpy(), last, side="right"))
            pending = table.slice(cut).to_batches()
            table = table.slice(0, cut)
            before = table.num_rows
            table = _live_wins(table)
            stats["backfill_shadowed"] += before - table.num_rows
            group = markets(int(refs[start]), last)
            if [m.ref for m in group] != refs[start:stop].tolist():
                raise RuntimeError(f"markets {refs[start]}..{last} changed in the export's own copy")
            chunk = Chunk(group, _typed(table), _offsets(group, table["market"]), k)
            table = group = None  # only the typed copy lives on while the caller writes the chunk
            yield chunk
            chunk = None  # gone before the next chunk (and the next bucket's sort) allocates
        reader.close()
        shutil.rmtree(parts / f"b={k}", ignore_errors=True)  # read once; frees the disk as the export goes


STREAM_COLUMNS = "market, t, yes, bid, ask, volume, liquidity, src, o"


def split(con: duckdb.DuckDBPyConnection, refs: np.ndarray, plan_: list[list[tuple[int, int]]],
          parts: Path) -> Path:
    """Write every exported snapshot at or before its market's cutoff to parts/b=K/*.parquet, K its
    bucket, then drop the staged copy of SQLite's rows (every count the export needs is taken)."""
    bucket = np.empty(len(refs), np.int32)
    for k, chunks_ in enumerate(plan_):
        bucket[chunks_[0][0]:chunks_[-1][1]] = k
    con.register("bucket_arrow", pa.table({"id": pa.array(refs, pa.int64()), "b": pa.array(bucket, pa.int32())}))
    con.execute("CREATE OR REPLACE TABLE bucket_of AS SELECT * FROM bucket_arrow")
    con.unregister("bucket_arrow")
    columns = ", ".join("s." + c for c in STREAM_COLUMNS.split(", "))
    split_rows(con, f"SELECT {columns}, b.b FROM snaps s JOIN exported e ON s.market = e.id"
                    " JOIN bucket_of b ON s.market = b.id WHERE s.o <= e.cut", len(plan_), parts)
    # SQLite's staged copy is read: dropping it frees its blocks before the buckets are sorted.
    con.execute(f"CREATE OR REPLACE TABLE no_snaps AS SELECT {STREAM_COLUMNS} FROM staged WHERE false")
    con.execute("DROP VIEW snaps")
    con.execute("DROP TABLE staged")
    return parts


def split_rows(con: duckdb.DuckDBPyConnection, rows: str, buckets: int, parts: Path) -> None:
    """Write the query ``rows`` (with a bucket column b in 0..buckets-1) to parts/b=K/*.parquet."""
    con.execute(f"SET partitioned_write_flush_threshold = {PARTITION_FLUSH_ROWS}")
    con.execute(f"SET partitioned_write_max_open_files = {SPLIT_FANOUT}")
    parts.mkdir(parents=True, exist_ok=True)  # COPY makes only the last directory
    _split_into(con, rows, 0, buckets, parts)


def _split_into(con: duckdb.DuckDBPyConnection, rows: str, lo: int, hi: int, parts: Path) -> None:
    """Split ``rows`` (buckets lo..hi-1, column b) into parts/b=K/, at most SPLIT_FANOUT files open.

    DuckDB's partitioned COPY keeps buffers per open file, and past its open-file limit it closes
    files and opens new ones, cutting a bucket into dozens of small files whose sort then took
    more memory (peak RSS 808 MB at 0.05 of a year against 698 MB at 0.01, bench/bench_year.py).
    So more than SPLIT_FANOUT buckets are first split into SPLIT_FANOUT groups of consecutive
    buckets and each group again: one more pass over the rows per 16x more buckets (two at a
    year of 0.05 with 80 buckets, three from 256 buckets on: a full year has ~1,500).
    """
    if hi - lo <= SPLIT_FANOUT:
        con.execute(f"COPY ({rows}) TO {_sql_text(str(parts))} (FORMAT parquet, PARTITION_BY (b), OVERWRITE_OR_IGNORE)")
        return
    width = -(-(hi - lo) // SPLIT_FANOUT)  # buckets per group
    groups = parts / f"groups-{lo}-{hi}"
    con.execute(f"COPY (SELECT *, (b - {lo}) // {width} AS g FROM ({rows})) TO {_sql_text(str(groups))}"
                " (FORMAT parquet, PARTITION_BY (g))")
    for g in range(SPLIT_FANOUT):
        files = sorted(str(p) for p in (groups / f"g={g}").glob("*.parquet"))
        if files:
            _split_into(con, f"SELECT * EXCLUDE (g) FROM read_parquet({sql_list(files)}, hive_partitioning = true)",
                        lo + g * width, min(hi, lo + (g + 1) * width), parts)
        shutil.rmtree(groups / f"g={g}", ignore_errors=True)  # read once; frees the disk as the split goes
    shutil.rmtree(groups, ignore_errors=True)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str]) -> str:
    """A SQL list literal of strings (a view cannot take parameters)."""
    return "[" + ", ".join(_sql_text(v) for v in values) + "]"


def _live_wins(table: pa.Table) -> pa.Table:
    """Drop a backfill row when a live row (sorted first) exists for the same market and t."""
    n = table.num_rows
    if n < 2 or not pc.any(pc.equal(table["src"], 1)).as_py():
        return table
    m, t = table["market"], table["t"]
    same = pc.and_(pc.equal(m.slice(1), m.slice(0, n - 1)), pc.equal(t.slice(1), t.slice(0, n - 1)))
    keep = pa.concat_arrays([pa.array([True]), pc.invert(same.combine_chunks() if hasattr(same, "combine_chunks")
                                                         else same)])
    return table.filter(keep)


def _typed(table: pa.Table) -> pa.Table:
    def price(col: str) -> pa.Array:
        return pc.divide(pc.cast(table[col], pa.float64()), PRICE_SCALE)

    return pa.table({
        "market": table["market"],
        "t": pc.cast(table["t"], pa.timestamp("s", tz="UTC")),
        "observed_at": pc.cast(table["o"], pa.timestamp("s", tz="UTC")),
        "known_at": _known_at(table["market"], table["o"]),
        "yes_price": price("yes"), "best_bid": price("bid"), "best_ask": price("ask"),
        "volume": pc.cast(table["volume"], pa.float64()), "liquidity": pc.cast(table["liquidity"], pa.float64()),
    })


def _known_at(market: pa.ChunkedArray, observed: pa.ChunkedArray) -> pa.Array:
    """Per market, the running max of the observation times in t order (unix seconds).

    A price is known from when it was read; a row read before an earlier-t row is held back until
    that row is known too, so the times ascend (prompts bisect them) and never place a price early.
    Vectorised: market ids ascend within a chunk, so a running max over (market << 40 | observed)
    restarts at every market.
    """
    key = pc.bit_wise_or(pc.shift_left(pc.cast(market, pa.int64()), 40), pc.cast(observed, pa.int64()))
    return pc.bit_wise_and(pc.cumulative_max(key), (1 << 40) - 1)


def as_numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric chunk column as a NumPy array: float64 with NaN for nulls, int64 kept when it has none."""
    if column.null_count == 0 and pa.types.is_integer(column.type):
        return column.to_numpy()
    return pc.fill_null(pc.cast(column, pa.float64()), float("nan")).to_numpy()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _offsets(group: list[Market], market_col: pa.ChunkedArray) -> list[int]:
    """Row offsets per market of the group (0-length for a market without snapshots)."""
    ree = pc.run_end_encode(market_col.combine_chunks() if isinstance(market_col, pa.ChunkedArray) else market_col)
    ends = dict(zip(ree.values.to_pylist(), ree.run_ends.to_pylist()))
    offsets, pos = [0], 0
    for m in group:
        pos = ends.get(m.ref, pos)
        offsets.append(pos)
    return offsets
