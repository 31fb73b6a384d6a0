"""Kalshi: DISCOVER, SNAPSHOT and RESOLVE over the key-less Trade API v2 (shared/api/kalshi.md).

Request budget (2 req/s; real scale Oct 2026: ~120k open non-parlay markets in ~11k open events,
~14k series) — every choice below is about request count:

* DISCOVER, full sweep: ``GET /events?status=open&with_nested_markets=true&limit=200`` gives each
  event *with* its markets and its ``series_ticker`` in one go: ceil(11k/200) = 55 requests,
  versus 120 pages of ``/markets`` plus an event lookup per unseen event. Categories live on the
  series: one ``GET /series`` (the whole list, unpaginated) when many series are unknown, else
  ``GET /series/{t}`` per unseen series, each cached for the process lifetime and re-derived
  from collector.db (markets.extra keeps event_ticker/series_ticker), so never per market per cycle.
* DISCOVER, incremental (the normal case): ``GET /markets?min_updated_ts=W&mve_filter=exclude``
  where W is the newest ``updated_at`` already stored minus a margin: a handful of requests, plus
  one ``/events?tickers=`` per 100 unseen events. A full sweep runs when nothing is stored, or
  when the last one (a phase report noting "full sweep") is older than FULL_SWEEP_SECONDS; it
  also refreshes volumes. Markets seen only by SNAPSHOT (placeholder rows without a title) are
  fetched by ticker.
* SNAPSHOT: ``GET /markets?status=open&mve_filter=exclude&limit=1000``: ceil(N/1000) requests.
* RESOLVE: ``GET /markets?status=settled&min_settled_ts=W`` (only new settlements, ~40 pages a
  day at real scale) and ``GET /markets?tickers=...`` (100 per request, URL < 8 KB) for stored
  markets still pending; those the live tier no longer returns (settled before the historical
  cutoff) via ``/historical/markets?tickers=...``, again 100 per request.

Parlays (KXMVE...) are excluded with ``mve_filter=exclude`` (and client-side) unless
``kalshi.include_parlays``; /events never lists them, so with parlays on the full sweep pages
``/markets?status=open`` instead. Values, statuses and the yes_price rule: fetchers/kalshi_parse.py.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

from collector import clock
from collector.errors import ApiError
from fetchers import kalshi_parse as kp
from fetchers.base import PhaseContext
from fetchers.http import ApiRefused

EVENTS_PAGE = 200  # /events limit maximum
TICKERS_PER_REQUEST = 100  # tickers= batch (max undocumented; ~100 per URL is what works)
URL_MAX_BYTES = 8000
WATERMARK_MARGIN_S = 3600  # incremental windows overlap by an hour: clock skew, CDN caching
FULL_SWEEP_SECONDS = 6 * 3600
FULL_SWEEP_NOTE = "full sweep"
HISTORICAL_LOOKUPS_PER_RUN = 200
LOOKUPS_PER_RUN = 300  # single /events/{t} and /series/{t} requests per phase run; the rest waits
SERIES_BULK_MIN = 50  # this many unknown series: one GET /series (all, ~18 MB) beats one each
SETTLED_FIRST_LOOKBACK_S = 86400  # first RESOLVE: settlements since a day before our first market
REPAIR_PER_RUN = 5000  # placeholder rows (snapshot before discover) fetched by ticker per run
CURSOR_REPEAT_RETRIES = 2  # a repeated cursor: ask again (a page served twice), then abort
NOT_TRIED = object()  # a single lookup skipped (budget spent, stopping): nothing learned, nothing cached


class BadPage(ApiError):
    """A page whose envelope is unusable (no list, no cursor): the sweep cannot go on."""


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
            body = self._single(ctx, f"/series/{s}")
            if body is not NOT_TRIED:
                self.series[s] = None  # a miss is cached too: the event's category stands in
                self._learn_series(body.get("series") if body else None)

    def _events(self, ctx: PhaseContext, todo: list[str]) -> None:
        base = ctx.cfg.kalshi.base_url
        if self.batch_events:
            for batch in _ticker_batches(base, todo):
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
                body = self._single(ctx, f"/events/{e}")
                if body is NOT_TRIED:
                    continue
                self.events[e] = (None, None)
                try:
                    if body is not None:
                        self.learn_event(*kp.event_info(body.get("event")))
                except kp.BadRecord as exc:
                    ctx.log.warning("event %s: %s", e, exc)

    def _single(self, ctx: PhaseContext, path: str):
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


class Known:
    """What collector.db holds for one market: enough to publish only what changed."""

    __slots__ = ("status", "updated_at", "category", "end_date", "detail", "volume", "placeholder")

    def __init__(self, status, updated_at, category, end_date, detail, volume, placeholder) -> None:
        self.status, self.updated_at, self.category = status, updated_at, category
        self.end_date, self.detail, self.volume, self.placeholder = end_date, detail, volume, placeholder

    def differs(self, u) -> bool:
        status = "closed" if self.status in ("resolved", "voided") else self.status
        return (self.placeholder or status != u.status or self.updated_at != u.updated_at
                or self.end_date != u.end_date or self.volume != u.volume
                or (self.category is None and u.category is not None))

    def needs(self, r) -> bool:
        return self.status not in ("resolved", "voided") and (self.status != r.status or self.detail != r.detail)

    def update(self, u, r) -> None:
        self.placeholder = False
        self.updated_at, self.end_date, self.volume = u.updated_at, u.end_date, u.volume
        self.category = u.category or self.category
        if self.status not in ("resolved", "voided"):
            self.status, self.detail = (r.status, r.detail) if r is not None else (u.status, self.detail)


def known_markets(db: sqlite3.Connection | None) -> dict[str, Known]:
    if db is None:
        return {}
    rows = db.execute("SELECT market_id, status, updated_at, category, end_date, resolution_detail, volume,"
                      " observed_at = 0 FROM markets WHERE platform = 'kalshi'")
    return {r[0]: Known(*r[1:]) for r in rows}


def updated_watermark(db: sqlite3.Connection | None) -> float | None:
    """Newest platform updated_time stored: the incremental DISCOVER starts there (minus a margin)."""
    if db is None:
        return None
    newest = db.execute("SELECT max(updated_at) FROM markets WHERE platform = 'kalshi'").fetchone()[0]
    return min(kp.unix(newest), clock.now()) if newest else None


def settled_watermark(db: sqlite3.Connection) -> float | None:
    """Newest settlement stored, else a day before the first market we stored; None when none is."""
    newest = db.execute("SELECT max(resolved_at) FROM markets WHERE platform = 'kalshi'"
                        " AND status IN ('resolved', 'voided')").fetchone()[0]
    if newest:
        return min(kp.unix(newest), clock.now())
    first = db.execute("SELECT min(first_seen_at) FROM markets WHERE platform = 'kalshi'").fetchone()[0]
    return None if first is None else first - SETTLED_FIRST_LOOKBACK_S


_catalog = Catalog()  # module-level on purpose: it must outlive one phase run


def discover(ctx: PhaseContext) -> None:
    """New and changed markets -> MarketUpsert (and Resolution when one is already past trading)."""
    cfg = ctx.cfg.kalshi
    _catalog.load(ctx.db)
    known = known_markets(ctx.db)
    watermark = updated_watermark(ctx.db)
    if watermark is None or _full_sweep_due(ctx.db):
        return _full_sweep(ctx, known)
    params = {"min_updated_ts": int(watermark - WATERMARK_MARGIN_S), "limit": cfg.page_size}
    if not cfg.include_parlays:
        params["mve_filter"] = "exclude"
    seen: set[str] = set()
    try:
        for items in _pages(ctx, "/markets", "markets", params):
            _offer_all(ctx, items, known, seen)
    except ApiRefused as exc:  # filter combination refused (kalshi.md §12): the sweep still works
        ctx.log.warning("incremental discover refused (%s); full sweep instead", exc)
        return _full_sweep(ctx, known)
    _repair(ctx, known, seen)


def snapshot(ctx: PhaseContext) -> None:
    """One PriceSnapshot per open market, all stamped with the job's grid time."""
    cfg = ctx.cfg.kalshi
    t = ctx.grid_time
    if t is None:
        t = clock.grid_floor(clock.now(), ctx.cfg.interval_seconds("snapshot"))
    params = {"status": "open", "limit": cfg.page_size}
    if not cfg.include_parlays:
        params["mve_filter"] = "exclude"
    seen: set[str] = set()
    for items in _pages(ctx, "/markets", "markets", params):
        for m in items:
            try:
                if not cfg.include_parlays and kp.is_parlay(m):
                    continue
                snap = kp.price_snapshot(m, t)
            except kp.BadRecord as exc:
                ctx.skip(_label(m), str(exc))
                continue
            if snap.market_id not in seen:
                seen.add(snap.market_id)
                ctx.publish(snap)


