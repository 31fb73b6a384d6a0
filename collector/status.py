"""What `collector status` reports, gathered read-only and without scanning big tables.

Everything comes from small tables or index lookups, so it stays fast on a database with
hundreds of millions of snapshots: snapshot counts come from ``snapshot_cycles`` (one row per
platform and grid time), never from ``COUNT(*)`` over ``snapshot``; the last run of each phase is
one lookup in the ``phase_runs_last`` index. Program states come from supervisord's XML-RPC
interface on the unix socket in the data directory; supervisord not running is a state, not an
error. The JSON shape (``STATUS_VERSION``) is documented in ``gather``'s docstring and stable.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import xmlrpc.client
from datetime import datetime
from pathlib import Path

from collector import book_status, clock, platforms
from collector import sink_health, verdict
from collector.db import check_ours, connect_reader
from collector.config import Config
from collector.errors import DatabaseError
from collector.wire import MARKET_STATUSES, PHASES

STATUS_VERSION = 1
DAY_S = 86400
RECENT_GAPS = 10  # how many of the newest missing snapshot cycles are listed by time
MAX_GRID_SLOTS = 5_000_000  # beyond this many expected cycles, gaps are counted but not listed
SUPERVISOR_SOCKET = "supervisor.sock"  # in the data directory; see supervisord.conf
SUPERVISOR_TIMEOUT_S = 3.0


def gather(cfg: Config) -> dict:
    """The whole status as a JSON-ready dict.

    Keys (version 1; new keys may be added, none change meaning)::

        version, generated_at (ISO), config (path or "<defaults>")
        database: path, exists, size_bytes (file + -wal), wal_bytes, free_disk_bytes,
                  schema_version, source ("live" | "simulator" | null)
        markets: {platform: {total, by_status: {active, closed, resolved, voided},
                             pending_past_end_date}}
        closed_pending: {platform: {count, oldest_age_seconds, stuck}} (closed, not final yet)
        snapshots: {total, last_24h, backfill_total (replayed history points included),
                    by_platform: {platform: {total, last_24h, backfill_total, cycles,
                                             first_cycle, last_cycle}}}
        phases: {platform: {phase: {last: {job_id, started_at, finished_at, duration_seconds,
                                           ok, grid_time, requests, retries, records, skipped,
                                           errors, message}, runs_24h, failed_24h}}}
        gaps: {platform: {interval_seconds, first_cycle, expected, present, missing, missing_24h,
                          recent_missing: [ISO, ...]}}
        disk_guard: {active, snapshots_dropped, min_free_disk_mb}
        archive: {partitions, rows, newest_day} (snapshots moved to Parquet) or null
        backfill: {markets_done, points} (replayed histories) or null
        books: {platform: {last_cycle, open, books, with_levels, cycle_share, hour_markets, hour_share,
                           note}} (order-book coverage, collector/book_status.py) or null
        sink_counters: {name: value}
        sink_health: {commit_failing, failing_since, failures_in_a_row, last_error, updated_at} while
                     the sink's commits fail (collector/sink_health.py), else null
        supervisor: {running, socket, error, programs: {name: {state, description}}}
        verdict: {state ("OK" | "DEGRADED" | "DOWN"), line, exit_code, problems: [{severity, what, fix}]}
    """
    now = clock.now()
    db_path = cfg.db_path
    out: dict = {
        "version": STATUS_VERSION,
        "generated_at": clock.iso(now),
        "config": cfg.source_path,
        "database": _files(db_path),
        "markets": {},
        "snapshots": {"total": 0, "last_24h": 0, "backfill_total": 0, "by_platform": {}},
        "phases": {},
        "gaps": {},
        "disk_guard": {"active": False, "snapshots_dropped": 0, "min_free_disk_mb": cfg.sink.min_free_disk_mb},
        "sink_counters": {},
        "archive": None,
        "backfill": None,
        "supervisor": supervisor_state(cfg.data_dir),
        "sink_health": sink_health.read(cfg.data_dir),
    }
    if out["database"]["exists"]:
        db = connect_reader(str(db_path))
        try:
            check_ours(db, str(db_path))
            _from_db(db, cfg, now, out)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{db_path}: cannot read: {exc}") from None
        finally:
            db.close()
    out["verdict"] = verdict.judge(out, cfg)
    return out


def _files(db_path: Path) -> dict:
    size = lambda p: p.stat().st_size if p.exists() else 0  # noqa: E731
    wal = Path(f"{db_path}-wal")
    probe = db_path.parent if db_path.parent.exists() else Path.cwd()
    return {"path": str(db_path), "exists": db_path.exists(), "size_bytes": size(db_path) + size(wal),
            "wal_bytes": size(wal), "free_disk_bytes": shutil.disk_usage(probe).free,
            "schema_version": None, "source": None}


def _from_db(db: sqlite3.Connection, cfg: Config, now: float, out: dict) -> None:
    out["database"]["schema_version"] = db.execute("PRAGMA user_version").fetchone()[0]
    if out["database"]["schema_version"] == 0:
        return  # created but not migrated yet
    row = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    out["database"]["source"] = row[0] if row else None
    out["markets"] = _markets(db, now)
    out["closed_pending"] = closed_pending(db, now)
    out["snapshots"] = _snapshots(db, now)
    _add_backfill_points(db, out["snapshots"])
    out["phases"] = _phases(db, now, cfg)
    out["gaps"] = {p: gaps(db, p, cfg.interval_seconds("snapshot"), now)
                   for p in out["snapshots"]["by_platform"]}
    out["archive"] = _optional(db, "SELECT count(*), coalesce(sum(rows), 0), max(day) FROM archived_partitions",
                               ("partitions", "rows", "newest_day"))
    out["backfill"] = _optional(db, "SELECT count(*), coalesce(sum(points), 0) FROM backfill_markets",
                                ("markets_done", "points"))
    out["books"] = book_status.coverage(db)
    counters = dict(db.execute("SELECT name, value FROM sink_counters ORDER BY name").fetchall())
    out["sink_counters"] = counters
    out["disk_guard"]["active"] = bool(counters.get("disk_guard_active", 0))
    out["disk_guard"]["snapshots_dropped"] = counters.get("snapshots_dropped_disk", 0)


def _optional(db: sqlite3.Connection, sql: str, keys: tuple[str, ...]) -> dict | None:
    """One summary row of a table a later migration added; None on an older database."""
    try:
        return dict(zip(keys, db.execute(sql).fetchone()))
    except sqlite3.OperationalError:
        return None


def _markets(db: sqlite3.Connection, now: float) -> dict:
    markets: dict = {}
    for platform, status, n in db.execute(
            "SELECT platform, status, count(*) FROM markets GROUP BY platform, status"):
        entry = markets.setdefault(platform, {"total": 0, "by_status": dict.fromkeys(MARKET_STATUSES, 0),
                                              "pending_past_end_date": 0})
        entry["total"] += n
        entry["by_status"][status] = entry["by_status"].get(status, 0) + n
    today = clock.iso(now)
    for platform, entry in markets.items():
        for status in ("active", "closed"):  # not final yet although the scheduled end has passed
            entry["pending_past_end_date"] += db.execute(
                "SELECT count(*) FROM markets WHERE platform = ? AND status = ? AND end_date < ?",
                (platform, status, today)).fetchone()[0]
    return markets


def closed_pending(db: sqlite3.Connection, now: float) -> dict:
    """Per platform: markets closed but not final yet, how long ago the oldest one closed, and how
    many closed more than ``verdict.CLOSED_PENDING_DAYS`` ago and have been tracked that long
    (``stuck``, which degrades the verdict; a market first seen already long closed, as the first
    DISCOVER's closed-history tail brings, is counted only after we have watched it for as long).

    Ages are from ``closed_at`` (when trading really stopped), else the scheduled end; a large one
    means a label is stuck and RESOLVE's re-check (fetchers/recheck.py) keeps asking about it.
    """
    out = {}
    long_ago = clock.iso(now - verdict.CLOSED_PENDING_DAYS * DAY_S)
    for platform, n, oldest, stuck in db.execute(
            "SELECT platform, count(*), min(coalesce(closed_at, end_date)),"
            " sum(coalesce(closed_at, end_date) < ? AND first_seen_at < ?) FROM markets"
            " WHERE status = 'closed' GROUP BY platform",
            (long_ago, now - verdict.CLOSED_PENDING_DAYS * DAY_S)):
        age = None
        if oldest:
            try:
                age = round(now - datetime.fromisoformat(oldest.replace("Z", "+00:00")).timestamp())
            except ValueError:
                pass
        out[platform] = {"count": n, "oldest_age_seconds": age, "stuck": stuck or 0}
    return out


def closed_pending_lines(pending: dict | None) -> list[str]:
    """One status line per platform with closed-pending markets."""
    lines = []
    for platform, p in sorted((pending or {}).items()):
        age = p["oldest_age_seconds"]
        lines.append(f"closed, not final: {platform} {p['count']} markets, oldest closed "
                     f"{'?' if age is None else f'{age / 3600:.1f} h'} ago")
    return lines


def _snapshots(db: sqlite3.Connection, now: float) -> dict:
    snaps: dict = {"total": 0, "last_24h": 0, "backfill_total": 0, "by_platform": {}}
    since = int(now) - DAY_S
    for platform, source, total, recent, cycles, first, last in db.execute(
            "SELECT platform, source, sum(rows), sum(CASE WHEN t >= ? THEN rows ELSE 0 END), "
            "count(*), min(t), max(t) FROM snapshot_cycles GROUP BY platform, source", (since,)):
        entry = snaps["by_platform"].setdefault(platform, {
            "total": 0, "last_24h": 0, "backfill_total": 0, "cycles": 0, "first_cycle": None,
            "last_cycle": None})
        if source == "live":
            entry.update(total=total, last_24h=recent, cycles=cycles,
                         first_cycle=clock.iso(first), last_cycle=clock.iso(last))
            snaps["total"] += total
            snaps["last_24h"] += recent
        else:
            entry["backfill_total"] += total
            snaps["backfill_total"] += total
    return snaps


def _add_backfill_points(db: sqlite3.Connection, snaps: dict) -> None:
    """Replayed history points: the sink counts them per market in backfill_markets, not in
    snapshot_cycles (one small row per backfilled market, so this stays cheap)."""
    try:
        rows = db.execute("SELECT platform, coalesce(sum(points), 0) FROM backfill_markets GROUP BY platform").fetchall()
    except sqlite3.OperationalError:
        return  # a database from before the backfill migration
    for platform, points in rows:
        entry = snaps["by_platform"].setdefault(platform, {
            "total": 0, "last_24h": 0, "backfill_total": 0, "cycles": 0, "first_cycle": None, "last_cycle": None})
        entry["backfill_total"] += points
        snaps["backfill_total"] += points


def _phases(db: sqlite3.Connection, now: float, cfg: Config) -> dict:
    phases: dict = {}
    for platform in platforms.registered(cfg):
        for phase in PHASES:
            row = db.execute(
                "SELECT job_id, started_at, finished_at, ok, grid_time, requests, retries, records, "
                "skipped, errors, message FROM phase_runs WHERE platform = ? AND phase = ? "
                "ORDER BY finished_at DESC LIMIT 1", (platform, phase)).fetchone()
            if row is None:
                continue
            runs, failed = db.execute(
                "SELECT count(*), coalesce(sum(ok = 0), 0) FROM phase_runs "
                "WHERE platform = ? AND phase = ? AND finished_at >= ?", (platform, phase, now - DAY_S)).fetchone()
            job_id, started, finished, ok, grid, requests, retries, records, skipped, errors, message = row
            phases.setdefault(platform, {})[phase] = {
                "last": {"job_id": job_id, "started_at": clock.iso(started), "finished_at": clock.iso(finished),
                         "duration_seconds": round(finished - started, 3), "ok": bool(ok),
                         "grid_time": clock.iso(grid), "requests": requests, "retries": retries,
                         "records": records, "skipped": skipped, "errors": errors, "message": message},
                "runs_24h": runs, "failed_24h": failed}
    return phases


def gaps(db: sqlite3.Connection, platform: str, interval: float, now: float) -> dict:
    """Snapshot cycles that were due (grid slots since the first live cycle, before the current
    one) but have no live row. O(cycles): one index range over snapshot_cycles."""
    step = max(1, int(round(interval)))
    current = clock.grid_floor(now, interval)
    first = db.execute("SELECT min(t) FROM snapshot_cycles WHERE platform = ? AND source = 'live'",
                       (platform,)).fetchone()[0]
    result = {"interval_seconds": step, "first_cycle": clock.iso(first), "expected": 0, "present": 0,
              "missing": 0, "missing_24h": 0, "recent_missing": []}
    if first is None or first >= current:
        return result
    expected = (current - 1 - first) // step + 1  # slots first, first+step, ... before `current`
    present = {t for (t,) in db.execute(
        "SELECT t FROM snapshot_cycles WHERE platform = ? AND source = 'live' AND t >= ? AND t < ?",
        (platform, first, current)) if (t - first) % step == 0}
    result.update(expected=expected, present=len(present), missing=expected - len(present))
    day_start = max(first, first + -(-(current - DAY_S - first) // step) * step)  # first slot in the last 24 h
    if day_start < current:
        due_24h = (current - 1 - day_start) // step + 1
        result["missing_24h"] = due_24h - sum(1 for t in present if t >= day_start)
    if result["missing"] and expected <= MAX_GRID_SLOTS:
        slot = first + (expected - 1) * step
        while slot >= first and len(result["recent_missing"]) < RECENT_GAPS:
            if slot not in present:
                result["recent_missing"].append(clock.iso(slot))
            slot -= step
    return result


class _UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over supervisord's unix socket, with a bounded wait."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        import http.client

        conn = http.client.HTTPConnection("localhost", timeout=SUPERVISOR_TIMEOUT_S)
        path = self.path

        def connect():
            conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.sock.settimeout(SUPERVISOR_TIMEOUT_S)
            conn.sock.connect(path)

        conn.connect = connect
        return conn


def supervisor_state(data_dir: Path) -> dict:
    """State of every supervisord program; {"running": False, ...} when supervisord is down."""
    sock = data_dir / SUPERVISOR_SOCKET
    state = {"running": False, "socket": str(sock), "error": None, "programs": {}}
    if not sock.exists():
        state["error"] = "not running (no socket)"
        return state
    try:
        proxy = xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(str(sock)))
        infos = proxy.supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error) as exc:
        state["error"] = f"not running ({exc.__class__.__name__}: {exc})"
        return state
    state["running"] = True
    state["programs"] = {i["name"]: {"state": i["statename"], "description": i["description"]}
                         for i in sorted(infos, key=lambda i: i["name"])}
    return state


def render(st: dict) -> str:
    """The verdict line, a fix for each problem, then the compact human table of ``gather``'s dict."""
    db, lines = st["database"], [st["verdict"]["line"]]
    for p in st["verdict"]["problems"]:
        lines += [f"  - {p['what']}", f"    fix: {p['fix']}"]
    lines.append("")
    guard = "  DISK GUARD ON: snapshots are not being stored" if st["disk_guard"]["active"] else ""
    lines.append(f"database   {db['path']}  {_human(db['size_bytes'])} (wal {_human(db['wal_bytes'])}), "
                 f"{_human(db['free_disk_bytes'])} free{guard}")
    if not db["exists"]:
        lines.append("           (not created yet: the sink creates it on first start)")
    lines.append("")
    lines.append(f"{'markets':<12}{'total':>9}{'active':>9}{'closed':>9}{'resolved':>9}{'voided':>9}{'past end':>9}")
    for platform, m in sorted(st["markets"].items()):
        b = m["by_status"]
        lines.append(f"{platform:<12}{m['total']:>9}{b.get('active', 0):>9}{b.get('closed', 0):>9}"
                     f"{b.get('resolved', 0):>9}{b.get('voided', 0):>9}{m['pending_past_end_date']:>9}")
    lines += closed_pending_lines(st.get("closed_pending"))
    lines.append("")
    snaps = st["snapshots"]
    lines.append(f"{'snapshots':<12}{'total':>12}{'last 24h':>12}{'backfill':>12}{'cycles':>8}{'missing':>9}  last cycle")
    for platform, s in sorted(snaps["by_platform"].items()):
        g = st["gaps"].get(platform, {})
        lines.append(f"{platform:<12}{s['total']:>12}{s['last_24h']:>12}{s['backfill_total']:>12}{s['cycles']:>8}"
                     f"{g.get('missing', 0):>9}  {s['last_cycle'] or '-'}")
    for platform, g in sorted(st["gaps"].items()):
        if g["recent_missing"]:
            lines.append(f"  {platform} missing cycles (newest first): {', '.join(g['recent_missing'][:5])}")
    lines.append("")
    lines.append(f"{'phase':<22}{'last finished':<22}{'secs':>7}{'records':>9}{'errors':>7}{'24h runs/failed':>17}  note")
    for platform, phases in sorted(st["phases"].items()):
        for phase, p in sorted(phases.items()):
            last = p["last"]
            note = ("" if last["ok"] else "FAILED ") + (last["message"] or "")
            lines.append(f"{platform + ' ' + phase:<22}{last['finished_at']:<22}{last['duration_seconds']:>7.1f}"
                         f"{last['records']:>9}{last['errors']:>7}{p['runs_24h']:>11}/{p['failed_24h']:<5}  {note}")
    lines.append("")
    sup = st["supervisor"]
    if sup["running"]:
        progs = ", ".join(f"{name} {p['state']}" for name, p in sup["programs"].items())
        lines.append(f"supervisord running: {progs}")
    else:
        lines.append(f"supervisord not running ({sup['socket']})")
    lines += book_status.render_lines(st.get("books"), clock.iso)
    if st.get("archive") and st["archive"]["partitions"]:
        a = st["archive"]
        lines.append(f"archive: {a['rows']} snapshots in {a['partitions']} Parquet partitions, newest {a['newest_day']}")
    counters = {k: v for k, v in st["sink_counters"].items() if v and k != "disk_guard_active"}
    if counters:
        lines.append("sink counters: " + ", ".join(f"{k}={v}" for k, v in counters.items()))
    return "\n".join(lines)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
