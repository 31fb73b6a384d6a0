"""Real-scale worlds (issue #20): the open/closed split asked for is the one served, the record
cache is bounded without changing a byte, and the CLI takes the options."""

from __future__ import annotations

import re
import subprocess

import requests

from simulator.kx_model import MVE
from simulator.server import make_server
from simulator.faults import Faults
from simulator.sizing import WorldSize
from simulator.world import World
from tests.conftest import script

SIZE = WorldSize(open_polymarket=600, closed_polymarket=1800, open_kalshi=900, closed_kalshi=2400)


def counts(w: World) -> dict[str, int]:
    """Open/closed at the start time, by each market's own status (parlays aside on Kalshi)."""
    out = {"pm_open": 0, "pm_closed": 0, "kx_open": 0, "kx_closed": 0}
    now = w.start
    for i in range(w.pm.n_listed(now)):
        out["pm_open" if w.pm.status(w.pm.market(i), now) == "open" else "pm_closed"] += 1
    for i in range(w.kx.n_listed(now)):
        m = w.kx.market(i)
        if m.ev.etype == MVE:
            continue
        st = w.kx.status(m, now)
        if st in ("active", "inactive"):
            out["kx_open"] += 1
        elif st != "initialized":
            out["kx_closed"] += 1
    return out


def test_world_has_the_open_and_closed_counts_asked_for():
    c = counts(World(seed=3, size=SIZE, speed=0))
    for key, want in (("pm_open", 600), ("pm_closed", 1800), ("kx_open", 900), ("kx_closed", 2400)):
        assert abs(c[key] - want) <= 0.15 * want, (key, c[key], want)


def test_kalshi_closes_are_mostly_early_and_settlements_lag():
    w = World(seed=3, size=SIZE, speed=0)
    closed = [w.kx.market(i) for i in range(w.kx.n_listed(w.start)) if w.kx.market(i).close <= w.start]
    early = sum(m.close < m.sched for m in closed)
    assert early > 0.5 * len(closed)
    lags = sorted(m.final - m.close for m in closed)
    assert lags[0] > 0 and lags[len(lags) * 9 // 10] > 86400   # a tenth wait more than a day


def test_bounded_cache_serves_identical_pages():
    """A cache far smaller than the catalogue evicts and rebuilds; every page is the same bytes."""
    bodies = []
    for cache in (10**6, 50):
        w = World(seed=5, size=SIZE, speed=0, cache=cache)
        sim, httpd = make_server(w, Faults("", 5), 0)
        import threading
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        try:
            s, got = requests.Session(), []
            for path in ("/gamma/markets/keyset?limit=100&closed=false",
                         "/kalshi/trade-api/v2/markets?limit=1000&status=open&mve_filter=exclude",
                         "/kalshi/trade-api/v2/markets?limit=1000&status=closed"):
                got.append(s.get(url + path).content)
            bodies.append(got)
            assert len(w.pm._markets) <= cache and len(w.kx._markets) <= cache
        finally:
            httpd.shutdown()
            httpd.server_close()
    assert bodies[0] == bodies[1]
    assert b'"markets":[]' not in bodies[0][1]


def test_cli_takes_real_scale_options_and_refuses_mixing_with_markets():
    p = subprocess.Popen([script("simulator"), "--port", "0", "--speed", "0", "--open-polymarket", "300",
                          "--closed-polymarket", "900", "--open-kalshi", "400", "--closed-kalshi", "1200"],
                         stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+", p.stdout.readline()).group(0)
        rows = requests.get(url + "/kalshi/trade-api/v2/markets?limit=1000&status=open&mve_filter=exclude").json()
        assert 300 <= len(rows["markets"]) <= 500
    finally:
        p.terminate()
        p.wait(10)
    r = subprocess.run([script("simulator"), "--port", "0", "--markets", "100", "--open-kalshi", "400"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "exclude each other" in r.stderr
