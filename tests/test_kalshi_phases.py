"""The Kalshi phases' request logic against a scripted exchange: pagination, filters, caching.

(The end-to-end behaviour against the simulator is in test_kalshi_sim.py; here each answer is
scripted so the edge cases — an empty page that carries a cursor, a repeated cursor — are certain.)
"""

from __future__ import annotations

import copy
import json
import logging

import msgspec
import pytest

from collector import wire
from collector.config import Config, Kalshi, Snapshot
from fetchers import kalshi, kalshi_catalog
from fetchers.base import PhaseContext, PhaseCounters
from tests.conftest import API_EXAMPLES

EXAMPLES = API_EXAMPLES / "kalshi"
BASE = "https://kalshi.test/trade-api/v2"


def example(name):
    return json.loads((EXAMPLES / name).read_text())


class Exchange:
    """Answers GETs from a script: path -> list of bodies (or a callable); records every call."""

    def __init__(self, script):
        self.script = {k: list(v) if isinstance(v, list) else v for k, v in script.items()}
        self.calls = []

    def get_json(self, url, params=None, decoder=None):  # plain dicts: the typed path is HttpClient's
        path = url[len(BASE):]
        self.calls.append((path, dict(params or {})))
        answer = self.script.get(path)
        if answer is None:
            raise kalshi.ApiRefused(f"GET {path}: HTTP 404", 404)
        if callable(answer):
            return answer(dict(params or {}))
        return answer.pop(0)

    def post_json(self, url, body):
        raise AssertionError("no POSTs")


def run(phase, exchange, include_parlays=False, grid_time=1_800_000_900):  # a sane time (2000-2100)
    cfg = msgspec.structs.replace(Config(), kalshi=Kalshi(base_url=BASE, include_parlays=include_parlays),
                                  snapshot=Snapshot(book_depth=0))  # order books: tests/test_books_*.py
    out, counters = [], PhaseCounters()
    ctx = PhaseContext(platform="kalshi", phase=phase.__name__, cfg=cfg, http=exchange, publish=out.append,
                       counters=counters, log=logging.getLogger("test"), grid_time=grid_time)
    kalshi._catalog = kalshi.Catalog()
    phase(ctx)
    return out, counters


def market(ticker, **kw):
    m = copy.deepcopy(example("markets_page.json")["markets"][0])
    m.update(ticker=ticker, **kw)
    return m


def test_snapshot_pages_past_empty_pages_until_the_cursor_ends():
    pages = [{"cursor": "c1", "markets": [market("A-1"), market("A-2")]},
             {"cursor": "c2", "markets": []},  # empty, but a cursor: not the end
             {"cursor": "c3", "markets": [market("A-3"), market("KXMVECROSS-X-1")]},
             {"cursor": None, "markets": [market("A-4")]}]
    ex = Exchange({"/markets": pages})
    out, counters = run(kalshi.snapshot, ex)
    assert [s.market_id for s in out] == ["A-1", "A-2", "A-3", "A-4"]  # no parlay
    assert all(isinstance(s, wire.PriceSnapshot) and s.t == 1_800_000_900 for s in out)
    assert [c[1].get("cursor") for c in ex.calls] == [None, "c1", "c2", "c3"]
    assert ex.calls[0][1] == {"status": "open", "limit": 1000, "mve_filter": "exclude"}
    for end in ({"cursor": ""}, {}):  # "" and a missing cursor end the sweep too
        ex = Exchange({"/markets": [dict({"markets": [market("B-1")]}, **end)]})
        assert len(run(kalshi.snapshot, ex)[0]) == 1 and len(ex.calls) == 1


def test_a_page_served_twice_is_asked_again_and_a_stuck_cursor_aborts():
    pages = [{"cursor": "c1", "markets": [market("A-1")]}, {"cursor": "c1", "markets": [market("A-1")]},
             {"cursor": "", "markets": [market("A-2")]}]
    ex = Exchange({"/markets": pages})
    out, counters = run(kalshi.snapshot, ex)
    assert [s.market_id for s in out] == ["A-1", "A-2"] and counters.errors == 0
    ex = Exchange({"/markets": lambda p: {"cursor": "stuck", "markets": [market("A-1")]}})
    out, counters = run(kalshi.snapshot, ex)
    assert len(ex.calls) == 2 + kalshi.CURSOR_REPEAT_RETRIES and counters.errors == 1
    assert "cursor repeated" in counters.notes[0] and len(out) == 1


