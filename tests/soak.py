"""Soak-and-fault run: the whole pipeline under supervisord against a faulty, fast simulator, with
a chaos loop that SIGKILLs programs, then a check of collector.db against the simulator's truth.

    python -m tests.soak [--sim-hours 48] [--speed 120] [--markets 400] [--kill-every 30] [--keep DIR]
    make soak

Prints the report of tests/soak_check.py plus peak RSS per program and exits 1 if any hard
invariant failed. tests/test_soak.py runs a short version (a few simulated hours, one kill of
each program) in the normal suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests import soak_books, soak_check

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROGRAMS = ("sink", "scheduler", "fetcher-polymarket", "fetcher-kalshi")
FAULTS = "rate=40,err=0.02,latency=5ms,drop=0.01,truncate=0.005,malformed=0.01,dup_page=0.01"
START = "2026-11-01T00:00:00Z"


def _get(url: str, timeout: float = 30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def start_simulator(work: Path, seed: int, markets: int, speed: float, faults: str) -> tuple[subprocess.Popen, str]:
    log = open(work / "simulator.log", "w")
    p = subprocess.Popen([str(BIN / "simulator"), "--port", "0", "--seed", str(seed), "--markets", str(markets),
                          "--speed", str(speed), "--start", START, "--faults", faults],
                         stdout=subprocess.PIPE, stderr=log, text=True)
    line = p.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return p, m.group(0)


SNAPSHOT_S = 900  # the default snapshot interval (simulated seconds), which write_config keeps
SILENT_S = 6.0  # scheduler.fetcher_silent_seconds below (real seconds)
RESTART_S = 4.0  # supervisord restarts a killed program within this (real seconds, generous)


def write_config(work: Path, url: str, speed: float, sink_flush_s: float = 0.5) -> Path:
    clock = _get(url + "/_sim/clock")
    real_origin = time.time()
    cfg = work / "config.toml"
    cfg.write_text(f"""
