"""kalshi_parse against every example payload in tests/fixtures/api/kalshi, plus the legacy form."""

from __future__ import annotations

import json

import pytest

from collector import wire
from fetchers import kalshi_parse as kp
from tests.kalshi_examples import T0, all_markets, load, to_legacy, whole_counts


def test_markets_page_upserts_with_documented_fields():
    items, cursor = kp.page(load("markets_page.json"), "markets")
    assert cursor == "CgwIyP6WvwYQiN+p9AESE0tYU0VOQVRFTUlELTI2LUFFTFM"
    active, final = (kp.market_upsert(m, T0, "KXSPACEX", "Science and Technology") for m in items)
    assert active.market_id == "KXSPACEXSTARSHIP-12-26MAY19"
    assert active.status == "active" and final.status == "closed"
    assert active.title == "Will SpaceX launch another Starship by May 19, 2026?"
    assert active.description.startswith("If SpaceX launches Starship flight test number 12")
    assert "Kalshi Rule 6.3b" in active.description  # rules_secondary appended
    assert final.description == items[1]["rules_primary"]  # empty rules_secondary not appended
    assert active.outcomes == ["Yes", "No"]
    assert active.volume == pytest.approx(4918.41)
    assert active.liquidity is None
    assert active.end_date == "2026-05-20T03:59:00Z"
    assert active.created_at == "2026-05-13T01:51:41Z" and active.updated_at == "2026-05-13T02:30:00Z"
    assert active.category == "Science and Technology"
    assert active.extra == {
        "event_ticker": "KXSPACEXSTARSHIP-12", "series_ticker": "KXSPACEX",
        "yes_sub_title": "Before May 20", "no_sub_title": "Before May 20", "market_type": "binary",
        "open_time": "2026-05-13T02:30:00Z", "close_time": "2026-05-20T03:59:00Z",
    }
    wire.decode(wire.encode(wire.Batch(sender="t", seq=1, source="simulator", records=[active, final])))


def test_snapshot_rule_midpoint_last_trade_or_none():
    items, _ = kp.page(load("markets_page.json"), "markets")
    s = kp.price_snapshot(items[0], 1_790_000_100)
    assert (s.platform, s.market_id, s.t) == ("kalshi", "KXSPACEXSTARSHIP-12-26MAY19", 1_790_000_100)
    assert s.best_bid == 0.60 and s.best_ask == 0.67 and s.yes_price == pytest.approx(0.635)
    assert s.volume == pytest.approx(4918.41) and s.liquidity is None
    # both sides empty (bid 0 / ask 1, size 0): the last trade, no bid/ask
    s = kp.price_snapshot(items[1], T0)
    assert (s.yes_price, s.best_bid, s.best_ask) == (0.998, None, None)
    # one side only: still the last trade, and only that side is stored
    m = dict(items[0], yes_ask_size_fp="0.00")
    assert kp.quote(m) == (0.60, 0.60, None)
    # never traded and no book: no price at all
    m = dict(items[0], yes_ask_size_fp="0.00", yes_bid_size_fp="0.00", last_price_dollars="0.0000")
    assert kp.quote(m) == (None, None, None)
    # no sizes in the payload: the prices alone decide whether a side exists
    m = {k: v for k, v in items[0].items() if not k.endswith("_size_fp")}
    assert kp.quote(m) == (0.635, 0.60, 0.67)
    assert kp.quote(dict(m, yes_bid_dollars="0.0000", yes_ask_dollars="1.0000")) == (0.60, None, None)
    # a crossed book has no midpoint: the last trade
    assert kp.quote(dict(m, yes_bid_dollars="0.7000")) == (0.60, 0.70, 0.67)
    # never-quoted parlay shows ask 0.0000: not a quote
    assert kp.quote(dict(m, yes_ask_dollars="0.0000")) == (0.60, 0.60, None)


def test_verbatim_market_get():
    m = load("market_get_open_verbatim_2026-05.json")["market"]
    u = kp.market_upsert(m, T0)
    assert u.market_id == "KXSPACEXSTARSHIP-12-26MAY19" and u.status == "active" and u.category is None
    assert "series_ticker" not in u.extra
    assert kp.resolution(m, T0) is None


