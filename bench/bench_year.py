"""Year-scale export benchmark (issue #20 point 3): a synthetic one-year Parquet archive at a
fraction of full scale, exported at several sizes; peak RSS must not grow with the data.

Full scale is ~170,000 open markets snapshotted 96 times a day: ~16M rows a day, ~6 billion a
year. This builds, per size, a collector.db holding only the markets (all resolved, each open
MARKET_DAYS days) and a hive-partitioned archive of one Parquet file per platform and day, laid
out and registered (``archived_partitions``) exactly as ``collector archive`` writes it. Then it
runs ``exporter`` (markets.parquet with every price history; prompts with --prompts) in a child
process and ``collector status`` on the same database, and reports wall time, CPU time and peak
RSS per size (and the exporter's RSS at each stage, ``exporter --log-memory``), the RSS ratio
largest/smallest (target <= 1.2) and the seconds per million rows (linear = flat). DuckDB reads the archive out of core within ``exporter/duck.py``'s MEMORY_LIMIT,
spilling its sort to the export's temp directory.

    .venv/bin/python bench/bench_year.py                              # fractions 0.001 0.003 0.01
    .venv/bin/python bench/bench_year.py --fractions 0.01 0.03 0.1 --keep /tmp/year

Disk: ~18 bytes per archived synthetic row (zstd Parquet) plus DuckDB's scratch copy while exporting; the
bench refuses a size that would leave less than MIN_FREE_GB free.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from report import figure  # noqa: E402

from exporter import book_archive  # noqa: E402
from exporter.archive import SCHEMA  # noqa: E402
from exporter.duck import MEMORY_LIMIT  # noqa: E402
from sink.schema import connect_writer, migrate  # noqa: E402

FULL_OPEN_MARKETS = 170_000  # ~46k Polymarket + ~120k Kalshi open at any time (issue #20)
CYCLES_PER_DAY = 96  # one SNAPSHOT every 15 minutes
MARKET_DAYS = 30  # each synthetic market is open this long, then resolves
YEAR_DAYS = 365
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
DAY = 86400
BYTES_PER_ROW = 20  # archive bytes per synthetic row (17.7 measured: pseudo-random prices compress worse than real)
MIN_FREE_GB = 20.0
RSS_RATIO_TARGET = 1.2
STATUS_TARGET_S = 2.0


def iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def book_table(ids: np.ndarray, m: np.ndarray, t: np.ndarray, yes: np.ndarray) -> pa.Table:
    """One found YES book of two levels a side for each (market, t) row, in the archive's layout
    (exporter/book_archive.py), its prices around the snapshot's."""
    seen = (m % 240).astype(np.int64) * 1000
    cols = {"market_id": pa.array(ids[m], pa.string()).dictionary_encode(),
            "t": pa.array(t, pa.timestamp("s", tz="UTC")), "outcome": pa.array(np.zeros(len(m), np.int8)),
            "found": pa.array(np.ones(len(m), bool)), "seen_ms": pa.array(seen), "book_ms": pa.array(seen - 400),
            "hash32": pa.array(yes.astype(np.int64)), "same_as": pa.nulls(len(m), pa.int32())}
    for side, sign in (("bid", -1), ("ask", 1)):
        for n in (1, 2):
            cols[f"{side}_px_{n}"] = pa.array((yes + sign * (5000 * (2 * n - 1))).astype(np.int32))
            cols[f"{side}_sz_{n}"] = pa.array((m % 500 + 100 * n).astype(np.int64))
    return pa.table(cols)


