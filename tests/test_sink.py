"""The sink as a user relies on it: real sink process, real sockets, real SQLite file."""

from __future__ import annotations

import signal
import sqlite3
import sys
import time

import pytest

from collector import wire
from tests.conftest import counter, dump, query, script, send_and_ack, sink_dealer, start_sink, wait_for, write_config
from tests.sender_proc import T0, expected_price, market_id as sender_market_id, market_index


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(procs, tmp_path):
    cfg = write_config(tmp_path, zmq={"ack_timeout_seconds": 1.0, "sink_wait_seconds": 60.0},
                       sink={"flush_interval_seconds": 0.2, "batch_max_records": 3000, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    n_markets, n_cycles = 500, 200  # 100,000 snapshots per sender
    senders = [
        procs.start([sys.executable, "-m", "tests.sender_proc", str(cfg), name, str(n_markets), str(n_cycles)],
                    tmp_path / f"{name}.log")
        for name in ("a", "b")
    ]
    db_path = tmp_path / "collector.db"
    wait_for(lambda: db_path.exists() and query(db_path, "SELECT count(*) FROM snapshot")[0][0] > 0,
             interval=0.01, what="first commits")
    sink.kill()  # SIGKILL in the middle of the stream
    stored_before = query(db_path, "SELECT count(*) FROM snapshot")[0][0]
    assert stored_before < 2 * n_markets * n_cycles
    time.sleep(1.5)
    sink = start_sink(procs, tmp_path, cfg)
    for s in senders:
        assert s.p.wait(120) == 0, s.output()
        assert f"sent {n_markets * (n_cycles + 1)}" in s.output()
    assert sink.stop() == 0

    total = query(db_path, "SELECT count(*) FROM snapshot")[0][0]
    assert total == 2 * n_markets * n_cycles
    assert query(db_path, "SELECT count(*) FROM markets")[0][0] == 2 * n_markets
    # counters kept in the same transactions agree with the rows: exactly once
    assert query(db_path, "SELECT sum(rows) FROM snapshot_cycles")[0][0] == total
    rows = query(db_path, "SELECT market_id, snapshot_ts, yes_price FROM price_snapshots WHERE market_id LIKE ?",
                 (sender_market_id("a", 0)[:34] + "%",))
    assert len(rows) == n_markets * n_cycles
    for market_id, t, yes in rows:
        i, c = market_index(market_id), (t - T0) // 900
        assert abs(yes - expected_price(i, c)) < 1e-9
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"


def test_sigterm_flushes_acks_and_exits_zero(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 30.0, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    snaps = [wire.PriceSnapshot("kalshi", f"K-{i}", T0, 0.5) for i in range(10)]
    s.send(wire.encode(wire.Batch(sender="t", seq=1, source="live", records=snaps)))
    time.sleep(0.5)  # received, but the 30 s flush timer has not fired
    sink.signal(signal.SIGTERM)
    assert s.poll(10000), "no ack after SIGTERM"
    assert wire.decode(s.recv()) == wire.Ack(seq=1, stored=10)
    assert sink.p.wait(15) == 0
    assert query(tmp_path / "collector.db", "SELECT count(*) FROM snapshot")[0][0] == 10
    s.close()


def test_replay_is_idempotent_and_newest_wins(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    db_path = tmp_path / "collector.db"
    batch = wire.Batch(sender="t", seq=1, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="K1", observed_at=T0 + 100.0, title="New title", volume=10.0),
        wire.PriceSnapshot("kalshi", "K1", T0, 0.25, 0.2, 0.3, 10.0),
        wire.Resolution(platform="kalshi", market_id="K2", observed_at=T0 + 100.0, status="resolved",
                        resolution="NO", resolved_at="2026-11-01T00:00:00Z"),
        wire.NewsHeadline(platform="kalshi", market_id="K1", headline="Big news!", source="x",
                          captured_at="2026-11-01T00:00:00Z"),
        wire.PhaseReport(job_id="j1", platform="kalshi", phase="snapshot", started_at=1, finished_at=2, ok=True),
    ])
    assert send_and_ack(s, batch).stored == 5
    first = dump(db_path)
    assert send_and_ack(s, batch).stored == 5  # acknowledged again ...
    assert dump(db_path) == first  # ... and the database did not change

    # an older observation never overwrites a newer one; a resolved market never reopens
    older = wire.Batch(sender="t", seq=2, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="K1", observed_at=T0 + 50.0, title="Old title", volume=1.0),
        wire.MarketUpsert(platform="kalshi", market_id="K2", observed_at=T0 + 200.0, status="active", title="K2"),
        wire.Resolution(platform="kalshi", market_id="K2", observed_at=T0 + 300.0, status="closed"),
        wire.PriceSnapshot("kalshi", "K1", T0, 0.99),  # same market and time: first row stays
        wire.NewsHeadline(platform="kalshi", market_id="K1", headline="big news", source="y",
                          captured_at="2026-11-02T00:00:00Z"),
    ])
    send_and_ack(s, older)
    assert query(db_path, "SELECT title, volume FROM markets WHERE market_id='K1'") == [("New title", 10.0)]
    assert query(db_path, "SELECT status, resolution, title FROM markets WHERE market_id='K2'") == [
        ("resolved", "NO", "K2")]
    assert query(db_path, "SELECT yes_price FROM price_snapshots") == [(0.25,)]
    assert query(db_path, "SELECT count(*) FROM news_context") == [(1,)]
    newer = wire.Batch(sender="t", seq=3, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="K1", observed_at=T0 + 150.0, title="Newest title")])
    send_and_ack(s, newer)
    assert query(db_path, "SELECT title, volume FROM markets WHERE market_id='K1'") == [("Newest title", 10.0)]
    s.close()