def test_events_nested_gives_series_category_and_both_markets():
    body = load("events_nested.json")
    events, cursor = kp.page(body, "events")
    assert cursor
    ticker, series, category = kp.event_info(events[0])
    assert (ticker, series, category) == ("KXNFLRETIRE-MSTAFFORD9", "KXNFLRETIRE", "Sports")
    done, live = events[0]["markets"]
    r = kp.resolution(done, T0)
    assert (r.status, r.resolution, r.winning_outcome, r.settlement_value) == ("resolved", "NO", "No", 0.0)
    assert r.resolved_at == "2026-09-10T00:12:19Z" and r.closed_at == "2026-09-09T23:42:18Z"
    assert kp.resolution(live, T0) is None
    u = kp.market_upsert(live, T0, series, category)
    assert u.extra["series_ticker"] == "KXNFLRETIRE" and u.category == "Sports"
    assert u.end_date == "2027-09-30T03:59:00Z"
    assert kp.price_snapshot(live, T0).yes_price == pytest.approx(0.565)


def test_resolution_rules():
    final_yes = load("markets_page.json")["markets"][1]
    r = kp.resolution(final_yes, T0)
    assert (r.status, r.resolution, r.settlement_value, r.detail) == ("resolved", "YES", 1.0, "kalshi:finalized")
    assert r.resolved_at == "2026-08-05T14:32:40Z"
    for status in ("determined", "disputed", "amended", "closed"):
        m = dict(final_yes, status=status)
        del m["settlement_ts"]
        r = kp.resolution(m, T0)
        assert (r.status, r.resolution, r.detail) == ("closed", None, f"kalshi:{status}")
        assert r.resolved_at is None and r.closed_at == "2026-08-05T14:02:38Z"
    r = kp.resolution(dict(final_yes, result="scalar", settlement_value_dollars="0.3700"), T0)
    assert (r.status, r.resolution, r.settlement_value, r.detail) == ("voided", None, 0.37, "kalshi:scalar")
    r = kp.resolution(dict(final_yes, result=""), T0)
    assert (r.status, r.detail) == ("closed", "kalshi:finalized-no-result")
    with pytest.raises(kp.BadRecord):
        kp.resolution(dict(final_yes, result="maybe"), T0)
    with pytest.raises(kp.BadRecord):
        kp.resolution(dict(final_yes, status="settled"), T0)  # a filter word, never a response status
    for status in ("initialized", "inactive", "active"):
        assert kp.resolution(dict(final_yes, status=status), T0) is None
        assert kp.market_upsert(dict(final_yes, status=status), T0).status == "active"


@pytest.mark.parametrize("idx", range(5))
def test_legacy_cents_and_fixed_point_give_identical_records(idx):
    current = whole_counts(all_markets()[idx])
    legacy = to_legacy(current)
    assert "yes_bid_dollars" not in legacy and isinstance(legacy["yes_bid"], int)
    assert kp.market_upsert(current, T0, "S", "C") == kp.market_upsert(legacy, T0, "S", "C")
    assert kp.price_snapshot(current, T0 + 900) == kp.price_snapshot(legacy, T0 + 900)
    assert kp.resolution(current, T0) == kp.resolution(legacy, T0)
    # the transition period carried both forms side by side: same answer again
    both = dict(legacy, **current)
    assert kp.price_snapshot(both, T0 + 900) == kp.price_snapshot(current, T0 + 900)


