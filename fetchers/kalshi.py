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
  where W is when the last DISCOVER that read its listing to the end started, minus a margin
  (never the newest ``updated_at`` stored: listings come in creation order, so a cut-short
  listing would move that past updates it never read): a handful of requests, plus
  one ``/events?tickers=`` per 100 unseen events. A full sweep runs when nothing is stored, or
  when the last one (a phase report whose ``listings_complete`` names "full sweep") is older than FULL_SWEEP_SECONDS; it
  also refreshes volumes. Markets seen only by SNAPSHOT (placeholder rows without a title) are
  fetched by ticker.
* SNAPSHOT: ``GET /markets?status=open&mve_filter=exclude&limit=1000``: ceil(N/1000) requests.
* RESOLVE: ``GET /markets?status=settled&min_settled_ts=W`` (only new settlements, ~40 pages a
  day at real scale), ``GET /markets?status=closed&min_close_ts=W`` (closed, not final: a few
  pages), each W where the last complete listing began, and ``GET /markets?tickers=...`` (100 per request, URL < 8 KB) for stored
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
from fetchers.base import BadPage, PhaseContext
from fetchers.http import ApiRefused
from fetchers.kalshi_catalog import EVENTS_PAGE, NOT_TRIED, Catalog, ticker_batches
from fetchers.kalshi_db import Known, known_markets, listing_watermark
from fetchers.kalshi_rows import DECODERS
from fetchers.recheck import GONE, Recheck

WATERMARK_MARGIN_S = 3600  # incremental windows overlap by an hour: clock skew, CDN caching
FULL_SWEEP_SECONDS = 6 * 3600
FULL_SWEEP_NOTE = "full sweep"  # in listings_complete only once every listing of the sweep was read to its end
UPDATED_NOTE = "updated listing complete"
HISTORICAL_LOOKUPS_PER_RUN = 200
REPAIR_PER_RUN = 5000  # placeholder rows (snapshot before discover) fetched by ticker per run
CURSOR_REPEAT_RETRIES = 2  # a repeated cursor: ask again (a page served twice), then abort
# RESOLVE's listings: (name, status filter, lower-bound parameter, its listings_complete entry once read to the end)
LISTINGS = (("settled", "settled", "min_settled_ts", "settled listing complete"),
            ("closed", "closed", "min_close_ts", "closed listing complete"))


class ListingIncomplete(ApiError):
    """A RESOLVE listing stopped before its end: the run fails and its window stays put."""


def catalog_of(ctx: PhaseContext) -> Catalog:
    """Series and event categories: learnt once per fetcher process (``ctx.memo``), not per run."""
    return ctx.memo.setdefault("kalshi.catalog", Catalog())


def discover(ctx: PhaseContext) -> None:
    """New and changed markets -> MarketUpsert (and Resolution when one is already past trading)."""
    cfg = ctx.cfg.kalshi
    catalog_of(ctx).load(ctx.db)
    known = known_markets(ctx.db)
    # the window starts where the last DISCOVER that read its listing(s) to the end started
    marks = [w for note in (UPDATED_NOTE, FULL_SWEEP_NOTE)
             if (w := listing_watermark(ctx.db, note, "discover", None)) is not None]
    if not marks or _full_sweep_due(ctx.db):
        return _full_sweep(ctx, known)
    params = {"min_updated_ts": int(max(marks) - WATERMARK_MARGIN_S), "limit": cfg.page_size}
    if not cfg.include_parlays:
        params["mve_filter"] = "exclude"
    seen: set[str] = set()
    listing = Pages(ctx, "/markets", "markets", params)
    try:
        for items in listing:
            _offer_all(ctx, items, known, seen)
    except ApiRefused as exc:  # filter combination refused (kalshi.md §12): the sweep still works
        ctx.log.warning("incremental discover refused (%s); full sweep instead", exc)
        return _full_sweep(ctx, known)
    if listing.complete:
        ctx.counters.listings_complete.append(UPDATED_NOTE)
    _repair(ctx, known, seen)
    if not listing.complete and not ctx.should_stop():
        raise ListingIncomplete("updated listing stopped before its end; "
                                "its window stays where it was and the next run reads it again")


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
    for items in Pages(ctx, "/markets", "markets", params):
        read_at = clock.now()  # the page was just fetched: when these prices were observed
        for m in items:
            try:
                if not cfg.include_parlays and kp.is_parlay(m):
                    continue
                snap = kp.price_snapshot(m, t, read_at)
            except kp.BadRecord as exc:
                ctx.skip(_label(m), str(exc))
                continue
            if snap.market_id not in seen:
                seen.add(snap.market_id)
                ctx.publish(snap)
                book_volumes[snap.market_id] = snap.volume
    books_kalshi.fetch(ctx, t, book_volumes)  # after the sweep: order books (issue 19)