[general]
db_path = "{work}/collector.db"
data_dir = "{work}"
[clock]
speed = {speed}
real_origin = {real_origin}
sim_origin = {clock["now"]}
[zmq]
ack_timeout_seconds = 3.0
sink_wait_seconds = 60.0
[sink]
flush_interval_seconds = {sink_flush_s}
min_free_disk_mb = 50
[scheduler]
heartbeat_seconds = 1.0
fetcher_silent_seconds = {SILENT_S}
[polymarket]
base_url = "{url}/clob"
gamma_url = "{url}/gamma"
requests_per_second = 30.0
max_retries = 8
[kalshi]
base_url = "{url}/kalshi/trade-api/v2"
requests_per_second = 30.0
max_retries = 8
""")
    return cfg


# supervisorctl waits for each program's stop: up to supervisord.conf's largest stopwaitsecs (120 s,
# the sink) before supervisord SIGKILLs it, so the harness waits longer than that, never less.
SUPERVISORCTL_TIMEOUT_S = 300


def supervisorctl(env: dict, *args: str) -> str:
    r = subprocess.run([str(BIN / "supervisorctl"), "-c", str(REPO / "supervisord.conf"), *args],
                       capture_output=True, text=True, env=env, timeout=SUPERVISORCTL_TIMEOUT_S)
    return r.stdout


def program_pids(env: dict) -> dict[str, int]:
    pids = {}
    for line in supervisorctl(env, "status").splitlines():
        m = re.match(r"(\S+)\s+RUNNING\s+pid (\d+)", line)
        if m:
            pids[m.group(1)] = int(m.group(2))
    return pids


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(sim_hours: float, speed: float, markets: int, kill_every: float, seed: int, work: Path,
        faults: str = FAULTS, kills: list[str] | None = None, failpoints: str = "", sink_flush_s: float = 0.5,
        env_extra: dict | None = None) -> dict:
    """Run the soak; returns the checker's report (plus chaos and memory figures).

    ``failpoints``: $COLLECTOR_FAILPOINTS for every program (planted faults the checker must catch);
    ``env_extra``: more environment for every program (e.g. a crash failpoint).
    """
    sim, url = start_simulator(work, seed, markets, speed, faults)
    # The checker compares prices only from the run's first whole slot on: the truth is asked for the
    # grid from a margin before it (the whole history of every market takes minutes to compute).
    prices_since = _get(url + "/_sim/clock")["now"] - 2 * SNAPSHOT_S
    env = dict(os.environ, COLLECTOR_CONFIG=str(write_config(work, url, speed, sink_flush_s)),
               COLLECTOR_DATA=str(work), COLLECTOR_FAILPOINTS=failpoints, **(env_extra or {}))
    sup = subprocess.Popen([str(BIN / "supervisord"), "-n", "-c", str(REPO / "supervisord.conf")], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(work / "supervisord.out", "w"))
    rng = random.Random(seed)
    chaos: list[dict] = []
    peak: dict[str, float] = {}
    started = time.monotonic()
    duration = sim_hours * 3600 / speed
    queue = list(kills or [])
    next_kill = started + (duration / (len(queue) + 1) if queue else rng.uniform(kill_every / 2, kill_every * 1.5))
    try:
        while time.monotonic() - started < duration:
            time.sleep(0.5)
            pids = program_pids(env)
            for name, pid in pids.items():
                peak[name] = max(peak.get(name, 0.0), rss_mb(pid))
            if time.monotonic() >= next_kill and kill_every > 0:
                name = queue.pop(0) if queue else rng.choice(PROGRAMS)
                if name in pids:
                    os.kill(pids[name], signal.SIGKILL)
                    sim_now = _get(url + "/_sim/clock")["now"]
                    chaos.append({"program": name, "sim_time": sim_now})
                    print(f"chaos: SIGKILL {name} (pid {pids[name]}) at sim {time.strftime('%H:%M:%S', time.gmtime(sim_now))}",
                          flush=True)
                step = duration / ((len(kills) if kills else 0) + 1) if kills else rng.uniform(kill_every / 2, kill_every * 1.5)
                next_kill = time.monotonic() + step
        end_sim = _get(url + "/_sim/clock")["now"]
        supervisorctl(env, "stop", "all")
        truth = _get(url + f"/_sim/truth?all=1&with_prices=1&prices_since={prices_since}", timeout=300)
        stats = _get(url + "/_sim/stats")
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(120)
        except subprocess.TimeoutExpired:
            sup.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(30)
    report = soak_check.check(work / "collector.db", truth, chaos, end_sim=end_sim, config=soak_check.Cadence(
        snapshot=SNAPSHOT_S, discover=300, resolve=1800, recovery_s=(SILENT_S + RESTART_S) * speed,
        restart_s=RESTART_S * speed))
    report["records_rejected"] = sink_counter(work / "collector.db", "records_rejected")
    report["records_skipped"] = phase_skipped(work / "collector.db")
    report.update(soak_books.check(work / "collector.db", seed, markets, START))  # order books vs served quotes
    report["ok"] = report["ok"] and report["books_mismatched"] == 0
    report["chaos_kills"] = chaos
    report["peak_rss_mb"] = {k: round(v, 1) for k, v in sorted(peak.items())}
    report["simulator_faults"] = stats.get("faults", {})
    report["simulator_requests"] = stats.get("total_requests", 0)
    return report


def sink_counter(db_path: Path, name: str) -> int:
    import sqlite3

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM sink_counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0
    finally:
        db.close()


def phase_skipped(db_path: Path) -> int:
    """Exchange records the parsers skipped (out of bounds or malformed), over every phase run."""
    import sqlite3

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT coalesce(sum(skipped), 0) FROM phase_runs").fetchone()[0]
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-hours", type=float, default=48.0, help="simulated hours to run")
    ap.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    ap.add_argument("--markets", type=int, default=400, help="markets per platform in the simulated world")
    ap.add_argument("--kill-every", type=float, default=30.0, help="mean real seconds between SIGKILLs (0: none)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", help="keep the working directory here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="soak-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.sim_hours} simulated hours at {args.speed}x "
          f"({args.sim_hours * 3600 / args.speed / 60:.1f} min), {args.markets} markets per platform, "
          f"faults {FAULTS}, work dir {work}", flush=True)
    try:
        report = run(args.sim_hours, args.speed, args.markets, args.kill_every, args.seed, work)
        print(soak_check.render(report))
        sys.exit(0 if report["ok"] else 1)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
