"""Issue 14's CLI conventions, as a user meets them: UTC log times with a Z, each summary printed
once (a sentence for people, --json for machines), and an empty export that says what to run."""

from __future__ import annotations

import calendar
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from sink import schema
from tests.conftest import script, start_sink, wait_for, write_config

pytestmark = pytest.mark.timeout(90)
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z sink INFO ", re.M)


def test_log_lines_are_utc_with_z(tmp_path, procs):
    cfg = write_config(tmp_path)
    sink = procs.start([script("sink"), "--config", str(cfg)], tmp_path / "sink.log",
                       env={"TZ": "America/New_York"})  # a local zone must not leak into the logs
    match = wait_for(lambda: LOG_TIME.search(sink.output()), what="the sink's first log line")
    logged = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    assert abs(logged - time.time()) < 30, (match.group(0), time.time())
    assert sink.stop() == 0


def empty_db(tmp: Path) -> None:
    db = schema.connect_writer(str(tmp / "collector.db"))
    schema.migrate(db)
    db.close()


def exporter(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([script("exporter"), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_empty_export_says_why_and_what_to_run_once(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path)
    r = exporter("--config", str(cfg), "--out", str(tmp_path / "out"), "--format=prompts", "--no-wwatcher")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == f"exported 0 markets (0 snapshots), 0 prompts, 0 whale alerts linked -> {tmp_path / 'out'}"
    assert lines[1].startswith("No resolved YES/NO market yet") and "collector backfill --since" in lines[1]
    assert len(lines) == 2
    assert "exported" not in r.stderr and "{" not in r.stdout  # once, and no raw dict


@pytest.mark.slow
def test_export_of_markets_without_snapshots_points_to_backfill(tmp_path):
    empty_db(tmp_path)
    db = schema.connect_writer(str(tmp_path / "collector.db"))
    db.execute("INSERT INTO markets (platform, market_id, title, outcomes, status, resolution, resolved_at, "
               "closed_at, end_date, first_seen_at, observed_at) VALUES ('kalshi', 'K-1', 'Will it?', "
               "'[\"Yes\", \"No\"]', 'resolved', 'YES', '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', "
               "'2026-01-01T00:00:00Z', 0, 0)")
    db.close()
    cfg = write_config(tmp_path)
    r = exporter("--config", str(cfg), "--out", str(tmp_path / "out"), "--prompts", "--no-wwatcher")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("exported 1 markets (0 snapshots), 0 prompts")
    assert "no price snapshot before their close" in lines[1] and "collector backfill --since" in lines[1]

    r = exporter("--config", str(cfg), "--out", str(tmp_path / "out"), "--prompts", "--no-wwatcher", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["out"] == str(tmp_path / "out")
    assert (doc["counts"]["markets"], doc["counts"]["snapshots"], doc["counts"]["prompts"]) == (1, 0, 0)


@pytest.mark.slow
def test_collector_backfill_prints_each_summary_once_and_json_on_request(procs, tmp_path):
    from simulator.server import start
    from tests.backfill_rig import config, marks

    sim = start(seed=5, markets=40, speed=0)
    try:
        cfg = config(tmp_path, sim)
        start_sink(procs, tmp_path, cfg)
        human = subprocess.run([script("collector"), "--config", str(cfg), "backfill", "--since", "2026-01-01"],
                               capture_output=True, text=True, timeout=120)
        assert human.returncode == 0, human.stderr
        assert human.stdout.count("backfill: ") == 2, human.stdout  # one per platform
        assert "backfill: " not in human.stderr.replace("backfill polymarket:", "").replace("backfill kalshi:", "")
        done = len(marks(tmp_path))
        assert done > 0

        machine = subprocess.run([script("collector"), "--config", str(cfg), "backfill", "--json"],
                                 capture_output=True, text=True, timeout=120)
        assert machine.returncode == 0, machine.stderr
        docs = [json.loads(line) for line in machine.stdout.splitlines()]
        assert [d["platform"] for d in docs] == ["polymarket", "kalshi"]
        assert sum(d["already_done"] for d in docs) == done  # the first run's markets, skipped
        assert sum(d["markets"] for d in docs) == len(marks(tmp_path)) - done
    finally:
        sim.stop()
