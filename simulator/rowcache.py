"""Rendered catalogue rows, kept as JSON bytes on the market record while they cannot change.

Why: a real-scale sweep asks for ~46k Gamma and ~120k Kalshi rows, and building one from the
closed-form price walk costs 0.3-1.5 ms of Python, far too slow for 20x the fetchers' need. A row
is a pure function of a few things about `now`: the market's minute index now and a day/week/
month/year back (prices, volumes and trades step once per simulated minute counted from the
market's own open), and which of the market's and its event's lifecycle moments (open, close,
proposals, disputes, settlement, ...) have passed. A row rendered at `now` is kept with the
interval between the moments on either side of `now` and those minute indices, computed with the
render's own float arithmetic (`(now - span - open) // 60`), and served again while a request's
`now` is inside that interval with equal indices: exactly the inputs the render would see. The
catalogues' `row_cache = False` switch renders every row afresh, and
tests/test_simulator_rowcache.py checks both serve the same bytes over a moving clock. The bytes
live on the record, so the record memo's cap (simulator/memo.py) bounds them too.
"""

from __future__ import annotations

from typing import Callable

import msgspec


def between_moments(now: float, moments) -> tuple[float, float]:
    """[lo, hi): the last moment at or before `now` and the first after it (a render tests
    `now >= moment`, so every such test answers the same anywhere in the interval)."""
    lo, hi = float("-inf"), float("inf")
    for x in moments:
        if x is None:
            continue
        if x <= now:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
    return lo, hi


def cached(m, now: float, variant, minutes: tuple, moments: Callable[[], tuple],
           render: Callable[[], dict], order: str | None) -> bytes:
    """m's row bytes at `now` for `variant` (the render's non-time options): from the record when
    `now` lies between the same moments and `minutes` (the render's minute indices at `now`) are
    equal, else rendered, encoded and kept."""
    hit = m.row
    if hit is not None and hit[0] <= now < hit[1] and hit[2] == variant and hit[3] == minutes:
        return hit[4]
    data = msgspec.json.encode(render(), order=order)
    m.row = (*between_moments(now, moments()), variant, minutes, data)
    return data
