"""The simulated world: deterministic, internally consistent, and honest about what is final."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest
import requests

from simulator.clock import parse_iso
from simulator.server import start
from simulator.world import World


def fetch_all(h, s):
    urls = [h.gamma_url + "/markets/keyset?limit=100&include_tag=true",
            h.gamma_url + "/markets/keyset?limit=100&closed=true",
            h.gamma_url + "/events?limit=50", h.clob_url + "/markets",
            h.kalshi_url + "/markets?limit=1000", h.kalshi_url + "/events?with_nested_markets=true",
            h.kalshi_url + "/historical/markets?limit=1000", h.url + "/_sim/truth"]
    return [s.get(u).content for u in urls]


def test_same_seed_same_bytes_and_other_seed_differs():
    a, b, c = (start(seed=seed, markets=300, speed=0) for seed in (21, 21, 22))
    try:
        s = requests.Session()
        ra, rb, rc = fetch_all(a, s), fetch_all(b, s), fetch_all(c, s)
        assert ra == rb
        assert ra != rc
    finally:
        for h in (a, b, c):
            h.stop()


def test_world_builds_at_max_size():
    """Start-up time at this size is a benchmark figure (bench/bench_simulator.py), not asserted here."""
    w = World(seed=1, markets=200_000, speed=0)
    assert w.pm.n_listed(w.now()) > 150_000


def test_legacy_cents_parse_to_the_same_values():
    fixed, legacy = start(seed=9, markets=400, speed=0), start(seed=9, markets=400, speed=0, legacy_cents=True)
    try:
        s = requests.Session()
        fm = s.get(fixed.kalshi_url + "/markets?limit=1000").json()["markets"]
        lm = s.get(legacy.kalshi_url + "/markets?limit=1000").json()["markets"]
        assert [m["ticker"] for m in fm] == [m["ticker"] for m in lm]
        for f, l in zip(fm, lm):
            for name in ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "previous_price"):
                assert isinstance(l[name], int)
                assert Decimal(f[name + "_dollars"]) == Decimal(l[name]) / 100
            for name in ("volume", "volume_24h", "open_interest"):
                assert Decimal(f[name + "_fp"]) == Decimal(l[name])
            if "settlement_value_dollars" in f:
                assert Decimal(f["settlement_value_dollars"]) == Decimal(l["settlement_value"]) / 100
            assert "yes_bid_dollars" not in l
    finally:
        fixed.stop()
        legacy.stop()


def test_history_matches_live_prices():
    h = start(seed=4, markets=300, speed=0)
    try:
        s = requests.Session()
        m = s.get(h.gamma_url + "/markets/keyset?limit=1").json()["markets"][0]
        yes = json.loads(m["clobTokenIds"])[0]
        seen = []
        for _ in range(3):
            t = h.now()
            mid = Decimal(s.get(h.clob_url + "/midpoint", params={"token_id": yes}).json()["mid"])
            seen.append((t, mid))
            assert float(mid) == h.world.yes_price_at("polymarket", m["conditionId"], t)
            h.advance(3 * 3600)
        hist = s.get(h.clob_url + "/prices-history",
                     params={"market": yes, "startTs": int(seen[0][0]) - 60, "endTs": int(h.now()),
                             "fidelity": 1}).json()["history"]
        by_minute = {p["t"] // 60: Decimal(str(p["p"])) for p in hist}
        for t, mid in seen:
            assert by_minute[int(t) // 60] == mid
        k = s.get(h.kalshi_url + "/markets?status=open&mve_filter=exclude&limit=50").json()["markets"]
        quoted = next(x for x in k if x["yes_ask_size_fp"] != "0.00")
        now = int(h.now())
        live_bid = quoted["yes_bid_dollars"]
        candles = s.get(f"{h.kalshi_url}/series/S/markets/{quoted['ticker']}/candlesticks",
                        params={"start_ts": now - 3 * 86400, "end_ts": now + 60, "period_interval": 1}).json()
        last = candles["candlesticks"][-1]
        assert now - 3 * 86400 <= last["end_period_ts"] <= now + 60
        assert last["yes_bid"]["close_dollars"] == live_bid
    finally:
        h.stop()


def test_lifecycle_nothing_final_before_final_at():
    w = World(seed=8, markets=600, speed=0)
    t0 = w.now()
    for step in range(6):
        now = t0 + step * 2 * 86400
        truth = w.truth(now)
        for r in truth["polymarket"] + truth["kalshi"]:
            final = r["outcome"] is not None
            assert final == (now >= r["final_at"]), r
            assert r["close_time"] <= r["final_at"] and r["open_time"] <= r["close_time"]
            assert r["close_time"] <= r["scheduled_end"]
    truth = w.truth(t0 + 400 * 86400)
    assert {r["outcome"] for r in truth["polymarket"]} >= {"YES", "NO"}
    kinds = {r["kind"] for r in truth["polymarket"]}
    assert {"legacy", "negrisk", "sports", "updown", "single"} <= kinds


def test_negrisk_groups_have_exactly_one_yes_and_gamma_agrees():
    h = start(seed=12, markets=800, speed=0)
    try:
        groups = defaultdict(list)
        for r in h.world.truth(h.now() + 500 * 86400)["polymarket"]:
            if r["neg_risk_market_id"]:
                groups[r["neg_risk_market_id"]].append(r["outcome"])
        assert groups and all(o.count("YES") == 1 and 3 <= len(o) <= 6 for o in groups.values())
        s = requests.Session()
        page = s.get(h.gamma_url + "/markets/keyset?limit=100&closed=true").json()["markets"]
        truth = {r["market_id"]: r for r in h.truth()["polymarket"]}
        for m in page:
            t = truth[m["conditionId"]]
            if m.get("umaResolutionStatus") == "resolved":
                prices = json.loads(m["outcomePrices"])
                want = {"YES": ["1", "0"], "NO": ["0", "1"], "VOID": ["0.5", "0.5"]}[t["outcome"]]
                assert prices == want
            elif not m["marketMakerAddress"]:
                assert t["outcome"] is None
    finally:
        h.stop()


def test_kalshi_resolution_visible_only_when_finalized():
    h = start(seed=13, markets=600, speed=0)
    try:
        s = requests.Session()
        truth = {r["market_id"]: r for r in h.truth()["kalshi"]}
        rows = s.get(h.kalshi_url + "/markets?limit=1000").json()["markets"]
        for m in rows:
            t = truth[m["ticker"]]
            if m["status"] == "finalized":
                assert parse_iso(m["settlement_ts"]) == int(t["final_at"]) + 0.530118
                assert m["result"] == t["result"]
            else:
                assert "settlement_ts" not in m and t["outcome"] is None
        share = sum(t["is_mve"] for t in truth.values()) / len(truth)
        assert 0.15 < share < 0.6
    finally:
        h.stop()


@pytest.mark.slow
def test_truth_with_prices_and_clock():
    h = start(seed=2, markets=50, speed=0)
    try:
        s = requests.Session()
        body = s.get(h.url + "/_sim/truth?with_prices=1").json()
        row = body["polymarket"][-1]
        assert row["prices"] and all(0 <= p <= 1 for _, p in row["prices"])
        assert "prices" not in s.get(h.url + "/_sim/truth").json()["polymarket"][0]
        since = row["prices"][len(row["prices"]) // 2][0] - 1  # just before a grid point
        recent = s.get(h.url + f"/_sim/truth?with_prices=1&prices_since={since}").json()["polymarket"][-1]
        assert recent["prices"] == [p for p in row["prices"] if p[0] >= since] and recent["prices"]
        clock = s.get(h.url + "/_sim/clock").json()
        assert clock["now"] == parse_iso("2026-11-01T00:00:00Z") and clock["iso"].startswith("2026-11-01")
        assert s.post(h.url + "/_sim/advance?seconds=60").json()["now"] == clock["now"] + 60
    finally:
        h.stop()
