"""Hypothesis fuzz of kalshi_parse: mutated example payloads never crash the parser.

Every mutation either parses into records with sane values or raises BadRecord; a page of
mutated markets run through the real DISCOVER/SNAPSHOT page handling publishes the good ones
and counts every bad one as skipped.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import validate, wire
from collector.config import Config, Snapshot
from fetchers import kalshi, kalshi_parse as kp
from fetchers.base import PhaseContext, PhaseCounters
from tests.conftest import API_EXAMPLES

EXAMPLES = API_EXAMPLES / "kalshi"


def _markets() -> list[dict]:
    ms = list(json.loads((EXAMPLES / "markets_page.json").read_text())["markets"])
    ms.append(json.loads((EXAMPLES / "market_get_open_verbatim_2026-05.json").read_text())["market"])
    for e in json.loads((EXAMPLES / "events_nested.json").read_text())["events"]:
        ms.extend(e["markets"])
    return ms


MARKETS = _markets()
KEYS = sorted({k for m in MARKETS for k in m} | {"yes_bid", "yes_ask", "last_price", "volume", "settlement_value"})
CANDLES = [c for f in ("candlesticks.json", "candlesticks_sparse_reconstructed.json")
           for c in json.loads((EXAMPLES / f).read_text())["candlesticks"]]

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["", "0.5000", "1.0000", "abc", "2026-05-20T03:59:00Z",
                                           "0001-01-01T00:00:00Z", "yes", "scalar", "finalized", "nan",
                                           "1e19", "1e20", "-1", "99", "2200-01-01T00:00:00Z", "x" * 1001,
                                           "y" * 25_000]),
    st.sampled_from([1e19, 10**20, -1.0, 99.0, 1e308]),
)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=6)
mutation = st.tuples(st.sampled_from(["set", "del"]), st.sampled_from(KEYS), json_value)


def mutate(m: dict, muts) -> dict:
    m = copy.deepcopy(m)
    for op, key, value in muts:
        if op == "del":
            m.pop(key, None)
        else:
            m[key] = value
    return m


def check_price(p):
    assert p is None or (isinstance(p, float) and 0.0 <= p <= 1.0 and math.isfinite(p))


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(MARKETS))), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_market_parses_or_is_rejected(idx, muts):
    m = mutate(MARKETS[idx], muts)
    records = []
    for fn in (lambda: kp.market_upsert(m, 1_800_000_000.0, "S", "C"), lambda: kp.price_snapshot(m, 1_800_000_900),
               lambda: kp.resolution(m, 1_800_000_000.0)):
        try:
            r = fn()
        except kp.BadRecord:
            continue
        if r is not None:
            records.append(r)
    for r in records:
        if isinstance(r, wire.PriceSnapshot):
            for p in (r.yes_price, r.best_bid, r.best_ask):
                check_price(p)
        if isinstance(r, wire.Resolution):
            assert r.status in ("closed", "resolved", "voided")
            assert (r.resolution is not None) == (r.status == "resolved")
        if isinstance(r, wire.MarketUpsert):
            assert r.status in ("active", "closed")
            assert all(isinstance(v, str) for v in r.extra.values())
    # whatever parsed must cross the wire
    wire.decode(wire.encode(wire.Batch(sender="f", seq=1, source="simulator", records=records)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(range(len(CANDLES))), st.lists(
    st.tuples(st.sampled_from(["set", "del"]),
              st.sampled_from(["end_period_ts", "yes_bid", "yes_ask", "price", "volume_fp", "volume"]),
              json_value), min_size=1, max_size=3))
def test_mutated_candle_parses_or_is_rejected(idx, muts):
    c = mutate(CANDLES[idx], muts)
    try:
        s = kp.candle_snapshot(c, "X")
    except kp.BadRecord:
        return
    for p in (s.yes_price, s.best_bid, s.best_ask):
        check_price(p)


# Envelopes: Kalshi's field names with fuzzed values, so parses succeed as often as they fail.
envelope = st.one_of(json_value, st.fixed_dictionaries({}, optional={
    "markets": st.one_of(json_value, st.lists(json_value, max_size=3)),
    "cursor": st.one_of(json_value, st.sampled_from(["", "next-page"])),
    "event_ticker": st.one_of(json_value, st.sampled_from(["KXEV-26", "A,B", ""])),
    "series_ticker": json_value, "category": json_value,
    "categories": st.one_of(json_value, st.lists(st.sampled_from(["Politics", "", 3]), max_size=2)),
    "market_settled_ts": st.one_of(json_value, st.sampled_from(["2026-05-20T03:59:00Z", "0001-01-01T00:00:00Z"])),
}))


def _or_rejected(fn):
    """(True, value) when fn parses, (False, None) when it raises the one documented BadRecord."""
    try:
        return True, fn()
    except kp.BadRecord:
        return False, None


@settings(max_examples=200, deadline=None)
@given(envelope)
def test_any_envelope_or_event_is_parsed_into_what_it_holds_or_rejected(body):
    """Each envelope reader either raises BadRecord or returns exactly what the body holds, typed."""
    ok, got = _or_rejected(lambda: kp.page(body, "markets"))
    if ok:
        items, cursor = got
        assert items == (body.get("markets") or [])
        assert cursor is None or (type(cursor) is str and cursor == body["cursor"] and cursor)
    ok, got = _or_rejected(lambda: kp.event_info(body))
    if ok:
        ticker, series, category = got
        assert ticker == body["event_ticker"] and type(ticker) is str and ticker and "," not in ticker
        assert series == (body.get("series_ticker") or None) and category == (body.get("category") or None)
    ok, got = _or_rejected(lambda: kp.series_category(body))
    if ok:
        cats = body.get("categories")
        assert got in (body.get("category"), cats[0] if type(cats) is list and cats else None, None)
        assert got is None or (type(got) is str and got)
    ok, got = _or_rejected(lambda: kp.cutoff_unix(body))
    if ok:
        settled = body.get("market_settled_ts")
        assert got is None or (type(got) is int and time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(got))
                               == settled[:19])


class Pages:
    """A stand-in exchange serving one fixed page (the integration tests use the real simulator)."""

    def __init__(self, items):
        self.items = items

    def get_json(self, url, params=None, decoder=None):  # plain dicts: the typed path is HttpClient's
        params = params or {}
        if url.endswith("/markets"):
            return {"markets": self.items, "cursor": ""}
        if url.endswith("/events") and params.get("with_nested_markets") and params.get("status") == "open":
            return {"events": [{"event_ticker": "E", "series_ticker": "S", "markets": self.items}]}
        if url.endswith("/events"):
            return {"events": [], "cursor": ""}
        raise kalshi.ApiRefused("not found", 404)

    def post_json(self, url, body):
        raise AssertionError("Kalshi reads never POST")


def expected(items, parse):
    """Tickers a phase must publish and how many records it must skip, by the parser's verdict."""
    published, skipped = [], 0
    for m in items:
        if kp.is_parlay(m):
            continue
        try:
            t = parse(m)
        except kp.BadRecord:
            skipped += 1
            continue
        if t not in published:
            published.append(t)
    return published, skipped


