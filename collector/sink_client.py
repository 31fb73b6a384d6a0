"""A sender's one connection to the sink: batches out, acks in, nothing lost while unacknowledged.

The senders are the fetchers and the archiver (exporter/archive.py); it lives in collector/, the
shared ground, so neither imports the other or the sink (tests/test_layering.py).

The sink binds a ROUTER at ``cfg.sink_endpoint``; this DEALER connects to it. Records are grouped
into ``wire.Batch`` frames of up to ``BATCH_RECORDS``; every batch stays in ``unacked`` (seq ->
frame) until the sink's ``Ack`` for it arrives after its commit, and is sent again after
``cfg.zmq.ack_timeout_seconds`` without one: the sink may have been SIGKILLed and restarted, and
the frames in the dead pipe are gone. Delivery is at-least-once; the sink's idempotent upserts
make storage exactly-once.

Back-pressure: above ``cfg.zmq.max_unacked_batches`` in flight, ``publish()`` blocks servicing
acks, so a slow or absent sink bounds the fetcher's memory instead of growing it. Sends never
block (NOBLOCK; a full pipe just leaves the batch for the next resend), so every wait here is a
poll with a timeout. A socket belongs to one thread: create the Publisher in the thread that uses it.
"""

from __future__ import annotations

import logging
import time

import msgspec
import zmq

from collector import wire
from collector.config import Config
from collector.errors import CollectorError, SinkUnavailable

BATCH_RECORDS = 1000  # records per Batch frame
BATCH_MAX_AGE_SECONDS = 2.0  # a partial batch older than this goes out at the next publish()
POLL_SLICE_MS = 100  # one poll while waiting for acks
LINGER_MS = 500  # on close, how long queued frames may still go out
STOP_FLUSH_SECONDS = 20.0  # after SIGTERM, how long a sender's final flush may wait for the sink's acks


class SinkRefused(CollectorError):
    """The sink answered a batch with an error (e.g. simulator data into a live database)."""

    exit_code = 2


