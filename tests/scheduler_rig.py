"""The scheduler rig: a real `scheduler` process and fake fetchers made of real ZeroMQ DEALERs
(tests/test_scheduler_process.py, test_scheduler_bad_input.py, test_fuzz_sockets.py). The fixtures
``zmq_ctx`` and ``schedulers`` are in conftest.py.

The fake fetcher behaves like fetchers/serve.py from the scheduler's side: it says hello with a
Heartbeat, beats every `heartbeat_seconds` with its busy job, runs one job at a time and answers
JobDone.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import zmq

from collector import clock, wire
from tests.conftest import free_port, script

HEARTBEAT_S = 0.3


def scheduler_config(tmp: Path, *, discover=0.05, snapshot=0.05, resolve=0.1, deadline=20.0,
                     silent=30.0, kalshi=False) -> tuple[Path, str]:
    """A scheduler config in tmp (intervals in minutes, TCP endpoints on free ports) and the endpoint
    fetchers connect to."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    path = tmp / "config.toml"
    path.write_text(f"""
[general]
db_path = "{tmp / 'collector.db'}"
poll_interval_minutes = {discover}
snapshot_interval_minutes = {snapshot}
resolve_interval_minutes = {resolve}
log_level = "DEBUG"
[zmq]
scheduler_endpoint = "{endpoint}"
sink_endpoint = "tcp://127.0.0.1:{free_port()}"
[scheduler]
heartbeat_seconds = {HEARTBEAT_S}
fetcher_silent_seconds = {silent}
job_deadline_minutes = {deadline}
[kalshi]
enabled = {str(kalshi).lower()}
""")
    return path, endpoint


class SchedulerProc:
    """A real `scheduler` process, its stderr in tmp/<name>.log."""

    def __init__(self, cfg: Path, tmp: Path, name="scheduler"):
        self.log_path = tmp / f"{name}.log"
        self.proc = subprocess.Popen([script("scheduler"), "--config", str(cfg)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class FakeFetcher:
    """Serial like the real one: a Job arriving while another runs is ignored (and recorded)."""

    def __init__(self, ctx, endpoint, platform="polymarket", work=0.2, answer=True):
        self.ident = f"fetcher-{platform}-test-{uuid.uuid4().hex[:6]}"
        self.platform, self.work, self.answer = platform, work, answer
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, self.ident.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.jobs: list[tuple[float, wire.Job]] = []  # (clock time received, job)
        self.refused: list[wire.Job] = []
        self.busy: wire.Job | None = None
        self.done_at = 0.0
        self.beat_at = 0.0
        self.beating = True

    def beat(self):
        busy = self.busy.job_id if self.busy else ""
        self.sock.send(wire.encode(wire.Heartbeat(sender=self.ident, platform=self.platform, busy_job=busy)))
        self.beat_at = time.monotonic() + HEARTBEAT_S

    def pump(self, seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.beating and time.monotonic() >= self.beat_at:
                self.beat()
            if self.sock.poll(20):
                msg = wire.decode(self.sock.recv())
                assert isinstance(msg, wire.Job)
                if self.busy is not None:
                    self.refused.append(msg)
                else:
                    self.jobs.append((clock.now(), msg))
                    self.busy, self.done_at = msg, time.monotonic() + self.work
                    if self.beating:
                        self.beat()
            if self.busy is not None and self.answer and time.monotonic() >= self.done_at:
                self.finish()
            if until is not None and until(self):
                return

    def finish(self) -> wire.PhaseReport:
        job, self.busy = self.busy, None
        report = wire.PhaseReport(job_id=job.job_id, platform=job.platform, phase=job.phase,
                                  started_at=clock.now() - self.work, finished_at=clock.now(), ok=True,
                                  grid_time=job.grid_time, records=5)
        self.sock.send(wire.encode(wire.JobDone(report=report)))
        return report

    def phases(self, phase):
        return [job for _, job in self.jobs if job.phase == phase]

    def close(self):
        self.sock.close(0)
