"""Backfill: points per second and the fetcher's peak RSS, rate limiting off.

    .venv/bin/python bench/bench_backfill.py [--markets 10000] [--small 1000] [--kalshi 300]

A frozen simulator (this process, background thread), a real sink and a real
`fetcher --platform polymarket --backfill` with requests_per_second = 100,000. The simulator is
sized so that about ``--markets`` Polymarket markets are resolved; each is backfilled with its
12-hour history. A run at ``--small`` markets shows whether the fetcher's memory grows with the
amount of history (it should not: it streams page by page and market by market). ``--kalshi N``
adds a Kalshi run at N simulator markets (hourly candles; the simulator renders each candle from
its price walk, so it, not the fetcher, is the bottleneck there). Peak RSS is VmHWM from
/proc/<pid>/status, read until the process exits. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator import server  # noqa: E402
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

BIN = Path(sys.executable).parent
RESOLVED_SHARE = 0.78  # about this share of the simulator's Polymarket markets is resolved at its start
POLL_S = 0.05


def write_cfg(tmp: Path, sim) -> Path:
    text = (f'[general]\ndb_path = "{tmp / "collector.db"}"\nlog_level = "INFO"\n'
            f'[clock]\nspeed = 1.0\nreal_origin = {time.time()}\nsim_origin = {sim.now()}\n'
            f'[polymarket]\ngamma_url = "{sim.gamma_url}"\nbase_url = "{sim.clob_url}"\n'
            f'requests_per_second = 100000.0\n'
            f'[kalshi]\nbase_url = "{sim.kalshi_url}"\nrequests_per_second = 100000.0\n'
            f'[sink]\nflush_interval_seconds = 0.2\n')
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_fetcher(cfg: Path, platform: str) -> tuple[float, int, float, str]:
    """(seconds, peak RSS kB, CPU seconds, stdout) of one `fetcher --backfill` run."""
    t0 = time.monotonic()
    proc = subprocess.Popen([str(BIN / "fetcher"), "--config", str(cfg), "--platform", platform, "--backfill"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, cpu = [0], [0.0]

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], hwm_kb(proc.pid) or 0)
            cpu[0] = max(cpu[0], cpu_s(proc.pid) or 0.0)
            time.sleep(POLL_S)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.monotonic() - t0
    watcher.join()
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    return seconds, peak[0], cpu[0], out.strip()


def bench(platform: str, sim_markets: int) -> None:
    sim = server.start(seed=3, markets=sim_markets, speed=0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cfg = write_cfg(tmp, sim)
        sink = subprocess.Popen([str(BIN / "sink"), "--config", str(cfg)], stderr=subprocess.DEVNULL)
        try:
            while not (tmp / "collector.db").exists():
                time.sleep(0.05)
            seconds, peak_kb, cpu, summary = run_fetcher(cfg, platform)
            db = sqlite3.connect(f"file:{tmp / 'collector.db'}?mode=ro", uri=True)
            markets, points = db.execute("SELECT count(*), coalesce(sum(points), 0) FROM backfill_markets").fetchone()
            stored = db.execute("SELECT count(*) FROM snapshot_backfill").fetchone()[0]
            db.close()
        finally:
            sink.terminate()
            sink.wait(10)
            sim.stop()
    print(f"{platform}: {markets} markets backfilled, {points} points ({stored} rows stored) in {seconds:.1f} s "
          f"= {points / seconds:,.0f} points/s, {markets / seconds:,.0f} markets/s; "
          f"fetcher peak RSS (VmHWM) {peak_kb / 1024:.1f} MB, fetcher CPU {cpu:.1f} s "
          f"({points / cpu if cpu else 0:,.0f} points per fetcher CPU second; otherwise it waits on the simulator)")
    print(f"  fetcher said: {summary}")
    figure(f"{platform} backfill, {markets:,} markets", f"{points / seconds:,.0f} points/s, peak RSS {peak_kb / 1024:.0f} MB",
           "bounded memory", f"{points:,} points; fetcher CPU {cpu:.1f} s, rate limiting off")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=10_000, help="resolved Polymarket markets to backfill")
    ap.add_argument("--small", type=int, default=1_000, help="a smaller run to compare peak RSS with (0: none)")
    ap.add_argument("--kalshi", type=int, default=300, help="simulator markets for a Kalshi run (0: none)")
    args = ap.parse_args()
    for target in ([args.small] if args.small else []) + [args.markets]:
        bench("polymarket", int(target / RESOLVED_SHARE))
    if args.kalshi:
        bench("kalshi", args.kalshi)


if __name__ == "__main__":
    main()
