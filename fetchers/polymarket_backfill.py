"""Polymarket backfill: closed markets from Gamma's keyset catalogue, history from CLOB /prices-history.

The catalogue is the same ``/markets/keyset?closed=true`` sweep DISCOVER uses (fetchers/polymarket_pages.py,
page by page, never all of it in memory); each row goes through the live parser and the live
resolution rule (fetchers/polymarket_parse.py, with the same CLOB cross-check for an anomaly), and
only markets *final* by that rule (resolved or voided) whose resolution time falls in the window
are backfilled. Closed-but-pending markets are counted and left for a later run.

History (docs/api/polymarket.md §3.3, §7): ``GET /prices-history?market=<YES token>&startTs&endTs
&fidelity=720``. Resolved markets answer ``[]`` to any fidelity finer than 720 minutes, so 720 is
the finest there is for them; the request is windowed (WINDOW_POINTS points per call, the size
known to work at fidelity 60) because ``interval=max`` can come back empty for closed markets.
``t`` is kept as the API gives it (not on a grid) and ``yes_price = p``. The resolution recorded
in the mark is the one obtained: the requested fidelity, or the smallest spacing of the points
returned if the API gave a coarser series (0 when the market has no history at all).
"""

from __future__ import annotations

import json
from typing import Iterator

from collector import clock, wire
from collector.errors import ApiError
from fetchers import polymarket_parse as parse
from collector.clock import unix
from fetchers.backfill import Driver
from fetchers.base import PhaseContext
from fetchers.polymarket import CLOSED, checked_verdict
from fetchers.polymarket_pages import Sweep

FIDELITY_MINUTES = 720  # finest fidelity a resolved market answers (polymarket.md §3.3)
WINDOW_POINTS = 360  # points per request: 15 days at fidelity 60 is known to work; 180 days at 720
LOOKBACK_S = 2 * 365 * 86400  # history start when Gamma gives no createdAt
END_MARGIN_S = 86400  # history end: a day past the close, for clocks that disagree


class BadHistory(ApiError):
    """A /prices-history answer without a history list (an error body with status 200)."""


def run(ctx: PhaseContext, driver: Driver) -> None:
    url = ctx.cfg.polymarket.gamma_url.rstrip("/") + "/markets/keyset"
    sweep = Sweep(ctx, url, CLOSED, lambda rows: parse.parse_rows(rows, clock.now()))
    for markets in sweep:
        driver.listed(len(markets))
        for m in markets:
            if ctx.should_stop():
                return
            if driver.todo(m.market_id):
                _one(ctx, driver, m)
    ctx.log.info("closed catalogue: %d pages", sweep.pages)


def _one(ctx: PhaseContext, driver: Driver, m: parse.Market) -> None:
    if m.placeholder:  # a negRisk placeholder is never labelled (polymarket_parse.PLACEHOLDER_KEY)
        driver.count("ignored")
        return
    verdict = checked_verdict(ctx, m)
    if verdict is None or verdict.status not in wire.FINAL_STATUSES:
        driver.count("not_final")
        return
    if not driver.window.holds(unix(verdict.resolved_at or verdict.closed_at or m.upsert.end_date)):
        driver.count("outside")
        return
    tokens = json.loads(m.upsert.extra.get("clob_token_ids") or "[]")
    end = unix(m.closed_time) or unix(verdict.resolved_at) or unix(m.upsert.end_date) or int(clock.now())
    end = min(end + END_MARGIN_S, int(clock.now()))
    start = unix(m.upsert.created_at) or end - LOOKBACK_S
    driver.backfill(m.market_id, [m.upsert, verdict], History(ctx, m.market_id, tokens[0] if tokens else None,
                                                              start, end))


class History:
    """The YES token's price history in windows; iterate once, then read ``resolution_s``."""

    def __init__(self, ctx: PhaseContext, market_id: str, token: str | None, start: int, end: int) -> None:
        self.ctx, self.market_id, self.token, self.start, self.end = ctx, market_id, token, start, end
        self.resolution_s = 0

    def __iter__(self) -> Iterator[wire.PriceSnapshot]:
        if not self.token:
            return
        url = self.ctx.cfg.polymarket.base_url.rstrip("/") + "/prices-history"
        step = WINDOW_POINTS * FIDELITY_MINUTES * 60
        last_t, min_gap, n = None, None, 0
        for lo in range(self.start, self.end + 1, step):
            hi = min(self.end, lo + step - 1)
            body = self.ctx.http.get_json(url, [("market", self.token), ("startTs", lo), ("endTs", hi),
                                                ("fidelity", FIDELITY_MINUTES)])
            points = body.get("history") if isinstance(body, dict) else None
            if not isinstance(points, list):
                raise BadHistory(f"prices-history of {self.market_id}: no history list ({str(body)[:120]})")
            for pt in points:
                tp = _point(pt)
                if tp is None:
                    self.ctx.skip(f"history point of {self.market_id}", f"unusable {str(pt)[:60]}")
                    continue
                t, p = tp
                if last_t is not None:
                    if t <= last_t:  # windows meet at their edges: never the same point twice
                        continue
                    min_gap = t - last_t if min_gap is None else min(min_gap, t - last_t)
                last_t, n = t, n + 1
                yield wire.PriceSnapshot(parse.PLATFORM, self.market_id, t, p, source="backfill")
        if n:
            observed = round(min_gap / 60) * 60 if min_gap else 0
            self.resolution_s = max(FIDELITY_MINUTES * 60, observed)


def _point(pt) -> tuple[int, float] | None:
    """{"t": int seconds, "p": number or numeric string in 0..1} -> (t, p); None if unusable."""
    if not isinstance(pt, dict):
        return None
    t, p = pt.get("t"), pt.get("p")
    if isinstance(t, float) and t.is_integer():
        t = int(t)
    if type(t) is not int or t <= 0:
        return None
    try:
        p = float(p)
    except (TypeError, ValueError):
        return None
    return (t, p) if 0.0 <= p <= 1.0 else None
