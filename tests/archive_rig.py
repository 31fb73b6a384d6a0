"""The archive tests' world: six days of hourly snapshots for 12 markets a platform, sent through a
real sink by the real Publisher, and the exporter and `collector archive` run as console scripts.

Shared by test_archive*.py and test_books_archive/export.py; the fixture that starts the sink and
fills it (``filled_sink``) is in conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import time

from collector import config, wire
from collector.sink_client import Publisher
from tests.conftest import iso, kx_id, pm_id, script, write_config

DAY = 86400
T0 = 1_790_000_000 - 1_790_000_000 % DAY  # a UTC midnight
DAYS = 6
STEP = 3600  # hourly snapshots keep the test small


def make_config(tmp_path):
    """Sink, exporter and archiver share this config; the clock stands 20 days after the data."""
    return write_config(
        tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1},
        zmq={"ack_timeout_seconds": 1.0, "sink_wait_seconds": 60.0},
        clock={"speed": 1.0, "real_origin": time.time(), "sim_origin": float(T0 + (DAYS + 3) * DAY)},
        archive={"retention_days": 4.0},
        export={"output_dir": str(tmp_path / "exports")},
    )


def fill(cfg_path):
    """Publish the markets, their resolutions and every snapshot; returns how many snapshots."""
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, "fill", "live", cfg)
    for platform in ("polymarket", "kalshi"):
        for i in range(12):
            mid = pm_id(i) if platform == "polymarket" else kx_id(i)
            pub.publish(wire.MarketUpsert(platform=platform, market_id=mid, observed_at=T0 + 1.0, title=f"Will {mid} happen?",
                                          outcomes=["Yes", "No"], created_at="2026-09-01T00:00:00Z"))
            pub.publish(wire.Resolution(platform=platform, market_id=mid, observed_at=T0 + 2.0, status="resolved",
                                        resolution="YES" if i % 3 else "NO", winning_outcome="Yes" if i % 3 else "No",
                                        resolved_at=iso(T0 + DAYS * DAY + i), closed_at=iso(T0 + DAYS * DAY)))
            for t in range(T0, T0 + DAYS * DAY, STEP):
                p = ((t // STEP) * 7 + i * 13) % 997 / 1000
                pub.publish(wire.PriceSnapshot(platform, mid, t, p, max(0, p - 0.01), min(1, p + 0.01), 100 + i, 5.0))
    pub.flush_and_wait(60)
    pub.close()
    return 2 * 12 * DAYS * DAY // STEP


def export(cfg_path, out):
    """Run the exporter; the bytes of markets.parquet and prompts.jsonl, to compare two exports."""
    r = subprocess.run([script("exporter"), "--config", str(cfg_path), "--out", str(out), "--prompts",
                        "--no-wwatcher", "--quiet"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return {name: (out / name).read_bytes() for name in ("markets.parquet", "prompts.jsonl")}


def archive(cfg_path, env=None):
    """Run `collector archive` (with extra environment, e.g. a failpoint)."""
    return subprocess.run([script("collector"), "--config", str(cfg_path), "archive"], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


CLOSE = T0 + DAYS * DAY  # the markets of ``fill`` close here


def levels(i: int, c: int):
    c //= 2  # each book sits still for two cycles: the second is stored as a same_as row
    mid = 400_000 + 10_000 * ((i + c) % 7)
    bids = [(mid - 5_000 - 10_000 * k, 100 * (k + 1) + c) for k in range(5)]
    asks = [(mid + 5_000 + 10_000 * k, 50 * (k + 1) + i) for k in range(5)]
    return bids, asks


def fill_books(cfg_path) -> None:
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, "books", "live", cfg)
    for i in range(3):
        for c, t in enumerate(range(T0, CLOSE + DAY, 6 * 3600)):  # the last day is after the close
            bids, asks = levels(i, c)
            pub.publish(wire.OrderBook(platform="kalshi", market_id=kx_id(i), t=t, observed_at=t + 30.25,
                                       bid_px=[p for p, _ in bids], bid_sz=[s for _, s in bids],
                                       ask_px=[p for p, _ in asks], ask_sz=[s for _, s in asks]))
    pub.flush_and_wait(60)
    pub.close()
