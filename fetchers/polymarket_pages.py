"""Paging Gamma's ``/markets/keyset`` exactly as documented, and remembering where a sweep ended.

``after_cursor`` carries the previous page's ``next_cursor``; the key is absent on the last page.
A page whose ``next_cursor`` was already seen is a repeated (stale) page: it is asked for again a
few times and never processed twice; a cursor that keeps repeating ends the sweep (a
non-advancing cursor was a real Gamma bug). Each page is a boundary where SIGTERM stops the phase.

A page with a malformed row is fetched again (``MALFORMED_REFETCHES`` times at most) and the
copy with the fewest bad rows is used: a closed market is listed by the history sweep only once,
so a row skipped there would otherwise be missing for good. Rows still bad are skipped, logged
and counted.

``Sweep.tail`` is the cursor that fetched the last non-empty page. Keyset pages are ordered by
the Gamma id (monotone in creation), so a later sweep started from ``tail`` sees that page again
plus every market created since: DISCOVER costs a request or two instead of ~470. The order is
checked on every full sweep (``ascending``); the tail is only trusted when it held.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from fetchers.base import BadPage, PhaseContext
from fetchers.http import Interrupted
from fetchers.polymarket_rows import PAGE_DECODER, page_rows

BAD_PAGE_RETRIES = 3  # re-asks for a page with the wrong shape or a stale cursor
MALFORMED_REFETCHES = 2  # re-asks for a page holding a row the parser rejected
MAX_PAGES = 20_000  # a runaway guard: 2M rows, far beyond the real catalogue


class Sweep:
    """Iterate the parsed pages of one keyset walk; see the module docstring.

    ``parse(rows)`` returns ``(items, bad)`` where ``bad`` lists ``(what, why)`` per rejected row.
    """

    def __init__(self, ctx: PhaseContext, url: str, params: dict | list,
                 parse: Callable[[list], tuple[list, list]], start_cursor: str | None = None,
                 max_pages: int = MAX_PAGES) -> None:
        self.ctx, self.url, self.parse = ctx, url, parse
        self.base = list(params.items()) if isinstance(params, dict) else list(params)
        self.start = start_cursor or None
        self.max_pages = max_pages
        self.cursor = self.start  # the next page's after_cursor; None after the last page
        self.tail = self.start or ""  # cursor of the last non-empty page ("" = the first page)
        self.complete = False  # reached the last page
        self.ascending = True  # every Gamma id was larger than the one before
        self.pages = 0
        self._last_id = -1
        self._seen: set[str] = {self.start} if self.start else set()

    def __iter__(self) -> Iterator[list[Any]]:
        while self.pages < self.max_pages:
            if self.ctx.should_stop():
                raise Interrupted("stopped at a page boundary")
            used = self.cursor
            rows, nxt, items = self._fetch_parsed(used)
            self.pages += 1
            if rows:
                self.tail = used or ""
                self._check_order(items)
            if not nxt or not isinstance(nxt, str):
                self.cursor, self.complete = None, True
                yield items
                return
            self._seen.add(nxt)
            self.cursor = nxt
            yield items
        self.ctx.counters.notes.append(f"sweep paused after {self.pages} pages")

    def _fetch_parsed(self, cursor: str | None) -> tuple[list, Any, list]:
        best = None
        for attempt in range(MALFORMED_REFETCHES + 1):
            rows, nxt = self._fetch(cursor)
            items, bad = self.parse(rows)
            if best is None or len(bad) < len(best[3]):
                best = (rows, nxt, items, bad)
            if not bad:
                break
            if attempt < MALFORMED_REFETCHES:
                self.ctx.log.info("page holds %d malformed rows (%s: %s); fetching it again",
                                  len(bad), *bad[0])
        rows, nxt, items, bad = best
        for what, why in bad:
            self.ctx.skip(what, why)
        return rows, nxt, items

    def _fetch(self, cursor: str | None) -> tuple[list, Any]:
        params = self.base + ([("after_cursor", cursor)] if cursor else [])
        for _ in range(BAD_PAGE_RETRIES + 1):
            body = self.ctx.http.get_json(self.url, params, decoder=PAGE_DECODER)
            page = page_rows(body)
            if page is None:
                self.ctx.log.warning("gamma page has the wrong shape (%s); asking again", type(body).__name__)
                self.ctx.counters.errors += 1
                continue
            nxt = page[1]
            if isinstance(nxt, str) and nxt in self._seen:
                self.ctx.log.warning("gamma repeated a page (cursor %s...); asking again", nxt[:16])
                self.ctx.counters.errors += 1
                continue
            return page
        raise BadPage(f"{self.url}: {BAD_PAGE_RETRIES + 1} bad or repeated pages in a row")

    def _check_order(self, markets: list) -> None:
        for m in markets:
            try:
                gid = int(m.gamma_id)
            except ValueError:
                continue
            if gid <= self._last_id:
                self.ascending = False
            self._last_id = gid
