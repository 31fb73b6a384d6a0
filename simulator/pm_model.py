"""The simulated Polymarket catalogue: events, markets and their resolution lifecycle.

Markets are numbered 0..N-1 in creation order (so the Gamma id, a stable keyset key, grows with
creation time, as on the real site) and grouped into consecutive events. Only the event boundaries
are computed eagerly (one cheap pass); each market's parameters are derived from hashes the first
time it is looked at and cached.

Lifecycle (times are unix seconds, all fixed at generation; only `now` moves):
    created -> open (startDate) -> close (<= endDate; early for some) -> proposed
            -> [disputed -> proposed again] -> resolved (final_at)
Legacy AMM markets (the first 3 % of indices, 2021-22) resolve at close with no UMA fields.
Augmented negRisk groups end with an "Other" placeholder member (`negRiskOther: true`), as on
the real site (polymarket.md §4.3); it never wins.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right

from . import names, rowcache
from .clock import DAY_S, HOUR_S, parse_iso
from .hashing import Bijection, between, hex64, pick, u01, uint
from .memo import DEFAULT_CAP, Memo
from .pricing import UNIT, Path

LEGACY, SINGLE, NEGRISK, SPORTS, UPDOWN = range(5)
TYPE_NAMES = {LEGACY: "legacy", SINGLE: "single", NEGRISK: "negrisk", SPORTS: "sports", UPDOWN: "updown"}
LEGACY_SHARE = 0.03                          # fraction of indices that are 2021-22 AMM markets
LEGACY_FROM = parse_iso("2021-01-15T00:00:00Z")
LEGACY_SPAN_S = 500 * DAY_S
HISTORY_S = 240 * DAY_S                      # CLOB-era markets were created from start-240d ...
FUTURE_S = 20 * DAY_S                        # ... to start+20d (some open after the clock starts)
GAMMA_ID_BASE = 500_000
EVENT_ID_BASE = 20_000
FIFTY_SHARE = 0.02                           # 50-50 resolutions among eligible markets
DISPUTE_SHARE = 0.04
LIVENESS_S = 2 * HOUR_S                      # UMA challenge window
AUGMENTED_SHARE = 0.3                        # negRisk groups that are augmented: their last member
                                             # is the "Other" placeholder (negRiskOther)


class PMEvent:
    __slots__ = ("e", "first", "size", "etype", "created", "open", "end", "close", "game_start",
                 "gid", "title", "slug", "tag_group", "neg_id", "winner", "teams", "augmented")


class PMMarket:
    __slots__ = ("i", "ev", "pos", "gid", "cond", "qid", "tokens", "outcomes", "question", "slug",
                 "group_title", "threshold", "prop", "disp", "reprop", "final", "win_idx", "path",
                 "uma_empty", "tick", "sports_type", "line", "legacy", "static", "placeholder",
                 "row")


class PolyCatalog:
    """Event partition plus lazily built, cached market records."""

    def __init__(self, seed: int, n: int, start: float, history_s: float = HISTORY_S,
                 cache: int = DEFAULT_CAP) -> None:
        """`history_s`: CLOB-era markets are created over [start - history_s, start + FUTURE_S]
        (simulator/sizing.py picks it for a wanted open/closed split); `cache`: records kept."""
        self.seed, self.n, self.start, self.history_s = seed, n, start, history_s
        self.row_cache = True      # False: render every row afresh (simulator/rowcache.py)
        self.row_counts = rowcache.counts()   # list rows kept / filled from a template / rendered
        self.n_legacy = int(n * LEGACY_SHARE)
        self.tokens = Bijection("pm-token", seed)
        self.conds = Bijection("pm-cond", seed)
        starts, types = array("l"), array("b")
        i = e = 0
        while i < n:
            etype, size = self._draw_type(i, e)
            size = min(size, n - i)
            if etype == NEGRISK and size < 3:
                etype, size = SINGLE, 1
            starts.append(i)
            types.append(etype)
            i += size
            e += 1
        self.ev_start, self.ev_type = starts, types
        self.n_events = len(starts)
        self._markets: Memo[PMMarket] = Memo(self._build_market, cache)
        self._events: Memo[PMEvent] = Memo(self._build_event, cache)
        # Every catalogue sweep tests `closed` on every event: compute the close times once, here
        # (~7 us an event), rather than on the first sweep.
        self.ev_close = array("d", (self._timing(e)[3] for e in range(self.n_events)))

    def _draw_type(self, i: int, e: int) -> tuple[int, int]:
        if i < self.n_legacy:
            return LEGACY, 1
        r = u01(self.seed, 1, e)
        if r < 0.45:
            return SINGLE, 1
        if r < 0.63:
            return NEGRISK, 3 + uint(self.seed, 2, e) % 4
        if r < 0.80:
            return SPORTS, 2 + uint(self.seed, 3, e) % 2
        return UPDOWN, 1

    # ---- lookups -------------------------------------------------------------------------
    def event_of(self, i: int) -> int:
        return bisect_right(self.ev_start, i) - 1

    def created_of(self, i: int) -> float:
        return self.event(self.event_of(i)).created

    def index_of_gid(self, gid: int) -> int | None:
        i = (gid - GAMMA_ID_BASE) // 3
        return i if 0 <= i < self.n and self.gamma_id(i) == gid else None

    def gamma_id(self, i: int) -> int:
        return GAMMA_ID_BASE + 3 * i + uint(self.seed, 4, i) % 3

    def index_of_token(self, token: str) -> tuple[int, int] | None:
        try:
            x = self.tokens.decode(int(token))
        except ValueError:
            return None
        if x is None or x // 2 >= self.n:
            return None
        return x // 2, x % 2

    def index_of_cond(self, cond: str) -> int | None:
        try:
            x = self.conds.decode(int(cond, 16))
        except ValueError:
            return None
        return x if x is not None and x < self.n else None

    def index_of_event_gid(self, gid: int) -> int | None:
        e = (gid - EVENT_ID_BASE) // 2
        return e if 0 <= e < self.n_events else None

    def n_listed(self, now: float) -> int:
        """How many indices are created by `now` (created time is monotone in the index)."""
        lo, hi = 0, self.n_events
        while lo < hi:
            mid = (lo + hi) // 2
            if self.event(mid).created <= now:
                lo = mid + 1
            else:
                hi = mid
        return self.ev_start[lo] if lo < self.n_events else self.n

    # ---- events --------------------------------------------------------------------------
    def event(self, e: int) -> PMEvent:
        return self._events.get(e)

    def event_close(self, e: int) -> float:
        """Close time alone: list sweeps test `closed` on every event, most of which they skip."""
        return self.ev_close[e]

    def _timing(self, e: int) -> tuple:
        """(created, open, end, close, game_start) of event e."""
        s, t, first = self.seed, self.ev_type[e], self.ev_start[e]
        if t == LEGACY:
            created = LEGACY_FROM + (first + 0.5) / max(1, self.n_legacy) * LEGACY_SPAN_S
        else:
            span = max(1, self.n - self.n_legacy)
            frac = (first - self.n_legacy + 0.9 * u01(s, 6, e)) / span
            created = self.start - self.history_s + frac * (self.history_s + FUTURE_S)
        created = float(int(created))
        opened = float(int(created + between(60, 3 * HOUR_S, s, 7, e)) // 60 * 60)  # minute-aligned
        game = None
        if t == UPDOWN:
            end = opened + pick([900, 3600, 4 * 3600, DAY_S], s, 8, e)
            close = end
        elif t == SPORTS:
            game = float(int((opened + between(DAY_S, 5 * DAY_S, s, 8, e)) // HOUR_S * HOUR_S))
            end = game + 7 * DAY_S
            close = game + 3 * HOUR_S + int(between(0, 1800, s, 10, e))
        else:
            lo, hi = (7, 200) if t == NEGRISK else (30, 300) if t == LEGACY else (2, 300)
            dur = math.exp(between(math.log(lo * DAY_S), math.log(hi * DAY_S), s, 8, e))
            end = float(int((opened + dur) // DAY_S * DAY_S + DAY_S))
            early = t != LEGACY and u01(s, 12, e) < 0.35
            close = float(int(opened + (end - opened) * (between(0.2, 0.95, s, 13, e) if early else 1.0)))
        return created, opened, end, close, game

    def _build_event(self, e: int) -> PMEvent:
        s, ev = self.seed, PMEvent()
        ev.e, ev.first, ev.etype = e, self.ev_start[e], self.ev_type[e]
        nxt = self.ev_start[e + 1] if e + 1 < self.n_events else self.n
        ev.size = nxt - ev.first
        ev.gid = EVENT_ID_BASE + 2 * e + uint(s, 5, e) % 2
        ev.created, ev.open, ev.end, ev.close, ev.game_start = self._timing(e)
        ev.teams, ev.neg_id, ev.winner, ev.augmented = None, None, -1, False
        t = ev.etype
        if t == UPDOWN:
            ev.title = f"{pick(names.ASSETS, s, 9, e)} Up or Down"
            ev.tag_group = "crypto"
        elif t == SPORTS:
            a = uint(s, 9, e) % len(names.TEAMS)
            b = (a + 1 + uint(s, 11, e) % (len(names.TEAMS) - 1)) % len(names.TEAMS)
            ev.teams = (names.TEAMS[a], names.TEAMS[b])
            ev.title = f"{ev.teams[0]} vs. {ev.teams[1]}"
            ev.tag_group = "sports"
        elif t == NEGRISK:
            ev.title = f"Who will win the {pick(names.CONTESTS, s, 9, e)}?"
            ev.neg_id = hex64("neg", s, e)[:-2] + "00"
            ev.augmented = uint(s, 16, e) % 1000 < AUGMENTED_SHARE * 1000
            ev.winner = uint(s, 14, e) % (ev.size - 1 if ev.augmented else ev.size)  # never the placeholder
            ev.tag_group = pick(["politics", "economy", "world"], s, 15, e)
        else:
            ev.title = f"Will {pick(names.SUBJECTS, s, 9, e)}?"
            ev.tag_group = pick(names.TAG_GROUPS, s, 15, e)
        ev.slug = f"{names.slugify(ev.title)}-{e}"  # titles repeat across events; slugs never do
        return ev

    # ---- markets -------------------------------------------------------------------------
    def market(self, i: int) -> PMMarket:
        return self._markets.get(i)

    def _build_market(self, i: int) -> PMMarket:
        s, m = self.seed, PMMarket()
        e = self.event_of(i)
        ev = self.event(e)
        m.i, m.ev, m.pos = i, ev, i - ev.first
        m.gid = self.gamma_id(i)
        m.cond = "0x%064x" % self.conds.encode(i)
        m.tokens = (str(self.tokens.encode(2 * i)), str(self.tokens.encode(2 * i + 1)))
        m.legacy = ev.etype == LEGACY
        m.static = None                       # Gamma's unchanging fields, filled on first render
        m.row = None                          # (key, bytes) of the last rendered row (simulator/rowcache.py)
        m.sports_type, m.line, m.group_title, m.threshold = None, None, "", "0"
        m.qid = hex64("qid", s, i)
        t = ev.etype
        fifty_ok = t in (SINGLE, SPORTS)
        m.placeholder = ev.augmented and m.pos == ev.size - 1
        if t == NEGRISK:
            name = "Other" if m.placeholder else names.PEOPLE[(uint(s, 20, e) + m.pos) % len(names.PEOPLE)]
            m.outcomes, m.group_title, m.threshold = ("Yes", "No"), name, str(m.pos)
            m.question = f"Will {name} win the {ev.title[17:-1]}?"
            m.qid = ev.neg_id[:-2] + "%02x" % m.pos
            win = 0 if m.pos == ev.winner else 1
        elif t == SPORTS:
            a, b = ev.teams
            if m.pos == 0:
                m.outcomes, m.sports_type, m.question = (a, b), "moneyline", ev.title
            elif m.pos == 1:
                m.line = 200.5 + uint(s, 21, i) % 60
                m.outcomes, m.sports_type = ("Over", "Under"), "totals"
                m.question = m.group_title = f"Over {m.line}"
            else:
                m.line = -1.5 - uint(s, 21, i) % 8
                m.outcomes, m.sports_type = (a, b), "spreads"
                m.question = m.group_title = f"Spread: {a} ({m.line})"
            win = 0 if u01(s, 22, i) < 0.5 else 1
        elif t == UPDOWN:
            m.outcomes, m.question = ("Up", "Down"), ev.title
            win = 0 if u01(s, 22, i) < 0.5 else 1
        else:
            m.outcomes, m.question = ("Yes", "No"), ev.title
            win = 0 if u01(s, 22, i) < 0.3 else 1
        if fifty_ok and u01(s, 23, i) < FIFTY_SHARE:
            win = -1
        m.win_idx = win
        m.slug = f"{names.slugify(m.question)}-{m.gid}"
        # resolution lifecycle
        m.disp = m.reprop = None
        if m.legacy:
            m.prop = None
            m.final = ev.close
        else:
            lo, hi = (300, 900) if t == UPDOWN else (600, 2 * DAY_S)
            m.prop = ev.close + int(math.exp(between(math.log(lo), math.log(hi), s, 24, i)))
            if u01(s, 25, i) < DISPUTE_SHARE:
                m.disp = m.prop + int(between(0.2 * HOUR_S, 1.9 * HOUR_S, s, 26, i))
                m.reprop = m.disp + int(between(4 * DAY_S, 6 * DAY_S, s, 27, i))
                m.final = m.reprop + LIVENESS_S
            else:
                m.final = m.prop + LIVENESS_S
        m.uma_empty = u01(s, 28, i) < 0.3
        m.tick = 100 if u01(s, 29, i) < 0.6 else 10
        final_u = UNIT // 2 if win == -1 else (UNIT if win == 0 else 0)
        target = between(0.3, 0.7, s, 30, i) if win == -1 else (
            between(0.8, 0.98, s, 30, i) if win == 0 else between(0.02, 0.2, s, 30, i))
        spread = m.tick * (1 + uint(s, 31, i) % (4 if m.tick == 100 else 30))
        m.path = Path(uint(s, 32, i) >> 8, ev.open, ev.close, m.final, between(-3, 3, s, 33, i),
                      between(0.3, 1.5, s, 34, i), target, final_u, m.tick, spread,
                      pick([2, 5, 10, 30, 60, 240], s, 35, i),
                      math.exp(between(math.log(0.5), math.log(500), s, 36, i)))
        return m

    # ---- state at time t -----------------------------------------------------------------
    def status(self, m: PMMarket, now: float) -> str:
        ev = m.ev
        if now < ev.created:
            return "unlisted"
        if now < ev.close:
            return "open"
        if now >= m.final:
            return "resolved"
        if m.prop is None or now < m.prop:
            return "closed"
        if m.disp is not None and m.disp <= now < m.reprop:
            return "disputed"
        return "proposed"

    def uma_history(self, m: PMMarket, now: float) -> list[str]:
        out = []
        for ts, name in ((m.prop, "proposed"), (m.disp, "disputed"), (m.reprop, "proposed"),
                         (None if m.legacy else m.final, "resolved")):
            if ts is not None and ts <= now:
                out.append(name)
        return out
