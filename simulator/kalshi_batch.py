"""The MOVING numbers of a whole Kalshi list page at once: `kalshi_render._moving` over arrays.

Why: at a new simulated minute every row of a 1,000-row page is re-made from its template
(simulator/rowcache.py), and what is left per row is `_moving`: two minute indices, two last
trades, up to four walks, two volumes and the top-of-book sizes, ~10 tuple hashes and a dozen
small Python calls, ~20 us of a 25 us budget (40 pages/s). Here the hashes (simulator/
batchwalk.py), floor divisions and clamps run as numpy array operations over the page.

It is a second spelling of rules whose first spelling is pricing.Path (minute, last_trade,
quote_of, volume) and kalshi_render (`_plan`, `_moving`, `top_sizes`): every step repeats the
scalar code's IEEE operations in the same order, so the values are the same (prices are then
spelled by a table of kx_dollars strings, counts are whole ints).
tests/test_simulator_batch.py compares the two over many markets and times, and
tests/test_simulator_rowcache.py compares whole pages with uncached renders.
"""

from __future__ import annotations

import numpy as np

from . import batchwalk
from .clock import DAY_S
from .fmt import kx_dollars
from .pricing import MIN_S, UNIT

# kx_dollars of every whole-unit price 0..1 dollar: a page's price strings are one table lookup
PRICE_STRINGS = np.array([kx_dollars(u) for u in range(UNIT + 1)], dtype=object)
PRICE_COLUMNS = [0, 1, 2, 4, 5, 6, 9, 11]     # MOVING positions of last, no ask/bid, previous x3, ask, bid
COUNT_COLUMNS = [3, 7, 8, 10, 12]             # open interest, volume 24h, volume, ask size, bid size


