"""The simulated world: both catalogues, one clock, and the ground truth tests compare against.

Usable without HTTP:
    w = World(seed=7, markets=1000)
    w.truth()["polymarket"][0]["outcome"]
    w.yes_price_at("kalshi", ticker, t)

Faults never touch this object; they only corrupt response copies in the server.
"""

from __future__ import annotations

import math

from .clock import DEFAULT_START, SimClock, parse_iso
from . import kx_model, pm_model, sizing
from .kx_model import KalshiCatalog
from .memo import DEFAULT_CAP
from .pm_model import TYPE_NAMES, PolyCatalog
from .pricing import UNIT
from .sizing import WorldSize

TRUTH_GRID_S = 900            # `with_prices` grid: one point per 15 simulated minutes
MIN_MARKETS, MAX_MARKETS = 10, 200_000


class World:
    def __init__(self, seed: int = 7, markets: int = 1000, start: float | str | None = None,
                 speed: float = 1.0, legacy_cents: bool = False, size: WorldSize | None = None,
                 cache: int = DEFAULT_CAP) -> None:
        """`markets`: N per platform over the models' default history. `size` instead: a
        real-scale world with that many open and closed markets per platform at `start`
        (simulator/sizing.py); `cache`: market records kept per platform (simulator/memo.py)."""
        if size is None and not MIN_MARKETS <= markets <= MAX_MARKETS:
            raise ValueError(f"markets must be in {MIN_MARKETS}..{MAX_MARKETS}, got {markets}")
        if start is None:
            start = DEFAULT_START
        self.start = parse_iso(start) if isinstance(start, str) else float(start)
        self.seed, self.legacy_cents, self.size = seed, legacy_cents, size
        self.kalshi_books_auth = False  # True: GET /markets/orderbooks answers 401 without an API key
        self.clock = SimClock(self.start, speed)
        pm_n, pm_h, kx_n, kx_h = markets, pm_model.HISTORY_S, markets, kx_model.HISTORY_S
        if size is not None:
            size.check()
            pm_n, pm_h = sizing.plan(sizing.polymarket_offsets(seed, self.start), size.open_polymarket,
                                     size.closed_polymarket, pm_model.FUTURE_S)
            kx_n, kx_h = sizing.plan(sizing.kalshi_offsets(seed, self.start), size.open_kalshi,
                                     size.closed_kalshi, kx_model.FUTURE_S)
        self.n = max(pm_n, kx_n)
        self.pm = PolyCatalog(seed, pm_n, self.start, pm_h, cache)
        self.kx = KalshiCatalog(seed, kx_n, self.start, kx_h, cache)

    def now(self) -> float:
        return self.clock.now()

    # ---- prices --------------------------------------------------------------------------
    def yes_price_at(self, platform: str, market_id: str, t: float) -> float | None:
        """The YES price at unix time t: Polymarket midpoint / Kalshi yes bid-ask mid while open,
        the close price until final, the payout after. market_id = conditionId or ticker."""
        path = self._path(platform, market_id)
        if path is None:
            raise KeyError(market_id)
        u = path.yes_units(t)
        return None if u is None else u / UNIT

    def _path(self, platform: str, market_id: str):
        if platform == "polymarket":
            i = self.pm.index_of_cond(market_id)
            return None if i is None else self.pm.market(i).path
        i = self.kx.index_of(market_id)
        return None if i is None else self.kx.market(i).path

    # ---- truth ---------------------------------------------------------------------------
    def truth(self, now: float | None = None, with_prices: bool = False,
              include_unlisted: bool = False, prices_since: float = 0.0) -> dict:
        """Every market's facts at ``now``; ``with_prices``: its price path on the 15-minute grid from
        its open, or only the grid points at or after ``prices_since`` (a soak checks its own window,
        and the whole history of hundreds of markets takes minutes to compute)."""
        now = self.now() if now is None else now
        pm_n = self.pm.n if include_unlisted else self.pm.n_listed(now)
        kx_n = self.kx.n if include_unlisted else self.kx.n_listed(now)
        return {"now": now,
                "polymarket": [self.pm_truth(i, now, with_prices, prices_since) for i in range(pm_n)],
                "kalshi": [self.kx_truth(i, now, with_prices, prices_since) for i in range(kx_n)]}

    def pm_truth(self, i: int, now: float, with_prices: bool = False, prices_since: float = 0.0) -> dict:
        m = self.pm.market(i)
        ev = m.ev
        status = self.pm.status(m, now)
        final = status == "resolved"
        if m.win_idx == -1:
            outcome, label, value = "VOID", "50-50", 0.5
        else:
            outcome = "YES" if m.win_idx == 0 else "NO"
            label, value = m.outcomes[m.win_idx], 1.0 if m.win_idx == 0 else 0.0
        row = {
            "platform": "polymarket", "market_id": m.cond, "gamma_id": str(m.gid),
            "token_ids": list(m.tokens), "event_id": str(ev.gid), "event_ticker": ev.slug,
            "series_ticker": None, "title": m.question, "outcomes": list(m.outcomes),
            "is_mve": False, "kind": TYPE_NAMES[ev.etype], "neg_risk_market_id": ev.neg_id,
            "placeholder": m.placeholder,  # negRiskOther: stored flagged, never labelled
            "created_time": ev.created, "open_time": ev.open, "scheduled_end": ev.end,
            "close_time": ev.close, "final_at": m.final, "status": status,
            "outcome": outcome if final else None,
            "winning_outcome": label if final else None,
            "settlement_value": value if final else None,
        }
        if with_prices:
            row["prices"] = self._grid(m.path, now, prices_since)
        return row

    def kx_truth(self, i: int, now: float, with_prices: bool = False, prices_since: float = 0.0) -> dict:
        k = self.kx
        m = k.market(i)
        status = k.status(m, now)
        final = status == "finalized"
        outcome = {"yes": "YES", "no": "NO"}.get(m.result, "VOID")
        row = {
            "platform": "kalshi", "market_id": m.ticker, "gamma_id": None, "token_ids": [],
            "event_id": m.ev.ticker, "event_ticker": m.ev.ticker,
            "series_ticker": k.series_tickers[m.ev.series], "title": m.ev.title,
            "yes_sub_title": m.yes_sub, "outcomes": ["Yes", "No"], "is_mve": m.mve,
            "created_time": m.ev.created, "open_time": m.open, "scheduled_end": m.sched,
            "close_time": m.close, "determined_at": m.determined, "final_at": m.final,
            "status": status, "historical": k.is_historical(m, now),
            "outcome": outcome if final else None,
            "winning_outcome": ({"yes": "Yes", "no": "No"}.get(m.result) if final else None),
            "result": m.result if final else None,
            "settlement_value": m.settle_u / UNIT if final else None,
        }
        if with_prices:
            row["prices"] = self._grid(m.path, now, prices_since)
        return row

    @staticmethod
    def _grid(path, now: float, since: float = 0.0) -> list[list[float]]:
        out, t = [], path.open
        if since > t:  # the same grid points, the earlier ones skipped
            t += math.ceil((since - t) / TRUTH_GRID_S) * TRUTH_GRID_S
        while t <= now:
            out.append([t, path.yes_units(t) / UNIT])
            t += TRUTH_GRID_S
        return out
