"""Rendered catalogue rows, kept as JSON bytes on the market record until the row can change.

Why: a real-scale sweep asks for ~46k Gamma and ~120k Kalshi rows, and building one from the
closed-form price walk costs 0.3-1.5 ms of Python, far too slow for 20x the fetchers' need. A row
is a pure function of a few things about `now`: the market's minute index (prices, volumes and
trades step once per simulated minute counted from the market's own open), the same index a
day/week/month/year back (volume and price windows), and which of the market's and its event's
lifecycle moments (open, close, proposals, disputes, settlement, ...) have passed. `row_key` names
exactly those; a row cached under an equal key is byte-identical to a fresh render (the catalogues'
`row_cache = False` switch renders every row afresh, and tests/test_simulator_rowcache.py compares
the two over a running clock). The bytes live on the record, so the record memo's cap
(simulator/memo.py) bounds them too.
"""

from __future__ import annotations

from typing import Callable

import msgspec

from .pricing import MIN_S


def row_key(now: float, path_open: float, spans: tuple, moments: tuple) -> tuple:
    """(minute index now and `span` seconds back for each span, flags of moments passed).

    The minute expressions repeat pricing.Path's own arithmetic ((t - open) // MIN_S with
    t = now - span), so float rounding can never make the key coarser than the render."""
    return (tuple(((now - s) - path_open) // MIN_S for s in spans),
            tuple(ts is not None and now >= ts for ts in moments))


def cached(m, key: tuple, render: Callable[[], dict], order: str | None) -> bytes:
    """m's row bytes for `key`: from the record when the key matches, else rendered and kept."""
    hit = m.row
    if hit is not None and hit[0] == key:
        return hit[1]
    data = msgspec.json.encode(render(), order=order)
    m.row = (key, data)
    return data
