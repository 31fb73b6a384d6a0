"""collector.db as every process but the sink sees it: read-only, and recognisably ours.

The sink (sink/schema.py) is the only writer and owns the tables; everyone else (fetchers, the
scheduler, `collector status`, the exporter and archiver) opens the file through
``connect_reader`` and reads the documented views. This module is the shared ground both sides
import, so no reader ever imports the sink (tests/test_layering.py enforces it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from collector.errors import DatabaseError

APPLICATION_ID = 0x504D4331  # "PMC1": marks a file as ours; anything else is refused
BUSY_TIMEOUT_MS = 10_000  # a reader waits this long for the sink's write lock


def connect_reader(path: str) -> sqlite3.Connection:
    """Read-only connection for everyone but the sink (fetchers, scheduler, status, exporter)."""
    uri = f"file:{path}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = 1")
    return db


def check_ours(db: sqlite3.Connection, path: str) -> None:
    """Refuse a file that is not a collector database (another app's, or not SQLite at all)."""
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: not a SQLite database ({exc})") from None
    if app_id == 0 and tables == 0:
        return  # a new, empty file: ours to initialise
    if app_id != APPLICATION_ID:
        raise DatabaseError(
            f"{path}: not a polymaster-collector database (application_id {app_id:#x}); "
            "refusing to write to it"
        )


def file_sha256(path: Path) -> str:
    """An archive file's digest: the archiver writes it into its commit, the sink checks it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
