"""`fetcher --platform kalshi --backfill` against the simulator: both tiers, a window, then the rest.

A first run with --since/--until around the historical cutoff must backfill exactly the finalized
markets settled in that window (some from the live tier, some from the historical one); a second
run without a window must add every other finalized market and skip the first run's. Every
stored history is the simulator's candles at 60 minutes: one row per candle served (sparse, never
forward-filled), the world's price in the candle's last minute, and the cumulative volume.
"""

from __future__ import annotations

import calendar
import time

import pytest

from simulator import kalshi_render
from simulator.server import start
from tests.backfill_rig import backfill, config, history, marks, reader
from tests.conftest import iso, start_sink

pytestmark = pytest.mark.timeout(300)  # a hang guard: ~70 s on a loaded 2-core machine

SCALE = 1_000_000
SINCE, UNTIL = "2026-07-01", "2026-09-20"  # around the simulator's cutoff (2026-09-02)
OUTCOME = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}


def day(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%d"))


def expected_rows(sim, ticker: str) -> list[tuple[int, int, int]]:
    """(t, yes, volume) the simulator's candles give: a candle stands for the last minute of its period."""
    world, now = sim.world, sim.now()
    m = world.kx.market(world.kx.index_of(ticker))
    candles = kalshi_render.candles(world.kx, m, int(m.open), int(m.close) + 3600, 60, now, "current")
    rows = []
    for c in candles:
        t = c["end_period_ts"]
        minute = min(t, int(m.close)) - 1  # a candle past the close carries the last trading minute
        rows.append((t, round(world.yes_price_at("kalshi", ticker, minute) * SCALE), round(m.path.volume(minute))))
    return rows


@pytest.mark.slow
def test_window_then_the_rest_equal_the_simulators_candles(procs, tmp_path):
    sim = start(seed=5, markets=80, speed=0)
    try:
        cfg = config(tmp_path, sim)
        start_sink(procs, tmp_path, cfg)
        truth = {m["market_id"]: m for m in sim.truth()["kalshi"]}
        final = {t: m for t, m in truth.items() if m["status"] == "finalized" and not m["is_mve"]}
        lo, hi = day(SINCE), day(UNTIL) + 86399
        inside = {t for t, m in final.items() if lo <= m["final_at"] <= hi}
        assert {final[t]["historical"] for t in inside} == {True, False}  # the window spans both tiers

        first = backfill(cfg, "kalshi", "--since", SINCE, "--until", UNTIL)
        assert first.returncode == 0, first.stderr[-2000:]
        assert set(marks(tmp_path)) == inside
        assert f"backfill: {len(inside)} markets" in first.stdout

        rest = backfill(cfg, "kalshi")
        assert rest.returncode == 0, rest.stderr[-2000:]
        assert f"backfill: {len(final) - len(inside)} markets" in rest.stdout
        assert f"{len(inside)} already done" in rest.stdout
        done, rows = marks(tmp_path), history(tmp_path)
        assert set(done) == set(final)

        with reader(tmp_path) as db:
            stored = {r[0]: r[1:] for r in db.execute("SELECT market_id, status, resolution, resolved_at FROM markets")}
        for ticker, m in final.items():
            status, resolution, resolved_at = stored[ticker]
            assert (status, resolution) == OUTCOME[m["outcome"]], ticker
            assert resolved_at == iso(m["final_at"])
            got = [(t, yes, vol) for t, yes, _bid, _ask, vol in rows.get(ticker, [])]
            assert got == expected_rows(sim, ticker), ticker
            assert done[ticker] == (len(got), 3600), ticker
        assert sum(len(v) for v in rows.values()) > 5000
        assert not set(rows) - set(final)  # nothing stored for parlays or unsettled markets
    finally:
        sim.stop()


@pytest.mark.slow
def test_daily_candles_and_small_chunks_give_the_same_points(monkeypatch):
    """Windows meet without a gap or a duplicate, on both tiers, hourly and daily."""
    import logging

    from collector.config import Config
    from fetchers import kalshi_backfill
    from fetchers.base import PhaseContext, PhaseCounters
    from fetchers.http import HttpClient

    sim = start(seed=5, markets=80, speed=0)
    try:
        cfg = Config()
        cfg.kalshi.base_url, cfg.kalshi.requests_per_second = sim.kalshi_url, 2000.0
        http = HttpClient("kalshi", cfg.kalshi, PhaseCounters())
        ctx = PhaseContext(platform="kalshi", phase="backfill", cfg=cfg, http=http, publish=lambda r: None,
                           counters=PhaseCounters(), log=logging.getLogger("test"))
        truth = [m for m in sim.truth()["kalshi"] if m["status"] == "finalized" and not m["is_mve"]]
        picks = [next(m for m in truth if m["historical"]), next(m for m in truth if not m["historical"])]
        for m in picks:
            for period in (60, 1440):
                def points():
                    c = kalshi_backfill.Candles(ctx, m["market_id"], m["series_ticker"], m["historical"],
                                                int(m["open_time"]), int(m["close_time"]))
                    c.period = period
                    return [(s.t, s.yes_price, s.volume) for s in c]

                whole = points()
                monkeypatch.setattr(kalshi_backfill, "CANDLES_PER_REQUEST", 7)
                chunked = points()
                monkeypatch.setattr(kalshi_backfill, "CANDLES_PER_REQUEST", 5000)
                world_m = sim.world.kx.market(sim.world.kx.index_of(m["market_id"]))
                served = kalshi_render.candles(sim.world.kx, world_m, int(m["open_time"]),
                                               int(m["close_time"]) + period * 60, period, sim.now(), "current")
                assert chunked == whole and [t for t, _, _ in whole] == [c["end_period_ts"] for c in served]
                assert len(whole) > 3, (m["market_id"], period)
        http.close()
    finally:
        sim.stop()
