"""The backfill driver's checkpoint barrier over a real ZeroMQ socket, and its date window.

A sink that restarts can commit a re-sent batch after a later one, so a market's mark may only go
out once *every* batch up to the one holding its last history point is acknowledged. Here the
test plays the sink's ROUTER itself and acknowledges out of order.
"""

from __future__ import annotations

import logging

import msgspec
import pytest
import zmq

from collector import wire
from collector.config import Config
from fetchers.backfill import BadUsage, Driver, Window, parse_day
from fetchers.base import PhaseContext, PhaseCounters
from collector.sink_client import BATCH_RECORDS, Publisher
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(30)


class Points:
    """A platform history stand-in: n points, then its resolution."""

    def __init__(self, market_id: str, n: int) -> None:
        self.market_id, self.n, self.resolution_s = market_id, n, 43200

    def __iter__(self):
        for i in range(self.n):
            yield wire.PriceSnapshot("polymarket", self.market_id, 1_700_000_000 + 60 * i, 0.5, source="backfill")


def _receive(router: zmq.Socket, count: int) -> list[tuple[bytes, int]]:
    got = []
    while len(got) < count:
        assert router.poll(5000), "no batch arrived"
        ident, frame = router.recv_multipart()
        got.append((ident, wire.decode(frame).seq))
    return got


def test_a_mark_waits_for_every_earlier_batch_to_be_acknowledged():
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx_zmq = zmq.Context()
    router = ctx_zmq.socket(zmq.ROUTER)
    router.bind(endpoint)
    cfg = msgspec.structs.replace(Config(), zmq=msgspec.structs.replace(Config().zmq, ack_timeout_seconds=60.0))
    pub = Publisher(endpoint, "test", "simulator", cfg, context=ctx_zmq)
    try:
        ctx = PhaseContext(platform="polymarket", phase="backfill", cfg=cfg, http=None, publish=pub.publish,
                           counters=PhaseCounters(), log=logging.getLogger("test"))
        driver = Driver(ctx, pub, Window(), set())
        driver.backfill("A", [], Points("A", BATCH_RECORDS))  # exactly batch 1
        driver.backfill("B", [], Points("B", BATCH_RECORDS))  # exactly batch 2
        (ident, s1), (_, s2) = _receive(router, 2)
        assert (s1, s2) == (1, 2) and [seq for seq, _ in driver.held] == [1, 2]

        router.send_multipart([ident, wire.encode(wire.Ack(seq=2, stored=BATCH_RECORDS))])
        _wait_acked(pub, 2)
        driver.release()
        assert [m.market_id for _, m in driver.held] == ["A", "B"] and not pub.pending  # batch 1 still open

        router.send_multipart([ident, wire.encode(wire.Ack(seq=1, stored=BATCH_RECORDS))])
        _wait_acked(pub, 1)
        driver.release()
        assert driver.held == []
        assert [(m.market_id, m.points, m.resolution_s) for m in pub.pending] == [("A", BATCH_RECORDS, 43200),
                                                                               ("B", BATCH_RECORDS, 43200)]
    finally:
        pub.close()
        router.close(0)
        ctx_zmq.term()


def _wait_acked(pub: Publisher, seq: int) -> None:
    for _ in range(100):
        pub.service()
        if seq not in pub.unacked:
            return
        pub.sock.poll(50, zmq.POLLIN)
    raise AssertionError(f"ack {seq} never arrived")


def test_dates_and_window():
    assert parse_day("2026-05-01", "--since") == 1777593600
    assert parse_day(None, "--since") is None
    for bad in ("2026-5-1x", "01/05/2026", "2026-02-30"):
        with pytest.raises(BadUsage):
            parse_day(bad, "--since")
    w = Window(100, 200)
    assert w.holds(100) and w.holds(200) and not w.holds(99) and not w.holds(201) and not w.holds(None)
    assert Window().holds(None) and Window(None, 5).holds(-1)
