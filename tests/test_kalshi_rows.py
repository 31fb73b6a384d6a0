"""Typed page decoding (fetchers/kalshi_rows.py) gives the parsers exactly what a plain decode gives.

The fetcher decodes /markets and /events pages into structs holding only the fields the parsers
read; a field left out of ``MARKET_FIELDS`` would silently read as missing. So every record built
from a typed page is compared with the one built from a plain decode of the same bytes: the
fixture pages (current and legacy-cents form) and pages the simulator serves over real HTTP.
"""

from __future__ import annotations

import json

import msgspec
import pytest
import requests

from fetchers import kalshi_parse as kp
from fetchers.kalshi_rows import DECODERS, MARKET_FIELDS, MarketsPage
from tests.kalshi_examples import all_markets, to_legacy, whole_counts

simulator = pytest.importorskip("simulator.server")
T = 1_790_000_000


def outcome(f):
    try:
        return f()
    except kp.BadRecord as exc:
        return ("skipped", str(exc))


def records_of(body, key: str) -> list:
    """Everything the Kalshi parsers make of one page: per market its DISCOVER records (or the
    reason it is skipped) and its SNAPSHOT record; per event its catalog entry."""
    items, cursor = kp.page(body, key)
    out: list = [cursor]
    markets = items
    if key == "events":
        markets = []
        for e in items:
            out.append(outcome(lambda: kp.event_info(e)))
            markets.extend(e.get("markets") or [])
    for m in markets:
        out.append((kp.is_parlay(m), kp.ticker_of(m) if type(m.get("ticker")) is str else None,
                    outcome(lambda: kp.market_records(m, T, "S", "C")),
                    outcome(lambda: kp.price_snapshot(m, T))))
    return out


def assert_same(raw: bytes, key: str) -> int:
    typed = DECODERS[key].decode(raw)
    assert type(typed) is not dict
    plain = msgspec.json.decode(raw)
    assert records_of(typed, key) == records_of(plain, key)
    return len(plain[key] or [])


def test_every_fixture_market_gives_the_same_records_typed_and_plain():
    markets = all_markets()
    forms = markets + [to_legacy(whole_counts(m)) for m in markets]
    forms += [dict(m, floor_strike=99.5, cap_strike="120.25", mve_collection_ticker="KXMVECOLL-1") for m in markets[:3]]
    raw = msgspec.json.encode({"markets": forms, "cursor": "next"})
    assert assert_same(raw, "markets") == len(forms)
    read = {k for m in forms for k in m} & set(MARKET_FIELDS)
    assert {"ticker", "yes_bid_dollars", "yes_bid", "volume_fp", "volume", "close_time", "cap_strike"} <= read


def test_a_page_with_a_market_that_is_not_an_object_is_left_to_the_plain_decode():
    raw = json.dumps({"markets": [all_markets()[0], "junk"], "cursor": ""}).encode()
    with pytest.raises(msgspec.ValidationError):
        DECODERS["markets"].decode(raw)  # HttpClient then decodes it plain and the parser skips "junk"
    assert isinstance(DECODERS["markets"].decode(json.dumps({"markets": None}).encode()), MarketsPage)


@pytest.mark.parametrize("legacy", [False, True])
def test_simulator_pages_give_the_same_records_typed_and_plain(legacy):
    h = simulator.start(seed=11, markets=3000, speed=0, legacy_cents=legacy)
    try:
        seen = 0
        for path, key, params in (("/markets", "markets", {"limit": 1000}),
                                  ("/events", "events", {"limit": 200, "with_nested_markets": "true"})):
            for _ in range(3):
                resp = requests.get(h.kalshi_url + path, params=params, timeout=30)
                resp.raise_for_status()
                seen += assert_same(resp.content, key)
                cursor = resp.json().get("cursor")
                if not cursor:
                    break
                params = dict(params, cursor=cursor)
        assert seen > 100
    finally:
        h.stop()