def resolve(ctx: PhaseContext) -> None:
    """New settlements, then every stored market that is closed or past its end and not final."""
    if ctx.db is None:
        ctx.counters.notes.append("no database yet: nothing to resolve")
        return
    cfg = ctx.cfg.kalshi
    _catalog.load(ctx.db)
    known = known_markets(ctx.db)
    seen: set[str] = set()
    since = settled_watermark(ctx.db)
    if since is not None:
        params = {"status": "settled", "min_settled_ts": int(since - WATERMARK_MARGIN_S),
                  "limit": cfg.page_size}
        if not cfg.include_parlays:
            params["mve_filter"] = "exclude"
        for items in _pages(ctx, "/markets", "markets", params):
            _offer_all(ctx, items, known, seen)
    now = clock.now()
    pending = [t for t, k in known.items() if t not in seen and k.status not in ("resolved", "voided")
               and (k.status == "closed" or (k.end_date is not None and kp.unix(k.end_date) <= now))]
    missing = _by_tickers(ctx, pending, known, seen)
    if missing and not ctx.should_stop():
        _historical(ctx, missing, known, seen)


# --- the pieces ----------------------------------------------------------------------------------


def _full_sweep(ctx: PhaseContext, known: dict) -> None:
    cfg = ctx.cfg.kalshi
    seen: set[str] = set()
    ctx.counters.notes.append(FULL_SWEEP_NOTE)
    for status in ("open", "unopened"):  # open: trading; unopened: created, not yet open
        if cfg.include_parlays:  # /events leaves parlays out; /markets has them
            for items in _pages(ctx, "/markets", "markets", {"status": status, "limit": cfg.page_size}):
                _offer_all(ctx, items, known, seen)
        else:
            _event_sweep(ctx, status, known, seen)
    _repair(ctx, known, seen)


