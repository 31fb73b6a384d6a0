"""No silent fallback and nothing at or after as_of: unreadable times leave a market out (counted,
logged), headlines must be public strictly before as_of."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pyarrow.parquet as pq
import pytest

from exporter.catalog import Market
from exporter.prompts import News, build
from tests.conftest import iso
from tests.exporter_rig import CREATED, DAY, STEP, build_collector_db, close_of, exporter_cmd

pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow
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


@pytest.mark.slow
def test_prices_count_from_when_they_were_read_not_their_grid_time(tmp_path):
    """A sweep reads for minutes after its grid time t: as_of in [t, t + lag) must not see that price."""
    facts = build_collector_db(tmp_path / "collector.db")
    mid = facts["resolved"][1]["market_id"]
    close = close_of(1)
    horizon_as_of = close - DAY  # the 1-day horizon prompt's as_of, itself a grid time
    with sqlite3.connect(tmp_path / "collector.db") as db:
        db.execute("UPDATE snapshot SET yes = 919191, lag = 600 WHERE market = 1 AND t = ?", (horizon_as_of,))
        db.execute("UPDATE snapshot SET yes = 929292, lag = ? WHERE market = 1 AND t = ?", (STEP + 60, close - STEP))
        db.execute("UPDATE snapshot SET lag = 7 WHERE market = 1 AND t = ?", (close - 2 * STEP,))
        view = dict(db.execute("SELECT snapshot_ts, observed_at FROM price_snapshots WHERE market_id = ? AND"
                               " snapshot_ts IN (?, ?)", (mid, horizon_as_of, close - 2 * STEP)).fetchall())
    assert view == {horizon_as_of: iso(horizon_as_of + 600), close - 2 * STEP: iso(close - 2 * STEP + 7)}
    out = tmp_path / "out"
    r = subprocess.run([exporter_cmd(), "--db", str(tmp_path / "collector.db"), "--out", str(out), "--prompts",
                        "--no-wwatcher"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    day1 = next(x for x in rows if x["market_id"] == mid and x["horizon_days"] == 1.0)
    assert day1["as_of"] == iso(horizon_as_of)
    assert day1["price_at_as_of"] != 0.919191 and "0.919" not in day1["prompt"][1]["content"]
    assert all(p["t"] < day1["as_of"] for p in day1["context"]["price_history"])
    market = next(m for m in pq.read_table(out / "markets.parquet").to_pylist() if m["market_id"] == mid)
    by_t = {int(p["t"].timestamp()): p for p in market["price_history"]}
    assert int(by_t[horizon_as_of]["observed_at"].timestamp()) == horizon_as_of + 600
    assert int(by_t[close - 2 * STEP]["observed_at"].timestamp()) == close - 2 * STEP + 7
    assert close - STEP not in by_t  # read after the close: left out, counted, not the closing price
    assert market["price_at_close"] != 0.929292
    assert market["snapshots_after_cutoff"] >= 1 + 8  # this one plus the two days after close


@pytest.mark.slow
def test_prompts_show_the_metadata_known_at_their_as_of(tmp_path):
    facts = build_collector_db(tmp_path / "collector.db")
    mid, close = facts["resolved"][1]["market_id"], close_of(1)
    edited = close - 3 * DAY
    with sqlite3.connect(tmp_path / "collector.db") as db:
        db.execute("DELETE FROM market_versions WHERE market = 1")
        db.executemany("INSERT INTO market_versions VALUES (1, ?, ?, ?, ?, ?, ?)", [
            (CREATED, "Early title?", "Early rules.", "Politics", '["Yes", "No"]', iso(close + 30 * DAY)),
            (edited, "Edited title?", "Edited rules.", "Elections", '["Yes", "No"]', iso(close))])
        # an edit after resolution, recorded by the trigger as every sink upsert is
        db.execute("UPDATE markets SET title = 'Edited title? [FINAL: UNDER WON]', observed_at = ? WHERE id = 1",
                   (close + 2 * DAY,))
        assert db.execute("SELECT count(*) FROM market_versions WHERE market = 1").fetchone()[0] == 3
    out = tmp_path / "out"
    r = subprocess.run([exporter_cmd(), "--db", str(tmp_path / "collector.db"), "--out", str(out), "--prompts",
                        "--no-wwatcher"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    mine = [x for x in rows if x["market_id"] == mid]
    early = [x for x in mine if x["as_of"] < iso(edited)]
    late = [x for x in mine if x["as_of"] >= iso(edited)]
    assert early and late
    for x in mine:
        assert "FINAL" not in json.dumps(x)
    for x in early:
        user = x["prompt"][1]["content"]
        assert x["title"] == "Early title?" and '"Early title"' in x["question"]
        assert iso(close + 30 * DAY)[:10] in x["question"]  # the end date as scheduled then
        assert "Resolution rules: Early rules." in user and "Category: Politics" in user
        assert x["metadata_observed_at"] == iso(CREATED)
    for x in late:
        assert x["title"] == "Edited title?" and "Resolution rules: Edited rules." in x["prompt"][1]["content"]
        assert x["category"] == "Elections" and x["metadata_observed_at"] == iso(edited)
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["prompts_metadata_first_observed_after_as_of"] == 0


def _first_observed_after_close(db_path, ref: int) -> int:
    """Make market ref look backfilled: its only metadata version was observed a day after it closed."""
    seen = close_of(ref) + DAY
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM market_versions WHERE market = ?", (ref,))
        db.execute("INSERT INTO market_versions SELECT id, ?, title, description, category, outcomes, end_date"
                   " FROM markets WHERE id = ?", (seen, ref))
    return seen


def test_a_backfilled_market_gets_no_prompt_before_its_metadata_was_first_observed(tmp_path):
    """A backfill stores a resolved market's whole price history but its metadata only as observed at
    backfill time, after the close: what the title/rules/end date said at an earlier as_of is unknown.
    Such prompts are left out and counted; --late-metadata keeps them, marked and counted."""
    facts = build_collector_db(tmp_path / "collector.db")
    victim = facts["resolved"][2]["market_id"]
    seen = _first_observed_after_close(tmp_path / "collector.db", 2)
    base = [exporter_cmd(), "--db", str(tmp_path / "collector.db"), "--prompts", "--no-wwatcher"]
    r = subprocess.run(base + ["--out", str(tmp_path / "strict")], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (tmp_path / "strict" / "prompts.jsonl").read_text().splitlines()]
    counts = json.loads((tmp_path / "strict" / "manifest.json").read_text())["counts"]
    assert rows and victim not in {x["market_id"] for x in rows}
    assert all(x["metadata_observed_at"] <= x["as_of"] for x in rows)
    assert counts["prompts_left_out_metadata_not_yet_observed"] >= 3  # its 1/7/30-day horizons at least
    assert counts["prompts_metadata_first_observed_after_as_of"] == 0
    assert "metadata not yet observed" in r.stderr

    r = subprocess.run(base + ["--out", str(tmp_path / "late"), "--late-metadata"], capture_output=True, text=True,
                       timeout=90)
    assert r.returncode == 0, r.stderr
    late = [json.loads(line) for line in (tmp_path / "late" / "prompts.jsonl").read_text().splitlines()]
    kept = [x for x in late if x["market_id"] == victim]
    assert kept and all(x["metadata_observed_at"] == iso(seen) > x["as_of"] for x in kept)
    late_counts = json.loads((tmp_path / "late" / "manifest.json").read_text())["counts"]
    assert late_counts["prompts_metadata_first_observed_after_as_of"] == len(kept)
    assert late_counts["prompts_left_out_metadata_not_yet_observed"] == 0
    assert len(late) == len(rows) + counts["prompts_left_out_metadata_not_yet_observed"]


def test_a_price_read_before_an_earlier_grid_rows_price_waits_for_it():
    """Known times ascend per market: a late-read earlier row holds back later rows read before it."""
    import pyarrow as pa

    from exporter.history import _known_at

    market = pa.chunked_array([pa.array([7, 7, 7, 8, 8], pa.int64())])
    observed = pa.chunked_array([pa.array([1000, 2500, 2000, 900, 1900], pa.int64())])  # t=1000/1900/2000 (late)
    assert _known_at(market, observed).to_pylist() == [1000, 2500, 2500, 900, 1900]  # restarts per market


def test_snapshots_carry_their_read_lag_over_the_wire():
    """columnize turns each snapshot's observed_at into whole seconds after t (rounded up, never < 0)."""
    from collector import wire

    snaps = [wire.PriceSnapshot("kalshi", "A", 900, 0.5, observed_at=1140.2),
             wire.PriceSnapshot("kalshi", "B", 900, 0.5, observed_at=899.0),  # clock skew: clamped to t
             wire.PriceSnapshot("kalshi", "C", 900, 0.5)]  # unknown: read at t
    (cols,) = wire.columnize(snaps)
    assert cols.lag == [241, 0, None]
    back = wire.decode(wire.encode(wire.Batch(sender="s", seq=1, source="live", records=[cols])))
    assert back.records[0].lag == [241, 0, None]


@pytest.mark.slow
def test_prompt_shows_volume_as_of_not_the_final_volume(tmp_path):
    facts = build_collector_db(tmp_path / "collector.db")
    mid, close = facts["resolved"][1]["market_id"], close_of(1)
    out = tmp_path / "out"
    r = subprocess.run([exporter_cmd(), "--db", str(tmp_path / "collector.db"), "--out", str(out), "--prompts",
                        "--no-wwatcher"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    day1 = next(x for x in rows if x["market_id"] == mid and x["horizon_days"] == 1.0)
    with sqlite3.connect(tmp_path / "collector.db") as db:
        vol, final = db.execute("SELECT s.volume, m.volume FROM snapshot s JOIN markets m ON m.id = s.market"
                                " WHERE s.market = 1 AND s.t = ?", (close - DAY,)).fetchone()
    assert day1["context"]["price_summary"]["volume"] == vol != final
    assert f"Volume traded so far: {vol:,.0f}" in day1["prompt"][1]["content"]
    assert f"{final:,.0f}" not in day1["prompt"][1]["content"]
