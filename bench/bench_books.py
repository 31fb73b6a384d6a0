"""Order-book benchmark: requests per cycle at real scale, fetcher CPU per 50k books, bytes per book.

    python bench/bench_books.py [--markets 4000] [--cycles 96] [--sim-markets 60000] [--shares 0.5,0.3]

0. One real SNAPSHOT against the simulator (default 60,000 markets, ~9,400 open): every open
   market gets a book row, in ceil(N/500) POST /books requests.
1. Requests per SNAPSHOT cycle for books, as the planner (fetchers/book_plan.py) decides them at
   46,000 open Polymarket markets (POST /books, 500 tokens) and 120,000 open Kalshi markets (GET
   /markets/orderbooks, 100 tickers), at the default 2 req/s and 15-minute cycles, after the
   snapshot sweep's own requests (470 Gamma pages, 120 Kalshi pages).
2. Fetcher CPU for 50,000 books: JSON bodies shaped like the real answers (full depth, ~20 levels
   a side, worst first) -> decode -> parse and sort (fetchers/books_parse.py) -> OrderBook records
   -> msgpack frames, as the fetcher does it. Target < 2 s.
3. Bytes per market-snapshot (one book, 5 levels x 2 sides) in SQLite (the ``book`` table's pages,
   stored through the sink's own code, unchanged books as same_as rows) and in the Parquet archive
   (exporter/book_archive.py), under several churn models (CHURN below): "realistic" (most markets
   illiquid, about 18 % of books differ from the previous cycle's), "every book moves" (the first
   model: every book changes every cycle) and one per --shares probability. When a book moves,
   most levels keep their price, sizes change on about a third of them (Polymarket sizes
   log-uniform up to 200k shares, Kalshi up to 900 contracts); observed at a stable point of the
   cycle; Polymarket book timestamps and hashes new on every answer. Targets <= 40 B and <= 12 B.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import msgspec  # noqa: E402
from report import figure  # noqa: E402

from collector import wire  # noqa: E402
from exporter import book_archive  # noqa: E402
from fetchers import book_plan  # noqa: E402
from fetchers.books_parse import (KALSHI_BOOKS, POLYMARKET_BOOKS, kalshi_levels, polymarket_levels,  # noqa: E402
                                  polymarket_stamp)
from sink.book_store import LevelsIndex, store_books  # noqa: E402
from sink.schema import connect_writer, migrate  # noqa: E402

T0 = 1_790_000_000 - 1_790_000_000 % 86400
GRID = 900


def requests_per_cycle() -> None:
    for platform, n, per_request, rate, sweep in (("Polymarket", 46_000, 500, 2.0, 470),
                                                   ("Kalshi", 120_000, 100, 2.0, 120)):
        allowed = book_plan.budget(rate, GRID, sweep)
        plan = book_plan.plan({f"m{i}": float(i) for i in range(n)}, per_request, allowed, 0)
        print(f"{platform}: {plan.describe(GRID)}")
        figure(f"{platform} book requests per 15-min cycle, {n:,} open markets", f"{plan.requests}",
               f"<= {allowed} (budget after the sweep)",
               f"{len(plan.chosen):,} of {n:,} markets get a book every cycle; sweep {sweep} requests")


def _poly_body(rng: random.Random, start: int, n: int) -> bytes:
    books = []
    for i in range(start, start + n):
        mid = rng.randrange(20, 980)
        bids = [{"price": f"{(mid - k) / 1000:.3f}", "size": f"{rng.uniform(5, 50000):.2f}"}
                for k in range(min(20, mid - 1), 0, -1)]
        asks = [{"price": f"{(mid + k) / 1000:.3f}", "size": f"{rng.uniform(5, 50000):.2f}"}
                for k in range(min(20, 999 - mid), 0, -1)]
        books.append({"market": f"0x{i:064x}", "asset_id": str(10**70 + i), "timestamp": "1786863545542",
                      "hash": f"{i:040x}", "bids": bids, "asks": asks, "min_order_size": "5", "tick_size": "0.001",
                      "neg_risk": False, "last_trade_price": "0.5"})
    return msgspec.json.encode(books)


def _kalshi_body(rng: random.Random, start: int, n: int) -> bytes:
    out = []
    for i in range(start, start + n):
        bid = rng.randrange(2, 97)
        yes = [[f"{(bid - k) / 100:.4f}", f"{rng.randrange(1, 900)}.00"] for k in range(min(10, bid - 1) - 1, -1, -1)]
        no_best = 99 - bid
        no = [[f"{(no_best - k) / 100:.4f}", f"{rng.randrange(1, 900)}.00"]
              for k in range(min(10, no_best) - 1, -1, -1)]
        out.append({"orderbook_fp": {"no_dollars": no, "yes_dollars": yes}, "ticker": f"KXBENCH-{i}"})
    return msgspec.json.encode({"orderbooks": out})


def fetcher_cpu(n_books: int = 50_000) -> None:
    rng = random.Random(3)
    poly = [_poly_body(rng, s, 500) for s in range(0, n_books, 500)]
    kalshi = [_kalshi_body(rng, s, 100) for s in range(0, n_books, 100)]
    encoder = msgspec.msgpack.Encoder()
    for name, bodies in (("Polymarket", poly), ("Kalshi", kalshi)):
        started = time.process_time()
        records = []
        for body in bodies:
            answer = (POLYMARKET_BOOKS if name == "Polymarket" else KALSHI_BOOKS).decode(body)
            if name == "Polymarket":
                for b in answer:
                    lv = polymarket_levels(b, 5)
                    ms, h = polymarket_stamp(b)
                    records.append(wire.OrderBook(platform="polymarket", market_id=b.asset_id, t=T0,
                                                  observed_at=T0 + 1.0, bid_px=lv.bid_px, bid_sz=lv.bid_sz,
                                                  ask_px=lv.ask_px, ask_sz=lv.ask_sz, book_ms=ms, book_hash=h))
            else:
                for e in answer.orderbooks:
                    lv = kalshi_levels(e, 5)
                    records.append(wire.OrderBook(platform="kalshi", market_id=e.ticker, t=T0,
                                                  observed_at=T0 + 1.0, bid_px=lv.bid_px, bid_sz=lv.bid_sz,
                                                  ask_px=lv.ask_px, ask_sz=lv.ask_sz))
            if len(records) >= 5000:
                encoder.encode(wire.Batch(sender="bench", seq=1, source="live", records=records))
                records = []
        cpu = time.process_time() - started
        mb = sum(map(len, bodies)) / 1e6
        figure(f"{name} fetcher CPU per {n_books:,} books", f"{cpu:.2f} s", "< 2 s",
               f"{cpu / n_books * 1e6:.1f} us/book over {mb:.0f} MB of full-depth JSON")


# Book churn between 15-minute cycles. "every book moves" (the first model): in every market, every
# cycle, a third of the level sizes change and the mid moves one tick a quarter of the time.
# "realistic": most markets are illiquid and their books sit still for hours; a market's book moves
# (as above) in a given cycle with a probability drawn from the activity classes below: 10 % of
# markets busy (every cycle), 30 % occasional (1 cycle in 5), 60 % dormant (1 in 50), so about 18 %
# of the books of a cycle differ from the previous cycle's. An assumption, not a measurement:
# --shares adds models where every book moves with one probability, so a reader can take their own.
CHURN = {"every book moves": ((1.0, 1.0),),
         "realistic": ((0.10, 1.0), (0.30, 0.2), (0.60, 0.02))}  # (share of markets, P(book moves) per cycle)


class _Book:
    """One market's book, moving like a real one between cycles."""

    def __init__(self, rng: random.Random, kalshi: bool, activity: float = 1.0) -> None:
        self.rng, self.kalshi, self.activity = rng, kalshi, activity
        self.tick = 10_000 if kalshi or rng.random() < 0.6 else 1_000
        self.mid = rng.randrange(50, 950) * 1000 // self.tick * self.tick
        self.sizes = [self._size() for _ in range(10)]
        self.slot = rng.uniform(5, 300)  # seconds into the cycle: the request order is the same every cycle

    def _size(self) -> int:
        return int(math.exp(self.rng.uniform(math.log(1), math.log(900 if self.kalshi else 200_000))))

    def step(self) -> tuple[list[int], list[int], list[int], list[int]]:
        if self.rng.random() < self.activity:
            if self.rng.random() < 0.25:
                self.mid = min(900_000, max(100_000, self.mid + self.rng.choice((-1, 1)) * self.tick))
            for k in range(10):
                if self.rng.random() < 0.33:
                    self.sizes[k] = self._size()
        bid_px = [self.mid - self.tick * (k + 1) for k in range(5)]
        ask_px = [self.mid + self.tick * (k + 1) for k in range(5)]
        return bid_px, self.sizes[:5], ask_px, self.sizes[5:]


