"""Benchmark: how fast does the simulator serve full-size pages of a real-scale world, and in how
much memory?

Starts the `simulator` process (its own process, as the demo, tests and soak run it) with the
real-scale world of issue #20 (46,000 open + 150,000 closed Polymarket markets, 120,000 open +
300,000 closed non-parlay Kalshi markets; `--markets N` for the old uniform world instead), then
with one requests.Session from this process, as a fetcher would, pages each platform's open
catalogue as the SNAPSHOT phase does: Gamma `/markets/keyset?limit=100&closed=false` and Kalshi
`/markets?status=open&mve_filter=exclude&limit=1000`, to the end or `--pages` pages. The clock is
frozen (`--speed 0`) and moved by hand between four passes: cold (builds each market's record and
renders its row), warm (the same simulated minute: rows from the row cache, simulator/rowcache.py,
as when several clients or retries ask within a minute), next minute (the clock advanced 60 s:
records warm, Kalshi rows re-made from their templates with the new minute's prices, Gamma rows
rendered afresh) and next quarter hour (15 minutes on: the fetchers' own cadence, what a running
collector meets).
Each speed is printed as pages/s and as a ratio to the fetchers' need, read from the fetchers'
config defaults in the same run (collector/config.py: `requests_per_second`, 2/s, at the
platform's `page_size`, which is also the page size swept), plus the simulator's own CPU seconds
per page (from /proc, so other load on this shared machine inflates it less than wall time), its
row tally (kept / filled from a template / rendered, `/_sim/stats`), RSS and peak (VmHWM).
The client decodes each page into raw rows (see `Page`). Prints, never asserts. `--no-row-cache`
measures the simulator without the row cache.

    .venv/bin/python bench/bench_simulator.py [--pages 200] [--markets N] [--no-row-cache]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import requests

from collector.config import Kalshi, Polymarket
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

TARGET_RATIO = 20              # issue #20: the simulator serves >= 20x the fetchers' need
CLK_TCK = os.sysconf("SC_CLK_TCK")
class Page(msgspec.Struct):
    """A list page as the bench reads it: rows kept as raw JSON (still fully parsed and validated),
    so the client's own CPU, which a fetcher spends in its own process, stays small next to the
    simulator's on this 2-core machine."""
    markets: list[msgspec.Raw]
    cursor: str | None = None
    next_cursor: str | None = None


NEEDS = {"polymarket": Polymarket(), "kalshi": Kalshi()}   # the fetchers' config defaults
SWEEPS = {  # platform -> (path under the base URL, query, cursor parameter, cursor field, rows field)
    "polymarket": ("/gamma/markets/keyset", {"limit": NEEDS["polymarket"].page_size, "closed": "false"},
                   "after_cursor", "next_cursor", "markets"),
    "kalshi": ("/kalshi/trade-api/v2/markets", {"limit": NEEDS["kalshi"].page_size, "status": "open",
                                                 "mve_filter": "exclude"}, "cursor", "cursor", "markets"),
}
PASSES = (("cold", 0), ("warm", 0), ("next minute", 60), ("next quarter hour", 900))  # (label, clock step s)


def sweep(session: requests.Session, url: str, platform: str, max_pages: int) -> tuple[int, int, float]:
    """(pages, rows, wall seconds) for one sweep of the open catalogue, at most max_pages pages."""
    path, query, cur_param, cur_field, rows_field = SWEEPS[platform]
    params = dict(query)
    pages = rows = 0
    t0 = time.perf_counter()
    while pages < max_pages:
        resp = session.get(url + path, params=params, timeout=120)
        resp.raise_for_status()
        page = msgspec.json.decode(resp.content, type=Page)
        pages += 1
        rows += len(getattr(page, rows_field))
        cur = getattr(page, cur_field)
        if not cur:
            break
        params[cur_param] = cur
    return pages, rows, time.perf_counter() - t0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm(pid: int, key: str) -> float:
    """VmRSS / VmHWM of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def row_tally(s: requests.Session, url: str, platform: str) -> dict:
    """The simulator's list-row tally for one platform (kept / filled / rendered, /_sim/stats)."""
    return s.get(url + "/_sim/stats", timeout=30).json()["rows"][platform]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=None, help="old uniform world of N markets per platform")
    ap.add_argument("--pages", type=int, default=10**9, help="pages per sweep at most (default: to the end)")
    ap.add_argument("--no-row-cache", action="store_true", help="simulator renders every row afresh")
    args = ap.parse_args()
    world_args = ["--markets", str(args.markets)] if args.markets else \
        ["--open-polymarket", "46000", "--closed-polymarket", "150000", "--open-kalshi", "120000",
         "--closed-kalshi", "300000"]
    world = f"{args.markets:,} markets per platform" if args.markets else \
        "real scale (46k+150k Polymarket, 120k+300k Kalshi)"
    if args.no_row_cache:
        world += ", no row cache"
    t0 = time.perf_counter()
    sim = subprocess.Popen([str(Path(sys.executable).parent / "simulator"), "--port", "0", "--speed", "0",
                            *world_args, *(["--no-row-cache"] if args.no_row_cache else [])],
                           stdout=subprocess.PIPE, text=True)
    url = re.search(r"http://\S+", sim.stdout.readline()).group(0)
    print(f"startup {time.perf_counter() - t0:.1f}s, RSS {vm(sim.pid, 'VmRSS'):.0f} MB, world: {world}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    s = requests.Session()
    try:
        for platform in SWEEPS:
            need = NEEDS[platform].requests_per_second
            for label, step in PASSES:
                if step:
                    s.post(url + "/_sim/advance", params={"seconds": step}, timeout=30).raise_for_status()
                tally0, cpu0 = row_tally(s, url, platform), cpu_s(sim.pid)
                pages, rows, wall = sweep(s, url, platform, args.pages)
                # /proc counts whole clock ticks: a sweep of a few pages may read 0, so at least one
                cpu = max(cpu_s(sim.pid) - cpu0, 1 / CLK_TCK) / pages
                tally = {k: v - tally0[k] for k, v in row_tally(s, url, platform).items()}
                rate = pages / wall
                print(f"{platform} {label}: {rows} open markets in {pages} pages, {wall:.1f}s -> {rate:.1f} "
                      f"pages/s = {rate / need:.1f}x the fetcher's {need:g} req/s (target >= {TARGET_RATIO}x); "
                      f"simulator CPU {cpu * 1000:.1f} ms/page ({1 / cpu:.0f} pages per CPU-second = "
                      f"{1 / cpu / need:.1f}x), "
                      f"rows {tally}; RSS {vm(sim.pid, 'VmRSS'):.0f} MB", flush=True)
                figure(f"simulator, {platform} {label} sweep, {world}", f"{rate:.1f} pages/s",
                       f">= {TARGET_RATIO * need:g} pages/s ({TARGET_RATIO}x)",
                       f"{rate / need:.1f}x the fetcher's default {need:g} req/s; {rows:,} rows in {pages} pages "
                       f"of {SWEEPS[platform][1]['limit']}; simulator CPU {cpu * 1000:.1f} ms/page = "
                       f"{1 / cpu / need:.1f}x per CPU-second; load average {os.getloadavg()[0]:.1f}")
        peak = vm(sim.pid, "VmHWM")
        print(f"simulator peak RSS {peak:.0f} MB")
        figure(f"simulator peak RSS, {world}", f"{peak:.0f} MB", "bounded (record cache capped)",
               "after cold, warm and next-minute sweeps of both open catalogues")
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    main()
