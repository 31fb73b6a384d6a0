"""bench/bench_scale.py's order-book figures (issue 19 at real scale): per cycle and platform, the
book rows the sink stored, books found vs "no book", the share of the markets open in the world's
truth that got a book this cycle and within the last hour, what the fetcher's planner said it
planned (its own log line, not recomputed here), and the book requests the simulator served; for
the run, the bytes book rows take in SQLite (SQLite's ``dbstat``) and in the archive (the
project's own archiver, exporter/book_archive.py, writing the run's rows).

Three sources, so they can disagree: the database (what was stored), the simulator's request
counters (what was asked), the fetcher's log (what was planned).
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path

HOUR_S = 3600
# Routes of the simulator's request counters (simulator/server.py: "<platform> <method> <pattern>").
BOOK_ROUTES = {"polymarket": "clob POST /books", "kalshi": "kalshi GET /markets/orderbooks"}
# fetchers/runner.py: "<time> fetcher.<platform>.snapshot INFO started grid_time=<iso>"
_STARTED = re.compile(r" fetcher\.(\w+)\.snapshot INFO started grid_time=(\S+)")
# fetchers/book_plan.py Plan.describe + report: "books for all N open markets in R requests; F books found"
# or "books for C of N open markets in R requests (budget B), each market at least every X; F books found"
_PLANNED = re.compile(r" fetcher\.(\w+)\.snapshot INFO books for (?:all (\d+)|(\d+) of (\d+)) open markets in (\d+) "
                      r"requests(?: \(budget (\d+)\), each market at least every ([^;-]+?))?(?: - NOT hourly[^;]*)?;"
                      r" (\d+) books found")
# A book was found: levels of its own, or the same levels as an earlier row (sink/schema.py, 007).
_FOUND = "(b.levels IS NOT NULL OR b.same_as IS NOT NULL)"


def planner_lines(work: Path) -> dict[tuple[str, str], dict]:
    """{(platform, grid time iso): the planner's figures} from the fetchers' logs (rotated files first).

    A books line belongs to the snapshot run the same logger last said it started."""
    out: dict[tuple[str, str], dict] = {}
    for platform in ("polymarket", "kalshi"):
        files = sorted(work.glob(f"fetcher-{platform}.log.*"), key=lambda p: -int(p.suffix[1:]))
        grid = None
        for path in [*files, work / f"fetcher-{platform}.log"]:
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                m = _STARTED.search(line)
                if m and m.group(1) == platform:
                    grid = m.group(2)
                    continue
                m = _PLANNED.search(line)
                if m and m.group(1) == platform and grid is not None:
                    n_open = int(m.group(2) or m.group(4))
                    chosen = int(m.group(2) or m.group(3))
                    out[(platform, grid)] = {
                        "planned_markets": chosen, "open_markets": n_open,
                        "planned_share": round(chosen / n_open, 4) if n_open else None,
                        "planned_requests": int(m.group(5)),
                        "budget": int(m.group(6)) if m.group(6) else None,
                        "every": m.group(7).strip() if m.group(7) else "every cycle",
                        "found": int(m.group(8))}
    return out


def served(stats: dict | None, platform: str) -> int | None:
    """Book requests the simulator counted so far (None: its counters could not be read)."""
    if not stats:
        return None
    return sum(n for route, n in stats.get("requests", {}).items() if route == BOOK_ROUTES[platform])


def _booked(db: sqlite3.Connection, platform: str, lo: int, hi: int) -> set[str]:
    """Market ids with a found YES book in some cycle t, lo < t <= hi. CROSS JOIN keeps ``book``'s
    (t, ...) key range the outer loop: SQLite would otherwise walk every market of the platform and
    scan the whole range for each (hours at real scale)."""
    return {r[0] for r in db.execute(
        f"SELECT DISTINCT m.market_id FROM book b CROSS JOIN markets m ON m.id = b.market WHERE b.t > ? AND b.t <= ?"
        f" AND b.outcome = 0 AND m.platform = ? AND {_FOUND}", (lo, hi, platform))}


def cycle(db: sqlite3.Connection, platform: str, g: int, iso_g: str, whole: set[str], bookable: set[str],
          planned: dict, stats_at: dict, stats_next: dict | None) -> dict:
    """The order-book columns of one cycle row. ``whole``: ids open for the whole slot in truth;
    ``bookable``: those of them the world has a book for (scale_truth.Truth.trading)."""
    stored = db.execute("SELECT count(*) FROM book b JOIN markets m ON m.id = b.market WHERE b.t = ? AND m.platform = ?",
                        (g, platform)).fetchone()[0]
    row = db.execute("SELECT rows, found FROM book_cycles WHERE platform = ? AND t = ?", (platform, g)).fetchone()
    asked, found = row if row else (0, 0)
    now = _booked(db, platform, g - 1, g)
    hour = _booked(db, platform, g - HOUR_S, g)
    cycles_in_hour = db.execute("SELECT count(*) FROM book_cycles WHERE platform = ? AND t > ? AND t <= ?",
                                (platform, g - HOUR_S, g)).fetchone()[0]
    a, b = served(stats_at, platform), served(stats_next, platform)
    plan = planned.get((platform, iso_g))
    return {
        "book_rows": stored, "books_asked": asked, "books_found": found, "books_none": asked - found,
        "book_open_trading": len(bookable), "book_open_not_trading": len(whole - bookable),
        "book_markets_open": len(bookable & now),
        "book_coverage": round(len(bookable & now) / len(bookable), 4) if bookable else None,
        "book_hour_markets_open": len(bookable & hour),
        "book_hour_coverage": round(len(bookable & hour) / len(bookable), 4) if bookable else None,
        "book_hour_cycles": cycles_in_hour,
        "book_requests": b - a if a is not None and b is not None else None,
        "book_plan": plan,
    }


def storage(db: sqlite3.Connection, day: int, measured_rows_per_cycle: float) -> dict:
    """Bytes of the run's book rows in SQLite (dbstat over the ``book`` table) and in the archive."""
    from exporter.book_archive import write_partition

    rows = db.execute("SELECT count(*) FROM book").fetchone()[0]
    try:
        sqlite_bytes = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'book'").fetchone()[0]
    except sqlite3.OperationalError:  # an SQLite built without the dbstat table
        sqlite_bytes = None
    arch_rows = arch_bytes = 0
    with tempfile.TemporaryDirectory() as tmp:
        for platform in ("polymarket", "kalshi"):
            commit = write_partition(db, Path(tmp), platform, day)
            if commit is not None:
                arch_rows += commit.rows
                arch_bytes += (Path(tmp) / commit.file).stat().st_size
    per = lambda size, n: round(size / n, 2) if size and n else None  # noqa: E731
    out = {"rows": rows, "sqlite_bytes": sqlite_bytes, "sqlite_bytes_per_row": per(sqlite_bytes, rows),
           "archive_rows": arch_rows, "archive_bytes": arch_bytes, "archive_bytes_per_row": per(arch_bytes, arch_rows),
           "rows_per_cycle": round(measured_rows_per_cycle)}
    for where in ("sqlite", "archive"):
        b = out[f"{where}_bytes_per_row"]
        day_bytes = b * measured_rows_per_cycle * 86400 / 900 if b else None
        out[f"{where}_bytes_per_day"] = round(day_bytes) if day_bytes else None
        out[f"{where}_bytes_per_year"] = round(day_bytes * 365) if day_bytes else None
    return out


def summary(cycles: list[dict]) -> dict:
    """Worst book coverage per platform, the Kalshi cycle share against the planner's, the hour."""
    out: dict = {}
    for platform in ("polymarket", "kalshi"):
        rows = [c for c in cycles if c["platform"] == platform and c["book_coverage"] is not None]
        full_hour = [c for c in rows if c["book_hour_cycles"] >= 4]
        out[platform] = {
            "coverage_min": min((c["book_coverage"] for c in rows), default=None),
            "planned_share": [c["book_plan"]["planned_share"] if c["book_plan"] else None for c in rows],
            "coverage": [c["book_coverage"] for c in rows],
            "hour_coverage_min": min((c["book_hour_coverage"] for c in full_hour), default=None),
            "hour_coverage_min_any": min((c["book_hour_coverage"] for c in rows), default=None),
            "requests_max": max((c["book_requests"] for c in rows if c["book_requests"] is not None), default=None),
        }
    return out


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def _mb(b) -> str:
    return "n/a" if b is None else f"{b / 1e6:,.1f} MB" if b < 1e9 else f"{b / 1e9:,.2f} GB"


def table(cycles: list[dict]) -> list[str]:
    """SCALE.md's order-book table, one row per cycle and platform."""
    lines = [
        "Order books per cycle (issue 19). *Booked* = markets open for the whole slot in the simulator's truth "
        "and trading (Polymarket: not listed ahead of trading, not legacy; the world serves no book for those, "
        "*not trading*) with a book found for this grid time (last hour: in any of the cycles of the hour up to it, "
        "*n cycles* of which were recorded); *planner* = the fetcher's own log line for the cycle (markets "
        "it planned a book for / the open markets its sweep saw, requests planned, budget when short); "
        "*requests served* = `POST /books` or `GET /markets/orderbooks` counted by the simulator during the slot.",
        "",
        "| platform | grid time | book rows stored | found / no book | open, trading / not trading | booked this cycle "
        "| booked in the last hour | planner: markets (share), requests | requests served |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cycles:
        p = c["book_plan"]
        plan = "n/a" if not p else (f"{p['planned_markets']:,} of {p['open_markets']:,} ({_pct(p['planned_share'])}), "
                                    f"{p['planned_requests']}" + (f" of budget {p['budget']}, each every {p['every']}"
                                                                  if p["budget"] is not None else ""))
        lines.append(
            f"| {c['platform']} | {c['grid_time']} | {c['book_rows']:,} | {c['books_found']:,} / {c['books_none']:,} | "
            f"{c['book_open_trading']:,} / {c['book_open_not_trading']:,} | {c['book_markets_open']:,} ({_pct(c['book_coverage'])}) | {c['book_hour_markets_open']:,} "
            f"({_pct(c['book_hour_coverage'])}, {c['book_hour_cycles']} cycles) | {plan} | "
            f"{'n/a' if c['book_requests'] is None else c['book_requests']} |")
    return lines + [""]


def summary_lines(s: dict) -> list[str]:
    """SCALE.md's order-book summary bullets."""
    b, st = s["books"], s["book_storage"]
    pm, kx = b["polymarket"], b["kalshi"]
    vs = ", ".join(f"{_pct(c)} booked vs {_pct(p)} planned" for c, p in zip(kx["coverage"], kx["planned_share"]))
    return [
        f"- Order books, Polymarket: worst cycle **{_pct(pm['coverage_min'])}** of the open, trading markets got a book "
        f"(target 100%); at most {pm['requests_max']} book requests a cycle.",
        f"- Order books, Kalshi, per cycle: {vs} (the planner's share is of the markets its sweep saw); "
        f"booked within the last hour: worst {_pct(kx['hour_coverage_min'])} over cycles with a whole hour of books "
        f"({_pct(kx['hour_coverage_min_any'])} counting the run's first cycles); at most {kx['requests_max']} "
        "book requests a cycle.",
        f"- Order-book storage: the run's {st['rows']:,} book rows take {st['sqlite_bytes_per_row']} B/row in SQLite "
        f"(`dbstat`, table `book`) and {st['archive_bytes_per_row']} B/row archived "
        f"(archive/order_books, {st['archive_rows']:,} rows); {st['rows_per_cycle']:,} rows a cycle -> "
        f"{_mb(st['sqlite_bytes_per_day'])} a day in SQLite, {_mb(st['archive_bytes_per_day'])} archived "
        f"({_mb(st['archive_bytes_per_year'])} a year).",
    ]


def figures(s: dict, tag: str) -> list[list[str]]:
    """Headline rows for the README's figure table."""
    b, st = s["books"], s["book_storage"]
    kx = b["kalshi"]
    planned = [p for p in kx["planned_share"] if p is not None]
    return [
        [f"{tag}: order books, open markets booked", f"Polymarket {_pct(b['polymarket']['coverage_min'])} (worst cycle); "
         f"Kalshi {_pct(min(kx['coverage'], default=None))}-{_pct(max(kx['coverage'], default=None))} a cycle, "
         f"{_pct(kx['hour_coverage_min'])} within the hour",
         "Polymarket 100%; Kalshi as planned, all hourly",
         f"Kalshi planner: {_pct(min(planned, default=None))}-{_pct(max(planned, default=None))} a cycle"],
        [f"{tag}: order-book bytes", f"{st['sqlite_bytes_per_row']} B/row SQLite, {st['archive_bytes_per_row']} B/row "
         "archived", "<= 40 / <= 12 B per market-snapshot",
         f"{_mb(st['sqlite_bytes_per_day'])} / {_mb(st['archive_bytes_per_day'])} a day"],
    ]
