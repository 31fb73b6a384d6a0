"""The short soak: a few simulated hours of the whole pipeline under supervisord against a faulty
simulator, one SIGKILL of each program, then the checker's hard invariants (see tests/soak.py).

And the checker can fail: each planted fault (collector/failpoints.py) makes it report FAIL for a
specific reason, while the same run without the fault passes (the mutation score in the README).
"""

from __future__ import annotations

import pytest

from tests import soak, soak_check

# Each run is a whole pipeline at 240x; `make test` runs this file on one worker, one run at a time.
pytestmark = pytest.mark.slow

# The sink dies right before every third snapshot commit of each life: batches are pending then,
# so an acknowledgement sent before the commit is a lost cycle, and one sent after costs nothing.
CRASH_BEFORE_COMMIT = {"COLLECTOR_FAILPOINT": "sink:before_snapshot_commit", "COLLECTOR_FAILPOINT_EVERY": "3"}


def test_short_soak_with_one_kill_of_each_program(tmp_path):
    report = soak.run(sim_hours=4, speed=240, markets=300, kill_every=1, seed=5, work=tmp_path,
                      kills=list(soak.PROGRAMS))
    print(soak_check.render(report))
    assert sorted(k["program"] for k in report["chaos_kills"]) == sorted(soak.PROGRAMS)
    assert report["markets_stored"] > 50 and report["resolutions_final"] > 10 and report["snapshots"] > 100
    assert report["cycles_checked"] >= 20 and report["prices_checked"] > 500
    assert report["markets_missing"] == 0 and report["markets_duplicated"] == 0
    assert report["resolutions_wrong"] == 0 and report["resolutions_early"] == 0
    assert report["cycle_counter_mismatch"] == 0 and report["gaps_unexplained"] == 0
    assert report["prices_out_of_tolerance"] == 0
    assert report["integrity_check"] == "ok"
    assert report["books_checked"] > 100 and report["books_mismatched"] == 0  # stored books = served quotes
    assert sum(report["simulator_faults"].values()) > 0  # the faults really happened
    assert report["ok"]


# What each planted fault must be caught as: the check that exists to catch it.
CAUGHT_AS = {"sink:ack_before_commit": "gaps_unexplained", "sink:drop_rows": "gaps_unexplained",
             "fetcher:skip_cycle": "gaps_unexplained", "fetcher:drop_labels": "labels_missing_after_resolve"}


@pytest.mark.parametrize("planted", ["", *CAUGHT_AS])
def test_the_checker_catches_each_planted_fault_and_passes_without(tmp_path, planted):
    report = soak.run(sim_hours=2.5, speed=240, markets=300, kill_every=1, seed=7, work=tmp_path,
                      kills=["fetcher-kalshi"], failpoints=planted, env_extra=CRASH_BEFORE_COMMIT)
    print(soak_check.render(report))
    # ~10 whole cycles in 2.5 simulated hours; a loaded machine (other tests on the other workers)
    # completes fewer, and 6 still show the checker compared real cycles
    assert report["cycles_checked"] >= 6
    if not planted:
        assert report["ok"], "the checker failed a run without planted faults"
        return
    assert not report["ok"], f"planted fault {planted} went unnoticed"
    assert report[CAUGHT_AS[planted]] > 0  # for its own reason (gaps: a cycle missing rows no recorded cause explains)
