"""Read wwatcher's alert database (read-only) into plain records, de-duplicated (README §8.2).

wwatcher is another program's file: we attach it read-only through DuckDB (SQLite opens it with
SQLITE_OPEN_READONLY, honours its locks, waits up to 5 s on a busy lock), select columns by
name so fork variants with extra columns still work, and never fail the export because of it:
a missing, locked or foreign file becomes a ``Source`` with a status and a message that the
export prints and records in manifest.json.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from exporter.duck import attach_sqlite
from exporter.normalize import parse_alert_time

NEWER_PATH = "~/.config/poly/poly.db"  # `poly` builds (>= 6555df8e) renamed the file
OLDER_PATH = "~/.config/wwatcher/wwatcher.db"
REQUIRED = ("id", "platform", "action", "value", "price", "size", "market_title", "market_id",
            "outcome", "wallet_hash", "wallet_id", "timestamp", "created_at")
OPTIONAL = ("market_context",)


@dataclass(slots=True)
class Alert:
    id: int
    platform: str  # lower-case, as in collector.db
    action: str  # Polymarket BUY/SELL, Kalshi YES/NO
    value: float
    price: float
    size: float
    title: str | None
    raw_market_id: str | None
    outcome: str | None
    wallet_hash: str | None
    wallet_id: str | None
    timestamp: str
    created_at: int | None
    market_context: str | None
    time: int | None = None  # parsed trade time, unix seconds
    time_approx: bool = False
    duplicate_of: int | None = None


@dataclass
class Source:
    """Which wwatcher file was used (or why none was) and what it held."""

    path: str | None
    status: str  # used | missing | locked | unreadable | wrong_schema | disabled
    message: str = ""
    tried: list[str] = field(default_factory=list)
    db_created_at: str | None = None  # metadata.created_at: detects a recreated database
    rows: int = 0
    duplicates: int = 0


def locate(configured: str | None, explicit: bool = False) -> tuple[Path | None, list[str]]:
    """The configured path if it exists, else poly.db, else wwatcher.db (README §1).

    An explicit path (``--wwatcher``) is used as given, with no fallback.
    """
    candidates = [configured] if explicit else [configured, NEWER_PATH, OLDER_PATH]
    tried = []
    for c in candidates:
        if not c:
            continue
        p = Path(os.path.expanduser(c))
        if str(p) in tried:
            continue
        tried.append(str(p))
        if p.is_file():
            return p, tried
    return None, tried


def read(con: duckdb.DuckDBPyConnection, path: Path | None, tried: list[str]) -> tuple[list[Alert], Source]:
    """All alerts ordered by id, duplicates marked; never raises for a bad file."""
    if path is None:
        return [], Source(None, "missing", f"no wwatcher database at {', '.join(tried) or '(none configured)'}",
                          tried)
    try:
        attach_sqlite(con, path, "ww")
    except duckdb.Error as exc:
        return [], Source(str(path), _status_of(exc), f"cannot open {path}: {_short(exc)}", tried)
    try:
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'ww' AND table_name = 'alerts'"
        ).fetchall()}
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            what = "no alerts table" if not cols else f"alerts lacks {', '.join(missing)}"
            return [], Source(str(path), "wrong_schema", f"{path} is not a wwatcher database ({what})", tried)
        select = ", ".join(REQUIRED + tuple(c if c in cols else f"NULL AS {c}" for c in OPTIONAL))
        rows = con.execute(f"SELECT {select} FROM ww.alerts ORDER BY id").fetchall()
        created = None
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'ww' AND table_name = 'metadata'"
                       ).fetchone()[0]:
            got = con.execute("SELECT value FROM ww.metadata WHERE key = 'created_at'").fetchone()
            created = got[0] if got else None
    except duckdb.Error as exc:
        return [], Source(str(path), _status_of(exc), f"cannot read {path}: {_short(exc)}", tried)
    finally:
        try:
            con.execute("DETACH ww")
        except duckdb.Error:
            pass
    alerts = [_alert(r) for r in rows]
    dups = mark_duplicates(alerts)
    return alerts, Source(str(path), "used", f"read {len(alerts)} alerts from {path}", tried,
                          created, len(alerts), dups)


def _alert(r: tuple) -> Alert:
    (aid, platform, action, value, price, size, title, mid, outcome, whash, wid, ts, created, ctx) = r
    plat = str(platform or "").strip().lower()
    created_i = _int_or_none(created)
    a = Alert(int(aid), plat, str(action or "").strip().upper(), float(value or 0.0), float(price or 0.0),
              float(size or 0.0), title, mid, outcome, whash, wid, str(ts or ""), created_i, ctx)
    a.time, a.time_approx = parse_alert_time(a.timestamp, created_i, plat)
    return a


def _int_or_none(v) -> int | None:
    try:
        return int(float(v)) if v is not None else None
    except (TypeError, ValueError):
        return None


def mark_duplicates(alerts: list[Alert]) -> int:
    """§8.2: same (platform, timestamp, title, outcome, action, size, price, wallet) -> duplicate of the lowest id."""
    first: dict[tuple, int] = {}
    n = 0
    for a in sorted(alerts, key=lambda x: x.id):
        if not a.timestamp:
            continue  # an empty timestamp does not identify a trade
        key = (a.platform, a.timestamp, a.title, a.outcome, a.action, round(a.size, 6), round(a.price, 6),
               a.wallet_id)
        if key in first:
            a.duplicate_of = first[key]
            n += 1
        else:
            first[key] = a.id
    return n


def _status_of(exc: Exception) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "not a database" in text or "file is not" in text:
        return "wrong_schema"
    return "unreadable"


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