def _event_sweep(ctx: PhaseContext, status: str, known: dict, seen: set[str]) -> None:
    """Events of one status with their nested markets: event, series and markets in one request."""
    params = {"status": status, "with_nested_markets": "true", "limit": min(EVENTS_PAGE, ctx.cfg.kalshi.page_size)}
    for events in _pages(ctx, "/events", "events", params):
        markets = []
        for e in events:
            try:
                _catalog.learn_event(*kp.event_info(e))
                nested = e.get("markets") or []
                if type(nested) is not list:
                    raise kp.BadRecord(f"markets is {type(nested).__name__}")
            except kp.BadRecord as exc:
                ctx.skip(f"event {str(e.get('event_ticker') if type(e) is dict else e)[:60]}", str(exc))
                continue
            markets.extend(nested)
        _offer_all(ctx, markets, known, seen)


def _full_sweep_due(db: sqlite3.Connection | None) -> bool:
    if db is None:
        return True
    try:
        row = db.execute(
            "SELECT max(finished_at) FROM phase_runs WHERE platform = 'kalshi' AND phase = 'discover' "
            "AND ok = 1 AND message LIKE ?", (f"%{FULL_SWEEP_NOTE}%",)).fetchone()
    except sqlite3.Error:
        return True
    return row[0] is None or clock.now() - row[0] > FULL_SWEEP_SECONDS


def _repair(ctx: PhaseContext, known: dict, seen: set[str]) -> None:
    """Markets the sink only holds as placeholders (a snapshot came first): fetch them by ticker."""
    todo = [t for t, k in known.items() if k.placeholder and t not in seen][:REPAIR_PER_RUN]
    if todo:
        _by_tickers(ctx, todo, known, seen)


