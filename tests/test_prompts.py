"""Prompts: leak-free as-of contexts, labels, determinism and the time split."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

import pytest

from exporter.catalog import Market
from exporter.prompts import as_of_times, question
from tests.exporter_rig import (AFTER_CLOSE_PRICE, DAY, PLANT_PRICE, build_collector_db, close_of,
                                         exporter_cmd, make_wwatcher)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def unix(s: str) -> int:
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("prompts")
    facts = build_collector_db(d / "collector.db")
    make_wwatcher(d / "wwatcher.db", d / "collector.db", 400, "faithful")
    cfg = d / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{d / "collector.db"}"\n[export]\nwwatcher_db_path = "{d / "wwatcher.db"}"\n'
                   "prompt_horizons_days = [1.0, 7.0, 30.0, 365.0]\nrandom_prompts_per_market = 2\n")
    runs = {}
    for name, extra in (("all", []), ("split", ["--split-date", "2026-03-05"]), ("fmt", ["--format", "prompts"])):
        out = d / name
        r = subprocess.run([exporter_cmd(), "--config", str(cfg), "--out", str(out), *([] if name == "fmt" else
                            ["--prompts"]), *extra], capture_output=True, text=True, timeout=90)
        assert r.returncode == 0, r.stderr
        runs[name] = out
    rows = [json.loads(line) for line in (runs["all"] / "prompts.jsonl").read_text().splitlines()]
    return d, facts, runs, rows


def timestamps(context: dict) -> list[int]:
    out = [unix(p["t"]) for p in context["price_history"]]
    out += [unix(w["time"]) for w in context["whale_alerts"]]
    out += [unix(n["time"]) for n in context["news"]]
    return out


def test_every_context_item_is_at_or_before_as_of(exported):
    _, facts, _, rows = exported
    assert rows
    for row in rows:
        as_of = unix(row["as_of"])
        assert as_of < unix(row["closed_at"]) and as_of < unix(row["resolved_at"])
        assert all(t <= as_of for t in timestamps(row["context"]))
        assert unix(row["context"]["price_history"][-1]["t"]) <= as_of
        assert row["price_at_as_of"] == row["context"]["price_summary"]["last"]


def test_planted_later_prices_never_leak(exported):
    _, facts, _, rows = exported
    first = facts["resolved"][1]["market_id"]
    planted_at = close_of(1) - 12 * 3600
    mine = [r for r in rows if r["market_id"] == first]
    assert any(r["kind"] == "horizon" and r["horizon_days"] == 1.0 for r in mine)
    for row in mine:
        text = json.dumps(row)
        assert str(AFTER_CLOSE_PRICE) not in text and "0.999" not in row["prompt"][1]["content"]
        if unix(row["as_of"]) < planted_at:
            assert str(PLANT_PRICE) not in text  # not in the history, nor in min/max/last
            assert "0.988" not in row["prompt"][1]["content"]
            assert row["context"]["price_summary"]["max"] < 0.9
        headlines = [n["headline"] for n in row["context"]["news"]]
        assert "After close headline" not in headlines
        if unix(row["as_of"]) < close_of(1) - 6 * 3600:
            assert "Late headline after as-of" not in headlines


def test_answers_questions_and_as_of_choice(exported):
    _, facts, _, rows = exported
    by_id = {f["market_id"]: f for f in facts["resolved"].values()}
    assert {r["market_id"] for r in rows} == set(by_id)
    for row in rows:
        f = by_id[row["market_id"]]
        assert row["answer"] == f["label"]
        assert row["platform"] == f["platform"]
        assert row["prompt"][0]["role"] == "system" and row["prompt"][1]["role"] == "user"
        assert row["question"] in row["prompt"][1]["content"]
        assert "(scheduled to close " in row["question"]
        if f["outcomes"][0] == "Yes":
            assert f["title"].rstrip("?") in row["question"]
        else:
            assert f'"{f["outcomes"][0]}"' in row["question"]
        if row["kind"] == "horizon":
            assert row["horizon_days"] in (1.0, 7.0, 30.0)  # 365 days is before the first snapshot: skipped
            assert unix(row["as_of"]) == unix(row["closed_at"]) - int(row["horizon_days"] * DAY)
    kinds = {}
    for row in rows:
        kinds.setdefault(row["market_id"], []).append(row["kind"])
    assert all(k.count("random") == 2 and k.count("horizon") == 3 for k in kinds.values())


def test_moved_end_date_uses_actual_close(exported):
    _, facts, _, rows = exported
    moved = facts["resolved"][2]["market_id"]  # its end_date is 30 days after the actual close
    for row in (r for r in rows if r["market_id"] == moved):
        assert unix(row["as_of"]) < close_of(2)


def test_format_prompts_alias_and_split(exported):
    _, _, runs, rows = exported
    assert (runs["fmt"] / "prompts.jsonl").read_text() == (runs["all"] / "prompts.jsonl").read_text()
    train = [json.loads(x) for x in (runs["split"] / "prompts_train.jsonl").read_text().splitlines()]
    test = [json.loads(x) for x in (runs["split"] / "prompts_test.jsonl").read_text().splitlines()]
    assert train and test
    split = "2026-03-05T00:00:00Z"
    assert all(r["resolved_at"] < split and r["split"] == "train" for r in train)
    assert all(r["resolved_at"] >= split and r["as_of"] >= split and r["split"] == "test" for r in test)
    assert not {r["market_id"] for r in train} & {r["market_id"] for r in test}
    manifest = json.loads((runs["split"] / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["prompts_train"] == len(train) and c["prompts_test"] == len(test)
    assert c["prompts_train"] + c["prompts_test"] + c["prompts_dropped_by_split"] == len(rows)


def test_as_of_times_are_deterministic_and_bounded():
    m = Market(ref=1, platform="kalshi", market_id="KXTEST-1", title="Test?", category=None, outcomes=["Yes", "No"],
               volume=None, liquidity=None, resolution="YES", winning_outcome="Yes", resolved_at=2_000_000,
               closed_at=1_900_000, created_at=None, end_date=3_000_000, first_seen_at=0, cutoff=1_900_000)
    a = as_of_times(m, 1_000_000, [1.0, 7.0, 30.0], 5)
    assert a == as_of_times(m, 1_000_000, [1.0, 7.0, 30.0], 5)
    assert all(1_000_000 <= t < 1_900_000 for t, _, _ in a)
    assert [h for _, k, h in a if k == "horizon"] == [7.0, 1.0]  # 30 days back is before the first snapshot
    assert as_of_times(m, 1_950_000, [1.0], 3) == []  # first snapshot after close: nothing to ask
    assert question(m) == 'Will "Test" resolve YES (scheduled to close 1970-02-04 17:20 UTC)?'
