"""Issue 14's acceptance for `collector status`: the verdict line and exit code of a real
supervised pipeline (the bundled supervisord.conf against the simulator on 127.0.0.1), healthy,
then with a fetcher stopped, then with supervisord shut down."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import BIN
from tests.supervised_rig import SUPERVISED_MARKS, Supervised

pytestmark = SUPERVISED_MARKS


def status(sup: Supervised, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "collector"), "--config", str(sup.cfg), "status", *flags],
                          capture_output=True, text=True, timeout=30)


def cycles(sup: Supervised, platform: str) -> int:
    if not (sup.data / "collector.db").exists():
        return 0
    return sup.query("SELECT count(*) FROM snapshot_cycles WHERE platform = ? AND source = 'live'", (platform,))[0][0]


def test_status_verdict_healthy_then_fetcher_stopped_then_no_supervisord(supervised):
    supervised.wait_states("RUNNING")
    end = time.monotonic() + 60
    while time.monotonic() < end and min(cycles(supervised, p) for p in ("polymarket", "kalshi")) < 2:
        time.sleep(0.5)

    healthy = status(supervised)
    assert healthy.returncode == 0, healthy.stdout + supervised.logs()
    assert healthy.stdout.splitlines()[0] == "OK"
    doc = json.loads(status(supervised, "--json").stdout)
    assert doc["verdict"] == {"state": "OK", "line": "OK", "exit_code": 0, "problems": []}

    supervised.ctl("stop", "fetcher-kalshi")
    degraded = status(supervised)
    assert degraded.returncode == 1, degraded.stdout
    first = degraded.stdout.splitlines()[0]
    assert first.startswith("DEGRADED: fetcher-kalshi STOPPED"), first
    assert "collector ctl start fetcher-kalshi" in degraded.stdout
    doc = json.loads(status(supervised, "--json").stdout)
    assert doc["verdict"]["state"] == "DEGRADED" and doc["verdict"]["line"] == first

    supervised.shutdown()
    down = status(supervised)
    assert down.returncode == 2, down.stdout
    assert down.stdout.splitlines()[0].startswith("DOWN: supervisord not running")
    assert json.loads(status(supervised, "--json").stdout)["verdict"]["exit_code"] == 2
