"""Export benchmark: 20,000 resolved markets with 10 million snapshots, exported in < 60 s.

Builds a collector.db fixture straight into the schema with sqlite3 executemany (a fixture, not
the sink's path: it is ~10x faster and the export only reads), then runs ``exporter`` in a child
process and reports wall time, CPU time and peak memory (ru_maxrss of the child), twice, to check
the re-export is byte-identical.

The machine is shared, so absolute seconds move with the load. ``--baseline REV`` also runs the
exporter of an older commit (``git archive REV`` into a temp dir, imported first via PYTHONPATH)
on the same database in the same run, alternating with the current code, and reports the ratio
and whether both wrote the same bytes.

    .venv/bin/python bench/bench_export.py                   # full size
    .venv/bin/python bench/bench_export.py --markets 2000 --snapshots 1000000 --prompts
    .venv/bin/python bench/bench_export.py --prompts --baseline HEAD~3 --keep /tmp/bench_export
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import os
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
                     res.title() if res else None, iso(close_t) if resolved else None, open_t, open_t))  # seen at open
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


def run_export(db: Path, out: Path, prompts: bool, code: Path | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one exporter child; code: an older checkout to run instead."""
    cfg = out.parent / "bench.toml"
    cfg.write_text(f'[general]\ndb_path = "{db}"\n[export]\nwwatcher_db_path = "{out.parent / "none.db"}"\n')
    args = [sys.executable, "-c", "from exporter.main import main; main()", "--config", str(cfg), "--out", str(out)]
    if prompts:
        args.append("--prompts")
    env = dict(os.environ, PYTHONPATH=str(code)) if code else None
    start = time.perf_counter()
    pid = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                           cwd=code or REPO).pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"exporter failed (status {status}): {' '.join(args)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def checkout(rev: str, into: Path) -> Path:
    """The tree of commit rev, extracted (not checked out: the work tree is left alone)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def digest(out: Path, skip: tuple[str, ...] = ()) -> str:
    """Hash of the export's files (skip: names left out, e.g. the manifest, which names its paths)."""
    h = hashlib.sha256()
    for p in sorted(out.iterdir()):
        if p.is_file() and p.name not in skip:
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=20_000)
    ap.add_argument("--snapshots", type=int, default=10_000_000)
    ap.add_argument("--active", type=int, default=2_000, help="open markets (their snapshots are skipped)")
    ap.add_argument("--prompts", action="store_true", help="also write prompts.jsonl")
    ap.add_argument("--keep", help="directory to build in and keep (reuses an existing db)")
    ap.add_argument("--once", action="store_true", help="one run only (no byte-identical re-export check)")
    ap.add_argument("--baseline", metavar="REV", help="also time the exporter of commit REV (or of a checkout directory) in the same run")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_export_"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "collector.db"
    if not db.exists():
        t = time.perf_counter()
        build_db(db, args.markets, args.snapshots, args.active)
        print(f"built {db} ({db.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    out = work / "export"
    wall1, cpu1, peak = run_export(db, out, args.prompts)
    first = digest(out)
    if args.baseline:
        old_out = work / "export_baseline"
        code = Path(args.baseline) if Path(args.baseline).is_dir() else checkout(args.baseline, work / "baseline")
        old_wall, old_cpu, old_peak = run_export(db, old_out, args.prompts, code)
    wall2, cpu2, _ = (wall1, cpu1, None) if args.once else run_export(db, out, args.prompts)
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"export: {manifest['counts']['markets']} markets, {manifest['counts']['snapshots']} snapshots"
          f"{', %d prompts' % manifest['counts']['prompts'] if args.prompts else ''}")
    print(f"wall {wall1:.1f} s, CPU {cpu1:.1f} s (second run {wall2:.1f} s, CPU {cpu2:.1f} s), "
          f"target {TARGET_SECONDS:.0f} s, ratio {wall1 / TARGET_SECONDS:.2f} "
          f"({'PASS' if wall1 < TARGET_SECONDS else 'FAIL'})")
    same = "not checked (--once)" if args.once else first == digest(out)
    print(f"peak RSS of the exporter {peak:.0f} MB; re-export identical: {same}")
    note = "one run" if args.once else f"second run {wall2:.1f} s, byte-identical: {same}"
    if args.baseline:
        same = digest(old_out, skip=("manifest.json", "README.md")) == digest(out, skip=("manifest.json", "README.md"))
        print(f"baseline {args.baseline}: wall {old_wall:.1f} s, CPU {old_cpu:.1f} s, peak RSS {old_peak:.0f} MB; "
              f"current/baseline CPU {min(cpu1, cpu2) / old_cpu:.2f}, wall {min(wall1, wall2) / old_wall:.2f}; "
              f"same data files: {same}")
        note += f"; {args.baseline} in the same run: {old_wall:.1f} s (CPU {old_cpu:.1f} s vs {cpu1:.1f} s)"
    figure(f"export of {manifest['counts']['markets']:,} markets / {manifest['counts']['snapshots']:,} snapshots"
           f"{' with prompts' if args.prompts else ''}",
           f"{wall1:.1f} s, peak RSS {peak:.0f} MB", f"< {TARGET_SECONDS:.0f} s", note)
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
