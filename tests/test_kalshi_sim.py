"""Kalshi end to end: the simulator over real HTTP, a real sink, real `fetcher --once` processes.

The simulator's clock is frozen (speed 0) and jumped forward between rounds; each fetcher run
gets a config whose clock reads the simulator's time, so every check against the truth is exact.
"""

from __future__ import annotations

import pytest

from tests.conftest import iso
from tests.kalshi_rig import DAY

pytestmark = pytest.mark.timeout(300)

# The suggested spec (rate=20,err=0.05,malformed=0.02) with malformed and dup_page raised: a run is
# only ~200 requests and most small pages are empty, so 2 % would often corrupt nothing at all.
FAULTS = "rate=20,err=0.05,malformed=0.15,dup_page=0.1"


def live_now(truth: list[dict]) -> set[str]:
    return {m["market_id"] for m in truth if not m["is_mve"] and m["status"] in ("initialized", "active", "inactive")}


@pytest.mark.slow
def test_faulty_simulator_every_market_once_resolutions_equal_truth(kalshi_rig):
    # small pages: many more requests, so many more faults, and empty pages that carry a cursor
    rig = kalshi_rig("faults", markets=2000, faults=FAULTS, page_size=50)
    world = rig.sim.world
    expected_live: set[str] = set()
    snapshot_checks = []
    # +5 h: an incremental DISCOVER; +70 days: stored markets fall past the historical cutoff
    for jump in (0, 5 * 3600, DAY, 70 * DAY):
        if jump:
            rig.sim.advance(jump)
        truth = rig.sim.truth()["kalshi"]
        expected_live |= live_now(truth)
        rig.cycle("discover", "snapshot", "resolve")
        active = {m["market_id"] for m in truth if not m["is_mve"] and m["status"] == "active"}
        snapshot_checks.append((int(rig.sim.now()) // 900 * 900, rig.sim.now(), active))
    rig.cycle("discover", "resolve", "resolve")  # a second pass picks up what a fault made us skip
    now = rig.sim.now()
    truth = {m["market_id"]: m for m in rig.sim.truth()["kalshi"]}

    rows = rig.query("SELECT market_id, title, category, status, resolution, resolved_at, settlement_value,"
                     " end_date, json_extract(extra, '$.event_ticker'), json_extract(extra, '$.series_ticker'),"
                     " outcomes, winning_outcome, observed_at FROM markets WHERE platform = 'kalshi'")
    stored = {r[0]: r for r in rows}
    assert len(stored) == len(rows)  # once
    assert not [t for t in stored if t.startswith("KXMVE")]
    assert set(stored) <= set(truth)
    missing = expected_live - set(stored)
    assert not missing, f"{len(missing)} live markets never stored, e.g. {sorted(missing)[:5]}"
    assert len(stored) > 150
    kx = world.kx
    for t, (_, title, category, status, resolution, resolved_at, value, end_date, event, series,
            outcomes, winning, observed) in stored.items():
        m = truth[t]
        assert observed > 0, f"{t}: placeholder row without metadata"
        assert title == m["title"] and outcomes == '["Yes", "No"]'
        assert (event, series) == (m["event_ticker"], m["series_ticker"])
        assert category == kx.series_category(kx.series_index[series])
        assert end_date in (iso(m["close_time"]), iso(m["scheduled_end"]))
        if m["status"] == "finalized" and m["final_at"] < now - 1:
            want = {"YES": ("resolved", "YES", "Yes"), "NO": ("resolved", "NO", "No"),
                    "VOID": ("voided", None, None)}[m["outcome"]]
            assert (status, resolution, winning) == want, t
            assert value == pytest.approx(m["settlement_value"]) and resolved_at == iso(m["final_at"]), t
        else:  # none early
            assert status in ("active", "closed") and resolution is None, (t, m["status"], status)
    assert sum(1 for r in rows if r[3] in ("resolved", "voided")) > 100

    # snapshots: one per open market per cycle, prices consistent with the stored book
    total = 0
    for grid_t, fetched_at, active in snapshot_checks:
        snap = dict(rig.query("SELECT m.market_id, s.yes FROM snapshot s JOIN markets m ON m.id = s.market"
                              " WHERE s.t = ?", (grid_t,)))
        assert set(snap) <= active
        assert len(active - set(snap)) <= 2, "more open markets missing than faults can explain"
        total += len(snap)
    assert total > 100
    rows = rig.query("SELECT yes, bid, ask FROM snapshot WHERE bid IS NOT NULL AND ask IS NOT NULL")
    assert rows and all(y == round((b + a) / 2) for y, b, a in rows)
    reports = rig.query("SELECT phase, ok, errors, message, records FROM phase_runs WHERE platform = 'kalshi'"
                        " ORDER BY started_at, finished_at")
    assert len(reports) == 15 and all(ok and not errors for _, ok, errors, _, _ in reports), reports
    discovers = [(msg, n) for phase, _, _, msg, n in reports if phase == "discover"]
    assert "full sweep" in discovers[0][0] and "full sweep" not in discovers[1][0]
    assert discovers[1][1] > 0  # the incremental run found what changed in those 5 hours
    stats = rig.sim.stats()["faults"]
    assert stats.get("err500", 0) + stats.get("err502", 0) + stats.get("err503", 0) > 0
    assert stats.get("malformed", 0) > 0 and stats.get("dup_page", 0) > 0, stats


@pytest.mark.slow
def test_legacy_cents_and_fixed_point_simulators_give_identical_rows(kalshi_rig):
    rows = []
    for legacy in (False, True):
        rig = kalshi_rig(f"legacy-{legacy}", markets=1500, legacy=legacy)
        rig.cycle("discover", "snapshot", "resolve")
        rig.sim.advance(2 * DAY)
        rig.cycle("discover", "snapshot", "resolve")
        markets = rig.query("SELECT market_id, title, description, category, outcomes, volume, liquidity,"
                            " end_date, status, resolution, resolved_at, created_at, updated_at, winning_outcome,"
                            " settlement_value, resolution_detail, closed_at, extra FROM markets ORDER BY market_id")
        snaps = rig.query("SELECT m.market_id, s.t, s.yes, s.bid, s.ask, s.volume, s.liquidity FROM snapshot s"
                          " JOIN markets m ON m.id = s.market ORDER BY 1, 2")
        rows.append((markets, snaps))
        rig.close()
    (m0, s0), (m1, s1) = rows
    assert len(m0) > 50 and len(s0) > 50
    assert any(r[9] for r in m0)  # resolutions included
    assert m0 == m1
    assert s0 == s1
