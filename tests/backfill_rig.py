"""Shared rig for the backfill tests: a frozen simulator, a real sink, real `fetcher --backfill` runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import script, write_config

BACKFILL_TIMEOUT_S = 300  # a hang guard, not a speed target: a loaded 2-core machine takes minutes
FAST_RPS = 2000.0


def config(tmp: Path, sim, rps: float = FAST_RPS) -> Path:
    """A config in tmp whose clock reads the frozen simulator's now and whose URLs are the simulator's."""
    return write_config(
        tmp,
        general={"log_level": "INFO"},
        clock={"speed": 1.0, "real_origin": time.time(), "sim_origin": sim.now()},
        polymarket={"gamma_url": sim.gamma_url, "base_url": sim.clob_url, "requests_per_second": rps,
                    "read_timeout_seconds": 10.0, "connect_timeout_seconds": 2.0},
        kalshi={"base_url": sim.kalshi_url, "requests_per_second": rps, "read_timeout_seconds": 10.0},
        sink={"flush_interval_seconds": 0.05},
        zmq={"sink_wait_seconds": 20.0, "ack_timeout_seconds": 1.5},
    )

def backfill_args(cfg: Path, platform: str, *extra: str) -> list[str]:
    return [script("fetcher"), "--config", str(cfg), "--platform", platform, "--backfill", *extra]


def backfill(cfg: Path, platform: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(backfill_args(cfg, platform, *extra), capture_output=True, text=True,
                          timeout=BACKFILL_TIMEOUT_S)


def reader(tmp: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{tmp / 'collector.db'}?mode=ro", uri=True)


def marks(tmp: Path) -> dict[str, tuple[int, int]]:
    """market_id -> (points, resolution_s) of every checkpoint row."""
    with reader(tmp) as db:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT market_id, points, resolution_s FROM backfill_markets")}


def history(tmp: Path) -> dict[str, list[tuple]]:
    """market_id -> [(t, yes, bid, ask, volume)] of the backfill rows, in time order."""
    out: dict[str, list[tuple]] = {}
    with reader(tmp) as db:
        for mid, *row in db.execute("SELECT m.market_id, b.t, b.yes, b.bid, b.ask, b.volume FROM snapshot_backfill b"
                                    " JOIN markets m ON m.id = b.market ORDER BY m.market_id, b.t"):
            out.setdefault(mid, []).append(tuple(row))
    return out


MARKET_COLUMNS = ("platform, market_id, slug, title, description, category, outcomes, volume, liquidity, end_date,"
                  " status, resolution, resolved_at, created_at, updated_at, winning_outcome, settlement_value,"
                  " resolution_detail, closed_at, extra")


def contents(tmp: Path) -> dict:
    """What a user compares: markets, backfill rows and checkpoints, without collection timestamps.

    ``extra`` is compared as JSON: the sink writes it with json.dumps on insert and SQLite's
    json_patch (minified) on update, so its text depends on how often a market was upserted.
    """
    with reader(tmp) as db:
        markets = [(*r[:-1], json.dumps(json.loads(r[-1]), sort_keys=True) if r[-1] else None)
                   for r in db.execute(f"SELECT {MARKET_COLUMNS} FROM markets")]
        return {
            "markets": sorted(markets),
            "rows": sorted(db.execute("SELECT m.platform, m.market_id, b.t, b.yes, b.bid, b.ask, b.volume, b.liquidity"
                                      " FROM snapshot_backfill b JOIN markets m ON m.id = b.market")),
            "marks": sorted(db.execute("SELECT platform, market_id, points, resolution_s FROM backfill_markets")),
        }
