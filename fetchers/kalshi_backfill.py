"""Kalshi backfill: settled markets of both tiers, history from candlesticks (docs/api/kalshi.md §6-7).

Markets: the live tier lists settlements in the window server-side
(``/markets?status=settled&mve_filter=exclude&min_settled_ts&max_settled_ts``); markets settled
before ``GET /historical/cutoff`` live only in the historical tier, whose ``/historical/markets``
has no date filters, so it is swept whole (skipped when the window starts after the cutoff) and
filtered here on settlement_ts. A market served by both tiers around the cutoff is done once.
Records come from the live parser (fetchers/kalshi_parse.py): ``market_upsert`` and
``resolution``; only finalized markets (resolved, or voided for a scalar result) are backfilled.
Series tickers (needed in the live candle path) come from the market's event via the live
fetcher's cached ``Catalog``; without one the batch ``/markets/candlesticks`` is used instead.

Candles: period 60 minutes, or 1440 for a market that traded longer than one 5,000-candle hourly
request covers (LONG_LIVED_S), requested in windows of at most 5,000 candles from open to one
period past the close. Live candles come from ``/series/{s}/markets/{t}/candlesticks`` (a 404 there
means the market has just crossed the cutoff: retried on the historical route), historical ones
from ``/historical/markets/{t}/candlesticks`` with their unsuffixed dollar-string keys;
``kalshi_parse.candle_snapshot`` reads both. One point per candle the API returns, at its
``end_period_ts``: candles are sparse (only periods with a trade or a quote change) and nothing
is forward-filled here. yes_price follows the live rule: the bid/ask midpoint of the closes when
both sides are real quotes, else the period's last trade, else the candle's ``previous`` price; a
candle with none of these is not stored. ``volume`` is made cumulative (the running sum of the
candles' volumes from the open), the meaning it has in live snapshots.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import quote

import msgspec

from collector import clock, wire
from collector.errors import ApiError
from fetchers import kalshi_parse as kp
from fetchers.backfill import Driver
from fetchers.base import PhaseContext
from fetchers.http import ApiRefused
from fetchers.kalshi import Catalog, Pages

PERIOD_HOURLY, PERIOD_DAILY = 60, 1440  # minutes; the API allows 1, 60 and 1440
CANDLES_PER_REQUEST = 5000  # (end_ts - start_ts) / period must stay <= 5,000
LONG_LIVED_S = CANDLES_PER_REQUEST * 3600  # longer-lived markets get daily candles


class BadHistory(ApiError):
    """A candlesticks answer without a candle list."""


def run(ctx: PhaseContext, driver: Driver) -> None:
    cfg, window = ctx.cfg.kalshi, driver.window
    cutoff = _cutoff(ctx)
    catalog = Catalog()
    params: dict = {"status": "settled", "limit": cfg.page_size}
    if not cfg.include_parlays:
        params["mve_filter"] = "exclude"
    if window.lo is not None:
        params["min_settled_ts"] = window.lo
    if window.hi is not None:
        params["max_settled_ts"] = window.hi
    for items in Pages(ctx, "/markets", "markets", params):
        _page(ctx, driver, catalog, items, historical=False)
    if ctx.should_stop():
        return
    if cutoff is not None and window.lo is not None and window.lo >= cutoff:
        ctx.log.info("window starts after the historical cutoff %s: live tier only", clock.iso(cutoff))
        return
    hist: dict = {"limit": cfg.page_size}
    if not cfg.include_parlays:
        hist["mve_filter"] = "exclude"
    for items in Pages(ctx, "/historical/markets", "markets", hist):
        _page(ctx, driver, catalog, items, historical=True)


def _cutoff(ctx: PhaseContext) -> int | None:
    try:
        cutoff = kp.cutoff_unix(ctx.http.get_json(ctx.cfg.kalshi.base_url + "/historical/cutoff"))
    except (ApiRefused, kp.BadRecord) as exc:
        ctx.log.warning("historical cutoff unknown (%s): sweeping both tiers", exc)
        return None
    ctx.log.info("historical cutoff: markets settled before %s are in the historical tier", clock.iso(cutoff))
    return cutoff


def _page(ctx: PhaseContext, driver: Driver, catalog: Catalog, items: list, historical: bool) -> None:
    catalog.load(ctx.db)  # resets the single-lookup budget for this page
    driver.listed(len(items))
    wanted = []
    for m in items:
        try:
            ticker = kp.ticker_of(m)
        except kp.BadRecord as exc:
            ctx.skip("market", str(exc))
            driver.count("ignored")
            continue
        if not ctx.cfg.kalshi.include_parlays and kp.is_parlay(m):
            driver.count("ignored")
        elif driver.todo(ticker):
            wanted.append((ticker, m))
    catalog.ensure(ctx, {e for _, m in wanted if type(e := m.get("event_ticker")) is str})
    for ticker, m in wanted:
        if ctx.should_stop():
            return
        now = clock.now()
        try:
            series, category = catalog.category_for(m.get("event_ticker"))
            upsert, verdict = kp.market_records(m, now, series, category)
            open_ts = kp.unix(kp.iso(m.get("open_time"), "open_time"))
            close_ts = kp.unix(kp.iso(m.get("close_time"), "close_time"))
        except kp.BadRecord as exc:
            ctx.skip(f"market {ticker}", str(exc))
            driver.count("ignored")
            continue
        if verdict is None or verdict.status not in wire.FINAL_STATUSES:
            driver.count("not_final")
        elif not driver.window.holds(kp.unix(verdict.resolved_at)):
            driver.count("outside")
        else:
            driver.backfill(ticker, [upsert, verdict], Candles(ctx, ticker, series, historical, open_ts, close_ts))


class Candles:
    """One market's candles as backfill snapshots; iterate once, then read ``resolution_s``."""

    def __init__(self, ctx: PhaseContext, ticker: str, series: str | None, historical: bool,
                 open_ts: int | None, close_ts: int | None) -> None:
        self.ctx, self.ticker, self.series, self.historical = ctx, ticker, series, historical
        self.open_ts, self.close_ts = open_ts, close_ts
        life = (close_ts or 0) - (open_ts or 0)
        self.period = PERIOD_HOURLY if life <= LONG_LIVED_S else PERIOD_DAILY
        self.resolution_s = self.period * 60

    def __iter__(self) -> Iterator[wire.PriceSnapshot]:
        if self.open_ts is None or self.close_ts is None:
            self.ctx.skip(f"history of {self.ticker}", "no open_time/close_time")
            return
        step = self.period * 60
        span = CANDLES_PER_REQUEST * step - 1  # (end - start) // step == 4,999: inside the cap
        last_t, volume = 0, 0.0
        for lo in range(self.open_ts, self.close_ts + step + 1, span + 1):
            for c in self._fetch(lo, min(self.close_ts + step, lo + span)):
                try:
                    snap = kp.candle_snapshot(c, self.ticker)
                except kp.BadRecord as exc:
                    self.ctx.skip(f"candle of {self.ticker}", str(exc))
                    continue
                if snap.t <= last_t:  # never the same candle twice
                    continue
                last_t = snap.t
                volume += snap.volume or 0.0
                if snap.yes_price is None and snap.best_bid is None and snap.best_ask is None:
                    continue  # never traded, no quotes: nothing to store
                yield msgspec.structs.replace(snap, volume=volume)

    def _fetch(self, lo: int, hi: int) -> list:
        base, http = self.ctx.cfg.kalshi.base_url, self.ctx.http
        params = {"start_ts": lo, "end_ts": hi, "period_interval": self.period}
        t = quote(self.ticker, safe="")
        if not self.historical and self.series:
            try:
                return _candles(http.get_json(f"{base}/series/{quote(self.series, safe='')}/markets/{t}/candlesticks",
                                              params), self.ticker)
            except ApiRefused as exc:
                if exc.status != 404:
                    raise
                self.historical = True  # crossed the cutoff since it was listed
        if self.historical:
            return _candles(http.get_json(f"{base}/historical/markets/{t}/candlesticks", params), self.ticker)
        body = http.get_json(f"{base}/markets/candlesticks", {**params, "market_tickers": self.ticker})
        rows = body.get("markets") if isinstance(body, dict) else None
        mine = [r for r in rows or [] if isinstance(r, dict) and r.get("market_ticker") == self.ticker]
        return _candles(mine[0] if mine else body, self.ticker)


def _candles(body, ticker: str) -> list:
    candles = body.get("candlesticks") if isinstance(body, dict) else None
    if candles is None and isinstance(body, dict) and "candlesticks" in body:
        return []
    if not isinstance(candles, list):
        raise BadHistory(f"candlesticks of {ticker}: no candle list ({str(body)[:120]})")
    return candles