class Publisher:
    def __init__(self, endpoint: str, sender_id: str, origin: str, cfg: Config,
                 log: logging.Logger | None = None, context: zmq.Context | None = None) -> None:
        self.endpoint = endpoint
        self.sender = sender_id
        self.origin = origin  # 'live' | 'simulator' (collector/platforms.py data_origin): Batch.source
        self.log = log or logging.getLogger("fetcher.publisher")
        self.ack_timeout = cfg.zmq.ack_timeout_seconds
        self.sink_wait = cfg.zmq.sink_wait_seconds
        self.max_unacked = max(1, cfg.zmq.max_unacked_batches)
        self.sock = (context or zmq.Context.instance()).socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, LINGER_MS)
        self.sock.setsockopt(zmq.SNDHWM, self.max_unacked * 2)  # room for resends of the window
        self.sock.setsockopt(zmq.RCVHWM, 0)  # acks are tiny; never drop one
        self.sock.setsockopt(zmq.SNDTIMEO, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)
        self.sock.connect(endpoint)
        self.pending: list[wire.Record] = []
        self.pending_since = 0.0
        self.seq = 0
        self.unacked: dict[int, tuple[bytes, float, int]] = {}  # seq -> (frame, sent_at, records)
        self.stats = {"records": 0, "batches": 0, "resent": 0, "acked": 0, "rejected": 0, "unencodable": 0}

    # --- public API ----------------------------------------------------------------------

    def publish(self, record: wire.Record) -> None:
        """Queue one record; sends full batches; blocks (bounded) while too many are unacknowledged."""
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.append(record)
        self.stats["records"] += 1
        if len(self.pending) >= BATCH_RECORDS or time.monotonic() - self.pending_since > BATCH_MAX_AGE_SECONDS:
            self._send_pending()
            self.service()
            if len(self.unacked) > self.max_unacked:
                self._wait(lambda: len(self.unacked) <= self.max_unacked, None)

    def service(self) -> None:
        """Take every ack that has arrived and re-send batches whose ack is overdue; never blocks."""
        while self.sock.poll(0, zmq.POLLIN):
            self._on_frame(self.sock.recv_multipart(zmq.NOBLOCK)[-1])
        now = time.monotonic()
        for seq, (frame, sent_at, n) in list(self.unacked.items()):
            if now - sent_at >= self.ack_timeout:
                if sent_at > 0:
                    self.stats["resent"] += 1
                    self.log.info("batch %d not acknowledged in %.0f s; sending again", seq, self.ack_timeout)
                self._send(seq, frame, n)

    def flush_and_wait(self, timeout: float | None = None) -> None:
        """Send the partial batch and wait until the sink acknowledged everything.

        Raises SinkUnavailable when no ack arrives for ``cfg.zmq.sink_wait_seconds`` (or the
        whole wait passes ``timeout`` seconds); the unacknowledged batches are kept either way.
        """
        self._send_pending()
        self._wait(lambda: not self.unacked, timeout)

    def close(self) -> None:
        if self.unacked or self.pending:
            self.log.warning("closing with %d unacknowledged batches and %d unsent records",
                             len(self.unacked), len(self.pending))
        self.sock.close()

    # --- internals -----------------------------------------------------------------------

    def _send_pending(self) -> None:
        """Send the partial batch; ``pending`` is empty afterwards whatever happens."""
        if not self.pending:
            return
        records, self.pending = self.pending, []
        try:
            frame = self._encode(wire.columnize(records))
        except (OverflowError, TypeError, ValueError, msgspec.EncodeError):
            frame = self._encode(self._encodable(records))  # rare: find the record(s) at fault
        self.seq += 1
        self._send(self.seq, frame, len(records))
        self.stats["batches"] += 1

    def _encode(self, records: list[wire.Record]) -> bytes:
        return wire.encode(wire.Batch(sender=self.sender, seq=self.seq + 1, source=self.origin,
                                      records=wire.columnize(records) if records else []))

    def _encodable(self, records: list[wire.Record]) -> list[wire.Record]:
        """The records msgpack can carry; each one it cannot (an int beyond 64 bits) is logged and dropped."""
        good = []
        for r in records:
            try:
                wire.encode(wire.Batch(sender=self.sender, seq=0, source=self.origin, records=wire.columnize([r])))
                good.append(r)
            except (OverflowError, TypeError, ValueError, msgspec.EncodeError) as exc:
                self.stats["unencodable"] += 1
                self.log.error("dropped a record that cannot be encoded (%s/%s): %s",
                               getattr(r, "platform", "?"), getattr(r, "market_id", "?"), exc)
        return good

    def _send(self, seq: int, frame: bytes, n: int) -> None:
        try:
            self.sock.send(frame, zmq.NOBLOCK)
            self.unacked[seq] = (frame, time.monotonic(), n)
        except zmq.Again:
            self.unacked[seq] = (frame, 0.0, n)  # pipe full: goes out at the next service()

    def _on_frame(self, frame: bytes) -> None:
        try:
            msg = wire.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError, wire.WrongVersion) as exc:
            self.log.warning("unreadable frame from the sink (%d bytes): %s", len(frame), exc)
            return
        if not isinstance(msg, wire.Ack):
            self.log.warning("unexpected %s from the sink", type(msg).__name__)
            return
        if msg.error:
            raise SinkRefused(f"the sink at {self.endpoint} refused batch {msg.seq}: {msg.error}")
        if msg.rejected:
            self.stats["rejected"] += max(msg.rejected, 1)
            self.log.warning("the sink rejected %s of batch %d: %s; dropping it",
                             "all" if msg.rejected < 0 else f"{msg.rejected} record(s)", msg.seq, msg.reason)
        if self.unacked.pop(msg.seq, None) is not None:
            self.stats["acked"] += 1

    def _wait(self, done, timeout: float | None) -> None:
        start = time.monotonic()
        progress_at = start
        acked = self.stats["acked"]
        while not done():
            self.service()
            if done():
                return
            now = time.monotonic()
            if self.stats["acked"] != acked:
                acked, progress_at = self.stats["acked"], now
            if now - progress_at > self.sink_wait or (timeout is not None and now - start > timeout):
                raise SinkUnavailable(
                    f"no sink acknowledged at {self.endpoint} within {now - progress_at:.0f} s "
                    f"({len(self.unacked)} batches waiting); is `sink` running?"
                )
            self.sock.poll(POLL_SLICE_MS, zmq.POLLIN)