def moving_many(seed: int, ms: list, now: float, trading: list[bool]) -> list[tuple]:
    """`_moving(cat, m, now, plan, walks)` for every market of `ms` (its MOVING numbers, in
    MOVING order); `trading[j]`: ms[j]'s status is active or inactive."""
    column = batchwalk.column
    paths = [m.path for m in ms]
    s = column(paths, "s", np.uint64)
    opened, closed = column(ms, "open"), column(ms, "close")
    k_close, block = column(paths, "k_close", np.int64), column(paths, "block", np.int64)
    rate = column(paths, "rate")
    tick, spread = column(paths, "tick", np.int64), column(paths, "spread", np.int64)
    quoted = column(paths, "quoted", bool)
    day_ago = now - DAY_S

    raw_k = np.floor_divide(now - opened, float(MIN_S)).astype(np.int64)       # Path.minute, unclamped
    raw_kd = np.floor_divide(day_ago - opened, float(MIN_S)).astype(np.int64)
    k, kd = np.clip(raw_k, 0, k_close), np.clip(raw_kd, 0, k_close)
    lt, has_lt = _last_trade(s, block, k)
    ltd, has_ltd = _last_trade(s, block, kd)
    trade = np.array(trading, dtype=bool) & quoted
    has_lt &= now >= opened
    previous = (day_ago >= opened) & quoted
    has_kd = previous & (day_ago < closed)
    has_ltd &= previous
    w_now, w_lt, w_kd, w_ltd = _walks(paths, (s, k_close), ((k, trade), (lt, has_lt), (kd, has_kd), (ltd, has_ltd)))

    bid, ask = _quote(w_now, tick, spread)
    bid, ask = np.where(trade, bid, 0), np.where(trade, ask, UNIT)
    idx = column(ms, "i", np.uint64)
    sizes = [np.where(trade, (1 + batchwalk.uint_many(seed, label, idx, k) % np.uint64(500)).astype(np.float64), 0.0)
             for label in (300, 301)]
    last = np.where(has_lt, _mid(w_lt, tick, spread) // 100 * 100, 0)
    pbid, pask = _quote(w_kd, tick, spread)
    pbid, pask = np.where(has_kd, pbid, 0), np.where(has_kd, pask, UNIT)
    plast = np.where(has_ltd, _mid(w_ltd, tick, spread) // 100 * 100, 0)
    pbid, pask, plast = np.where(previous, pbid, 0), np.where(previous, pask, 0), np.where(previous, plast, 0)
    vol = _volume(s, block, rate, k_close, raw_k, now >= opened)
    vol_day = _volume(s, block, rate, k_close, raw_kd, day_ago >= opened)
    prices = np.column_stack((last, UNIT - bid, UNIT - ask, plast, pask, pbid, ask, bid))
    if prices.min() < 0 or prices.max() > UNIT:
        raise ValueError("a price outside 0..1 dollars")      # the table below covers 0..UNIT
    columns: list = [None] * 13          # MOVING order; the rows are tuples zipped from the columns
    for j, strings in zip(PRICE_COLUMNS, PRICE_STRINGS[prices.T].tolist()):
        columns[j] = strings
    for j, counts in zip(COUNT_COLUMNS, np.vstack((np.trunc(vol * 0.45), vol - vol_day, vol, sizes[1], sizes[0])
                                                  ).astype(np.int64).tolist()):
        columns[j] = counts
    return list(zip(*columns))


def _trade_minute(s, block, j):
    """Path.trade_minute: j * block + int(u01(s, 101, j) * block)."""
    return j * block + (batchwalk.u01_many(s, 101, j) * block).astype(np.int64)


def _last_trade(s, block, k):
    """Path.last_trade as (minute, whether there is one)."""
    jb = k // block
    here = _trade_minute(s, block, jb)
    before = _trade_minute(s, block, np.maximum(jb - 1, 0))
    return np.where(here <= k, here, before), (here <= k) | (jb > 0)


def _walks(paths: list, have: tuple, wanted) -> list[np.ndarray]:
    """Walk values for each (minutes, mask) of `wanted` where its mask holds (0.5 elsewhere,
    never shown), all in one batch; `have`: the page's seed and k_close columns."""
    ats = [np.flatnonzero(mask) for _, mask in wanted]
    if batchwalk.EXACT:
        s, k_close = have
        cols = (s, batchwalk.column(paths, "logit0"), batchwalk.column(paths, "vol"),
                batchwalk.column(paths, "target"), k_close)
        at_all = np.concatenate(ats)
        walked = batchwalk.walk_columns(tuple(c[at_all] for c in cols),
                                        np.concatenate([mins[at] for (mins, _), at in zip(wanted, ats)]))
    else:
        ps = [paths[j] for at in ats for j in at.tolist()]
        walked = np.array(batchwalk.walk_many(ps, [k for (mins, _), at in zip(wanted, ats) for k in mins[at].tolist()]))
    out, start = [], 0
    for at in ats:
        w = np.full(len(paths), 0.5)
        w[at] = walked[start:start + len(at)]
        start += len(at)
        out.append(w)
    return out


def _quote(w: np.ndarray, tick: np.ndarray, spread: np.ndarray):
    """Path.quote_of: (bid, ask) on the tick grid around walk values w."""
    bid = np.floor_divide(w * UNIT - spread / 2, tick.astype(np.float64)).astype(np.int64) * tick
    bid = np.minimum(np.maximum(bid, tick), UNIT - tick - spread)
    return bid, bid + spread


def _mid(w, tick, spread):
    bid, ask = _quote(w, tick, spread)
    return (bid + ask) // 2


def _volume(s, block, rate, k_close, raw_k, started) -> np.ndarray:
    """Path.volume (whole contracts): 0 before the open or without trading, else the floor of
    the telescoping sum `Path._cum` at min(minute, k_close)."""
    k = np.clip(raw_k, 0, k_close)
    jb = k // block
    u_jb, u_next = batchwalk.u01_many(s, 102, jb), batchwalk.u01_many(s, 102, jb + 1)
    rb = rate * block
    v = rb * (jb + u_jb - batchwalk.u01_many(s, 102, 0))
    v = np.where(k >= _trade_minute(s, block, jb), v + rb * (1.0 + u_next - u_jb), v)
    return np.where(started & (rate > 0), np.floor(v), 0.0)
