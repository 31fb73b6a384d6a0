"""No bad byte stops the sink: absurd values are rejected per record, answered, and never block others.

Real sink process, real ZeroMQ DEALER sockets, real SQLite file (issue 17).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import msgspec
import pytest

from collector import wire
from collector import sink_health as health
from tests.conftest import counter, query, script, sink_dealer, start_sink, wait_for, write_config
from tests.sender_proc import T0

pytestmark = pytest.mark.timeout(120)


def ack_of(sock, frame: bytes, timeout_ms: int = 10000) -> wire.Ack:
    sock.send(frame)
    assert sock.poll(timeout_ms), "no ack"
    return wire.decode(sock.recv())


def honest_ack(tmp_path, seq: int = 1) -> wire.Ack:
    """An honest sender's batch still gets its ack."""
    s = sink_dealer(tmp_path)
    try:
        good = wire.MarketUpsert(platform="kalshi", market_id=f"HONEST-{seq}", observed_at=T0, title="ok")
        return ack_of(s, wire.encode(wire.Batch(sender="honest", seq=seq, source="live", records=[good])))
    finally:
        s.close()


def cfg_for(tmp_path, **sink):
    return write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1, **sink})


def test_absurd_values_are_rejected_per_record_and_the_rest_is_stored(procs, tmp_path):
    sink = start_sink(procs, tmp_path, cfg_for(tmp_path))
    s = sink_dealer(tmp_path)
    nan, big = float("nan"), 10**19
    cols = wire.SnapshotColumns(platform="kalshi", t=T0, market_ids=["GOOD", "NEG", "HIGH", "VNEG", "VBIG"],
                                yes=[500_000, -5_000_000, 500_000, 1, 1], bid=[1, 1, 99_000_000, 1, 1],
                                ask=[None, 1, 1, 1, 1], volume=[10, 10, 10, -1, big], liquidity=[1, 1, 1, 1, 1])
    records = [
        wire.MarketUpsert(platform="kalshi", market_id="OK1", observed_at=T0, title="fine", volume=5.0),
        wire.MarketUpsert(platform="kalshi", market_id="VOL", observed_at=T0, volume=1e19),
        wire.MarketUpsert(platform="kalshi", market_id="NAN", observed_at=nan),
        wire.MarketUpsert(platform="kalshi", market_id="LONG", observed_at=T0, title="x" * 10_000_000),
        wire.MarketUpsert(platform="x/../../etc", market_id="PLAT", observed_at=T0),
        wire.Resolution(platform="kalshi", market_id="OK1", observed_at=T0, status="voided", settlement_value=7.0),
        cols,
    ]
    ack = ack_of(s, wire.encode(wire.Batch(sender="bad", seq=1, source="live", records=records)))
    assert (ack.seq, ack.stored, ack.rejected) == (1, 2, 9)  # OK1 + the columns (one good row)
    assert ack.reason and not ack.error
    assert sink.p.poll() is None
    assert honest_ack(tmp_path).stored == 1

    db = tmp_path / "collector.db"
    assert query(db, "SELECT market_id FROM markets ORDER BY 1") == [("GOOD",), ("HONEST-1",), ("OK1",)]
    assert query(db, "SELECT market_id, yes_price FROM price_snapshots") == [("GOOD", 0.5)]
    assert query(db, "SELECT status FROM markets WHERE market_id = 'OK1'") == [("active",)]
    assert sink.stop() == 0
    assert counter(db, "records_rejected") == 9
    assert "rejected 9 record(s) of batch 1" in sink.output()


