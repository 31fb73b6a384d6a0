"""Export benchmark: 20,000 resolved markets with 10 million snapshots, exported in < 60 s.

Builds a collector.db fixture straight into the schema with sqlite3 executemany (a fixture, not
the sink's path: it is ~10x faster and the export only reads), then runs ``exporter`` in a child
process and reports wall time and peak memory (ru_maxrss of the child), twice, to check the
re-export is byte-identical.

    .venv/bin/python bench/bench_export.py                   # full size
    .venv/bin/python bench/bench_export.py --markets 2000 --snapshots 1000000 --prompts
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from report import figure  # noqa: E402

from sink.schema import connect_writer, migrate  # noqa: E402

TARGET_SECONDS = 60.0
GRID_SECONDS = 900  # 15-minute snapshot cadence
T0 = 1_700_000_000  # 2023-11-14, first grid time of the fixture
ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(t: float) -> str:
    return time.strftime(ISO, time.gmtime(t))


def build_db(path: Path, markets: int, snapshots: int, active: int, seed: int = 1) -> None:
    """markets resolved YES/NO (~3% voided) plus `active` open ones; snapshots spread evenly."""
    rng = random.Random(seed)
    db = connect_writer(str(path))
    migrate(db)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = MEMORY")
    per = max(1, snapshots // markets)
    span = per * GRID_SECONDS
    horizon = T0 + 365 * 86400
    rows, opens = [], []
    for i in range(1, markets + active + 1):
        plat = "polymarket" if i % 5 else "kalshi"
        open_t = T0 + rng.randrange(0, (horizon - T0 - span) // GRID_SECONDS) * GRID_SECONDS
        close_t = open_t + span
        resolved = i <= markets
        voided = resolved and rng.random() < 0.03
        status = "voided" if voided else "resolved" if resolved else "active"
        res = None if not resolved or voided else rng.choice(["YES", "NO"])
        mid = f"0x{i:064x}" if plat == "polymarket" else f"KXBENCH-{i:07d}"
        rows.append((i, plat, mid, f"bench-{i}", f"Will bench event {i} happen by day {i % 365}?",
                     "Bench", '["Yes", "No"]', 1000.0 * i, 10.0 * i, iso(close_t), status, res,
                     iso(close_t + 3600) if resolved else None, iso(open_t - 86400), iso(close_t),
                     res.title() if res else None, iso(close_t) if resolved else None, open_t, close_t))
        opens.append((open_t, i, res))
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO markets (id, platform, market_id, slug, title, category, outcomes, volume, liquidity,"
        " end_date, status, resolution, resolved_at, created_at, updated_at, winning_outcome, closed_at,"
        " first_seen_at, observed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")
    # Inserting in (t, market) order appends at the right edge of the clustered primary key.
    opens.sort()
    starts = [o[0] for o in opens]

    def gen():
        lo = 0
        for t in range(starts[0], starts[-1] + span, GRID_SECONDS):
            while lo < len(opens) and starts[lo] <= t - span:
                lo += 1
            hi = bisect.bisect_right(starts, t, lo)
            for _, i, _res in sorted(opens[lo:hi], key=lambda o: o[1]):
                yes = 200_000 + (i * 7919 + t // GRID_SECONDS * 104729) % 600_000
                yield (t, i, yes, yes - 5000, yes + 5000, 1000 * i + t % 997, 50 * i, i % 240)  # read 0-4 min late

    db.execute("BEGIN")
    db.executemany("INSERT INTO snapshot (t, market, yes, bid, ask, volume, liquidity, lag)"
                   " VALUES (?,?,?,?,?,?,?,?)", gen())
    db.execute("COMMIT")
    db.close()


def run_export(db: Path, out: Path, prompts: bool) -> tuple[float, float]:
    cfg = out.parent / "bench.toml"
    cfg.write_text(f'[general]\ndb_path = "{db}"\n[export]\nwwatcher_db_path = "{out.parent / "none.db"}"\n')
    args = [str(Path(sys.executable).parent / "exporter"), "--config", str(cfg), "--out", str(out)]
    if prompts:
        args.append("--prompts")
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mb


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=20_000)
    ap.add_argument("--snapshots", type=int, default=10_000_000)
    ap.add_argument("--active", type=int, default=2_000, help="open markets (their snapshots are skipped)")
    ap.add_argument("--prompts", action="store_true", help="also write prompts.jsonl")
    ap.add_argument("--keep", help="directory to build in and keep (reuses an existing db)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_export_"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "collector.db"
    if not db.exists():
        t = time.perf_counter()
        build_db(db, args.markets, args.snapshots, args.active)
        print(f"built {db} ({db.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    out = work / "export"
    wall1, peak = run_export(db, out, args.prompts)
    first = digest(out)
    wall2, _ = run_export(db, out, args.prompts)
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"export: {manifest['counts']['markets']} markets, {manifest['counts']['snapshots']} snapshots"
          f"{', %d prompts' % manifest['counts']['prompts'] if args.prompts else ''}")
    print(f"wall {wall1:.1f} s (second run {wall2:.1f} s), target {TARGET_SECONDS:.0f} s, "
          f"ratio {wall1 / TARGET_SECONDS:.2f} ({'PASS' if wall1 < TARGET_SECONDS else 'FAIL'})")
    print(f"peak RSS of the exporter {peak:.0f} MB; re-export identical: {first == digest(out)}")
    figure(f"export of {manifest['counts']['markets']:,} markets / {manifest['counts']['snapshots']:,} snapshots",
           f"{wall1:.1f} s, peak RSS {peak:.0f} MB", f"< {TARGET_SECONDS:.0f} s",
           f"second run {wall2:.1f} s, byte-identical: {first == digest(out)}")
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
