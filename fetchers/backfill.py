"""`fetcher --backfill`: the replaying fetcher's platform-independent driver.

A one-time pull of historical *resolved* markets with their price history, published through the
same sink as live data: per market its MarketUpsert and Resolution (by the live fetchers' own
parse functions), then one ``PriceSnapshot(source="backfill")`` per history point, then a
``BackfillMark`` — the checkpoint. The platform modules (fetchers/polymarket_backfill.py,
fetchers/kalshi_backfill.py) find the markets and stream their history; this module decides what
is already done, publishes, holds the marks back until it is safe, and reports.

Why marks are held back: the sink commits batches in order, but after a sink restart a batch
re-sent by us can commit *after* a later one. So a mark is published only once every batch up to
the one carrying the market's last history point is acknowledged (``held`` keeps
``(seq, mark)`` pairs in seq order). A mark in the database therefore means the whole history is
stored; a rerun skips marked markets and re-sends the rest, which the sink's idempotent inserts
absorb. Killed at any point and rerun, the database ends up as after one uninterrupted run.

The window: ``--since``/``--until`` are UTC days, both included, matched against the time a
market became final (Polymarket's resolved_at, else its close; Kalshi's settlement_ts). The
history stored is the market's whole life, whatever the window.

Memory is bounded by one page of markets plus one market's history window plus the publisher's
in-flight window; the set of finished market ids is the only thing that grows with the run.

Progress goes to stderr: a one-line bar on a terminal, a log line every LOG_EVERY_S otherwise.
The summary (backfilled, points, already done, not final yet, outside the window, bad records,
errors) is printed on stdout, logged, and stored as the run's PhaseReport (phase "backfill").
Exit codes: 0 done or stopped by SIGTERM, 1 some markets failed (a rerun retries them), 2 bad
dates or configuration, 3 no sink.
"""

from __future__ import annotations

import json
import logging
import resource
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field

import click

from collector import clock, platforms, wire
from collector.config import Config
from collector.cliutil import Window, parse_day, parse_window  # noqa: F401  (parse_day: tests)
from collector.errors import CollectorError, SinkUnavailable, UsageError
from fetchers import runner
from fetchers.base import PhaseContext, PhaseCounters
from fetchers.http import HttpClient, Interrupted, RetryBudgetExhausted
from collector.sink_client import STOP_FLUSH_SECONDS, Publisher, SinkRefused

BAR_EVERY_S = 0.25  # progress bar redraw interval on a terminal
LOG_EVERY_S = 10.0  # progress log line interval otherwise


BadUsage = UsageError  # exit 2: a command-line value that cannot work


@dataclass
class Tally:
    markets: int = 0  # markets backfilled (and marked) this run
    points: int = 0
    already: int = 0  # marked by an earlier run
    not_final: int = 0  # closed but not final by the documented rule: left for a later run
    outside: int = 0  # final, but resolved outside --since/--until
    errors: int = 0  # markets whose history could not be fetched (no mark: the rerun retries them)
    ignored: int = 0  # rows that are not backfill candidates at all (parlays, unreadable rows)
    listed: int = 0  # rows listed by the platform so far: the progress total grows page by page

    @property
    def handled(self) -> int:
        return self.markets + self.already + self.not_final + self.outside + self.errors + self.ignored


class Progress:
    """A one-line bar on a terminal (stderr is a TTY), else a log line every LOG_EVERY_S.

    The total is what has been listed so far (catalogues are streamed, their size is unknown
    until the last page), so the ETA is for the markets listed so far.
    """

    def __init__(self, log: logging.Logger, stream=None) -> None:
        self.log, self.stream = log, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = self.last = time.monotonic()
        self.drawn = False
        if self.tty:  # a log line first wipes the bar; the next tick draws it again
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._wipe)

    def _wipe(self, _record) -> bool:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False
        return True

    def line(self, t: Tally) -> str:
        spent = time.monotonic() - self.t0
        done = t.handled
        rate = done / spent if spent > 0 else 0.0
        left = t.listed - done
        eta = f"{left / rate:.0f}s" if rate > 0 and left > 0 else "-"
        return (f"backfill {done}/{t.listed} listed, {t.markets} backfilled ({t.already} earlier), "
                f"{t.points} points, {rate:.1f} markets/s, ETA {eta} for those listed")

    def tick(self, t: Tally) -> None:
        now = time.monotonic()
        if now - self.last < (BAR_EVERY_S if self.tty else LOG_EVERY_S):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line(t)[:200])
            self.stream.flush()
            self.drawn = True
        else:
            self.log.info("%s", self.line(t))

    def close(self, t: Tally) -> None:
        if self.tty:
            self._wipe(None)
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._wipe)


