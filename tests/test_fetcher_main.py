"""The `fetcher` process contract: --once, a missing sink, mixed sources, scheduler jobs, SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
import uuid

import pytest
import zmq

from collector import clock, wire
from simulator import server
from sink import schema
from tests.conftest import script, start_sink, wait_for
from tests.polymarket_helpers import fetch, sim_config

pytestmark = pytest.mark.timeout(120)


def test_help_and_bad_config(tmp_path):
    r = subprocess.run([script("fetcher"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--once" in r.stdout and "Example" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[general]\nno_such_key = 1\n")
    r = subprocess.run([script("fetcher"), "--config", str(bad), "--platform", "polymarket", "--once", "discover"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("Error:") and "no_such_key" in r.stderr


def test_once_without_a_sink_fails_naming_the_endpoint(tmp_path):
    with server.start(seed=3, markets=50, speed=0) as sim:
        cfg = sim_config(tmp_path, sim, zmq={"sink_wait_seconds": 1.0})
        t0 = time.monotonic()
        r = fetch(cfg, "snapshot", timeout=30)
    assert r.returncode == 3, r.stderr
    assert "no sink acknowledged" in r.stderr and str(tmp_path / "sink.ipc") in r.stderr
    assert time.monotonic() - t0 < 15


@pytest.mark.slow
def test_backfill_without_a_sink_exits_3_naming_the_socket(tmp_path):
    with server.start(seed=3, markets=50, speed=3600 * 24 * 30) as sim:
        cfg = sim_config(tmp_path, sim, zmq={"sink_wait_seconds": 2.0})
        r = subprocess.run([script("fetcher"), "--config", str(cfg), "--platform", "polymarket", "--backfill"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert "sink.ipc" in r.stderr


def test_simulator_data_never_goes_into_a_live_database(tmp_path):
    db = schema.connect_writer(str(tmp_path / "collector.db"))
    schema.migrate(db)
    db.execute("INSERT INTO meta(key, value) VALUES ('source', 'live')")
    db.close()
    with server.start(seed=3, markets=50, speed=0) as sim:
        r = fetch(sim_config(tmp_path, sim), "discover", timeout=30)
    assert r.returncode == 2 and "never mix" in r.stderr


class StandInScheduler:
    """The scheduler's side of the conversation: a ROUTER bound where the fetcher connects."""

    def __init__(self, endpoint: str):
        self.sock = zmq.Context.instance().socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(endpoint)
        self.peer = None

    def recv(self, timeout: float = 20.0):
        if not self.sock.poll(int(timeout * 1000)):
            raise AssertionError("nothing from the fetcher")
        self.peer, frame = self.sock.recv_multipart()
        return wire.decode(frame)

    def until(self, kind, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.recv(deadline - time.monotonic())
            if isinstance(msg, kind):
                return msg
        raise AssertionError(f"no {kind.__name__}")

    def job(self, phase: str, platform: str = "polymarket") -> str:
        job_id = uuid.uuid4().hex
        now = clock.now()
        self.sock.send_multipart([self.peer, wire.encode(wire.Job(
            job_id=job_id, platform=platform, phase=phase, grid_time=clock.grid_floor(now, 900),
            deadline=now + 1e9))])
        return job_id


@pytest.mark.slow
def test_serves_jobs_from_the_scheduler_and_stops_cleanly(tmp_path, procs):
    with server.start(seed=3, markets=3000, speed=0, faults="latency=150ms") as sim:
        cfg = sim_config(tmp_path, sim, scheduler={"heartbeat_seconds": 0.5})
        start_sink(procs, tmp_path, cfg)
        sched = StandInScheduler(f"ipc://{tmp_path / 'scheduler.ipc'}")
        fetcher = procs.start([script("fetcher"), "--config", str(cfg), "--platform", "polymarket"],
                              tmp_path / "fetcher.log")
        hb = sched.until(wire.Heartbeat)
        assert (hb.platform, hb.busy_job) == ("polymarket", "")
        job = sched.job("discover")
        busy = sched.until(wire.Heartbeat)
        assert busy.busy_job == job
        sched.job("snapshot")  # a second job while one runs is ignored
        done = sched.until(wire.JobDone)
        assert done.report.job_id == job and done.report.ok and done.report.records > 100
        job2 = sched.job("snapshot")
        done2 = sched.until(wire.JobDone)
        assert done2.report.job_id == job2 and done2.report.grid_time % 900 == 0
        # SIGTERM in the middle of a slow discover: the phase stops at a page boundary
        (tmp_path / "polymarket-state.json").unlink()  # forces the full (slow) sweep again
        job3 = sched.job("discover")
        wait_for(lambda: "job " + job3 in fetcher.output(), 10, what="job accepted")
        time.sleep(0.5)
        fetcher.signal(signal.SIGTERM)
        done3 = sched.until(wire.JobDone)
        assert done3.report.job_id == job3 and not done3.report.ok and done3.report.message == "interrupted"
        assert fetcher.p.wait(60) == 0
        sched.sock.close()
    db = sqlite3.connect(tmp_path / "collector.db")
    runs = dict(db.execute("SELECT job_id, message FROM phase_runs").fetchall())
    assert runs[job] == "" and runs[job3] == "interrupted" and job2 in runs
    assert "ignored job" in fetcher.output()
