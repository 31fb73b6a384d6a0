"""`collector ctl stop all` stops the sink last; `restart all` brings back what ran, sink first.

Plain `supervisorctl stop all` signals every program at once, so the sink can exit while a
fetcher is still flushing its last batch. The user's check is supervisord's own log: the order of
its "stopped:" lines.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import BIN
from tests.supervised_rig import PROGRAMS, SUPERVISED_MARKS

pytestmark = SUPERVISED_MARKS


def stopped_order(sup) -> list[str]:
    return re.findall(r"stopped: (\S+) \(", (sup.data / "supervisord.log").read_text())


def collector_ctl(sup, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "collector"), "--config", str(sup.cfg), "ctl", *args],
                          capture_output=True, text=True, timeout=180)


def test_stop_all_stops_the_sink_after_every_other_program(supervised):
    supervised.wait_states("RUNNING")
    done = collector_ctl(supervised, "stop", "all")
    assert done.returncode == 0, done.stdout + done.stderr
    supervised.wait_states("STOPPED", timeout=60)
    order = stopped_order(supervised)
    assert sorted(order) == sorted(PROGRAMS), order  # fetcher-news never ran
    assert order[-1] == "sink" and order[-2] == "scheduler", order
    assert "sink stopped cleanly" in (supervised.data / "sink.log").read_text()

    again = collector_ctl(supervised, "restart", "all")  # nothing running: restarts nothing
    assert again.returncode == 0, again.stdout + again.stderr
    assert supervised.states()["sink"] == "STOPPED"


def test_restart_all_brings_back_what_ran_sink_first(supervised):
    supervised.wait_states("RUNNING")
    done = collector_ctl(supervised, "restart", "all")
    assert done.returncode == 0, done.stdout + done.stderr
    states = supervised.wait_states("RUNNING")
    assert states["fetcher-news"] == "STOPPED"  # autostart=false and not running before: stays so
    assert stopped_order(supervised)[-1] == "sink"
    log = (supervised.data / "supervisord.log").read_text()
    restarted = re.findall(r"spawned: '(\S+)'", log.split("stopped: sink")[-1])
    assert restarted and restarted[0] == "sink", restarted
