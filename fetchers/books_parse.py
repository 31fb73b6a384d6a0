"""Order-book payloads of both platforms -> best-first integer levels (docs/api/*.md §3.5 / §15).

The traps, each handled here and nowhere else:

* Wire order is never trusted. Polymarket sends bids ascending and asks descending (the best is
  the *last* element, whatever the OpenAPI text says); Kalshi sends each ladder ascending. Every
  side is sorted by price here, best first, then cut to ``depth`` levels.
* Kalshi publishes bids only: YES bids and NO bids. YES asks are 1 - NO bid (same size), so the
  best YES ask is 1 - the highest NO bid.
* Kalshi's legacy form (``orderbook`` with integer cents, ``null`` for an empty side, ``null``
  ``yes_dollars``/``no_dollars``) parses too; ``orderbook_fp`` wins when both are present.
* Polymarket answers some errors with an ``error`` key (even with HTTP 200): that is "no book".

Prices come out as integer millionths (probability x 1e6), sizes as whole shares/contracts
(rounded half up; a resting level smaller than one unit is kept as 1 so it does not vanish).
A malformed level is dropped and counted; it never sinks the book.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import msgspec

from collector.bounds import PRICE_SCALE
MAX_SIZE = 1e15  # a level size beyond this is garbage, not a book


# Typed decoders: msgspec turns the price/size strings into floats in C, the fast path for 50k books
# a cycle. A body these do not fit (one odd book) decodes as plain JSON instead (fetchers/http.py),
# and the dict path below handles it the same way, only slower.
class PolyLevel(msgspec.Struct):
    price: float
    size: float


class PolyBook(msgspec.Struct):
    asset_id: str
    timestamp: str | int | None = None
    hash: str | None = None
    bids: list[PolyLevel] | None = None
    asks: list[PolyLevel] | None = None


class KalshiLadders(msgspec.Struct):
    yes_dollars: list[tuple[float, float]] | None = None
    no_dollars: list[tuple[float, float]] | None = None


class KalshiEntry(msgspec.Struct):
    ticker: str | None = None
    orderbook_fp: KalshiLadders | None = None
    orderbook: dict | None = None  # the legacy form, rare: parsed by the dict path


class KalshiBooks(msgspec.Struct):
    orderbooks: list[KalshiEntry] | None = None


POLYMARKET_BOOKS = msgspec.json.Decoder(list[PolyBook], strict=False)
_PRICE = operator.attrgetter("price")
KALSHI_BOOKS = msgspec.json.Decoder(KalshiBooks, strict=False)


@dataclass
class Levels:
    """One book's top levels, best first: prices integer millionths, sizes whole units."""

    bid_px: list[int] = field(default_factory=list)
    bid_sz: list[int] = field(default_factory=list)
    ask_px: list[int] = field(default_factory=list)
    ask_sz: list[int] = field(default_factory=list)
    bad_levels: int = 0  # malformed levels dropped


def _millionths(price, scale: float = 1.0) -> int | None:
    """A price (string or number, in dollars; x ``scale``) as integer millionths, or None if invalid."""
    try:
        p = round(float(price) * scale * PRICE_SCALE)
    except (TypeError, ValueError):
        return None
    return p if 0 <= p <= PRICE_SCALE else None


def _whole(size) -> int | None:
    try:
        s = float(size)
    except (TypeError, ValueError):
        return None
    if not 0 < s < MAX_SIZE:  # also rejects NaN, infinity and zero-size levels
        return None
    return max(1, int(s + 0.5))


def _ladder(pairs, descending: bool, depth: int, out: Levels, scale: float = 1.0) -> list[tuple[int, int]]:
    """Valid (price, size) pairs sorted best first (descending for bids), cut to depth."""
    good = []
    for price, size in pairs:
        p, s = _millionths(price, scale), _whole(size)
        if p is None or s is None:
            out.bad_levels += 1
            continue
        good.append((p, s))
    good.sort(reverse=descending)
    return good[:depth]


