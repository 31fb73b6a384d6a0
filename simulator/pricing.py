"""Closed-form price and volume paths: any minute of any market costs O(octaves), not O(minutes).

Why closed form: history endpoints ask for arbitrary windows of long-lived markets, and the live
endpoints must agree with them exactly. The YES probability is a logistic of fractal value noise
(octaves from 16 minutes to ~1.4 days, amplitude ~ sqrt(period) like a random walk, plus two slow
sinusoids with per-market phases for drift over days and weeks; cheaper than more octaves), pulled towards
the market's eventual outcome as close approaches. Quotes are the walk snapped to the tick grid, so
they stay flat for stretches and Kalshi candles come out sparse. Volume grows in one trade per
block of `block_min` minutes, with a telescoping sum so cumulative volume is also O(1).

All prices are integer "units" of 1e-4 dollars (1.0 == 10_000) to keep formatting exact.
"""

from __future__ import annotations

import math

from .hashing import GOLDEN, INV_2_53, MASK64, u01

UNIT = 10_000                      # price units per dollar (1e-4 $ resolution)
MIN_S = 60                         # one walk step per simulated minute
OCTAVES = 8                        # periods 16 min .. 2**11 min (~1.4 days)
SLOW_PERIODS_MIN = (6 * 1440, 40 * 1440)   # plus two slow sinusoids (6 and 40 days) for drift
SLOW_AMP = 0.6
FIRST_SHIFT = 4                    # 2**4 = 16-minute finest octave
_W = [math.sqrt(1 << (j + FIRST_SHIFT)) for j in range(OCTAVES)]
_NORM = math.sqrt(3.0 / sum(w * w for w in _W))
AMPS = [w * _NORM for w in _W]     # Var(sum) ~= 1 for uniform[-1,1] lattice values


