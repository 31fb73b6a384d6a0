"""Running one phase of one platform and turning whatever happened into a PhaseReport.

Shared by ``fetcher --once`` and the scheduler-driven loop (fetchers/serve.py). A phase that
runs out of retries, meets a refused request or crashes does not take the process down: it
becomes a report with ``ok=False`` and a message, the records it already published stay
published, and the next run catches up. Only sink failures (nothing acknowledged, or the sink
refusing our data) propagate, because they concern every later phase too.

``ctx.publish`` counts ``records``; platform modules should not count them again.
"""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
import uuid
from types import ModuleType
from typing import Callable

from collector import clock, failpoints, logs, platforms, wire
from collector.db import connect_reader
from collector.config import Config
from collector.errors import CollectorError, DatabaseError, SinkUnavailable
from fetchers.base import PhaseContext, PhaseCounters
from fetchers.http import HttpClient, Interrupted
from collector.sink_client import Publisher, SinkRefused

MESSAGE_MAX_CHARS = 500  # a report message stays readable in `collector status`
INTERRUPTED = "interrupted"  # the message of a run stopped on request (also PhaseReport.interrupted)


def setup_logging(platform: str, cfg: Config) -> logging.Logger:
    """collector.logs' one format; logger names carry process, platform and phase."""
    logs.setup("fetcher", cfg)
    return logging.getLogger(f"fetcher.{platform}")


def open_db(cfg: Config) -> sqlite3.Connection | None:
    """collector.db read-only, or None before the sink has created it."""
    path = cfg.db_path
    if not path.exists():
        return None
    try:
        return connect_reader(str(path))
    except sqlite3.Error:
        return None


def check_origin(cfg: Config, origin: str) -> None:
    """Refuse to feed simulator data into a live database or the reverse (DatabaseError, exit 2)."""
    db = open_db(cfg)
    if db is None:
        return
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    except sqlite3.Error:
        row = None  # no meta table yet: the sink has not migrated the file
    finally:
        db.close()
    if row and row[0] != origin:
        raise DatabaseError(
            f"{cfg.db_path} holds {row[0]} data but this fetcher's URLs make it a {origin} source; "
            "simulator and live data never mix: use another general.db_path"
        )


def load(module_path: str, platform: str) -> ModuleType:
    """A platform's module, named by the registry (collector/platforms.py), imported only now, so
    a broken or not-yet-written kalshi module never stops the polymarket fetcher.
    UnknownPlatform (exit 2) when the module itself is missing; a broken import inside it still raises."""
    try:
        return importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name == module_path:
            raise platforms.UnknownPlatform(f"platform {platform!r} is not implemented ({module_path} missing)") from None
        raise


def phase_function(cfg: Config, platform: str, phase: str):
    """The callable for one phase of one platform; UnknownPlatform when it has none."""
    entry = platforms.get(platform, cfg)
    fn = getattr(load(entry.module, platform), phase, None) if phase in entry.phases else None
    if not callable(fn):
        raise platforms.UnknownPlatform(f"platform {platform!r} has no {phase!r} phase")
    return fn


def sender_id(platform: str) -> str:
    return f"fetcher-{platform}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def counting_publish(counters: PhaseCounters, publisher: Publisher) -> Callable[[wire.Record], None]:
    """``ctx.publish``: counts each record and hands it to the sink client."""
    drop_labels = failpoints.active("fetcher:drop_labels")  # a planted bug for the soak checker

    def publish(record: wire.Record) -> None:
        if drop_labels and isinstance(record, wire.Resolution) and record.status != "closed":
            return
        counters.records += 1
        publisher.publish(record)

    return publish


def guarded(call: Callable[[], object], counters: PhaseCounters, log: logging.Logger,
            should_stop: Callable[[], bool]) -> tuple[bool, str]:
    """Run a phase (or a backfill) and turn whatever happened into (ok, message).

    Only sink failures propagate: they concern every later phase too. Anything else becomes a
    failed report, and the records already published stay published.
    """
    try:
        call()
    except (SinkUnavailable, SinkRefused):
        raise
    except Interrupted:
        return False, INTERRUPTED
    except platforms.UnknownPlatform as exc:  # e.g. a backfill job for a platform without one
        counters.errors += 1
        log.error("%s", exc)
        return False, str(exc)
    except CollectorError as exc:  # retry budget spent, a refused request, an unreadable page
        counters.errors += 1
        message = f"{type(exc).__name__}: {exc}"
        log.error("failed: %s", message)
        return False, message
    except Exception as exc:  # a bug must not become a crash loop; the report says what happened
        counters.errors += 1
        log.exception("crashed")
        return False, f"crashed: {type(exc).__name__}: {exc}"
    if should_stop():
        return False, INTERRUPTED
    return True, ""


def report(counters: PhaseCounters, *, job_id: str | None, platform: str, phase: str, started: float,
           ok: bool, message: str, grid_time: int | None = None, records: int | None = None) -> wire.PhaseReport:
    """The PhaseReport of a run. A stopped run reports only ``interrupted`` and moves no listing window."""
    interrupted = message == INTERRUPTED
    if not interrupted:
        message = "; ".join(filter(None, [message, *counters.notes, *counters.listings_complete]))
    return wire.PhaseReport(
        job_id=job_id or uuid.uuid4().hex, platform=platform, phase=phase,
        started_at=started, finished_at=clock.now(), ok=ok, grid_time=grid_time,
        requests=counters.requests, retries=counters.retries,
        records=counters.records if records is None else records,
        skipped=counters.skipped, errors=counters.errors, message=message[:MESSAGE_MAX_CHARS],
        listings_complete=[] if interrupted else counters.listings_complete, interrupted=interrupted,
    )


def run_phase(cfg: Config, platform: str, phase: str, *, publisher: Publisher, http: HttpClient,
              log: logging.Logger, job_id: str | None = None, grid_time: int | None = None,
              should_stop=lambda: False, memo: dict | None = None) -> wire.PhaseReport:
    """Run one phase; publish its records and its report; return the report (not yet flushed)."""
    base_log = log
    log = logging.getLogger(f"{base_log.name}.{phase}")
    http.log = publisher.log = log
    counters = PhaseCounters()
    http.counters = counters  # the client outlives phases; each phase counts its own requests
    started = clock.now()
    db = open_db(cfg)
    ctx = PhaseContext(platform=platform, phase=phase, cfg=cfg, http=http, publish=counting_publish(counters, publisher),
                       counters=counters, log=log, db=db, grid_time=grid_time, should_stop=should_stop,
                       memo={} if memo is None else memo)
    log.info("started%s", f" grid_time={clock.iso(grid_time)}" if grid_time is not None else "")

    def call() -> None:
        if phase == "snapshot" and failpoints.active("fetcher:skip_cycle") and (grid_time or 0) // 900 % 4 == 1:
            log.warning("failpoint fetcher:skip_cycle: reporting this cycle done without fetching it")
        else:
            phase_function(cfg, platform, phase)(ctx)

    try:
        ok, message = guarded(call, counters, log, should_stop)
    finally:
        if db is not None:
            db.close()
    rep = report(counters, job_id=job_id, platform=platform, phase=phase, started=started, ok=ok,
                 message=message, grid_time=grid_time)
    log.info("finished ok=%s requests=%d retries=%d records=%d skipped=%d errors=%d duration=%.1fs%s",
             ok, rep.requests, rep.retries, rep.records, rep.skipped, rep.errors,
             rep.finished_at - rep.started_at, f" message={rep.message!r}" if rep.message else "")
    publisher.publish(rep)
    http.log = publisher.log = base_log
    return rep
