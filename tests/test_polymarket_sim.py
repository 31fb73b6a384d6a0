"""The Polymarket fetcher end to end: the simulator over HTTP, a real sink process, `fetcher --once`.

What a user would check after running DISCOVER, SNAPSHOT and RESOLVE through simulated days:
every market the simulator lists is stored once with the right fields, every resolved market
carries the simulator's true outcome, and nothing is resolved before the simulator says so.
"""

from __future__ import annotations

import sqlite3

import pytest

from simulator import server
from tests.conftest import start_sink
from tests.polymarket_helpers import check_against_truth, fetch, sim_config

pytestmark = pytest.mark.timeout(300)
# simulated seconds between rounds: an hour, a day (UMA proposals, disputes), then several days
STEPS = (0, 3_600, 90_000, 400_000)


def run_rounds(tmp_path, procs, sim, rps: float):
    results = []
    for step in STEPS:
        sim.advance(step)
        cfg = sim_config(tmp_path, sim, rps=rps)
        if step == 0:
            start_sink(procs, tmp_path, cfg)
        for phase in ("discover", "snapshot", "resolve"):
            r = fetch(cfg, phase)
            assert r.returncode == 0, f"{phase}: {r.stderr[-2000:]}"
        results.append(check_against_truth(tmp_path, sim.truth()))
    return results


@pytest.mark.slow
def test_discover_snapshot_resolve_match_the_simulator(tmp_path, procs):
    with server.start(seed=11, markets=1500, speed=0) as sim:
        results = run_rounds(tmp_path, procs, sim, rps=100.0)
        stats = sim.stats()
    assert results[-1]["resolved"] > 100 and results[-1]["voided"] >= 1
    assert any(r["pending"] for r in results), "no proposed/disputed market was ever seen pending"
    db = sqlite3.connect(tmp_path / "collector.db")
    runs = db.execute("SELECT phase, ok, requests, records FROM phase_runs WHERE platform='polymarket'").fetchall()
    assert len(runs) == 3 * len(STEPS) and all(ok for _, ok, _, _ in runs)
    # one snapshot per open market per cycle, all at the cycle's grid time
    per_cycle = db.execute("SELECT t, rows FROM snapshot_cycles WHERE platform='polymarket'").fetchall()
    assert len(per_cycle) == len(STEPS) and all(t % 900 == 0 and rows > 100 for t, rows in per_cycle)
    # DISCOVER after the first is incremental: a couple of requests, not a full sweep
    discover_requests = [req for phase, _, req, _ in runs if phase == "discover"]
    assert max(discover_requests[1:]) <= 4, discover_requests
    assert stats["total_requests"] < 120


@pytest.mark.slow
def test_same_outcome_with_faults_on(tmp_path, procs):
    faults = "rate=20,err=0.05,malformed=0.02,drop=0.01,dup_page=0.02,truncate=0.01"
    with server.start(seed=5, markets=1000, speed=0, faults=faults) as sim:
        results = run_rounds(tmp_path, procs, sim, rps=15.0)
        stats = sim.stats()
    assert results[-1]["resolved"] > 50
    assert stats["total_faults"] > 0, stats
    db = sqlite3.connect(tmp_path / "collector.db")
    retries = db.execute("SELECT sum(retries) FROM phase_runs WHERE platform='polymarket'").fetchone()[0]
    assert retries > 0  # the faults were met and retried, not ignored


def test_a_stale_saved_cursor_costs_one_full_sweep(tmp_path, procs):
    import json

    with server.start(seed=2, markets=400, speed=0) as sim:
        cfg = sim_config(tmp_path, sim)
        start_sink(procs, tmp_path, cfg)
        assert fetch(cfg, "discover").returncode == 0
        state_path = tmp_path / "polymarket-state.json"
        state = json.loads(state_path.read_text())
        state["open_tail"] = "AAAAAAAAAAAAAAAAeyJ2IjoxfQ"  # a cursor the server never signed
        state_path.write_text(json.dumps(state))
        r = fetch(cfg, "discover")
        assert r.returncode == 0, r.stderr
        assert "refused the saved cursor" in r.stderr
        assert json.loads(state_path.read_text())["open_tail"] != state["open_tail"]
        check_against_truth(tmp_path, sim.truth())
