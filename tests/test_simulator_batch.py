"""The page-wide walk (simulator/batchwalk.py) gives bit for bit the scalar walk's floats.

Catalogue rows are byte-compared with an uncached render in tests/test_simulator_rowcache.py;
here the batch itself is compared over the real catalogues' paths at many minutes (open, the
last minute before close, octave edges, far into long markets), so a mismatch names the path
and minute instead of a page.
"""

from __future__ import annotations

from simulator import batchwalk
from simulator.fmt import KX_WHOLE_COUNT, kx_count, kx_dollars
from simulator.world import World


def test_batch_walk_equals_the_scalar_walk_on_this_interpreter():
    assert batchwalk.EXACT, "the numpy tuple hash disagrees with CPython's here (scalar fallback)"
    world = World(seed=3, markets=400)
    paths, ks = [], []
    for i in range(400):
        for p in (world.pm.market(i).path, world.kx.market(i).path):
            for k in {0, 1, 15, 16, 17, 2047, 2048, p.k_close // 3, p.k_close - 1, p.k_close}:
                if 0 <= k <= p.k_close:
                    paths.append(p)
                    ks.append(k)
    got = batchwalk.walk_many(paths, ks)
    want = [p.walk(k) for p, k in zip(paths, ks)]
    bad = [(p.s, k, g, w) for p, k, g, w in zip(paths, ks, got, want) if g != w]
    assert not bad, bad[:5]
    assert len(ks) > 5000


def test_batch_walk_of_nothing_is_empty():
    assert batchwalk.walk_many([], []) == []


def test_kalshi_number_formats_are_exact():
    """The row templates write prices as `%d.%04d` of divmod(units, 10,000) and whole counts as
    `%d.00`, as kx_dollars / kx_count do."""
    for u in range(0, 30_001):
        assert kx_dollars(u) == "%d.%04d" % divmod(u, 10_000) == f"{u / 10_000:.4f}"
    for n in (0, 1, 4918, 10**9):
        assert kx_count(float(n)) == KX_WHOLE_COUNT % n
    assert kx_count(4918.0) == "4918.00"


def test_kalshi_page_numbers_equal_the_scalar_row_numbers():
    """kalshi_batch.moving_many (a page's MOVING numbers in numpy) gives every market's
    `_moving` floats, across the lifecycle: unopened, trading, paused, closed, settled, parlays."""
    from simulator import kalshi_batch
    from simulator import kalshi_render as render

    world = World(seed=5, markets=600)
    cat, statuses = world.kx, set()
    for days in (0, 0.3, 1, 4, 15, 60):
        now = world.start + days * 86400 + 17.25
        ms = [cat.market(i) for i in range(cat.n_listed(now))]
        status = [cat.status(m, now) for m in ms]
        statuses.update(status)
        got = kalshi_batch.moving_many(cat.seed, ms, now, [st in render.TRADING for st in status])
        for m, st, row in zip(ms, status, got):
            plan = render._plan(m, now, st)
            assert tuple(row) == render._moving(cat, m, now, plan, render._walks(m, plan)), (m.ticker, now)
    assert {"active", "closed", "finalized", "initialized"} <= statuses
