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

import click
import msgspec
import zmq

from collector import clock, config as config_mod, process, wire
from collector.cliutil import CONTEXT_SETTINGS, Command, version_option
from sink import schema
from sink.store import Store

log = logging.getLogger("sink")

POLL_MS = 200  # upper bound on one wait, so signals and deadlines are noticed promptly
RETRY_AFTER_ERROR_S = 2.0  # after a failed commit (disk full, I/O error), wait before retrying
DISK_CHECK_S = 10.0  # how often the free-space guard looks at the disk
LINGER_MS = 2000  # at exit, how long queued acknowledgements may take to leave
COUNTER_FLUSH_S = 5.0
STOP_QUIET_S = 1.5  # after SIGTERM, exit once no frame arrived for this long ...
STOP_MAX_S = 30.0  # ... or this long after the signal, whichever comes first


class Sink:
    def __init__(self, cfg: config_mod.Config):
        self.cfg = cfg
        self.endpoint = cfg.sink_endpoint
        self.db_path = str(cfg.db_path)
        os.makedirs(cfg.db_path.parent, exist_ok=True)
        self.db = schema.connect_writer(self.db_path)
        schema.migrate(self.db)
        self.store = Store(self.db, cfg.archive_dir)
        self.pending: list[tuple[bytes, wire.Batch]] = []
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

    def request_stop(self, why: str) -> None:
        log.info("received %s: flushing and stopping", why)
        if not self.stopping:
            self.stopping, self.stopping_since = True, time.monotonic()

    def bind(self) -> None:
        endpoint = self.endpoint
        if endpoint.startswith("ipc://"):
            os.makedirs(os.path.dirname(endpoint[len("ipc://"):]) or ".", exist_ok=True)
        self.ingest.bind(endpoint)
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
            if self.pending and now >= retry_at and (due or full or self.stopping):
                if self.flush():
                    flush_at = None
                else:
                    retry_at = flush_at = now + RETRY_AFTER_ERROR_S
            elif not self.pending:
                flush_at = None
            if now >= counters_at and self.counters:
                self.write_counters()
                counters_at = now + COUNTER_FLUSH_S
            if self.stopping and not self.pending:
                # `supervisorctl stop all` signals everyone at once: fetchers may still be flushing.
                # Keep receiving until the socket has been quiet for a moment (bounded).
                if self.last_frame_at < now - STOP_QUIET_S or now - self.stopping_since > STOP_MAX_S:
                    break
        self.write_counters()
        log.info("sink stopped cleanly")

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
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                self.reject("frames_rejected_garbage", f"{exc} ({len(frame)} bytes)")
                continue
            except Exception as exc:  # a decoder surprise must not become a crash loop
                self.reject("frames_rejected_garbage", f"{type(exc).__name__}: {exc} ({len(frame)} bytes)")
                continue
            match msg:
                case wire.Batch():
                    self.accept(identity, msg)
                case _:
                    self.reject("frames_rejected_unexpected", f"unexpected {type(msg).__name__}")

    def accept(self, identity: bytes, batch: wire.Batch) -> None:
        source = self.store.meta("source")
        if source is None:
            self.store.set_meta("source", batch.source)  # autocommit: first sender decides
            log.info("database source set to %r", batch.source)
        elif source != batch.source:
            self.counters["batches_refused_source"] += 1
            error = (f"refusing {batch.source} data: {self.db_path} holds {source} data; "
                     "use a separate db_path for the simulator/demo")
            log.error("%s (sender %s)", error, batch.sender)
            self.ingest.send_multipart([identity, wire.encode(wire.Ack(seq=batch.seq, error=error))])
            return
        self.pending.append((identity, batch))
        self.pending_records += sum(len(r.market_ids) if isinstance(r, wire.SnapshotColumns) else 1
                                    for r in batch.records)

    def reject(self, counter: str, why: str) -> None:
        self.counters[counter] += 1
        log.warning("rejected frame: %s [%s=%d]", why, counter, self.counters[counter])

    def flush(self) -> bool:
        """Commit every pending batch in one transaction, then acknowledge them; False on failure."""
        records = [r for _, b in self.pending for r in b.records]
        started = time.monotonic()
        try:
            self.db.execute("BEGIN IMMEDIATE")
            counts = self.store.apply(records, clock.now(), store_snapshots=not self.disk_guard)
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self.store.forget_ids()
            self.counters["commit_failures"] += 1
            log.error("commit of %d records failed, will retry in %.0fs: %s [commit_failures=%d]",
                      len(records), RETRY_AFTER_ERROR_S, exc, self.counters["commit_failures"])
            return False
        for key, value in counts.items():
            self.counters[key] += value
        if counts.get("snapshots_dropped_disk"):
            log.error("disk guard: dropped %d snapshots (free space below %.0f MB)",
                      counts["snapshots_dropped_disk"], self.cfg.sink.min_free_disk_mb)
        for identity, batch in self.pending:
            self.ingest.send_multipart([identity, wire.encode(wire.Ack(seq=batch.seq, stored=len(batch.records)))])
        log.debug("committed %d batches, %d records in %.3fs: %s", len(self.pending), len(records),
                  time.monotonic() - started, dict(counts))
        self.pending.clear()
        self.pending_records = 0
        return True

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
        self.db.close()


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
