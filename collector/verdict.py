"""The one-line health verdict of `collector status`: OK, DEGRADED: ..., or DOWN: ....

Each check is a small function of ``status.gather``'s dict (plus the config) that returns the
problems it sees; a new check is one more function in ``CHECKS``. A problem is DOWN when nothing
is being collected (supervisord, the sink or the scheduler not running, no fetcher running, or
every scheduled phase failing, as on a machine without internet) and
DEGRADED when collection is partial or at risk. Exit codes follow the same order as
``supervisorctl status`` (0 all well, non-zero otherwise): OK 0, DEGRADED 1, DOWN 2.
"""

from __future__ import annotations

from typing import Callable

from collector import clock, platforms
from collector.config import Config

OK, DEGRADED, DOWN = "OK", "DEGRADED", "DOWN"
EXIT_CODES = {OK: 0, DEGRADED: 1, DOWN: 2}
CORE_PROGRAMS = ("sink", "scheduler")  # without either, nothing is stored or scheduled
BAD_PROGRAM_STATES = ("FATAL", "BACKOFF", "EXITED", "UNKNOWN")  # wrong whether expected or not
SCHEDULED_PHASES = ("discover", "snapshot", "resolve", "news")  # what the scheduler runs on a cadence
STALE_PHASE_INTERVALS = 3  # a phase whose last run is older than this many intervals is not running
CLOSED_PENDING_DAYS = 7  # status.py counts markets closed (not final) for longer than this as stuck


def problem(severity: str, what: str, fix: str) -> dict:
    return {"severity": severity, "what": what, "fix": fix}


def expected_programs(cfg: Config) -> list[str]:
    """The supervisord programs that should be RUNNING for this config."""
    return [*CORE_PROGRAMS, *(f"fetcher-{p.name}" for p in platforms.enabled(cfg))]


def check_supervisor(st: dict, cfg: Config) -> list[dict]:
    sup = st["supervisor"]
    if not sup["running"]:
        return [problem(DOWN, f"supervisord {sup['error'] or 'not running'} ({sup['socket']})",
                        "start it: collector run (or make demo for the demo)")]
    found: list[dict] = []
    expected = expected_programs(cfg)
    programs = sup["programs"]
    for name in expected:
        state = programs.get(name, {}).get("state", "MISSING")
        if state not in ("RUNNING", "STARTING"):
            severity = DOWN if name in CORE_PROGRAMS else DEGRADED
            detail = programs.get(name, {}).get("description") or "not in the supervisord config"
            found.append(problem(severity, f"{name} {state} ({detail})",
                                 f"collector ctl start {name}; its log: {name}.log in the data directory"))
    for name, info in programs.items():
        if name not in expected and info["state"] in BAD_PROGRAM_STATES:
            found.append(problem(DEGRADED, f"{name} {info['state']} ({info['description']})",
                                 f"collector ctl start {name}; its log: {name}.log in the data directory"))
    fetchers = [name for name in expected if name.startswith("fetcher-")]
    if fetchers and not any(programs.get(f, {}).get("state") == "RUNNING" for f in fetchers):
        found.append(problem(DOWN, "no fetcher is running", "collector ctl start all"))
    return found


def check_phases(st: dict, cfg: Config) -> list[dict]:
    """The last run of a phase failed (with its whole message), or no run for several intervals."""
    found: list[dict] = []
    now = clock.unix(st["generated_at"])
    scheduled = [p["last"] for platform, phases in st["phases"].items() if cfg.platform(platform).enabled
                 for phase, p in phases.items() if phase in SCHEDULED_PHASES]
    if scheduled and not any(last["ok"] for last in scheduled):
        found.append(problem(DOWN, "every scheduled phase is failing: nothing is being collected",
                             "collector doctor (is each exchange reachable?); the errors follow"))
    for platform, phases in sorted(st["phases"].items()):
        if not cfg.platform(platform).enabled:
            continue
        for phase, p in sorted(phases.items()):
            if phase not in SCHEDULED_PHASES:
                continue  # a one-off run (backfill) says nothing about collection now
            last = p["last"]
            if not last["ok"]:
                found.append(problem(DEGRADED, f"{platform} {phase} failing ({p['failed_24h']} of "
                                               f"{p['runs_24h']} runs in 24h): {last['message'] or 'no message'}",
                                     f"see fetcher-{platform}.log; collector doctor checks the exchange is reachable"))
            interval = (cfg.news.interval_minutes * 60.0 if phase == "news" else cfg.interval_seconds(phase))
            age = now - clock.unix(last["finished_at"])
            if age > STALE_PHASE_INTERVALS * interval:
                found.append(problem(DEGRADED, f"{platform} {phase} has not run since {last['finished_at']} "
                                               f"(due every {interval:g} s)",
                                     f"check the scheduler and fetcher-{platform}: collector ctl status"))
    return found


def check_cycles(st: dict, cfg: Config) -> list[dict]:
    found: list[dict] = []
    for platform, g in sorted(st["gaps"].items()):
        if g.get("missing_24h"):
            newest = g["recent_missing"][0] if g["recent_missing"] else "?"
            found.append(problem(DEGRADED, f"{platform}: {g['missing_24h']} snapshot cycles missing in the "
                                           f"last 24h (newest {newest})",
                                 f"see scheduler.log and fetcher-{platform}.log around that time"))
    return found


def check_disk(st: dict, cfg: Config) -> list[dict]:
    guard = st["disk_guard"]
    if not guard["active"]:
        return []
    free_mb = st["database"]["free_disk_bytes"] / 1e6
    return [problem(DEGRADED, f"disk guard on: snapshots are not stored ({guard['snapshots_dropped']} dropped; "
                              f"{free_mb:.0f} MB free, minimum {guard['min_free_disk_mb']:g} MB)",
                    "free disk space or run collector archive; storing resumes by itself")]


def check_sink_commits(st: dict, cfg: Config) -> list[dict]:
    """The sink cannot commit (read-only file, I/O error, lock held elsewhere): nothing is stored."""
    h = st.get("sink_health")
    if not h:
        return []
    since = clock.iso(h.get("failing_since") or 0)
    return [problem(DOWN, f"sink commits failing since {since} ({h.get('failures_in_a_row')} in a row): "
                          f"{h.get('last_error')}",
                    "check the database file and its disk (permissions, read-only mount, free space, another "
                    "writer); nothing acknowledged is lost, the sink retries with back-off")]


def check_closed_pending(st: dict, cfg: Config) -> list[dict]:
    """Markets closed but not final long after trading stopped: RESOLVE is not finding outcomes."""
    return [problem(DEGRADED, f"{platform}: {m['stuck']} markets closed but not final more "
                              f"than {CLOSED_PENDING_DAYS} days after trading stopped",
                    f"see fetcher-{platform}.log for the resolve phase")
            for platform, m in sorted(st.get("closed_pending", {}).items()) if m.get("stuck")]


CHECKS: list[Callable[[dict, Config], list[dict]]] = [
    check_supervisor, check_sink_commits, check_phases, check_cycles, check_disk, check_closed_pending]


def judge(st: dict, cfg: Config) -> dict:
    """{"state", "line", "exit_code", "problems": [{severity, what, fix}]}; DOWN problems first."""
    problems = [p for check in CHECKS for p in check(st, cfg)]
    problems.sort(key=lambda p: p["severity"] != DOWN)
    state = DOWN if any(p["severity"] == DOWN for p in problems) else DEGRADED if problems else OK
    line = state if state == OK else f"{state}: " + "; ".join(p["what"] for p in problems)
    return {"state": state, "line": line, "exit_code": EXIT_CODES[state], "problems": problems}


