"""Hypothesis at the real sockets: random and mutated frames never stop the sink or the scheduler.

One real sink (and one real scheduler) process per test; every example sends its frames, then an
honest sender must still be answered. At the end nothing stored breaks collector/bounds.py.
"""

from __future__ import annotations

import random
import sqlite3
import time

import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, given, settings, strategies as st

from collector import bounds, wire
from tests.conftest import Proc, script, sink_dealer, wait_for, write_config
from tests.sender_proc import T0
from tests.scheduler_rig import FakeFetcher, scheduler_config

# The checks after each fuzz test read what that fuzz left behind: the module is one slow unit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
FUZZED = {"sink": 0, "scheduler": 0}  # frames sent, printed for the README's soak summary

nasty_number = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -1.0, 1e19, 1e15, 2**63, 2**64 - 1,
                     -(2**63), 0, 1, T0, 99.0, -5.0, 5_000_000, 10**7]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**63), 2**64 - 1),
)
nasty_text = st.one_of(st.text(max_size=30), st.sampled_from(["", "kalshi", "polymarket", "x/../../etc", "\x00",
                                                               "x" * 1001, "d" * 20_001, "2026-11-01T00:00:00Z",
                                                               "live", "backfill", "news", "all"]))
nasty_value = st.one_of(st.none(), st.booleans(), nasty_number, nasty_text, st.lists(nasty_number, max_size=4),
                        st.lists(nasty_text, max_size=4), st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3))

FIELDS = {
    "market": ["platform", "market_id", "observed_at", "status", "title", "description", "outcomes", "volume",
               "liquidity", "end_date", "extra"],
    "snap": ["platform", "market_id", "t", "yes_price", "best_bid", "best_ask", "volume", "liquidity", "source"],
    "snapcols": ["platform", "t", "source", "market_ids", "yes", "bid", "ask", "volume", "liquidity"],
    "resolution": ["platform", "market_id", "observed_at", "status", "resolution", "settlement_value", "resolved_at"],
    "news": ["platform", "market_id", "headline", "source", "captured_at", "url"],
    "backfill_mark": ["platform", "market_id", "points", "resolution_s", "done_at"],
    "archive_commit": ["platform", "day", "t_start", "t_end", "file", "sha256", "rows", "markets", "sum_t", "sum_yes",
                       "sum_bid", "sum_ask", "sum_volume", "sum_liquidity"],
    "phase": ["job_id", "platform", "phase", "started_at", "finished_at", "ok", "grid_time", "records", "message"],
}
GOOD = {"platform": "kalshi", "market_id": "K-1", "observed_at": T0, "status": "active", "t": T0, "source": "live",
        "market_ids": ["K-1"], "yes": [500_000], "bid": [None], "ask": [None], "volume": [1], "liquidity": [None],
        "headline": "h", "captured_at": "2026-11-01T00:00:00Z", "points": 1, "resolution_s": 60, "done_at": T0,
        "day": "2026-11-01", "t_start": T0, "t_end": T0 + 86400, "file": "f.parquet", "sha256": "0" * 64, "rows": 0,
        "markets": 0, "sum_t": 0, "sum_yes": 0, "sum_bid": 0, "sum_ask": 0, "sum_volume": 0, "sum_liquidity": 0,
        "job_id": "j", "phase": "snapshot", "started_at": T0, "finished_at": T0, "ok": True}


@st.composite
def record(draw):
    """A record dict of any type, valid except for a few fields set to nasty values."""
    tag = draw(st.sampled_from(sorted(FIELDS)))
    rec = {"type": tag, **{k: GOOD[k] for k in FIELDS[tag] if k in GOOD}}
    for key in draw(st.lists(st.sampled_from(FIELDS[tag]), max_size=3)):
        rec[key] = draw(nasty_value)
    return rec