def resolve(ctx: PhaseContext) -> None:
    """Every settlement and every close since the last complete listing, then stored markets by ticker.

    ``status=settled&min_settled_ts`` labels what became final; ``status=closed&min_close_ts``
    (closed, determined, disputed, amended) records what stopped trading but is not final, with
    its real close time, early or not. Each window starts where the last run that read that
    listing to its end started (fetchers/kalshi_db.listing_watermark), so a cut-short listing
    is read again next time; the run then reports ok=false. Stored markets that are closed or
    past their end and were in neither listing are asked for by ticker, with back-off.
    """
    if ctx.db is None:
        ctx.counters.notes.append("no database yet: nothing to resolve")
        return
    cfg = ctx.cfg.kalshi
    catalog_of(ctx).load(ctx.db)
    known = known_markets(ctx.db)
    seen: set[str] = set()
    cut_short = []
    for name, status, bound, note in LISTINGS:
        since = listing_watermark(ctx.db, note)
        if since is None or ctx.should_stop():
            continue
        params = {"status": status, bound: int(since - WATERMARK_MARGIN_S), "limit": cfg.page_size}
        if not cfg.include_parlays:
            params["mve_filter"] = "exclude"
        listing = Pages(ctx, "/markets", "markets", params)
        for items in listing:
            _offer_all(ctx, items, known, seen)
        if listing.complete:
            ctx.counters.listings_complete.append(note)
        else:
            cut_short.append(name)
    _recheck(ctx, known, seen)
    if cut_short and not ctx.should_stop():
        raise ListingIncomplete(f"{' and '.join(cut_short)} listing stopped before its end; "
                                "its window stays where it was and the next run reads it again")


# --- the pieces ----------------------------------------------------------------------------------


def _full_sweep(ctx: PhaseContext, known: dict) -> None:
    cfg = ctx.cfg.kalshi
    seen: set[str] = set()
    complete = True
    for status in ("open", "unopened"):  # open: trading; unopened: created, not yet open
        if cfg.include_parlays:  # /events leaves parlays out; /markets has them
            listing = Pages(ctx, "/markets", "markets", {"status": status, "limit": cfg.page_size})
            for items in listing:
                _offer_all(ctx, items, known, seen)
            complete = complete and listing.complete
        else:
            complete = _event_sweep(ctx, status, known, seen) and complete
    if complete:
        ctx.counters.listings_complete.append(FULL_SWEEP_NOTE)
    _repair(ctx, known, seen)
    if not complete and not ctx.should_stop():
        raise ListingIncomplete("full sweep stopped before its end; the next DISCOVER sweeps again")


def _event_sweep(ctx: PhaseContext, status: str, known: dict, seen: set[str]) -> bool:
    """Events of one status with their nested markets: event, series and markets in one request.

    Returns whether the listing was read to its end."""
    params = {"status": status, "with_nested_markets": "true", "limit": min(EVENTS_PAGE, ctx.cfg.kalshi.page_size)}
    listing = Pages(ctx, "/events", "events", params)
    for events in listing:
        markets = []
        for e in events:
            try:
                catalog_of(ctx).learn_event(*kp.event_info(e))
                nested = e.get("markets") or []
                if type(nested) is not list:
                    raise kp.BadRecord(f"markets is {type(nested).__name__}")
            except kp.BadRecord as exc:
                ctx.skip(f"event {str(e.get('event_ticker') if type(e) is dict else e)[:60]}", str(exc))
                continue
            markets.extend(nested)
        _offer_all(ctx, markets, known, seen)
    return listing.complete


def _full_sweep_due(db: sqlite3.Connection | None) -> bool:
    if db is None:
        return True
    try:
        row = db.execute(
            "SELECT max(r.finished_at) FROM phase_runs r JOIN phase_listings l ON l.job_id = r.job_id"
            " WHERE r.platform = 'kalshi' AND r.phase = 'discover' AND r.ok = 1 AND l.listing = ?",
            (FULL_SWEEP_NOTE,)).fetchone()
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
    catalog = catalog_of(ctx)
    catalog.ensure(ctx, {e for m in wanted if type(e := m.get("event_ticker")) is str})
    observed_at = clock.now()
    built = []  # (market, ticker, (upsert, resolution)), checked against the bounds as one page below
    for m in wanted:
        try:
            ticker = kp.ticker_of(m)
            if ticker in seen:
                continue
            series, category = catalog.category_for(m.get("event_ticker"))
            built.append((m, ticker, kp.unchecked_records(m, observed_at, series, category)))
        except kp.BadRecord as exc:
            ctx.skip(_label(m), str(exc))
    problems = kp.page_problems([pair for _, _, pair in built])
    for (m, ticker, (upsert, res)), why in zip(built, problems):
        if why:
            ctx.skip(_label(m), why)
            continue
        if ticker in seen:  # listed twice in one page: the first good one counts
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


