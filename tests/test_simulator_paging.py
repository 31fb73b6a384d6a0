"""Paging through the simulator delivers every market exactly once, the way the docs describe."""

from __future__ import annotations

import base64

import pytest
import requests

from simulator.clock import parse_iso
from simulator.server import start

N = 1500


@pytest.fixture(scope="module")
def sim():
    h = start(seed=3, markets=N, speed=0)
    yield h, requests.Session()
    h.stop()


def sweep_keyset(s, url, **params):
    params = {"limit": 100, **params}
    ids, cursors = [], set()
    while True:
        page = s.get(url + "/markets/keyset", params=params).json()
        ids += [m["id"] for m in page["markets"]]
        cur = page.get("next_cursor")
        if not cur:
            assert len(page["markets"]) < params["limit"]
            return ids
        assert len(page["markets"]) == params["limit"] and cur not in cursors
        cursors.add(cur)
        params["after_cursor"] = cur


def test_keyset_sweeps_cover_every_listed_market_once(sim):
    h, s = sim
    open_ids = sweep_keyset(s, h.gamma_url)
    closed_ids = sweep_keyset(s, h.gamma_url, closed="true")
    truth = {r["gamma_id"] for r in h.truth()["polymarket"]}
    assert len(open_ids) == len(set(open_ids)) and len(closed_ids) == len(set(closed_ids))
    assert not set(open_ids) & set(closed_ids)
    assert set(open_ids) | set(closed_ids) == truth
    assert open_ids == sorted(open_ids, key=int)


def test_keyset_page_rules(sim):
    h, s = sim
    page = s.get(h.gamma_url + "/markets/keyset").json()
    assert len(page["markets"]) == 20 and "next_cursor" in page
    assert len(s.get(h.gamma_url + "/markets/keyset", params={"limit": 500}).json()["markets"]) == 100
    r = s.get(h.gamma_url + "/markets/keyset", params={"after_cursor": page["next_cursor"][:-3] + "abc"})
    assert r.status_code == 422
    one = page["markets"][0]
    by_id = s.get(h.gamma_url + "/markets/keyset", params={"id": [one["id"], "1"]}).json()
    assert [m["id"] for m in by_id["markets"]] == [one["id"]] and "next_cursor" not in by_id
    closed_one = s.get(h.gamma_url + "/markets/keyset", params={"closed": "true", "limit": 1}).json()["markets"][0]
    assert s.get(h.gamma_url + "/markets/keyset", params={"id": closed_one["id"]}).json()["markets"] == []
    cond = s.get(h.gamma_url + "/markets/keyset",
                 params={"closed": "true", "condition_ids": closed_one["conditionId"]}).json()
    assert [m["id"] for m in cond["markets"]] == [closed_one["id"]]


def test_keyset_sweep_is_stable_while_time_moves():
    h = start(seed=5, markets=800, speed=0)
    try:
        s = requests.Session()
        before = {r["gamma_id"] for r in h.truth()["polymarket"]}
        params, seen = {"limit": 50, "closed": "true"}, []
        open_first = set(sweep_keyset(s, h.gamma_url))
        while True:
            page = s.get(h.gamma_url + "/markets/keyset", params=params).json()
            seen += [m["id"] for m in page["markets"]]
            h.advance(3600)            # the world moves between pages
            if "next_cursor" not in page:
                break
            params["after_cursor"] = page["next_cursor"]
        assert len(seen) == len(set(seen))
        assert before <= open_first | set(seen)
    finally:
        h.stop()


def sweep_kalshi(s, url, path="/markets", key="markets", **params):
    params = {"limit": 1000, **params}
    out, cursors, empty_with_cursor = [], set(), 0
    while True:
        page = s.get(url + path, params=params).json()
        out += page[key]
        if not page["cursor"]:
            return out, empty_with_cursor
        if not page[key]:
            empty_with_cursor += 1
        assert page["cursor"] not in cursors
        cursors.add(page["cursor"])
        params["cursor"] = page["cursor"]


def test_kalshi_markets_cursor(sim):
    h, s = sim
    truth = h.truth()["kalshi"]
    live = {r["market_id"] for r in truth if not r["historical"]}
    hist = {r["market_id"] for r in truth if r["historical"]}
    rows, _ = sweep_kalshi(s, h.kalshi_url)
    tickers = [m["ticker"] for m in rows]
    assert len(tickers) == len(set(tickers)) and set(tickers) == live
    no_mve, _ = sweep_kalshi(s, h.kalshi_url, mve_filter="exclude")
    assert {m["ticker"] for m in no_mve} == {t for t in live if not t.startswith("KXMVE")}
    only, _ = sweep_kalshi(s, h.kalshi_url, mve_filter="only")
    assert only and all(m["ticker"].startswith("KXMVE") for m in only)
    old, _ = sweep_kalshi(s, h.kalshi_url, "/historical/markets")
    assert {m["ticker"] for m in old} == hist
    assert s.get(f"{h.kalshi_url}/markets/{next(iter(hist))}").status_code == 404
    assert s.get(f"{h.kalshi_url}/historical/markets/{next(iter(hist))}").status_code == 200


def test_kalshi_status_filters_and_empty_pages(sim):
    h, s = sim
    mapping = {"unopened": {"initialized"}, "open": {"active"}, "paused": {"inactive"},
               "closed": {"closed", "determined", "disputed", "amended"}, "settled": {"finalized"}}
    total = 0
    for flt, statuses in mapping.items():
        rows, _ = sweep_kalshi(s, h.kalshi_url, status=flt)
        assert all(m["status"] in statuses for m in rows)
        total += len(rows)
    all_rows, _ = sweep_kalshi(s, h.kalshi_url)
    assert total == len(all_rows)
    now = int(h.now())
    rows, empties = sweep_kalshi(s, h.kalshi_url, limit=5, status="settled",
                                 min_settled_ts=now - 86400, mve_filter="exclude")
    assert empties > 0        # selective filter: empty pages that still carry a cursor
    assert rows and all(now - 86400 <= parse_iso(m["settlement_ts"]) for m in rows)
    last = s.get(h.kalshi_url + "/markets", params={"tickers": "NOPE-26JAN01ZZ-X"}).json()
    assert last == {"cursor": "", "markets": []}


def test_kalshi_events(sim):
    h, s = sim
    events, _ = sweep_kalshi(s, h.kalshi_url, "/events", "events", limit=200, with_nested_markets="true")
    assert events and not any(e["series_ticker"].startswith("KXMVE") for e in events)
    assert len({e["event_ticker"] for e in events}) == len(events)
    r = s.get(h.kalshi_url + "/events", params={"limit": 201})
    assert r.status_code == 400
    e = events[0]
    one = s.get(f"{h.kalshi_url}/events/{e['event_ticker']}").json()
    assert one["event"]["event_ticker"] == e["event_ticker"] and isinstance(one["markets"], list)


def test_clob_markets_cursor(sim):
    h, s = sim
    cur, conds, pages = "MA==", [], 0
    while cur != "LTE=":
        page = s.get(h.clob_url + "/markets", params={"next_cursor": cur}).json()
        conds += [m["condition_id"] for m in page["data"]]
        assert page["limit"] == 1000 and page["count"] == len(page["data"])
        cur, pages = page["next_cursor"], pages + 1
        if cur != "LTE=":
            assert int(base64.b64decode(cur)) == 1000 * pages
    assert len(conds) == len(set(conds))
    assert set(conds) == {r["market_id"] for r in h.truth()["polymarket"]}
