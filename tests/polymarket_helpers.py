"""Shared set-up for the Polymarket fetcher tests: a simulator or a fake Gamma, a config pointing at
it, a sink."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import LocalHttp, QuietHandler, iso, script, start_sink, write_config

FETCH_TIMEOUT_S = 120


def sim_config(tmp: Path, sim, rps: float = 50.0, **extra) -> Path:
    """Config whose clock reads the (frozen) simulator's now and whose URLs are the simulator's."""
    sections = {
        "general": {"log_level": "INFO"},
        "clock": {"speed": 1.0, "real_origin": time.time(), "sim_origin": sim.now()},
        "polymarket": {"gamma_url": sim.gamma_url, "base_url": sim.clob_url, "requests_per_second": rps,
                       "read_timeout_seconds": 5.0, "connect_timeout_seconds": 2.0},
        "kalshi": {"base_url": sim.kalshi_url},
        "sink": {"flush_interval_seconds": 0.05},
        "zmq": {"sink_wait_seconds": 15.0, "ack_timeout_seconds": 2.0},
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return write_config(tmp, **sections)


def fetch(cfg: Path, phase: str, platform: str = "polymarket", timeout: float = FETCH_TIMEOUT_S):
    return subprocess.run([script("fetcher"), "--config", str(cfg), "--platform", platform, "--once", phase],
                          capture_output=True, text=True, timeout=timeout)


def discover_from_fake_gamma(procs, tmp: Path, answer) -> subprocess.CompletedProcess:
    """One real `fetcher --once discover` into a real sink in tmp, against a fake Gamma (and CLOB) on
    127.0.0.1 that answers each GET with the JSON answer(query) returns (query: the parsed query
    string). Asserts the fetcher exited 0; returns its run (stderr holds its log)."""

    class Gamma(QuietHandler):
        def do_GET(self):
            self.reply_json(answer(parse_qs(urlsplit(self.path).query)))

    gamma = LocalHttp(Gamma)
    try:
        cfg = write_config(tmp, general={"log_level": "INFO"},
                           polymarket={"gamma_url": gamma.url, "base_url": gamma.url, "requests_per_second": 50.0},
                           sink={"flush_interval_seconds": 0.05}, zmq={"sink_wait_seconds": 15.0})
        start_sink(procs, tmp, cfg)
        r = fetch(cfg, "discover")
        assert r.returncode == 0, r.stderr[-2000:]
    finally:
        gamma.close()
    return r


def db_markets(tmp: Path) -> dict[str, dict]:
    db = sqlite3.connect(f"file:{tmp / 'collector.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {r["market_id"]: dict(r) for r in db.execute("SELECT * FROM markets WHERE platform = 'polymarket'")}
    finally:
        db.close()


def check_against_truth(tmp: Path, truth: dict) -> dict:
    """Every listed market stored once with the right fields; every final one right; none early."""
    stored = db_markets(tmp)
    markets = truth["polymarket"]
    assert {t["market_id"] for t in markets} == set(stored), "stored markets differ from the simulator's"
    outcome = {"YES": ("resolved", "YES"), "NO": ("resolved", "NO"), "VOID": ("voided", None)}
    counts = {"resolved": 0, "voided": 0, "pending": 0}
    for t in markets:
        r = stored[t["market_id"]]
        extra = json.loads(r["extra"])
        assert (r["title"], json.loads(r["outcomes"]), extra["gamma_id"]) == (t["title"], t["outcomes"], t["gamma_id"])
        assert json.loads(extra["clob_token_ids"]) == t["token_ids"]
        assert r["end_date"] == iso(t["scheduled_end"])
        assert (extra.get("neg_risk_market_id") or None) == t["neg_risk_market_id"]
        assert (extra.get("neg_risk_placeholder") == "true") == t["placeholder"]
        if t["placeholder"]:  # negRiskOther: stored flagged, never labelled
            assert r["status"] in ("active", "closed") and r["resolution"] is None, (t, r)
            continue
        if t["status"] == "resolved":
            assert (r["status"], r["resolution"]) == outcome[t["outcome"]], (t, r)
            if t["outcome"] != "VOID":
                assert r["winning_outcome"] == t["winning_outcome"]
            counts["voided" if t["outcome"] == "VOID" else "resolved"] += 1
        else:
            assert r["status"] in ("active", "closed"), f"resolved early: {t} -> {r}"
            assert r["resolution"] is None
            if t["status"] != "open":
                counts["pending"] += 1
            if t["status"] == "open":
                assert r["status"] == "active"
    return counts