def parse_for_discover(m):
    kp.resolution(m, 1_800_000_000.0)
    return kp.market_upsert(m, 1_800_000_000.0).market_id


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(MARKETS))), st.lists(mutation, max_size=3)),
                min_size=1, max_size=8))
def test_bad_records_are_skipped_and_counted_the_rest_published(spec):
    items = [mutate(dict(MARKETS[idx], ticker=f"T{n}-{idx}"), muts) for n, (idx, muts) in enumerate(spec)]
    for phase, parse, kind in ((kalshi.snapshot, lambda m: kp.price_snapshot(m, 1_800_000_900).market_id, wire.PriceSnapshot),
                               (kalshi.discover, parse_for_discover, wire.MarketUpsert)):
        out, counters = [], PhaseCounters()
        cfg = Config(snapshot=Snapshot(book_depth=0))  # order books have their own tests (test_books_*.py)
        ctx = PhaseContext(platform="kalshi", phase=phase.__name__, cfg=cfg, http=Pages(items),
                           publish=out.append, counters=counters, log=logging.getLogger("fuzz"), grid_time=1_800_000_900)
        kalshi._catalog = kalshi.Catalog()
        phase(ctx)
        want, skipped = expected(items, parse)
        assert [r.market_id for r in out if isinstance(r, kind)] == want
        assert counters.skipped == skipped
        assert all(isinstance(r, (wire.PriceSnapshot, wire.MarketUpsert, wire.Resolution)) for r in out)
        assert [validate.problem(r) for r in out] == [None] * len(out)  # nothing out of bounds leaves
        msgspec.msgpack.encode(out)


def test_absurd_values_skip_only_their_market_with_a_counter_and_a_log_line(caplog):
    good = dict(MARKETS[0], ticker="GOOD")
    items = [good,
             dict(good, ticker="HUGEVOL", volume_fp="1e19"),
             dict(good, ticker="BIGBID", yes_bid_dollars="99"),
             dict(good, ticker="LONGTITLE", title="x" * 1001),
             dict(good, ticker="LONGRULES", rules_primary="r" * 20_001),
             dict(good, ticker="Y2200", close_time="2200-01-01T00:00:00Z"),
             dict(good, ticker="kx-lower")]  # not a ticker's documented form (collector/platforms.py)
    for phase, kind, skipped in ((kalshi.snapshot, wire.PriceSnapshot, {"HUGEVOL", "BIGBID", "kx-lower"}),
                                 (kalshi.discover, wire.MarketUpsert,
                                  {"HUGEVOL", "LONGTITLE", "LONGRULES", "Y2200", "kx-lower"})):
        out, counters = [], PhaseCounters()
        ctx = PhaseContext(platform="kalshi", phase=phase.__name__, cfg=Config(snapshot=Snapshot(book_depth=0)),
                           http=Pages(items), publish=out.append, counters=counters, log=logging.getLogger("fuzz"),
                           grid_time=1_800_000_900)
        kalshi._catalog = kalshi.Catalog()
        caplog.clear()
        phase(ctx)
        stored = {r.market_id for r in out if isinstance(r, kind)}
        assert stored == {i["ticker"] for i in items} - skipped, phase.__name__
        assert counters.skipped == len(skipped)
        assert all(f"skipped market {t}" in caplog.text for t in skipped)