def test_an_unreadable_batch_is_answered_so_its_sender_drops_it(procs, tmp_path):
    sink = start_sink(procs, tmp_path, cfg_for(tmp_path))
    s = sink_dealer(tmp_path)
    # NaN where the wire says int, and an integer beyond 64 bits can't even be encoded: hand-built frames
    frames = [
        msgspec.msgpack.encode({"type": "batch", "sender": "x", "seq": 7, "source": "live", "v": 1,
                                "records": [{"type": "snap", "platform": "kalshi", "market_id": "K",
                                             "t": float("nan")}]}),
        msgspec.msgpack.encode({"type": "batch", "sender": "x", "seq": 8, "source": "live", "v": 1,
                                "records": [{"type": "snapcols", "platform": "kalshi", "t": T0,
                                             "market_ids": ["K"], "yes": [2**64 - 1], "bid": [None],
                                             "ask": [None], "volume": [None], "liquidity": [None]}]}),
    ]
    for seq, frame in zip((7, 8), frames):
        ack = ack_of(s, frame)
        assert ack.seq == seq and ack.rejected != 0 and ack.stored == 0, ack
    assert honest_ack(tmp_path).stored == 1
    assert sink.p.poll() is None
    assert query(tmp_path / "collector.db", "SELECT count(*) FROM snapshot") == [(0,)]


def test_an_oversized_frame_is_refused_without_growing_the_sink(procs, tmp_path):
    sink = start_sink(procs, tmp_path, cfg_for(tmp_path))
    s = sink_dealer(tmp_path)
    s.send(b"\x00" * (wire.MAX_FRAME_BYTES + 1024 * 1024))
    time.sleep(2.0)
    rss_kb = next(int(line.split()[1]) for line in open(f"/proc/{sink.p.pid}/status") if line.startswith("VmHWM"))
    assert rss_kb < wire.MAX_FRAME_BYTES // 1024, f"sink peak RSS {rss_kb} kB"
    s.close()
    assert sink.p.poll() is None
    assert honest_ack(tmp_path).stored == 1


@pytest.mark.slow
def test_a_failing_database_is_loud_backs_off_recovers_and_sigterm_exits_within_10s(procs, tmp_path):
    cfg = cfg_for(tmp_path)
    sink = start_sink(procs, tmp_path, cfg)
    assert honest_ack(tmp_path, 1).stored == 1
    db_path = tmp_path / "collector.db"
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: every commit fails
    s = sink_dealer(tmp_path)
    good = wire.MarketUpsert(platform="kalshi", market_id="WAITS", observed_at=T0)
    s.send(wire.encode(wire.Batch(sender="honest", seq=2, source="live", records=[good])))
    wait_for(lambda: health.read(tmp_path) is not None, 20, what="sink.health")
    assert "COMMIT FAILING" in sink.output()
    assert "database is locked" in json.loads((tmp_path / "sink.health").read_text())["last_error"]
    status = subprocess.run([script("collector"), "--config", str(cfg), "status", "--json"], capture_output=True,
                            text=True, timeout=60)
    verdict = json.loads(status.stdout)["verdict"]
    assert status.returncode == 2 and verdict["state"] == "DOWN"
    assert any("sink commits failing" in p["what"] and "database is locked" in p["what"] for p in verdict["problems"])
    assert not s.poll(500), "acknowledged a batch that was not committed"
    blocker.execute("ROLLBACK")
    assert s.poll(40000), "no ack after the database recovered"
    assert wire.decode(s.recv()).stored == 1
    wait_for(lambda: health.read(tmp_path) is None, 10, what="sink.health removed")

    blocker.execute("BEGIN IMMEDIATE")
    s.send(wire.encode(wire.Batch(sender="honest", seq=3, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="LOST", observed_at=T0)])))
    wait_for(lambda: sink.output().count("COMMIT FAILING") >= 2, 20, what="second failure")
    started = time.monotonic()
    sink.signal(signal.SIGTERM)
    assert sink.p.wait(15) == 0
    assert time.monotonic() - started < 10.0
    assert not s.poll(200), "acknowledged a batch that was not committed"
    blocker.execute("ROLLBACK")
    blocker.close()
    assert query(db_path, "SELECT market_id FROM markets ORDER BY 1") == [("HONEST-1",), ("WAITS",)]