def _offer_all(ctx: PhaseContext, items: list, known: dict, seen: set[str]) -> None:
    """Publish what is new or changed in one page of markets (categories looked up first)."""
    include_parlays = ctx.cfg.kalshi.include_parlays
    wanted = []
    for m in items:
        if type(m) is dict and (include_parlays or not kp.is_parlay(m)):
            wanted.append(m)
        elif type(m) is not dict:
            ctx.skip(_label(m), f"market is {type(m).__name__}, not an object")
    _catalog.ensure(ctx, {e for m in wanted if type(e := m.get("event_ticker")) is str})
    observed_at = clock.now()
    for m in wanted:
        try:
            ticker = kp.ticker_of(m)
            if ticker in seen:
                continue
            series, category = _catalog.category_for(m.get("event_ticker"))
            upsert = kp.market_upsert(m, observed_at, series, category)
            res = kp.resolution(m, observed_at)
        except kp.BadRecord as exc:
            ctx.skip(_label(m), str(exc))
            continue
        seen.add(ticker)
        k = known.get(ticker)
        if k is None or k.differs(upsert):
            ctx.publish(upsert)
        if res is not None and (k is None or k.needs(res)):
            if res.detail == "kalshi:finalized-no-result":
                ctx.log.warning("market %s is finalized with an empty result; kept as closed", ticker)
            ctx.publish(res)
        if k is None:
            k = known[ticker] = Known("active", None, None, None, None, None, False)
        k.update(upsert, res)


def _by_tickers(ctx: PhaseContext, tickers: list[str], known: dict, seen: set[str]) -> list[str]:
    """Fetch markets by ticker in URL-bounded batches; returns the tickers the live API did not return."""
    missing: list[str] = []
    for batch in _ticker_batches(ctx.cfg.kalshi.base_url, tickers):
        if ctx.should_stop():
            break
        got: set[str] = set()
        before = set(seen)
        for items in _pages(ctx, "/markets", "markets", {"tickers": ",".join(batch), "limit": len(batch)}):
            got.update(m["ticker"] for m in items if type(m) is dict and type(m.get("ticker")) is str)
            _offer_all(ctx, items, known, seen)
        missing.extend(t for t in batch if t not in got and t not in before)
    return missing


def _historical(ctx: PhaseContext, tickers: list[str], known: dict, seen: set[str]) -> None:
    """Markets the live tier no longer returns: settled before the historical cutoff (kalshi.md §7.4).

    Routed by absence rather than by comparing dates with GET /historical/cutoff: a market that
    closed early while we were not looking still carries its old scheduled end in our row, so the
    dates cannot tell; one batched ``/historical/markets?tickers=`` per 100 markets can.
    """
    for batch in _ticker_batches(ctx.cfg.kalshi.base_url, tickers):
        try:
            for items in _pages(ctx, "/historical/markets", "markets", {"tickers": ",".join(batch), "limit": len(batch)}):
                _offer_all(ctx, items, known, seen)
        except ApiRefused as exc:  # batch form refused: one by one, within the budget
            ctx.log.warning("GET /historical/markets?tickers= refused (%s); one by one", exc)
            for t in batch[:HISTORICAL_LOOKUPS_PER_RUN]:
                body = _catalog._single(ctx, f"/historical/markets/{t}")
                m = body.get("market") if body and body is not NOT_TRIED else None
                _offer_all(ctx, [m] if m is not None else [], known, seen)
    lost = [t for t in tickers if t not in seen]
    if lost:
        ctx.counters.notes.append(f"{len(lost)} pending markets found in neither tier")
        ctx.log.warning("%d pending markets found in neither the live nor the historical tier, e.g. %s",
                        len(lost), lost[:3])


def _pages(ctx: PhaseContext, path: str, key: str, params: dict) -> Iterator[list]:
    """Cursor pagination: ends on ''/null/missing cursor, never on an empty page (kalshi.md §2.3)."""
    url = ctx.cfg.kalshi.base_url + path
    params = dict(params)
    seen_cursors: set[str] = set()
    repeats = 0  # consecutive answers whose cursor we had already followed
    while not ctx.should_stop():
        try:
            items, cursor = kp.page(ctx.http.get_json(url, params), key)
        except kp.BadRecord as exc:
            raise BadPage(f"GET {path}: {exc}") from None
        yield items
        if cursor is None:
            return
        if cursor in seen_cursors:
            repeats += 1
            if repeats > CURSOR_REPEAT_RETRIES:
                ctx.counters.errors += 1
                ctx.counters.notes.append(f"{path}: cursor repeated, sweep aborted")
                ctx.log.error("GET %s: cursor %r repeated %d times; sweep aborted", path, cursor, repeats)
                return
            params["cursor"] = cursor  # a page served twice: ask for what follows it again
            continue
        repeats = 0
        seen_cursors.add(cursor)
        params["cursor"] = cursor


def _ticker_batches(base_url: str, tickers: list[str]) -> Iterator[list[str]]:
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


def _label(m: object) -> str:
    t = m.get("ticker") if type(m) is dict else None
    return f"market {str(t)[:60]}" if t is not None else "market"
