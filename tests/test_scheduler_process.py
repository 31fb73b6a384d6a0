"""A real `scheduler` process on a real socket, with fake fetchers made of real ZeroMQ DEALERs.

The fake fetcher (tests/scheduler_rig.py) behaves like fetchers/serve.py from the scheduler's side.
What the scheduler knows of past runs comes from a real collector.db built with
sink.schema (phase_runs rows inserted as fixtures), exactly as the sink would store them.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from collector import clock, wire
from sink import schema
from tests.conftest import wait_for
from tests.scheduler_rig import FakeFetcher, SchedulerProc, scheduler_config

pytestmark = pytest.mark.timeout(90)


def make_db(tmp: Path, runs: list[tuple[str, str, int]]) -> None:
    """collector.db as the sink leaves it, with the given (platform, phase, grid_time) runs stored."""
    db = schema.connect_writer(str(tmp / "collector.db"))
    schema.migrate(db)
    for platform, phase, grid_time in runs:
        db.execute("INSERT INTO phase_runs VALUES (?,?,?,?,?,?,1,3,0,7,0,0,'')",
                   (uuid.uuid4().hex, platform, phase, grid_time, grid_time + 1.0, grid_time + 2.0))
    db.close()


def wait_until_slot_has(seconds_left: float, interval: float) -> None:
    """Sleep past a grid boundary if fewer than seconds_left remain in the current slot."""
    left = interval - (time.time() % interval)
    if left < seconds_left:
        time.sleep(left + 0.05)


@pytest.mark.slow
def test_phases_run_on_their_grid_one_at_a_time(tmp_path, zmq_ctx, schedulers):
    cfg, endpoint = scheduler_config(tmp_path, discover=0.05, snapshot=0.05, resolve=0.1)  # 3 s, 3 s, 6 s
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    fetcher = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    try:
        fetcher.pump(13.0)
    finally:
        fetcher.close()
    assert fetcher.refused == []  # never a job while one runs
    assert fetcher.jobs[0][1].phase == "discover"  # nothing to snapshot before the first discover
    for phase, interval in (("snapshot", 3), ("discover", 3), ("resolve", 6)):
        runs = [(t, job) for t, job in fetcher.jobs if job.phase == phase]
        grids = [job.grid_time for _, job in runs]
        assert grids == sorted(set(grids)), f"{phase}: duplicate or out-of-order slots {grids}"
        assert all(g % interval == 0 for g in grids)
        assert len(grids) >= 13 // interval - 1, f"{phase} ran {len(grids)} times in 13 s"
        assert all(b - a == interval for a, b in zip(grids[1:], grids[2:])), f"{phase}: skipped a slot {grids}"
        for received, job in runs[1:]:  # on time: sent within a second of its slot
            assert 0 <= received - job.grid_time < 1.0, (phase, received - job.grid_time)
            assert job.deadline - job.grid_time <= 2 * interval + 1  # deadline scaled to the interval
    log = sched.log()
    assert "scheduler.polymarket.snapshot" in log and "scheduler.polymarket.discover" in log
    assert sched.stop() == 0


def test_sigterm_exits_zero_promptly(tmp_path, schedulers):
    cfg, _ = scheduler_config(tmp_path)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    # up, not just started: a SIGTERM during its imports (seconds under load) is not the case tested
    wait_for(lambda: "scheduler listening" in sched.log(), what="scheduler listening")
    started = time.monotonic()
    assert sched.stop() == 0
    assert time.monotonic() - started < 2.5
    assert "scheduler stopped" in sched.log()


@pytest.mark.slow
def test_catch_up_runs_each_overdue_phase_once(tmp_path, zmq_ctx, schedulers):
    """Stored runs from an hour ago (12 missed cycles): one run of each phase, for the current slot."""
    interval = 300
    wait_until_slot_has(15, interval)
    slot = clock.grid_floor(time.time(), interval)
    make_db(tmp_path, [("polymarket", ph, slot - 12 * interval) for ph in ("discover", "snapshot", "resolve")])
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    fetcher = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    try:
        fetcher.pump(6.0)
    finally:
        fetcher.close()
    phases = [job.phase for _, job in fetcher.jobs]
    assert sorted(phases) == ["discover", "resolve", "snapshot"], phases
    assert phases[0] == "snapshot"  # the dataset's grid goes first once markets exist
    assert all(job.grid_time == slot for _, job in fetcher.jobs)
    assert "catching up once; 11 cycle(s) missed" in sched.log()


def test_restart_with_current_runs_stored_sends_nothing(tmp_path, zmq_ctx, schedulers):
    interval = 300
    wait_until_slot_has(10, interval)
    slot = clock.grid_floor(time.time(), interval)
    make_db(tmp_path, [("polymarket", ph, slot) for ph in ("discover", "snapshot", "resolve")])
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5)
    schedulers.append(SchedulerProc(cfg, tmp_path))
    fetcher = FakeFetcher(zmq_ctx, endpoint)
    try:
        fetcher.pump(3.0)
    finally:
        fetcher.close()
    assert fetcher.jobs == []


@pytest.mark.slow
def test_jobs_wait_for_a_fetcher_then_run_once(tmp_path, zmq_ctx, schedulers):
    interval = 300
    wait_until_slot_has(15, interval)
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    time.sleep(3.0)  # due work and no fetcher: nothing lost, nothing piled up
    assert "waiting: the polymarket fetcher is not connected" in sched.log()
    fetcher = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    try:
        fetcher.pump(4.0)
    finally:
        fetcher.close()
    assert [job.phase for _, job in fetcher.jobs] == ["discover", "snapshot", "resolve"]
    assert fetcher.refused == []


def test_job_past_deadline_is_reissued_to_another_fetcher(tmp_path, zmq_ctx, schedulers):
    """Fetcher A takes the job and hangs without a word; after the deadline B gets it again."""
    cfg, endpoint = scheduler_config(tmp_path, discover=0.2, snapshot=0.2, resolve=0.2, deadline=0.05)  # 3 s
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    a = FakeFetcher(zmq_ctx, endpoint, answer=False)
    b = None
    try:
        a.pump(3.0, until=lambda f: f.jobs)
        assert [job.phase for _, job in a.jobs] == ["discover"]
        a.beating = False  # hung hard: no heartbeats either (silence threshold is 30 s here)
        sent = time.monotonic()
        b = FakeFetcher(zmq_ctx, endpoint, work=0.1)
        b.pump(6.0, until=lambda f: f.jobs)
        waited = time.monotonic() - sent
    finally:
        a.close()
        if b:
            b.close()
    assert [job.phase for _, job in b.jobs] == ["discover"], b.jobs
    first, again = a.jobs[0][1], b.jobs[0][1]
    assert again.job_id != first.job_id
    assert 2.0 <= waited <= 5.0, waited
    assert "not done by its deadline" in sched.log()


@pytest.mark.slow
def test_silent_fetcher_is_reported_and_its_job_goes_to_the_restarted_one(tmp_path, zmq_ctx, schedulers):
    wait_until_slot_has(20, 60)  # the re-sent job is this slot's: a minute boundary would supersede it
    cfg, endpoint = scheduler_config(tmp_path, discover=1, snapshot=1, resolve=1, silent=1.5)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    a = FakeFetcher(zmq_ctx, endpoint, answer=False)
    try:
        a.pump(3.0, until=lambda f: f.jobs)
    finally:
        a.close()  # killed mid-phase
    b = FakeFetcher(zmq_ctx, endpoint, work=0.1)  # supervisord restarts it under a new identity
    try:
        b.pump(5.0, until=lambda f: f.jobs)
    finally:
        b.close()
    assert a.jobs and b.jobs
    first, again = a.jobs[0][1], b.jobs[0][1]
    assert (again.phase, again.grid_time) == (first.phase, first.grid_time)
    assert "is DOWN: no heartbeat" in sched.log()


def test_idle_fetcher_that_never_took_the_job_gets_it_again(tmp_path, zmq_ctx, schedulers):
    """A Job lost on the way (the fetcher keeps saying it is idle) is re-sent within two beats."""
    wait_until_slot_has(15, 60)  # the re-sent job is this slot's: a minute boundary would supersede it
    cfg, endpoint = scheduler_config(tmp_path, discover=1, snapshot=1, resolve=1)
    schedulers.append(SchedulerProc(cfg, tmp_path))
    f = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    try:
        f.pump(3.0, until=lambda f: f.jobs)
        lost = f.jobs.pop()[1]
        f.busy = None  # drop it on the floor and keep beating idle
        f.pump(3.0, until=lambda f: f.jobs)
    finally:
        f.close()
    again = f.jobs[0][1]
    assert (again.phase, again.grid_time) == (lost.phase, lost.grid_time) and again.job_id != lost.job_id


@pytest.mark.slow
def test_running_job_is_adopted_after_a_scheduler_restart(tmp_path, zmq_ctx, schedulers):
    """The new scheduler hears a fetcher busy with the old one's job: no second job until it is done."""
    interval = 300
    wait_until_slot_has(15, interval)
    slot = clock.grid_floor(time.time(), interval)
    make_db(tmp_path, [("polymarket", "discover", slot - interval)])
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5)
    schedulers.append(sched := SchedulerProc(cfg, tmp_path))
    f = FakeFetcher(zmq_ctx, endpoint, work=0.1)
    old = wire.Job(job_id=f"polymarket.snapshot.{slot}.oldrun-1", platform="polymarket", phase="snapshot",
                   grid_time=slot, deadline=time.time() + 600)
    f.busy, f.done_at = old, time.monotonic() + 1000  # still running the old scheduler's job
    try:
        f.pump(2.5)
        assert f.jobs == [] and f.refused == []
        f.finish()
        f.pump(3.0)
    finally:
        f.close()
    assert sorted(job.phase for _, job in f.jobs) == ["discover", "resolve"]  # snapshot was done
    assert "tracking it until it reports done" in sched.log()


