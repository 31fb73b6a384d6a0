"""Archive benchmark: bytes per archived snapshot, and export time over the archive vs over SQLite.

    python bench/bench_archive.py [--markets 3000] [--days 14]

Builds a collector.db fixture (sqlite3 executemany straight into the schema) whose prices move the
way real ones do at a 15-minute cadence: most snapshots repeat the previous price, the rest move a
few ticks. Then, in one run:
1. exports it (`exporter`, markets.parquet only) with every snapshot in SQLite;
2. archives every whole day through a real `sink` (exporter/archive.py), and reports archived
   bytes per row (target <= 8 B with zstd) against SQLite's bytes per row for the same rows;
3. exports again, now reading the Parquet archive, and checks markets.parquet is byte-identical;
4. runs a query from a second engine over the archive alone (DuckDB's read_parquet with hive
   partitioning, as documented in the README).
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from report import figure  # noqa: E402

from sink.schema import connect_writer, migrate  # noqa: E402

GRID = 900
DAY = 86400
T0 = 1_790_000_000 - 1_790_000_000 % DAY
ISO = "%Y-%m-%dT%H:%M:%SZ"
BIN = Path(sys.executable).parent


def iso(t: float) -> str:
    return time.strftime(ISO, time.gmtime(t))


def build(path: Path, markets: int, days: int) -> int:
    rng = random.Random(5)
    db = connect_writer(str(path))
    migrate(db)
    db.execute("PRAGMA synchronous = OFF")
    end = T0 + days * DAY
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO markets (id, platform, market_id, title, outcomes, status, resolution, resolved_at, closed_at,"
        " created_at, first_seen_at, observed_at) VALUES (?, ?, ?, ?, '[\"Yes\", \"No\"]', 'resolved', ?, ?, ?, ?, 0, 0)",
        [(i, "polymarket" if i % 4 else "kalshi", f"0x{i:064x}" if i % 4 else f"KXBENCH-{i:06d}",
          f"Will bench market {i} resolve YES?", "YES" if i % 2 else "NO", iso(end + 3600), iso(end), iso(T0 - DAY))
         for i in range(1, markets + 1)])
    state = {i: [rng.randrange(50_000, 950_000), rng.randrange(1_000, 100_000), rng.randrange(100, 5_000)]
             for i in range(1, markets + 1)}

    def rows():
        for t in range(T0, end, GRID):
            for i, st in state.items():
                tick = 1_000 if i % 4 else 10_000
                if rng.random() < 0.3:
                    st[0] = min(990_000, max(10_000, st[0] + rng.choice((-3, -2, -1, 1, 2, 3)) * tick))
                    st[1] += rng.randrange(0, 500)
                half = tick // 2 if i % 4 else tick
                lag = 240 * i // markets  # a sweep reads its pages over ~4 minutes after t
                yield (t, i, st[0], st[0] - half, st[0] + half, st[1], st[2] if i % 4 else None, lag)

    db.executemany("INSERT INTO snapshot (t, market, yes, bid, ask, volume, liquidity, lag) VALUES (?,?,?,?,?,?,?,?)",
                   rows())
    db.executemany("INSERT INTO snapshot_cycles (platform, source, t, rows) VALUES (?, 'live', ?, ?)",
                   [(p, t, 0) for t in range(T0, end, GRID) for p in ("polymarket", "kalshi")])
    db.execute("COMMIT")
    n = db.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    db.close()
    return n


def export(cfg: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(BIN / "exporter"), "--config", str(cfg), "--out", str(out), "--no-wwatcher", "--quiet"],
                   check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=3000)
    ap.add_argument("--days", type=int, default=14)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_archive_"))
    sink = None
    try:
        db = work / "collector.db"
        t = time.perf_counter()
        rows = build(db, args.markets, args.days)
        print(f"fixture: {rows:,} snapshots of {args.markets:,} markets over {args.days} days "
              f"(built in {time.perf_counter() - t:.0f} s)")
        con = sqlite3.connect(db)
        sqlite_bytes = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'snapshot'").fetchone()[0]
        con.close()
        cfg = work / "config.toml"
        cfg.write_text(f'[general]\ndb_path = "{db}"\n[sink]\nmin_free_disk_mb = 1\n[archive]\nretention_days = 1\n'
                       f'[zmq]\nsink_wait_seconds = 300\n[clock]\nreal_origin = {time.time()}\n'
                       f'sim_origin = {T0 + (args.days + 1) * DAY}.0\n')
        before = export(cfg, work / "before")
        sink = subprocess.Popen([str(BIN / "sink"), "--config", str(cfg)], stderr=subprocess.DEVNULL)
        while not (work / "sink.ipc").exists():
            time.sleep(0.05)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "exporter.archive", str(cfg)], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)
        archive_s = time.perf_counter() - t
        files = list((work / "archive" / "price_snapshots").rglob("part-*.parquet"))
        archived = sum(f.stat().st_size for f in files)
        after = export(cfg, work / "after")
        identical = (work / "before" / "markets.parquet").read_bytes() == (work / "after" / "markets.parquet").read_bytes()
        import duckdb

        t = time.perf_counter()
        n, avg = duckdb.sql(
            f"SELECT count(*), avg(yes) / 1e6 FROM read_parquet('{work}/archive/price_snapshots/*/*/*.parquet',"
            " hive_partitioning = true) WHERE platform = 'kalshi'").fetchone()
        query_s = time.perf_counter() - t
        print(f"SQLite snapshot table: {sqlite_bytes / rows:.1f} B/row (baseline)")
        print(f"archive: {len(files)} files, {archived / rows:.2f} B/row (target <= 8 B), "
              f"ratio to SQLite {archived / sqlite_bytes:.3f}; archiving took {archive_s:.1f} s")
        print(f"export over SQLite {before:.1f} s, over the archive {after:.1f} s "
              f"(ratio {after / before:.2f}); markets.parquet identical: {identical}")
        print(f"second engine (DuckDB read_parquet, hive partitions): {n:,} Kalshi rows, mean yes {avg:.3f}, "
              f"{query_s:.2f} s")
        figure("archived bytes per snapshot row", f"{archived / rows:.2f} B", "<= 8 B",
               f"SQLite's {sqlite_bytes / rows:.1f} B/row for the same {rows:,} rows")
        figure("export time over the archive", f"{after:.1f} s", "identical output",
               f"{before:.1f} s over SQLite, same data (identical: {identical})")
    finally:
        if sink is not None:
            sink.send_signal(signal.SIGTERM)
            sink.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
