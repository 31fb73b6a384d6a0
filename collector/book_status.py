"""Order-book coverage for `collector status`: share of open markets with a book, this cycle and this hour.

"Open markets" of a cycle are the markets its snapshot sweep stored (``snapshot_cycles``), the
books of that cycle come from ``book_cycles``; the hour's distinct markets are one range scan of
``book``'s (t, market) key over the last hour of cycles. A note from the last SNAPSHOT report
(e.g. "kalshi order books off: HTTP 401 ...", or a plan that misses the hour) is shown as well.
"""

from __future__ import annotations

import sqlite3

HOUR_S = 3600
NOTE_MARK = "order books"  # notes of fetchers/books_*.py and book_plan.py: depth off, stopped, not hourly


def _hour_markets(db: sqlite3.Connection, platform: str, t: int) -> int:
    """Distinct markets with a book (levels, or ``same_as`` an earlier row's) in the hour up to t."""
    query = ("SELECT count(DISTINCT b.market) FROM book b JOIN markets m ON m.id = b.market "
             "WHERE b.t > ? AND b.t <= ? AND m.platform = ? AND (b.levels IS NOT NULL OR {same_as})")
    try:
        return db.execute(query.format(same_as="b.same_as IS NOT NULL"), (t - HOUR_S, t, platform)).fetchone()[0]
    except sqlite3.OperationalError:  # the sink has not yet migrated the database to 007 (same_as)
        return db.execute(query.format(same_as="0"), (t - HOUR_S, t, platform)).fetchone()[0]


def coverage(db: sqlite3.Connection) -> dict | None:
    """{platform: {last_cycle, open, books, with_levels, cycle_share, hour_markets, hour_share, note}}."""
    try:
        rows = db.execute("SELECT platform, max(t) FROM book_cycles GROUP BY platform").fetchall()
        platforms = {p for p, in db.execute("SELECT DISTINCT platform FROM phase_runs WHERE phase = 'snapshot'")}
    except sqlite3.OperationalError:
        return None  # a database from before the order-book migration
    out: dict = {}
    last = dict(rows)
    for platform in sorted(platforms | set(last)):
        note_row = db.execute("SELECT message FROM phase_runs WHERE platform = ? AND phase = 'snapshot' "
                              "ORDER BY finished_at DESC LIMIT 1", (platform,)).fetchone()
        note = " | ".join(part.strip() for part in (note_row[0] if note_row else "").split(";") if NOTE_MARK in part)
        t = last.get(platform)
        entry = {"last_cycle": t, "open": 0, "books": 0, "with_levels": 0, "cycle_share": 0.0,
                 "hour_markets": 0, "hour_share": 0.0, "note": note}
        if t is not None:
            books, found = db.execute("SELECT rows, found FROM book_cycles WHERE platform = ? AND t = ?",
                                      (platform, t)).fetchone()
            snap = db.execute("SELECT rows FROM snapshot_cycles WHERE platform = ? AND source = 'live' AND t = ?",
                              (platform, t)).fetchone()
            open_markets = snap[0] if snap else books
            hour = _hour_markets(db, platform, t)
            entry.update(open=open_markets, books=books, with_levels=found,
                         cycle_share=found / open_markets if open_markets else 0.0,
                         hour_markets=hour, hour_share=min(1.0, hour / open_markets) if open_markets else 0.0)
        out[platform] = entry
    return out


def render_lines(books: dict | None, iso) -> list[str]:
    """The human lines of ``coverage`` (``iso`` formats a unix time)."""
    if not books:
        return []
    lines = []
    for platform, b in books.items():
        if b["last_cycle"] is None:
            line = f"order books {platform:<11} none yet"
        else:
            line = (f"order books {platform:<11} this cycle {b['cycle_share']:.0%} ({b['with_levels']}/{b['open']} "
                    f"open markets, {iso(b['last_cycle'])}), this hour {b['hour_share']:.0%} ({b['hour_markets']})")
        lines.append(line + (f"  [{b['note']}]" if b["note"] else ""))
    return lines
