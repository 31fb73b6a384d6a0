"""Polymarket labels are complete: one RESOLVE finds every stored market that closed, early or on
schedule, by itself — right after a SNAPSHOT in the same grid slot or after days of downtime (issue 15).

The simulator over real HTTP (clock frozen, jumped forward), a real sink, real `fetcher --once`
processes; every stored market is compared with the simulator's truth at the same instant.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from simulator import server
from tests.conftest import iso, start_sink
from tests.polymarket_helpers import db_markets, discover_from_fake_gamma, fetch, sim_config

pytestmark = pytest.mark.timeout(300)
DAY = 86400
SEEN = 1_793_000_000.0  # when the tests saw a market (a sane time: 2000-2100 bounds)
NOT_FINAL = ("closed", "proposed", "disputed")


def run(tmp, sim, *phases: str) -> None:
    cfg = sim_config(tmp, sim, rps=100.0)
    for phase in phases:
        r = fetch(cfg, phase)
        assert r.returncode == 0, f"{phase}: {r.stderr[-2000:]}"


def label_gaps(tmp, sim) -> tuple[list, dict]:
    """Stored markets whose row disagrees with the truth now, and counts of what was checked."""
    truth = {m["market_id"]: m for m in sim.truth()["polymarket"]}
    gaps, counts = [], {"final": 0, "closed": 0, "live": 0, "placeholder": 0}
    for market_id, r in db_markets(tmp).items():
        m = truth[market_id]
        flagged = json.loads(r["extra"]).get("neg_risk_placeholder") == "true"
        if m["placeholder"] or flagged:  # negRiskOther: stored flagged, never labelled
            counts["placeholder"] += 1
            got = (flagged, r["status"], r["resolution"])
            ok = flagged and m["placeholder"] and r["status"] in ("active", "closed") and r["resolution"] is None
        elif m["status"] == "resolved":
            counts["final"] += 1
            want = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}[m["outcome"]]
            got = (r["status"], r["resolution"])
            ok = got == want
        elif m["status"] in NOT_FINAL:
            counts["closed"] += 1
            got = (r["status"], r["resolution"], r["closed_at"])
            ok = got == ("closed", None, iso(m["close_time"]))
        else:  # open: none early
            counts["live"] += 1
            got = (r["status"], r["resolution"])
            ok = got == ("active", None)
        if not ok:
            gaps.append((market_id, m["status"], got))
    return gaps, counts


@pytest.mark.slow
@pytest.mark.parametrize("same_slot", [True, False], ids=["after-snapshot-same-slot", "after-downtime"])
def test_one_resolve_records_every_closed_and_final_market(tmp_path, procs, same_slot):
    with server.start(seed=3, markets=6000, speed=0) as sim:
        start_sink(procs, tmp_path, sim_config(tmp_path, sim))
        run(tmp_path, sim, "discover", "snapshot", "resolve")
        sim.advance(3 * DAY)  # markets close (many early), get proposed, disputed, resolved
        if same_slot:  # SNAPSHOT at the start of a grid slot, a close, RESOLVE in the same slot
            soonest = min(m["close_time"] for m in sim.truth()["polymarket"] if m["status"] == "open")
            slot = soonest // 900 * 900
            sim.advance(max(0.0, slot + 1 - sim.now()))
            run(tmp_path, sim, "snapshot")
            before = {m["market_id"] for m in sim.truth()["polymarket"] if m["status"] == "open"}
            sim.advance(soonest + 1 - sim.now())
            assert sim.now() < slot + 900
            closed_in_slot = before - {m["market_id"] for m in sim.truth()["polymarket"] if m["status"] == "open"}
            assert closed_in_slot, "no market closed inside the grid slot: the test shows nothing"
        run(tmp_path, sim, "resolve")
        gaps, counts = label_gaps(tmp_path, sim)
    assert not gaps, f"{len(gaps)} stored markets disagree with the truth, e.g. {gaps[:5]}"
    assert counts["final"] > 30 and counts["closed"] > 5 and counts["live"] > 300, counts
    assert counts["placeholder"] > 5, counts
    db = sqlite3.connect(tmp_path / "collector.db")
    snapped = db.execute("SELECT count(*) FROM snapshot s JOIN markets m ON m.id = s.market"
                         " WHERE json_extract(m.extra, '$.neg_risk_placeholder') IS NOT NULL").fetchone()[0]
    assert snapped == 0  # placeholders are never snapshotted with empty prices
    runs = db.execute("SELECT ok, message FROM phase_runs WHERE platform = 'polymarket' AND phase = 'resolve'").fetchall()
    assert all(ok for ok, _ in runs), runs


def test_clob_cross_check_accepts_only_the_markets_own_condition_and_tokens():
    from fetchers import polymarket_parse as parse

    cond = "0x" + "ab" * 32
    m = parse.parse_market({"id": "7", "conditionId": cond, "closed": True, "umaResolutionStatus": "resolved",
                            "outcomes": '["Yes", "No"]', "outcomePrices": '["0.6", "0.4"]',
                            "clobTokenIds": '["111", "222"]', "closedTime": "2026-11-02 10:00:00+00"}, SEEN)
    assert parse.resolution(m, SEEN).detail == parse.ANOMALY

    def clob(condition_id, winner):
        return {"condition_id": condition_id, "is_50_50_outcome": False,
                "tokens": [{"token_id": t, "outcome": o, "winner": t == winner}
                           for t, o in ((winner if winner not in ("111", "222") else "111", "Yes"), ("222", "No"))]}

    verdict = parse.clob_verdict(clob(cond, "222"), m, SEEN)
    assert (verdict.status, verdict.resolution, verdict.winning_outcome) == ("resolved", "NO", "No")
    with pytest.raises(parse.BadRecord, match="condition_id"):  # the answer is about another market
        parse.clob_verdict(clob("0x" + "cd" * 32, "222"), m, SEEN)
    with pytest.raises(parse.BadRecord, match="clobTokenIds"):  # a winner that is not one of ours
        parse.clob_verdict(clob(cond, "999"), m, SEEN)
    fifty = dict(clob("0x" + "cd" * 32, "222"), is_50_50_outcome=True)
    with pytest.raises(parse.BadRecord):  # not even a 50-50 from another market
        parse.clob_verdict(fifty, m, SEEN)


def test_negrisk_placeholders_are_flagged_in_extra():
    from fetchers import polymarket_parse as parse

    base = {"id": "9", "conditionId": "0x" + "ef" * 32, "outcomes": '["Yes", "No"]', "clobTokenIds": '["1", "2"]',
            "negRiskMarketID": "0x" + "12" * 32, "outcomePrices": '["0.1", "0.9"]'}
    member = parse.parse_market(base, SEEN)
    other = parse.parse_market(dict(base, negRiskOther=True), SEEN)
    unpriced = parse.parse_market({k: v for k, v in base.items() if k != "outcomePrices"}, SEEN)
    plain = parse.parse_market({k: v for k, v in base.items() if k not in ("negRiskMarketID", "outcomePrices")}, SEEN)
    assert not member.placeholder and parse.PLACEHOLDER_KEY not in member.upsert.extra
    assert other.placeholder and other.upsert.extra[parse.PLACEHOLDER_KEY] == "true"
    assert unpriced.placeholder  # an augmented group's member without prices (polymarket.md §4.3)
    assert not plain.placeholder  # a plain market without prices is not a negRisk placeholder


@pytest.mark.slow
def test_closed_history_tail_is_kept_only_when_the_id_order_held(tmp_path, procs):
    def row(gid):
        return {"id": str(gid), "conditionId": "0x%064x" % gid, "question": f"Q{gid}", "closed": True,
                "outcomes": '["Yes", "No"]', "outcomePrices": '["1", "0"]', "clobTokenIds": f'["{gid}1", "{gid}2"]',
                "umaResolutionStatus": "resolved", "closedTime": "2026-10-01 00:00:00+00"}

    def answer(q):
        if q.get("closed") == ["false"]:
            return {"markets": []}
        if "after_cursor" not in q:
            return {"markets": [row(900), row(800)], "next_cursor": "p2"}  # ids going down
        return {"markets": [row(700)]}

    r = discover_from_fake_gamma(procs, tmp_path, answer)
    state = json.loads((tmp_path / "polymarket-state.json").read_text())
    assert not state.get("closed_tail") and not state.get("history_done"), state
    assert "not in id order" in r.stderr
    assert {m["status"] for m in db_markets(tmp_path).values()} == {"resolved"}
