"""A whole simulator export, as an ML engineer would use it: a faulty simulator, a real sink, real
`fetcher --backfill` runs of both platforms, then `exporter --prompts`.

The simulator's worlds have what the real exchanges have and what makes a title alone ambiguous:
Kalshi events whose markets share one title (candidates, strike ladders), Polymarket events with
several lines ("Over 218.5") and titles that repeat with other dates ("Bitcoin Up or Down").
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from simulator.server import start
from tests.conftest import Proc, script
from tests.test_backfill_helpers import backfill, config, start_sink

pytestmark = pytest.mark.timeout(300)

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
    """(export dir, prompt rows, exporter stderr) of one faulty simulator world, backfilled."""
    tmp = tmp_path_factory.mktemp("simexport")
    sim = start(seed=5, markets=300, speed=0, faults=FAULTS)
    procs = _Procs()
    try:
        cfg = config(tmp, sim)
        sink = start_sink(procs, tmp, cfg)
        for platform in ("polymarket", "kalshi"):
            r = backfill(cfg, platform)
            assert r.returncode == 0, r.stderr[-2000:]
        assert sink.stop() == 0
    finally:
        for p in procs.started:
            if p.p.poll() is None:
                p.kill()
        sim.stop()
    out = tmp / "export"
    r = subprocess.run([script("exporter"), "--config", str(cfg), "--out", str(out), "--prompts", "--no-wwatcher"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    return out, rows, r.stderr


def test_the_world_has_event_groups_ladders_and_repeated_titles(sim_export):
    _, rows, _ = sim_export
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
    _, rows, _ = sim_export
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
    _, rows, _ = sim_export
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