def test_numbers_by_json_type():
    assert kp.k_price({"yes_bid": 67}, "yes_bid") == 0.67  # legacy int cents
    assert kp.k_price({"yes_bid_dollars": "0.6700"}, "yes_bid") == 0.67
    assert kp.k_price({"close": "0.0700"}, "close") == 0.07  # historical candle: unsuffixed dollar string
    assert kp.k_price({"x_dollars": 0.5}, "x") == 0.5  # a number where a string was expected
    assert kp.k_price({"x_dollars": "0.000125"}, "x") == 0.000125  # sub-penny
    assert kp.k_count({"volume": 4918}, "volume") == 4918.0
    assert kp.k_count({"volume_fp": "4918.41"}, "volume") == 4918.41
    assert kp.k_price({}, "x") is None and kp.k_count({"volume_fp": None}, "volume") is None
    for bad in ({"x_dollars": "abc"}, {"x_dollars": [1]}, {"x_dollars": True}, {"x_dollars": "1.5"},
                {"x_dollars": "nan"}, {"x": 150}, {"x_dollars": "-0.1"}):
        with pytest.raises(kp.BadRecord):
            kp.k_price(bad, "x")
    with pytest.raises(kp.BadRecord):
        kp.k_count({"volume_fp": "-3"}, "volume")


def test_times():
    assert kp.iso("2026-05-13T01:51:41.778164Z") == "2026-05-13T01:51:41Z"
    assert kp.iso("2026-05-20T03:59:00Z") == "2026-05-20T03:59:00Z"
    assert kp.iso("2026-05-20T03:59:00+00:00") == "2026-05-20T03:59:00Z"
    assert kp.iso("0001-01-01T00:00:00Z") is None and kp.iso("") is None and kp.iso(None) is None
    assert kp.unix("2026-07-28T00:00:00Z") == 1785196800
    for bad in ("yesterday", "2026-05-20 03:59:00", "2026-05-20T03:59:00+02:00", 1785196800):
        with pytest.raises(kp.BadRecord):
            kp.iso(bad)
    m = dict(load("market_get_open_verbatim_2026-05.json")["market"], created_time="0001-01-01T00:00:00Z")
    assert kp.market_upsert(m, T0).created_at is None


def test_series_cutoff_candles_errors_last_page():
    assert kp.series_category(load("series.json")["series"]) == "Economics"
    assert kp.series_category({"categories": ["Crypto"]}) == "Crypto"
    assert kp.series_category({}) is None
    assert kp.cutoff_unix(load("historical_cutoff_verbatim_2026-09.json")) == 1785196800
    assert kp.page(load("markets_page_last_empty.json"), "markets") == ([], None)
    assert kp.page({"cursor": None, "markets": [{}]}, "markets") == ([{}], None)
    assert kp.page({"markets": []}, "markets") == ([], None)
    assert kp.page({"cursor": "abc", "markets": []}, "markets") == ([], "abc")  # empty page, not the end

    body = load("candlesticks.json")
    a, b = (kp.candle_snapshot(c, body["ticker"]) for c in body["candlesticks"])
    assert (a.t, a.best_bid, a.best_ask, a.yes_price, a.source) == (1778710380, 0.70, 0.74, 0.72, "backfill")
    assert b.yes_price == pytest.approx(0.575) and b.volume == pytest.approx(30203.09)
    body = load("candlesticks_sparse_reconstructed.json")
    traded, quiet = (kp.candle_snapshot(c, body["ticker"]) for c in body["candlesticks"])
    assert traded.yes_price == pytest.approx(0.0695)
    # no trade, ask side gone, bid 0: the previous trade price, no bid, no ask
    assert (quiet.yes_price, quiet.best_bid, quiet.best_ask, quiet.volume) == (0.001, None, None, 0.0)
    legacy_candle = {"end_period_ts": 60, "yes_bid": {"close": 40}, "yes_ask": {"close": 44},
                     "price": {"close": 42}, "volume": 7}
    assert kp.candle_snapshot(legacy_candle, "X").yes_price == 0.42


def test_parlays_and_bad_tickers():
    assert kp.is_parlay({"ticker": "KXMVESPORTSMULTIGAMEEXTENDED-S2026-ABC"})
    assert kp.is_parlay({"ticker": "X", "mve_collection_ticker": "KXMVECROSSCATEGORY"})
    assert not kp.is_parlay(load("market_get_open_verbatim_2026-05.json")["market"])
    for bad in ({}, {"ticker": ""}, {"ticker": 5}, {"ticker": "A,B"}, {"ticker": "A\nB"}, []):
        with pytest.raises(kp.BadRecord):
            kp.ticker_of(bad)
