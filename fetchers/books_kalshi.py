"""Kalshi order books in SNAPSHOT: ``GET /markets/orderbooks`` with repeated ``tickers=`` (kalshi.md §15).

Up to 100 tickers per request, always as repeated parameters (a comma-joined list is read as one
unknown ticker and answered with an empty book). Results are keyed by ``ticker``; a requested
ticker missing from the answer is stored as "no book". At 120k open markets a full capture is
1,200 requests, so the planner (fetchers/book_plan.py) decides who gets a book when the budget
left after the sweep is short.

The batch route may demand an API key (the docs list the KALSHI-ACCESS-* headers; key-less calls
were seen to work). A 401/403 turns Kalshi depth off for this process's lifetime: one log line,
a note on every SNAPSHOT report (shown by `collector status`), no further requests, and the
snapshot itself is unaffected. "This process's lifetime" is the per-process memo on the context
(``ctx.memo[REFUSED_KEY]``), as fetchers/kalshi.py keeps its catalog: no module-level state.
"""

from __future__ import annotations

from collector import clock
from collector.errors import ApiError
from collector.wire import OrderBook
from fetchers import book_plan
from fetchers.base import PhaseContext
from fetchers.books_parse import KALSHI_BOOKS, KalshiBooks, KalshiEntry, kalshi_levels
from fetchers.http import ApiRefused, Interrupted

PLATFORM = "kalshi"
TICKERS_PER_REQUEST = 100
MAX_QUERY_CHARS = 7000  # URLs stay below 8 KB: a batch of long tickers is split
OFF_NOTE = "kalshi order books off"

REFUSED_KEY = "books_kalshi.refused"  # ctx.memo: why the batch endpoint refused us (this process)


def _chunks(tickers: list[str]):
    chunk: list[str] = []
    chars = 0
    for t in tickers:
        cost = len(t) + len("tickers=&") + 8  # a little for percent-escapes
        if chunk and (len(chunk) == TICKERS_PER_REQUEST or chars + cost > MAX_QUERY_CHARS):
            yield chunk
            chunk, chars = [], 0
        chunk.append(t)
        chars += cost
    if chunk:
        yield chunk


def fetch(ctx: PhaseContext, t: int, volumes: dict[str, float | None]) -> None:
    """Books for the open markets (ticker -> volume) this cycle's sweep saw."""
    depth = ctx.cfg.snapshot.book_depth
    if depth <= 0 or not volumes:
        return
    refused = ctx.memo.get(REFUSED_KEY)
    if refused:
        ctx.counters.notes.append(f"{OFF_NOTE}: {refused}")
        return
    interval = ctx.cfg.interval_seconds("snapshot")
    allowed = book_plan.budget(ctx.cfg.kalshi.requests_per_second, interval, ctx.counters.requests)
    plan = book_plan.plan(volumes, TICKERS_PER_REQUEST, allowed, int(t // interval))
    url = ctx.cfg.kalshi.base_url.rstrip("/") + "/markets/orderbooks"
    found = 0
    for chunk in _chunks(plan.chosen):
        try:
            body = ctx.http.get_json(url, [("tickers", x) for x in chunk], decoder=KALSHI_BOOKS)
        except ApiRefused as exc:
            if exc.status in (401, 403):
                refused = ctx.memo[REFUSED_KEY] = f"HTTP {exc.status} without an API key"
                ctx.counters.notes.append(f"{OFF_NOTE}: {refused}")
                ctx.log.error("%s: GET /markets/orderbooks answered HTTP %d without an API key; depth for "
                              "Kalshi is off until the fetcher restarts (prices are unaffected)", OFF_NOTE, exc.status)
                return
            ctx.counters.errors += 1
            ctx.log.warning("order books refused (%s); skipping %d tickers this cycle", exc, len(chunk))
            continue
        except Interrupted:
            raise
        except ApiError as exc:
            ctx.counters.errors += 1
            ctx.counters.notes.append(f"order books stopped: {exc}")
            ctx.log.error("order books stopped for this cycle: %s", exc)
            break
        observed = clock.now()
        entries = body.orderbooks if isinstance(body, KalshiBooks) else (
            body.get("orderbooks") if isinstance(body, dict) else None)
        if not isinstance(entries, list):
            ctx.skip("GET /markets/orderbooks answer", "no orderbooks list")
            entries = []
        asked = set(chunk)
        got = {e.ticker: e for e in entries if isinstance(e, KalshiEntry) and e.ticker in asked}
        got.update((e["ticker"], e) for e in entries if isinstance(e, dict) and e.get("ticker") in asked)
        for ticker in chunk:
            levels = kalshi_levels(got[ticker], depth) if ticker in got else None
            if levels is None:
                ctx.publish(OrderBook(platform=PLATFORM, market_id=ticker, t=t, observed_at=observed, found=False))
                continue
            if levels.bad_levels:
                ctx.skip(f"{ticker} book levels", f"{levels.bad_levels} malformed levels dropped")
            found += 1
            ctx.publish(OrderBook(platform=PLATFORM, market_id=ticker, t=t, observed_at=observed,
                                  bid_px=levels.bid_px, bid_sz=levels.bid_sz,
                                  ask_px=levels.ask_px, ask_sz=levels.ask_sz))
    book_plan.report(ctx, plan, interval, found)
