"""The daily archive run, started by the scheduler as a child process when `[scheduler] archive_enabled`.

Like the fetchers' phases, whether it ran today is read from the sink's phase_runs table (the
archiver reports phase 'archive' there), so a restarted scheduler neither skips nor repeats a day.
The child is `python -m exporter.archive CONFIG`; the scheduler only starts and reaps it.
"""

from __future__ import annotations

import logging
import subprocess
import sys

from collector import clock
from collector.config import Config
from collector.db import connect_reader

log = logging.getLogger("scheduler.all.archive")

DAY_S = 86400


class ArchiveJob:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.child: subprocess.Popen | None = None

    def last_run(self) -> float | None:
        if not self.cfg.db_path.exists():
            return None
        db = connect_reader(str(self.cfg.db_path))
        try:
            row = db.execute("SELECT max(started_at) FROM phase_runs WHERE phase = 'archive' AND ok = 1").fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def tick(self) -> None:
        """Reap a finished child; start one when today's run has not happened yet."""
        if not self.cfg.scheduler.archive_enabled:
            return
        if self.child is not None:
            code = self.child.poll()
            if code is None:
                return
            (log.info if code == 0 else log.error)("archive run exited with %d", code)
            self.child = None
        today = clock.grid_floor(clock.now(), DAY_S)
        last = self.last_run()
        if last is not None and last >= today:
            return
        args = [sys.executable, "-m", "exporter.archive"]
        if self.cfg.source_path != "<defaults>":
            args.append(self.cfg.source_path)
        log.info("starting the daily archive run")
        self.child = subprocess.Popen(args)

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
