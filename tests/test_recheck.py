"""The re-check schedule (fetchers/recheck.py): new or changed states at once, unchanged ones
less and less often after the grace period, never less than daily, bounded per run, kept on disk."""

from __future__ import annotations

from fetchers.recheck import GONE, MAX_WAIT_S, PER_RUN, Recheck

HOUR = 3600


def schedule(tmp_path, now, grace=0.0):
    return Recheck(tmp_path, "kalshi", "/x/collector.db", now, grace)


def test_unchanged_answers_back_off_up_to_a_day_and_changes_are_asked_at_once(tmp_path):
    r = schedule(tmp_path, 0.0)
    asked_at = []
    t = 0.0
    while t < 20 * 86400:  # a RESOLVE every 30 minutes, the answer never changes
        r = schedule(tmp_path, t)
        if r.pick({"A": "kalshi:closed"}) == ["A"]:
            asked_at.append(t)
            r.asked("A", "kalshi:closed")
            r.save()
        t += HOUR / 2
    gaps = [b - a for a, b in zip(asked_at, asked_at[1:])]
    assert gaps[:2] == [HOUR / 2, HOUR / 2]  # early on: every run
    assert gaps == sorted(gaps) and max(gaps) <= MAX_WAIT_S + HOUR / 2  # growing, capped at a day
    assert len(asked_at) < 40  # instead of 960 questions in 20 days
    r = schedule(tmp_path, t)
    assert r.pick({"A": "kalshi:determined"}) == ["A"]  # a changed stored state: asked now


def test_grace_period_asks_every_run_and_new_ones_come_first_within_the_bound(tmp_path):
    r = schedule(tmp_path, 0.0, grace=3 * 86400)
    r.asked("A", "uma:none")
    r.save()
    for t in (HOUR / 2, 86400, 2.9 * 86400):  # inside the grace period: due every run
        assert schedule(tmp_path, t, grace=3 * 86400).pick({"A": "uma:none"}) == ["A"]
    r = schedule(tmp_path, 0.0)
    for i in range(PER_RUN + 10):
        r.asked(f"old{i}", GONE)
    r.now = 10 * 86400
    picked = r.pick({**{f"old{i}": GONE for i in range(PER_RUN + 10)}, "new": None})
    assert len(picked) == PER_RUN and picked[0] == "new"
    r.asked("old0", None)  # final: forgotten
    r.keep_only(["old1"])
    assert set(r.markets) == {"old1"}


def test_a_schedule_for_another_database_is_ignored(tmp_path):
    r = schedule(tmp_path, 0.0)
    r.asked("A", GONE)
    r.save()
    other = Recheck(tmp_path, "kalshi", "/y/collector.db", 60.0)
    assert other.markets == {} and other.pick({"A": GONE}) == ["A"]
