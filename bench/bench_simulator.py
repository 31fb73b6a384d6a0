"""Benchmark: how fast can one client page the simulator's full open Polymarket catalogue?

Starts the `simulator` process with 50,000 markets per platform (as the demo, tests and soak run
it: its own process), pages `/gamma/markets/keyset?limit=100` (closed=false) to the end over real
HTTP on 127.0.0.1 with one requests.Session from this process, as a fetcher would, and prints
pages/s and the ratio to the 2 req/s the fetcher needs by default. Two sweeps: the first builds
each market's parameters (cold), the second is the steady state of periodic discovery (warm).
Prints, never asserts.

    .venv/bin/python bench/bench_simulator.py [--markets 50000]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import requests

from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

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
    sim = subprocess.Popen([str(Path(sys.executable).parent / "simulator"), "--port", "0", "--markets",
                            str(args.markets), "--speed", "0"], stdout=subprocess.PIPE, text=True)
    url = re.search(r"http://\S+", sim.stdout.readline()).group(0)
    print(f"startup {time.perf_counter() - t0:.2f}s for {args.markets} markets per platform (simulator process)")
    s = requests.Session()
    try:
        for label in ("cold", "warm"):
            pages, rows, wall, _cpu = sweep(s, url + "/gamma")
            rate = pages / wall
            print(f"{label}: {rows} open markets in {pages} pages, {wall:.2f}s -> {rate:.1f} pages/s = "
                  f"{rate / FETCHER_DEFAULT_RPS:.1f}x the fetcher's {FETCHER_DEFAULT_RPS:g} req/s "
                  f"(target >= {TARGET_RATIO}x)")
            figure(f"simulator, {label} sweep of {args.markets:,} markets' catalogue", f"{rate:.1f} pages/s",
                   f">= {TARGET_RATIO * FETCHER_DEFAULT_RPS:g} pages/s ({TARGET_RATIO}x)",
                   f"{rate / FETCHER_DEFAULT_RPS:.1f}x the fetcher's default {FETCHER_DEFAULT_RPS:g} req/s")
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    main()
