"""The real supervisord.conf, end to end: every program under supervisord against the simulator.

A user's view: export COLLECTOR_CONFIG and COLLECTOR_DATA, `supervisord -c supervisord.conf`,
`supervisorctl -c supervisord.conf status`, `collector status`, `supervisorctl stop all`. The
simulator runs in the test process on 127.0.0.1 (port 0) with its world starting now, so the
collector's ordinary clock agrees with it. Nothing leaves the machine.

The pipeline test is issue 6's acceptance: with intervals of a few seconds, each phase runs on
its grid; a scheduler stopped for several cycles and started again runs each overdue phase once;
a scheduler killed with SIGKILL comes back without duplicating a slot; a fetcher killed in the
middle of a phase has its job re-issued to its restarted self.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter

from tests.conftest import BIN
from tests.supervised_rig import PROGRAMS, SUPERVISED_MARKS, Supervised

pytestmark = SUPERVISED_MARKS


def test_supervisord_runs_every_program_and_stops_cleanly(supervised):
    states = supervised.wait_states("RUNNING")
    assert states.get("fetcher-news") == "STOPPED"  # present, autostart=false
    st = json.loads(subprocess.run([str(BIN / "collector"), "--config", str(supervised.cfg), "status", "--json"],
                                   capture_output=True, text=True, timeout=30).stdout)
    assert st["supervisor"]["running"] is True
    assert {p: st["supervisor"]["programs"][p]["state"] for p in PROGRAMS} == dict.fromkeys(PROGRAMS, "RUNNING")
    end = time.monotonic() + 30
    while time.monotonic() < end and not (supervised.data / "collector.db").exists():
        time.sleep(0.2)
    while time.monotonic() < end and supervised.query("SELECT count(*) FROM snapshot_cycles")[0][0] < 2:
        time.sleep(0.5)
    supervised.ctl("stop", "all")
    supervised.wait_states("STOPPED", timeout=60)
    markets = supervised.query("SELECT count(*) FROM markets")[0][0]
    assert markets > 0, supervised.logs()
    assert supervised.query("PRAGMA integrity_check") == [("ok",)]
    assert "sink stopped cleanly" in (supervised.data / "sink.log").read_text()
    supervised.ctl("start", "all")  # resumes on the same database
    supervised.wait_states("RUNNING")
    assert supervised.query("SELECT count(*) FROM markets")[0][0] >= markets


def runs(sup: Supervised, phase: str, platform: str) -> list[tuple]:
    return sup.query("SELECT grid_time, started_at, job_id, ok FROM phase_runs WHERE platform = ? AND phase = ? "
                     "ORDER BY started_at", (platform, phase))


def test_pipeline_cadence_catch_up_and_reissue(supervised, sim_now):
    step = 6  # snapshot and discover every 6 s, resolve every 12 s
    supervised.wait_states("RUNNING")
    time.sleep(15)

    # 1. On time: consecutive snapshot slots, each started within a few seconds of its slot.
    for platform in ("polymarket", "kalshi"):
        snaps = runs(supervised, "snapshot", platform)
        grids = [g for g, *_ in snaps]
        assert len(grids) >= 2 and grids == sorted(set(grids)), (platform, grids, supervised.logs())
        assert all(b - a == step for a, b in zip(grids[1:], grids[2:])), (platform, grids)
        assert all(started - g < 4.0 for g, started, *_ in snaps[1:]), snaps
        assert len(runs(supervised, "resolve", platform)) >= 1

    # 2. Scheduler stopped for several cycles, then started: each overdue phase runs once.
    supervised.ctl("stop", "scheduler")
    stopped_at = time.time()
    time.sleep(2 * step + 1)
    restarted_at = time.time()
    supervised.ctl("start", "scheduler")  # returns after startsecs (3 s)
    intervals = {"snapshot": step, "discover": step, "resolve": 2 * step}
    for platform in ("polymarket", "kalshi"):
        for phase, interval in intervals.items():
            stop_slot = int(stopped_at) // interval * interval
            restart_slot = int(restarted_at) // interval * interval
            after = [r for r in runs(supervised, phase, platform) if r[1] >= restarted_at]
            grids = [g for g, *_ in after]
            assert grids and grids[0] in (restart_slot, restart_slot + interval), (platform, phase, after)
            assert grids == sorted(set(grids)), (platform, phase, after)  # once per slot
            missed = [g for g in grids if stop_slot < g < restart_slot]
            assert missed == [], (platform, phase, missed)  # missed cycles are not replayed
    assert "catching up once" in (supervised.data / "scheduler.log").read_text()

    # 3. SIGKILL the scheduler: supervisord restarts it; no slot runs twice.
    supervised.ctl("signal", "KILL", "scheduler")
    time.sleep(step + 2)
    supervised.wait_states("RUNNING", programs=("scheduler",))
    for platform in ("polymarket", "kalshi"):
        for phase in ("snapshot", "discover"):
            slots = Counter(g for g, *_ in runs(supervised, phase, platform) if g is not None)
            assert max(slots.values()) == 1, (platform, phase, slots)

    # 4. A fetcher killed mid-phase: its job is re-issued to the restarted fetcher.
    sched_log = supervised.data / "scheduler.log"
    sim_now.sim.faults = type(sim_now.sim.faults)("latency=1.5s", 11)  # every kalshi request now takes 1.5 s
    seen = sched_log.read_text().count("sent to fetcher-kalshi")
    end = time.monotonic() + 3 * step
    while time.monotonic() < end and sched_log.read_text().count("sent to fetcher-kalshi") == seen:
        time.sleep(0.05)
    time.sleep(0.3)
    supervised.ctl("signal", "KILL", "fetcher-kalshi")
    killed = re.findall(r"job (kalshi\.\S+) sent to (fetcher-kalshi-\S+):", sched_log.read_text())[-1]
    sim_now.sim.faults = type(sim_now.sim.faults)("", 11)
    time.sleep(3.0 + 2 * step)
    text = sched_log.read_text()
    assert f"job {killed[0]} released (its fetcher went silent)" in text, text[-3000:]
    later = re.findall(r"job (kalshi\.(\w+)\.\S+) sent to (fetcher-kalshi-\S+):", text.split(killed[0] + " released")[1])
    _, phase, _grid = killed[0].split(".")[:3]
    reissued = [j for j, ph, f in later if ph == phase and f != killed[1]]
    assert reissued, later
    done = {row[0] for row in supervised.query("SELECT job_id FROM phase_runs WHERE platform = 'kalshi'")}
    assert reissued[0] in done and killed[0] not in done


def test_collector_run_is_supervisord_in_the_foreground(tmp_path, sim_now):
    """`collector run` execs supervisord -n; `collector ctl` reaches it; SIGTERM stops everything, exit 0."""
    data = tmp_path / "data"  # not created: `collector run` creates the data directory itself
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[general]
db_path = "{data / 'collector.db'}"
[polymarket]
base_url = "{sim_now.clob_url}"
gamma_url = "{sim_now.gamma_url}"
[kalshi]
base_url = "{sim_now.kalshi_url}"
""")
    run = subprocess.Popen([str(BIN / "collector"), "--config", str(cfg), "run"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = [str(BIN / "collector"), "--config", str(cfg), "ctl"]
    try:
        end, out = time.monotonic() + 30, ""
        while time.monotonic() < end:
            out = subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30).stdout
            if all(re.search(rf"^{p}\s+RUNNING", out, re.M) for p in PROGRAMS):
                break
            time.sleep(0.5)
        assert all(re.search(rf"^{p}\s+RUNNING", out, re.M) for p in PROGRAMS), out
        run.send_signal(signal.SIGTERM)
        assert run.wait(90) == 0
        assert "sink stopped cleanly" in (data / "sink.log").read_text()
        proc = subprocess.run([str(BIN / "collector"), "--config", str(cfg), "status", "--json"],
                              capture_output=True, text=True, timeout=30)
        st = json.loads(proc.stdout)
        assert st["supervisor"]["running"] is False and proc.returncode == 2  # a verdict, not an error
    finally:
        if run.poll() is None:
            run.terminate()
            try:
                run.wait(90)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
