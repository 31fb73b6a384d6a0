"""Faults look like the documented failures, are counted, never stick, and never touch the truth.
Also: the `simulator` CLI prints its listening line and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from simulator.faults import Faults, FaultSpecError
from simulator.server import start
from tests.conftest import API_EXAMPLES

REPO = Path(__file__).resolve().parents[1]
KALSHI_429 = json.loads((API_EXAMPLES / "kalshi" / "error_429_observed.json").read_text())


def test_spec_grammar():
    f = Faults("rate=5,err=0.02,latency=50ms,drop=0.01,truncate=0.01,malformed=0.01,dup_page=0.01,cf403=0.005")
    assert f.rate == 5 and f.latency_s == 0.05 and f.p["cf403"] == 0.005 and f.enabled
    assert not Faults("").enabled
    with pytest.raises(FaultSpecError):
        Faults("explode=1")
    with pytest.raises(FaultSpecError):
        Faults("err=2")


def test_rate_limit_shapes():
    h = start(seed=1, markets=50, speed=0, faults="rate=2")
    try:
        s = requests.Session()
        gamma = [s.get(h.gamma_url + "/markets/keyset?limit=1") for _ in range(12)]
        limited = [r for r in gamma if r.status_code == 429]
        assert limited and all(set(r.json()) == {"type", "error"} for r in limited)
        assert {"Retry-After" in r.headers for r in limited} == {True, False}
        kalshi = [s.get(h.kalshi_url + "/markets?limit=1") for _ in range(6)]
        k429 = [r for r in kalshi if r.status_code == 429]
        assert k429 and all(r.json() == KALSHI_429 and "Retry-After" not in r.headers for r in k429)
        clob = [s.get(h.clob_url + "/time") for _ in range(6)]
        assert any(r.status_code == 429 and set(r.json()) == {"error"} for r in clob)
        stats = s.get(h.url + "/_sim/stats").json()
        assert stats["faults"]["rate"] == len(limited) + len(k429) + sum(r.status_code == 429 for r in clob)
    finally:
        h.stop()


def test_errors_403_drop_truncate_are_counted_and_retries_succeed():
    h = start(seed=2, markets=100, speed=0, faults="err=0.15,cf403=0.1,drop=0.1,truncate=0.1")
    try:
        s = requests.Session()
        seen, ok = set(), 0
        for _ in range(80):
            try:
                r = s.get(h.kalshi_url + "/markets?limit=5")
                if r.status_code != 403:
                    r.json()
            except requests.exceptions.ConnectionError:
                seen.add("conn")
                continue
            except (requests.exceptions.ChunkedEncodingError, ValueError):
                seen.add("truncated")
                continue
            if r.status_code == 403:
                assert r.headers["Content-Type"].startswith("text/html") and b"Cloudflare" in r.content
                seen.add("403")
            elif r.status_code >= 500:
                assert set(r.json()["error"]) == {"code", "message"}
                seen.add("5xx")
            else:
                ok += 1
        assert {"conn", "403", "5xx"} <= seen and ok > 20
        faults = h.stats()["faults"]
        assert faults["drop"] > 0 and faults["cf403"] > 0 and faults["truncate"] > 0
        assert sum(v for k, v in faults.items() if k.startswith("err")) > 0
    finally:
        h.stop()


def test_malformed_and_dup_page_do_not_change_truth():
    clean = start(seed=3, markets=400, speed=0)
    noisy = start(seed=3, markets=400, speed=0, faults="malformed=0.5,dup_page=0.3")
    try:
        s = requests.Session()
        ids, repeats, corrupted = [], 0, 0
        params, last = {"limit": 20}, None
        while True:
            page = s.get(noisy.gamma_url + "/markets/keyset", params=params).json()
            for m in page["markets"]:
                if "conditionId" not in m or "x_sim_unknown_field" in m or m.get("id") is None \
                        or not isinstance(m.get("liquidityNum", 0), (int, float)) \
                        or not isinstance(m.get("closed"), bool):
                    corrupted += 1
                if m.get("id") is not None:
                    ids.append(str(m["id"]))
            cur = page.get("next_cursor")
            if not cur:
                break
            if cur == last:
                repeats += 1
            last = cur
            params["after_cursor"] = cur
        assert repeats > 0 and corrupted > 0
        assert set(ids) >= {r["gamma_id"] for r in clean.truth()["polymarket"]
                            if r["status"] == "open"} - {None}
        assert noisy.truth() == clean.truth()
        faults = noisy.stats()["faults"]
        assert faults["malformed"] > 0 and faults["dup_page"] == repeats
    finally:
        clean.stop()
        noisy.stop()


def test_cli_prints_listening_line_and_exits_on_sigterm(tmp_path):
    truth = tmp_path / "truth.json"
    proc = subprocess.Popen([sys.executable, "-m", "simulator.main", "--port", "0", "--markets", "20",
                             "--speed", "0", "--truth-out", str(truth)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("simulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert requests.get(url + "/_sim/clock", timeout=5).json()["now"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert json.loads(truth.read_text())["polymarket"]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_help_and_bad_faults():
    out = subprocess.run([sys.executable, "-m", "simulator.main", "--help"], capture_output=True,
                         text=True, cwd=REPO)
    assert out.returncode == 0 and "--legacy-cents" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "simulator.main", "--port", "0", "--faults", "boom=1"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.startswith("Error:")
