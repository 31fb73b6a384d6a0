"""Kalshi market and event pages decoded typed: only the fields the parsers read.

Why: a Kalshi market object has ~45 fields (rules text, early-close conditions, price ranges...) of
which fetchers/kalshi_parse.py reads ~35; decoding a page into ``MarketsPage``/``EventsPage`` lets
msgspec skip the rest, which halves the decode, the largest single cost of a DISCOVER page
(issue 20: Kalshi fetcher CPU per page vs json.loads). Every field stays ``Any`` and each market
becomes a plain dict again (``as_dicts``), so the parsers see exactly what a plain decode gives
them, type quirks included (legacy integer cents, strings for numbers); a missing field and a
null read the same there (``dict.get``). A page that does not validate (a market that is not an
object, ``markets`` not a list) is decoded as plain JSON by HttpClient and parsed as before.

A field the parsers start reading must be added to ``MARKET_FIELDS``: tests/test_kalshi_rows.py
checks that typed and plain pages give identical records on every fixture market.
"""

from __future__ import annotations

from typing import Any

import msgspec

MARKET_FIELDS = (
    "ticker", "event_ticker", "mve_collection_ticker", "status", "result", "title",
    "rules_primary", "rules_secondary", "yes_sub_title", "no_sub_title", "market_type",
    "open_time", "close_time", "expected_expiration_time", "created_time", "updated_time", "settlement_ts",
    "floor_strike", "cap_strike",
    # prices and counts: current fixed-point names, then the legacy unsuffixed ones (kalshi_parse.k_price)
    "yes_bid_dollars", "yes_ask_dollars", "last_price_dollars", "settlement_value_dollars",
    "yes_bid", "yes_ask", "last_price", "settlement_value",
    "volume_fp", "yes_bid_size_fp", "yes_ask_size_fp", "volume", "yes_bid_size", "yes_ask_size",
)

Market = msgspec.defstruct("Market", [(name, Any, None) for name in MARKET_FIELDS])


class Event(msgspec.Struct):
    """What the event sweep reads of an event (kalshi_parse.event_info) and its nested markets."""

    event_ticker: Any = None
    series_ticker: Any = None
    category: Any = None
    markets: list[Market] | None = None


class MarketsPage(msgspec.Struct):
    markets: list[Market] | None = None
    cursor: Any = None


class EventsPage(msgspec.Struct):
    events: list[Event] | None = None
    cursor: Any = None


DECODERS = {"markets": msgspec.json.Decoder(MarketsPage), "events": msgspec.json.Decoder(EventsPage)}

_asdict = msgspec.structs.asdict


def as_dicts(body: MarketsPage | EventsPage) -> dict:
    """A typed page as the plain dict a plain decode gives (fields the parsers ignore left out)."""
    if type(body) is MarketsPage:
        markets = body.markets
        return {"markets": None if markets is None else list(map(_asdict, markets)), "cursor": body.cursor}
    events = body.events
    if events is not None:
        events = [{"event_ticker": e.event_ticker, "series_ticker": e.series_ticker, "category": e.category,
                   "markets": None if e.markets is None else list(map(_asdict, e.markets))} for e in events]
    return {"events": events, "cursor": body.cursor}
