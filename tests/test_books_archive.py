"""Order books move to the Parquet archive with the snapshots: nothing lost, nothing counted twice."""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from collector import config, wire
from collector.sink_client import Publisher
from tests.archive_rig import DAY, DAYS, STEP, T0, make_config
from tests.conftest import query, script, start_sink
from tests.sender_proc import expected_levels

MARKETS = 20


def fill_books(cfg_path) -> int:
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, "books", "live", cfg)
    n = 0
    for i in range(MARKETS):
        for c, t in enumerate(range(T0, T0 + DAYS * DAY, STEP)):
            if i == 0 and c % 5 == 0:  # some cycles without a book
                pub.publish(wire.OrderBook(platform="kalshi", market_id=f"K-{i}", t=t, observed_at=t + 7.5,
                                           found=False))
            else:
                bid_px, bid_sz, ask_px, ask_sz = expected_levels(i, c)
                pub.publish(wire.OrderBook(platform="kalshi", market_id=f"K-{i}", t=t, observed_at=t + 7.5,
                                           bid_px=bid_px, bid_sz=bid_sz, ask_px=ask_px, ask_sz=ask_sz))
            n += 1
    pub.flush_and_wait(60)
    pub.close()
    return n


@pytest.mark.slow
def test_old_books_move_to_hive_partitioned_parquet(procs, tmp_path):
    cfg = make_config(tmp_path)
    start_sink(procs, tmp_path, cfg)
    total = fill_books(cfg)
    db = tmp_path / "collector.db"
    before = query(db, "SELECT market_id, snapshot_ts, side, level, price, size FROM order_books ORDER BY 1, 2, 3, 4")
    assert query(db, "SELECT count(*) FROM book WHERE same_as IS NOT NULL")[0][0] > 0  # odd markets' books sit still
    r = subprocess.run([script("collector"), "--config", str(cfg), "archive"], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    assert f"order books in {DAYS - 1} partitions" in r.stdout, r.stdout  # days 0-4 end before now - 4 days
    hot = query(db, "SELECT count(*) FROM book")[0][0]
    files = query(db, "SELECT file, rows FROM archived_book_partitions ORDER BY file")
    assert len(files) == DAYS - 1 and all(f.startswith("order_books/platform=kalshi/date=") for f, _ in files)
    assert hot + sum(n for _, n in files) == total  # every book in exactly one store
    glob = f"{tmp_path}/archive/order_books/*/*/*.parquet"
    cold = duckdb.sql(f"SELECT count(*), count(*) FILTER (WHERE NOT found) FROM read_parquet('{glob}', "
                      "hive_partitioning=true, union_by_name=true)").fetchone()
    assert cold[0] == total - hot and cold[1] > 0
    # the archived levels are the levels that were stored
    rows = duckdb.sql(f"SELECT market_id, epoch(t)::BIGINT, bid_px_1, bid_sz_1, ask_px_5, ask_sz_5 FROM "
                      f"read_parquet('{glob}', hive_partitioning=true) WHERE found").fetchall()
    for market_id, t, bid_px, bid_sz, ask_px, ask_sz in rows:
        want = expected_levels(int(market_id.split("-")[1]), (t - T0) // STEP)
        assert (bid_px, bid_sz, ask_px, ask_sz) == (want[0][0], want[1][0], want[2][4], want[3][4])
    # unchanged books carry their levels in the file (each file reads alone) and say so in same_as
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}') WHERE same_as IS NOT NULL AND bid_px_1 IS NULL"
                      ).fetchone()[0] == 0
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}') WHERE same_as IS NOT NULL").fetchone()[0] > 0
    assert query(db, "SELECT count(*) FROM book b LEFT JOIN book r ON r.t = b.t - b.same_as AND r.market = b.market "
                 "WHERE b.same_as IS NOT NULL AND r.levels IS NULL")[0][0] == 0  # none left dangling in SQLite
    archived_level_rows = sum(1 for row in before if row[1] < T0 + (DAYS - 1) * DAY)
    assert len(query(db, "SELECT * FROM order_books")) == len(before) - archived_level_rows
    again = subprocess.run([script("collector"), "--config", str(cfg), "archive"], capture_output=True, text=True,
                           timeout=180)
    assert again.returncode == 0 and "order books" not in again.stdout  # nothing left to move
