"""A third platform is one module and one registry entry (issue 18).

The toy platform (tests/toy_platform.py) is known to nothing in the repository: this test's config
names it in ``[platforms.toy]``, and real sink, scheduler and fetcher processes run its
DISCOVER/SNAPSHOT/RESOLVE against a tiny fake exchange on 127.0.0.1 until `collector status`
shows what a user would check: its markets, its snapshot cycles, its resolved market, its phases.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from collector import config, platforms
from collector.errors import ConfigError
from tests.conftest import REPO, LocalHttp, free_port, script, wait_for, write_config
from tests.toy_exchange import ToyExchange

pytestmark = pytest.mark.timeout(120)

def toy_config(tmp_path, url: str):
    return write_config(
        tmp_path,
        general={"poll_interval_minutes": 0.05, "snapshot_interval_minutes": 0.05,
                 "resolve_interval_minutes": 0.05},
        zmq={"sink_endpoint": f"tcp://127.0.0.1:{free_port()}",
             "scheduler_endpoint": f"tcp://127.0.0.1:{free_port()}"},
        scheduler={"heartbeat_seconds": 0.3},
        polymarket={"enabled": False}, kalshi={"enabled": False},
        **{"platforms.toy": {"module": "tests.toy_platform", "base_url": url}},
    )


def status(cfg_path) -> dict:
    r = subprocess.run([script("collector"), "--config", str(cfg_path), "status", "--json"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout, r.stderr
    return json.loads(r.stdout)


def test_a_toy_platform_runs_all_phases_through_sink_and_scheduler_to_status(tmp_path, procs):
    fake = LocalHttp(ToyExchange)
    try:
        cfg_path = toy_config(tmp_path, fake.url)
        env = {"PYTHONPATH": str(REPO)}  # the toy module lives in tests/, not in the installed packages
        procs.start([script("sink"), "--config", str(cfg_path)], tmp_path / "sink.log", env)
        procs.start([script("scheduler"), "--config", str(cfg_path)], tmp_path / "scheduler.log", env)
        procs.start([script("fetcher"), "--config", str(cfg_path), "--platform", "toy"],
                    tmp_path / "fetcher.log", env)

        def all_phases_done():
            st = status(cfg_path)
            phases = st["phases"].get("toy", {})
            done = all(phases.get(p, {}).get("last", {}).get("ok") for p in platforms.TRADING_PHASES)
            return st if done and st["snapshots"]["by_platform"].get("toy", {}).get("cycles") else None

        st = wait_for(all_phases_done, timeout=90, interval=1.0, what="toy discover/snapshot/resolve in status")
    finally:
        fake.close()
    assert st["database"]["source"] == "simulator"  # its only URL is loopback
    assert st["markets"]["toy"]["total"] == 3
    assert st["markets"]["toy"]["by_status"]["resolved"] == 1
    assert st["snapshots"]["by_platform"]["toy"]["total"] >= 2  # the two open markets, per cycle
    assert st["phases"]["toy"]["discover"]["last"]["records"] == 3


def test_a_config_platform_cannot_shadow_a_builtin_or_escape_a_path(tmp_path):
    for name, module, why in (("kalshi", "tests.toy_platform", "built-in"),
                              ("../etc", "tests.toy_platform", "platform name"),
                              ("toy", "tests/toy_platform.py", "dotted module path")):
        path = write_config(tmp_path, f'[platforms."{name}"]\nmodule = "{module}"\n')
        with pytest.raises(ConfigError, match=why):
            config.load(path)


def test_an_unknown_platform_is_one_error_line_and_exit_2(tmp_path):
    cfg_path = write_config(tmp_path)
    r = subprocess.run([script("fetcher"), "--config", str(cfg_path), "--platform", "toy", "--once", "discover"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "unknown platform 'toy'; known: polymarket, kalshi, news" in r.stderr


def test_backfill_offers_the_registered_platforms_that_can_replay(tmp_path):
    """A configured platform without a backfill module is refused by name, before any sink is needed."""
    cfg_path = toy_config(tmp_path, "http://127.0.0.1:9")
    r = subprocess.run([script("collector"), "--config", str(cfg_path), "backfill", "--platform", "toy"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "'toy' is not one of polymarket, kalshi" in r.stderr
