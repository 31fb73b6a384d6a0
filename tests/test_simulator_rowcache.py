"""The row cache (simulator/rowcache.py) serves exactly the bytes of a fresh render.

Two simulators over real HTTP, same seed and start, frozen clocks moved forward together by odd
amounts (seconds inside a minute, minute edges, hours and days that carry markets through close,
proposal, dispute and settlement): one caches rendered rows, the other renders every row afresh.
Every catalogue page must be byte-identical, swept twice at each time (the second sweep is served
from the cache).
"""

from __future__ import annotations

import pytest
import requests

from simulator.server import start

SEED, MARKETS, START = 11, 400, "2026-11-01T00:00:00Z"
STEPS = (0, 0.4, 29.6, 30, 59.99, 0.02, 3600, 7 * 3600 + 13.5, 86400, 3 * 86400 + 61, 20 * 86400)
MOMENT_VISITS = 10             # lifecycle moments visited half a second before and after
LISTS = (  # (path under the base URL, query, cursor parameter, cursor field)
    ("/gamma/markets/keyset", {"limit": 100, "closed": "false"}, "after_cursor", "next_cursor"),
    ("/gamma/markets/keyset", {"limit": 100, "closed": "true"}, "after_cursor", "next_cursor"),
    ("/gamma/markets", {"limit": 100, "closed": "true", "offset": 40}, None, None),
    ("/kalshi/trade-api/v2/markets", {"limit": 1000}, "cursor", "cursor"),
    ("/kalshi/trade-api/v2/markets", {"limit": 200, "status": "open", "mve_filter": "exclude"},
     "cursor", "cursor"),
    ("/kalshi/trade-api/v2/markets", {"limit": 1000, "status": "settled"}, "cursor", "cursor"),
    ("/kalshi/trade-api/v2/historical/markets", {"limit": 1000}, "cursor", "cursor"),
)


def sweep(s: requests.Session, url: str, path: str, query: dict, cur_param, cur_field) -> list[bytes]:
    """Raw bodies of every page of one list."""
    params, pages = dict(query), []
    while len(pages) < 200:
        r = s.get(url + path, params=params, timeout=30)
        assert r.status_code == 200, r.text
        pages.append(r.content)
        cur = r.json().get(cur_field) if cur_field else None
        if not cur:
            break
        params[cur_param] = cur
    return pages


def visit_times(world) -> list[float]:
    """Offsets from the start: STEPS summed, plus pairs just around lifecycle moments (close,
    proposal, dispute, settlement, ...), so a row cached within one simulated minute must notice
    the moment passing."""
    t, out = 0.0, []
    for step in STEPS:
        t += step
        out.append(t)
    moments = set()
    for i in range(MARKETS):
        pm, kx = world.pm.market(i), world.kx.market(i)
        moments.update((pm.ev.close, pm.prop, pm.disp, pm.final, kx.close, kx.determined, kx.disp,
                        kx.amended, kx.final))
    ahead = sorted(x - world.start for x in moments if x is not None and world.start + 1 < x)
    for x in ahead[:: max(1, len(ahead) // MOMENT_VISITS)][:MOMENT_VISITS]:
        out += [x - 0.5, x + 0.5]
    return sorted(out)


@pytest.mark.parametrize("legacy_cents", [False, True])
def test_cached_rows_are_the_bytes_of_a_fresh_render(legacy_cents):
    """Rows kept, rows re-made from a template at a new minute, and rows rendered afresh all
    serve the uncached render's bytes (legacy: the Kalshi integer-cent form's own slots)."""
    cached = start(seed=SEED, markets=MARKETS, speed=0, start=START, legacy_cents=legacy_cents)
    fresh = start(seed=SEED, markets=MARKETS, speed=0, start=START, legacy_cents=legacy_cents)
    fresh.world.pm.row_cache = fresh.world.kx.row_cache = False
    lists = [x for x in LISTS if not legacy_cents or x[0].startswith("/kalshi")]
    s = requests.Session()
    try:
        rows_seen = 0
        for at in visit_times(fresh.world):
            cached.advance(cached.world.start + at - cached.now())
            fresh.advance(fresh.world.start + at - fresh.now())
            assert cached.now() == fresh.now()
            for path, query, cp, cf in lists:
                want = sweep(s, fresh.url, path, query, cp, cf)
                for _ in range(2):          # cold, then from the cache
                    assert sweep(s, cached.url, path, query, cp, cf) == want, (at, path, query)
                rows_seen += sum(p.count(b'"ticker"') + p.count(b'"conditionId"') for p in want)
        assert rows_seen > 5000       # the sweeps really carried rows
        kx = cached.world.kx.row_counts   # all three ways were taken
        assert kx["filled"] > 1000 and kx["rendered"] > 100 and kx["kept"] > 1000, kx
        if not legacy_cents:
            assert cached.world.pm.row_counts["kept"] > 1000, cached.world.pm.row_counts
        cached_rows = [m for m in (cached.world.kx.market(i) for i in range(50)) if m.row is not None]
        assert cached_rows, "the cached simulator kept rendered rows"
        assert all(fresh.world.kx.market(i).row is None for i in range(50)), "the switch turns it off"
        assert sum(fresh.world.kx.row_counts.values()) == 0
    finally:
        cached.stop()
        fresh.stop()
