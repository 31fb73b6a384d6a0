"""The short soak: a few simulated hours of the whole pipeline under supervisord against a faulty
simulator, one SIGKILL of each program, then the checker's hard invariants (see tests/soak.py)."""

from __future__ import annotations

from tests import soak, soak_check


def test_short_soak_with_one_kill_of_each_program(tmp_path):
    report = soak.run(sim_hours=4, speed=240, markets=300, kill_every=1, seed=5, work=tmp_path,
                      kills=list(soak.PROGRAMS))
    print(soak_check.render(report))
    assert sorted(k["program"] for k in report["chaos_kills"]) == sorted(soak.PROGRAMS)
    assert report["markets_stored"] > 50 and report["resolutions_final"] > 10 and report["snapshots"] > 100
    assert report["markets_missing"] == 0 and report["markets_duplicated"] == 0
    assert report["resolutions_wrong"] == 0 and report["resolutions_early"] == 0
    assert report["duplicate_snapshots"] == 0 and report["gaps_unexplained"] == 0
    assert report["integrity_check"] == "ok"
    assert report["books_checked"] > 100 and report["books_mismatched"] == 0  # stored books = served quotes
    assert sum(report["simulator_faults"].values()) > 0  # the faults really happened
    assert report["ok"]
