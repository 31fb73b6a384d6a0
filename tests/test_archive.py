"""Archiving old snapshots to Parquet: the export is identical before and after, and a crash of the
archiver or the sink at each step loses nothing and counts nothing twice."""

from __future__ import annotations

import sqlite3
import sys
import time

import pyarrow.parquet as pq
import pytest

from tests.archive_rig import DAY, STEP, T0, archive, export
from tests.conftest import query, script, wait_for


def rows_in_both(tmp_path):
    db = tmp_path / "collector.db"
    hot = query(db, "SELECT count(*) FROM snapshot")[0][0]
    files = query(db, "SELECT file FROM archived_partitions")
    cold = sum(pq.read_metadata(tmp_path / "archive" / f).num_rows for (f,) in files)
    return hot, cold


@pytest.mark.slow
def test_export_is_identical_before_and_after_archiving(filled_sink, tmp_path):
    cfg, _, total = filled_sink
    before = export(cfg, tmp_path / "before")
    r = archive(cfg)
    assert r.returncode == 0, r.stderr
    assert "archived 10 partitions" in r.stdout  # days 0-4 of both platforms end before now - 4 days
    hot, cold = rows_in_both(tmp_path)
    assert (hot + cold, cold) == (total, 2 * 12 * 5 * DAY // STEP)
    after = export(cfg, tmp_path / "after")
    assert after == before
    # the archive is readable by another engine on its own, hive-partitioned
    import duckdb

    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/archive/price_snapshots/*/*/*.parquet',"
                   " hive_partitioning = true) WHERE platform = 'kalshi'").fetchone()[0]
    assert n == cold // 2
    assert (tmp_path / "archive" / "manifest.json").exists()
    assert (tmp_path / "archive" / "markets" / "markets.parquet").exists()
    # a second run has nothing left to move
    assert "archived 0 partitions" in archive(cfg).stdout


@pytest.mark.slow
def test_archiver_killed_after_writing_leaves_rows_in_sqlite(filled_sink, tmp_path):
    cfg, _, total = filled_sink
    before = export(cfg, tmp_path / "before")
    r = archive(cfg, {"COLLECTOR_FAILPOINT": "archiver:after_write"})
    assert r.returncode != 0
    assert rows_in_both(tmp_path) == (total, 0)  # the orphan file is not counted anywhere
    assert list((tmp_path / "archive").rglob("part-*.parquet"))  # ... though it exists
    assert export(cfg, tmp_path / "mid") == before
    assert archive(cfg).returncode == 0
    hot, cold = rows_in_both(tmp_path)
    assert hot + cold == total and cold > 0
    assert export(cfg, tmp_path / "after") == before


@pytest.mark.slow
def test_sink_killed_inside_the_delete_transaction(procs, filled_sink, tmp_path):
    cfg, sink, total = filled_sink
    before = export(cfg, tmp_path / "before")
    sink.stop()
    crashing = procs.start([script("sink"), "--config", str(cfg)], tmp_path / "sink2.log",
                           env={"COLLECTOR_FAILPOINT": "sink:archive_delete"})
    job = procs.start([sys.executable, "-m", "exporter.archive", str(cfg)], tmp_path / "archive.log")
    assert crashing.p.wait(60) == 137  # died with the DELETE done but not committed
    assert rows_in_both(tmp_path) == (total, 0)
    procs.start([script("sink"), "--config", str(cfg)], tmp_path / "sink3.log")  # supervisord would restart it
    assert job.p.wait(120) == 0, job.output()
    hot, cold = rows_in_both(tmp_path)
    assert hot + cold == total and cold > 0
    assert query(tmp_path / "collector.db", "PRAGMA integrity_check")[0][0] == "ok"
    assert export(cfg, tmp_path / "after") == before


@pytest.mark.slow
def test_scheduler_runs_the_archive_once_a_day(procs, filled_sink, tmp_path):
    cfg, _, total = filled_sink
    cfg.write_text(cfg.read_text() + "\n[scheduler]\narchive_enabled = true\n")  # no fetchers: jobs just wait
    procs.start([script("scheduler"), "--config", str(cfg)], tmp_path / "scheduler.log")
    db = tmp_path / "collector.db"
    wait_for(lambda: query(db, "SELECT count(*) FROM phase_runs WHERE phase = 'archive' AND ok = 1")[0][0] == 1,
             timeout=60, what="the scheduler's archive run")
    hot, cold = rows_in_both(tmp_path)
    assert hot + cold == total and cold > 0
    time.sleep(5)  # several scheduler ticks later: still one run for today
    assert query(db, "SELECT count(*) FROM phase_runs WHERE phase = 'archive'")[0][0] == 1


def test_a_platform_string_never_becomes_a_path(filled_sink, tmp_path):
    """A tampered or old database naming platform 'x/../../../escape' cannot make the archiver write outside."""
    cfg, _, _ = filled_sink
    evil = "x/../../../escape"
    db = sqlite3.connect(tmp_path / "collector.db", isolation_level=None, timeout=30)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO markets (platform, market_id, status, first_seen_at, observed_at) "
               "VALUES (?, 'm', 'active', 0, 0)", (evil,))
    market = db.execute("SELECT id FROM markets WHERE platform = ?", (evil,)).fetchone()[0]
    db.execute("INSERT INTO snapshot (t, market, yes) VALUES (?, ?, 500000)", (T0 + 60, market))
    db.execute("INSERT INTO snapshot_cycles (platform, source, t, rows) VALUES (?, 'live', ?, 1)", (evil, T0 + 60))
    db.execute("COMMIT")
    db.close()
    r = archive(cfg)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "escape").exists()
    assert all(tmp_path / "archive" in p.parents for p in (tmp_path / "archive").rglob("*"))
    assert "unknown platform" in r.stderr + r.stdout
    hot, cold = rows_in_both(tmp_path)
    assert cold > 0
