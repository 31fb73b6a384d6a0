"""`fetcher --platform polymarket --backfill` against the simulator, a real sink and real processes.

What a user would check: every resolved market is stored once with its verdict and its history,
the history is what the simulator's CLOB serves (and what the world's price was) at the 12-hour
resolution a resolved market allows, a rerun adds nothing, a live row beats a backfilled one in
the price_snapshots view, and a run killed with SIGKILL (fetcher or sink) and rerun leaves the
very database one uninterrupted run leaves.
"""

from __future__ import annotations

import signal
import time

import pytest
import requests

from collector import config as cfgmod, wire
from collector.sink_client import Publisher
from simulator.server import start
from tests.backfill_rig import backfill, backfill_args, config, contents, history, marks, reader
from tests.conftest import start_sink, wait_for

pytestmark = pytest.mark.timeout(120)

MARKETS = 300
SCALE = 1_000_000
OUTCOME = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}


@pytest.fixture
def sim():
    handle = start(seed=11, markets=MARKETS, speed=0)
    yield handle
    handle.stop()


def served_history(sim, token: str) -> list[tuple[int, int]]:
    """The simulator's CLOB answer for the whole life at 12-hour fidelity, as stored integers."""
    body = requests.get(sim.clob_url + "/prices-history", params={"market": token, "startTs": 0,
                        "endTs": int(sim.now()), "fidelity": 720}, timeout=10).json()
    return [(p["t"], round(p["p"] * SCALE)) for p in body["history"]]


@pytest.mark.slow
def test_every_resolved_market_has_the_simulators_history_and_live_rows_win(sim, procs, tmp_path):
    cfg = config(tmp_path, sim)
    start_sink(procs, tmp_path, cfg)
    run = backfill(cfg, "polymarket")
    assert run.returncode == 0, run.stderr[-2000:]

    truth = {m["market_id"]: m for m in sim.truth()["polymarket"]}
    final = {mid for mid, m in truth.items() if m["status"] == "resolved" and not m["placeholder"]}
    done, rows = marks(tmp_path), history(tmp_path)
    assert set(done) == final and len(final) > 150
    assert f"backfill: {len(final)} markets" in run.stdout
    with reader(tmp_path) as db:
        stored = {r[0]: r[1:] for r in db.execute("SELECT market_id, status, resolution FROM markets")}
    for mid in final:
        assert stored[mid] == OUTCOME[truth[mid]["outcome"]], mid
        got = [(t, yes) for t, yes, *_ in rows.get(mid, [])]
        assert got == served_history(sim, truth[mid]["token_ids"][0]), mid
        assert all(yes == round(sim.world.yes_price_at("polymarket", mid, t) * SCALE) for t, yes in got), mid
        assert done[mid] == (len(got), 43200 if got else 0), mid
    assert sum(len(v) for v in rows.values()) > 5000

    # A rerun finds everything done and changes nothing.
    before = contents(tmp_path)
    again = backfill(cfg, "polymarket")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 markets, 0 points" in again.stdout and f"{len(final)} already done" in again.stdout
    assert contents(tmp_path) == before

    # A live snapshot at the same market and time wins in price_snapshots; other rows stay backfill.
    mid = next(m for m in sorted(final) if len(rows.get(m, [])) >= 3)
    t = rows[mid][1][0]
    pub = Publisher(cfgmod.load(cfg).sink_endpoint, "test-live", "simulator", cfgmod.load(cfg))
    try:
        pub.publish(wire.PriceSnapshot("polymarket", mid, t, 0.123456, 0.12, 0.13))
        pub.flush_and_wait(20)
    finally:
        pub.close()
    with reader(tmp_path) as db:
        view = db.execute("SELECT snapshot_ts, source, yes_price FROM price_snapshots WHERE market_id = ?"
                          " ORDER BY snapshot_ts", (mid,)).fetchall()
        kept = db.execute("SELECT count(*) FROM snapshot_backfill b JOIN markets m ON m.id = b.market"
                          " WHERE m.market_id = ? AND b.t = ?", (mid, t)).fetchone()[0]
    assert [r for r in view if r[0] == t] == [(t, "live", 0.123456)]
    assert len(view) == len(rows[mid]) and sum(r[1] == "backfill" for r in view) == len(rows[mid]) - 1
    assert kept == 1  # the backfilled row is still stored, only hidden by the live one