def _activities(rng: random.Random, markets: int, classes: tuple) -> list[float]:
    return [rng.choices([p for _, p in classes], weights=[w for w, _ in classes])[0] for _ in range(markets)]


def storage(platform: str, markets: int, cycles: int, tmp: Path, churn: str) -> tuple[float, float]:
    """Bytes per market-snapshot (SQLite, Parquet) under one churn model; prints the two figures."""
    rng = random.Random(9)
    tmp = tmp / churn.replace(" ", "-")
    tmp.mkdir(exist_ok=True)
    path = tmp / f"{platform}.db"
    db = connect_writer(str(path))
    migrate(db)
    db.execute("PRAGMA synchronous = OFF")
    kalshi = platform == "kalshi"
    ids = {platform: {(f"KXBENCH-{i:06d}" if kalshi else f"0x{i:064x}"): i + 1 for i in range(markets)}}
    db.execute("BEGIN")
    db.executemany("INSERT INTO markets (id, platform, market_id, first_seen_at, observed_at) VALUES (?, ?, ?, 0, 0)",
                   [(ref, platform, m) for m, ref in ids[platform].items()])
    db.execute("COMMIT")
    activity = _activities(rng, markets, CHURN[churn])
    books = {m: _Book(rng, kalshi, a) for m, a in zip(ids[platform], activity)}
    index = LevelsIndex()  # the sink's own memory of where each market's levels are
    counts: dict = defaultdict(int)
    changed = 0
    last: dict = {}
    for c in range(cycles):
        t = T0 + c * GRID
        records = []
        for market_id, b in books.items():
            bid_px, bid_sz, ask_px, ask_sz = b.step()
            changed += market_id in last and last[market_id] != (bid_px, bid_sz, ask_px, ask_sz)
            last[market_id] = (bid_px, bid_sz, ask_px, ask_sz)
            observed = t + b.slot + rng.uniform(0, 2)
            records.append(wire.OrderBook(platform=platform, market_id=market_id, t=t, observed_at=observed,
                                          bid_px=bid_px, bid_sz=bid_sz, ask_px=ask_px, ask_sz=ask_sz,
                                          book_ms=None if kalshi else int(observed * 1000) - rng.randrange(0, 400),
                                          book_hash=None if kalshi else f"{rng.getrandbits(160):040x}"))
        db.execute("BEGIN")
        store_books(db, records, ids, counts, index)
        db.execute("COMMIT")
    rows = counts["books"]
    try:
        table_bytes = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'book'").fetchone()[0]
        how = "dbstat pages of the book table"
    except sqlite3.OperationalError:
        table_bytes, how = path.stat().st_size, "whole file"
    blob = db.execute("SELECT coalesce(sum(length(levels)), 0) FROM book").fetchone()[0] / rows
    refs = db.execute("SELECT count(*) FROM book WHERE same_as IS NOT NULL").fetchone()[0]
    share = changed / (markets * (cycles - 1)) * 100 if cycles > 1 else 100.0
    sqlite_b = table_bytes / rows
    figure(f"{platform} order book bytes per market-snapshot in SQLite (5 levels x 2 sides), churn: {churn}",
           f"{sqlite_b:.1f} B", "<= 40 B",
           f"{rows:,} books, {markets:,} markets x {cycles} cycles ({how}); {share:.0f} % of books changed "
           f"between cycles, {refs:,} stored as same_as rows; packed levels {blob:.1f} B of it")
    rows_p = db.execute(book_archive._ROWS, (T0, T0 + cycles * GRID, platform)).fetchall()
    db.close()
    out = tmp / f"{platform}.parquet"
    book_archive.write(book_archive.table_of(rows_p), out)
    parquet_b = out.stat().st_size / len(rows_p)
    figure(f"{platform} order book bytes per market-snapshot in the Parquet archive, churn: {churn}",
           f"{parquet_b:.1f} B", "<= 12 B",
           f"{len(rows_p):,} books sorted by market and time, zstd (t and offsets delta-coded)")
    return sqlite_b, parquet_b


