"""`collector status` on a collector.db with known contents, through the real console script.

The database is built the way the sink builds it (sink.schema.connect_writer + migrate) and
filled with plain INSERTs; the config pins the simulated clock so "now" is known.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from sink import schema
from tests.conftest import iso
from tests.status_rig import NOW, SLOT, STEP, collector, status_config

pytestmark = pytest.mark.timeout(60)


def build_db(tmp: Path) -> None:
    db = schema.connect_writer(str(tmp / "collector.db"))
    schema.migrate(db)
    past, future = iso(NOW - 86400), iso(NOW + 86400)
    markets = [  # (platform, market_id, status, end_date)
        ("polymarket", "p1", "active", future), ("polymarket", "p2", "active", future),
        ("polymarket", "p3", "active", past), ("polymarket", "p4", "closed", past),
        ("polymarket", "p5", "resolved", past), ("polymarket", "p6", "resolved", past),
        ("polymarket", "p7", "voided", past), ("polymarket", "p8", "closed", iso(NOW - 10 * 86400)),
        ("kalshi", "k1", "active", future), ("kalshi", "k2", "active", None), ("kalshi", "k3", "resolved", past),
    ]
    db.executemany("INSERT INTO markets (platform, market_id, status, end_date, first_seen_at, observed_at) "
                   "VALUES (?,?,?,?,0,0)", markets)
    cycles = [("polymarket", SLOT - k * STEP, "live", 100) for k in range(1, 11) if k not in (3, 7)]
    cycles += [("polymarket", SLOT, "live", 40),  # the cycle in progress: never a gap
               ("polymarket", SLOT - 500 * STEP, "backfill", 50), ("polymarket", SLOT - 501 * STEP, "backfill", 50),
               ("kalshi", SLOT - 200 * STEP, "live", 7), ("kalshi", SLOT - 2 * STEP, "live", 10),
               ("kalshi", SLOT - STEP, "live", 10)]
    db.executemany("INSERT INTO snapshot_cycles (platform, t, source, rows) VALUES (?,?,?,?)", cycles)
    # A few real rows: status must not count them (the cycles table is the counter).
    db.executemany("INSERT INTO snapshot (t, market, yes) VALUES (?,?,?)", [(SLOT, m, 500000) for m in range(1, 6)])
    runs = [  # job_id, platform, phase, grid_time, started_at, finished_at, ok, req, retries, records, skipped, errors, msg
        ("a", "polymarket", "snapshot", SLOT - STEP, NOW - STEP, NOW - STEP + 30, 1, 10, 0, 100, 0, 0, ""),
        ("b", "polymarket", "snapshot", SLOT, NOW - 400, NOW - 388.5, 0, 12, 4, 40, 1, 3, "boom"),
        ("c", "polymarket", "discover", None, NOW - 30 * 3600, NOW - 30 * 3600 + 60, 1, 5, 0, 7, 0, 0, ""),
        ("d", "kalshi", "resolve", None, NOW - 100, NOW - 90, 1, 2, 0, 1, 0, 0, ""),
        ("e", "kalshi", "backfill", None, NOW - 9000, NOW - 8000, 0, 9, 0, 0, 0, 1, "crashed"),  # one-off: no verdict
    ]
    db.executemany("INSERT INTO phase_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
    db.executemany("INSERT INTO sink_counters VALUES (?,?)",
                   [("disk_guard_active", 1), ("snapshots_dropped_disk", 42), ("frames_rejected_garbage", 3)])
    db.execute("INSERT INTO meta VALUES ('source', 'live')")
    # A backfill stores its points per market here, not in snapshot_cycles (issue 14: status said 0).
    db.execute("INSERT INTO backfill_markets VALUES ('polymarket', 'p5', 81715, 60, 0)")
    db.execute("INSERT INTO archived_partitions VALUES ('kalshi', '2026-01-01', 'f.parquet', 0, 1, 500, 5, 'x', 0)")
    db.close()


@pytest.fixture
def known_db(tmp_path):
    build_db(tmp_path)
    return status_config(tmp_path)


def test_status_json_on_known_contents(known_db, tmp_path):
    st = json.loads(collector("--config", str(known_db), "status", "--json", code=2).stdout)
    # The clock started at NOW when the config was written and has run since (seconds under load).
    ran = time.time() - known_db.stat().st_mtime
    assert st["version"] == 1
    assert st["database"]["exists"] and st["database"]["source"] == "live"
    assert st["database"]["size_bytes"] == ((tmp_path / "collector.db").stat().st_size
                                            + st["database"]["wal_bytes"])
    assert st["database"]["free_disk_bytes"] > 0

    pm, ks = st["markets"]["polymarket"], st["markets"]["kalshi"]
    assert pm == {"total": 8, "by_status": {"active": 3, "closed": 2, "resolved": 2, "voided": 1},
                  "pending_past_end_date": 3}
    pending = st["closed_pending"]["polymarket"]
    assert (pending["count"], pending["stuck"]) == (2, 1)
    assert 10 * 86400 <= pending["oldest_age_seconds"] <= 10 * 86400 + ran + 1
    assert ks["total"] == 3 and ks["by_status"]["resolved"] == 1 and ks["pending_past_end_date"] == 0

    snaps = st["snapshots"]
    assert snaps["by_platform"]["polymarket"]["total"] == 8 * 100 + 40
    assert snaps["by_platform"]["polymarket"]["backfill_total"] == 100 + 81715
    assert snaps["by_platform"]["kalshi"] == {"total": 27, "last_24h": 20, "backfill_total": 0, "cycles": 3,
                                              "first_cycle": iso(SLOT - 200 * STEP), "last_cycle": iso(SLOT - STEP)}
    assert (snaps["total"], snaps["last_24h"], snaps["backfill_total"]) == (867, 860, 100 + 81715)

    gaps = st["gaps"]["polymarket"]
    assert (gaps["expected"], gaps["present"], gaps["missing"], gaps["missing_24h"]) == (10, 8, 2, 2)
    assert gaps["recent_missing"] == [iso(SLOT - 3 * STEP), iso(SLOT - 7 * STEP)]
    assert gaps["interval_seconds"] == STEP
    assert (st["gaps"]["kalshi"]["expected"], st["gaps"]["kalshi"]["missing"]) == (200, 197)
    assert len(st["gaps"]["kalshi"]["recent_missing"]) == 10
    assert st["gaps"]["kalshi"]["missing_24h"] == 96 - 2  # 96 slots due in 24 h, two present

    snap = st["phases"]["polymarket"]["snapshot"]
    assert snap["last"]["job_id"] == "b" and snap["last"]["ok"] is False
    assert snap["last"]["duration_seconds"] == 11.5
    assert (snap["last"]["errors"], snap["last"]["retries"], snap["last"]["message"]) == (3, 4, "boom")
    assert snap["last"]["grid_time"] == iso(SLOT)
    assert (snap["runs_24h"], snap["failed_24h"]) == (2, 1)
    assert st["phases"]["polymarket"]["discover"]["runs_24h"] == 0  # its last run was 30 h ago
    assert st["phases"]["kalshi"]["resolve"]["last"]["grid_time"] is None

    assert st["disk_guard"] == {"active": True, "snapshots_dropped": 42, "min_free_disk_mb": 1024.0}
    assert st["sink_counters"]["frames_rejected_garbage"] == 3
    assert st["supervisor"]["running"] is False and st["supervisor"]["programs"] == {}
    assert st["archive"] == {"partitions": 1, "rows": 500, "newest_day": "2026-01-01"}
    assert st["backfill"] == {"markets_done": 1, "points": 81715}

    v = st["verdict"]
    assert (v["state"], v["exit_code"]) == ("DOWN", 2)
    whats = [p["what"] for p in v["problems"]]
    assert whats[0].startswith("supervisord not running") and v["problems"][0]["severity"] == "DOWN"
    assert "polymarket snapshot failing (1 of 2 runs in 24h): boom" in whats
    assert "polymarket discover has not run since " + iso(NOW - 30 * 3600 + 60) + " (due every 300 s)" in whats
    assert f"polymarket: 2 snapshot cycles missing in the last 24h (newest {iso(SLOT - 3 * STEP)})" in whats
    assert "kalshi: 94 snapshot cycles missing in the last 24h" in " ".join(whats)
    assert any(w.startswith("disk guard on: snapshots are not stored (42 dropped") for w in whats)
    assert "polymarket: 1 markets closed but not final more than 7 days after trading stopped" in whats
    assert len(whats) == 7 and all(p["fix"] for p in v["problems"])
    assert v["line"] == "DOWN: " + "; ".join(whats)


def test_status_table_says_what_matters(known_db):
    out = collector("--config", str(known_db), "status", code=2).stdout
    assert out.splitlines()[0].startswith("DOWN: supervisord not running")
    assert "    fix: start it: collector run" in out
    assert "DISK GUARD ON" in out
    assert re.search(r"^polymarket +840 +\d+ +81815 ", out, re.M), out  # backfilled points shown
    assert "polymarket snapshot" in out and "FAILED boom" in out
    assert "supervisord not running" in out
    assert f"polymarket missing cycles (newest first): {iso(SLOT - 3 * STEP)}" in out


def test_every_phase_failing_is_down_with_the_whole_error(tmp_path):
    """`make run` without internet: programs RUNNING, every phase failing. Status says why, untruncated."""
    cfg = status_config(tmp_path)
    db = schema.connect_writer(str(tmp_path / "collector.db"))
    schema.migrate(db)
    error = ("RetryBudgetExhausted: GET https://api.elections.kalshi.com/trade-api/v2/markets?status=open"
             "&limit=1000: ConnectionError: Failed to resolve 'api.elections.kalshi.com' (Name or service not known)")
    db.executemany("INSERT INTO phase_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
        (f"j{i}", "kalshi", phase, None, NOW - 60 - i, NOW - 50 - i, 0, 5, 5, 0, 0, 1, error)
        for i, phase in enumerate(("discover", "snapshot", "resolve"))])
    db.close()
    proc = collector("--config", str(cfg), "status", code=2)
    first = proc.stdout.splitlines()[0]
    assert first.startswith("DOWN: supervisord not running")
    assert "every scheduled phase is failing: nothing is being collected" in first
    assert f"kalshi snapshot failing (1 of 1 runs in 24h): {error}" in first  # whole, not cut at 60 chars
    assert f"FAILED {error}" in proc.stdout  # the phase table's note too


def test_status_before_the_sink_created_the_database(tmp_path):
    cfg = status_config(tmp_path)
    st = json.loads(collector("status", "--json", "--config", str(cfg), code=2).stdout)
    assert st["database"]["exists"] is False and st["markets"] == {} and st["phases"] == {}


def test_status_refuses_a_database_that_is_not_ours(tmp_path):
    cfg = status_config(tmp_path)
    (tmp_path / "collector.db").write_bytes(b"this is not sqlite at all" * 100)
    proc = collector("--config", str(cfg), "status", check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: ")


def test_bad_config_is_an_error_naming_the_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[general]\nno_such_key = 1\n")
    proc = collector("--config", str(cfg), "status", check=False)
    assert proc.returncode == 2
    assert "Error:" in proc.stderr and "no_such_key" in proc.stderr


@pytest.mark.parametrize("command", [[], ["status"], ["run"], ["ctl"], ["backfill"]])
def test_help_has_an_example(command):
    out = collector(*command, "--help").stdout
    assert "Example:" in out and "--config" in out


@pytest.mark.slow
def test_export_help_is_the_exporters():
    out = collector("export", "--help").stdout
    assert "collector export" in out and "--prompts" in out
