"""What has run, read from the sink's phase_runs table (read-only, short statements).

The scheduler trusts the database rather than its memory, so a restarted scheduler carries on
where the last one stopped. The database may not exist yet (first start, sink not up): then
nothing has run. Any SQLite error (the sink migrating, a locked file) is logged at debug level
and treated as "nothing new"; the next refresh tries again.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Iterable, NamedTuple

from collector.db import connect_reader

log = logging.getLogger("scheduler.history")

MAX_IDS_PER_QUERY = 500  # stays far below SQLite's bound-parameter limit


class Run(NamedTuple):
    job_id: str
    platform: str
    phase: str
    grid_time: int | None
    started_at: float
    finished_at: float
    ok: bool
    records: int
    errors: int
    message: str


_COLUMNS = "job_id, platform, phase, grid_time, started_at, finished_at, ok, records, errors, message"


class History:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self.db is None and self.db_path.exists():
            try:
                self.db = connect_reader(str(self.db_path))
            except sqlite3.Error as exc:
                log.debug("cannot open %s yet: %s", self.db_path, exc)
        return self.db

    def _query(self, sql: str, params: Iterable = ()) -> list[Run]:
        db = self._connect()
        if db is None:
            return []
        try:
            return [Run(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9])
                    for r in db.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:  # not migrated yet, locked, replaced: retry on the next refresh
            log.debug("phase_runs not readable yet: %s", exc)
            self.close()
            return []

    def last_runs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Run]:
        """The newest finished run of each (platform, phase), one index lookup each."""
        found = {}
        for platform, phase in keys:
            rows = self._query(f"SELECT {_COLUMNS} FROM phase_runs WHERE platform = ? AND phase = ? "
                               "ORDER BY finished_at DESC LIMIT 1", (platform, phase))
            if rows:
                found[(platform, phase)] = rows[0]
        return found

    def finished(self, job_ids: list[str]) -> list[Run]:
        """Rows of the given jobs that the sink has stored (a JobDone may have been lost)."""
        runs: list[Run] = []
        for i in range(0, len(job_ids), MAX_IDS_PER_QUERY):
            chunk = job_ids[i:i + MAX_IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            runs += self._query(f"SELECT {_COLUMNS} FROM phase_runs WHERE job_id IN ({marks})", chunk)
        return runs

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