def simulator_cycle(markets: int, tmp: Path, real_scale: bool = False) -> None:
    """One real Polymarket SNAPSHOT (sweep + books) against the simulator through a real sink;
    ``real_scale``: the simulator's real-scale world (46,000 open Polymarket markets) instead."""
    import subprocess

    from simulator import server
    from simulator.sizing import WorldSize
    from tests.polymarket_helpers import fetch, sim_config  # the same set-up as the integration tests

    size = WorldSize() if real_scale else None
    with server.start(seed=7, markets=markets, speed=0, size=size) as sim:
        cfg = sim_config(tmp, sim, rps=1000.0)
        sink = subprocess.Popen([str(Path(sys.executable).parent / "sink"), "--config", str(cfg)],
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while not (tmp / "collector.db").exists() and time.time() < deadline:
                time.sleep(0.2)
            r = fetch(cfg, "snapshot", timeout=900)
            requests = sum(v for k, v in sim.stats()["requests"].items() if "books" in k)
        finally:
            sink.terminate()
            sink.wait(60)
    db = sqlite3.connect(tmp / "collector.db")
    (open_markets,), = db.execute("SELECT rows FROM snapshot_cycles WHERE platform = 'polymarket'").fetchall()
    (rows, found), = db.execute("SELECT rows, found FROM book_cycles WHERE platform = 'polymarket'").fetchall()
    db.close()
    every = "= every open market" if rows == open_markets else f"of {open_markets:,} open markets: NOT every one"
    world = "real-scale world" if real_scale else f"{markets:,}-market world"
    figure(f"Polymarket SNAPSHOT against the simulator ({world}), {open_markets:,} open markets",
           f"{requests} book requests", f"<= {math.ceil(open_markets / 500)} (500 tokens each)",
           f"{rows:,} book rows {every} (exit {r.returncode}); {found:,} with a book, the rest "
           "have none on the CLOB (legacy AMM markets)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", type=int, default=4000)
    ap.add_argument("--cycles", type=int, default=96)
    ap.add_argument("--sim-markets", type=int, default=60_000, help="simulator world size (0: skip)")
    ap.add_argument("--sim-real-scale", action="store_true",
                    help="the simulator's real-scale world (46,000 open Polymarket markets) instead of --sim-markets")
    ap.add_argument("--shares", default="0.5,0.3", help="extra churn models: P(book moves) per cycle, comma-separated")
    args = ap.parse_args()
    for p in filter(None, args.shares.split(",")):
        CHURN[f"{float(p):.0%} of books move each cycle"] = ((1.0, float(p)),)
    requests_per_cycle()
    if args.sim_markets or args.sim_real_scale:
        with tempfile.TemporaryDirectory() as tmp:
            simulator_cycle(args.sim_markets, Path(tmp), args.sim_real_scale)
    fetcher_cpu()
    with tempfile.TemporaryDirectory() as tmp:
        for churn in CHURN:
            for platform in ("polymarket", "kalshi"):
                storage(platform, args.markets, args.cycles, Path(tmp), churn)


if __name__ == "__main__":
    main()