def _recheck(ctx: PhaseContext, known: dict, seen: set[str]) -> None:
    """Stored markets closed or past their end that no listing returned: by ticker, with back-off.

    The listings already bring every close and settlement, so this is the safety net (markets
    settled before the historical cutoff, a missed listing): a market that keeps coming back
    unchanged is asked less and less often, but at least daily (fetchers/recheck.py).
    """
    now = clock.now()
    pending = {t: k.detail or k.status for t, k in known.items()
               if t not in seen and k.status not in ("resolved", "voided")
               and (k.status == "closed" or (k.end_date is not None and kp.unix(k.end_date) <= now))}
    recheck = Recheck(ctx.cfg.data_dir, "kalshi", ctx.cfg.db_path, now)
    asked = recheck.pick(pending)
    missing = _by_tickers(ctx, asked, known, seen)
    if missing and not ctx.should_stop():
        _historical(ctx, missing, known, seen)
    for t in asked:
        k = known[t]
        if t in seen:
            recheck.asked(t, None if k.status in ("resolved", "voided") else k.detail or k.status)
        elif not ctx.should_stop():
            recheck.asked(t, GONE)
    recheck.keep_only(pending)
    recheck.save()
    if len(asked) < len(pending):
        ctx.log.info("re-check: %d of %d pending markets asked by ticker, the rest wait (back-off)",
                     len(asked), len(pending))


def _by_tickers(ctx: PhaseContext, tickers: list[str], known: dict, seen: set[str]) -> list[str]:
    """Fetch markets by ticker in URL-bounded batches; returns the tickers the live API did not return."""
    missing: list[str] = []
    for batch in ticker_batches(ctx.cfg.kalshi.base_url, tickers):
        if ctx.should_stop():
            break
        got: set[str] = set()
        before = set(seen)
        for items in Pages(ctx, "/markets", "markets", {"tickers": ",".join(batch), "limit": len(batch)}):
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
            for items in Pages(ctx, "/historical/markets", "markets", {"tickers": ",".join(batch), "limit": len(batch)}):
                _offer_all(ctx, items, known, seen)
        except ApiRefused as exc:  # batch form refused: one by one, within the budget
            ctx.log.warning("GET /historical/markets?tickers= refused (%s); one by one", exc)
            for t in batch[:HISTORICAL_LOOKUPS_PER_RUN]:
                body = catalog_of(ctx).single(ctx, f"/historical/markets/{t}")
                m = body.get("market") if body and body is not NOT_TRIED else None
                _offer_all(ctx, [m] if m is not None else [], known, seen)
    lost = [t for t in tickers if t not in seen]
    if lost:
        ctx.counters.notes.append(f"{len(lost)} pending markets found in neither tier")
        ctx.log.warning("%d pending markets found in neither the live nor the historical tier, e.g. %s",
                        len(lost), lost[:3])


class Pages:
    """Cursor pagination: ends on ''/null/missing cursor, never on an empty page (kalshi.md §2.3).

    Iterate it for the pages; ``complete`` is True only when the listing was read to its end
    (not when SIGTERM stopped it or a stuck cursor aborted it), which is what lets a window move.
    """

    def __init__(self, ctx: PhaseContext, path: str, key: str, params: dict) -> None:
        self.ctx, self.path, self.key, self.params = ctx, path, key, dict(params)
        self.complete = False

    def __iter__(self) -> Iterator[list]:
        ctx, path, params = self.ctx, self.path, self.params
        url = ctx.cfg.kalshi.base_url + path
        seen_cursors: set[str] = set()
        repeats = 0  # consecutive answers whose cursor we had already followed
        while not ctx.should_stop():
            try:
                items, cursor = kp.page(ctx.http.get_json(url, params, decoder=DECODERS.get(self.key)), self.key)
            except kp.BadRecord as exc:
                raise BadPage(f"GET {path}: {exc}") from None
            yield items
            if cursor is None:
                self.complete = True
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