@dataclass
class Driver:
    """What a platform module talks to: which markets to do, and doing one."""

    ctx: PhaseContext
    publisher: Publisher
    window: Window
    done: set[str]
    tally: Tally = field(default_factory=Tally)
    seen: set[str] = field(default_factory=set)
    held: list[tuple[int, wire.BackfillMark]] = field(default_factory=list)
    progress: Progress | None = None

    def todo(self, market_id: str) -> bool:
        """Whether to look at a listed market: not marked by an earlier run, not handled in this one.

        A market listed twice (both Kalshi tiers around the cutoff) is handled once.
        """
        if market_id in self.done:
            self.count("already")
            return False
        if market_id in self.seen:
            self.count("ignored")
            return False
        self.seen.add(market_id)
        return True

    def listed(self, n: int) -> None:
        self.tally.listed += n

    def count(self, outcome: str) -> None:
        """One listed row that is not backfilled: 'already', 'not_final', 'outside' or 'ignored'."""
        setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)
        if self.progress:
            self.progress.tick(self.tally)

    def backfill(self, market_id: str, head: list[wire.Record], history) -> None:
        """Publish one market: metadata, verdict, every history point, then (held) its mark.

        ``history`` is an iterable of PriceSnapshot with a ``resolution_s`` attribute that is
        valid once iterated. An API error leaves the market unmarked and counted, no more.
        """
        for record in head:
            self.ctx.publish(record)
        n = 0
        try:
            for snap in history:
                self.ctx.publish(snap)
                n += 1
        except (Interrupted, RetryBudgetExhausted, SinkUnavailable, SinkRefused):
            raise
        except CollectorError as exc:  # ApiRefused, a bad page: this market only
            self.tally.errors += 1
            self.ctx.counters.errors += 1
            self.tally.points += n
            self.ctx.log.warning("history of %s not fetched (%s); it stays unmarked", market_id, exc)
            if self.progress:
                self.progress.tick(self.tally)
            return
        pub = self.publisher
        last_seq = pub.seq + (1 if pub.pending else 0)  # the batch holding this market's last point
        self.held.append((last_seq, wire.BackfillMark(platform=self.ctx.platform, market_id=market_id, points=n,
                                                      resolution_s=int(history.resolution_s),
                                                      done_at=clock.now())))
        self.tally.markets += 1
        self.tally.points += n
        self.release()
        if self.progress:
            self.progress.tick(self.tally)

    def release(self) -> None:
        """Publish the held marks whose data batches the sink has all acknowledged."""
        if not self.held:
            return
        pub = self.publisher
        pub.service()
        oldest_unacked = min(pub.unacked) if pub.unacked else pub.seq + 1
        while self.held and self.held[0][0] < oldest_unacked and self.held[0][0] <= pub.seq:
            self.ctx.publish(self.held.pop(0)[1])

    def finish(self, timeout: float | None) -> None:
        """Wait until every history batch is acknowledged, then queue the remaining marks."""
        self.publisher.flush_and_wait(timeout)
        self.release()


def done_markets(db: sqlite3.Connection | None, platform: str) -> set[str]:
    if db is None:
        return set()
    try:
        return {r[0] for r in db.execute("SELECT market_id FROM backfill_markets WHERE platform = ?", (platform,))}
    except sqlite3.Error:
        return set()  # not migrated yet: nothing is done


def summary_text(t: Tally, seconds: float, skipped: int) -> str:
    return (f"backfill: {t.markets} markets, {t.points} points in {seconds:.1f} s; {t.already} already done, "
            f"{t.not_final} not final yet, {t.outside} outside the window, {skipped} bad records skipped, "
            f"{t.errors} errors")


