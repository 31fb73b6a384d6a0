"""Sink ingest vs raw sqlite3.executemany, sink peak memory, and bytes per stored snapshot.

    python bench/bench_sink.py [--markets 50000] [--cycles 100]

Both sides store the same rows (markets x cycles price snapshots) into the same schema in one run
on this machine:
* baseline: one process calling sqlite3.executemany on pre-built tuples, 20,000 rows per
  transaction, WAL + synchronous=NORMAL (the sink's settings), no ZeroMQ, no decoding;
* pipeline: 2 sender processes -> ZeroMQ ipc -> the real `sink` process. Senders pre-encode their
  frames with the real wire protocol (bench/sink_sender.py); the clock runs from "go" until every
  batch is acknowledged, i.e. committed.
Prints throughput, the ratio (target >= 0.5), the sink's peak RSS (VmHWM, target < 150 MB) and
bytes per snapshot row from SQLite's dbstat, indexes included (target <= 40 B).
"""

from __future__ import annotations

import argparse
import json
import math
import os
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

from sink import schema  # noqa: E402
from tests.sender_proc import T0, expected_price, market_id  # noqa: E402
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)
from sink_sender import sweep_lag  # noqa: E402

TX_ROWS = 20_000


def snapshot_bytes(db_path: Path) -> tuple[int, int]:
    db = sqlite3.connect(db_path)
    try:
        size = db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN ('snapshot', 'snapshot_cycles')"
        ).fetchone()[0]
        rows = db.execute("SELECT count(*) FROM snapshot").fetchone()[0]
        return size, rows
    finally:
        db.close()


def baseline(tmp: Path, markets: int, cycles: int, senders: int) -> float:
    db_path = tmp / "baseline.db"
    db = schema.connect_writer(str(db_path))
    schema.migrate(db)
    db.executemany(
        "INSERT INTO markets (id, platform, market_id, first_seen_at, observed_at) VALUES (?, 'polymarket', ?, 0, 0)",
        [(s * markets + i + 1, market_id(f"s{s}", i)) for s in range(senders) for i in range(markets)],
    )
    rows = []
    for s in range(senders):
        for c in range(cycles):
            for i in range(markets):
                p = expected_price(i, c)
                rows.append((T0 + 900 * c, s * markets + i + 1, round(p * 1e6), round(max(0, p - 0.01) * 1e6),
                             round(min(1, p + 0.01) * 1e6), 1000 + c, 50, math.ceil(sweep_lag(i, markets))))
    rows.sort()
    start = time.perf_counter()
    for k in range(0, len(rows), TX_ROWS):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR IGNORE INTO snapshot (t, market, yes, bid, ask, volume, liquidity, lag)"
                       " VALUES (?,?,?,?,?,?,?,?)", rows[k:k + TX_ROWS])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return len(rows) / elapsed


def pipeline(tmp: Path, markets: int, cycles: int, senders: int) -> tuple[float, int, Path]:
    cfg = tmp / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{tmp}/collector.db"\n[sink]\nmin_free_disk_mb = 1\n'
                   "[zmq]\nack_timeout_seconds = 60.0\nsink_wait_seconds = 120.0\n")
    sink = subprocess.Popen([str(Path(sys.executable).parent / "sink"), "--config", str(cfg)],
                            stderr=open(tmp / "sink.log", "wb"))
    while not (tmp / "sink.ipc").exists():
        time.sleep(0.05)
    procs = [
        subprocess.Popen([sys.executable, str(REPO / "bench" / "sink_sender.py"), f"ipc://{tmp}/sink.ipc", f"s{s}",
                          str(markets), str(cycles)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for s in range(senders)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("a sender failed")
    elapsed = time.perf_counter() - start
    status = Path(f"/proc/{sink.pid}/status").read_text()
    hwm_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    sink.send_signal(signal.SIGTERM)
    sink.wait(60)
    return senders * markets * cycles / elapsed, hwm_kb // 1024, tmp / "collector.db"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=25_000, help="markets per sender")
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    senders = 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-sink-"))
    try:
        base_rate = baseline(tmp, args.markets, args.cycles, senders)
        rate, rss_mb, db_path = pipeline(tmp, args.markets, args.cycles, senders)
        size, rows = snapshot_bytes(db_path)
        result = {
            "rows": rows,
            "baseline_rows_per_s": round(base_rate),
            "sink_rows_per_s": round(rate),
            "ratio": round(rate / base_rate, 3),
            "sink_peak_rss_mb": rss_mb,
            "bytes_per_snapshot_row": round(size / rows, 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    print(f"snapshots stored:              {result['rows']:,} from {senders} sender processes")
    print(f"raw sqlite3.executemany:       {result['baseline_rows_per_s']:,} rows/s (baseline)")
    print(f"fetcher -> ZeroMQ -> sink:     {result['sink_rows_per_s']:,} rows/s")
    print(f"ratio sink / baseline:         {result['ratio']:.2f} (target >= 0.50)")
    print(f"sink peak RSS:                 {result['sink_peak_rss_mb']} MB (target < 150 MB)")
    print(f"bytes per snapshot row:        {result['bytes_per_snapshot_row']} B incl. index (target <= 40 B)")
    figure("sink ingest, 2 senders -> ZeroMQ -> SQLite", f"{result['ratio']:.2f}x raw", ">= 0.50x",
           f"raw sqlite3.executemany of the same {result['rows']:,} rows: {result['baseline_rows_per_s']:,} rows/s")
    figure("sink peak RSS while ingesting", f"{result['sink_peak_rss_mb']} MB", "< 150 MB",
           f"{result['rows']:,} snapshots")
    figure("bytes per stored snapshot row", f"{result['bytes_per_snapshot_row']} B", "<= 40 B",
           "SQLite dbstat, index included; the seed estimated ~110 B")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    main()
