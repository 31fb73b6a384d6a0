"""The simulator's order-book endpoints over real HTTP: shapes, ordering traps, consistency with quotes."""

from __future__ import annotations

import json

import pytest
import requests

from fetchers.books_parse import kalshi_levels, polymarket_levels
from simulator.server import start
from tests.api_shapes import load, shape_errors


@pytest.fixture(scope="module")
def sim():
    h = start(seed=11, markets=1500, speed=0)
    s = requests.Session()
    yield h, s
    s.close()
    h.stop()


def millionths(x) -> int:
    return round(float(x) * 1_000_000)


def test_polymarket_books_are_worst_first_and_match_gamma_quotes(sim):
    h, s = sim
    rows = s.get(h.gamma_url + "/markets/keyset", params={"limit": 100, "closed": "false"}).json()["markets"]
    by_token = {json.loads(m["clobTokenIds"])[0]: m for m in rows}
    books = s.post(h.clob_url + "/books", json=[{"token_id": t} for t in by_token] + [{"token_id": "123"}]).json()
    assert books and len(books) <= len(by_token)  # the unknown token is left out, not an error
    assert shape_errors(load("polymarket/clob_books_post_response.json")[0], books[0]) == []
    for b in books:
        m = by_token[b["asset_id"]]
        bids, asks = [float(x["price"]) for x in b["bids"]], [float(x["price"]) for x in b["asks"]]
        assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best last, as on the real API
        levels = polymarket_levels(b, 5)
        assert levels.bid_px[0] == millionths(m["bestBid"]) and levels.ask_px[0] == millionths(m["bestAsk"])
    r = s.post(h.clob_url + "/books", json=[{"token_id": "1"}] * 501)
    assert r.status_code == 400


def _open_kalshi(s, h, n):
    page = s.get(h.kalshi_url + "/markets", params={"status": "open", "limit": 1000}).json()["markets"]
    return page[:n]


def test_kalshi_batch_books_match_market_quotes(sim):
    h, s = sim
    markets = _open_kalshi(s, h, 60)
    tickers = [m["ticker"] for m in markets]
    body = s.get(h.kalshi_url + "/markets/orderbooks", params=[("tickers", t) for t in tickers]).json()
    got = {e["ticker"]: e for e in body["orderbooks"]}
    assert set(got) == set(tickers)
    assert shape_errors(load("kalshi/orderbooks_multiple_reconstructed.json")["orderbooks"][0],
                        next(e for e in got.values() if e["orderbook_fp"]["yes_dollars"])) == []
    checked = 0
    for m in markets:
        fp = got[m["ticker"]]["orderbook_fp"]
        for side in ("yes_dollars", "no_dollars"):
            prices = [float(p) for p, _ in fp[side]]
            assert prices == sorted(prices)  # ascending: best bid last
        levels = kalshi_levels(got[m["ticker"]], 5)
        if levels.bid_px:
            assert levels.bid_px[0] == millionths(m["yes_bid_dollars"])
            assert levels.bid_sz[0] == round(float(m["yes_bid_size_fp"]))
            checked += 1
        if levels.ask_px:
            assert levels.ask_px[0] == millionths(m["yes_ask_dollars"])  # 1 - best NO bid
            assert levels.ask_sz[0] == round(float(m["yes_ask_size_fp"]))
    assert checked > 10
    single = s.get(f"{h.kalshi_url}/markets/{tickers[0]}/orderbook").json()
    assert single == {"orderbook_fp": got[tickers[0]]["orderbook_fp"]}


def test_kalshi_batch_traps_and_errors(sim):
    h, s = sim
    a, b = (m["ticker"] for m in _open_kalshi(s, h, 2))
    joined = s.get(h.kalshi_url + "/markets/orderbooks", params={"tickers": f"{a},{b}"}).json()
    assert joined == {"orderbooks": [{"orderbook_fp": {"no_dollars": [], "yes_dollars": []}, "ticker": f"{a},{b}"}]}
    unknown = s.get(h.kalshi_url + "/markets/NOPE-1/orderbook")
    assert unknown.status_code == 200 and unknown.json() == load("kalshi/orderbook_empty_observed.json")
    too_many = s.get(h.kalshi_url + "/markets/orderbooks", params=[("tickers", f"T{i}") for i in range(101)])
    assert too_many.status_code == 400
    assert s.get(h.kalshi_url + "/markets/orderbooks").status_code == 400


def test_kalshi_legacy_books_and_the_auth_option():
    h = start(seed=11, markets=200, speed=0, legacy_cents=True, kalshi_books_auth=True)
    try:
        markets = requests.get(h.kalshi_url + "/markets", params={"status": "open", "limit": 200}).json()["markets"]
        books = [requests.get(f"{h.kalshi_url}/markets/{m['ticker']}/orderbook").json() for m in markets[:20]]
        assert all(set(b) == {"orderbook"} for b in books)
        assert any(b["orderbook"]["yes"] and isinstance(b["orderbook"]["yes"][0][0], int) for b in books)
        empty = requests.get(h.kalshi_url + "/markets/NOPE/orderbook").json()
        assert empty == {"orderbook": {"no": None, "yes": None}}
        assert kalshi_levels(empty, 5).bid_px == []
        r = requests.get(h.kalshi_url + "/markets/orderbooks", params=[("tickers", markets[0]["ticker"])])
        assert r.status_code == 401
    finally:
        h.stop()
