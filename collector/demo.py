"""`collector demo`: the whole product against the offline simulator, with a fast clock.

Why a command rather than a bare supervisord config: every process must agree on the simulated
time, so the clock origin is read from the running simulator and written into the demo's config
(``demo-data/config.toml`` = ``demo/config.demo.toml`` + ``[clock]``) before the sink, scheduler
and fetchers start. The simulated day starts at 23:00 UTC, so a UTC midnight passes within the
first minute and `collector archive` has a whole past day to move; a short backfill right away
gives resolved markets a price history, so `collector export --format=prompts` has prompts. Those
markets were first observed by the backfill, after they resolved, so their prompts need
``--late-metadata`` (README "Export": a strict export leaves out prompts asked before a market's
metadata was first observed); markets that resolve while the demo runs need nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

from collector import clock
from collector.errors import CollectorError, UsageError

ROOT = Path(__file__).resolve().parent.parent  # the checkout: supervisord.demo.conf, demo/, demo-data/
BIN = Path(sys.executable).parent
PIPELINE = ("sink", "scheduler", "fetcher-polymarket", "fetcher-kalshi")
DEFAULT_SPEED = 120.0  # simulated seconds per real second: 2 simulated hours per real minute
BACKFILL_DAYS = 10  # resolved markets of the last simulated days get their history replayed
START_WAIT_S = 30.0
STOP_WAIT_S = 120.0  # the sink may take a while to commit what it holds
DAY_S = 86400


class Demo:
    """The demo's files under one root (the checkout, or a copy of its demo files in tests)."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.conf = root / "supervisord.demo.conf"
        self.base_config = root / "demo" / "config.demo.toml"
        self.data = root / "demo-data"
        self.config = self.data / "config.toml"

    def sim_url(self) -> str:
        """scheme://host:port of the simulator, from the demo config's Kalshi base URL."""
        import tomllib
        from urllib.parse import urlsplit

        url = urlsplit(tomllib.loads(self.base_config.read_text())["kalshi"]["base_url"])
        return f"{url.scheme}://{url.netloc}"


def supervisorctl(demo: Demo, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "supervisorctl"), "-c", str(demo.conf), *args], capture_output=True,
                          text=True, timeout=STOP_WAIT_S, cwd=demo.root)


def running(demo: Demo) -> bool:
    from collector.status import supervisor_state

    return supervisor_state(demo.data)["running"]


def sim_now(demo: Demo, timeout: float = START_WAIT_S) -> float:
    """The simulator's clock, once it answers."""
    url = demo.sim_url()
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_sim/clock", timeout=2) as reply:
                return float(json.loads(reply.read())["now"])
        except (OSError, ValueError) as exc:
            if time.monotonic() > end:
                raise CollectorError(f"the demo simulator did not answer at {url} ({exc}); "
                                     f"see {demo.data / 'simulator.log'}") from None
            time.sleep(0.3)


def write_config(demo: Demo, sim_origin: float, real_origin: float, speed: float) -> Path:
    """demo/config.demo.toml plus the clock every demo process shares."""
    demo.config.write_text(demo.base_config.read_text() + "\n# Written by `collector demo`: the simulator's clock.\n"
                           f"[clock]\nspeed = {speed}\nreal_origin = {real_origin}\nsim_origin = {sim_origin}\n")
    return demo.config


def start(demo: Demo, speed: float, backfill_days: int, echo: Callable[[str], None]) -> int:
    """Start supervisord with the simulator, then the pipeline on its clock, then a short backfill."""
    import os

    from collector import config as config_mod
    from collector.reach import listening

    if running(demo):
        raise UsageError("the demo is already running (stop it: collector demo --stop)")
    address = demo.sim_url().split("://", 1)[1]
    if listening(f"tcp://{address}") is None:  # its clock would be read instead of the demo simulator's
        raise UsageError(f"something already listens on {address}; stop it, or change the port in "
                         f"{demo.base_config} and {demo.conf}")
    demo.data.mkdir(exist_ok=True)
    start_at = time.time() // DAY_S * DAY_S - 3600  # 23:00 UTC yesterday: midnight comes within a minute
    env = dict(os.environ, DEMO_START=clock.iso(start_at), DEMO_SPEED=f"{speed:g}")
    subprocess.run([str(BIN / "supervisord"), "-c", str(demo.conf)], env=env, check=True, cwd=demo.root)
    now = sim_now(demo)
    cfg_path = write_config(demo, now, time.time(), speed)
    echo(f"simulator up at {demo.sim_url()}, simulated time {clock.iso(now)}, {speed:g}x; starting the pipeline")
    supervisorctl(demo, "start", *PIPELINE)
    cfg = config_mod.load(str(cfg_path))
    end = time.monotonic() + START_WAIT_S
    while listening(cfg.sink_endpoint) and time.monotonic() < end:
        time.sleep(0.3)
    code = 0
    if backfill_days:
        since = time.strftime("%Y-%m-%d", time.gmtime(now - backfill_days * DAY_S))
        echo(f"backfill of markets resolved since {since} (simulated):")
        code = subprocess.call([str(BIN / "collector"), "--config", str(cfg_path), "backfill", "--since", since],
                               cwd=demo.root)
    echo(NEXT_STEPS.format(config=cfg_path.relative_to(demo.root), speed=speed))
    return code


NEXT_STEPS = """
The demo is running (simulated clock at {speed:g}x). From the repository root:
  .venv/bin/collector --config {config} status
  .venv/bin/collector --config {config} export --format=prompts --late-metadata --out demo-data/export
  .venv/bin/collector --config {config} archive      # after ~1 minute: the first simulated day is over
  .venv/bin/collector demo --stop"""


def stop(demo: Demo) -> int:
    """supervisorctl shutdown, then wait until supervisord (and so every program) has exited."""
    if not running(demo):
        return 0
    code = supervisorctl(demo, "shutdown").returncode
    pidfile = demo.data / "supervisord.pid"
    end = time.monotonic() + STOP_WAIT_S
    while pidfile.exists() and time.monotonic() < end:
        time.sleep(0.2)
    return code
