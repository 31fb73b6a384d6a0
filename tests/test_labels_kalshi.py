"""Kalshi labels are complete: one RESOLVE records every stored market's current state, and no
interrupted settled listing ever makes a later RESOLVE skip a settlement (issue 15).

The simulator over real HTTP (clock frozen, jumped forward), a real sink, real `fetcher --once`
processes; every stored market is compared with the simulator's truth at the same instant.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from tests.conftest import iso, script, wait_for
from tests.kalshi_rig import DAY

pytestmark = pytest.mark.timeout(300)
NOT_FINAL = ("closed", "determined", "disputed", "amended")


def label_gaps(rig) -> tuple[list, dict]:
    """Stored markets whose row disagrees with the truth now, and counts of what was checked."""
    truth = {m["market_id"]: m for m in rig.sim.truth()["kalshi"]}
    rows = rig.query("SELECT market_id, status, resolution, closed_at, resolved_at FROM markets"
                     " WHERE platform = 'kalshi'")
    gaps, counts = [], {"final": 0, "closed": 0, "live": 0}
    for ticker, status, resolution, closed_at, resolved_at in rows:
        m = truth[ticker]
        if m["status"] == "finalized":
            counts["final"] += 1
            want = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}[m["outcome"]]
            got = (status, resolution)
            ok = got == want and resolved_at == iso(m["final_at"]) and closed_at == iso(m["close_time"])
        elif m["status"] in NOT_FINAL:
            counts["closed"] += 1
            got = (status, resolution, closed_at)
            ok = got == ("closed", None, iso(m["close_time"]))
        else:  # none early
            counts["live"] += 1
            got = (status, resolution)
            ok = got == ("active", None)
        if not ok:
            gaps.append((ticker, m["status"], got))
    return gaps, counts


def fetch_failing(rig, phase: str) -> str:
    """A `fetcher --once` run that is expected to report a failure (exit status 1)."""
    p = subprocess.run([script("fetcher"), "--config", str(rig.config()), "--platform", "kalshi", "--once", phase],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    return p.stdout + p.stderr


def reports(rig) -> list:
    return rig.query("SELECT ok, message FROM phase_runs WHERE platform = 'kalshi' AND phase = 'resolve'"
                     " ORDER BY started_at, finished_at")


@pytest.mark.slow
@pytest.mark.parametrize("phases", [("snapshot", "resolve"), ("resolve",)], ids=["after-snapshot", "after-downtime"])
def test_one_resolve_records_every_closed_and_settled_market(kalshi_rig, phases):
    rig = kalshi_rig("rig", markets=20000, page_size=1000)
    rig.cycle("discover", "snapshot", "resolve")
    rig.sim.advance(3 * DAY)  # markets close (mostly early), get determined, settle; nobody looks
    rig.cycle(*phases)  # a SNAPSHOT in the same grid slot first, or RESOLVE straight after downtime
    gaps, counts = label_gaps(rig)
    assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert counts["final"] > 50 and counts["closed"] > 10 and counts["live"] > 300, counts
    assert all(ok for ok, _ in reports(rig))


@pytest.mark.slow
def test_settled_listing_stuck_on_page_2_fails_the_run_and_the_next_one_catches_up(kalshi_rig):
    rig = kalshi_rig("rig", markets=20000, page_size=200)
    rig.cycle("discover", "snapshot", "resolve")
    rig.sim.advance(DAY)
    rig.sim.sim.faults.stuck["settled"] = 3 + 1  # more than the fetcher's repeated-cursor retries
    assert "settled listing stopped before its end" in fetch_failing(rig, "resolve")
    ok, message = reports(rig)[-1]
    assert not ok and "settled listing" in message, message
    rig.sim.advance(600)
    rig.fetch("resolve")
    gaps, counts = label_gaps(rig)
    assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert counts["final"] > 20, counts
    assert reports(rig)[-1][0]


@pytest.mark.slow
def test_sigterm_during_the_settled_listing_loses_no_settlement(kalshi_rig):
    rig = kalshi_rig("rig", markets=20000, page_size=200)
    rig.cycle("discover", "snapshot", "resolve")
    rig.sim.advance(DAY)
    rig.sim.sim.faults.latency_s = 0.3  # slow pages: time to stop it mid-listing
    before = rig.sim.stats()["total_requests"]
    cfg = rig.config()
    p = subprocess.Popen([script("fetcher"), "--config", str(cfg), "--platform", "kalshi", "--once", "resolve"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: rig.sim.stats()["total_requests"] >= before + 2, timeout=60, what="page 2")
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
    wait_for(lambda: len(reports(rig)) == 2, timeout=30, what="the interrupted run's report")
    assert reports(rig)[-1] == (0, "interrupted")
    rig.sim.sim.faults.latency_s = 0.0
    time.sleep(0.5)
    rig.fetch("resolve")
    gaps, counts = label_gaps(rig)
    assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert counts["final"] > 20, counts


@pytest.mark.slow
def test_markets_that_keep_coming_back_unchanged_are_asked_less_often(kalshi_rig):
    rig = kalshi_rig("rig", markets=20000, page_size=1000)
    rig.cycle("discover", "snapshot", "resolve")
    rig.sim.advance(3 * DAY)
    asked = []
    for step in (0, 1800, 300):  # RESOLVE after downtime, 30 minutes later, 5 minutes later
        rig.sim.advance(step)
        out = rig.fetch("resolve")
        found = re.search(r"re-check: (\d+) of (\d+) pending markets asked", out)
        asked.append((int(found[1]), int(found[2])) if found else None)
        gaps, _ = label_gaps(rig)
        assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert asked[0] is None and asked[1] is None, asked  # new states: every pending market asked
    n, pending = asked[2]
    assert pending > 5 and n < pending, asked  # unchanged for 30 minutes: they wait


@pytest.mark.slow
def test_incremental_discover_stuck_on_page_2_keeps_its_window(kalshi_rig):
    rig = kalshi_rig("rig", markets=60000, page_size=200)
    rig.cycle("discover")  # the full sweep
    rig.sim.advance(5.8 * 3600)  # (a full sweep is due after 6 h) markets close, settle, get updated; the next DISCOVER is incremental
    rig.sim.sim.faults.stuck["updated"] = 3 + 1
    assert "updated listing stopped before its end" in fetch_failing(rig, "discover")
    rig.sim.advance(300)
    rig.fetch("discover")
    gaps, counts = label_gaps(rig)
    assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert counts["final"] + counts["closed"] > 10, counts
    runs = rig.query("SELECT ok, message FROM phase_runs WHERE phase = 'discover' ORDER BY started_at")
    assert [ok for ok, _ in runs] == [1, 0, 1] and "updated listing complete" in runs[-1][1], runs
