"""News context: recent SearXNG headlines for tracked markets (the seed's Phase 2, off by default).

One phase, ``news(ctx)``, run by ``fetcher --platform news`` when the scheduler asks (or with
``--once news``). Each run spends at most ``[news] max_queries_per_run`` searches, at
``requests_per_second``, on active markets in this order:

1. markets with no headline yet, most-traded first (volume);
2. then markets whose newest headline is oldest (staleness), most-traded first among equals.

Markets already searched by this process in the current window are skipped, so a market whose
searches return nothing does not starve the rest. The query is the market title with stop words
and question boilerplate removed. Headlines already stored for the market (same URL, or the same
headline up to case and punctuation) are not sent again; the sink de-duplicates as well.

SearXNG down, slow, or answering HTML/garbage costs one log line and a counter per query; after
``MAX_CONSECUTIVE_FAILURES``, or when no search of the run succeeded, the run is reported as a
partial failure and the next run retries.
It never touches the exchange fetchers: it is its own process.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from collector import clock, wire
from collector.errors import ApiError
from fetchers.base import PhaseContext

MAX_CONSECUTIVE_FAILURES = 3  # then SearXNG is considered down for this run
MAX_QUERY_WORDS = 8  # SearXNG engines do best with short keyword queries
REVISIT_AFTER_SECONDS = 6 * 3600.0  # a market searched this recently by this process waits its turn
STOP_WORDS = frozenset(
    """a an and are as at be before between by do does during end for from has have how in into is it
    its market more most not of on or over than that the their this to under until up what when which
    who will win with would yes no resolve resolves""".split()
)
_WORD = re.compile(r"[\w$%.,'-]+", re.UNICODE)



def build_query(title: str) -> str:
    """Keywords of a market title: 'Will Bitcoin reach $120,000 by March 31?' -> 'Bitcoin reach $120,000 March 31'."""
    words = [w.strip(".,'-") for w in _WORD.findall(title.replace("?", " "))]
    kept = [w for w in words if w and w.casefold() not in STOP_WORDS]
    return " ".join(kept[:MAX_QUERY_WORDS])


def parse_published(value) -> str | None:
    """SearXNG's publishedDate (ISO 8601, sometimes without zone, or null) -> ISO UTC with Z."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_results(payload, limit: int) -> tuple[list[dict], int]:
    """Usable results of one SearXNG JSON answer and how many were rejected as malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise ValueError("not a SearXNG JSON answer (no results list)")
    good, bad = [], 0
    for r in payload["results"]:
        url = r.get("url") if isinstance(r, dict) else None
        title = r.get("title") if isinstance(r, dict) else None
        if not isinstance(url, str) or not url.startswith("http") or not isinstance(title, str) or not title.strip():
            bad += 1
            continue
        good.append({"url": url.strip(), "headline": " ".join(title.split()),
                     "source": urlsplit(url).hostname or str(r.get("engine") or ""),
                     "published_at": parse_published(r.get("publishedDate"))})
        if len(good) >= limit:
            break
    return good, bad


def markets_to_visit(db: sqlite3.Connection, limit: int, visited: dict[tuple[str, str], float] | None = None
                     ) -> list[tuple[str, str, str]]:
    """(platform, market_id, title) of active markets, never-covered first, then stalest, by volume;
    none searched (``visited``: (platform, market_id) -> monotonic time) in the last REVISIT_AFTER_SECONDS."""
    rows = db.execute(
        """
        SELECT m.platform, m.market_id, m.title,
               (SELECT max(n.captured_at) FROM news_context n
                 WHERE n.platform = m.platform AND n.market_id = m.market_id) AS last_captured
          FROM markets m
         WHERE m.status = 'active' AND m.title IS NOT NULL AND m.title != ''
         ORDER BY last_captured IS NOT NULL, last_captured, coalesce(m.volume, 0) DESC, m.id
        """
    )
    now = time.monotonic()
    out = []
    for platform, market_id, title, _ in rows:
        seen = (visited or {}).get((platform, market_id))
        if seen is not None and now - seen < REVISIT_AFTER_SECONDS:
            continue
        out.append((platform, market_id, title))
        if len(out) >= limit:
            break
    return out


def known_keys(db: sqlite3.Connection, platform: str, market_id: str) -> set[str]:
    keys = set()
    for url, headline in db.execute(
        "SELECT url, headline FROM news_context WHERE platform = ? AND market_id = ?", (platform, market_id)
    ):
        if url:
            keys.add(wire.news_url_key(url))
        keys.add(wire.news_headline_key(headline))
    return keys


def news(ctx: PhaseContext) -> None:
    """Search headlines for the markets most in need of them; publish new ones."""
    if ctx.db is None:
        ctx.log.info("no collector.db yet: nothing to search for")
        return
    cfg = ctx.cfg.news
    base = cfg.searxng_url.rstrip("/")
    visited = ctx.memo.setdefault("news.visited", {})  # this process's searches: not again too soon
    failures = searched = 0
    for platform, market_id, title in markets_to_visit(ctx.db, cfg.max_queries_per_run, visited):
        if ctx.should_stop():
            return
        query = build_query(title)
        if not query:
            continue
        try:
            payload = ctx.http.get_json(f"{base}/search", {"q": query, "format": "json"})
            results, bad = parse_results(payload, cfg.max_results_per_query)
        except (ApiError, ValueError) as exc:
            failures += 1
            ctx.counters.errors += 1
            ctx.log.warning("search for %s/%s failed (%d in a row): %s", platform, market_id, failures, exc)
            if failures >= MAX_CONSECUTIVE_FAILURES:
                ctx.counters.notes.append(f"SearXNG at {base} failing; stopped after {failures} errors in a row")
                raise ApiError(f"SearXNG at {base} unavailable: {exc}") from None
            continue
        failures = 0
        searched += 1
        visited[(platform, market_id)] = time.monotonic()
        if bad:
            ctx.counters.skipped += bad
            ctx.log.warning("%d malformed SearXNG results for %s/%s skipped", bad, platform, market_id)
        known = known_keys(ctx.db, platform, market_id)
        captured = clock.iso(clock.now())
        for r in results:
            keys = {wire.news_url_key(r["url"]), wire.news_headline_key(r["headline"])}
            if keys & known:
                continue
            known |= keys
            ctx.publish(wire.NewsHeadline(platform=platform, market_id=market_id, headline=r["headline"],
                                          source=r["source"], captured_at=captured, url=r["url"],
                                          published_at=r["published_at"]))
    if ctx.counters.errors and not searched:
        raise ApiError(f"SearXNG at {base} unavailable: every search of this run failed")
