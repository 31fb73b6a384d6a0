"""Moving old live snapshots from SQLite into an immutable, hive-partitioned Parquet archive.

    archive/price_snapshots/platform=<p>/date=<YYYY-MM-DD>/part-<sha16>.parquet
    archive/markets/markets.parquet        # the markets table (metadata + resolutions), rewritten each run,
                                           # times and outcomes typed as in the export (markets_schema)
    archive/manifest.json                  # every registered file with its row count and sha256

One writer still holds: this job only reads collector.db (read-only), writes a Parquet file
atomically (temporary name, fsync, rename; the name is the content hash, so a rerun after a crash
writes the same file), then sends an ArchiveCommit through the sink. The sink verifies the file's
sha256 and that the rows it would delete have the same count and column sums, and deletes them
while registering the file, in one transaction (sink/archive.py). Readers in this project count
only registered files (``archived_partitions``), so a row is never in neither store and never
counted twice. Other engines read the manifest, or the glob — an unregistered file can exist
there briefly (between the write and the sink's commit) and is replaced by the next run.

Columns: market_id (string), t (timestamp, UTC), yes/bid/ask (int32, price x 1e6: divide by 1e6
for a probability), volume/liquidity (int64, whole USD on Polymarket, contracts on Kalshi), lag
(int32, seconds from t to when the price was read; null = at t; files written before it have none).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from collector import clock, failpoints, platforms, wire
from collector.config import Config
from collector.errors import CollectorError
from collector.db import connect_reader, file_sha256

log = logging.getLogger("archiver")

DAY = 86400
SCHEMA = pa.schema([
    ("market_id", pa.string()), ("t", pa.timestamp("s", tz="UTC")), ("yes", pa.int32()), ("bid", pa.int32()),
    ("ask", pa.int32()), ("volume", pa.int64()), ("liquidity", pa.int64()), ("lag", pa.int32()),
])
_ROWS = """
SELECT m.market_id, s.t, s.yes, s.bid, s.ask, s.volume, s.liquidity, s.lag
  FROM snapshot s CROSS JOIN markets m ON m.id = s.market  -- CROSS JOIN: scan the t range first
 WHERE s.t >= ? AND s.t < ? AND m.platform = ?
 ORDER BY m.market_id, s.t
"""


def day_of(t: int) -> str:
    """The UTC day of unix time t, "YYYY-MM-DD": a partition's name (also exporter/book_archive.py)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


def partitions(db: sqlite3.Connection, before: int) -> list[tuple[str, int]]:
    """(platform, day start) of whole UTC days before ``before`` that still have live rows in SQLite."""
    days = db.execute(
        "SELECT DISTINCT platform, (t / ?) * ? FROM snapshot_cycles WHERE source = 'live' AND t < ? ORDER BY 2, 1",
        (DAY, DAY, before - before % DAY),
    ).fetchall()
    out = []
    for platform, start in days:
        if db.execute("SELECT 1 FROM snapshot s CROSS JOIN markets m ON m.id = s.market"
                      " WHERE s.t >= ? AND s.t < ? AND m.platform = ? LIMIT 1", (start, start + DAY, platform)).fetchone():
            out.append((platform, start))
    return out


def place(root: Path, kind: str, platform: str, start: int, write) -> tuple[str, str] | None:
    """Write one (platform, day) file of ``kind`` atomically: ``write(tmp)``, fsync, rename to
    ``kind/platform=…/date=…/part-<sha16>.parquet``. Returns (path under root, sha256).

    The path is built only from registered names (collector/platforms.py, a UTC date): a
    platform string from an old or tampered database never becomes a directory (None, logged).
    """
    if platform not in platforms.market_names():
        log.error("not archiving %s of unknown platform %r (not a registered name)", kind, platform[:80])
        return None
    rel_dir = Path(kind) / f"platform={platform}" / f"date={day_of(start)}"
    (root / rel_dir).mkdir(parents=True, exist_ok=True)
    tmp = root / rel_dir / f".tmp-{os.getpid()}.parquet"
    write(tmp)
    digest = file_sha256(tmp)
    final = root / rel_dir / f"part-{digest[:16]}.parquet"
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    failpoints.hit("archiver:after_write")
    return str(rel_dir / final.name), digest


