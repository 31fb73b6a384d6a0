"""The book planner: everything when it fits; else most traded first plus a rotation covering the rest."""

from __future__ import annotations

from fetchers import book_plan


def test_everything_fits_polymarket_at_real_scale():
    volumes = {f"m{i}": float(i) for i in range(46_000)}
    allowed = book_plan.budget(2.0, 900, used=470)  # the Gamma sweep took ~470 requests
    p = book_plan.plan(volumes, 500, allowed, cycle=0)
    assert len(p.chosen) == 46_000 and p.requests == 92 and p.revisit_cycles == 1


def test_over_budget_most_traded_every_cycle_and_rotation_covers_all():
    volumes = {f"m{i:03d}": float(i) for i in range(1000)}
    seen: set[str] = set()
    first = None
    for cycle in range(100, 104):  # four 15-minute cycles: one hour
        p = book_plan.plan(volumes, 100, 4, cycle)
        assert p.requests == 4 and len(p.chosen) == 400 and len(set(p.chosen)) == 400
        assert {f"m{i:03d}" for i in range(800, 1000)} <= set(p.chosen)  # the 200 most traded, always
        seen.update(p.chosen)
        first = first or p
    assert first.revisit_cycles == 4 and first.hourly(900)
    assert len(seen) == 1000  # every open market within the hour


def test_kalshi_real_scale_books_every_market_hourly_and_leaves_room_for_the_cadence():
    volumes = {f"K{i}": None for i in range(120_000)}
    allowed = book_plan.budget(2.0, 900, used=120)  # 120 /markets pages of 1000
    p = book_plan.plan(volumes, 100, allowed, cycle=7)
    assert allowed == 600 and p.requests == 600 and len(p.chosen) == 60_000
    assert 1_029 + p.requests <= 0.95 * 1_800  # the rest of the cadence (README's budget) still fits
    assert p.revisit_cycles == 3 and p.hourly(900)
    assert "each market at least every 45 min" in p.describe(900)
    starved = book_plan.plan(volumes, 100, book_plan.budget(1.0, 900, used=120), cycle=7)
    assert starved.revisit_cycles == 9 and not starved.hourly(900)
    assert "NOT hourly" in starved.describe(900)


def test_a_plan_that_misses_the_hour_becomes_a_report_note():
    import logging

    from fetchers.base import PhaseCounters

    class Ctx:
        counters, log = PhaseCounters(), logging.getLogger("test")

    starved = book_plan.plan({f"K{i}": None for i in range(120_000)}, 100, 240, cycle=0)
    book_plan.report(Ctx, starved, 900, 0)
    assert Ctx.counters.notes and "NOT hourly" in Ctx.counters.notes[0]
    fine = book_plan.plan({"a": 1.0}, 100, 10, cycle=0)
    Ctx.counters.notes.clear()
    book_plan.report(Ctx, fine, 900, 1)
    assert Ctx.counters.notes == []


def test_a_faster_clock_with_rates_scaled_to_it_plans_the_real_budget():
    """The scale run and the soak run the clock at N x and raise requests_per_second N-fold, so a
    simulated 900 s cycle lasts 900 / N real seconds: the budget is what those real seconds allow,
    the same as at the real clock with the default rate (else books get N times the real budget)."""
    import msgspec

    from collector import clock
    from collector.config import Clock, Config

    real = book_plan.budget(2.0, 900, used=120)
    try:
        clock.configure(msgspec.structs.replace(Config(), clock=Clock(speed=2.0, real_origin=1.0, sim_origin=1.0)))
        assert book_plan.budget(4.0, 900, used=120) == real == 600
    finally:
        clock.configure(Config())
    assert book_plan.budget(2.0, 900, used=120) == real


def test_rotation_covers_every_market_within_revisit_cycles_while_the_market_count_changes():
    """At real grid times (cycle = t // 900, ~2 million) the rotation's start must not jump when a
    few markets open or close between cycles: the real-scale run (bench/SCALE.md, 2026-12-05) found
    3.7% of the Kalshi markets open all hour without a book in it, against the plan's "every 45 min"."""
    cycle0 = 1_793_494_800 // 900
    base = {f"K{i:05d}": float(i % 97) for i in range(11_900)}
    plans = []
    for k in range(4):
        volumes = dict(base)
        volumes.update({f"N{k}-{j}": None for j in range(7 * k)})  # a few new markets each cycle
        plans.append(book_plan.plan(volumes, 100, 60, cycle0 + k))
    assert all(p.revisit_cycles == 3 for p in plans)
    for first in range(2):  # any revisit_cycles consecutive cycles book every market open throughout
        seen = set().union(*(p.chosen for p in plans[first:first + 3]))
        assert set(base) <= seen, len(set(base) - seen)