class Path:
    """One market's price/volume process. Times are unix seconds, prices in units."""

    __slots__ = ("s", "open", "close", "final", "logit0", "vol", "target", "final_u", "tick",
                 "spread", "block", "rate", "quoted", "k_close", "int_volume", "_mid0")

    def __init__(self, s: int, open_ts: float, close_ts: float, final_ts: float, logit0: float,
                 vol: float, target: float, final_u: int, tick: int, spread: int, block: int,
                 rate: float, quoted: bool = True, int_volume: bool = False) -> None:
        self.s, self.open, self.close, self.final = s, open_ts, close_ts, final_ts
        self.logit0, self.vol, self.target, self.final_u = logit0, vol, target, final_u
        self.tick, self.spread, self.block, self.rate = tick, spread, block, rate
        self.quoted, self.int_volume = quoted, int_volume
        self.k_close = max(0, math.ceil((close_ts - open_ts) / MIN_S) - 1)
        self._mid0 = None            # opening mid, asked for by every "change since" window

    # ---- minutes -------------------------------------------------------------------------
    def minute(self, t: float) -> int:
        """Minute index since open, clamped to the last trading minute."""
        k = int((t - self.open) // MIN_S)
        return min(max(k, 0), self.k_close)

    def minute_ts(self, k: int) -> float:
        return self.open + k * MIN_S

    # ---- prices --------------------------------------------------------------------------
    def walk(self, k: int) -> float:
        """YES probability (float) at minute k. Hashing is inlined: this is the hot path."""
        s, x = self.s, 0.0
        for j in range(OCTAVES):
            sh = j + FIRST_SHIFT
            n = k >> sh
            f = (k & ((1 << sh) - 1)) / (1 << sh)
            f = f * f * (3.0 - 2.0 * f)
            a = (((hash((s, j, n)) * GOLDEN) & MASK64) >> 11) * INV_2_53
            b = (((hash((s, j, n + 1)) * GOLDEN) & MASK64) >> 11) * INV_2_53
            x += AMPS[j] * (a + (b - a) * f - 0.5)
        x = x * 2.0 + SLOW_AMP * (math.sin(k * (2.0 * math.pi / SLOW_PERIODS_MIN[0]) + (s & 1023))
                                  + math.sin(k * (2.0 * math.pi / SLOW_PERIODS_MIN[1]) + (s >> 10 & 1023)))
        p = 1.0 / (1.0 + math.exp(-(self.logit0 + self.vol * x)))
        w = (k / self.k_close) ** 3 if self.k_close else 1.0
        return (1.0 - w) * p + w * self.target

    def walks(self, ks) -> list[float]:
        """walk(k) for several minutes at once, sharing lattice values between them (the Gamma
        price-change windows ask for 6 minutes of one market; coarse octaves overlap)."""
        s, memo, out = self.s, {}, []
        for k in ks:
            x = 0.0
            for j in range(OCTAVES):
                sh = j + FIRST_SHIFT
                n = k >> sh
                f = (k & ((1 << sh) - 1)) / (1 << sh)
                f = f * f * (3.0 - 2.0 * f)
                a = memo.get((j, n))
                if a is None:
                    a = memo[(j, n)] = (((hash((s, j, n)) * GOLDEN) & MASK64) >> 11) * INV_2_53
                b = memo.get((j, n + 1))
                if b is None:
                    b = memo[(j, n + 1)] = (((hash((s, j, n + 1)) * GOLDEN) & MASK64) >> 11) * INV_2_53
                x += AMPS[j] * (a + (b - a) * f - 0.5)
            x = x * 2.0 + SLOW_AMP * (math.sin(k * (2.0 * math.pi / SLOW_PERIODS_MIN[0]) + (s & 1023))
                                      + math.sin(k * (2.0 * math.pi / SLOW_PERIODS_MIN[1]) + (s >> 10 & 1023)))
            p = 1.0 / (1.0 + math.exp(-(self.logit0 + self.vol * x)))
            w = (k / self.k_close) ** 3 if self.k_close else 1.0
            out.append((1.0 - w) * p + w * self.target)
        return out

    def mids(self, ks) -> list[int]:
        """mid(k) for several minutes (same values as `mid`, computed together)."""
        tick, spread, out = self.tick, self.spread, []
        for p in self.walks(ks):
            bid = int((p * UNIT - spread / 2) // tick) * tick
            bid = min(max(bid, tick), UNIT - tick - spread)
            out.append(bid + spread // 2)
        return out

    def quote(self, k: int) -> tuple[int, int]:
        """(best bid, best ask) for YES at minute k, in units, on the tick grid."""
        return self.quote_of(self.walk(k))

    def quote_of(self, p: float) -> tuple[int, int]:
        """(best bid, best ask) around the walk's probability p (see `walk`/`walks`)."""
        tick, spread = self.tick, self.spread
        bid = int((p * UNIT - spread / 2) // tick) * tick
        bid = min(max(bid, tick), UNIT - tick - spread)
        return bid, bid + spread

    def mid(self, k: int) -> int:
        if k == 0:
            if self._mid0 is None:
                bid, ask = self.quote(0)
                self._mid0 = (bid + ask) // 2
            return self._mid0
        bid, ask = self.quote(k)
        return (bid + ask) // 2

    def yes_units(self, t: float) -> int | None:
        """The world's YES price at t: live mid, frozen after close, the outcome once final."""
        if t < self.open:
            return None
        if t >= self.final:
            return self.final_u
        return self.mid(self.minute(t))

    # ---- volume and trades ---------------------------------------------------------------
    def trade_minute(self, j: int) -> int:
        """The one minute of block j in which a trade happens."""
        return j * self.block + int(u01(self.s, 101, j) * self.block)

    def _cum(self, k: int) -> float:
        b = self.block
        jb = k // b
        v = self.rate * b * (jb + u01(self.s, 102, jb) - u01(self.s, 102, 0))
        if k >= self.trade_minute(jb):
            v += self.rate * b * (1.0 + u01(self.s, 102, jb + 1) - u01(self.s, 102, jb))
        return v

    def volume(self, t: float) -> float:
        """Cumulative traded volume up to t (contracts for Kalshi, USD for Polymarket)."""
        if t < self.open or self.rate <= 0:
            return 0.0
        k = min(int((t - self.open) // MIN_S), self.k_close)
        v = self._cum(k)
        return float(math.floor(v)) if self.int_volume else round(v, 6)

    def last_trade(self, k: int) -> int | None:
        """Minute of the last trade at or before minute k (None if none yet)."""
        jb = k // self.block
        tm = self.trade_minute(jb)
        if tm <= k:
            return tm
        return self.trade_minute(jb - 1) if jb > 0 else None

    def trades_between(self, k0: int, k1: int) -> list[int]:
        """Trade minutes in [k0, k1] (inclusive), ascending."""
        if k1 < k0 or self.rate <= 0:
            return []
        out = []
        for j in range(max(0, k0 // self.block), k1 // self.block + 1):
            tm = self.trade_minute(j)
            if k0 <= tm <= k1 and tm <= self.k_close:
                out.append(tm)
        return out
