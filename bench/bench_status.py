"""How fast is `collector status` on a year of data at real scale? (target: < 2 s on 100M snapshots)

Builds a collector.db the way the sink leaves it after a year at real scale: 170k markets, two
platforms snapshotted every 15 minutes for 365 days (70,080 snapshot_cycles rows standing for
100M snapshots), a year of phase_runs, and a few million real rows in ``snapshot`` so that any
accidental scan of it would show. Then times the real console script, `collector status --json`,
end to end (interpreter start included) and the gathering alone, and prints both against the
target, plus what a COUNT(*) over the snapshot table would cost at 100M rows.

    .venv/bin/python bench/bench_status.py [--snapshot-rows 3000000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector import config, status  # noqa: E402
from collector.db import connect_reader  # noqa: E402
from sink import schema  # noqa: E402
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

TARGET_S = 2.0
SNAPSHOTS_STOOD_FOR = 100_000_000
MARKETS = 170_000
STEP_S = 900  # snapshot cycle
DAYS = 365
RUNS = 3  # timed repetitions; the best is reported
NOW = 1_800_000_000 // STEP_S * STEP_S + 450


def build(path: Path, snapshot_rows: int) -> None:
    rnd = random.Random(7)
    db = schema.connect_writer(str(path))
    schema.migrate(db)
    db.execute("BEGIN")
    statuses = ["active"] * 6 + ["closed", "resolved", "resolved", "voided"]
    db.executemany(
        "INSERT INTO markets (platform, market_id, status, end_date, first_seen_at, observed_at) VALUES (?,?,?,?,0,0)",
        ((("polymarket", "kalshi")[i % 2], f"m{i}", rnd.choice(statuses),
          time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + rnd.randint(-90, 90) * 86400)), )
         for i in range(MARKETS)))
    cycles = DAYS * 86400 // STEP_S
    per_cycle = SNAPSHOTS_STOOD_FOR // (2 * cycles)
    first = NOW // STEP_S * STEP_S - cycles * STEP_S
    db.executemany("INSERT INTO snapshot_cycles (platform, t, source, rows) VALUES (?,?,'live',?)",
                   ((p, first + k * STEP_S, per_cycle) for p in ("polymarket", "kalshi")
                    for k in range(cycles) if k % 997))  # a few missing cycles: gaps to find
    runs = []
    for p in ("polymarket", "kalshi"):
        for phase, step in (("discover", 300), ("snapshot", 900), ("resolve", 1800)):
            for k in range(DAYS * 86400 // step):
                t = first + k * step
                runs.append((f"{p}.{phase}.{t}", p, phase, t, t + 1.0, t + 30.0, 1, 10, 0, 100, 0, 0, ""))
    db.executemany("INSERT INTO phase_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
    db.execute("COMMIT")
    db.execute("BEGIN")
    batch, t = [], first
    for i in range(snapshot_rows):
        market = i % MARKETS + 1
        if market == 1 and i:
            t += STEP_S
        batch.append((t, market, 500_000, 490_000, 510_000, 1000, 100))
        if len(batch) == 100_000:
            db.executemany("INSERT INTO snapshot (t, market, yes, bid, ask, volume, liquidity) VALUES (?,?,?,?,?,?,?)",
                           batch)
            batch.clear()
    db.executemany("INSERT INTO snapshot (t, market, yes, bid, ask, volume, liquidity) VALUES (?,?,?,?,?,?,?)",
                   batch)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def best_of(fn) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshot-rows", type=int, default=3_000_000)
    ap.add_argument("--dir", default=None, help="where to build the database (default: a temp dir)")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench_status_"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "collector.db"
    if db_path.exists():
        db_path.unlink()
    started = time.perf_counter()
    build(db_path, args.snapshot_rows)
    print(f"built {db_path} ({db_path.stat().st_size / 1e6:.0f} MB, {args.snapshot_rows:,} snapshot rows, "
          f"cycles standing for {SNAPSHOTS_STOOD_FOR:,}) in {time.perf_counter() - started:.1f}s")
    cfg_path = work / "config.toml"
    cfg_path.write_text(f'[general]\ndb_path = "{db_path}"\ndata_dir = "{work}"\n'
                        f"[clock]\nreal_origin = {time.time()}\nsim_origin = {NOW}\n")

    cli = Path(sys.executable).parent / "collector"
    def status_json() -> None:  # exits with its verdict's code (2: nothing running here), so read the JSON
        json.loads(subprocess.run([str(cli), "--config", str(cfg_path), "status", "--json"],
                                  capture_output=True, timeout=60).stdout)

    end_to_end = best_of(status_json)
    cfg = config.load(cfg_path)
    st = status.gather(cfg)
    gather = best_of(lambda: status.gather(cfg))
    db = connect_reader(str(db_path))
    started = time.perf_counter()
    rows = db.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    scan = time.perf_counter() - started
    db.close()
    scan_100m = scan * SNAPSHOTS_STOOD_FOR / max(1, rows)

    print(f"snapshots reported: {st['snapshots']['total']:,}; gaps found: "
          f"{sum(g['missing'] for g in st['gaps'].values())}")
    print(f"collector status --json, end to end: {end_to_end:.3f}s  = {end_to_end / TARGET_S:.2f} x the 2 s target")
    print(f"status.gather() alone:               {gather:.3f}s  = {gather / TARGET_S:.2f} x the 2 s target")
    print(f"COUNT(*) over snapshot ({rows:,} rows): {scan:.3f}s -> ~{scan_100m:.1f}s at 100M rows "
          f"({scan_100m / max(gather, 1e-9):.0f} x slower than status.gather, warm page cache)")
    figure("collector status --json, database standing for 100M snapshots", f"{end_to_end:.2f} s",
           f"< {TARGET_S:.0f} s", f"COUNT(*) over the snapshots would take ~{scan_100m:.1f} s")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
