"""No silent fallback and nothing at or after as_of: unreadable times leave a market out (counted,
logged), headlines must be public strictly before as_of."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from exporter.catalog import Market
from exporter.prompts import News, build
from tests.test_exporter_helpers import build_collector_db, exporter_cmd

pytestmark = pytest.mark.timeout(120)


def test_a_time_without_zone_leaves_the_market_out_counted_and_logged(tmp_path):
    facts = build_collector_db(tmp_path / "collector.db")
    victim, no_close = facts["resolved"][4], facts["resolved"][5]
    with sqlite3.connect(tmp_path / "collector.db") as db:
        # a naive closed_at used to read as missing: the cutoff fell back to end_date, past the close
        db.execute("UPDATE markets SET closed_at = '2026-02-20T10:00:00', end_date = '2026-12-01T00:00:00Z'"
                   " WHERE id = 4")
        db.execute("UPDATE markets SET resolved_at = 'soon' WHERE id = 7")
        db.execute("UPDATE markets SET closed_at = NULL, resolved_at = NULL WHERE id = 5")
    out = tmp_path / "out"
    r = subprocess.run([exporter_cmd(), "--db", str(tmp_path / "collector.db"), "--out", str(out), "--prompts",
                        "--no-wwatcher"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["unreadable_timestamps_left_out"] == 2
    assert counts["resolved_without_close_time_left_out"] == 1
    assert f"{victim['platform']}:{victim['market_id']}: no time zone: '2026-02-20T10:00:00'" in r.stderr
    assert "not ISO 8601: 'soon'" in r.stderr
    ids = {json.loads(line)["market_id"] for line in (out / "prompts.jsonl").read_text().splitlines()}
    assert victim["market_id"] not in ids and no_close["market_id"] not in ids
    assert facts["resolved"][1]["market_id"] in ids
    assert counts["markets"] == len(facts["resolved"]) - 3


def _market() -> Market:
    return Market(ref=1, platform="kalshi", market_id="KXT-1", title="T?", category="Economics",
                  outcomes=["Yes", "No"], volume=None, liquidity=None, resolution="YES", winning_outcome="Yes",
                  resolved_at=2_000_000, closed_at=2_000_000, created_at=None, end_date=2_000_000, first_seen_at=0,
                  cutoff=2_000_000)


def test_headlines_are_strictly_before_as_of_by_publication_time():
    m = _market()
    as_of = 2_000_000 - 86400  # the 1-day horizon
    news = [News(as_of, None, "captured exactly at as_of", None, None),
            News(as_of - 1, None, "captured a second before", None, None),
            News(as_of + 60, as_of - 3600, "published before, captured after", None, None),
            News(as_of - 10, as_of + 5, "published after capture (bad clock)", None, None),
            News(as_of + 10, as_of, "published exactly at as_of", None, None)]
    rows = build(m, [1_000_000, as_of], [0.4, 0.5], [], news, [1.0], 0)
    assert len(rows) == 1
    seen = {n["headline"]: n["time"] for n in rows[0]["context"]["news"]}
    assert set(seen) == {"captured a second before", "published before, captured after",
                         "published after capture (bad clock)"}
    assert seen["published before, captured after"] == "1970-01-23T02:33:20Z"  # as_of - 1 h: the publication time