def summary_json(platform: str, t: Tally, seconds: float, skipped: int, interrupted: bool) -> str:
    """The summary as one JSON line (`--json`): the same numbers as ``summary_text``."""
    return json.dumps({"platform": platform, "markets": t.markets, "points": t.points, "already_done": t.already,
                       "not_final": t.not_final, "outside_window": t.outside, "bad_records_skipped": skipped,
                       "errors": t.errors, "seconds": round(seconds, 3), "interrupted": interrupted})


@dataclass
class Outcome:
    """What a backfill run did, for the CLI edge (``main``) to print: library code does not print."""

    tally: Tally
    seconds: float
    skipped: int
    message: str  # "" ok, ``runner.INTERRUPTED``, or why it stopped

    @property
    def interrupted(self) -> bool:
        return self.message == runner.INTERRUPTED


def run(cfg: Config, platform: str, window: Window, stop: threading.Event, log: logging.Logger) -> Outcome:
    """The whole backfill of one platform, through the live phases' runner (fetchers/runner.py)."""
    module = runner.load(platforms.get(platform, cfg).backfill, platform)
    log = logging.getLogger(f"{log.name}.backfill")
    counters = PhaseCounters()
    http = HttpClient(platform, cfg.platform(platform), counters, log, should_stop=stop.is_set)
    publisher = Publisher(cfg.sink_endpoint, runner.sender_id(platform), platforms.data_origin(cfg, platform), cfg, log)
    db = runner.open_db(cfg)
    started, t0 = clock.now(), time.monotonic()

    ctx = PhaseContext(platform=platform, phase="backfill", cfg=cfg, http=http,
                       publish=runner.counting_publish(counters, publisher), counters=counters, log=log, db=db,
                       should_stop=stop.is_set)
    driver = Driver(ctx, publisher, window, done_markets(db, platform))
    driver.progress = Progress(log)
    log.info("started: %s markets resolved %s .. %s; %d already done", platform,
             clock.iso(window.lo) or "the beginning", clock.iso(window.hi) or "now", len(driver.done))
    ok, message = runner.guarded(lambda: module.run(ctx, driver), counters, log, stop.is_set)
    try:
        driver.finish(STOP_FLUSH_SECONDS if stop.is_set() else None)
        driver.progress.close(driver.tally)
        took = time.monotonic() - t0
        text = summary_text(driver.tally, took, counters.skipped)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        publisher.publish(runner.report(
            counters, job_id=None, platform=platform, phase="backfill", started=started,
            ok=ok and driver.tally.errors == 0, records=driver.tally.points,
            message=message if message == runner.INTERRUPTED else "; ".join(filter(None, [message, text]))))
        publisher.flush_and_wait(STOP_FLUSH_SECONDS if stop.is_set() else None)
    finally:
        publisher.close()
        http.close()
        if db is not None:
            db.close()
    log.info("finished: %d requests, %d retries; peak RSS %.0f MB", counters.requests, counters.retries, peak_mb)
    return Outcome(driver.tally, took, counters.skipped, message)


def print_outcome(platform: str, out: Outcome, as_json: bool) -> int:
    """The summary on stdout once (the log line on stderr adds only what it lacks); the exit code:
    0 ok or stopped on request (what was acknowledged is marked, a rerun continues), 1 errors."""
    if as_json:
        click.echo(summary_json(platform, out.tally, out.seconds, out.skipped, out.interrupted))
    else:
        click.echo(summary_text(out.tally, out.seconds, out.skipped) + (" (interrupted)" if out.interrupted else ""))
    if out.interrupted:
        return 0
    if out.message or out.tally.errors:
        why = out.message or f"{out.tally.errors} markets without history (unmarked; a rerun retries them)"
        click.echo(f"Error: {platform} backfill failed: {why}", err=True)
        return 1
    return 0


def main(cfg: Config, platform: str, since: str | None, until: str | None, stop: threading.Event,
         log: logging.Logger, as_json: bool = False) -> int:
    """The CLI edge of ``fetcher --backfill``: validate the window, refuse a mixed database, run."""
    try:
        window = parse_window(since, until)
        if platform not in platforms.with_backfill(cfg):
            raise BadUsage(f"--backfill is for {', '.join(platforms.with_backfill(cfg))}, not {platform}")
        runner.check_origin(cfg, platforms.data_origin(cfg, platform))
        return print_outcome(platform, run(cfg, platform, window, stop, log), as_json)
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
