"""The simulated Kalshi catalogue: series -> events -> markets, with the settlement lifecycle.

Markets are numbered in creation order and grouped into consecutive events; each event belongs to a
series drawn from a pool (MVE parlay events to the KXMVE… series). Tickers embed the event number in
base 36 so a ticker decodes back to its index without a global dictionary.

Lifecycle: initialized (created) -> active (open_time) [-> inactive while paused -> active]
        -> closed (close_time, rewritten earlier on an early close; most closes are early)
        -> determined (result set; minutes to hours, for SLOW_DETERMINATION_SHARE one to five days)
        [-> disputed -> amended] -> finalized (settlement_ts = final_at).
A disputed market is first determined with the wrong result in half the cases; the amendment puts
the true one. Only `finalized` is final.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right

from . import names, rowcache
from .clock import DAY_S, HOUR_S, kalshi_date
from .hashing import b36, between, pick, u01, uint, unb36
from .memo import DEFAULT_CAP, Memo
from .pricing import UNIT, Path

MVE, SINGLE, MULTI = range(3)
HISTORY_S = 300 * DAY_S
FUTURE_S = 20 * DAY_S
SCALAR_SHARE = 0.007
DISPUTE_SHARE = 0.03
PAUSE_SHARE = 0.02
# Many markets wait days for a result: one status=closed page held 610 `closed` + 390 `determined`
# (kalshi.md §2.4), so a closed-but-not-final state lasting days must be common here too.
SLOW_DETERMINATION_SHARE = 0.3
CUTOFF_LAG_S = 60 * DAY_S      # historical cutoff = midnight UTC of (now - 60 days)


class KXEvent:
    __slots__ = ("e", "first", "size", "etype", "series", "ticker", "title", "created", "open",
                 "sched", "close", "mutex", "winner", "kind", "sub")


class KXMarket:
    __slots__ = ("i", "ev", "pos", "ticker", "yes_sub", "open", "sched", "close", "pause",
                 "determined", "disp", "amended", "final", "result", "prov_result", "settle_u",
                 "expiration_value", "timer", "path", "mve", "row")


class KalshiCatalog:
    def __init__(self, seed: int, n: int, start: float, history_s: float = HISTORY_S,
                 cache: int = DEFAULT_CAP) -> None:
        """`history_s`: markets are created over [start - history_s, start + FUTURE_S]
        (simulator/sizing.py picks it for a wanted open/closed split); `cache`: records kept."""
        self.seed, self.n, self.start, self.history_s = seed, n, start, history_s
        self.row_cache = True      # False: render every row afresh (simulator/rowcache.py)
        self.row_counts = rowcache.counts()   # list rows kept / filled from a template / rendered
        self.n_series = max(4, n // 40)
        starts, types = array("l"), array("b")
        i = e = 0
        while i < n:
            r = u01(seed, 201, e)
            etype, size = (MVE, 1 + uint(seed, 202, e) % 3) if r < 0.3 else \
                (SINGLE, 1) if r < 0.65 else (MULTI, 2 + uint(seed, 202, e) % 7)
            starts.append(i)
            types.append(etype)
            i += min(size, n - i)
            e += 1
        self.ev_start, self.ev_type = starts, types
        self.n_events = len(starts)
        self.series_tickers = [self.series_ticker(k) for k in range(self.n_series)] + names.MVE_SERIES
        self.series_index = {t: k for k, t in enumerate(self.series_tickers)}
        self._markets: Memo[KXMarket] = Memo(self._build_market, cache)
        self.market = self._markets.get   # market(i): index i's record, one call (a page makes ~3,000)
        self._events: Memo[KXEvent] = Memo(self._build_event, cache)
        # Listings filter on trading state and parlay-ness; with these per-event arrays they skip
        # a closed or parlay event's markets without building them (most of a real-scale catalogue).
        timing = [self._timing(e) for e in range(self.n_events)]
        self.ev_open = array("d", (t[1] for t in timing))
        self.ev_close = array("d", (t[3] for t in timing))

    # ---- series --------------------------------------------------------------------------
    def series_ticker(self, k: int) -> str:
        if k >= self.n_series:
            return names.MVE_SERIES[k - self.n_series]
        return "KX" + pick(names.SERIES_WORDS, self.seed, 203, k) + b36(k)

    def series_category(self, k: int) -> str:
        if k >= self.n_series:
            return "Exotics"
        return pick(names.KALSHI_CATEGORIES, self.seed, 204, k)

    # ---- lookups -------------------------------------------------------------------------
    def event_of(self, i: int) -> int:
        return bisect_right(self.ev_start, i) - 1

    def event_index(self, event_ticker: str) -> int | None:
        parts = event_ticker.split("-")
        if len(parts) != 2 or len(parts[1]) < 8:
            return None
        try:
            e = unb36(parts[1][7:])
        except ValueError:
            return None
        return e if e < self.n_events and self.event(e).ticker == event_ticker else None

    def index_of(self, ticker: str) -> int | None:
        e = self.event_index(ticker.rsplit("-", 1)[0])
        if e is None:
            return None
        ev = self.event(e)
        for i in range(ev.first, ev.first + ev.size):
            if self.market(i).ticker == ticker:
                return i
        return None

    def n_listed(self, now: float) -> int:
        lo, hi = 0, self.n_events
        while lo < hi:
            mid = (lo + hi) // 2
            if self.event(mid).created <= now:
                lo = mid + 1
            else:
                hi = mid
        return self.ev_start[lo] if lo < self.n_events else self.n

    def cutoff(self, now: float) -> float:
        return (now - CUTOFF_LAG_S) // DAY_S * DAY_S

    # ---- events --------------------------------------------------------------------------
    def event(self, e: int) -> KXEvent:
        return self._events.get(e)

    def _timing(self, e: int) -> tuple[float, float, float, float]:
        """(created, open, scheduled close, close) of event e; most closes are early."""
        s = self.seed
        frac = (self.ev_start[e] + 0.9 * u01(s, 205, e)) / self.n
        created = float(int(self.start - self.history_s + frac * (self.history_s + FUTURE_S)))
        opened = float(int(created + 60 + between(0, 6 * HOUR_S, s, 206, e)) // 60 * 60)
        r = u01(s, 207, e)
        if r < 0.3:
            dur = pick([900, HOUR_S, DAY_S], s, 208, e)
        elif r < 0.75:
            dur = between(2 * DAY_S, 30 * DAY_S, s, 208, e)
        else:
            dur = math.exp(between(math.log(30 * DAY_S), math.log(300 * DAY_S), s, 208, e))
        sched = float(int((opened + dur) // 60 * 60))
        early = dur > HOUR_S and u01(s, 209, e) < 0.85
        close = float(int(opened + (sched - opened) * between(0.3, 0.99, s, 210, e))) if early else sched
        return created, opened, sched, close

    def _build_event(self, e: int) -> KXEvent:
        s, ev = self.seed, KXEvent()
        ev.e, ev.first, ev.etype = e, self.ev_start[e], self.ev_type[e]
        ev.size = (self.ev_start[e + 1] if e + 1 < self.n_events else self.n) - ev.first
        ev.created, ev.open, ev.sched, ev.close = self._timing(e)
        if ev.etype == MVE:
            ev.series = self.n_series + uint(s, 211, e) % len(names.MVE_SERIES)
        else:
            ev.series = uint(s, 211, e) % self.n_series
        stk = self.series_tickers[ev.series]
        ev.ticker = f"{stk}-{kalshi_date(ev.sched)}{b36(e)}"
        ev.mutex = ev.etype == MULTI and u01(s, 212, e) < 0.6
        ev.winner = uint(s, 213, e) % ev.size
        ev.kind = "candidates" if ev.mutex else "thresholds"
        if ev.etype == MVE:
            ev.title, ev.sub = "Multi-leg parlay", f"Parlay {b36(e)}"
        elif ev.etype == SINGLE:
            ev.title, ev.sub = f"Will {pick(names.SUBJECTS, s, 214, e)}?", ""
        elif ev.mutex:
            ev.title, ev.sub = f"{pick(names.CONTESTS, s, 214, e)} winner?", "Winner"
        else:
            ev.title, ev.sub = f"{pick(names.ASSETS, s, 214, e)} price on {kalshi_date(ev.sched)}?", ""
        return ev

    # ---- markets -------------------------------------------------------------------------
    def _build_market(self, i: int) -> KXMarket:
        s, m = self.seed, KXMarket()
        e = self.event_of(i)
        ev = self.event(e)
        m.i, m.ev, m.pos = i, ev, i - ev.first
        m.mve = ev.etype == MVE
        m.row = None                          # (key, bytes) of the last rendered row (simulator/rowcache.py)
        if m.mve:
            m.yes_sub = f"Leg set {b36(e)}-{m.pos}"  # real MVE legs name their picks: unique per combination
            m.ticker = f"{ev.ticker}-{uint(s, 220, i) & 0xFFFFFFFFF:09X}"
        elif ev.etype == SINGLE:
            m.yes_sub = "Yes"
            m.ticker = f"{ev.ticker}-{kalshi_date(ev.sched)}"
        elif ev.mutex:
            name = names.PEOPLE[(uint(s, 221, e) + m.pos) % len(names.PEOPLE)]
            m.yes_sub = name
            m.ticker = f"{ev.ticker}-{names.initials(name)}{m.pos}"
        else:
            strike = 100 + 25 * m.pos
            m.yes_sub = f"Above {strike}"
            m.ticker = f"{ev.ticker}-T{strike}"
        m.open, m.sched, m.close = ev.open, ev.sched, ev.close
        m.pause = None
        if not m.mve and u01(s, 222, i) < PAUSE_SHARE:
            a = m.open + 0.4 * (m.close - m.open)
            m.pause = (float(int(a)), float(int(a + 0.05 * (m.close - m.open))))
        delay = min(max(360 * math.exp(1.3 * _normal(s, 223, i)), 60), 19 * HOUR_S)
        if u01(s, 240, i) < SLOW_DETERMINATION_SHARE:
            delay = between(DAY_S, 5 * DAY_S, s, 241, i)
        m.determined = float(int(m.close + delay))
        m.timer = pick([60, 300, 1800, 3600], s, 224, i)
        # result
        if ev.etype == MULTI and ev.mutex:
            res = "yes" if m.pos == ev.winner else "no"
        else:
            res = "yes" if u01(s, 225, i) < (0.1 if m.mve else 0.25) else "no"
        m.expiration_value = ""
        if u01(s, 226, i) < SCALAR_SHARE and not ev.mutex:
            res = "scalar"
            m.settle_u = int(between(5, 96, s, 227, i)) * 100
            m.expiration_value = "Cancelled" if u01(s, 228, i) < 0.5 else ""
        else:
            m.settle_u = UNIT if res == "yes" else 0
        m.result, m.prov_result = res, res
        m.disp = m.amended = None
        if u01(s, 229, i) < DISPUTE_SHARE:
            m.disp = m.determined + max(60, m.timer // 3)
            m.amended = m.disp + int(between(HOUR_S, 2 * DAY_S, s, 230, i))
            m.final = m.amended + m.timer
            if res != "scalar" and u01(s, 231, i) < 0.5:
                m.prov_result = "no" if res == "yes" else "yes"
        else:
            m.final = m.determined + m.timer
        target = {"yes": between(0.8, 0.97, s, 232, i), "no": between(0.03, 0.2, s, 232, i)}.get(
            res, m.settle_u / UNIT)
        quoted = not m.mve or u01(s, 233, i) < 0.2
        rate = 0.0 if (m.mve and not quoted) else math.exp(between(math.log(0.2), math.log(300), s, 234, i))
        m.path = Path(uint(s, 235, i) >> 8, m.open, m.close, m.final, between(-2.5, 2.5, s, 236, i),
                      between(0.3, 1.4, s, 237, i), target, m.settle_u, 100,
                      100 * (1 + uint(s, 238, i) % 5), pick([1, 3, 10, 30, 120], s, 239, i), rate,
                      quoted=quoted, int_volume=True)
        return m

    # ---- state at time t -----------------------------------------------------------------
    def status(self, m: KXMarket, now: float) -> str:
        """Response `status` value at `now` ("unlisted" before creation)."""
        if now < m.ev.created:
            return "unlisted"
        if now < m.open:
            return "initialized"
        if now < m.close:
            if m.pause and m.pause[0] <= now < m.pause[1]:
                return "inactive"
            return "active"
        if now < m.determined:
            return "closed"
        if now >= m.final:
            return "finalized"
        if m.disp is not None and now >= m.disp:
            return "amended" if now >= m.amended else "disputed"
        return "determined"

    def result_at(self, m: KXMarket, now: float) -> str:
        if now < m.determined:
            return ""
        if m.amended is not None and now < m.amended:
            return m.prov_result
        return m.result

    def is_historical(self, m: KXMarket, now: float) -> bool:
        return now >= m.final and m.final < self.cutoff(now)


def _normal(*parts: int) -> float:
    u1 = max(u01(*parts, 1), 1e-12)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u01(*parts, 2))
