"""The tiny interface between the fetcher process and a platform module.

A platform is a module (``fetchers/polymarket.py``, ``fetchers/kalshi.py``, ``tests/toy_platform.py``)
exposing one function per phase its registry entry lists (collector/platforms.py)::

    def discover(ctx: PhaseContext) -> None
    def snapshot(ctx: PhaseContext) -> None
    def resolve(ctx: PhaseContext) -> None

and, optionally, a history replay in a module of its own named by the entry's ``backfill``::

    def run(ctx: PhaseContext, driver: fetchers.backfill.Driver) -> None

The fetcher imports the module only when it runs it (fetchers/runner.py). Adding a platform is one
new module and one registry entry (README "Adding a platform"). A phase function talks to the
exchange through ``ctx.http``, reads what is already stored through ``ctx.db`` (read-only, the
documented views, short transactions), finds its settings in ``ctx.cfg.platform(ctx.platform)``,
and hands every record to ``ctx.publish``; it never writes the database itself.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from collector.config import Config
from collector.errors import ApiError
from collector.wire import Record


class BadRecord(ValueError):
    """One exchange record without the documented shape, or out of bounds: skip it, keep the page."""


class BadPage(ApiError):
    """A page whose envelope is unusable (no list, no cursor): the sweep cannot go on."""


def yes_price(bid: float | None, ask: float | None, last: float | None, displayed: float | None = None) -> float | None:
    """The one yes_price rule of every platform: the bid/ask midpoint when both sides exist and the
    book is not crossed, else the last trade, else the platform's displayed price (or None)."""
    if bid is not None and ask is not None and bid > 0.0 and 0.0 < ask < 1.0 and ask >= bid:
        return round((bid + ask) / 2.0, 6)
    if last is not None and last > 0:
        return last
    return displayed


@dataclass
class PhaseCounters:
    """What one phase run did; becomes the PhaseReport the sink stores."""

    requests: int = 0
    retries: int = 0
    records: int = 0
    skipped: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)  # short human-readable problems, for the report
    listings_complete: list[str] = field(default_factory=list)  # listings read to their end (PhaseReport)


class Http(Protocol):
    """Rate-limited, retrying JSON client (fetchers.http.HttpClient implements it)."""

    def get_json(self, url: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any: ...

    def post_json(self, url: str, body: Any) -> Any: ...


@dataclass
class PhaseContext:
    platform: str
    phase: str
    cfg: Config
    http: Http
    publish: Callable[[Record], None]  # queues one record for the sink; blocks under back-pressure
    counters: PhaseCounters
    log: logging.Logger
    db: sqlite3.Connection | None = None  # read-only collector.db; None before the sink created it
    grid_time: int | None = None  # snapshot jobs: the grid time every snapshot of the run carries
    should_stop: Callable[[], bool] = lambda: False  # SIGTERM: stop at the next page boundary
    # Per-process state that outlives one run (a catalogue, what was searched when), keyed by module:
    # the fetcher process owns it (fetchers/serve.py), so no module keeps mutable globals.
    memo: dict[str, Any] = field(default_factory=dict)

    def skip(self, what: str, why: str) -> None:
        """One malformed record: a log line and a counter, the rest of the page goes on."""
        self.counters.skipped += 1
        self.log.warning("skipped %s: %s", what, why)
