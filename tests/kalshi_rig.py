"""The Kalshi rig: one simulator (clock frozen, jumped forward by the test), one real sink, and
`fetcher --once` runs against them, each with a config whose clock reads the simulator's time
(tests/test_kalshi_sim.py, test_labels_kalshi.py). The fixture ``kalshi_rig`` is in conftest.py.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from simulator import server as simulator
from tests.conftest import query, script, start_sink

DAY = 86400
FETCH_TIMEOUT_S = 120


class Rig:
    """One simulator, one sink, and `fetcher --once` runs against them."""

    def __init__(self, procs, tmp: Path, markets: int, faults: str = "", legacy: bool = False,
                 start: str | None = None, page_size: int = 1000):
        self.tmp, self.page_size = tmp, page_size
        self.sim = simulator.start(seed=7, markets=markets, speed=0, faults=faults, legacy_cents=legacy,
                                   start=start)
        self.db_path = tmp / "collector.db"
        self.runs = 0
        self.sink = start_sink(procs, tmp, self.config())

    def config(self) -> Path:
        self.runs += 1
        path = self.tmp / f"config-{self.runs}.toml"
        path.write_text(
            f'[general]\ndb_path = "{self.db_path}"\nlog_level = "INFO"\n'
            f"[clock]\nspeed = 1e-9\nsim_origin = {self.sim.now()!r}\nreal_origin = {time.time()!r}\n"
            f'[kalshi]\nbase_url = "{self.sim.kalshi_url}"\nrequests_per_second = 15.0\nmax_retries = 8\n'
            f"page_size = {self.page_size}\n"
            "[zmq]\nsink_wait_seconds = 60.0\nack_timeout_seconds = 5.0\n"
            "[sink]\nflush_interval_seconds = 0.1\nmin_free_disk_mb = 1\n"
        )
        return path

    def fetch(self, phase: str) -> str:
        cfg = self.config()
        p = subprocess.run([script("fetcher"), "--config", str(cfg), "--platform", "kalshi", "--once", phase],
                           capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
        out = p.stdout + p.stderr
        (self.tmp / f"fetch-{self.runs}-{phase}.log").write_text(out)
        assert p.returncode == 0, out
        return out

    def cycle(self, *phases: str) -> None:
        for phase in phases:
            self.fetch(phase)

    def query(self, sql: str, args=()) -> list:
        return query(self.db_path, sql, args)

    def close(self) -> None:
        self.sink.stop()
        self.sim.stop()
