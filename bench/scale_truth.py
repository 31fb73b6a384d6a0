"""What the simulated world held, for bench/bench_scale.py: the same deterministic world rebuilt in
the bench process (same seed, size and start as the simulator it ran against), asked directly.

A market counts as open for a cycle at grid time g when it is listed by the listing SNAPSHOT reads
(Polymarket: created and not closed, negRisk placeholders aside, as the fetcher never snapshots
them; Kalshi: `active`, parlays aside) both at g and at g + 900 s: open for the whole slot, so the
sweep must have found it whenever in the slot it ran.
"""

from __future__ import annotations

from simulator.kx_model import MVE
from simulator.pm_model import LEGACY
from simulator.sizing import WorldSize
from simulator.world import World

PLATFORMS = ("polymarket", "kalshi")
START = "2026-11-01T00:00:00Z"     # simulated start: the run stays inside one UTC day (one archive partition)
SIZE_OPTIONS = ("open_polymarket", "closed_polymarket", "open_kalshi", "closed_kalshi")


def add_size_options(ap) -> None:
    defaults = WorldSize()
    for name in SIZE_OPTIONS:
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))


def size_args(args) -> list[str]:
    out = []
    for name in SIZE_OPTIONS:
        out += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    return out


def world(args, start: str) -> World:
    size = WorldSize(**{n: getattr(args, n) for n in SIZE_OPTIONS})
    return World(seed=args.seed, size=size, start=start, speed=0, cache=10**7)


class Truth:
    def __init__(self, w: World) -> None:
        self.w = w
        self.pm_created = [w.pm._timing(e)[0] for e in range(w.pm.n_events)]
        self.kx_created = [w.kx._timing(e)[0] for e in range(w.kx.n_events)]

    def _pm_open(self, e: int, t: float) -> bool:
        return self.pm_created[e] <= t < self.w.pm.ev_close[e]

    def open_at(self, platform: str, g: float, span: float) -> tuple[int, set[str]]:
        """(markets open at g, ids of those open for all of [g, g + span])."""
        w, n_open, whole = self.w, 0, set()
        if platform == "polymarket":
            cat = w.pm
            for e in range(cat.n_events):
                if not self._pm_open(e, g):
                    continue
                ev = cat.event(e)
                members = range(ev.first, ev.first + ev.size - (1 if ev.augmented else 0))
                n_open += len(members)
                if self._pm_open(e, g + span):
                    whole.update("0x%064x" % cat.conds.encode(i) for i in members)
            return n_open, whole
        cat = w.kx
        for e in range(cat.n_events):
            if cat.ev_type[e] == MVE or not (self.kx_created[e] <= g and cat.ev_open[e] <= g < cat.ev_close[e]):
                continue
            ev = cat.event(e)
            for i in range(ev.first, ev.first + ev.size):
                m = cat.market(i)
                if cat.status(m, g) == "active":
                    n_open += 1
                    if cat.status(m, g + span) == "active":
                        whole.add(m.ticker)
        return n_open, whole

    def trading(self, platform: str, g: float, whole: set[str]) -> set[str]:
        """Of ``whole``, the markets with a book to serve for the whole slot: Kalshi's active ones all;
        Polymarket's unless listed before their event opens for trading or legacy (no CLOB book:
        the simulator answers "no book" for them, as Polymarket does)."""
        if platform != "polymarket":
            return whole
        cat, out = self.w.pm, set()
        for e in range(cat.n_events):
            if not self._pm_open(e, g):
                continue
            ev = cat.event(e)
            if ev.open > g or ev.etype == LEGACY:
                continue
            out.update("0x%064x" % cat.conds.encode(i) for i in range(ev.first, ev.first + ev.size))
        return out & whole

    def final_at(self, platform: str, market_id: str) -> float | None:
        """When the market's result became final (None: not a market of this world)."""
        if platform == "polymarket":
            i = self.w.pm.index_of_cond(market_id)
            return None if i is None else self.w.pm.market(i).final
        i = self.w.kx.index_of(market_id)
        return None if i is None else self.w.kx.market(i).final
