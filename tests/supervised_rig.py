"""The supervised stack: supervisord on the bundled supervisord.conf, every program against the
simulator, with its own data dir and config in tmp (tests/test_supervisord.py, test_doctor.py,
test_status_verdict.py). The fixtures ``sim_now`` and ``supervised`` are in conftest.py; a module
using them sets ``pytestmark = SUPERVISED_MARKS``.
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO

CONF = REPO / "supervisord.conf"
PROGRAMS = ("sink", "scheduler", "fetcher-polymarket", "fetcher-kalshi")


def _missing_entry_points() -> str | None:
    """Why the pipeline cannot run yet (a console script's module fails to import), or None."""
    for module in ("sink.main", "scheduler.main", "fetchers.main", "fetchers.polymarket", "fetchers.kalshi",
                   "simulator.server"):
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any import failure means "not there yet"
            return f"{module} does not import yet ({exc.__class__.__name__}: {exc})"
    return None


# Marks of every module that runs the supervised stack: slow, a long timeout, skipped while a
# program cannot start.
SUPERVISED_MARKS = [pytest.mark.timeout(240), pytest.mark.slow,
                    pytest.mark.skipif(_missing_entry_points() is not None, reason=str(_missing_entry_points()))]


class Supervised:
    """supervisord on the bundled config, with its own data dir and config in tmp."""

    def __init__(self, tmp: Path, sim, *, discover=0.1, snapshot=0.1, resolve=0.2, silent=3.0):
        self.data = tmp / "data"
        self.data.mkdir()
        self.cfg = tmp / "config.toml"
        self.cfg.write_text(f"""
[general]
db_path = "{self.data / 'collector.db'}"
poll_interval_minutes = {discover}
snapshot_interval_minutes = {snapshot}
resolve_interval_minutes = {resolve}
[scheduler]
heartbeat_seconds = 0.5
fetcher_silent_seconds = {silent}
[sink]
flush_interval_seconds = 0.2
min_free_disk_mb = 10
[zmq]
sink_wait_seconds = 10
[polymarket]
base_url = "{sim.clob_url}"
gamma_url = "{sim.gamma_url}"
requests_per_second = 200
[kalshi]
base_url = "{sim.kalshi_url}"
requests_per_second = 200
""")
        self.env = dict(os.environ, COLLECTOR_CONFIG=str(self.cfg), COLLECTOR_DATA=str(self.data))
        subprocess.run([str(BIN / "supervisord"), "-c", str(CONF)], env=self.env, check=True, timeout=30)

    def ctl(self, *args: str) -> str:
        proc = subprocess.run([str(BIN / "supervisorctl"), "-c", str(CONF), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)
        return proc.stdout

    def states(self) -> dict[str, str]:
        return dict(re.findall(r"^(\S+)\s+(\S+)", self.ctl("status"), re.M))

    def wait_states(self, want: str, programs=PROGRAMS, timeout=30.0) -> dict[str, str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            states = self.states()
            if all(states.get(p) == want for p in programs):
                return states
            time.sleep(0.3)
        raise AssertionError(f"not all {want}: {self.states()}\n{self.logs()}")

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data / 'collector.db'}?mode=ro", uri=True, timeout=10)

    def query(self, sql: str, params=()) -> list[tuple]:
        db = self.db()
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.data.glob("*.log"))

    def shutdown(self) -> None:
        self.ctl("shutdown")
        pidfile = self.data / "supervisord.pid"
        end = time.monotonic() + 60
        while pidfile.exists() and time.monotonic() < end:
            time.sleep(0.2)
        if pidfile.exists():  # still up: end it (and its children) for real
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
