"""A whole simulator export, as an ML engineer would use it: a faulty simulator, a real sink, real
`fetcher --backfill` runs of both platforms, then `exporter --prompts`.

The simulator's worlds have what the real exchanges have and what makes a title alone ambiguous:
Kalshi events whose markets share one title (candidates, strike ladders), Polymarket events with
several lines ("Over 218.5") and titles that repeat with other dates ("Bitcoin Up or Down").
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest

from simulator.server import start
from tests.conftest import Proc, script, start_sink
from tests.polymarket_helpers import fetch
from tests.backfill_rig import backfill, config
from tests.exporter_rig import LOAD_EVERY_CONFIG, declared_configs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAULTS = "err=0.02,drop=0.01,truncate=0.01,malformed=0.02"


class _Procs:
    def __init__(self):
        self.started: list[Proc] = []

    def start(self, args, log, env=None) -> Proc:
        p = Proc(args, log, env)
        self.started.append(p)
        return p


@pytest.fixture(scope="module")
def sim_export(tmp_path_factory):
    """out (export dir), rows (prompts), stderr, db, window (sim time of the live cycle) of one faulty
    simulator world: backfilled, then one live DISCOVER + SNAPSHOT per platform."""
    tmp = tmp_path_factory.mktemp("simexport")
    sim = start(seed=5, markets=300, speed=0, faults=FAULTS)
    procs = _Procs()
    try:
        cfg = config(tmp, sim)
        sink = start_sink(procs, tmp, cfg)
        for platform in ("polymarket", "kalshi"):
            r = backfill(cfg, platform)
            assert r.returncode == 0, r.stderr[-2000:]
        clock = tomllib.loads(cfg.read_text())["clock"]
        started = time.time()
        for platform in ("polymarket", "kalshi"):  # one live cycle: its rows record when they were read
            for phase in ("discover", "snapshot"):
                r = fetch(cfg, phase, platform)
                assert r.returncode == 0, r.stderr[-2000:]
        sim_window = tuple(clock["sim_origin"] + (x - clock["real_origin"]) for x in (started, time.time()))
        assert sink.stop() == 0
    finally:
        for p in procs.started:
            if p.p.poll() is None:
                p.kill()
        sim.stop()
    # The world is backfilled: its markets' metadata was first observed after they resolved, so a
    # strict export has (almost) no prompt; --late-metadata keeps them, marked, for the checks below.
    out, strict = tmp / "export", tmp / "strict"
    r = subprocess.run([script("exporter"), "--config", str(cfg), "--out", str(out), "--prompts", "--no-wwatcher",
                        "--late-metadata"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    s = subprocess.run([script("exporter"), "--config", str(cfg), "--out", str(strict), "--prompts", "--no-wwatcher"],
                       capture_output=True, text=True, timeout=120)
    assert s.returncode == 0, s.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    return SimpleNamespace(out=out, rows=rows, stderr=r.stderr, db=tmp / "collector.db", window=sim_window,
                           strict=strict, strict_stderr=s.stderr)


def test_backfilled_markets_give_prompts_only_when_late_metadata_is_asked_for(sim_export):
    """Causality by observation time: a prompt never shows metadata first observed after its as_of,
    unless --late-metadata, which marks every such prompt and counts it."""
    strict = [json.loads(line) for line in (sim_export.strict / "prompts.jsonl").read_text().splitlines()]
    counts = json.loads((sim_export.strict / "manifest.json").read_text())["counts"]
    late_counts = json.loads((sim_export.out / "manifest.json").read_text())["counts"]
    assert all(x["metadata_observed_at"] <= x["as_of"] for x in strict)
    marked = [x for x in sim_export.rows if x["metadata_observed_at"] > x["as_of"]]
    assert len(marked) == late_counts["prompts_metadata_first_observed_after_as_of"] > 0
    assert counts["prompts_left_out_metadata_not_yet_observed"] == len(marked)
    assert len(strict) + len(marked) == len(sim_export.rows)
    assert "metadata not yet observed" in sim_export.strict_stderr


def test_live_snapshots_record_when_they_were_read(sim_export):
    lo, hi = sim_export.window
    with sqlite3.connect(f"file:{sim_export.db}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT s.t, s.lag, m.platform FROM snapshot s JOIN markets m ON m.id = s.market").fetchall()
        view = db.execute("SELECT count(*) FROM price_snapshots WHERE source = 'live'"
                          " AND observed_at = strftime('%Y-%m-%dT%H:%M:%SZ', snapshot_ts + ?, 'unixepoch')",
                          (0,)).fetchone()[0]
    assert {p for _, _, p in rows} == {"polymarket", "kalshi"}
    assert all(lag is not None and lo - 1 <= t + lag <= hi + 1 for t, lag, _ in rows), (lo, hi, rows[:3])
    assert any(lag > 0 for _, lag, _ in rows)  # the frozen world's now is past the grid time
    assert view < len(rows)  # the view's observed_at is t + lag, not t


def test_the_world_has_event_groups_ladders_and_repeated_titles(sim_export):
    rows = sim_export.rows
    titles = defaultdict(set)
    for r in rows:
        titles[(r["platform"], r["title"])].add(r["market_id"])
    shared = {k: v for k, v in titles.items() if len(v) > 1}
    assert {p for p, _ in shared} == {"kalshi", "polymarket"}  # both platforms reuse titles
    by_event = defaultdict(set)
    for r in rows:
        by_event[(r["platform"], r["event_id"])].add(r["market_id"])
    assert {p for (p, e), v in by_event.items() if e and len(v) > 2} == {"kalshi", "polymarket"}


def test_no_two_markets_with_different_answers_share_a_question(sim_export):
    rows = sim_export.rows
    answers = defaultdict(set)
    markets = defaultdict(set)
    for r in rows:
        answers[(r["platform"], r["question"])].add(r["answer"])
        markets[(r["platform"], r["question"])].add(r["market_id"])
    per_platform = defaultdict(int)
    for (platform, _), ids in markets.items():
        per_platform[platform] += len(ids)
    assert per_platform["kalshi"] > 50 and per_platform["polymarket"] > 50
    clashes = {q: a for q, a in answers.items() if len(a) > 1}
    assert not clashes, list(clashes)[:5]


def test_user_message_carries_rules_category_platform_and_close_date(sim_export):
    rows = sim_export.rows
    for r in rows:
        user = r["prompt"][1]["content"]
        assert r["question"] in user and f"Platform: {r['platform']}" in user
        assert "scheduled to close" in r["question"]
        if r["category"]:
            assert f"Category: {r['category']}" in user
    kalshi = [r for r in rows if r["platform"] == "kalshi"]
    assert all("Resolution rules: If " in r["prompt"][1]["content"] for r in kalshi)
    poly = [r for r in rows if r["platform"] == "polymarket"]
    assert all("Resolution rules: This market resolves per its rules." in r["prompt"][1]["content"] for r in poly)


def test_every_declared_config_loads_with_load_dataset(sim_export, tmp_path):
    out, rows = sim_export.out, sim_export.rows
    configs = declared_configs((out / "README.md").read_text())
    card = (out / "README.md").read_text()
    assert {"markets", "prompts"} <= set(configs)
    # no wwatcher: the empty file is written with its schema, but not declared (datasets cannot load it)
    assert pq_rows(out / "unmatched_alerts.parquet") == 0 and "unmatched_alerts" not in configs
    assert "not declared (`datasets` cannot load an\nempty split): `unmatched_alerts.parquet`" in card
    assert "Data source: **the bundled offline simulator**" in card and "Limitations:" in card
    r = subprocess.run([sys.executable, "-c", LOAD_EVERY_CONFIG, str(out), str(tmp_path / "hf"), json.dumps(list(configs))],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(got) == set(configs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert got["markets"]["train"]["rows"] == manifest["counts"]["markets"] > 0
    assert sum(s["rows"] for s in got["prompts"].values()) >= len(rows) > 0
    features = got["prompts"]["train"]["features"]
    for col in ("as_of", "resolved_at", "closed_at"):  # times keep UTC
        assert "tz=UTC" in features[col], features[col]
    assert "timestamp" in features["context"] and "tz=UTC" in features["context"]
    # a list column has its element type even where every row's list is empty (news here)
    assert "'headline': Value('string')" in features["context"], features["context"]


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def test_market_baseline_in_manifest_card_and_plot(sim_export):
    out, rows = sim_export.out, sim_export.rows
    manifest = json.loads((out / "manifest.json").read_text())
    b = manifest["baseline"]
    ys = [1 if r["answer"] == "YES" else 0 for r in rows]
    ps = [r["price_at_as_of"] for r in rows]
    assert b["overall"]["n"] == len(rows)
    assert abs(b["overall"]["brier"] - sum((p - y) ** 2 for p, y in zip(ps, ys)) / len(rows)) < 1e-6
    assert sum(x["n"] for x in b["overall"]["bins"]) == len(rows) and len(b["overall"]["bins"]) == 10
    assert set(b["platform"]) == {"kalshi", "polymarket"}
    assert set(b["horizon"]) == {"1d", "7d", "30d", "random"} and set(b["split"]) == {"train", "test"}
    assert 0 < b["overall"]["ece"] < 1 and b["overall"]["log_loss"] > 0
    card = (out / "README.md").read_text()
    assert f"| all | {len(rows)} | {b['overall']['brier']:.4f} |" in card
    assert "![Reliability diagram of the market price](calibration.png)" in card
    png = (out / "calibration.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and manifest["files"]["calibration.png"]["bytes"] == len(png)


def test_chronological_split_without_split_date(sim_export):
    out, rows = sim_export.out, sim_export.rows
    import pyarrow.parquet as pq

    manifest = json.loads((out / "manifest.json").read_text())
    sp = manifest["split"]
    assert sp["mode"] == "chronological" and len(rows) == manifest["counts"]["prompts"]  # all prompts still there
    train = pq.read_table(out / "prompts_train.parquet").to_pylist()
    test = pq.read_table(out / "prompts_test.parquet").to_pylist()
    assert (len(train), len(test)) == (sp["train"], sp["test"])
    assert max(r["resolved_at"] for r in train) < min(r["as_of"] for r in test)  # test strictly after train
    assert 0.05 <= len(test) / (len(train) + len(test)) <= 0.15
    assert len(train) + len(test) + sp["neither"] == len(rows)
    assert {r["split"] for r in train} == {"train"} and {r["split"] for r in test} == {"test"}
    assert all(r["market_id"] and r["event_id"] for r in train + test)  # group-aware splitting is possible
    card = (out / "README.md").read_text()
    assert "Why not a random split" in card and "config_name: prompts_chronological" in card
