"""What is due, pure: the scheduler's cadence and catch-up rules without sockets or files.

Every (platform, phase) pair is a Task on a grid of its interval (``clock.grid_floor``). A task
remembers the grid slot of its newest completed run (``last_slot``), learned from the sink's
phase_runs table and from JobDone messages, never assumed. The rules:

* due when nothing of it is in flight and ``last_slot`` is older than the current slot; the job
  then stands for the *current* slot, so after a restart, a crash or missed cycles an overdue
  phase runs once (not once per missed cycle) and the next run is back on the grid;
* a platform's fetcher runs one job at a time, so at most one job per platform is in flight, and
  when several are due the most time-sensitive goes first (``PRIORITY``);
* snapshot and resolve wait until discover has run once for the platform (nothing to snapshot
  before the first discover);
* a job not done by its deadline is released and issued again; tiny test intervals scale the
  deadline down (``deadline_seconds``).
"""

from __future__ import annotations

from dataclasses import dataclass

from collector import clock, platforms
from collector.config import Config

# Dispatch order when several phases of one platform are due: the snapshot grid is what the
# datasets are built on, discover feeds it, resolve and news can wait a few minutes.
PRIORITY = ("snapshot", "discover", "resolve", "news")
NEEDS_DISCOVER = frozenset({"snapshot", "resolve"})
DEADLINE_INTERVALS = 2.0  # a job may take at most this many of its intervals before re-issue


@dataclass
class InFlight:
    """One job handed to a fetcher and not yet reported done."""

    job_id: str
    fetcher: str  # the fetcher's identity (its DEALER routing id)
    grid_time: int
    deadline: float  # simulated unix seconds
    idle_beats: int = 0  # heartbeats since sending in which the fetcher said it was idle


@dataclass
class Task:
    platform: str
    phase: str
    interval: float  # simulated seconds
    last_slot: int | None = None  # grid slot of the newest completed run; None: never ran
    job: InFlight | None = None
    attempts: int = 0  # jobs issued by this scheduler run, for unique job ids

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.phase)


def tasks_for(cfg: Config) -> list[Task]:
    """One task per phase of every enabled platform of the registry (collector/platforms.py)."""
    return [Task(p.name, phase, cfg.interval_seconds(phase)) for p in platforms.enabled(cfg) for phase in p.phases]


def deadline_seconds(deadline_minutes: float, interval: float) -> float:
    """Simulated seconds a job may take: the configured deadline, or less on tiny intervals."""
    return min(deadline_minutes * 60.0, DEADLINE_INTERVALS * interval)


def slot_of_run(grid_time: int | None, started_at: float, interval: float) -> int:
    """The grid slot a finished run stands for (reports without grid_time: when it started)."""
    if grid_time is not None:
        return int(grid_time)
    return clock.grid_floor(started_at, interval)


def record_run(task: Task, slot: int) -> bool:
    """Note a completed run; True when it moved the task forward."""
    if task.last_slot is None or slot > task.last_slot:
        task.last_slot = slot
        return True
    return False


def is_due(task: Task, now: float) -> bool:
    if task.job is not None:
        return False
    return task.last_slot is None or task.last_slot < clock.grid_floor(now, task.interval)


def next_due_at(task: Task, now: float) -> float:
    """Simulated time at which the task is next due (``now`` when it already is)."""
    current = clock.grid_floor(now, task.interval)
    if task.last_slot is None or task.last_slot < current:
        return now
    return float(current + max(1, int(round(task.interval))))


def blocked(task: Task, tasks: dict[tuple[str, str], Task]) -> bool:
    """Snapshot/resolve before the platform's first discover would find nothing to do."""
    discover = tasks.get((task.platform, "discover"))
    return task.phase in NEEDS_DISCOVER and discover is not None and discover.last_slot is None


def pick(tasks: dict[tuple[str, str], Task], platform: str, now: float) -> Task | None:
    """The next job for an idle fetcher of ``platform``, or None.

    None while any job of the platform is in flight (its fetcher is serial). Before the first
    discover only discover can go (``blocked``); after it a due snapshot goes first.
    """
    if any(t.job is not None for t in tasks.values() if t.platform == platform):
        return None
    for phase in PRIORITY:
        task = tasks.get((platform, phase))
        if task is not None and is_due(task, now) and not blocked(task, tasks):
            return task
    return None


def issue(task: Task, now: float, token: str, fetcher: str, deadline_minutes: float) -> InFlight:
    """Create the in-flight record of a new job for the task's current slot."""
    task.attempts += 1
    grid_time = clock.grid_floor(now, task.interval)
    job = InFlight(job_id=job_id(task.platform, task.phase, grid_time, token, task.attempts),
                   fetcher=fetcher, grid_time=grid_time,
                   deadline=now + deadline_seconds(deadline_minutes, task.interval))
    task.job = job
    return job


def job_id(platform: str, phase: str, grid_time: int, token: str, attempt: int) -> str:
    """Readable and unique across scheduler runs: ``kalshi.snapshot.1700000100.3f9a2c-1``."""
    return f"{platform}.{phase}.{grid_time}.{token}-{attempt}"


def parse_job_id(value: str) -> tuple[str, str, int] | None:
    """(platform, phase, grid_time) of a job id made by ``job_id``; None for anything else."""
    parts = value.split(".")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])
