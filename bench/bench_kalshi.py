"""Kalshi fetcher costs, printed as ratios against the issue's targets (never asserted).

1. CPU to parse + publish 100,000 markets: JSON pages of 1,000 decoded as the HTTP client does,
   each market turned into a MarketUpsert (DISCOVER) or a PriceSnapshot (SNAPSHOT), and every
   1,000 records encoded into a wire.Batch frame as the publisher does. Target < 3 s CPU.
   Also as a ratio measured in the same run, which a shared, noisy machine does not skew: that
   CPU against a bare ``json.loads`` of the same page bytes (target <= 3x), each the best of
   three rounds in which the passes alternate; then the same ratios on pages the simulator serves.
   DISCOVER builds a page of records and checks it against collector/bounds.py at once
   (``kp.page_problems``), as fetchers/kalshi.py does.
2. Requests per SNAPSHOT cycle against the simulator over real HTTP, versus ceil(N/1000) + 10
   where N is the number of open non-parlay markets.

    .venv/bin/python bench/bench_kalshi.py [--markets 100000] [--sim-markets 10000 50000 200000]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import time
from pathlib import Path

import msgspec

from collector import wire
from fetchers import kalshi_parse as kp
from fetchers.kalshi_rows import DECODERS
from report import figure, raw_json_cpu  # noqa: E402  (bench/ is on sys.path when run as a script)

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "api" / "kalshi" / "markets_page.json"
PAGE = 1000  # markets per JSON page and records per wire batch (publisher.BATCH_RECORDS)
TARGET_CPU_S = 3.0
TARGET_RAW_RATIO = 3.0  # fetcher CPU per page / bare json.loads of the same bytes
ROUNDS = 3  # alternating passes of json.loads, discover and snapshot; the best of each counts


def make_pages(n: int) -> list[bytes]:
    base = json.loads(EXAMPLE.read_text())["markets"]
    pages, rows = [], []
    for i in range(n):
        m = copy.deepcopy(base[i % 2])
        m["ticker"] = f"KXBENCH-{i // 7:06d}-M{i:07d}"
        m["event_ticker"] = f"KXBENCH-{i // 7:06d}"
        cents = 1 + i % 97
        m["yes_bid_dollars"], m["yes_ask_dollars"] = f"{cents / 100:.4f}", f"{(cents + 2) / 100:.4f}"
        m["volume_fp"] = f"{i * 1.25:.2f}"
        rows.append(m)
        if len(rows) == PAGE:
            pages.append(msgspec.json.encode({"cursor": f"c{i}", "markets": rows}))
            rows = []
    if rows:
        pages.append(msgspec.json.encode({"cursor": "", "markets": rows}))
    return pages


def decode_page(raw: bytes):
    """As HttpClient.get_json with the fetcher's typed decoder: typed when the page validates, else plain."""
    try:
        return DECODERS["markets"].decode(raw)
    except msgspec.ValidationError:
        return msgspec.json.decode(raw)


def parse_and_publish(pages: list[bytes], kind: str) -> tuple[float, int, int]:
    """CPU seconds, records, frame bytes for one pass over the pages."""
    frames = records = 0
    seq = 0
    t0 = time.process_time()
    for raw in pages:
        items, _ = kp.page(decode_page(raw), "markets")
        batch = []
        if kind == "discover":  # as fetchers/kalshi.py _offer_all: build the page, check it at once
            pairs = []
            for m in items:
                try:
                    pairs.append(kp.unchecked_records(m, 1.7e9, "KXBENCH", "Economics"))
                except kp.BadRecord:
                    continue
            for pair, why in zip(pairs, kp.page_problems(pairs)):
                if not why:
                    batch.extend(r for r in pair if r is not None)
        else:
            for m in items:
                try:
                    batch.append(kp.price_snapshot(m, 1_700_000_100))
                except kp.BadRecord:
                    continue
        seq += 1
        frames += len(wire.encode(wire.Batch(sender="bench", seq=seq, source="simulator", records=batch)))
        records += len(batch)
    return time.process_time() - t0, records, frames


