"""book_history in markets.parquet: depth features of the stored books, causal, the same after archiving."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

import pyarrow.parquet as pq
import pytest

from exporter.book_features import features
from tests.archive_rig import DAY, DAYS, export, fill, fill_books, levels, make_config
from tests.conftest import kx_id, query, script, start_sink

def test_features_of_one_book():
    f = features([(450_000, 10), (445_000, 20), (400_000, 30)], [(470_000, 5), (520_000, 7)])
    assert f["best_bid"] == 0.45 and f["best_ask"] == 0.47 and round(f["spread"], 9) == 0.02
    # mid 0.46: within 1 cent -> bids >= 0.45, asks <= 0.47; within 5 cents -> bids >= 0.41, asks <= 0.51
    assert (f["bid_depth_1c"], f["ask_depth_1c"], f["bid_depth_5c"], f["ask_depth_5c"]) == (10, 5, 30, 5)
    assert f["imbalance"] == (30 - 5) / 35
    one_sided = features([(450_000, 10)], [])
    assert one_sided["best_ask"] is None and one_sided["spread"] is None and one_sided["imbalance"] is None


@pytest.mark.slow
def test_book_history_is_causal_and_survives_archiving(procs, tmp_path):
    cfg = make_config(tmp_path)
    start_sink(procs, tmp_path, cfg)
    fill(cfg)
    fill_books(cfg)
    assert query(tmp_path / "collector.db", "SELECT count(*) FROM book WHERE same_as IS NOT NULL")[0][0] > 0
    before = export(cfg, tmp_path / "before")
    table = pq.read_table(tmp_path / "before" / "markets.parquet").to_pylist()
    by_market = {r["market_id"]: r["book_history"] for r in table}
    row = next(r for r in table if r["market_id"] == kx_id(1))
    hist = row["book_history"]
    closed = row["closed_at"].timestamp()
    assert hist and all(p["observed_at"].timestamp() <= closed for p in hist)  # nothing observed after the cutoff
    assert len(hist) == DAYS * 4  # every 6 h until the close, none after
    assert [p["t"].timestamp() for p in hist] == sorted(p["t"].timestamp() for p in hist)
    for c, p in enumerate(hist):
        want = features(*levels(1, c))
        assert {k: p[k] for k in want} == want
        assert p["observed_at"].timestamp() == p["t"].timestamp() + 30.25
    assert all(r["book_history"] == [] for r in table if r["platform"] == "polymarket")
    # a prompt states the newest book observed at or before its as_of, never a later one
    stated = 0
    for line in before["prompts.jsonl"].decode().splitlines():
        p = json.loads(line)
        book = p["context"].get("order_book")
        if p["platform"] == "polymarket" or p["market_id"] not in (kx_id(0), kx_id(1), kx_id(2)):
            assert book is None
            continue
        as_of = datetime.fromisoformat(p["as_of"].replace("Z", "+00:00")).timestamp()
        seen = [pt for pt in by_market[p["market_id"]] if pt["observed_at"].timestamp() <= as_of]
        if not seen:
            assert book is None
            continue
        newest = seen[-1]
        assert book["observed_at"] == newest["observed_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
        assert book["best_bid"] == newest["best_bid"] and book["bid_depth_5c"] == newest["bid_depth_5c"]
        assert "Order book at" in p["prompt"][1]["content"]
        stated += 1
    assert stated > 0
    r = subprocess.run([script("collector"), "--config", str(cfg), "archive"], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0 and "order books in" in r.stdout, r.stdout + r.stderr
    after = export(cfg, tmp_path / "after")
    assert after == before  # markets.parquet and prompts.jsonl: the same export from both stores


def test_features_of_many_books_at_once_equal_one_at_a_time():
    """The export computes book features for a chunk's books at once (NumPy); the numbers must be
    those of ``features`` for each book: one-sided and empty books, levels on the 1- and 5-cent edges."""
    import random

    import numpy as np

    from exporter.book_features import FEATURES, _features

    rng = random.Random(5)
    cases = [([], []), ([(450_000, 10)], []), ([], [(470_000, 5)]),
             ([(450_000, 10), (445_000, 20), (405_000, 30), (404_000, 1)],  # mid 0.455: levels on the 1c and 5c edges
              [(460_000, 5), (465_000, 6), (505_000, 7), (506_000, 1)])]
    for _ in range(400):
        mid = rng.randint(20_000, 980_000)
        bids = sorted({mid - rng.randint(1, 80_000) for _ in range(rng.randint(0, 6))}, reverse=True)
        asks = sorted({mid + rng.randint(0, 80_000) for _ in range(rng.randint(0, 6))})
        cases.append(([(p, rng.randint(0, 10**9)) for p in bids], [(p, rng.randint(0, 10**9)) for p in asks]))
    depth = max(max(len(b), len(a)) for b, a in cases)
    arrays = [np.full((len(cases), depth), np.nan) for _ in range(4)]
    for i, (bids, asks) in enumerate(cases):
        for side, levels in ((0, bids), (2, asks)):
            for n, (px, sz) in enumerate(levels):
                arrays[side][i, n], arrays[side + 1][i, n] = px, sz
    at_once = _features(*arrays)
    for i, (bids, asks) in enumerate(cases):
        got = {k: None if np.isnan(at_once[k][i]) else float(at_once[k][i]) for k in FEATURES}
        assert got == features(bids, asks), (bids, asks)
