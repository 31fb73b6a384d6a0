"""Every simulator response has the keys and JSON types of the recorded examples in tests/fixtures/api.

A key of an example may be absent only where the docs say the API omits it (zero-valued Gamma
fields, lifecycle-dependent fields, fields the docs list as dropped).
"""

from __future__ import annotations

import json

import pytest
import requests

from simulator.server import start
from tests.api_shapes import load, shape_errors
from tests.conftest import API_EXAMPLES

EXAMPLES = API_EXAMPLES

GAMMA_OMITTABLE = {
    # zero-valued volume/liquidity/price-change fields are omitted (polymarket.md §2.5, rule 5)
    "volume", "volumeNum", "volume24hr", "volume1wk", "volume1mo", "volume1yr", "volumeClob",
    "volume24hrClob", "volume1wkClob", "volume1moClob", "volume1yrClob", "volume1wkAmm",
    "volume1moAmm", "volume1yrAmm", "liquidityAmm", "oneHourPriceChange", "oneDayPriceChange",
    "oneWeekPriceChange", "oneMonthPriceChange", "oneYearPriceChange", "lastTradePrice",
    # lifecycle / kind dependent
    "tags", "closedTime", "umaEndDate", "umaResolutionStatus", "gameStartTime", "gameId",
    "sportsMarketType", "line", "secondsDelay", "negRiskMarketID", "clobRewards",
    "automaticallyResolved", "$schema", "positionIds",
}
KALSHI_OMITTABLE = {"settlement_ts", "settlement_value_dollars", "custom_strike", "strike_type",
                    "fractional_trading_enabled", "response_price_units", "floor_strike"}


@pytest.fixture(scope="module")
def sim():
    h = start(seed=11, markets=2000, speed=0)
    yield h, requests.Session()
    h.stop()


def test_examples_dir_found():
    assert (EXAMPLES / "polymarket" / "gamma_market_active_binary.json").exists()


def test_gamma_keyset_and_market_shapes(sim):
    h, s = sim
    page = s.get(h.gamma_url + "/markets/keyset", params={"limit": 100, "include_tag": "true"}).json()
    assert shape_errors(load("polymarket/gamma_markets_keyset_page_reconstructed.json"), page,
                        GAMMA_OMITTABLE) == []
    for m in page["markets"]:
        assert shape_errors(load("polymarket/gamma_market_active_binary.json"), m, GAMMA_OMITTABLE) == []
        assert "tags" in m and m["events"][0]["category"] is None and "tags" not in m["events"][0]
    neg = [m for m in page["markets"] if m.get("negRisk")]
    assert neg and shape_errors(load("polymarket/gamma_market_negrisk_member_active.json"), neg[0],
                                GAMMA_OMITTABLE) == []
    one = s.get(f"{h.gamma_url}/markets/{page['markets'][0]['id']}").json()
    assert one["$schema"].endswith("Market.json") and "tags" not in one
    closed = s.get(h.gamma_url + "/markets/keyset", params={"limit": 100, "closed": "true"}).json()
    resolved = [m for m in closed["markets"] if m.get("umaResolutionStatus") == "resolved"]
    assert resolved
    for m in resolved:
        assert shape_errors(load("polymarket/gamma_market_closed_resolved_binary.json"), m,
                            GAMMA_OMITTABLE) == []
        assert len(m["closedTime"]) == 22 and m["closedTime"].endswith("+00")


def test_gamma_events_and_errors(sim):
    h, s = sim
    events = s.get(h.gamma_url + "/events", params={"limit": 5}).json()
    assert isinstance(events, list) and events
    assert all(e["tags"] and isinstance(e["volume"], (int, float)) for e in events)
    assert all("tags" not in m for e in events for m in e["markets"])
    r = s.get(h.gamma_url + "/markets/keyset", params={"offset": 10})
    assert r.status_code == 422 and r.json() == load("polymarket/gamma_error_422_keyset_offset.json")
    r = s.get(h.gamma_url + "/markets", params={"offset": 10001})
    assert r.status_code == 422 and set(r.json()) == {"type", "error"}
    r = s.get(h.gamma_url + "/markets", params={"limit": 500})
    assert r.status_code == 200 and len(r.json()) == 100 and r.headers["deprecation"] == "true"


