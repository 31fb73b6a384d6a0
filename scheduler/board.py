"""The scheduler's bookkeeping, without sockets: tasks, fetchers, jobs in flight.

``Board`` turns events (a Heartbeat, a JobDone, a phase_runs row, time passing) into decisions
(which job goes to which fetcher now, which job is released to be issued again). The loop in
scheduler/main.py owns the socket and feeds it; the due rules themselves are in plan.py.

Why a job is released (and then issued again for the current slot):
* its deadline passed (``plan.deadline_seconds``);
* its fetcher went silent for ``fetcher_silent_seconds`` (killed, hung, host gone);
* its fetcher keeps saying it is idle (the Job was lost or refused) or busy with another job.
A fetcher found busy with a job we do not track (we restarted, or gave up on it) has that job
adopted, so the same phase never runs twice at once.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque

from collector import clock, wire
from collector.config import Config
from scheduler import plan
from scheduler.fleet import Fetcher, Fleet, name_of
from scheduler.history import History, Run

log = logging.getLogger("scheduler")

IDLE_BEATS_LOST = 2  # idle heartbeats after a Job was sent: the fetcher never took it
DONE_MEMORY = 256  # job ids recently reported done: a heartbeat naming one is stale, not busy


def tlog(platform: str, phase: str) -> logging.Logger:
    """Logger whose name says process, platform and phase: ``scheduler.kalshi.snapshot``."""
    return logging.getLogger(f"scheduler.{platform}.{phase}")


class Board:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.tasks = {t.key: t for t in plan.tasks_for(cfg)}
        self.platforms = sorted({t.platform for t in self.tasks.values()})
        self.token = uuid.uuid4().hex[:6]  # makes job ids unique across scheduler runs
        self.history = History(cfg.db_path)
        self.fleet = Fleet(cfg.scheduler.fetcher_silent_seconds)
        self.waiting: set[str] = set()  # platforms with due work and no idle fetcher (logged once)
        self.done_ids: deque[str] = deque(maxlen=DONE_MEMORY)

    def until_next_event(self, now: float, longest: float) -> float:
        """Real seconds until a task becomes due or a job's deadline passes (at most ``longest``)."""
        at = []
        for task in self.tasks.values():
            if task.job is not None:
                at.append(task.job.deadline)
            else:
                due = plan.next_due_at(task, now)
                if due > now:  # due-now tasks wait for a fetcher: a heartbeat wakes the loop
                    at.append(due)
        return min(longest, clock.to_real(min(at) - now)) if at else longest

    def check(self, now: float, mono: float) -> None:
        """Time passing: silent fetchers and overdue jobs."""
        for f in self.fleet.check_silent(mono):
            self.release_held_by(f, "its fetcher went silent")
        for task in self.tasks.values():
            if task.job is not None and now >= task.job.deadline:
                self.release(task, f"not done by its deadline {clock.iso(task.job.deadline)}")

    def held_by(self, identity: bytes) -> list[plan.Task]:
        return [t for t in self.tasks.values() if t.job is not None and t.job.fetcher == name_of(identity)]

    def on_heartbeat(self, identity: bytes, hb: wire.Heartbeat, mono: float, now: float) -> None:
        # A job already reported done can still show in a heartbeat sent just before the fetcher
        # cleared it: that fetcher is idle, not busy.
        busy = "" if hb.busy_job in self.done_ids else hb.busy_job
        f = self.fleet.heard(identity, hb.platform, busy, mono)
        for task in self.held_by(identity):
            if busy == task.job.job_id:
                task.job.idle_beats = 0
            elif busy:  # busy with something else: a serial fetcher refused our job
                self.release(task, f"fetcher {f.name} is busy with {busy}")
            else:
                task.job.idle_beats += 1
                if task.job.idle_beats >= IDLE_BEATS_LOST:
                    self.release(task, f"fetcher {f.name} stayed idle; the job never started")
        if busy and not any(t.job and t.job.job_id == busy for t in self.tasks.values()):
            self.adopt(f, busy, now)

    def adopt(self, f: Fetcher, job_id: str, now: float) -> None:
        """A fetcher runs a job we did not send (we restarted) or already gave up on: track it."""
        parsed = plan.parse_job_id(job_id)
        task = self.tasks.get(parsed[:2]) if parsed else None
        if task is None:
            log.info("fetcher %s runs job %s, which is not ours; not sending it work", f.name, job_id)
            return
        deadline = now + plan.deadline_seconds(self.cfg.scheduler.job_deadline_minutes, task.interval)
        task.job = plan.InFlight(job_id, f.name, parsed[2], deadline)
        tlog(task.platform, task.phase).warning(
            "fetcher %s is running %s (grid_time=%s); tracking it until it reports done",
            f.name, job_id, clock.iso(parsed[2]))

    def on_done(self, report: wire.PhaseReport, identity: bytes | None) -> None:
        first_news = report.job_id not in self.done_ids
        if first_news:
            self.done_ids.append(report.job_id)
        f = self.fleet.get(identity) if identity else None
        if f is not None and f.busy == report.job_id:
            f.busy = ""  # its worker finished; it is idle until a heartbeat says otherwise
        task = self.tasks.get((report.platform, report.phase))
        if task is None:
            return  # a phase we do not schedule (backfill) or a platform not enabled here
        plan.record_run(task, plan.slot_of_run(report.grid_time, report.started_at, task.interval))
        mine = task.job is not None and task.job.job_id == report.job_id
        if mine:
            task.job = None
        if first_news:
            level = logging.INFO if report.ok else logging.WARNING
            tlog(task.platform, task.phase).log(
                level, "job %s done%s in %.1fs: ok=%s records=%d errors=%d%s", report.job_id,
                "" if identity else " (from phase_runs)", report.finished_at - report.started_at,
                report.ok, report.records, report.errors, f" message={report.message!r}" if report.message else "")

    def release(self, task: plan.Task, why: str) -> None:
        for run in self.history.finished([task.job.job_id]):  # its report may be stored already
            self.on_done(_report(run), None)
        if task.job is None:
            return
        tlog(task.platform, task.phase).warning("job %s released (%s); it will be issued again",
                                                task.job.job_id, why)
        task.job = None

    def release_held_by(self, f: Fetcher, why: str) -> None:
        for task in self.held_by(f.identity):
            self.release(task, why)

    def refresh(self, first: bool = False) -> None:
        """Merge what the sink has stored: newest runs, and in-flight jobs whose reports arrived."""
        for key, run in self.history.last_runs(self.tasks).items():
            task = self.tasks[key]
            plan.record_run(task, plan.slot_of_run(run.grid_time, run.started_at, task.interval))
        flying = [t.job.job_id for t in self.tasks.values() if t.job is not None]
        for run in self.history.finished(flying) if flying else []:
            self.on_done(_report(run), None)
        if first:
            now = clock.now()
            for task in self.tasks.values():
                tlog(task.platform, task.phase).info(
                    "last run stood for %s; %s", clock.iso(task.last_slot) or "nothing (never ran)",
                    "due now" if plan.is_due(task, now) else f"next at {clock.iso(plan.next_due_at(task, now))}")

    def due_jobs(self, now: float) -> list[tuple[Fetcher, wire.Job]]:
        """Jobs to send now, at most one per platform, each to an idle fetcher of its platform."""
        out = []
        holding = {t.job.fetcher for t in self.tasks.values() if t.job is not None}
        for platform in self.platforms:
            task = plan.pick(self.tasks, platform, now)
            if task is None:
                self.waiting.discard(platform)
                continue
            f = self.fleet.idle(platform, holding)
            if f is None:
                if platform not in self.waiting:
                    self.waiting.add(platform)
                    busy = self.fleet.live(platform)
                    tlog(platform, task.phase).log(logging.DEBUG if busy else logging.INFO,
                                                   "due; waiting: the %s fetcher is %s", platform,
                                                   "busy" if busy else "not connected")
                continue
            self.waiting.discard(platform)
            missed = 0
            if task.last_slot is not None:
                missed = int((clock.grid_floor(now, task.interval) - task.last_slot)
                             // max(1, round(task.interval))) - 1
            job = plan.issue(task, now, self.token, f.name, self.cfg.scheduler.job_deadline_minutes)
            holding.add(f.name)
            out.append((f, wire.Job(job_id=job.job_id, platform=task.platform, phase=task.phase,
                                    grid_time=job.grid_time, deadline=job.deadline)))
            tlog(task.platform, task.phase).info(
                "job %s sent to %s: grid_time=%s deadline in %.0fs%s", job.job_id, f.name,
                clock.iso(job.grid_time), job.deadline - now,
                f" (catching up once; {missed} cycle(s) missed)" if missed > 0 else "")
        return out

    def send_failed(self, f: Fetcher, job: wire.Job, why: str) -> None:
        """The socket could not deliver the job: forget it and the fetcher (it is gone or stuck)."""
        task = self.tasks[(job.platform, job.phase)]
        if task.job is not None and task.job.job_id == job.job_id:
            task.job = None
        self.fleet.mark_gone(f.identity)
        tlog(job.platform, job.phase).warning("could not send %s to %s: %s", job.job_id, f.name, why)


def _report(run: Run) -> wire.PhaseReport:
    return wire.PhaseReport(job_id=run.job_id, platform=run.platform, phase=run.phase,
                            started_at=run.started_at, finished_at=run.finished_at, ok=run.ok,
                            grid_time=run.grid_time, records=run.records, errors=run.errors,
                            message=run.message)
