"""Real-scale worlds: how many markets to generate, over how long a history, so that a wanted
number are open and a wanted number closed at the start time.

Each catalogue creates its markets in index order at a steady rate over [start - H, start +
FUTURE_S]; a market's lifetime (creation to close) comes from its own hashes and does not depend on
H. So at the start a market's age is uniform on [-FUTURE_S, H], and it counts as open when the age
falls between its open and close offsets, closed when it is older than its close offset. A sample
catalogue gives those offsets; bisection on H matches the wanted closed/open ratio, and the open
count then fixes N. The result is exact in expectation (the bench and tests count the real world).

Early closes and settlement lags are the models' own (pm_model.py, kx_model.py): at any H most
Kalshi closes come before the scheduled time and many settlements lag by days.
"""

from __future__ import annotations

import msgspec

from .clock import DAY_S

SAMPLE_MARKETS = 20_000
H_MIN_S, H_MAX_S = 2 * DAY_S, 20 * 365 * DAY_S
MAX_COUNT = 2_000_000        # per option: past this the startup arrays alone take minutes


class WorldSize(msgspec.Struct, frozen=True):
    """Markets at the start time. Kalshi counts are non-parlay (what the fetchers collect; parlay
    events come on top in the models' share); Polymarket closed includes the legacy AMM markets."""
    open_polymarket: int = 46_000
    closed_polymarket: int = 150_000
    open_kalshi: int = 120_000
    closed_kalshi: int = 300_000

    def check(self) -> None:
        for name in self.__struct_fields__:
            v = getattr(self, name)
            if not 1 <= v <= MAX_COUNT:
                raise ValueError(f"{name.replace('_', '-')} must be in 1..{MAX_COUNT}, got {v}")


class Offsets(msgspec.Struct):
    """Per counted sample market: seconds from creation to open and to close; plus the sample's
    share of markets that count (non-parlay) and of markets outside the age model (legacy)."""
    opens: list[float]
    closes: list[float]
    counted_share: float
    fixed_closed_share: float = 0.0   # legacy AMM: created 2021-22, always closed, not in H


def _shares(off: Offsets, h: float, future_s: float) -> tuple[float, float]:
    """(open, closed) fraction of the aged (non-legacy) counted markets for history h."""
    span, o = h + future_s, 0.0
    c = 0.0
    for a, b in zip(off.opens, off.closes):
        o += max(0.0, min(b, h) - min(a, h))
        c += max(0.0, h - b)
    k = len(off.opens) * span
    return o / k, c / k


def plan(off: Offsets, open_n: int, closed_n: int, future_s: float) -> tuple[int, float]:
    """(N markets in the catalogue, history seconds H) giving ~open_n open and ~closed_n closed."""
    aged_share = 1.0 - off.fixed_closed_share

    def counts(h: float) -> tuple[float, float, int]:
        p_open, p_closed = _shares(off, h, future_s)
        n = open_n / max(p_open * off.counted_share * aged_share, 1e-12)
        closed = n * off.counted_share * (aged_share * p_closed + off.fixed_closed_share)
        return open_n, closed, int(round(n))

    lo, hi = H_MIN_S, H_MAX_S
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        if counts(mid)[1] < closed_n:
            lo = mid
        else:
            hi = mid
    h = (lo * hi) ** 0.5
    return max(10, counts(h)[2]), h


def polymarket_offsets(seed: int, start: float) -> Offsets:
    """Listed (closed=false) from creation to close: Gamma lists a market as soon as it exists."""
    from .pm_model import LEGACY, PolyCatalog
    cat = PolyCatalog(seed, SAMPLE_MARKETS, start, cache=1)
    opens, closes = [], []
    for e in range(cat.n_events):
        if cat.ev_type[e] == LEGACY:
            continue
        created, _opened, _end, close, _game = cat._timing(e)
        size = (cat.ev_start[e + 1] if e + 1 < cat.n_events else cat.n) - cat.ev_start[e]
        opens += [0.0] * size
        closes += [close - created] * size
    return Offsets(opens, closes, counted_share=1.0, fixed_closed_share=cat.n_legacy / cat.n)


def kalshi_offsets(seed: int, start: float) -> Offsets:
    """Trading (status=open) from open_time to close; parlay (MVE) markets do not count."""
    from .kx_model import MVE, KalshiCatalog
    cat = KalshiCatalog(seed, SAMPLE_MARKETS, start, cache=1)
    opens, closes = [], []
    for e in range(cat.n_events):
        if cat.ev_type[e] == MVE:
            continue
        created, opened, _sched, close = cat._timing(e)
        size = (cat.ev_start[e + 1] if e + 1 < cat.n_events else cat.n) - cat.ev_start[e]
        opens += [opened - created] * size
        closes += [close - created] * size
    return Offsets(opens, closes, counted_share=len(opens) / cat.n)