def snapshot_requests(n_markets: int) -> None:
    from collector import clock
    from collector.config import Config, Kalshi
    from fetchers import kalshi
    from fetchers.base import PhaseContext, PhaseCounters
    from fetchers.http import HttpClient
    from simulator import server

    h = server.start(seed=7, markets=n_markets, speed=0)
    try:
        cfg = msgspec.structs.replace(Config(), kalshi=Kalshi(base_url=h.kalshi_url, requests_per_second=1000.0))
        # the market sweep alone: order-book requests have their own budget and figures (bench_books.py)
        cfg = msgspec.structs.replace(cfg, snapshot=msgspec.structs.replace(cfg.snapshot, book_depth=0))
        cfg = msgspec.structs.replace(cfg, clock=msgspec.structs.replace(
            cfg.clock, speed=1e-9, sim_origin=h.now(), real_origin=time.time()))
        clock.configure(cfg)
        counters, out = PhaseCounters(), []
        http = HttpClient("kalshi", cfg.kalshi, counters)
        ctx = PhaseContext(platform="kalshi", phase="snapshot", cfg=cfg, http=http, publish=out.append,
                           counters=counters, log=logging.getLogger("bench"), grid_time=None)
        t0 = time.perf_counter()
        kalshi.snapshot(ctx)
        wall = time.perf_counter() - t0
        truth = h.truth()["kalshi"]
        n_open = sum(1 for m in truth if not m["is_mve"] and m["status"] == "active")
        budget = math.ceil(n_open / 1000) + 10
        print(f"snapshot cycle: {len(truth)} listed markets in the simulator, {n_open} open non-parlay; "
              f"{len(out)} snapshots in {counters.requests} requests ({wall:.1f} s wall)")
        print(f"  budget ceil(N/1000)+10 = {budget}: requests/budget = {counters.requests / budget:.2f}"
              f" ({'PASS' if counters.requests <= budget else 'FAIL'})")
        figure(f"Kalshi snapshot cycle, market sweep, {n_open:,} open markets", f"{counters.requests} requests",
               f"<= {budget}", f"ceil(N/1000)+10 in the simulator with {len(truth):,} listed markets; order books not counted (bench_books.py)")
    finally:
        h.stop()


def cpu_ratios(pages: list[bytes], rounds: int = ROUNDS) -> dict[str, tuple[float, int, int]]:
    """Best (CPU s, records, frame bytes) of each kind over ``rounds``, and ``raw``: the best bare
    json.loads of the same pages. The passes alternate within each round, so a burst of load from
    the other users of a shared machine lands on both sides of the ratio instead of one."""
    best = {"raw": (float("inf"), 0, 0)}
    for _ in range(rounds):
        best["raw"] = min(best["raw"], (raw_json_cpu(pages, repeat=1), 0, 0))
        for kind in ("discover", "snapshot"):
            best[kind] = min(best.get(kind, (float("inf"), 0, 0)), parse_and_publish(pages, kind))
    return best


def simulator_pages(n_markets: int, limit: int = 20) -> list[bytes]:
    """Up to ``limit`` raw 1,000-market pages of GET /markets as the simulator serves them."""
    import requests

    from simulator import server

    h = server.start(seed=7, markets=n_markets, speed=0)
    pages, params = [], {"limit": PAGE}
    try:
        with requests.Session() as http:
            while len(pages) < limit:
                resp = http.get(h.kalshi_url + "/markets", params=params, timeout=30)
                resp.raise_for_status()
                pages.append(resp.content)
                cursor = resp.json().get("cursor")
                if not cursor:
                    break
                params["cursor"] = cursor
    finally:
        h.stop()
    return pages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=100_000)
    ap.add_argument("--sim-markets", type=int, nargs="*", default=[10_000, 50_000, 200_000])
    args = ap.parse_args()
    pages = make_pages(args.markets)
    size = sum(map(len, pages))
    print(f"{args.markets} markets in {len(pages)} JSON pages ({size / 1e6:.0f} MB); best of {ROUNDS} alternating rounds")
    best = cpu_ratios(pages)
    raw = best["raw"][0]
    print(f"bare json.loads of the same pages: {raw:.2f} s CPU ({raw / len(pages) * 1e3:.2f} ms/page)")
    for kind in ("discover", "snapshot"):
        cpu, records, frames = best[kind]
        ratio = cpu / raw
        print(f"{kind:9s}: {ratio:.2f}x a bare json.loads of the same pages (target <= {TARGET_RAW_RATIO:g}x)")
        figure(f"Kalshi fetcher CPU per page vs json.loads, {kind}", f"{ratio:.2f}x", f"<= {TARGET_RAW_RATIO:g}x",
               f"{cpu / len(pages) * 1e3:.1f} ms vs {raw / len(pages) * 1e3:.1f} ms per 1,000-market page, same run")
        print(f"{kind:9s}: decode + parse + encode {records} records -> {frames / 1e6:.1f} MB of frames:"
              f" {cpu:.2f} s CPU; target {TARGET_CPU_S:.0f} s: ratio {cpu / TARGET_CPU_S:.2f}"
              f" ({cpu / args.markets * 1e6:.1f} us/market)")
        figure(f"Kalshi fetcher CPU, {kind} of {args.markets:,} markets", f"{cpu:.2f} s", f"< {TARGET_CPU_S:.0f} s",
               f"{cpu / args.markets * 1e6:.1f} us/market, decode + parse + wire encoding")
    if args.sim_markets:  # the same ratios on pages as the simulator serves them (its own mix of states)
        sim = simulator_pages(max(args.sim_markets))
        best = cpu_ratios(sim)
        n = sum(len(json.loads(p)["markets"]) for p in sim)
        print(f"simulator pages ({len(sim)} pages, {n} markets, {sum(map(len, sim)) / len(sim) / 1e3:.0f} kB/page): "
              + ", ".join(f"{k} {best[k][0] / best['raw'][0]:.2f}x" for k in ("discover", "snapshot"))
              + f" json.loads ({best['raw'][0] / len(sim) * 1e3:.1f} ms/page)")
    for n in args.sim_markets:
        snapshot_requests(n)


if __name__ == "__main__":
    main()
