"""The book fetch steps against scripted answers: what becomes "no book", what is an error."""

from __future__ import annotations

import logging

import msgspec

from collector import wire
from collector.config import Config, Kalshi, Polymarket
from fetchers import books_kalshi, books_polymarket
from fetchers.base import PhaseContext, PhaseCounters
from fetchers.http import ApiRefused


class Scripted:
    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def _next(self, url, payload):
        self.calls.append((url, payload))
        a = self.answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    def get_json(self, url, params=None, decoder=None):
        return self._next(url, params)

    def post_json(self, url, body, decoder=None):
        return self._next(url, body)


def run(fetch, http, markets, memo: dict | None = None):
    """One SNAPSHOT step; ``memo`` is the fetcher process's memo (shared by its phases, new per process)."""
    cfg = msgspec.structs.replace(Config(), polymarket=Polymarket(base_url="http://clob.test"),
                                  kalshi=Kalshi(base_url="http://kalshi.test"))
    out, counters = [], PhaseCounters()
    ctx = PhaseContext(platform="x", phase="snapshot", cfg=cfg, http=http, publish=out.append, counters=counters,
                       log=logging.getLogger("test"), grid_time=900, memo={} if memo is None else memo)
    fetch(ctx, 900, markets)
    return out, counters


def test_polymarket_missing_token_is_no_book_and_an_error_body_is_an_error():
    book = {"asset_id": "t1", "bids": [{"price": "0.4", "size": "10"}], "asks": [], "timestamp": "5", "hash": "ab"}
    out, counters = run(books_polymarket.fetch, Scripted([[book]]), {"m1": (["t1", "n1"], 5.0), "m2": (["t2"], 1.0)})
    got = {b.market_id: b for b in out}
    assert got["m1"].found and got["m1"].bid_px == [400000] and got["m1"].book_ms == 5
    assert not got["m2"].found  # left out of the batch: "no book", asked once
    out, counters = run(books_polymarket.fetch, Scripted([{"error": "error getting the orderbook"}]),
                        {"m1": (["t1"], 5.0)})
    assert out == [] and counters.errors == 1  # a failed request is not "no book"
    out, counters = run(books_polymarket.fetch, Scripted([ApiRefused("404", 404, "")]), {"m1": (["t1"], 5.0)})
    assert [b.found for b in out] == [False]


def test_kalshi_repeated_tickers_unasked_entries_ignored_and_401_turns_depth_off():
    process = {}  # one fetcher process's memo
    entry = {"ticker": "A", "orderbook_fp": {"yes_dollars": [["0.4", "3"]], "no_dollars": [["0.5", "2"]]}}
    stranger = {"ticker": "Z", "orderbook_fp": {"yes_dollars": [["0.9", "1"]], "no_dollars": []}}
    http = Scripted([{"orderbooks": [stranger, entry]}])
    out, _ = run(books_kalshi.fetch, http, {"A": 1.0, "B": 2.0})
    assert sorted(http.calls[0][1]) == [("tickers", "A"), ("tickers", "B")]  # repeated, never "A,B"
    got = {b.market_id: b for b in out}
    assert set(got) == {"A", "B"} and not got["B"].found
    assert (got["A"].bid_px, got["A"].ask_px) == ([400000], [500000])
    http = Scripted([ApiRefused("401", 401, "")])
    out, counters = run(books_kalshi.fetch, http, {"A": 1.0}, process)
    assert out == [] and "kalshi order books off: HTTP 401" in counters.notes[0]
    out, counters = run(books_kalshi.fetch, Scripted([]), {"A": 1.0}, process)  # next cycle: any request would fail
    assert out == [] and counters.notes[0].startswith("kalshi order books off")
    assert not hasattr(books_kalshi, "_refused")  # the state is the process's, not the module's
    http = Scripted([{"orderbooks": [entry]}])  # a restarted fetcher (a new memo) asks again
    out, counters = run(books_kalshi.fetch, http, {"A": 1.0}, {})
    assert len(http.calls) == 1 and [b.found for b in out] == [True] and not counters.notes
    assert isinstance(got["A"], wire.OrderBook)
