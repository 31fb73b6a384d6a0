"""Kalshi order books: ``GET /markets/{ticker}/orderbook`` and ``GET /markets/orderbooks`` (kalshi.md §15).

As the real API: bids only (YES bids and NO bids), each ladder ascending so the best bid is the
last element; the best YES bid equals the market's ``yes_bid_dollars`` and 1 - the best NO bid its
``yes_ask_dollars``, with the same sizes as ``yes_bid_size_fp``/``yes_ask_size_fp``. A market
that is not trading, and an unknown ticker, answer 200 with an empty book (not 404). The batch
route takes repeated ``tickers=`` (1..100); a comma-joined value is one unknown ticker, so it gets
an empty book, exactly the trap the docs describe. With ``--legacy-cents`` the pre-2026 form is
served (integer cents, ``null`` for an empty side). With ``World.kalshi_books_auth`` the batch
route demands an API key: key-less requests (all of ours) get 401.
"""

from __future__ import annotations

from .fmt import kx_cents, kx_count, kx_dollars
from .hashing import uint
from .kalshi_render import top_sizes
from .pricing import UNIT
from .reply import BadRequest, Reply, Req

TICK = UNIT // 100  # one cent
TICKERS_MAX = 100
UNAUTHORIZED = {"error": {"code": "authentication_error", "message": "authentication required"}}


def _ladders(cat, ticker: str, now: float) -> tuple[list, list]:
    """(YES bids, NO bids), each [(price units, contracts)] ascending: best last."""
    i = cat.index_of(ticker)
    if i is None or i >= cat.n_listed(now):
        return [], []
    m = cat.market(i)
    p = m.path
    if cat.status(m, now) not in ("active", "inactive") or not p.quoted:
        return [], []
    k = p.minute(now)
    bid, ask = p.quote(k)
    bsz, asz = top_sizes(cat, m, k)
    depth = 1 + uint(cat.seed, 310, m.i) % 6
    yes = [(bid - j * TICK, bsz if j == 0 else float(1 + uint(cat.seed, 311, m.i, k, j) % 900))
           for j in range(depth) if bid - j * TICK > 0]
    no_best = UNIT - ask
    no = [(no_best - j * TICK, asz if j == 0 else float(1 + uint(cat.seed, 312, m.i, k, j) % 900))
          for j in range(depth) if no_best - j * TICK > 0]
    return yes[::-1], no[::-1]


def book(cat, ticker: str, now: float, legacy: bool) -> dict:
    yes, no = _ladders(cat, ticker, now)
    if legacy:
        return {"orderbook": {"yes": [[kx_cents(u), int(q)] for u, q in yes] or None,
                              "no": [[kx_cents(u), int(q)] for u, q in no] or None}}
    return {"orderbook_fp": {"no_dollars": [[kx_dollars(u), kx_count(q)] for u, q in no],
                             "yes_dollars": [[kx_dollars(u), kx_count(q)] for u, q in yes]}}


class KalshiBookRoutes:
    def __init__(self, world) -> None:
        self.w, self.cat = world, world.kx

    def routes(self):
        return [("GET", "/markets/orderbooks", self.many), ("GET", "/markets/{ticker}/orderbook", self.one)]

    def one(self, req: Req, ticker: str) -> Reply:
        return Reply(200, book(self.cat, ticker, req.now, self.w.legacy_cents), sort_keys=True)

    def many(self, req: Req, **_) -> Reply:
        if getattr(self.w, "kalshi_books_auth", False):
            raise BadRequest(401, UNAUTHORIZED)
        tickers = req.query.get("tickers", [])  # repeated params only: "A,B" stays one ticker
        if not 1 <= len(tickers) <= TICKERS_MAX:
            raise BadRequest(400, {"details": f"tickers: between 1 and {TICKERS_MAX} required"})
        out = [dict(book(self.cat, t, req.now, self.w.legacy_cents), ticker=t) for t in dict.fromkeys(tickers)]
        return Reply(200, {"orderbooks": out}, sort_keys=True)
