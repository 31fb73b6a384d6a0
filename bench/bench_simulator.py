"""Benchmark: how fast can one client page the simulator's full open Polymarket catalogue?

Serves 50,000 markets, pages `/gamma/markets/keyset?limit=100` (closed=false) to the end over real
HTTP on 127.0.0.1 with one requests.Session, and prints pages/s and the ratio to the 2 req/s the
fetcher needs by default. Two sweeps: the first builds each market's parameters (cold), the second
is the steady state of periodic discovery (warm). Prints, never asserts.

    .venv/bin/python bench/bench_simulator.py [--markets 50000]
"""

from __future__ import annotations

import argparse
import time

import msgspec
import requests

from simulator.server import start

FETCHER_DEFAULT_RPS = 2.0
PAGE_LIMIT = 100
TARGET_RATIO = 20


def sweep(session: requests.Session, gamma_url: str) -> tuple[int, int, float, float]:
    """(pages, rows, wall seconds, process CPU seconds) for one full closed=false sweep."""
    params = {"limit": PAGE_LIMIT, "closed": "false"}
    pages = rows = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        resp = session.get(gamma_url + "/markets/keyset", params=params, timeout=30)
        body = msgspec.json.decode(resp.content)   # as the fetchers decode: msgspec at the edge
        pages += 1
        rows += len(body["markets"])
        cur = body.get("next_cursor")
        if not cur:
            return pages, rows, time.perf_counter() - t0, time.process_time() - c0
        params["after_cursor"] = cur


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=50_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    h = start(seed=7, markets=args.markets, speed=0)
    print(f"startup {time.perf_counter() - t0:.2f}s for {args.markets} markets per platform")
    s = requests.Session()
    for label in ("cold", "warm"):
        pages, rows, wall, cpu = sweep(s, h.gamma_url)
        rate = pages / wall
        # Client and server share this process: pages per CPU-second bounds the rate on an idle
        # machine even when other jobs compete for the cores during the run.
        print(f"{label}: {rows} open markets in {pages} pages, {wall:.2f}s -> {rate:.1f} pages/s = "
              f"{rate / FETCHER_DEFAULT_RPS:.1f}x the fetcher's {FETCHER_DEFAULT_RPS:g} req/s "
              f"(target >= {TARGET_RATIO}x); CPU {cpu:.2f}s -> {pages / cpu:.1f} pages/CPU-s = "
              f"{pages / cpu / FETCHER_DEFAULT_RPS:.1f}x")
    h.stop()


if __name__ == "__main__":
    main()
