"""Publisher against a real sink process: acks, re-sends after a SIGKILL, refusals, back-pressure."""

from __future__ import annotations

import time

import pytest

from collector import config, wire
from collector.errors import SinkUnavailable
from collector.platforms import data_origin, is_loopback_url
from collector.sink_client import Publisher, SinkRefused
from tests.conftest import query, start_sink, write_config

pytestmark = pytest.mark.timeout(120)


def make_cfg(tmp_path, **zmq):
    path = write_config(tmp_path, sink={"flush_interval_seconds": 0.05},
                        zmq={"ack_timeout_seconds": 1.0, "sink_wait_seconds": 10.0, **zmq})
    return path, config.load(path)

def snap(i: int, t: int = 1_800_000_000) -> wire.PriceSnapshot:
    return wire.PriceSnapshot("polymarket", f"0x{i:064x}", t, 0.5, 0.49, 0.51, 10.0, 5.0)


def stored_snapshots(tmp_path) -> int:
    return query(tmp_path / "collector.db", "SELECT count(*) FROM snapshot")[0][0]


@pytest.mark.slow
def test_every_record_stored_once_across_a_sink_sigkill(tmp_path, procs):
    path, cfg = make_cfg(tmp_path)
    sink = start_sink(procs, tmp_path, path)
    pub = Publisher(cfg.sink_endpoint, "test-sender", "simulator", cfg)
    try:
        for i in range(30_000):
            pub.publish(snap(i))
            if i == 12_000:
                sink.kill()  # SIGKILL mid-stream: whatever it had not acknowledged is re-sent
            if i == 18_000:
                sink = start_sink(procs, tmp_path, path)
        pub.flush_and_wait()
        assert pub.stats["resent"] > 0 and not pub.unacked
    finally:
        pub.close()
    assert stored_snapshots(tmp_path) == 30_000


def test_no_sink_is_reported_within_the_bound(tmp_path):
    path, cfg = make_cfg(tmp_path, sink_wait_seconds=1.0)
    pub = Publisher(cfg.sink_endpoint, "test-sender", "simulator", cfg)
    pub.publish(snap(1))
    t0 = time.monotonic()
    with pytest.raises(SinkUnavailable, match="sink.ipc"):
        pub.flush_and_wait()
    assert time.monotonic() - t0 < 5 and len(pub.unacked) == 1  # still held for a later re-send
    pub.close()


def test_back_pressure_blocks_then_gives_up_without_a_sink(tmp_path):
    path, cfg = make_cfg(tmp_path, sink_wait_seconds=1.0, max_unacked_batches=2)
    pub = Publisher(cfg.sink_endpoint, "test-sender", "simulator", cfg)
    with pytest.raises(SinkUnavailable):
        for i in range(10_000):
            pub.publish(snap(i))
    assert len(pub.unacked) == 3  # stopped right above the window instead of queueing everything
    pub.close()


def test_a_refused_batch_is_fatal(tmp_path, procs):
    path, cfg = make_cfg(tmp_path)
    start_sink(procs, tmp_path, path)
    live = Publisher(cfg.sink_endpoint, "live-sender", "live", cfg)
    live.publish(snap(1))
    live.flush_and_wait()
    live.close()
    sim = Publisher(cfg.sink_endpoint, "sim-sender", "simulator", cfg)
    sim.publish(snap(2))
    with pytest.raises(SinkRefused, match="refusing simulator data"):
        sim.flush_and_wait()
    sim.close()
    assert stored_snapshots(tmp_path) == 1


def test_source_follows_the_configured_urls():
    assert is_loopback_url("http://127.0.0.1:8000/gamma") and is_loopback_url("http://localhost/x")
    assert is_loopback_url("http://[::1]:80/") and not is_loopback_url("https://gamma-api.polymarket.com")
    cfg = config.Config()
    assert data_origin(cfg, "polymarket") == "live"
    local = config.Config(polymarket=config.Polymarket(base_url="http://127.0.0.1:1/clob",
                                                       gamma_url="http://127.0.0.1:1/gamma"))
    assert data_origin(local, "polymarket") == "simulator" and data_origin(local, "kalshi") == "live"


def test_unencodable_and_rejected_records_are_dropped_never_stuck(tmp_path, procs):
    """A record msgpack cannot carry (an int beyond 64 bits) or the sink rejects never blocks the rest."""
    path, cfg = make_cfg(tmp_path)
    start_sink(procs, tmp_path, path)
    pub = Publisher(cfg.sink_endpoint, "test-sender", "simulator", cfg)
    try:
        pub.publish(snap(1))
        pub.publish(wire.PriceSnapshot("polymarket", "0xhuge", 2**70, 0.5))  # cannot be encoded
        pub.publish(wire.MarketUpsert(platform="polymarket", market_id="0xnan", observed_at=float("nan")))
        pub.publish(snap(2))
        pub.flush_and_wait(timeout=20)
        assert not pub.pending and not pub.unacked
        assert pub.stats["unencodable"] == 1 and pub.stats["rejected"] == 1
        pub.publish(snap(3))  # and it keeps working
        pub.flush_and_wait(timeout=20)
    finally:
        pub.close()
    assert stored_snapshots(tmp_path) == 3
