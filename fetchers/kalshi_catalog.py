"""Kalshi categories: market -> event -> series -> category, looked up once and cached.

Markets carry no category and no series ticker (kalshi.md §5.3): the event gives the series, the
series gives the category (falling back to the event's deprecated category). Lookups are batched
(``/events?tickers=``, one ``GET /series`` when many series are unknown) and bounded per run
(LOOKUPS_PER_RUN); what is learned lives for the process and is re-derived from collector.db
after a restart, so categories never cost a request per market per cycle.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

from fetchers import kalshi_parse as kp
from fetchers.base import PhaseContext
from fetchers.http import ApiRefused

EVENTS_PAGE = 200  # /events limit maximum
TICKERS_PER_REQUEST = 100  # tickers= batch (max undocumented; ~100 per URL is what works)
URL_MAX_BYTES = 8000
LOOKUPS_PER_RUN = 300  # single /events/{t} and /series/{t} requests per phase run; the rest waits
SERIES_BULK_MIN = 50  # this many unknown series: one GET /series (all, ~18 MB) beats one each
NOT_TRIED = object()  # a single lookup skipped (budget spent, stopping): nothing learned, nothing cached


class Catalog:
    """event_ticker -> (series_ticker, event category) and series_ticker -> category.

    Lives as long as the process (a serving fetcher runs many jobs); seeded once from
    collector.db so a restart does not look everything up again. Misses are cached too.
    """

    def __init__(self) -> None:
        self.events: dict[str, tuple[str | None, str | None]] = {}
        self.series: dict[str, str | None] = {}
        self.db_loaded = False
        self.bulk_tried = False
        self.batch_events = True  # /events?tickers=; off once the server shows it ignores it
        self.budget = LOOKUPS_PER_RUN

    def load(self, db: sqlite3.Connection | None) -> None:
        """Start of a phase run: reset the lookup budget; the first time, learn what is stored."""
        self.budget = LOOKUPS_PER_RUN
        if self.db_loaded or db is None:
            return
        try:
            rows = db.execute(
                "SELECT DISTINCT json_extract(extra, '$.event_ticker'), json_extract(extra, '$.series_ticker'),"
                " category FROM markets WHERE platform = 'kalshi' AND extra IS NOT NULL").fetchall()
        except sqlite3.Error:
            return
        for event, series, category in rows:
            if event and event not in self.events:
                self.events[event] = (series, None)
            if series and category:
                self.series.setdefault(series, category)
        self.db_loaded = True

    def learn_event(self, event: str, series: str | None, category: str | None) -> None:
        self.events[event] = (series, category)

    def category_for(self, event: object) -> tuple[str | None, str | None]:
        """(series_ticker, category): the series' category, else the event's deprecated one."""
        series, event_category = self.events.get(event, (None, None)) if type(event) is str else (None, None)
        return series, (self.series.get(series) if series else None) or event_category

    def ensure(self, ctx: PhaseContext, event_tickers: set) -> None:
        """Look up the events and series of one page that are not known yet (batched, budgeted)."""
        todo = [e for e in event_tickers if type(e) is str and e and "," not in e
                and e not in self.events and not e.startswith(kp.PARLAY_PREFIX)]
        if todo:
            self._events(ctx, todo)
        series = {self.events[e][0] for e in event_tickers if e in self.events} - {None}
        todo = [s for s in series if s not in self.series]
        if len(todo) >= SERIES_BULK_MIN and not self.bulk_tried:
            self.bulk_tried = True
            try:
                for s in ctx.http.get_json(ctx.cfg.kalshi.base_url + "/series").get("series") or []:
                    self._learn_series(s)
            except (ApiRefused, AttributeError, TypeError) as exc:
                ctx.log.info("GET /series (all) unusable (%s); one lookup per series", exc)
            todo = [s for s in todo if s not in self.series]
        for s in todo:
            body = self.single(ctx, f"/series/{s}")
            if body is not NOT_TRIED:
                self.series[s] = None  # a miss is cached too: the event's category stands in
                self._learn_series(body.get("series") if body else None)

    def _events(self, ctx: PhaseContext, todo: list[str]) -> None:
        base = ctx.cfg.kalshi.base_url
        if self.batch_events:
            for batch in ticker_batches(base, todo):
                got = other = 0
                body = ctx.http.get_json(base + "/events", {"tickers": ",".join(batch), "limit": EVENTS_PAGE})
                for e in (body.get("events") if type(body) is dict else None) or []:
                    try:
                        info = kp.event_info(e)
                    except kp.BadRecord:
                        continue
                    if info[0] in batch:
                        got += 1
                    else:
                        other += 1
                    self.learn_event(*info)
                if other and not got:  # the server ignored the filter: one by one from now on
                    ctx.log.info("GET /events ignored tickers=; looking events up one by one")
                    self.batch_events = False
                    break
        for e in todo:
            if e not in self.events:
                body = self.single(ctx, f"/events/{e}")
                if body is NOT_TRIED:
                    continue
                self.events[e] = (None, None)
                try:
                    if body is not None:
                        self.learn_event(*kp.event_info(body.get("event")))
                except kp.BadRecord as exc:
                    ctx.log.warning("event %s: %s", e, exc)

    def single(self, ctx: PhaseContext, path: str):
        """One GET within the run's budget: the body, None (refused/not an object) or NOT_TRIED."""
        if self.budget <= 0 or ctx.should_stop():
            return NOT_TRIED
        self.budget -= 1
        try:
            body = ctx.http.get_json(ctx.cfg.kalshi.base_url + path)
        except ApiRefused as exc:
            ctx.log.warning("GET %s: %s", path, exc)
            return None
        return body if type(body) is dict else None

    def _learn_series(self, s: object) -> None:
        try:
            if type(s) is dict and type(s.get("ticker")) is str:
                self.series[s["ticker"]] = kp.series_category(s)
        except kp.BadRecord:
            pass


def ticker_batches(base_url: str, tickers: list[str]) -> Iterator[list[str]]:
    room = URL_MAX_BYTES - len(base_url) - 100
    batch: list[str] = []
    size = 0
    for t in tickers:
        cost = len(t.encode()) * 3 + 3  # worst case percent-encoded, plus the encoded comma
        if batch and (len(batch) >= TICKERS_PER_REQUEST or size + cost > room):
            yield batch
            batch, size = [], 0
        batch.append(t)
        size += cost
    if batch:
        yield batch
