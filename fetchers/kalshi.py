"""Kalshi: DISCOVER, SNAPSHOT and RESOLVE over the key-less Trade API v2 (docs/api/kalshi.md).

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
``/markets?status=open`` instead. Values, statuses and the yes_price rule: fetchers/kalshi_parse.py;
categories: fetchers/kalshi_catalog.py; what is already stored: fetchers/kalshi_db.py.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

from collector import clock
from collector.errors import ApiError
from fetchers import books_kalshi
from fetchers import kalshi_parse as kp
from fetchers.base import PhaseContext
from fetchers.http import ApiRefused
from fetchers.kalshi_catalog import EVENTS_PAGE, NOT_TRIED, Catalog, ticker_batches
from fetchers.kalshi_db import Known, known_markets, settled_watermark, updated_watermark

WATERMARK_MARGIN_S = 3600  # incremental windows overlap by an hour: clock skew, CDN caching
FULL_SWEEP_SECONDS = 6 * 3600
FULL_SWEEP_NOTE = "full sweep"
HISTORICAL_LOOKUPS_PER_RUN = 200
REPAIR_PER_RUN = 5000  # placeholder rows (snapshot before discover) fetched by ticker per run
CURSOR_REPEAT_RETRIES = 2  # a repeated cursor: ask again (a page served twice), then abort


class BadPage(ApiError):
    """A page whose envelope is unusable (no list, no cursor): the sweep cannot go on."""


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
    book_volumes: dict[str, float | None] = {}
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
                book_volumes[snap.market_id] = snap.volume
    books_kalshi.fetch(ctx, t, book_volumes)  # after the sweep: order books (issue 19)


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
    for batch in ticker_batches(ctx.cfg.kalshi.base_url, tickers):
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
    for batch in ticker_batches(ctx.cfg.kalshi.base_url, tickers):
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


def _label(m: object) -> str:
    t = m.get("ticker") if type(m) is dict else None
    return f"market {str(t)[:60]}" if t is not None else "market"
