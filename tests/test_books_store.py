"""Order books through the real sink: packed storage, the order_books view, exactly-once storage."""

from __future__ import annotations

import sys
import time

import pytest

from collector import wire
from tests.conftest import sink_dealer, start_sink, wait_for, write_config
from tests.sender_proc import expected_levels
from tests.test_sink import counter, dump, query, send_and_ack

T0 = 1_800_000_000


def kalshi_book(market_id, t=T0, **kw):
    return wire.OrderBook(platform="kalshi", market_id=market_id, t=t, observed_at=t + 12.345, **kw)


@pytest.mark.slow
def test_books_are_stored_once_and_read_back_level_by_level(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    db_path = tmp_path / "collector.db"
    records = [
        kalshi_book("K1", bid_px=[420000, 410000], bid_sz=[13, 10], ask_px=[440000], ask_sz=[17]),
        kalshi_book("K2"),  # found, empty
        kalshi_book("K3", found=False),  # no book at all
        wire.OrderBook(platform="polymarket", market_id="0xabc", t=T0, observed_at=T0 + 30.5,
                       bid_px=[455000], bid_sz=[2301173], ask_px=[457000, 999000], ask_sz=[2907, 1502656],
                       book_ms=(T0 + 30) * 1000 + 250, book_hash="ce3dda14fc6bf5365063365b319e1ba8a477fc2e"),
        wire.OrderBook(platform="polymarket", market_id="0xbad", t=T0, observed_at=T0 + 1.0,
                       bid_px=[2_000_000], bid_sz=[1]),  # price above 1: rejected, counted
    ]
    batch = wire.Batch(sender="t", seq=1, source="live", records=records)
    ack = send_and_ack(s, batch)
    assert (ack.stored, ack.rejected) == (4, 1) and "0xbad" in ack.reason  # the bad book alone is dropped
    first = dump(db_path)
    assert send_and_ack(s, batch).stored == 4  # replayed: acknowledged again, nothing changes
    assert dump(db_path) == first

    rows = query(db_path, "SELECT market_id, platform, snapshot_at, observed_at, outcome, side, level, price, size "
                          "FROM order_books ORDER BY platform, market_id, side DESC, level")
    assert rows == [
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "bid", 1, 0.42, 13),
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "bid", 2, 0.41, 10),
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "ask", 1, 0.44, 17),
        ("0xabc", "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "bid", 1, 0.455, 2301173),
        ("0xabc", "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "ask", 1, 0.457, 2907),
        ("0xabc", "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "ask", 2, 0.999, 1502656),
    ]
    # empty book and "no book" are told apart in the table; the platform's own stamp is kept
    assert query(db_path, "SELECT m.market_id, length(b.levels), b.book_ms, b.hash32 FROM book b "
                          "JOIN markets m ON m.id = b.market ORDER BY m.market_id") == [
        ("0xabc", 2 + 3 * (2 + 3), -250, 0xce3dda14), ("K1", 2 + 3 * 2, None, None), ("K2", 2, None, None),
        ("K3", None, None, None)]
    assert query(db_path, "SELECT platform, t, rows, found FROM book_cycles ORDER BY platform") == [
        ("kalshi", T0, 3, 2), ("polymarket", T0, 1, 1)]
    wait_for(lambda: counter(db_path, "records_rejected") == 2, what="records_rejected counter (one per delivery)")
    s.close()


@pytest.mark.slow
def test_sigkill_mid_stream_loses_and_doubles_no_book(procs, tmp_path):
    cfg = write_config(tmp_path, zmq={"ack_timeout_seconds": 1.0, "sink_wait_seconds": 60.0},
                       sink={"flush_interval_seconds": 0.2, "batch_max_records": 2000, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    n_markets, n_cycles = 400, 100
    sender = procs.start([sys.executable, "-m", "tests.sender_proc", str(cfg), "books", str(n_markets), str(n_cycles),
                          "--books"], tmp_path / "sender.log")
    db_path = tmp_path / "collector.db"
    wait_for(lambda: db_path.exists() and query(db_path, "SELECT count(*) FROM book")[0][0] > 0,
             interval=0.01, what="first commits")
    sink.kill()
    assert query(db_path, "SELECT count(*) FROM book")[0][0] < n_markets * n_cycles
    time.sleep(1.5)
    sink = start_sink(procs, tmp_path, cfg)
    assert sender.p.wait(120) == 0, sender.output()
    assert sink.stop() == 0
    total = query(db_path, "SELECT count(*) FROM book")[0][0]
    assert total == n_markets * n_cycles
    assert query(db_path, "SELECT sum(rows) FROM book_cycles")[0][0] == total
    rows = query(db_path, "SELECT market_id, snapshot_ts, side, level, price, size FROM order_books "
                          "WHERE market_id IN ('m-7', 'm-311')")
    got: dict = {}
    for market_id, t, side, level, price, size in rows:
        got.setdefault((market_id, t), []).append((side, level, round(price * 1e6), size))
    assert len(got) == 2 * n_cycles
    for (market_id, t), levels in got.items():
        i, c = int(market_id.split("-")[1]), (t - T0) // 900
        bid_px, bid_sz, ask_px, ask_sz = expected_levels(i, c)
        want = [("bid", n + 1, p, q) for n, (p, q) in enumerate(zip(bid_px, bid_sz))]
        want += [("ask", n + 1, p, q) for n, (p, q) in enumerate(zip(ask_px, ask_sz))]
        assert sorted(levels) == sorted(want)
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"