@st.composite
def sink_frames(draw) -> list[list[bytes]]:
    kind = draw(st.sampled_from(["batch", "batch", "bytes", "mutated", "multipart", "other"]))
    if kind == "bytes":
        return [[draw(st.binary(max_size=300))]]
    if kind == "multipart":
        return [draw(st.lists(st.binary(max_size=50), min_size=2, max_size=4))]
    if kind == "other":
        return [[msgspec.msgpack.encode({"type": draw(st.sampled_from(["ack", "job", "hb", "done", "nope"])),
                                         "v": draw(st.sampled_from([1, 2, 1.5])), "seq": draw(nasty_number)})]]
    batch = {"type": "batch", "sender": "fuzz", "seq": draw(st.integers(0, 2**63 - 1)), "source": "live", "v": 1,
             "records": draw(st.lists(record(), min_size=1, max_size=6))}
    frame = msgspec.msgpack.encode(batch)
    if kind == "mutated":
        data = bytearray(frame)
        rng = random.Random(draw(st.integers(0, 2**32)))
        for _ in range(draw(st.integers(1, 6))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        frame = bytes(data[:draw(st.integers(1, len(data)))])
    return [[frame]]


@pytest.fixture(scope="module")
def sink_proc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzzsink")
    cfg = write_config(tmp, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    p = Proc([script("sink"), "--config", str(cfg)], tmp / "sink.log")
    wait_for(lambda: (tmp / "sink.ipc").exists(), what="sink socket")
    honest, fuzz = sink_dealer(tmp), sink_dealer(tmp)
    yield p, tmp, honest, fuzz
    honest.close()
    fuzz.close()
    p.stop()


def honest_round_trip(sock, seq: int) -> None:
    rec = wire.MarketUpsert(platform="kalshi", market_id=f"HONEST-{seq}", observed_at=T0 + seq, title="ok")
    sock.send(wire.encode(wire.Batch(sender="honest", seq=seq, source="live", records=[rec])))
    assert sock.poll(15000), "the sink stopped answering an honest sender"
    ack = wire.decode(sock.recv())
    assert (ack.seq, ack.stored, ack.error) == (seq, 1, "")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(sink_frames(), min_size=1, max_size=5))
def test_fuzzed_frames_never_stop_the_sink(sink_proc, frames):
    p, tmp, honest, fuzz = sink_proc
    for parts_list in frames:
        for parts in parts_list:
            fuzz.send_multipart(parts)
            FUZZED["sink"] += 1
    while fuzz.poll(0):
        fuzz.recv()  # answers to the fuzzer are fine; they must not block anything
    test_fuzzed_frames_never_stop_the_sink.seq = seq = getattr(test_fuzzed_frames_never_stop_the_sink, "seq", 0) + 1
    honest_round_trip(honest, seq)
    assert p.p.poll() is None, p.output()


def test_nothing_stored_breaks_a_bound(sink_proc):
    p, tmp, honest, _ = sink_proc
    honest_round_trip(honest, 10_000)
    time.sleep(0.5)
    db = sqlite3.connect(f"file:{tmp / 'collector.db'}?mode=ro", uri=True)
    try:
        bad_markets = db.execute(
            "SELECT count(*) FROM markets WHERE platform NOT IN ('kalshi', 'polymarket') OR length(title) > ? "
            "OR length(description) > ? OR volume < 0 OR volume >= ? OR liquidity < 0 OR liquidity >= ? "
            "OR observed_at NOT BETWEEN ? AND ? AND observed_at != 0",
            (bounds.TITLE_MAX, bounds.TEXT_MAX, bounds.SIZE_MAX, bounds.SIZE_MAX, bounds.TIME_MIN, bounds.TIME_MAX),
        ).fetchone()[0]
        bad_snaps = db.execute(
            "SELECT count(*) FROM snapshot WHERE yes NOT BETWEEN 0 AND 1000000 OR bid NOT BETWEEN 0 AND 1000000 "
            "OR ask NOT BETWEEN 0 AND 1000000 OR volume < 0 OR volume >= ? OR liquidity < 0 OR liquidity >= ? "
            "OR t NOT BETWEEN ? AND ?", (bounds.SIZE_MAX, bounds.SIZE_MAX, bounds.TIME_MIN, bounds.TIME_MAX),
        ).fetchone()[0]
        bad_res = db.execute("SELECT count(*) FROM markets WHERE settlement_value < 0 OR settlement_value > 1"
                             ).fetchone()[0]
        stored = db.execute("SELECT count(*) FROM markets").fetchone()[0]
    finally:
        db.close()
    assert (bad_markets, bad_snaps, bad_res) == (0, 0, 0)
    assert "Traceback" not in p.output()
    assert stored > 100  # the honest sender's rows (and valid fuzz rows) did get in
    print(f"sink: {FUZZED['sink']} frames fuzzed; {p.output().count('rejected')} rejection log lines")


@st.composite
def scheduler_frames(draw) -> tuple[bytes, bytes]:
    identity = draw(st.binary(min_size=1, max_size=20).filter(lambda b: b[0] != 0))
    kind = draw(st.sampled_from(["hb", "done", "bytes", "other"]))
    if kind == "bytes":
        return identity, draw(st.binary(max_size=200))
    if kind == "hb":
        msg = {"type": "hb", "v": 1, "sender": draw(nasty_text), "platform": draw(nasty_text),
               "busy_job": draw(nasty_text)}
    elif kind == "done":
        report = {"type": "phase", **{k: GOOD[k] for k in FIELDS["phase"] if k in GOOD}, "platform": "polymarket"}
        for key in draw(st.lists(st.sampled_from(FIELDS["phase"]), max_size=3)):
            report[key] = draw(nasty_value)
        msg = {"type": "done", "v": 1, "report": report}
    else:
        msg = {"type": draw(st.sampled_from(["job", "ack", "batch"])), "v": 1}
    return identity, msgspec.msgpack.encode(msg)


@pytest.fixture(scope="module")
def scheduler_proc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzzsched")
    cfg, endpoint = scheduler_config(tmp, discover=5, snapshot=5, resolve=5, silent=2.0)
    p = Proc([script("scheduler"), "--config", str(cfg)], tmp / "scheduler.log")
    time.sleep(1.0)
    ctx = zmq.Context()
    yield p, endpoint, ctx
    p.stop()
    ctx.term()


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(scheduler_frames(), min_size=1, max_size=5))
def test_fuzzed_frames_never_stop_the_scheduler(scheduler_proc, frames):
    p, endpoint, ctx = scheduler_proc
    for identity, frame in frames:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, identity)
        s.setsockopt(zmq.LINGER, 200)
        s.connect(endpoint)
        s.send(frame)
        FUZZED["scheduler"] += 1
        s.close()
    time.sleep(0.05)
    assert p.p.poll() is None, p.output()


def test_the_fuzzed_scheduler_still_schedules(scheduler_proc):
    p, endpoint, ctx = scheduler_proc
    fetcher = FakeFetcher(ctx, endpoint, work=0.1)
    try:
        fetcher.pump(30.0, until=lambda f: len(f.jobs) >= 1)
    finally:
        fetcher.close()
    assert fetcher.jobs, p.output()
    assert p.p.poll() is None and "Traceback" not in p.output()
    print(f"scheduler: {FUZZED['scheduler']} frames fuzzed")