@pytest.mark.slow
def test_killed_fetcher_and_sink_then_rerun_give_the_uninterrupted_database(sim, procs, tmp_path):
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    ref_dir.mkdir()
    cut_dir.mkdir()
    ref_cfg = config(ref_dir, sim)
    start_sink(procs, ref_dir, ref_cfg)
    assert backfill(ref_cfg, "polymarket").returncode == 0
    reference = contents(ref_dir)
    total = len(reference["marks"])

    cut_cfg = config(cut_dir, sim, rps=25.0)  # slow enough to be killed halfway
    sink = start_sink(procs, cut_dir, cut_cfg)
    fetcher = procs.start(backfill_args(cut_cfg, "polymarket"), cut_dir / "fetcher-1.log")
    wait_for(lambda: len(marks(cut_dir)) >= 20, 60, interval=0.05, what="first marks")
    sink.signal(signal.SIGKILL)  # the sink dies with batches in flight ...
    sink.p.wait(5)
    time.sleep(2.0)  # longer than ack_timeout: batches sent meanwhile go unacknowledged
    start_sink(procs, cut_dir, cut_cfg)  # ... and comes back; the fetcher re-sends what was not acked
    seen = len(marks(cut_dir))
    wait_for(lambda: len(marks(cut_dir)) >= seen + 20, 60, interval=0.05, what="marks after the sink restart")
    fetcher.signal(signal.SIGKILL)
    fetcher.p.wait(5)
    partial = len(marks(cut_dir))
    assert 0 < partial < total, (partial, total)
    stored = history(cut_dir)
    for mid, (points, _) in marks(cut_dir).items():  # a mark is only ever stored after its whole history
        assert len(stored.get(mid, [])) == points, mid

    rerun = backfill(config(cut_dir, sim), "polymarket")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{partial} already done" in rerun.stdout
    assert contents(cut_dir) == reference


@pytest.mark.slow
def test_a_faulty_api_gives_the_same_database_as_a_clean_one(sim, procs, tmp_path):
    """5xx, dropped and truncated answers and malformed catalogue rows: retried, never stored wrong."""
    clean_dir, faulty_dir = tmp_path / "clean", tmp_path / "faulty"
    clean_dir.mkdir()
    faulty_dir.mkdir()
    clean_cfg = config(clean_dir, sim)
    start_sink(procs, clean_dir, clean_cfg)
    assert backfill(clean_cfg, "polymarket").returncode == 0
    faulty = start(seed=11, markets=MARKETS, speed=0, faults="err=0.05,drop=0.02,truncate=0.02,malformed=0.05")
    try:
        faulty_cfg = config(faulty_dir, faulty)
        start_sink(procs, faulty_dir, faulty_cfg)
        run = backfill(faulty_cfg, "polymarket")
        assert run.returncode == 0, run.stderr[-2000:]
        assert faulty.stats()["total_faults"] > 10
    finally:
        faulty.stop()
    assert contents(faulty_dir) == contents(clean_dir)


@pytest.mark.slow
def test_bad_dates_are_refused_before_anything_runs(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{tmp_path / "collector.db"}"\n')
    for extra in (["--since", "2026-13-01"], ["--until", "yesterday"], ["--since", "2026-05-02", "--until", "2026-05-01"]):
        run = backfill(cfg, "polymarket", *extra)
        assert run.returncode == 2 and run.stderr.startswith("Error: "), (extra, run.stderr)
    assert not (tmp_path / "collector.db").exists()