def build(root: Path, fraction: float, books: bool = False) -> tuple[Path, int]:
    """collector.db + archive/ for `fraction` of full scale (and an order book for every snapshot
    when ``books``); returns (config path, archived snapshot rows)."""
    open_markets = max(1, round(FULL_OPEN_MARKETS * fraction))
    per_day = open_markets / MARKET_DAYS  # markets opening each day keep `open_markets` open
    n_markets = int(per_day * YEAR_DAYS)
    starts = T0 + (np.arange(n_markets) * (YEAR_DAYS * DAY / n_markets)).astype(np.int64) // 900 * 900
    plats = np.where(np.arange(n_markets) % 3 == 0, "polymarket", "kalshi")
    ids = [f"0x{i:064x}" if p == "polymarket" else f"KXYEAR-{i:08d}" for i, p in enumerate(plats)]
    root.mkdir(parents=True, exist_ok=True)
    db = connect_writer(str(root / "collector.db"))
    migrate(db)
    db.execute("PRAGMA synchronous = OFF")
    close = starts + MARKET_DAYS * DAY
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO markets (id, platform, market_id, slug, title, category, outcomes, end_date, status, resolution,"
        " resolved_at, created_at, winning_outcome, closed_at, first_seen_at, observed_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ((i + 1, plats[i], ids[i], f"year-{i}", f"Will year event {i} happen?", "Bench", '["Yes", "No"]',
          iso(int(close[i])), "resolved", "YES" if i % 2 else "NO", iso(int(close[i]) + 3600), iso(int(starts[i])),
          "Yes" if i % 2 else "No", iso(int(close[i])), int(starts[i]), int(starts[i])) for i in range(n_markets)))
    db.execute("COMMIT")
    archive = root / "archive"
    rows_total = 0
    order = np.argsort(np.array(ids, dtype=object), kind="stable")  # the archive sorts by market_id, t
    registry, book_registry = [], []
    id_array = np.array(ids, dtype=object)
    for day in range(YEAR_DAYS + MARKET_DAYS):
        d0 = T0 + day * DAY
        live = order[(starts[order] < d0 + DAY) & (close[order] > d0)]
        for platform in ("kalshi", "polymarket"):
            mine = live[plats[live] == platform]
            if not len(mine):
                continue
            grid = d0 + np.arange(CYCLES_PER_DAY, dtype=np.int64) * 900
            m = np.repeat(mine, CYCLES_PER_DAY)
            t = np.tile(grid, len(mine))
            keep = (t >= starts[m]) & (t < close[m])
            m, t = m[keep], t[keep]
            yes = (200_000 + (m * 7919 + t // 900 * 104729) % 600_000).astype(np.int32)
            table = pa.table({
                "market_id": pa.array(np.array(ids, dtype=object)[m], pa.string()),
                "t": pa.array(t, pa.timestamp("s", tz="UTC")), "yes": yes, "bid": yes - 5000, "ask": yes + 5000,
                "volume": (m * 1000 + t % 997).astype(np.int64), "liquidity": (m * 50).astype(np.int64),
                "lag": (m % 240).astype(np.int32)}, schema=SCHEMA)
            date = time.strftime("%Y-%m-%d", time.gmtime(d0))
            rel = f"price_snapshots/platform={platform}/date={date}/part-{day:08d}.parquet"
            path = archive / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            rows_total += table.num_rows
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            registry.append((platform, date, rel, int(t.min()), int(t.max()), table.num_rows, len(mine), sha,
                             time.time()))
            if books:
                rel = f"order_books/platform={platform}/date={date}/part-{day:08d}.parquet"
                (archive / rel).parent.mkdir(parents=True, exist_ok=True)
                book_archive.write(book_table(id_array, m, t, yes), archive / rel)
                sha = hashlib.sha256((archive / rel).read_bytes()).hexdigest()
                book_registry.append((platform, date, rel, int(t.min()), int(t.max()), len(m), sha, time.time()))
    db.execute("BEGIN")
    db.executemany("INSERT INTO archived_partitions VALUES (?,?,?,?,?,?,?,?,?)", registry)
    db.executemany("INSERT INTO archived_book_partitions VALUES (?,?,?,?,?,?,?,?)", book_registry)
    db.execute("COMMIT")
    db.close()
    cfg = root / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{root / "collector.db"}"\n[archive]\ndir = "{archive}"\n'
                   f'[export]\nwwatcher_db_path = "{root / "none.db"}"\n')
    return cfg, rows_total


def child(args: list[str], stderr_path: Path | None = None) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of one child process (its stderr to stderr_path)."""
    start = time.perf_counter()
    with open(stderr_path or os.devnull, "w") as err:
        pid = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO).pid
        _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.001, 0.003, 0.01],
                    help="fractions of a full-scale year (1.0 = ~6 billion rows)")
    ap.add_argument("--prompts", action="store_true", help="also write prompts")
    ap.add_argument("--keep", help="directory to build in and keep (reuses built sizes)")
    ap.add_argument("--books", action="store_true",
                    help="also archive an order book for every snapshot (issue #19's book_history column)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_year_"))
    work.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    results = []
    for fraction in sorted(args.fractions):
        root = work / (f"f{fraction:g}" + ("-books" if args.books else ""))
        expected = FULL_OPEN_MARKETS * fraction * CYCLES_PER_DAY * YEAR_DAYS
        free_gb = shutil.disk_usage(work).free / 1e9
        if free_gb - 3 * expected * BYTES_PER_ROW * (2 if args.books else 1) / 1e9 < MIN_FREE_GB:
            print(f"fraction {fraction:g}: ~{expected / 1e6:.0f}M rows would leave < {MIN_FREE_GB:.0f} GB free; skipped")
            continue
        cfg = root / "config.toml"
        if not cfg.exists():
            t = time.perf_counter()
            _, rows = build(root, fraction, args.books)
            (root / "rows").write_text(str(rows))
            print(f"fraction {fraction:g}: built {rows:,} archived rows in {time.perf_counter() - t:.0f} s")
        rows = int((root / "rows").read_text())
        out = root / "export"
        export = [str(bin_dir / "exporter"), "--config", str(cfg), "--out", str(out), "-q", "--log-memory"] + (
            ["--prompts"] if args.prompts else [])
        wall, cpu, rss, status = child(export, root / "export.log")
        log = (root / "export.log").read_text()
        if status:
            raise SystemExit(f"exporter failed at fraction {fraction:g} (status {status}):\n{log[-2000:]}")
        for line in log.splitlines():  # exporter --log-memory: RSS per stage, to see which one grows
            if line.startswith("memory at "):
                print(f"  {fraction:g}: {line}")
        st_wall, _, _, st_status = child([str(bin_dir / "collector"), "--config", str(cfg), "status"])
        archive_mb = sum(p.stat().st_size for p in (root / "archive").rglob("*.parquet")) / 1e6
        results.append((fraction, rows, wall, cpu, rss, st_wall, archive_mb))
        print(f"fraction {fraction:g}: {rows:,} rows ({archive_mb:,.0f} MB archive): export wall {wall:.1f} s, "
              f"CPU {cpu:.1f} s ({cpu / rows * 1e6:.2f} CPU s per M rows), peak RSS {rss:.0f} MB; "
              f"collector status {st_wall:.2f} s (exit {st_status >> 8})")
    if len(results) < 2:
        return
    small, large = results[0], results[-1]
    ratio = large[4] / small[4]
    print(f"DuckDB memory_limit {MEMORY_LIMIT}; peak RSS {small[4]:.0f} -> {large[4]:.0f} MB over "
          f"{large[1] / small[1]:.1f}x the rows: ratio {ratio:.2f} (target <= {RSS_RATIO_TARGET}: "
          f"{'PASS' if ratio <= RSS_RATIO_TARGET else 'FAIL'}); CPU per M rows {small[3] / small[1] * 1e6:.2f} -> "
          f"{large[3] / large[1] * 1e6:.2f} s; slowest status {max(r[5] for r in results):.2f} s "
          f"(target < {STATUS_TARGET_S:.0f} s)")
    books = " and as many order books" if args.books else ""
    figure(f"year archive export, {large[1]:,} rows{books} ({large[0]:g} of full scale)",
           f"{large[2]:.0f} s, peak RSS {large[4]:.0f} MB (x{ratio:.2f} of {small[1]:,} rows)",
           f"RSS ratio <= {RSS_RATIO_TARGET}, status < {STATUS_TARGET_S:.0f} s",
           f"CPU {small[3] / small[1] * 1e6:.2f} vs {large[3] / large[1] * 1e6:.2f} s per M rows; "
           f"status {max(r[5] for r in results):.2f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
