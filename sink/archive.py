"""The sink's half of archiving: verify, then delete exactly the archived rows, in one transaction.

The archiver (exporter/archive.py) writes a Parquet file from a read-only view and sends an
ArchiveCommit naming it. Here the sink checks that the file on disk has the sha256 the commit
claims and that the rows it would delete have exactly the commit's count and column sums; only
then does it delete them and register the file, in the same transaction as the rest of the batch.
A crash before the commit leaves the rows in SQLite (the file is an unregistered orphan that
readers ignore); after it, the rows live only in the registered file.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from collector import failpoints
from collector.db import file_sha256
from collector.wire import ArchiveCommit

log = logging.getLogger("sink.archive")

_RANGE = "s.t >= ? AND s.t < ? AND s.market IN (SELECT id FROM markets WHERE platform = ?)"
_AGGREGATES = f"""
SELECT count(*), count(DISTINCT s.market), coalesce(sum(s.t), 0), coalesce(sum(s.yes), 0),
       coalesce(sum(s.bid), 0), coalesce(sum(s.ask), 0), coalesce(sum(s.volume), 0),
       coalesce(sum(s.liquidity), 0)
  FROM snapshot s WHERE {_RANGE}
"""


def check_file(archive_dir: Path, file: str, sha256: str) -> str | None:
    """Why the file a commit names cannot be trusted (outside the archive, unreadable, other bytes), or None."""
    path = (archive_dir / file).resolve()
    if archive_dir.resolve() not in path.parents:
        return f"{file}: outside the archive directory"
    try:
        digest = file_sha256(path)
    except OSError as exc:
        return f"{file}: unreadable: {exc}"
    if digest != sha256:
        return f"{file}: sha256 {digest[:12]} != manifest {sha256[:12]}"
    return None


def apply_commit(db: sqlite3.Connection, archive_dir: Path, c: ArchiveCommit, now: float) -> str | None:
    """Delete and register inside the caller's transaction; returns why it refused, or None."""
    if db.execute("SELECT 1 FROM archived_partitions WHERE platform = ? AND file = ?", (c.platform, c.file)).fetchone():
        return None  # a replayed commit: already done
    why = check_file(archive_dir, c.file, c.sha256)
    if why:
        return why
    have = db.execute(_AGGREGATES, (c.t_start, c.t_end, c.platform)).fetchone()
    want = (c.rows, c.markets, c.sum_t, c.sum_yes, c.sum_bid, c.sum_ask, c.sum_volume, c.sum_liquidity)
    if tuple(have) != want:
        return f"{c.platform} {c.day}: rows in SQLite {tuple(have)} differ from the file's {want}"
    deleted = db.execute(f"DELETE FROM snapshot AS s WHERE {_RANGE}", (c.t_start, c.t_end, c.platform)).rowcount
    failpoints.hit("sink:archive_delete")
    db.execute(
        "INSERT INTO archived_partitions (platform, day, file, t_start, t_end, rows, markets, sha256, archived_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.platform, c.day, c.file, c.t_start, c.t_end, c.rows, c.markets, c.sha256, now),
    )
    log.info("archived %s %s: %d rows moved to %s", c.platform, c.day, deleted, c.file)
    return None
