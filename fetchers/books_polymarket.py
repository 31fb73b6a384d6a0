"""Polymarket order books in SNAPSHOT: ``POST /books`` for the YES token of every open market.

Called after the Gamma sweep with what it saw, so the book and the snapshot's bestBid/bestAsk
come from requests minutes apart at most; each book carries its own observation time. 500 token
ids per request (the documented maximum): ~92 requests at 46k markets, well inside the budget, so
the planner normally picks everything. Results are keyed by ``asset_id``, never by position; a
requested token missing from the answer (or a 404 for the whole batch) is stored as "no book"
and not asked again this cycle. ``[polymarket] book_tokens = "both"`` adds the NO token's book.
"""

from __future__ import annotations

from collector import clock
from collector.errors import ApiError
from collector.wire import OrderBook
from fetchers import book_plan
from fetchers.base import PhaseContext
from fetchers.books_parse import POLYMARKET_BOOKS, PolyBook, polymarket_levels, polymarket_stamp
from fetchers.http import ApiRefused, Interrupted

PLATFORM = "polymarket"
TOKENS_PER_REQUEST = 500


def _publish(ctx: PhaseContext, t: int, market_id: str, outcome: int, book, observed: float, depth: int) -> bool:
    levels = polymarket_levels(book, depth) if book is not None else None
    if levels is None:
        ctx.publish(OrderBook(platform=PLATFORM, market_id=market_id, t=t, observed_at=observed, outcome=outcome,
                              found=False))
        return False
    if levels.bad_levels:
        ctx.skip(f"{market_id} book levels", f"{levels.bad_levels} malformed levels dropped")
    book_ms, book_hash = polymarket_stamp(book)
    ctx.publish(OrderBook(platform=PLATFORM, market_id=market_id, t=t, observed_at=observed, outcome=outcome,
                          bid_px=levels.bid_px, bid_sz=levels.bid_sz, ask_px=levels.ask_px, ask_sz=levels.ask_sz,
                          book_ms=book_ms, book_hash=book_hash))
    return True


def fetch(ctx: PhaseContext, t: int, markets: dict[str, tuple[list[str], float | None]]) -> None:
    """Books for open markets (condition id -> (token ids, volume)) seen by this cycle's sweep."""
    depth = ctx.cfg.snapshot.book_depth
    if depth <= 0 or not markets:
        return
    interval = ctx.cfg.interval_seconds("snapshot")
    both = ctx.cfg.polymarket.book_tokens == "both"
    per_request = TOKENS_PER_REQUEST // 2 if both else TOKENS_PER_REQUEST  # markets per request
    allowed = book_plan.budget(ctx.cfg.polymarket.requests_per_second, interval, ctx.counters.requests)
    plan = book_plan.plan({m: v for m, (_, v) in markets.items()}, per_request, allowed, int(t // interval))
    wanted = [(m, tok, o) for m in plan.chosen for o, tok in enumerate(markets[m][0][:2 if both else 1])]
    url = ctx.cfg.polymarket.base_url.rstrip("/") + "/books"
    found = 0
    for start in range(0, len(wanted), TOKENS_PER_REQUEST):
        chunk = wanted[start:start + TOKENS_PER_REQUEST]
        try:
            answer = ctx.http.post_json(url, [{"token_id": tok} for _, tok, _ in chunk], decoder=POLYMARKET_BOOKS)
        except ApiRefused as exc:
            if exc.status != 404:  # 404 for a whole batch: none of its tokens has a book
                ctx.counters.errors += 1
                ctx.log.warning("order books refused (%s); skipping %d tokens this cycle", exc, len(chunk))
                continue
            answer = []
        except Interrupted:
            raise
        except ApiError as exc:  # books never fail the snapshot the prices already made
            ctx.counters.errors += 1
            ctx.counters.notes.append(f"order books stopped: {exc}")
            ctx.log.error("order books stopped for this cycle: %s", exc)
            break
        observed = clock.now()
        if not isinstance(answer, list):  # e.g. {"error": ...} with HTTP 200: the request failed
            ctx.counters.errors += 1
            ctx.log.warning("POST /books answered %s instead of a list; skipping %d tokens this cycle",
                            str(answer)[:200], len(chunk))
            continue
        got = {b.asset_id: b for b in answer if isinstance(b, PolyBook)}
        got.update((b["asset_id"], b) for b in answer if isinstance(b, dict) and isinstance(b.get("asset_id"), str))
        for market_id, tok, outcome in chunk:
            found += _publish(ctx, t, market_id, outcome, got.get(tok), observed, depth)
    book_plan.report(ctx, plan, interval, found)
