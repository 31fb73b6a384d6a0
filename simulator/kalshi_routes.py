"""Kalshi routes (`/kalshi/trade-api/v2/...`): markets, events, series, candles, historical tier.

Lists run newest-created first (the order the docs infer) with a signed cursor naming the last
index. A page scans a bounded number of rows (small when paging settlements, as seen on the real
API), so a selective filter can yield an empty page with a non-empty cursor — exactly the case
real clients must survive. The last page carries
`cursor: ""`.
"""

from __future__ import annotations

from . import kalshi_render as render
from .clock import rfc3339
from .cursor import Cursors
from .kx_model import MVE
from .reply import BadRequest, Reply, Req

MARKETS_MAX, MARKETS_DEFAULT = 1000, 100
EVENTS_MAX, EVENTS_DEFAULT = 200, 200
SCAN_PER_LIMIT, SCAN_MIN = 50, 5000  # the real API filters server-side: pages come back full
# ... except when paging settlements, where empty pages that carry a cursor were seen (kalshi.md §2.3).
SETTLED_SCAN_PER_LIMIT, SETTLED_SCAN_MIN = 4, 50
CANDLES_MAX, BATCH_CANDLES_MAX, BATCH_TICKERS_MAX = 5000, 10_000, 100
PERIODS = (1, 60, 1440)
STATUS_FILTER = {"unopened": {"initialized"}, "open": {"active"}, "paused": {"inactive"},
                 "closed": {"closed", "determined", "disputed", "amended"}, "settled": {"finalized"}}
NOT_FOUND = {"error": {"code": "market_not_found", "message": "market not found"}}
PERIOD_400 = {"msg": "Parameter validation failed: Key: 'PeriodInterval' Error:Field validation for "
                     "'PeriodInterval' failed on the 'oneof' tag"}


def details(msg: str) -> BadRequest:
    return BadRequest(400, {"details": msg})


def limit_error(tag: str) -> BadRequest:
    return details(f"Key: 'Limit' Error:Field validation for 'Limit' failed on the '{tag}' tag")


def _int(req: Req, name: str, default=None):
    v = req.q(name)
    if v in (None, ""):
        return default
    try:
        return int(v)
    except ValueError:
        raise details(f"invalid {name}") from None


