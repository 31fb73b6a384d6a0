"""Archiving old snapshots to Parquet: the export is identical before and after, and a crash of the
archiver or the sink at each step loses nothing and counts nothing twice."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from collector import config, wire
from collector.sink_client import Publisher
from tests.conftest import kx_id, pm_id, script, wait_for, write_config

DAY = 86400
T0 = 1_790_000_000 - 1_790_000_000 % DAY  # a UTC midnight
DAYS = 6
STEP = 3600  # hourly snapshots keep the test small


def make_config(tmp_path):
    """Sink, exporter and archiver share this config; the clock stands 20 days after the data."""
    return write_config(
        tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1},
        zmq={"ack_timeout_seconds": 1.0, "sink_wait_seconds": 60.0},
        clock={"speed": 1.0, "real_origin": time.time(), "sim_origin": float(T0 + (DAYS + 3) * DAY)},
        archive={"retention_days": 4.0},
        export={"output_dir": str(tmp_path / "exports")},
    )


def fill(cfg_path):
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, "fill", "live", cfg)
    for platform in ("polymarket", "kalshi"):
        for i in range(12):
            mid = pm_id(i) if platform == "polymarket" else kx_id(i)
            pub.publish(wire.MarketUpsert(platform=platform, market_id=mid, observed_at=T0 + 1.0, title=f"Will {mid} happen?",
                                          outcomes=["Yes", "No"], created_at="2026-09-01T00:00:00Z"))
            pub.publish(wire.Resolution(platform=platform, market_id=mid, observed_at=T0 + 2.0, status="resolved",
                                        resolution="YES" if i % 3 else "NO", winning_outcome="Yes" if i % 3 else "No",
                                        resolved_at=_iso(T0 + DAYS * DAY + i), closed_at=_iso(T0 + DAYS * DAY)))
            for t in range(T0, T0 + DAYS * DAY, STEP):
                p = ((t // STEP) * 7 + i * 13) % 997 / 1000
                pub.publish(wire.PriceSnapshot(platform, mid, t, p, max(0, p - 0.01), min(1, p + 0.01), 100 + i, 5.0))
    pub.flush_and_wait(60)
    pub.close()
    return 2 * 12 * DAYS * DAY // STEP


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def q(db, sql):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def export(cfg_path, out):
    r = subprocess.run([script("exporter"), "--config", str(cfg_path), "--out", str(out), "--prompts",
                        "--no-wwatcher", "--quiet"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return {name: (out / name).read_bytes() for name in ("markets.parquet", "prompts.jsonl")}


def archive(cfg_path, env=None):
    return subprocess.run([script("collector"), "--config", str(cfg_path), "archive"], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def rows_in_both(tmp_path):
    db = tmp_path / "collector.db"
    hot = q(db, "SELECT count(*) FROM snapshot")[0][0]
    files = q(db, "SELECT file FROM archived_partitions")
    cold = sum(pq.read_metadata(tmp_path / "archive" / f).num_rows for (f,) in files)
    return hot, cold


@pytest.fixture
def filled(procs, tmp_path):
    cfg = make_config(tmp_path)
    sink = procs.start([script("sink"), "--config", str(cfg)], tmp_path / "sink.log")
    wait_for(lambda: (tmp_path / "sink.ipc").exists(), what="sink socket")
    total = fill(cfg)
    return cfg, sink, total


@pytest.mark.slow
def test_export_is_identical_before_and_after_archiving(filled, tmp_path):
    cfg, _, total = filled
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
def test_archiver_killed_after_writing_leaves_rows_in_sqlite(filled, tmp_path):
    cfg, _, total = filled
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
def test_sink_killed_inside_the_delete_transaction(procs, filled, tmp_path):
    cfg, sink, total = filled
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
    assert q(tmp_path / "collector.db", "PRAGMA integrity_check")[0][0] == "ok"
    assert export(cfg, tmp_path / "after") == before


@pytest.mark.slow
def test_scheduler_runs_the_archive_once_a_day(procs, filled, tmp_path):
    cfg, _, total = filled
    cfg.write_text(cfg.read_text() + "\n[scheduler]\narchive_enabled = true\n")  # no fetchers: jobs just wait
    procs.start([script("scheduler"), "--config", str(cfg)], tmp_path / "scheduler.log")
    db = tmp_path / "collector.db"
    wait_for(lambda: q(db, "SELECT count(*) FROM phase_runs WHERE phase = 'archive' AND ok = 1")[0][0] == 1,
             timeout=60, what="the scheduler's archive run")
    hot, cold = rows_in_both(tmp_path)
    assert hot + cold == total and cold > 0
    time.sleep(5)  # several scheduler ticks later: still one run for today
    assert q(db, "SELECT count(*) FROM phase_runs WHERE phase = 'archive'")[0][0] == 1


def test_a_platform_string_never_becomes_a_path(filled, tmp_path):
    """A tampered or old database naming platform 'x/../../../escape' cannot make the archiver write outside."""
    cfg, _, _ = filled
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