@pytest.mark.slow
def test_done_reports_found_in_phase_runs_count_without_jobdone(tmp_path, zmq_ctx, schedulers):
    """JobDone lost (fetcher died after the sink stored its report): phase_runs settles it."""
    interval = 300
    wait_until_slot_has(20, interval)
    slot = clock.grid_floor(time.time(), interval)
    make_db(tmp_path, [("polymarket", "discover", slot)])
    cfg, endpoint = scheduler_config(tmp_path, discover=5, snapshot=5, resolve=5)
    schedulers.append(SchedulerProc(cfg, tmp_path))
    f = FakeFetcher(zmq_ctx, endpoint, answer=False)
    try:
        f.pump(3.0, until=lambda f: f.jobs)
        job = f.jobs[0][1]
        assert job.phase == "snapshot"
        db = schema.connect_writer(str(tmp_path / "collector.db"))
        db.execute("INSERT INTO phase_runs VALUES (?,?,?,?,?,?,1,3,0,7,0,0,'')",
                   (job.job_id, "polymarket", "snapshot", job.grid_time, time.time() - 1, time.time()))
        db.close()
        f.busy = None
        f.pump(4.0)
    finally:
        f.close()
    assert [j.phase for _, j in f.jobs] == ["snapshot", "resolve"]
