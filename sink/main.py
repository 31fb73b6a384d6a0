"""The sink: the only writer of collector.db.

Fetchers connect DEALER sockets to the sink's ROUTER and send wire.Batch frames. The sink
collects batches until ``batch_max_records`` records or ``flush_interval_seconds`` have passed,
commits them in one ``BEGIN IMMEDIATE`` transaction, and only then acknowledges each batch to
its sender. A sink killed at any moment therefore loses nothing a sender still holds: the sender
re-sends what was not acknowledged, and the idempotent upserts in sink.store absorb the repeats.

    sink --config C        # foreground until SIGTERM; flushes, acknowledges, exits 0
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass

import click
import msgspec
import zmq

from collector import clock, config as config_mod, failpoints, paths, process, validate, wire
from collector.cliutil import CONTEXT_SETTINGS, Command, version_option
from collector import sink_health as health
from sink import schema
from sink.store import Store

log = logging.getLogger("sink")

POLL_MS = 200  # upper bound on one wait, so signals and deadlines are noticed promptly
RETRY_AFTER_ERROR_S = 2.0  # after a failed commit (disk full, I/O error), wait before retrying ...
RETRY_MAX_S = 30.0  # ... doubling each time up to this
DISK_CHECK_S = 10.0  # how often the free-space guard looks at the disk
LINGER_MS = 2000  # at exit, how long queued acknowledgements may take to leave
COUNTER_FLUSH_S = 5.0
STOP_QUIET_S = 1.5  # after SIGTERM, exit once no frame arrived for this long ...
STOP_MAX_S = 7.0  # ... or this long after the signal even if a commit keeps failing (nothing
#                   unacknowledged is lost: senders keep it); supervisord's stopwaitsecs is 10


@dataclass
class Pending:
    """A received batch (bad records already removed) waiting for its transaction and Ack."""

    identity: bytes
    batch: wire.Batch
    rejected: int  # records removed for breaking a bound
    reason: str  # the first removed record's reason
    acked: bool = False  # only under the test failpoint sink:ack_before_commit


class Sink:
    def __init__(self, cfg: config_mod.Config):
        self.cfg = cfg
        self.endpoint = cfg.sink_endpoint
        self.db_path = str(cfg.db_path)
        paths.private_dir(cfg.db_path.parent)
        paths.private_file(cfg.db_path)  # SQLite gives -wal and -shm the database file's mode
        self.db = schema.connect_writer(self.db_path)
        schema.migrate(self.db)
        self.store = Store(self.db, cfg.archive_dir)
        self.pending: list[Pending] = []
        self.pending_records = 0
        self.counters: Counter[str] = Counter()
        self.disk_guard = False
        self.stopping = False
        self.stopping_since = 0.0
        self.last_frame_at = 0.0
        self.ctx = zmq.Context()
        self.ingest = self.ctx.socket(zmq.ROUTER)
        self.ingest.setsockopt(zmq.LINGER, LINGER_MS)
        self.ingest.setsockopt(zmq.RCVHWM, 10000)  # batches, not records; senders cap in-flight
        self.ingest.setsockopt(zmq.SNDHWM, 100000)  # acks are tiny; never block on them
        self.ingest.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)  # bigger frames: peer disconnected
        self.failures_in_row = 0

    def request_stop(self, why: str) -> None:
        log.info("received %s: flushing and stopping", why)
        if not self.stopping:
            self.stopping, self.stopping_since = True, time.monotonic()

    def bind(self) -> None:
        endpoint = self.endpoint
        ipc = paths.ipc_path(endpoint)
        if ipc:
            paths.private_dir(os.path.dirname(ipc) or ".")
        self.ingest.bind(endpoint)
        if ipc:
            os.chmod(ipc, paths.FILE_MODE)
        log.info("sink listening on %s, writing %s", endpoint, self.db_path)

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.ingest, zmq.POLLIN)
        flush_at = None  # monotonic deadline of the oldest uncommitted batch
        retry_at = 0.0  # after a failed commit, no new attempt before this
        disk_check_at = 0.0
        counters_at = time.monotonic() + COUNTER_FLUSH_S
        while True:
            now = time.monotonic()
            if now >= disk_check_at:
                self.check_disk()
                disk_check_at = now + DISK_CHECK_S
            timeout = POLL_MS
            if flush_at is not None:
                timeout = max(0, min(timeout, int((flush_at - now) * 1000)))
            if dict(poller.poll(timeout)).get(self.ingest):
                self.drain()
                if self.pending and flush_at is None:
                    flush_at = time.monotonic() + self.cfg.sink.flush_interval_seconds
            now = time.monotonic()
            due = flush_at is not None and now >= flush_at
            full = self.pending_records >= self.cfg.sink.batch_max_records
            # while commits fail, no new attempt (a busy wait of WRITER_BUSY_S) past the exit deadline
            late = (self.failures_in_row and self.stopping
                    and now - self.stopping_since > STOP_MAX_S - schema.WRITER_BUSY_S)
            if self.pending and now >= retry_at and (due or full or self.stopping) and not late:
                if self.flush():
                    flush_at = None
                else:
                    wait = min(RETRY_MAX_S, RETRY_AFTER_ERROR_S * 2 ** min(10, self.failures_in_row - 1))
                    retry_at = flush_at = now + wait
            elif not self.pending:
                flush_at = None
            if now >= counters_at and self.counters and not self.failures_in_row:
                self.write_counters()
                counters_at = now + COUNTER_FLUSH_S
            if self.stopping:
                # `supervisorctl stop all` signals everyone at once: fetchers may still be flushing.
                # Keep receiving until the socket has been quiet for a moment (bounded).
                if now - self.stopping_since > STOP_MAX_S:
                    if self.pending:
                        log.error("stopping with %d unacknowledged batches (commits failing); their "
                                  "senders keep them and send them again", len(self.pending))
                    break
                if not self.pending and self.last_frame_at < now - STOP_QUIET_S:
                    break
        if not self.failures_in_row:
            self.write_counters()
        log.info("sink stopped cleanly" if not self.pending else "sink stopped")

    def drain(self) -> None:
        """Read every frame waiting now (bounded by the batch size), without blocking."""
        while self.pending_records < self.cfg.sink.batch_max_records:
            try:
                parts = self.ingest.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.last_frame_at = time.monotonic()
            if len(parts) != 2:
                self.reject("frames_rejected_shape", f"{len(parts)}-part message")
                continue
            identity, frame = parts
            try:
                msg = wire.decode(frame)
            except wire.WrongVersion as exc:
                self.reject("frames_rejected_version", str(exc))
                continue
            except Exception as exc:  # garbage, or a decoder surprise: never a crash loop
                why = f"{type(exc).__name__}: {exc}"[:300]
                self.reject("frames_rejected_garbage", f"{why} ({len(frame)} bytes)")
                seq = wire.batch_seq(frame)
                if seq is not None:  # answer it, so its sender stops re-sending it
                    self.send_ack(identity, wire.Ack(seq=seq, rejected=-1, reason=f"unreadable batch: {why}"))
                continue
            match msg:
                case wire.Batch():
                    self.accept(identity, msg)
                case _:
                    self.reject("frames_rejected_unexpected", f"unexpected {type(msg).__name__}")

    def accept(self, identity: bytes, batch: wire.Batch) -> None:
        try:
            source = self.store.meta("source")
            if source is None:
                self.store.set_meta("source", batch.source)  # autocommit: first sender decides
                log.info("database source set to %r", batch.source)
        except sqlite3.Error as exc:  # the database fails: not acknowledged, so the sender re-sends
            self.counters["commit_failures"] += 1
            log.error("cannot read or set the database source (%s); batch %d left for a re-send", exc, batch.seq)
            return
        if source is not None and source != batch.source:
            self.counters["batches_refused_source"] += 1
            error = (f"refusing {batch.source} data: {self.db_path} holds {source} data; "
                     "use a separate db_path for the simulator/demo")
            log.error("%s (sender %s)", error, batch.sender)
            self.send_ack(identity, wire.Ack(seq=batch.seq, error=error))
            return
        item = self.checked(identity, batch)
        if failpoints.active("sink:ack_before_commit"):  # a planted bug for the soak checker
            self.send_ack(identity, wire.Ack(seq=batch.seq, stored=len(item.batch.records)))
            item.acked = True
        self.pending.append(item)
        self.pending_records += sum(len(r.market_ids) if isinstance(r, wire.SnapshotColumns) else 1
                                    for r in item.batch.records)

    def checked(self, identity: bytes, batch: wire.Batch) -> Pending:
        """The batch with every record that breaks a bound removed (each counted and logged)."""
        good: list[wire.Record] = []
        reasons: list[str] = []
        for r in batch.records:
            if isinstance(r, wire.SnapshotColumns):
                kept, why = validate.clean_columns(r)
                reasons.extend(why)
                if kept is not None:
                    good.append(kept)
                continue
            why = validate.problem(r)
            if why is None:
                good.append(r)
            else:
                reasons.append(f"{getattr(r, 'platform', '?')[:40]}/{str(getattr(r, 'market_id', ''))[:80]}: {why}")
        if reasons:
            self.counters["records_rejected"] += len(reasons)
            log.warning("rejected %d record(s) of batch %d from %r, e.g. %s [records_rejected=%d]",
                        len(reasons), batch.seq, batch.sender[:80], reasons[0], self.counters["records_rejected"])
            batch = msgspec.structs.replace(batch, records=good)
        return Pending(identity, batch, len(reasons), reasons[0] if reasons else "")

    def reject(self, counter: str, why: str) -> None:
        self.counters[counter] += 1
        log.warning("rejected frame: %s [%s=%d]", why, counter, self.counters[counter])

    def send_ack(self, identity: bytes, ack: wire.Ack) -> None:
        try:
            self.ingest.send_multipart([identity, wire.encode(ack)], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # the sender is gone or not reading: it re-sends, we re-ack
            log.warning("could not acknowledge batch %d: %s", ack.seq, exc)

    def flush(self) -> bool:
        """Commit every pending batch, then acknowledge them; False when the database fails.

        All batches go in one transaction. If that fails, each batch is tried alone: a batch
        that fails on its own with anything but an OperationalError (read-only file, I/O error,
        full disk: the database's fault) is the message's fault, and is refused with an Ack so
        it never blocks the others.
        """
        error = self.commit(self.pending)
        done, keep = (self.pending, []) if error is None else ([], [])
        if isinstance(error, sqlite3.OperationalError):
            keep = self.pending
        elif error is not None:
            systemic = None  # once the database itself fails, the rest wait for the back-off
            for item in self.pending:
                error = systemic or self.commit([item])
                if error is None:
                    done.append(item)
                elif isinstance(error, sqlite3.OperationalError):
                    systemic = error
                    keep.append(item)
                else:
                    self.counters["batches_rejected_store"] += 1
                    why = f"{type(error).__name__}: {error}"[:300]
                    log.error("batch %d from %r cannot be stored, refused: %s [batches_rejected_store=%d]",
                              item.batch.seq, item.batch.sender[:80], why, self.counters["batches_rejected_store"])
                    self.send_ack(item.identity, wire.Ack(seq=item.batch.seq, rejected=len(item.batch.records)
                                                          + item.rejected, reason=why))
        for item in (i for i in done if not i.acked):
            self.send_ack(item.identity, wire.Ack(seq=item.batch.seq, stored=len(item.batch.records),
                                                  rejected=item.rejected, reason=item.reason))
        self.pending = keep
        self.pending_records = sum(len(r.market_ids) if isinstance(r, wire.SnapshotColumns) else 1
                                   for item in keep for r in item.batch.records)
        if keep:
            self.failures_in_row += 1
            self.counters["commit_failures"] += 1
            health.failing(self.cfg.data_dir, str(error), self.failures_in_row)
            log.error("COMMIT FAILING (database, not data): %s; %d batches kept unacknowledged, retrying "
                      "with back-off [commit_failures=%d]", error, len(keep), self.counters["commit_failures"])
            return False
        if self.failures_in_row:
            log.warning("commits work again after %d failures", self.failures_in_row)
            health.ok(self.cfg.data_dir)
        self.failures_in_row = 0
        return True

    def commit(self, items: list[Pending]) -> Exception | None:
        """Store these batches in one transaction; the exception if it failed (rolled back)."""
        records = [r for item in items for r in item.batch.records]
        if failpoints.active("sink:drop_rows"):  # a planted bug for the soak checker
            records = [_drop_fifth(r) if isinstance(r, wire.SnapshotColumns) else r for r in records]
        started = time.monotonic()
        try:
            if any(isinstance(r, wire.SnapshotColumns) for r in records):
                failpoints.hit("sink:before_snapshot_commit")
            self.db.execute("BEGIN IMMEDIATE")
            counts = self.store.apply(records, clock.now(), store_snapshots=not self.disk_guard)
            self.db.execute("COMMIT")
        except Exception as exc:  # sqlite3.Error, OverflowError, ...: rolled back, never a crash
            try:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
            except sqlite3.Error as again:
                log.error("rollback failed too: %s", again)
            self.store.forget_ids()
            return exc
        for key, value in counts.items():
            self.counters[key] += value
        if counts.get("snapshots_dropped_disk"):
            log.error("disk guard: dropped %d snapshots (free space below %.0f MB)",
                      counts["snapshots_dropped_disk"], self.cfg.sink.min_free_disk_mb)
        log.debug("committed %d batches, %d records in %.3fs: %s", len(items), len(records),
                  time.monotonic() - started, dict(counts))
        return None

    def check_disk(self) -> None:
        free_mb = shutil.disk_usage(os.path.dirname(os.path.abspath(self.db_path))).free / 1e6
        guard = free_mb < self.cfg.sink.min_free_disk_mb
        if guard != self.disk_guard:
            self.disk_guard = guard
            if guard:
                log.error("DISK GUARD ON: %.0f MB free < %.0f MB; snapshots are no longer stored "
                          "(markets and resolutions still are)", free_mb, self.cfg.sink.min_free_disk_mb)
            else:
                log.warning("disk guard off: %.0f MB free; storing snapshots again", free_mb)
            self.write_counters()

    def write_counters(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.store.bump_counters(dict(self.counters))
            self.store.set_counter("disk_guard_active", int(self.disk_guard))
            self.db.execute("COMMIT")
            self.counters.clear()
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            log.error("could not store sink counters: %s", exc)

    def close(self) -> None:
        self.ingest.close()
        self.ctx.term()
        try:
            self.db.execute("PRAGMA busy_timeout = 0")  # a locked db must not hold up the exit
        finally:
            self.db.close()


def _drop_fifth(c: wire.SnapshotColumns) -> wire.SnapshotColumns:
    """Failpoint sink:drop_rows: every fifth row of the columns silently lost."""
    keep = [i for i in range(len(c.market_ids)) if i % 5 != 4]
    pick = lambda col: [col[i] for i in keep]  # noqa: E731
    return msgspec.structs.replace(c, market_ids=pick(c.market_ids), yes=pick(c.yes), bid=pick(c.bid),
                                   ask=pick(c.ask), volume=pick(c.volume), liquidity=pick(c.liquidity),
                                   lag=None if c.lag is None else pick(c.lag))


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@version_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config TOML file")
def main(config_path: str | None) -> None:
    """Run the sink in the foreground until SIGTERM.

    Example: sink --config ~/.config/polymaster-collector/config.toml
    """
    process.run_foreground("sink", config_path, Sink)


if __name__ == "__main__":
    main()
