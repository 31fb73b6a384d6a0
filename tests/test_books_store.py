"""Order books through the real sink: packed storage, the order_books view, exactly-once storage."""

from __future__ import annotations

import sys
import time

import pytest

from collector import wire
from tests.conftest import counter, dump, pm_id, query, send_and_ack, sink_dealer, start_sink, wait_for, write_config
from tests.sender_proc import expected_levels

T0 = 1_800_000_000
PM_A, PM_BAD, PM_P = pm_id(0xabc), pm_id(0xbad), pm_id(0xb00c)  # Polymarket condition ids


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
        wire.OrderBook(platform="polymarket", market_id=PM_A, t=T0, observed_at=T0 + 30.5,
                       bid_px=[455000], bid_sz=[2301173], ask_px=[457000, 999000], ask_sz=[2907, 1502656],
                       book_ms=(T0 + 30) * 1000 + 250, book_hash="ce3dda14fc6bf5365063365b319e1ba8a477fc2e"),
        wire.OrderBook(platform="polymarket", market_id=PM_BAD, t=T0, observed_at=T0 + 1.0,
                       bid_px=[2_000_000], bid_sz=[1]),  # price above 1: rejected, counted
    ]
    batch = wire.Batch(sender="t", seq=1, source="live", records=records)
    ack = send_and_ack(s, batch)
    assert (ack.stored, ack.rejected) == (4, 1) and PM_BAD in ack.reason  # the bad book alone is dropped
    first = dump(db_path)
    assert send_and_ack(s, batch).stored == 4  # replayed: acknowledged again, nothing changes
    assert dump(db_path) == first

    rows = query(db_path, "SELECT market_id, platform, snapshot_at, observed_at, outcome, side, level, price, size "
                          "FROM order_books ORDER BY platform, market_id, side DESC, level")
    assert rows == [
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "bid", 1, 0.42, 13),
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "bid", 2, 0.41, 10),
        ("K1", "kalshi", "2027-01-15T08:00:00Z", "2027-01-15T08:00:12.345Z", "YES", "ask", 1, 0.44, 17),
        (PM_A, "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "bid", 1, 0.455, 2301173),
        (PM_A, "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "ask", 1, 0.457, 2907),
        (PM_A, "polymarket", "2027-01-15T08:00:00Z", "2027-01-15T08:00:30.500Z", "YES", "ask", 2, 0.999, 1502656),
    ]
    # empty book and "no book" are told apart in the table; the platform's own stamp is kept
    assert query(db_path, "SELECT m.market_id, length(b.levels), b.book_ms, b.hash32 FROM book b "
                          "JOIN markets m ON m.id = b.market ORDER BY m.market_id") == [
        (PM_A, 2 + 3 * (2 + 3), -250, 0xce3dda14), ("K1", 2 + 3 * 2, None, None), ("K2", 2, None, None),
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
                          "WHERE market_id IN ('M-7', 'M-311')")
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
    # the odd markets' books sat still: stored as references, each to a row of the same day with levels
    assert query(db_path, "SELECT count(*) FROM book WHERE same_as IS NOT NULL")[0][0] > n_markets * n_cycles // 3
    assert query(db_path, "SELECT count(*) FROM book b LEFT JOIN book r ON r.t = b.t - b.same_as "
                          "AND r.market = b.market AND r.outcome = b.outcome WHERE b.same_as IS NOT NULL "
                          "AND (r.levels IS NULL OR r.t / 86400 != b.t / 86400)")[0][0] == 0
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"


MIDNIGHT = T0 - T0 % 86400 + 86400
BOOK_A = dict(bid_px=[455000, 454000], bid_sz=[2301173, 12], ask_px=[457000], ask_sz=[2907])
BOOK_B = dict(bid_px=[455000, 454000], bid_sz=[2301174, 12], ask_px=[457000], ask_sz=[2907])  # one share more


def poly_book(t, levels, k):
    return wire.OrderBook(platform="polymarket", market_id=PM_P, t=t, observed_at=t + 30.5 + k / 1000,
                          book_ms=(t + 30) * 1000 + k, book_hash=f"{k:08x}" + "0" * 32, **levels)


def test_unchanged_books_point_at_the_stored_levels_and_read_back_every_cycle(procs, tmp_path):
    """An unchanged book is a row without levels naming the row that has them (same_as), never
    across a UTC midnight; each cycle keeps its own observation time, and the view reads the same."""
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    sink = start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    db_path = tmp_path / "collector.db"
    plan = [(MIDNIGHT - 1800, BOOK_A), (MIDNIGHT - 900, BOOK_A), (MIDNIGHT, BOOK_A), (MIDNIGHT + 900, BOOK_B),
            (MIDNIGHT + 1800, BOOK_B), (MIDNIGHT + 2700, BOOK_B), (MIDNIGHT + 3600, BOOK_A)]
    batches = [wire.Batch(sender="t", seq=k + 1, source="live", records=[poly_book(t, levels, k)])
               for k, (t, levels) in enumerate(plan)]
    for batch in batches[:5]:  # one batch per cycle, as a fetcher sends them
        assert send_and_ack(s, batch).stored == 1
    s.close()
    assert sink.stop() == 0
    start_sink(procs, tmp_path, cfg)  # a restarted sink finds the levels through the previous cycle
    s = sink_dealer(tmp_path)
    for batch in batches[5:]:
        assert send_and_ack(s, batch).stored == 1
    table = query(db_path, "SELECT t, length(levels), same_as, book_ms, hash32 FROM book ORDER BY t")
    full = 2 + 3 * (2 + 3)  # 3 levels, 2-byte prices (x 1000), 3-byte sizes
    assert table == [
        (MIDNIGHT - 1800, full, None, -500, 0), (MIDNIGHT - 900, None, 900, -500, None),
        (MIDNIGHT, full, None, -500, 2),  # a new UTC day starts with its own levels: days archive alone
        (MIDNIGHT + 900, full, None, -500, 3), (MIDNIGHT + 1800, None, 900, -500, None),
        (MIDNIGHT + 2700, None, 1800, -500, None), (MIDNIGHT + 3600, full, None, -500, 6)]
    rows = query(db_path, "SELECT snapshot_ts, observed_at, side, level, price, size FROM order_books "
                          "ORDER BY snapshot_ts, side DESC, level")
    want = []
    for k, (t, levels) in enumerate(plan):
        observed = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 30)) + f".{500 + k:03d}Z"
        want += [(t, observed, "bid", n + 1, p / 1e6, q) for n, (p, q) in enumerate(zip(levels["bid_px"],
                                                                                        levels["bid_sz"]))]
        want += [(t, observed, "ask", n + 1, p / 1e6, q) for n, (p, q) in enumerate(zip(levels["ask_px"],
                                                                                        levels["ask_sz"]))]
    assert rows == want
    assert query(db_path, "SELECT sum(rows), sum(found) FROM book_cycles") == [(7, 7)]
    first = dump(db_path)
    for batch in batches:  # everything re-sent: acknowledged, nothing changes
        assert send_and_ack(s, batch).stored == 1
    assert dump(db_path) == first
    s.close()


