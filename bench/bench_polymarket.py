"""Polymarket fetcher: CPU per market, requests per snapshot cycle, requests per 15 minutes.

    .venv/bin/python bench/bench_polymarket.py [--markets 50000] [--sim-markets 20000]

1. Parse + publish: 50,000 simulator-rendered Gamma rows as JSON pages -> decode -> parse ->
   MarketUpsert + PriceSnapshot -> Publisher (columnize, encode, send) to a real sink process.
   CPU time of this process only (the sink is another process); target < 2 s. Also as a ratio
   measured in the same run: against a bare ``json.loads`` of the same page bytes (target <= 3x).
2. Requests per snapshot cycle: one SNAPSHOT phase against the simulator (N open markets),
   compared with the issue's bound ceil(N/100) + 10.
3. Requests per 15 minutes at 46,000 open markets against the 2 req/s budget (1,800): SNAPSHOT
   every 15 min, DISCOVER every 5 (incremental, measured), RESOLVE every 30 (measured per
   candidate), plus the one-time closed-history sweep while it runs.
Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collector import clock, config  # noqa: E402
from fetchers import polymarket, polymarket_parse as parse, polymarket_rows as gamma_rows, runner  # noqa: E402
from fetchers.http import HttpClient  # noqa: E402
from collector.sink_client import Publisher  # noqa: E402
from simulator import gamma_render, server  # noqa: E402
from simulator.world import World  # noqa: E402
from report import figure, raw_json_cpu  # noqa: E402  (bench/ is on sys.path when run as a script)

REAL_OPEN_MARKETS = 46_000
BUDGET_15_MIN = 2.0 * 900  # requests at the default 2 req/s
CPU_TARGET_S = 2.0
TARGET_RAW_RATIO = 3.0  # fetcher CPU per page / bare json.loads of the same bytes
DISCOVERS_PER_15_MIN = 3  # poll_interval_minutes = 5
RESOLVES_PER_15_MIN = 0.5  # resolve_interval_minutes = 30


def write_cfg(tmp: Path, sim=None) -> Path:
    text = f'[general]\ndb_path = "{tmp / "collector.db"}"\nlog_level = "WARNING"\n[sink]\nflush_interval_seconds = 0.2\n'
    if sim is not None:
        text += (f'[clock]\nspeed = 1.0\nreal_origin = {time.time()}\nsim_origin = {sim.now()}\n'
                 f'[polymarket]\ngamma_url = "{sim.gamma_url}"\nbase_url = "{sim.clob_url}"\n'
                 f'requests_per_second = 1000.0\n[kalshi]\nbase_url = "{sim.kalshi_url}"\n')
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def start_sink(cfg_path: Path) -> subprocess.Popen:
    sink = subprocess.Popen([str(Path(sys.executable).parent / "sink"), "--config", str(cfg_path)],
                            stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return sink


def bench_parse_publish(n: int) -> None:
    """Worst case (first sweep: every market new, upsert + snapshot) and steady state (snapshots only)."""
    world = World(seed=7, markets=n)
    now = world.now()
    rows = [gamma_render.market(world.pm, world.pm.market(i), now, include_tag=True) for i in range(n)]
    pages = [msgspec.json.encode({"markets": rows[i:i + 100]}) for i in range(0, n, 100)]
    del rows, world
    gc.collect()
    gc.freeze()  # the bench's own set-up objects are not the fetcher's GC cost
    raw = raw_json_cpu(pages)
    print(f"bare json.loads of the same pages: {raw:.2f} s CPU ({raw / len(pages) * 1e3:.2f} ms/page)")
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = write_cfg(Path(tmp))
        cfg = config.load(cfg_path)
        sink = start_sink(cfg_path)
        try:
            for label, upserts, t in (("first sweep, upsert+snapshot", True, 1_800_000_000),
                                      ("steady state, snapshot only", False, 1_800_000_900)):
                pub = Publisher(cfg.sink_endpoint, "bench", "simulator", cfg)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                records = 0
                for body in pages:  # what Sweep does per page: typed decode, parse, publish
                    rows, _cursor = gamma_rows.page_rows(gamma_rows.PAGE_DECODER.decode(body))
                    for m in parse.parse_rows(rows, now)[0]:
                        if upserts:
                            pub.publish(m.upsert)
                        pub.publish(parse.snapshot(m, t))
                        records += 1 + upserts
                pub._send_pending()
                cpu = time.process_time() - cpu0
                wall = time.perf_counter() - wall0
                pub.flush_and_wait()
                pub.close()
                print(f"parse+publish {n} markets, {label} ({records} records): CPU {cpu:.2f} s "
                      f"(wall {wall:.2f} s) -> {cpu / CPU_TARGET_S:.2f} of the {CPU_TARGET_S:.0f} s target, "
                      f"{cpu / n * 1e6:.1f} us/market")
                figure(f"Polymarket fetcher CPU, {label}, {n:,} markets", f"{cpu:.2f} s", f"< {CPU_TARGET_S:.0f} s",
                       f"{cpu / n * 1e6:.1f} us/market, Gamma JSON -> wire frames")
                print(f"  {cpu / raw:.2f}x a bare json.loads of the same pages (target <= {TARGET_RAW_RATIO:g}x)")
                figure(f"Polymarket fetcher CPU per page vs json.loads, {label}", f"{cpu / raw:.2f}x",
                       f"<= {TARGET_RAW_RATIO:g}x", f"{cpu / len(pages) * 1e3:.1f} ms vs {raw / len(pages) * 1e3:.1f} ms "
                       "per 100-market page, same run")
        finally:
            sink.terminate()
            sink.wait(30)


def run(cfg_path: Path, phase: str, grid_time: int | None = None):
    cfg = config.load(cfg_path)
    clock.configure(cfg)
    log = logging.getLogger("bench")
    http = HttpClient("polymarket", cfg.polymarket, None, log)
    pub = Publisher(cfg.sink_endpoint, runner.sender_id("polymarket"), "simulator", cfg, log)
    report = runner.run_phase(cfg, "polymarket", phase, publisher=pub, http=http, log=log, grid_time=grid_time)
    pub.flush_and_wait()
    pub.close()
    return report


def bench_requests(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, server.start(seed=7, markets=n, speed=0) as sim:
        tmp = Path(tmp)
        cfg_path = write_cfg(tmp, sim)
        sink = start_sink(cfg_path)
        try:
            first = run(cfg_path, "discover")
            snap = run(cfg_path, "snapshot", grid_time=900 * int(sim.now() // 900))
            n_open = sum(1 for t in sim.truth()["polymarket"] if t["status"] == "open")
            bound = math.ceil(n_open / 100) + 10
            print(f"snapshot cycle: {n_open} open markets, {snap.requests} requests "
                  f"(bound ceil(N/100)+10 = {bound}) -> {snap.requests / bound:.2f} of the bound")
            figure(f"Polymarket snapshot cycle, {n_open:,} open markets", f"{snap.requests} requests",
                   f"<= {bound}", "ceil(N/100)+10, simulator keyset pages of 100")
            sim.advance(300)
            write_cfg(tmp, sim)
            disc = run(cfg_path, "discover")
            sim.advance(1500)
            write_cfg(tmp, sim)
            run(cfg_path, "snapshot", grid_time=900 * int(sim.now() // 900))
            res = run(cfg_path, "resolve")
        finally:
            sink.terminate()
            sink.wait(30)
    scale = REAL_OPEN_MARKETS / max(1, n_open)
    snap_real = math.ceil(REAL_OPEN_MARKETS / 100)
    resolve_real = res.requests * scale  # resolve lookups grow with the markets that close
    steady = snap_real + DISCOVERS_PER_15_MIN * disc.requests + RESOLVES_PER_15_MIN * resolve_real
    history = DISCOVERS_PER_15_MIN * polymarket.HISTORY_PAGES_PER_RUN
    print(f"first DISCOVER (empty db, open + closed history): {first.requests} requests for {n} markets")
    print(f"incremental DISCOVER: {disc.requests} requests; RESOLVE: {res.requests} requests "
          f"(x{scale:.1f} at real scale = {resolve_real:.0f})")
    print(f"requests per 15 min at {REAL_OPEN_MARKETS} open markets: snapshot {snap_real} + discover "
          f"{DISCOVERS_PER_15_MIN}x{disc.requests} + resolve {RESOLVES_PER_15_MIN}x{resolve_real:.0f} = "
          f"{steady:.0f} of {BUDGET_15_MIN:.0f} -> {steady / BUDGET_15_MIN:.2f} of the budget")
    figure(f"Polymarket requests per 15 min at {REAL_OPEN_MARKETS:,} open markets", f"{steady:.0f}",
           f"<= {BUDGET_15_MIN:.0f} (2 req/s)", f"naive full sweeps: {4 * snap_real}")
    print(f"  while the one-time closed-history sweep runs: +{history} = {steady + history:.0f} -> "
          f"{(steady + history) / BUDGET_15_MIN:.2f} of the budget")
    print(f"  naive (3 full DISCOVERs + 1 SNAPSHOT): {4 * snap_real} -> {4 * snap_real / BUDGET_15_MIN:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markets", type=int, default=50_000)
    ap.add_argument("--sim-markets", type=int, default=20_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bench_parse_publish(args.markets)
    bench_requests(args.sim_markets)


if __name__ == "__main__":
    main()