def _typed(levels: list, descending: bool, depth: int, out: Levels, key=None,
           scale: float = 1.0) -> tuple[list[int], list[int]]:
    """As _ladder, for levels decoded by msgspec: sorted in C, then only the top is looked at.

    Returns (prices, sizes) best first. Malformed levels (price outside 0..1, size not positive)
    met on the way down are dropped and counted; an invalid price sorts to an end, so it is met
    or never matters. This is the hot path (50k books a cycle): keep it lean.
    """
    px: list[int] = []
    sz: list[int] = []
    for level in sorted(levels, key=key, reverse=descending):
        p, q = (level.price, level.size) if key is not None else level
        p *= scale
        if 0.0 <= p <= 1.0 and 0.0 < q < MAX_SIZE:
            px.append(round(p * PRICE_SCALE))
            sz.append(int(q + 0.5) or 1)
            if len(px) == depth:
                break
        else:
            out.bad_levels += 1
    return px, sz


def _fill(out: Levels, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> Levels:
    out.bid_px = [p for p, _ in bids]
    out.bid_sz = [s for _, s in bids]
    out.ask_px = [p for p, _ in asks]
    out.ask_sz = [s for _, s in asks]
    return out


# --- Polymarket -----------------------------------------------------------------------------


def _poly_pairs(side, out: Levels):
    for level in side if isinstance(side, list) else ():
        if isinstance(level, dict):
            yield level.get("price"), level.get("size")
        else:
            out.bad_levels += 1


def polymarket_levels(book, depth: int) -> Levels | None:
    """A ``GET /book`` body or one element of ``POST /books``; None when it is not a book."""
    if isinstance(book, PolyBook):
        out = Levels()
        out.bid_px, out.bid_sz = _typed(book.bids or [], True, depth, out, _PRICE)
        out.ask_px, out.ask_sz = _typed(book.asks or [], False, depth, out, _PRICE)
        return out
    if not isinstance(book, dict) or "error" in book:
        return None
    out = Levels()
    bids = _ladder(_poly_pairs(book.get("bids"), out), True, depth, out)
    asks = _ladder(_poly_pairs(book.get("asks"), out), False, depth, out)
    return _fill(out, bids, asks)


def polymarket_stamp(book) -> tuple[int | None, str | None]:
    """The book's own timestamp (unix ms) and hash, None where absent or malformed."""
    typed = isinstance(book, PolyBook)
    try:
        ms = int(book.timestamp if typed else book.get("timestamp"))
    except (TypeError, ValueError):
        ms = None
    h = book.hash if typed else book.get("hash")
    return ms, h if isinstance(h, str) and h else None


# --- Kalshi ---------------------------------------------------------------------------------


def _kalshi_pairs(side, out: Levels):
    for level in side or ():
        if isinstance(level, (list, tuple)) and len(level) == 2:
            yield level[0], level[1]
        else:
            out.bad_levels += 1


def kalshi_levels(payload, depth: int) -> Levels | None:
    """``GET /markets/{t}/orderbook`` body or one ``orderbooks`` entry -> YES bids and YES asks."""
    if isinstance(payload, KalshiEntry):
        if payload.orderbook_fp is None:
            return kalshi_levels({"orderbook": payload.orderbook}, depth)
        out = Levels()
        out.bid_px, out.bid_sz = _typed(payload.orderbook_fp.yes_dollars or [], True, depth, out)
        no_px, out.ask_sz = _typed(payload.orderbook_fp.no_dollars or [], True, depth, out)
        out.ask_px = [PRICE_SCALE - p for p in no_px]  # a NO bid at p is a YES ask at 1 - p
        return out
    if not isinstance(payload, dict):
        return None
    out = Levels()
    book = payload.get("orderbook_fp")
    if isinstance(book, dict):
        yes, no, scale = book.get("yes_dollars"), book.get("no_dollars"), 1.0
    else:
        old = payload.get("orderbook")
        if not isinstance(old, dict):
            return None
        if old.get("yes_dollars") or old.get("no_dollars"):  # 2025: dollars inside orderbook
            yes, no, scale = old.get("yes_dollars"), old.get("no_dollars"), 1.0
        else:
            yes, no, scale = old.get("yes"), old.get("no"), 0.01  # integer cents
    if not isinstance(yes, (list, type(None))) or not isinstance(no, (list, type(None))):
        return None
    yes_bids = _ladder(_kalshi_pairs(yes, out), True, depth, out, scale)
    no_bids = _ladder(_kalshi_pairs(no, out), True, depth, out, scale)
    yes_asks = [(PRICE_SCALE - p, s) for p, s in no_bids]  # a NO bid at p is a YES ask at 1 - p
    return _fill(out, yes_bids, yes_asks)