class KalshiRoutes:
    def __init__(self, world) -> None:
        self.w, self.cat = world, world.kx
        self.cur_m, self.cur_e = Cursors(world.seed, "kx-markets"), Cursors(world.seed, "kx-events")
        self.cur_h = Cursors(world.seed, "kx-historical")

    def routes(self):
        return [("GET", "/markets", self.markets), ("GET", "/markets/candlesticks", self.batch_candles),
                ("GET", "/markets/{ticker}", self.one_market), ("GET", "/events", self.events),
                ("GET", "/events/{event_ticker}", self.one_event), ("GET", "/series", self.all_series),
                ("GET", "/series/{series_ticker}", self.one_series),
                ("GET", "/series/{series_ticker}/markets/{ticker}/candlesticks", self.candles),
                ("GET", "/historical/cutoff", self.cutoff), ("GET", "/historical/markets", self.hist_markets),
                ("GET", "/historical/markets/{ticker}", self.hist_market),
                ("GET", "/historical/markets/{ticker}/candlesticks", self.hist_candles)]

    # ---- helpers -------------------------------------------------------------------------
    def _limit(self, req: Req, default: int, top: int) -> int:
        limit = _int(req, "limit", default)
        if limit > top:
            raise limit_error("lte")
        if limit < 1:
            raise limit_error("gte")
        return limit

    def _page(self, req: Req, cursors: Cursors, cands, match, limit: int, key: str, render_rows):
        """Generic newest-first page over candidate indices (descending)."""
        cur = req.q("cursor") or ""
        below = None
        if cur:
            below = cursors.decode(cur)
            if below is None:
                raise details("invalid cursor")
        if req.q("status") == "settled" or req.q("min_settled_ts") or req.q("max_settled_ts"):
            budget = max(SETTLED_SCAN_MIN, SETTLED_SCAN_PER_LIMIT * limit)
        else:
            budget = max(SCAN_MIN, SCAN_PER_LIMIT * limit)
        if below is not None:                       # start under the cursor
            if isinstance(cands, range) and cands.step == -1:
                cands = range(min(cands.start, below - 1), cands.stop, -1)
            else:
                cands = [i for i in cands if i < below]
        rows, last, scanned_all = [], None, True
        for i in cands:
            if budget == 0:
                scanned_all = False
                break
            budget -= 1
            last = i
            if match(i):
                rows.append(i)
                if len(rows) == limit:
                    scanned_all = False
                    break
        nxt = "" if scanned_all or last is None else cursors.encode(last)
        body = {"cursor": nxt, key: render_rows(rows)}
        return Reply(200, body, records=key, cursor_field="cursor", req_cursor=cur or None, sort_keys=True)

    def _market_filter(self, req: Req, historical: bool):
        cat, now = self.cat, req.now
        status = req.q("status")
        if status is not None and status not in STATUS_FILTER:
            raise details("invalid status filter")
        want = STATUS_FILTER.get(status) if status else None
        mve = req.q("mve_filter")
        if mve not in (None, "", "only", "exclude"):
            raise details("invalid mve_filter")
        series = req.q("series_ticker")
        bounds = {n: _int(req, n) for n in ("min_created_ts", "max_created_ts", "min_close_ts",
                                            "max_close_ts", "min_settled_ts", "max_settled_ts",
                                            "min_updated_ts", "max_updated_ts")}
        if historical:
            bounds = {}

        bounded = any(v is not None for v in bounds.values())   # no time filter: skip the tests

        def inside(v, lo, hi):
            return (bounds[lo] is None or v >= bounds[lo]) and (bounds[hi] is None or v <= bounds[hi])

        may_match = _event_filter(cat, now, want, {"only": True, "exclude": False}.get(mve))

        starts, n_events = cat.ev_start, cat.n_events
        market, status_of, is_historical = cat.market, cat.status, cat.is_historical
        # (first, end, may_match): rows come in runs of one event, so the bisect and the event
        # test run once per run
        last_event = [0, -1, False]

        def match(i: int) -> bool:
            first, end, event_ok = last_event
            if not first <= i < end:
                e = cat.event_of(i)
                event_ok = may_match(e)
                last_event[:] = starts[e], starts[e + 1] if e + 1 < n_events else cat.n, event_ok
            if not event_ok:
                return False
            m = market(i)
            if is_historical(m, now) != historical:
                return False
            st = status_of(m, now)
            if st == "unlisted" or (want and st not in want):
                return False
            if (mve == "only" and not m.mve) or (mve == "exclude" and m.mve):
                return False
            if series and cat.series_tickers[m.ev.series] != series:
                return False
            if not bounded:
                return True
            if not inside(m.ev.created, "min_created_ts", "max_created_ts"):
                return False
            if not inside(m.close if now >= m.close else m.sched, "min_close_ts", "max_close_ts"):
                return False
            if bounds["min_settled_ts"] is not None or bounds["max_settled_ts"] is not None:
                if st != "finalized" or not inside(m.final, "min_settled_ts", "max_settled_ts"):
                    return False
            return inside(render._updated(m, now), "min_updated_ts", "max_updated_ts")
        return match

    def _candidates(self, req: Req):
        cat = self.cat
        n = cat.n_listed(req.now)
        tickers = req.qlist("tickers")
        if tickers:
            idx = {cat.index_of(t) for t in tickers}
            return sorted((i for i in idx if i is not None and i < n), reverse=True)
        et = req.q("event_ticker")
        if et:
            e = cat.event_index(et)
            if e is None:
                return []
            ev = cat.event(e)
            return range(min(n, ev.first + ev.size) - 1, ev.first - 1, -1)
        return range(n - 1, -1, -1)

    def _rows(self, rows: list[int], now: float) -> list:
        """The market rows of a list page: cached or template-filled bytes (simulator/rowcache.py)
        or, with the catalogue's row cache off, fresh dicts (the same bytes once encoded with
        sorted keys)."""
        ms = list(map(self.cat.market, rows))
        if self.cat.row_cache:
            return render.market_rows(self.cat, ms, now, self.w.legacy_cents)
        return [render.market(self.cat, m, now, self.w.legacy_cents) for m in ms]

    # ---- markets -------------------------------------------------------------------------
    def markets(self, req: Req, **_) -> Reply:
        limit = self._limit(req, MARKETS_DEFAULT, MARKETS_MAX)
        match = self._market_filter(req, historical=False)
        return self._page(req, self.cur_m, self._candidates(req), match, limit, "markets",
                          lambda rows: self._rows(rows, req.now))

    def _lookup(self, ticker: str, now: float, historical: bool):
        i = self.cat.index_of(ticker)
        if i is None or i >= self.cat.n_listed(now):
            raise BadRequest(404, NOT_FOUND)
        m = self.cat.market(i)
        if self.cat.is_historical(m, now) != historical:
            raise BadRequest(404, NOT_FOUND)
        return m

    def one_market(self, req: Req, ticker: str) -> Reply:
        m = self._lookup(ticker, req.now, historical=False)
        return Reply(200, {"market": render.market(self.cat, m, req.now, self.w.legacy_cents)}, sort_keys=True)

    # ---- events and series ---------------------------------------------------------------
    def events(self, req: Req, **_) -> Reply:
        cat, now = self.cat, req.now
        limit = self._limit(req, EVENTS_DEFAULT, EVENTS_MAX)
        status = req.q("status")
        if status is not None and (status not in STATUS_FILTER or status == "paused"):
            raise details("invalid status filter")
        nested = req.qbool("with_nested_markets")
        series = req.q("series_ticker")
        n_ev = cat.event_of(cat.n_listed(now) - 1) + 1 if cat.n_listed(now) else 0
        tickers = req.qlist("tickers")
        if tickers:
            cands = sorted({e for e in map(cat.event_index, tickers) if e is not None and e < n_ev}, reverse=True)
        else:
            cands = range(n_ev - 1, -1, -1)

        may_match = _event_filter(cat, now, STATUS_FILTER[status] if status else None, False)

        def match(e: int) -> bool:
            if not may_match(e):
                return False
            ev = cat.event(e)
            if series and cat.series_tickers[ev.series] != series:
                return False
            if not status:
                return True
            return any(cat.status(cat.market(i), now) in STATUS_FILTER[status]
                       for i in range(ev.first, ev.first + ev.size))
        reply = self._page(req, self.cur_e, cands, match, limit, "events",
                           lambda rows: [render.event(cat, e, now, nested, self.w.legacy_cents) for e in rows])
        reply.body["milestones"] = []
        return reply

    def one_event(self, req: Req, event_ticker: str) -> Reply:
        e = self.cat.event_index(event_ticker)
        if e is None or self.cat.event(e).created > req.now:
            raise BadRequest(404, {"error": {"code": "not_found", "message": "event not found"}})
        nested = req.qbool("with_nested_markets")
        body = {"event": render.event(self.cat, e, req.now, nested, self.w.legacy_cents),
                "markets": render.event_markets(self.cat, e, req.now, self.w.legacy_cents)}
        return Reply(200, body, sort_keys=True)

    def one_series(self, req: Req, series_ticker: str) -> Reply:
        k = self.cat.series_index.get(series_ticker)
        if k is None:
            raise BadRequest(404, {"error": {"code": "not_found", "message": "series not found"}})
        return Reply(200, {"series": render.series(self.cat, k)}, sort_keys=True)

    def all_series(self, req: Req, **_) -> Reply:
        cat = req.q("category")
        rows = [render.series(self.cat, k) for k in range(len(self.cat.series_tickers))]
        if cat:
            rows = [r for r in rows if cat in r["categories"]]
        return Reply(200, {"series": rows}, records="series", sort_keys=True)

    # ---- candles -------------------------------------------------------------------------
    def _window(self, req: Req, max_candles: int, n_markets: int = 1):
        start, end, period = _int(req, "start_ts"), _int(req, "end_ts"), _int(req, "period_interval")
        if period not in PERIODS:
            raise BadRequest(400, dict(PERIOD_400))
        if start is None or end is None:
            raise details("start_ts and end_ts are required")
        count = max(0, (end - start) // (period * 60)) * n_markets
        if count > max_candles:
            raise details(f"requested time range with candlesticks: {count}, max candlesticks: {max_candles}")
        return start, end, period

    def candles(self, req: Req, series_ticker: str, ticker: str) -> Reply:
        start, end, period = self._window(req, CANDLES_MAX)
        m = self._lookup(ticker, req.now, historical=False)
        form = "legacy" if self.w.legacy_cents else "current"
        rows = render.candles(self.cat, m, start, end, period, req.now, form)
        return Reply(200, {"candlesticks": rows, "ticker": ticker}, sort_keys=True)

    def batch_candles(self, req: Req, **_) -> Reply:
        tickers = req.qlist("market_tickers")
        if not tickers or len(tickers) > BATCH_TICKERS_MAX:
            raise details(f"market_tickers must hold 1..{BATCH_TICKERS_MAX} tickers")
        start, end, period = self._window(req, BATCH_CANDLES_MAX, len(tickers))
        form = "legacy" if self.w.legacy_cents else "current"
        out = []
        for t in tickers:
            m = self._lookup(t, req.now, historical=False)
            out.append({"candlesticks": render.candles(self.cat, m, start, end, period, req.now, form),
                        "market_ticker": t})
        return Reply(200, {"markets": out}, sort_keys=True)

    # ---- historical tier -----------------------------------------------------------------
    def cutoff(self, req: Req, **_) -> Reply:
        c = rfc3339(self.cat.cutoff(req.now))
        return Reply(200, {"market_positions_last_updated_ts": c, "market_settled_ts": c,
                           "orders_updated_ts": rfc3339(self.cat.cutoff(req.now + 45 * 86400)),
                           "trades_created_ts": c}, sort_keys=True)

    def hist_markets(self, req: Req, **_) -> Reply:
        limit = self._limit(req, MARKETS_DEFAULT, MARKETS_MAX)
        match = self._market_filter(req, historical=True)
        return self._page(req, self.cur_h, self._candidates(req), match, limit, "markets",
                          lambda rows: self._rows(rows, req.now))

    def hist_market(self, req: Req, ticker: str) -> Reply:
        m = self._lookup(ticker, req.now, historical=True)
        return Reply(200, {"market": render.market(self.cat, m, req.now, self.w.legacy_cents)}, sort_keys=True)

    def hist_candles(self, req: Req, ticker: str) -> Reply:
        start, end, period = self._window(req, CANDLES_MAX)
        m = self._lookup(ticker, req.now, historical=True)
        rows = render.candles(self.cat, m, start, end, period, req.now, "historical")
        return Reply(200, {"candlesticks": rows, "ticker": ticker}, sort_keys=True)


def _event_filter(cat, now: float, want: set[str] | None, parlay: bool | None):
    """A test on event e that the per-event arrays answer without building the event or its
    markets: False only when no market of e can match (parlay-ness, or a wanted status that needs
    trading / ended when the event is not). At real scale most rows of a listing stop here."""
    trading = want is not None and want <= {"active", "inactive"}
    ended = want is not None and want <= STATUS_FILTER["closed"] | STATUS_FILTER["settled"]
    unopened = want == {"initialized"}

    def may_match(e: int) -> bool:
        if parlay is not None and (cat.ev_type[e] == MVE) != parlay:
            return False
        if trading:
            return cat.ev_open[e] <= now < cat.ev_close[e]
        if unopened:
            return now < cat.ev_open[e]
        return not ended or now >= cat.ev_close[e]
    return may_match