def test_clob_shapes(sim):
    h, s = sim
    m = s.get(h.gamma_url + "/markets/keyset", params={"limit": 1}).json()["markets"][0]
    tokens = json.loads(m["clobTokenIds"])
    book = s.get(h.clob_url + "/book", params={"token_id": tokens[0]}).json()
    assert shape_errors(load("polymarket/clob_book.json"), book) == []
    cm = s.get(f"{h.clob_url}/markets/{m['conditionId']}").json()
    assert shape_errors(load("polymarket/clob_market_active.json"), cm) == []
    page = s.get(h.clob_url + "/markets").json()
    assert shape_errors(load("polymarket/clob_markets_page_reconstructed.json"), page) == []
    hist = s.get(h.clob_url + "/prices-history", params={"market": tokens[0], "interval": "1d",
                                                        "fidelity": 10}).json()
    assert hist["history"] and shape_errors(load("polymarket/clob_prices_history.json"), hist) == []
    req = [{"token_id": t, "side": "BUY"} for t in tokens]
    resp = s.post(h.clob_url + "/prices", json=req).json()
    example = load("polymarket/clob_prices_post_response.json")
    assert set(resp) == set(tokens)
    assert all(shape_errors(next(iter(example.values())), v) == [] for v in resp.values())
    assert isinstance(s.get(h.clob_url + "/price", params={"token_id": tokens[0], "side": "BUY"}).json()["price"], str)
    r = s.get(h.clob_url + "/book", params={"token_id": "123"})
    assert r.status_code == 404 and r.json() == {"error": "No orderbook exists for the requested token id"}
    r = s.post(h.clob_url + "/prices", json=req * 251)
    assert r.status_code == 400 and "error" in r.json()


def test_kalshi_shapes(sim):
    h, s = sim
    page = s.get(h.kalshi_url + "/markets", params={"limit": 1000}).json()
    example = load("kalshi/markets_page.json")
    assert isinstance(page["cursor"], str)
    by_status = {}
    for m in page["markets"]:
        by_status.setdefault(m["status"], m)
    assert shape_errors(example["markets"][0], by_status["active"], KALSHI_OMITTABLE) == []
    fin = by_status["finalized"]
    assert shape_errors(example["markets"][1], fin, KALSHI_OMITTABLE - {"settlement_ts",
                                                                         "settlement_value_dollars"}) == []
    assert list(fin) == sorted(fin)        # Kalshi keys come out sorted
    one = s.get(f"{h.kalshi_url}/markets/{by_status['active']['ticker']}").json()
    assert shape_errors(load("kalshi/market_get_open_verbatim_2026-05.json"), one, KALSHI_OMITTABLE) == []
    events = s.get(h.kalshi_url + "/events", params={"with_nested_markets": "true", "limit": 20}).json()
    assert shape_errors(load("kalshi/events_nested.json"), events, KALSHI_OMITTABLE) == []
    ser = s.get(f"{h.kalshi_url}/series/{events['events'][0]['series_ticker']}").json()
    assert shape_errors(load("kalshi/series.json"), ser) == []
    cut = s.get(h.kalshi_url + "/historical/cutoff").json()
    assert shape_errors(load("kalshi/historical_cutoff_verbatim_2026-09.json"), cut) == []


def test_kalshi_candles_and_errors(sim):
    h, s = sim
    now = int(h.now())
    page = s.get(h.kalshi_url + "/markets", params={"status": "open", "mve_filter": "exclude",
                                                   "limit": 50}).json()
    traded = no_trade = None
    for m in page["markets"]:
        c = s.get(f"{h.kalshi_url}/series/S/markets/{m['ticker']}/candlesticks",
                  params={"start_ts": now - 3 * 86400, "end_ts": now, "period_interval": 1}).json()
        for candle in c["candlesticks"]:
            if "close_dollars" in candle["price"]:
                traded = traded or candle
            elif "previous_dollars" in candle["price"]:
                no_trade = no_trade or candle
        if traded and no_trade:
            break
    ex = load("kalshi/candlesticks_sparse_reconstructed.json")["candlesticks"]
    assert shape_errors(ex[0], traded) == [] and shape_errors(ex[1], no_trade) == []
    assert set(no_trade["price"]) == {"previous_dollars"}
    r = s.get(f"{h.kalshi_url}/series/S/markets/{m['ticker']}/candlesticks",
              params={"start_ts": now - 3600, "end_ts": now, "period_interval": 5})
    assert r.status_code == 400 and "msg" in r.json()
    r = s.get(f"{h.kalshi_url}/series/S/markets/{m['ticker']}/candlesticks",
              params={"start_ts": now - 5001 * 60, "end_ts": now, "period_interval": 1})
    assert r.status_code == 400 and "max candlesticks: 5000" in r.json()["details"]
    r = s.get(h.kalshi_url + "/markets", params={"limit": 1001})
    assert r.status_code == 400 and "lte" in r.json()["details"]
    r = s.get(h.kalshi_url + "/markets", params={"status": "active"})
    assert r.status_code == 400 and r.json() == {"details": "invalid status filter"}
