"""`make scale` at a toy size, so its machinery cannot rot: bench/bench_scale.py runs the real
pipeline under supervisord against a small world for one fast cycle and writes both reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_scale_bench_writes_its_report_from_a_real_run(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, str(REPO / "bench" / "bench_scale.py"), "--open-polymarket", "200",
           "--closed-polymarket", "600", "--open-kalshi", "300", "--closed-kalshi", "900",
           "--speed", "60", "--cycles", "1", "--work", str(tmp_path / "work")]
    r = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "scale.json").read_text())
    rows = {c["platform"]: c for c in doc["cycles"]}
    assert set(rows) == {"polymarket", "kalshi"}
    for c in rows.values():
        assert c["open_markets"] > 100
        assert c["coverage"] == 1.0, c              # every market open for the whole slot has its row
        assert c["requests"]["snapshot"] >= 1 and c["wall_s"]["snapshot"] < 900
        assert c["cpu_s"] is not None and c["sink_cpu_s"] is not None
        # order books (issue 19): at this size everything fits, so every trading open market has one
        assert c["book_coverage"] == 1.0 and c["book_rows"] >= c["books_found"] >= c["book_markets_open"] > 100, c
        assert c["book_plan"]["planned_share"] == 1.0 and c["book_plan"]["planned_requests"] >= 1, c
        assert c["book_requests"] >= c["book_plan"]["planned_requests"], c  # counted by the simulator
    s = doc["summary"]
    assert s["peak_rss_mb"]["sink"] > 0 and s["peak_rss_mb"]["simulator"] > 0
    assert s["archive"]["rows"] >= sum(c["snapshotted"] for c in rows.values())
    assert s["db_bytes_per_day"] > 0
    b = s["book_storage"]
    assert b["rows"] >= sum(c["book_rows"] for c in rows.values()) and b["archive_rows"] == b["rows"]
    assert b["sqlite_bytes_per_row"] > 0 and b["archive_bytes_per_row"] > 0
    assert s["books"]["polymarket"]["coverage_min"] == 1.0 and s["machine"]["load_avg_mean"] > 0
    md = (out / "SCALE.md").read_text()
    assert "| polymarket | 2026-11-01T" in md and "Archive:" in md
    assert "Order books per cycle" in md and "Order-book storage:" in md
    # the report rebuilt from the finished run's files (after a fix to the report code) is the same
    r = subprocess.run([*cmd, "--out", str(tmp_path / "again"), "--report-again"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    again = json.loads((tmp_path / "again" / "scale.json").read_text())
    assert again["cycles"] == doc["cycles"] and again["summary"]["peak_rss_mb"] == s["peak_rss_mb"]