def write_partition(db: sqlite3.Connection, root: Path, platform: str, start: int) -> wire.ArchiveCommit | None:
    """Write one (platform, day) file (``place``); returns the commit that asks the sink to delete its rows."""
    rows = db.execute(_ROWS, (start, start + DAY, platform)).fetchall()
    if not rows:
        return None
    cols = list(zip(*rows))
    table = pa.table([pa.array(cols[0], pa.string()), pa.array(cols[1], pa.int64()).cast(pa.timestamp("s", tz="UTC")),
                      *(pa.array(c, pa.int32()) for c in cols[2:5]), *(pa.array(c, pa.int64()) for c in cols[5:7]),
                      pa.array(cols[7], pa.int32())],
                     schema=SCHEMA)
    placed = place(root, "price_snapshots", platform, start, lambda tmp: pq.write_table(
        table, tmp, compression="zstd", compression_level=9, write_statistics=True, use_dictionary=["market_id"],
        row_group_size=1_000_000, column_encoding={c: "DELTA_BINARY_PACKED" for c in (
            "t", "yes", "bid", "ask", "volume", "liquidity", "lag")}))
    if placed is None:
        return None
    file, digest = placed

    def total(name: str) -> int:
        return int(pc.sum(table[name].cast(pa.int64())).as_py() or 0)

    return wire.ArchiveCommit(
        platform=platform, day=day_of(start), t_start=start, t_end=start + DAY, file=file,
        sha256=digest, rows=table.num_rows, markets=len(set(cols[0])), sum_t=sum(cols[1]),
        sum_yes=total("yes"), sum_bid=total("bid"), sum_ask=total("ask"), sum_volume=total("volume"),
        sum_liquidity=total("liquidity"),
    )


TIME_TEXT = ("end_date", "resolved_at", "created_at", "updated_at", "closed_at")  # ISO 8601 text in SQLite
TIME_REAL = ("first_seen_at", "observed_at", "status_observed_at")  # unix seconds in SQLite
BY_DECLARED_TYPE = {"INTEGER": pa.int64(), "REAL": pa.float64(), "TEXT": pa.string()}


def markets_schema(db: sqlite3.Connection) -> pa.Schema:
    """The archive's markets.parquet columns: every column of the markets table, typed as the export
    types them (times as UTC timestamps, outcomes as a list of labels), so one reader fits both."""
    from exporter.columns import TS

    fields = []
    for _, name, declared, *_ in db.execute("PRAGMA table_info(markets)"):
        if name in TIME_TEXT or name in TIME_REAL:
            typ = TS
        elif name == "outcomes":
            typ = pa.list_(pa.string())
        else:
            typ = BY_DECLARED_TYPE.get(declared.upper(), pa.string())
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def _markets_column(name: str, values: tuple, typ: pa.DataType) -> pa.Array:
    from exporter.catalog import iso_to_unix, outcomes_of

    if name in TIME_TEXT:
        return pa.array([iso_to_unix(v) for v in values], pa.int64()).cast(typ)
    if name in TIME_REAL:
        return pa.array([None if v is None else int(v) for v in values], pa.int64()).cast(typ)
    if name == "outcomes":
        return pa.array([outcomes_of(v) if v is not None else None for v in values], typ)
    return pa.array(values, typ)


def write_markets(db: sqlite3.Connection, root: Path) -> None:
    """The markets table (metadata and resolutions), a slowly changing table rewritten whole."""
    schema = markets_schema(db)
    rows = db.execute(f"SELECT {', '.join(schema.names)} FROM markets ORDER BY platform, market_id").fetchall()
    columns = list(zip(*rows)) if rows else [()] * len(schema.names)
    table = pa.Table.from_arrays([_markets_column(f.name, col, f.type) for f, col in zip(schema, columns)],
                                 schema=schema)
    (root / "markets").mkdir(parents=True, exist_ok=True)
    tmp = root / "markets" / f".tmp-{os.getpid()}.parquet"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, root / "markets" / "markets.parquet")


def write_manifest(db: sqlite3.Connection, root: Path) -> None:
    cur = db.execute("SELECT platform, day, file, t_start, t_end, rows, markets, sha256 FROM archived_partitions"
                     " ORDER BY platform, day, file")
    names = [d[0] for d in cur.description]
    files = [dict(zip(names, r)) for r in cur.fetchall()]
    tmp = root / f".manifest-{os.getpid()}.json"
    tmp.write_text(json.dumps({"files": files, "rows": sum(f["rows"] for f in files)}, indent=1, sort_keys=True))
    os.replace(tmp, root / "manifest.json")


def registered(cfg: Config, platform: str, file: str) -> bool:
    db = connect_reader(str(cfg.db_path))
    try:
        return db.execute("SELECT 1 FROM archived_partitions WHERE platform = ? AND file = ?",
                          (platform, file)).fetchone() is not None
    finally:
        db.close()


