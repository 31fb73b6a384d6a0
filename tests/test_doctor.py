"""`collector doctor` (issue 14): one line per check with a fix, against a real supervised pipeline
and the simulator, and on a machine where nothing is running and no exchange answers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

from tests.conftest import LocalHttp, free_port, script, write_config
from tests.supervised_rig import SUPERVISED_MARKS
from tests.toy_exchange import ToyExchange

pytestmark = SUPERVISED_MARKS

CHECKS = ["config", "data dir", "disk", "supervisord", "sink", "scheduler", "polymarket gamma",
          "polymarket clob", "kalshi", "wwatcher db"]


def doctor(cfg, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([script("collector"), "--config", str(cfg), "doctor", *flags],
                          capture_output=True, text=True, timeout=60)


def test_doctor_all_ok_on_a_running_pipeline(supervised, tmp_path):
    watcher = tmp_path / "wwatcher.db"
    db = sqlite3.connect(watcher)
    db.execute("CREATE TABLE alerts (id INTEGER PRIMARY KEY, market_title TEXT)")
    db.executemany("INSERT INTO alerts (market_title) VALUES (?)", [("a",), ("b",)])
    db.commit()
    db.close()
    supervised.cfg.write_text(supervised.cfg.read_text() + f'[export]\nwwatcher_db_path = "{watcher}"\n')
    supervised.wait_states("RUNNING")
    end = time.monotonic() + 30
    while time.monotonic() < end and "FAIL" in doctor(supervised.cfg).stdout:
        time.sleep(0.5)  # the sink and scheduler bind a moment after supervisord calls them RUNNING
    r = doctor(supervised.cfg)
    assert r.returncode == 0, r.stdout
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * len(CHECKS), r.stdout
    assert "wwatcher.db (2 alerts)" in r.stdout and "HTTP 200" in r.stdout
    assert [c["name"] for c in json.loads(doctor(supervised.cfg, "--json").stdout)] == CHECKS


def test_doctor_offline_and_nothing_running(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: what an offline machine sees, quickly
    (tmp_path / "afile").write_text("x")
    garbage = tmp_path / "poly.db"
    garbage.write_bytes(b"not sqlite" * 100)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[general]
db_path = "{tmp_path / 'afile' / 'data' / 'collector.db'}"
[sink]
min_free_disk_mb = 1e12
[polymarket]
base_url = "{dead}/clob"
gamma_url = "{dead}/gamma"
[kalshi]
base_url = "{dead}/kalshi"
[export]
wwatcher_db_path = "{garbage}"
[news]
enabled = true
searxng_url = "{dead}"
""")
    started = time.monotonic()
    r = doctor(cfg)
    assert time.monotonic() - started < 20
    assert r.returncode == 1
    checks = {c["name"]: c for c in json.loads(doctor(cfg, "--json").stdout)}
    names = [*CHECKS[:-1], "news searxng", CHECKS[-1]]  # news on: SearXNG is checked too
    assert list(checks) == names
    failing = {n for n, c in checks.items() if c["result"] == "FAIL"}
    assert failing == set(names) - {"config"}, checks
    assert all(checks[n]["fix"] for n in failing)
    assert "is a file" in checks["data dir"]["detail"]
    assert "cannot reach" in checks["kalshi"]["detail"] and "make demo" in checks["kalshi"]["fix"]
    assert "collector run" in checks["sink"]["fix"]
    lines = r.stdout.splitlines()
    assert len(lines) == len(names) and all("-> fix: " in line for line in lines if line.startswith("FAIL"))


def test_doctor_probes_every_enabled_platform_in_the_registry(tmp_path):
    """A platform added by a config section (a plugin) is probed like the built-in ones; a disabled
    one is not. Its URL is probed as configured: a 404 at its root still proves it answers."""
    toy = LocalHttp(ToyExchange)  # answers 200 at /markets, 404 elsewhere
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        cfg = write_config(tmp_path, polymarket={"enabled": False}, kalshi={"enabled": False},
                           **{"platforms.toy": {"module": "tests.toy_platform", "base_url": toy.url},
                              "platforms.gone": {"module": "tests.toy_platform", "base_url": dead},
                              "platforms.idle": {"module": "tests.toy_platform", "base_url": dead, "enabled": False}})
        checks = {c["name"]: c for c in json.loads(doctor(cfg, "--json").stdout)}
    finally:
        toy.close()
    assert list(checks) == ["config", "data dir", "disk", "supervisord", "sink", "scheduler", "toy", "gone",
                            "wwatcher db"]
    assert checks["toy"]["result"] == "ok" and f"GET {toy.url} -> HTTP 404" in checks["toy"]["detail"]
    assert checks["gone"]["result"] == "FAIL" and "cannot reach" in checks["gone"]["detail"]
