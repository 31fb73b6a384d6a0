"""Order books captured by SNAPSHOT end to end: simulator over HTTP, real sink, `fetcher --once`."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess

import pytest
import requests

from simulator import server
from tests.conftest import script, start_sink
from tests.polymarket_helpers import fetch, sim_config

pytestmark = pytest.mark.timeout(300)


def db(tmp_path):
    return sqlite3.connect(f"file:{tmp_path / 'collector.db'}?mode=ro", uri=True)


def best_levels(con, platform, t):
    """market -> (best bid, best ask) as stored in the order_books view, in millionths."""
    out: dict[str, list] = {}
    for market_id, side, price in con.execute(
            "SELECT market_id, side, price FROM order_books WHERE platform = ? AND snapshot_ts = ? AND level = 1",
            (platform, t)):
        out.setdefault(market_id, [None, None])[side == "ask"] = round(price * 1e6)
    return out


@pytest.mark.slow
def test_every_active_polymarket_market_gets_a_book_every_cycle(tmp_path, procs):
    with server.start(seed=11, markets=1500, speed=0) as sim:
        for cycle in range(2):
            if cycle:
                sim.advance(900)
            cfg = sim_config(tmp_path, sim, rps=100.0)
            if cycle == 0:
                start_sink(procs, tmp_path, cfg)
                assert fetch(cfg, "discover").returncode == 0
            r = fetch(cfg, "snapshot")
            assert r.returncode == 0, r.stderr[-2000:]
            assert "books for all" in r.stderr
        con = db(tmp_path)
        cycles = con.execute("SELECT t, rows FROM snapshot_cycles WHERE platform = 'polymarket' ORDER BY t").fetchall()
        assert len(cycles) == 2
        for t, snapshots in cycles:
            (rows, found), = con.execute("SELECT rows, found FROM book_cycles WHERE platform = 'polymarket' AND t = ?",
                                         (t,)).fetchall()
            assert rows == snapshots > 100  # one book per snapshotted market, every cycle
            assert found == rows
            books = best_levels(con, "polymarket", t)
            snaps = {m: (round(b * 1e6) if b is not None else None, round(a * 1e6) if a is not None else None)
                     for m, b, a in con.execute("SELECT market_id, best_bid, best_ask FROM price_snapshots "
                                                "WHERE platform = 'polymarket' AND snapshot_ts = ?", (t,))}
            assert {m: tuple(v) for m, v in books.items()} == {m: snaps[m] for m in books}
            assert len(books) > 0.9 * len(snaps)  # books with at least one level
        # the truth check: what is stored is what the simulator serves for those tokens now
        t_last = cycles[-1][0]
        extra = dict(con.execute("SELECT market_id, json_extract(extra, '$.clob_token_ids') FROM markets "
                                 "WHERE platform = 'polymarket'").fetchall())
        stored = best_levels(con, "polymarket", t_last)
        sample = sorted(stored)[:300]
        tokens = {json.loads(extra[m])[0]: m for m in sample}
        served = requests.post(sim.clob_url + "/books", json=[{"token_id": tok} for tok in tokens]).json()
        for b in served:
            bid = max(round(float(x["price"]) * 1e6) for x in b["bids"]) if b["bids"] else None
            ask = min(round(float(x["price"]) * 1e6) for x in b["asks"]) if b["asks"] else None
            assert stored[tokens[b["asset_id"]]] == [bid, ask]
        observed = con.execute("SELECT min(observed_ts - snapshot_ts), max(observed_ts - snapshot_ts) "
                               "FROM order_books WHERE platform = 'polymarket'").fetchone()
        assert 0 <= observed[0] <= observed[1] < 900  # each book carries its own observation time
        st = status(cfg)
        pm = st["books"]["polymarket"]
        assert pm["open"] == cycles[-1][1] and pm["books"] == pm["open"] and pm["hour_markets"] >= pm["with_levels"]
        assert pm["cycle_share"] > 0.9 and pm["hour_share"] > 0.9
        table = subprocess.run([script("collector"), "--config", str(cfg), "status"], capture_output=True, text=True)
        assert re.search(r"order books polymarket +this cycle \d+% \(\d+/\d+ open markets", table.stdout), table.stdout


@pytest.mark.slow
def test_kalshi_books_match_quotes_and_the_planner_rotates_when_short(tmp_path, procs):
    with server.start(seed=11, markets=12000, speed=0) as sim:  # ~420 open non-parlay markets
        cfg = sim_config(tmp_path, sim, kalshi={"requests_per_second": 50.0})
        start_sink(procs, tmp_path, cfg)
        r = fetch(cfg, "snapshot", platform="kalshi")
        assert r.returncode == 0, r.stderr[-2000:]
        con = db(tmp_path)
        (t, snapshots), = con.execute("SELECT t, rows FROM snapshot_cycles WHERE platform = 'kalshi'").fetchall()
        (rows, found), = con.execute("SELECT rows, found FROM book_cycles WHERE platform = 'kalshi'").fetchall()
        assert rows == found == snapshots > 100
        books = best_levels(con, "kalshi", t)
        snaps = {m: [round(b * 1e6) if b else None, round(a * 1e6) if a is not None and a < 1 else None]
                 for m, b, a in con.execute("SELECT market_id, best_bid, best_ask FROM price_snapshots "
                                            "WHERE platform = 'kalshi'")}
        assert books and all(books[m] == snaps[m] for m in books)

        # a budget too small for every market: most traded first, the rest rotated, as the plan says
        sim.advance(900)
        short = sim_config(tmp_path, sim, kalshi={"requests_per_second": 2.0},
                           general={"snapshot_interval_minutes": 0.1})  # 6 s cycles: 0.4 of 12 requests, 1 for prices
        r = fetch(short, "snapshot", platform="kalshi")
        assert r.returncode == 0, r.stderr[-2000:]
        assert re.search(r"books for 300 of 4\d\d open markets in 3 requests \(budget 3\), "
                         r"each market at least every 12 s", r.stderr), r.stderr[-2000:]  # two 6-s cycles
        (t2, rows2), = con.execute("SELECT t, rows FROM book_cycles WHERE platform = 'kalshi' AND t > ?",
                                   (t,)).fetchall()
        assert rows2 == 300
        top = [m for m, in con.execute("SELECT m.market_id FROM snapshot s JOIN markets m ON m.id = s.market "
                                       "WHERE s.t = ? ORDER BY s.volume DESC, m.market_id LIMIT 150", (t2,))]
        booked = {m for m, in con.execute("SELECT m.market_id FROM book b JOIN markets m ON m.id = b.market "
                                          "WHERE b.t = ?", (t2,))}
        assert set(top) <= booked  # the most traded always get their book


@pytest.mark.slow
def test_kalshi_401_turns_depth_off_once_and_leaves_prices_alone(tmp_path, procs):
    with server.start(seed=11, markets=600, speed=0, kalshi_books_auth=True) as sim:
        cfg = sim_config(tmp_path, sim, kalshi={"requests_per_second": 50.0})
        start_sink(procs, tmp_path, cfg)
        r = fetch(cfg, "snapshot", platform="kalshi")
        assert r.returncode == 0, r.stderr[-2000:]
        assert len(re.findall(r"ERROR .*kalshi order books off", r.stderr)) == 1, r.stderr[-2000:]
        stats = sim.stats()
    con = db(tmp_path)
    assert con.execute("SELECT rows FROM snapshot_cycles WHERE platform = 'kalshi'").fetchone()[0] > 10
    assert con.execute("SELECT count(*) FROM book").fetchone()[0] == 0
    ok, message = con.execute("SELECT ok, message FROM phase_runs WHERE platform = 'kalshi'").fetchone()
    assert ok == 1 and "kalshi order books off: HTTP 401" in message
    book_requests = sum(v for k, v in stats["requests"].items() if "orderbooks" in k)
    assert book_requests == 1, stats["requests"]  # no retry storm
    assert status(cfg)["books"]["kalshi"]["note"].startswith("kalshi order books off: HTTP 401")


def status(cfg) -> dict:
    r = subprocess.run([script("collector"), "--config", str(cfg), "status", "--json"], capture_output=True, text=True)
    return json.loads(r.stdout)


@pytest.mark.slow
def test_both_tokens_store_the_no_book_too(tmp_path, procs):
    with server.start(seed=3, markets=400, speed=0) as sim:
        cfg = sim_config(tmp_path, sim, rps=100.0, polymarket={"book_tokens": "both"})
        start_sink(procs, tmp_path, cfg)
        r = fetch(cfg, "snapshot")
        assert r.returncode == 0, r.stderr[-2000:]
    con = db(tmp_path)
    yes = {m: (p, side) for m, side, p in con.execute(
        "SELECT market_id, side, round(price * 1e6) FROM order_books WHERE outcome = 'YES' AND level = 1")}
    pairs = con.execute("SELECT y.market_id, y.side, round(y.price * 1e6), round(n.price * 1e6) FROM order_books y "
                        "JOIN order_books n ON n.market_id = y.market_id AND n.outcome = 'NO' AND n.level = 1 "
                        "AND n.side = CASE y.side WHEN 'bid' THEN 'ask' ELSE 'bid' END "
                        "WHERE y.outcome = 'YES' AND y.level = 1").fetchall()
    assert yes and len(pairs) >= len(yes) // 2
    assert all(y == 1_000_000 - n for _, _, y, n in pairs)  # the NO book mirrors the YES book
    (rows,), = con.execute("SELECT rows FROM book_cycles").fetchall()
    (markets,), = con.execute("SELECT rows FROM snapshot_cycles").fetchall()
    assert rows == markets  # book_cycles counts markets (YES books)
    assert con.execute("SELECT count(*) FROM book WHERE outcome = 1").fetchone()[0] == markets