def test_garbage_truncated_and_wrong_version_frames_are_counted(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    good = wire.encode(wire.Batch(sender="t", seq=1, source="live",
                                  records=[wire.PriceSnapshot("kalshi", "K", T0, 0.5)]))
    s.send(b"\x00\xffnot msgpack at all")
    s.send(good[: len(good) // 2])
    s.send(wire.encode(wire.Batch(sender="t", seq=9, source="live", records=[], v=99)))
    s.send_multipart([b"two", b"parts"])
    s.send(wire.encode(wire.Job(job_id="x", platform="kalshi", phase="snapshot", grid_time=0, deadline=0)))
    assert send_and_ack(s, wire.Batch(sender="t", seq=1, source="live",
                                      records=[wire.PriceSnapshot("kalshi", "K", T0, 0.5)])).stored == 1
    assert sink.stop() == 0  # still alive, exits cleanly, counters written
    db_path = tmp_path / "collector.db"
    assert counter(db_path, "frames_rejected_garbage") == 2
    assert counter(db_path, "frames_rejected_version") == 1
    assert counter(db_path, "frames_rejected_shape") == 1
    assert counter(db_path, "frames_rejected_unexpected") == 1
    assert "rejected frame" in sink.output()
    s.close()


def test_simulator_data_is_refused_by_a_live_database(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    rec = [wire.PriceSnapshot("kalshi", "K", T0, 0.5)]
    assert send_and_ack(s, wire.Batch(sender="t", seq=1, source="live", records=rec)).error == ""
    refused = send_and_ack(s, wire.Batch(sender="t", seq=2, source="simulator", records=rec))
    assert "refusing simulator data" in refused.error
    s.close()


def test_a_database_that_is_not_ours_is_a_clear_error(procs, tmp_path):
    other = sqlite3.connect(tmp_path / "collector.db")
    other.execute("CREATE TABLE alerts (id INTEGER PRIMARY KEY)")
    other.commit()
    other.close()
    cfg = write_config(tmp_path)
    p = procs.start([script("sink"), "--config", str(cfg)], tmp_path / "sink.log")
    assert p.p.wait(20) == 2
    assert "not a polymaster-collector database" in p.output()


def test_disk_guard_keeps_markets_drops_snapshots(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1e12})  # never enough
    sink = start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    ack = send_and_ack(s, wire.Batch(sender="t", seq=1, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="K", observed_at=T0 + 1.0, title="T"),
        wire.PriceSnapshot("kalshi", "K", T0, 0.5)]))
    assert ack.error == ""
    assert sink.stop() == 0
    db_path = tmp_path / "collector.db"
    assert query(db_path, "SELECT title FROM markets") == [("T",)]
    assert query(db_path, "SELECT count(*) FROM snapshot") == [(0,)]
    assert counter(db_path, "snapshots_dropped_disk") == 1
    assert counter(db_path, "disk_guard_active") == 1
    assert "DISK GUARD ON" in sink.output()
    s.close()


def test_random_and_mutated_frames_never_stop_the_sink(procs, tmp_path):
    """Fuzz: random bytes and bit-flipped valid frames; every frame is either stored or counted."""
    import random

    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    rng = random.Random(1234)
    valid = wire.encode(wire.Batch(sender="fuzz", seq=1, source="live", records=wire.columnize(
        [wire.PriceSnapshot("kalshi", f"K{i}", T0, 0.5) for i in range(5)])))
    frames = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) for _ in range(150)]
    for _ in range(150):
        b = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        frames.append(bytes(b))
    for f in frames:
        s.send(f)
    accepted = 0
    while s.poll(1000):
        accepted += 0 if wire.decode(s.recv()).error else 1
    ack = send_and_ack(s, wire.Batch(sender="t", seq=99, source="live", records=[
        wire.MarketUpsert(platform="kalshi", market_id="ALIVE", observed_at=T0 + 1.0)]))
    assert ack.error == ""
    assert sink.stop() == 0
    db_path = tmp_path / "collector.db"
    rejected = sum(v for (v,) in query(db_path, "SELECT value FROM sink_counters WHERE name LIKE 'frames_rejected_%'"))
    refused = counter(db_path, "batches_refused_source") + counter(db_path, "snapshot_columns_rejected")
    assert rejected + accepted + refused >= len(frames)
    assert rejected > 150  # at least every random frame
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"
    s.close()