def _database_at_version_6(path) -> None:
    """A database as the sink left it before migration 007, holding one stored book."""
    import sqlite3

    from collector import books
    from sink import schema

    db = sqlite3.connect(path, isolation_level=None)
    for version, (_name, sql) in enumerate(schema.MIGRATIONS[:6], start=1):
        db.executescript(f"BEGIN;\n{sql}\nPRAGMA application_id = {schema.APPLICATION_ID};\n"
                         f"PRAGMA user_version = {version};\nCOMMIT;")
    db.execute("INSERT INTO markets (id, platform, market_id, first_seen_at, observed_at) "
               "VALUES (1, 'polymarket', ?, 0, 0)", (PM_P,))
    db.execute("INSERT INTO book VALUES (?, 1, 0, 30500, ?, -500, 0)",
               (MIDNIGHT, books.pack(BOOK_A["bid_px"], BOOK_A["bid_sz"], BOOK_A["ask_px"], BOOK_A["ask_sz"])))
    db.execute("INSERT INTO book_cycles VALUES ('polymarket', ?, 1, 1)", (MIDNIGHT,))
    db.close()


def test_a_database_from_before_same_as_migrates_and_keeps_its_books(procs, tmp_path):
    db_path = tmp_path / "collector.db"
    _database_at_version_6(db_path)
    before = query(db_path, "SELECT * FROM order_books")
    assert len(before) == 3
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    start_sink(procs, tmp_path, cfg)
    assert query(db_path, "PRAGMA user_version")[0][0] >= 7
    assert query(db_path, "SELECT * FROM order_books") == before
    s = sink_dealer(tmp_path)
    assert send_and_ack(s, wire.Batch(sender="t", seq=1, source="live",
                                      records=[poly_book(MIDNIGHT + 900, BOOK_A, 1)])).stored == 1
    assert query(db_path, "SELECT t, same_as FROM book ORDER BY t") == [(MIDNIGHT, None), (MIDNIGHT + 900, 900)]
    assert query(db_path, "SELECT snapshot_ts, level, price, size FROM order_books WHERE side = 'bid' "
                          "ORDER BY 1, 2") == [(MIDNIGHT, 1, 0.455, 2301173), (MIDNIGHT, 2, 0.454, 12),
                                               (MIDNIGHT + 900, 1, 0.455, 2301173), (MIDNIGHT + 900, 2, 0.454, 12)]
    s.close()


def test_status_coverage_counts_unchanged_books_as_books():
    """`collector status`'s hour coverage: a market whose book sat still (a same_as row) has a book."""
    import sqlite3

    from collector import book_status
    from sink import schema

    db = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(db)
    db.execute("INSERT INTO markets (id, platform, market_id, first_seen_at, observed_at) VALUES "
               "(1, 'kalshi', 'K1', 0, 0), (2, 'kalshi', 'K2', 0, 0)")
    t = MIDNIGHT + 4 * 3600
    db.execute("INSERT INTO book (t, market, outcome, seen_ms, levels) VALUES (?, 1, 0, 5000, X'10802A0B')",
               (t - 7200,))  # K1's levels, two hours back
    db.execute("INSERT INTO book (t, market, outcome, seen_ms, same_as) VALUES (?, 1, 0, 5000, 7200)", (t,))
    db.execute("INSERT INTO book (t, market, outcome, seen_ms) VALUES (?, 2, 0, 5000)", (t,))  # K2: no book
    db.execute("INSERT INTO book_cycles VALUES ('kalshi', ?, 2, 1)", (t,))
    assert book_status.coverage(db)["kalshi"]["hour_markets"] == 1
    assert db.execute("SELECT market_id, level, price, size FROM order_books WHERE snapshot_ts = ?", (t,)).fetchall() \
        == [("K1", 1, 0.42, 11)]