def test_parlays_switch_drops_the_filter_and_keeps_them():
    ex = Exchange({"/markets": [{"cursor": "", "markets": [market("A-1"), market("KXMVECROSS-X-1")]}]})
    out, _ = run(kalshi.snapshot, ex, include_parlays=True)
    assert "mve_filter" not in ex.calls[0][1] and len(out) == 2


def test_full_discover_looks_each_series_up_once_and_uses_event_markets():
    body = example("events_nested.json")
    ev = body["events"][0]
    second = copy.deepcopy(ev)
    second["event_ticker"] = "KXNFLRETIRE-OTHER"
    for m in second["markets"]:
        m["ticker"] += "-B"
        m["event_ticker"] = "KXNFLRETIRE-OTHER"
    pages = [{"cursor": "e1", "events": [ev]}, {"cursor": "", "events": [second]},
             {"cursor": "", "events": []}]  # status=unopened: none
    series = {"series": dict(example("series.json")["series"], ticker="KXNFLRETIRE", category="Sports")}
    ex = Exchange({"/events": pages, "/series/KXNFLRETIRE": [series]})
    out, counters = run(kalshi.discover, ex)
    upserts = [r for r in out if isinstance(r, wire.MarketUpsert)]
    resolutions = [r for r in out if isinstance(r, wire.Resolution)]
    assert len(upserts) == 4 and {u.category for u in upserts} == {"Sports"}
    assert {u.extra["series_ticker"] for u in upserts} == {"KXNFLRETIRE"}
    assert [r.resolution for r in resolutions] == ["NO", "NO"]  # the finalized nested markets
    assert [c[0] for c in ex.calls] == ["/events", "/series/KXNFLRETIRE", "/events", "/events"]
    assert ex.calls[0][1]["with_nested_markets"] == "true"
    assert [c[1]["status"] for c in ex.calls if c[0] == "/events"] == ["open", "open", "unopened"]
    assert counters.listings_complete == [kalshi.FULL_SWEEP_NOTE] and counters.notes == []


def test_unknown_events_are_looked_up_in_one_batch():
    ms = [market("E1-A", event_ticker="E1"), market("E1-B", event_ticker="E1"), market("E2-A", event_ticker="E2")]
    events = {"cursor": "", "events": [{"event_ticker": "E1", "series_ticker": "S1", "category": "Old"},
                                       {"event_ticker": "E2", "series_ticker": "S2", "category": "Sports"}]}
    ex = Exchange({"/markets": [{"cursor": "", "markets": ms}], "/events": [events],
                   "/series/S1": [{"series": {"ticker": "S1", "category": "Crypto"}}]})
    cat = kalshi.Catalog()
    ctx = PhaseContext(platform="kalshi", phase="discover",
                       cfg=msgspec.structs.replace(Config(), kalshi=Kalshi(base_url=BASE)), http=ex,
                       publish=[].append, counters=PhaseCounters(), log=logging.getLogger("t"))
    cat.ensure(ctx, {"E1", "E2"})
    assert ex.calls[0] == ("/events", {"tickers": ex.calls[0][1]["tickers"], "limit": 200})
    assert sorted(ex.calls[0][1]["tickers"].split(",")) == ["E1", "E2"]
    assert cat.category_for("E1") == ("S1", "Crypto")
    assert cat.category_for("E2") == ("S2", "Sports")  # /series/S2 404: the event's category
    calls = len(ex.calls)
    cat.ensure(ctx, {"E1", "E2"})  # cached: no more requests
    assert len(ex.calls) == calls


def test_ticker_batches_keep_urls_short():
    tickers = [f"KXSOMETHINGLONG-26DEC31-T{i:05d}" for i in range(1000)]
    batches = list(kalshi_catalog.ticker_batches(BASE, tickers))
    assert sum(batches, []) == tickers
    assert all(len(b) <= kalshi_catalog.TICKERS_PER_REQUEST for b in batches)
    assert all(len(BASE) + len(",".join(b)) * 3 < kalshi_catalog.URL_MAX_BYTES for b in batches)


@pytest.mark.parametrize("phase", [kalshi.snapshot, kalshi.discover])
def test_a_bad_envelope_fails_the_phase_clearly(phase):
    ex = Exchange({"/markets": [{"cursor": "", "markets": {"not": "a list"}}],
                   "/events": [{"cursor": 5, "events": []}]})
    with pytest.raises(kalshi.BadPage):
        run(phase, ex)