def run(cfg: Config, now: float | None = None, progress=None) -> dict[str, int]:
    """Archive every whole day older than the retention window; returns counts. Safe to rerun any time.

    ``progress``, if given, wraps the list of (platform, day) partitions to write (a progress bar);
    without it each partition is a log line."""
    from collector.sink_client import Publisher  # the sink's client; imported only when used

    if not cfg.db_path.exists():
        raise CollectorError(f"{cfg.db_path}: no collector database to archive")
    now = clock.now() if now is None else now
    root = cfg.archive_dir
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.rglob(".tmp-*.parquet"):  # a crash mid-write leaves these; never registered
        stale.unlink(missing_ok=True)
    cutoff = int(now - cfg.archive.retention_days * DAY)
    counts = {"partitions": 0, "rows": 0, "refused": 0, "book_partitions": 0, "books": 0}
    db = connect_reader(str(cfg.db_path))
    origin = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    pub = Publisher(cfg.sink_endpoint, f"archiver-{os.getpid()}", origin[0] if origin else platforms.data_origin(cfg, "polymarket"),
                    cfg, log)
    sent: list[wire.ArchiveCommit] = []
    try:
        todo = partitions(db, cutoff)
        log.info("%d partitions older than %s to archive", len(todo), day_of(cutoff))
        for platform, start in (progress(todo) if progress else todo):
            if not progress:
                log.info("writing %s %s", platform, day_of(start))
            db.execute("BEGIN")  # one consistent read of the partition
            try:
                commit = write_partition(db, root, platform, start)
            finally:
                db.execute("COMMIT")
            if commit is not None:
                pub.publish(commit)  # goes out with the next batch; verified by the sink one by one
                sent.append(commit)
        sent += _archive_books(db, root, cutoff, pub)
        pub.flush_and_wait()
        failpoints.hit("archiver:after_ack")
        for commit in sent:
            books = isinstance(commit, wire.BookArchiveCommit)
            if books and _book_registered(cfg, commit):
                counts["book_partitions"] += 1
                counts["books"] += commit.rows
                log.info("archived %s %s: %d order books -> %s", commit.platform, commit.day, commit.rows, commit.file)
            elif not books and registered(cfg, commit.platform, commit.file):
                counts["partitions"] += 1
                counts["rows"] += commit.rows
                log.info("archived %s %s: %d rows -> %s", commit.platform, commit.day, commit.rows, commit.file)
            else:
                counts["refused"] += 1
                log.error("the sink refused %s %s (see the sink log); rows stay in SQLite, will retry",
                          commit.platform, commit.day)
                (root / commit.file).unlink(missing_ok=True)
        write_markets(db, root)
        write_manifest(db, root)
        pub.publish(wire.PhaseReport(job_id=f"archive-{uuid.uuid4().hex}", platform="all", phase="archive",
                                     started_at=now, finished_at=clock.now(), ok=not counts["refused"],
                                     records=counts["rows"], errors=counts["refused"],
                                     message=f"{counts['partitions']} partitions, {counts['rows']} snapshots"))
        pub.flush_and_wait()
    finally:
        pub.close()
        db.close()
    return counts


def _archive_books(db: sqlite3.Connection, root: Path, cutoff: int, pub) -> list:
    """Order books of the same whole days (exporter/book_archive.py); returns the commits sent."""
    from exporter import book_archive

    sent = []
    for platform, start in book_archive.partitions(db, cutoff):
        db.execute("BEGIN")
        try:
            commit = book_archive.write_partition(db, root, platform, start)
        finally:
            db.execute("COMMIT")
        if commit is not None:
            pub.publish(commit)
            sent.append(commit)
    return sent


def _book_registered(cfg: Config, commit) -> bool:
    from exporter import book_archive

    db = connect_reader(str(cfg.db_path))
    try:
        return book_archive.registered(db, commit.platform, commit.file)
    finally:
        db.close()


def registered_files(db_or_path, root: Path) -> list[tuple[str, str]]:
    """(platform, absolute path) of every registered archive file, for readers of both stores."""
    db = db_or_path if isinstance(db_or_path, sqlite3.Connection) else connect_reader(str(db_or_path))
    try:
        try:
            rows = db.execute("SELECT platform, file FROM archived_partitions ORDER BY platform, file").fetchall()
        except sqlite3.OperationalError:  # a database from before migration 003
            return []
    finally:
        if db is not db_or_path:
            db.close()
    return [(p, str(root / f)) for p, f in rows]


def main_log_line(counts: dict[str, int], took: float) -> str:
    books = f", {counts['books']} order books in {counts['book_partitions']} partitions" if counts.get("books") else ""
    return (f"archived {counts['partitions']} partitions, {counts['rows']} snapshots{books} "
            f"({counts['refused']} refused) in {took:.1f} s")


if __name__ == "__main__":  # pragma: no cover - `collector archive` is the front end
    import sys

    from collector import config as config_mod

    started = time.monotonic()
    cfg = config_mod.load(sys.argv[1] if len(sys.argv) > 1 else None)
    clock.configure(cfg)
    print(main_log_line(run(cfg), time.monotonic() - started))
