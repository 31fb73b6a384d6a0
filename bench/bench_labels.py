"""Request budget of the whole cadence with complete labels (issue 15), both platforms.

    .venv/bin/python bench/bench_labels.py [--pm-markets 20000] [--kx-markets 60000]

Against the simulator over HTTP with a real sink: DISCOVER, SNAPSHOT and RESOLVE (with its
listings, open-catalogue comparison and by-id re-check) are run in steady state (15 simulated
minutes after a first cycle) and once after 3 simulated days of downtime; each phase's request
count is scaled linearly from the simulator's open markets to the real ones (~46k Polymarket,
~120k Kalshi), fixed costs included, so the estimate errs high. Order books are off in these runs
(their requests do not grow linearly: the planner caps them at a share of the cycle's budget) and
added as the planner (fetchers/book_plan.py) decides them at the real scale. Cadence: DISCOVER every 5 min,
SNAPSHOT every 15, RESOLVE every 30; budget 2 req/s per platform = 1,800 requests per 15 min.
Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collector import clock, config  # noqa: E402
from fetchers import book_plan, runner  # noqa: E402
from fetchers.books_kalshi import TICKERS_PER_REQUEST  # noqa: E402
from fetchers.books_polymarket import TOKENS_PER_REQUEST  # noqa: E402
from fetchers.http import HttpClient  # noqa: E402
from collector.sink_client import Publisher  # noqa: E402
from simulator import server  # noqa: E402
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

REAL_OPEN = {"polymarket": 46_000, "kalshi": 120_000}
BOOKS_PER_REQUEST = {"polymarket": TOKENS_PER_REQUEST, "kalshi": TICKERS_PER_REQUEST}
BUDGET_15_MIN = 2.0 * 900
PER_15_MIN = {"discover": 3, "snapshot": 1, "resolve": 0.5}
DAY = 86400


def write_cfg(tmp: Path, sim) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[general]\ndb_path = "{tmp / "collector.db"}"\nlog_level = "WARNING"\n'
        f"[sink]\nflush_interval_seconds = 0.2\n[snapshot]\nbook_depth = 0\n"
        f"[clock]\nspeed = 1e-9\nreal_origin = {time.time()}\nsim_origin = {sim.now()}\n"
        f'[polymarket]\ngamma_url = "{sim.gamma_url}"\nbase_url = "{sim.clob_url}"\nrequests_per_second = 1000.0\n'
        f'[kalshi]\nbase_url = "{sim.kalshi_url}"\nrequests_per_second = 1000.0\n')
    return path


def run(tmp: Path, sim, platform: str, phase: str) -> int:
    cfg = config.load(write_cfg(tmp, sim))
    clock.configure(cfg)
    log = logging.getLogger("bench")
    http = HttpClient(platform, getattr(cfg, platform), None, log)
    pub = Publisher(cfg.sink_endpoint, runner.sender_id(platform), "simulator", cfg, log)
    grid = 900 * int(sim.now() // 900) if phase == "snapshot" else None
    report = runner.run_phase(cfg, platform, phase, publisher=pub, http=http, log=log, grid_time=grid)
    pub.flush_and_wait()
    pub.close()
    if not report.ok:
        print(f"  {platform} {phase} failed: {report.message}")
    return report.requests


def open_markets(sim, platform: str) -> int:
    if platform == "polymarket":
        return sum(1 for t in sim.truth()["polymarket"] if t["status"] == "open")
    return sum(1 for t in sim.truth()["kalshi"] if t["status"] == "active" and not t["is_mve"])


def real_scale_books(platform: str, sweep: int) -> int:
    """Order-book requests per SNAPSHOT cycle at the real size, as the planner decides them at the
    default 2 req/s on the ordinary clock (after the market sweep's own requests)."""
    clock.configure(config.Config())
    allowed = book_plan.budget(2.0, 900, sweep)
    volumes = {f"m{i}": float(i) for i in range(REAL_OPEN[platform])}
    return book_plan.plan(volumes, BOOKS_PER_REQUEST[platform], allowed, 0).requests


def bench(platform: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, server.start(seed=7, markets=n, speed=0) as sim:
        tmp = Path(tmp)
        sink = subprocess.Popen([str(Path(sys.executable).parent / "sink"), "--config", str(write_cfg(tmp, sim))])
        try:
            for phase in ("discover", "snapshot", "resolve"):
                run(tmp, sim, platform, phase)
            sim.advance(900)
            steady = {phase: run(tmp, sim, platform, phase) for phase in ("discover", "snapshot", "resolve")}
            n_open = open_markets(sim, platform)
            sim.advance(3 * DAY)
            after_down = run(tmp, sim, platform, "resolve")
        finally:
            sink.terminate()
            sink.wait(30)
    scale = REAL_OPEN[platform] / max(1, n_open)
    books = real_scale_books(platform, round(steady["snapshot"] * scale))
    per_15 = sum(PER_15_MIN[p] * r * scale for p, r in steady.items()) + books
    print(f"{platform}: {n_open:,} open in the simulator (x{scale:.1f} to {REAL_OPEN[platform]:,}); "
          f"requests per run {steady}; RESOLVE after 3 days down: {after_down}")
    print(f"  per 15 min at real scale: " + " + ".join(
        f"{PER_15_MIN[p]}x{r * scale:.0f} {p}" for p, r in steady.items())
        + f" + {books} order books = {per_15:.0f} of {BUDGET_15_MIN:.0f} -> {per_15 / BUDGET_15_MIN:.2f} of the budget")
    print(f"  one RESOLVE after 3 days down at real scale: {after_down * scale:.0f} requests "
          f"({after_down * scale / 2 / 60:.1f} min at 2 req/s)")
    figure(f"{platform.title()} requests per 15 min with complete labels, {REAL_OPEN[platform]:,} open",
           f"{per_15:.0f}", f"<= {BUDGET_15_MIN:.0f} (2 req/s)",
           f"simulator {n_open:,} open scaled x{scale:.1f}, order books {books} as planned at that size; "
           f"after 3 days down one RESOLVE = {after_down * scale:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pm-markets", type=int, default=20_000)
    ap.add_argument("--kx-markets", type=int, default=60_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bench("polymarket", args.pm_markets)
    bench("kalshi", args.kx_markets)


if __name__ == "__main__":
    main()
