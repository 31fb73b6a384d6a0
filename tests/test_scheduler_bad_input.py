"""The scheduler survives any frame: opaque identities, NaN fields, oversized and garbage frames (issue 17).

Real scheduler process, real ZeroMQ ROUTER/DEALER sockets over loopback TCP.
"""

from __future__ import annotations

import time

import msgspec
import pytest
import zmq

from collector import wire
from tests.scheduler_rig import FakeFetcher, SchedulerProc, scheduler_config

pytestmark = pytest.mark.timeout(120)


def raw_dealer(zmq_ctx, endpoint, identity: bytes):
    s = zmq_ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.IDENTITY, identity)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


@pytest.mark.slow
def test_bad_identities_nan_reports_and_huge_frames_do_not_stop_scheduling(tmp_path, zmq_ctx, schedulers):
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5, silent=3.0)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    evil = raw_dealer(zmq_ctx, endpoint, b"\xff\xfe-not-utf8")
    try:
        evil.send(wire.encode(wire.Heartbeat(sender="evil", platform="polymarket")))
        time.sleep(1.5)  # it is the only fetcher: it gets a job, so its identity is used as a key
        assert evil.poll(3000), "the non-UTF-8 fetcher was never sent a job"
        job = wire.decode(evil.recv())
        nan_report = wire.PhaseReport(job_id=job.job_id, platform="polymarket", phase=job.phase,
                                      started_at=float("nan"), finished_at=float("inf"), ok=True)
        evil.send(wire.encode(wire.JobDone(report=nan_report)))
        evil.send(wire.encode(wire.Heartbeat(sender="evil", platform="polymarket", busy_job="x" * 100_000)))
        evil.send(msgspec.msgpack.encode({"type": "done", "v": 1, "report": {"started_at": "nan"}}))
        evil.send(b"\x00" * (wire.MAX_FRAME_BYTES + 1))
        evil.send_multipart([b"a", b"b", b"c"])
        time.sleep(1.0)
        assert sched.proc.poll() is None, sched.log()
    finally:
        evil.close()
    # an honest fetcher gets every phase (discover once the silent evil one is released)
    fetcher = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    try:
        fetcher.pump(25.0, until=lambda f: {j.phase for _, j in f.jobs} >= {"discover", "snapshot", "resolve"})
    finally:
        fetcher.close()
    assert {j.phase for _, j in fetcher.jobs} >= {"discover", "snapshot", "resolve"}, sched.log()
    assert sched.proc.poll() is None
    log = sched.log()
    assert "Traceback" not in log
    assert "rejected JobDone" in log and "started_at/finished_at" in log
