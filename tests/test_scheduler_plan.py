"""The scheduler's due and catch-up rules (scheduler/plan.py), without processes or sockets."""

from __future__ import annotations

import msgspec
import pytest

from collector import config, platforms
from scheduler import plan

S = 1_699_999_200  # a grid slot of 300, 900 and 1800 s



def tasks(interval=900.0, **last):
    ts = {(p, ph): plan.Task(p, ph, interval) for p in ("polymarket",) for ph in platforms.TRADING_PHASES}
    for phase, slot in last.items():
        ts[("polymarket", phase)].last_slot = slot
    return ts


def test_never_ran_is_due_now_and_stands_for_the_current_slot():
    task = plan.Task("kalshi", "snapshot", 900.0)
    now = S + 50.0  # 50 s into the slot starting at S
    assert plan.is_due(task, now)
    job = plan.issue(task, now, "tok", "f1", 20.0)
    assert job.grid_time == S
    assert job.job_id == f"kalshi.snapshot.{S}.tok-1"


def test_many_missed_cycles_run_once_then_back_on_the_grid():
    ts = tasks(snapshot=S - 40 * 900)  # ten hours down
    task = ts[("polymarket", "snapshot")]
    ts[("polymarket", "discover")].last_slot = S
    now = S + 50.0
    assert plan.pick(ts, "polymarket", now) is task
    job = plan.issue(task, now, "tok", "f1", 20.0)
    assert job.grid_time == S  # the current slot, not the first missed one
    assert plan.pick(ts, "polymarket", now) is None  # in flight: nothing else on that platform
    task.job = None
    plan.record_run(task, job.grid_time)
    assert not plan.is_due(task, now + 100)
    assert plan.next_due_at(task, now) == S + 900  # next grid slot
    assert plan.is_due(task, S + 900.0)


def test_snapshot_and_resolve_wait_for_the_first_discover():
    ts = tasks()
    now = S + 50.0
    first = plan.pick(ts, "polymarket", now)
    assert first.phase == "discover"
    first.job = plan.issue(first, now, "t", "f", 20.0)
    assert plan.pick(ts, "polymarket", now) is None
    first.job = None
    plan.record_run(first, S)
    assert plan.pick(ts, "polymarket", now).phase == "snapshot"  # snapshot first once markets exist


def test_one_job_per_platform_and_priority_order():
    ts = tasks(discover=0, snapshot=0, resolve=0)
    now = S + 50.0
    order = []
    while (task := plan.pick(ts, "polymarket", now)) is not None:
        task.job = plan.issue(task, now, "t", "f", 20.0)
        assert plan.pick(ts, "polymarket", now) is None
        order.append(task.phase)
        task.job = None
        plan.record_run(task, clock_floor(now, task.interval))
    assert order == ["snapshot", "discover", "resolve"]  # each overdue phase exactly once


def clock_floor(t, interval):
    return int(t // interval) * int(interval)


def test_failed_run_counts_for_its_slot():
    """A run that reported ok=False stood for its slot: retrying at once would hammer a failing API."""
    task = plan.Task("kalshi", "resolve", 1800.0)
    plan.record_run(task, plan.slot_of_run(None, S + 1000.5, 1800.0))
    assert task.last_slot == S
    assert not plan.is_due(task, S + 1799.0)


def test_record_run_never_goes_back():
    task = plan.Task("kalshi", "snapshot", 900.0)
    assert plan.record_run(task, 1800)
    assert not plan.record_run(task, 900)
    assert task.last_slot == 1800


def test_deadline_scales_down_with_tiny_intervals():
    assert plan.deadline_seconds(20.0, 900.0) == 1200.0
    assert plan.deadline_seconds(20.0, 6.0) == 12.0


def test_job_id_round_trip_and_foreign_ids():
    jid = plan.job_id("polymarket", "resolve", 1_700_000_100, "ab12cd", 3)
    assert plan.parse_job_id(jid) == ("polymarket", "resolve", 1_700_000_100)
    for foreign in ("", "deadbeef", "a.b.c", "a.b.notanint.x"):
        assert plan.parse_job_id(foreign) is None


def test_tasks_follow_the_config():
    cfg = config.Config()
    keys = {t.key for t in plan.tasks_for(cfg)}
    assert keys == {(p, ph) for p in ("polymarket", "kalshi") for ph in platforms.TRADING_PHASES}
    cfg = msgspec.structs.replace(cfg, kalshi=config.Kalshi(enabled=False),
                                  news=config.News(enabled=True, interval_minutes=30.0))
    ts = {t.key: t for t in plan.tasks_for(cfg)}
    assert ("kalshi", "snapshot") not in ts
    assert ts[("news", "news")].interval == 1800.0
    assert ts[("polymarket", "discover")].interval == 300.0


@pytest.mark.parametrize("interval", [3.0, 300.0, 900.0, 1800.0])
def test_next_due_is_the_next_grid_slot(interval):
    task = plan.Task("kalshi", "snapshot", interval)
    now = 1_700_000_123.4
    plan.record_run(task, clock_floor(now, interval))
    due = plan.next_due_at(task, now)
    assert due > now and due % interval == 0 and due - now <= interval
