"""Markets from collector.db: the linker's catalog and the labelled markets the export writes.

A market is exported when it is final with a clean label (status 'resolved', resolution YES or
NO). Voided markets (50-50, scalar, cancelled) are left out and counted. Each exported market
gets a ``cutoff``: the earliest of closed_at (the actual close, which may differ from the
scheduled end_date) and resolved_at. Nothing timestamped after the cutoff reaches a feature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from collector.db import connect_reader
from exporter.link import CatalogMarket

LOAD_BATCH = 10_000  # market rows fetched at a time (see _rows)
COLUMNS = ("id", "platform", "market_id", "title", "description", "category", "outcomes", "volume", "liquidity", "end_date",
           "status", "resolution", "resolved_at", "created_at", "closed_at", "winning_outcome", "extra",
           "first_seen_at", "observed_at")


@dataclass(slots=True)
class Market:
    ref: int
    platform: str
    market_id: str
    title: str | None
    category: str | None
    outcomes: list[str]
    volume: float | None
    liquidity: float | None
    resolution: str
    winning_outcome: str | None
    resolved_at: int | None
    closed_at: int | None
    created_at: int | None
    end_date: int | None
    first_seen_at: int
    cutoff: int | None  # min(closed_at, resolved_at); snapshots/alerts/news after it are never used
    rules: str | None = None  # Kalshi rules_primary(+secondary), Polymarket description
    event_id: str | None = None  # Kalshi event ticker; Polymarket negRisk group, else event id
    event_title: str | None = None  # Polymarket event title (Kalshi markets carry the event title as title)
    subtitle: str | None = None  # what YES means inside the event: yes_sub_title / groupItemTitle

    @property
    def opened_at(self) -> int:
        """The platform's creation time, else when we first stored the market."""
        return self.created_at if self.created_at is not None else self.first_seen_at


class Unreadable(ValueError):
    """A timestamp is present but cannot be read as UTC (no time zone, or not ISO 8601)."""


def iso_to_unix(s: str | None) -> int | None:
    """Unix seconds of an ISO 8601 time with a zone; None when absent *or* unreadable."""
    try:
        return utc_seconds(s)
    except Unreadable:
        return None


def utc_seconds(s: str | None) -> int | None:
    """Unix seconds of an ISO 8601 time with a zone; None when absent; Unreadable otherwise.

    A time without a zone is refused rather than guessed: read as local time or as missing, it
    would silently move a market's cutoff.
    """
    if s is None or not str(s).strip():
        return None
    try:
        dt = datetime.fromisoformat(str(s).strip().replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(f"not ISO 8601: {s!r}") from None
    if dt.tzinfo is None:
        raise Unreadable(f"no time zone: {s!r}")
    return int(dt.timestamp())


def outcomes_of(raw: str | None) -> list[str]:
    """The stored ``outcomes`` JSON text as a list of labels; [] when absent or unreadable
    (also exporter/archive.py and exporter/versions.py)."""
    if not raw:
        return []
    try:
        val = json.loads(raw)
    except json.JSONDecodeError:
        return []
    return [str(x) for x in val] if isinstance(val, list) else []


def _extra(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        val = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return val if isinstance(val, dict) else {}


def _tokens(extra: dict) -> list[str]:
    raw = extra.get("clob_token_ids") or extra.get("clobTokenIds")
    if isinstance(raw, list):
        return [str(x) for x in raw]
    if isinstance(raw, str):
        try:
            val = json.loads(raw)
            if isinstance(val, list):
                return [str(x) for x in val]
        except json.JSONDecodeError:
            pass
        return [x.strip() for x in raw.split(",") if x.strip()]
    return []


def _event_fields(platform: str, extra: dict) -> dict:
    """event_id / event_title / subtitle from markets.extra (see fetchers/*_parse.py)."""
    def text(key: str) -> str | None:
        v = extra.get(key)
        return (v.strip() or None) if isinstance(v, str) else None

    if platform == "kalshi":
        return {"event_id": text("event_ticker"), "event_title": None, "subtitle": text("yes_sub_title")}
    return {"event_id": text("neg_risk_market_id") or text("event_id"), "event_title": text("event_title"),
            "subtitle": text("group_item_title")}


@dataclass
class Catalog:
    """What the whole export keeps of the markets: counts and one small row per exported market.

    The exported markets themselves (``Market`` objects, ~1.4 KB each with titles and rules) are
    built per chunk by ``markets_between``: held for the whole export they grew the peak RSS with
    the number of markets (issue #20 point 3).
    """
    linkable: list[CatalogMarket]  # every market, only when there are alerts to link
    refs: np.ndarray  # int64, the exported markets' refs, ascending
    cutoffs: np.ndarray  # int64, refs[i]'s cutoff (every exported market has one)
    labels: dict[int, tuple[str, int | None]]  # ref -> (resolution, resolved_at), only with alerts (whales.build)
    resolved_range: tuple[int | None, int | None]  # min and max resolved_at of the exported markets
    voided: int
    unlabelled: int  # status resolved but resolution not YES/NO (should not happen; counted)
    data_as_of: int | None  # newest observation time in the markets table
    unreadable_times: list[str] = field(default_factory=list)  # "platform:market_id: reason", left out
    no_close_time: int = 0  # resolved without closed_at and resolved_at: no cutoff, left out

    def cutoff_of(self, ref: int) -> int | None:
        """The cutoff of an exported market; None for a ref that is not exported."""
        i = int(np.searchsorted(self.refs, ref))
        return int(self.cutoffs[i]) if i < len(self.refs) and self.refs[i] == ref else None


class Reader:
    """The markets table of collector.db, read through one SQLite read transaction.

    ``load`` and every later ``markets_between`` of one export read the same snapshot of the
    table (WAL keeps it while the collector writes on), so a chunk builds exactly the markets
    ``load`` counted; a ref range is a rowid range. Python's sqlite3, not DuckDB: a DuckDB copy
    of 100k markets kept ~1.8 KB per market of RSS for the whole export (issue #20 point 3).
    """

    def __init__(self, db_path) -> None:
        self.db = connect_reader(str(db_path))
        self.db.execute("BEGIN")  # the snapshot starts with the first read below
        self.db.execute("SELECT count(*) FROM markets").fetchone()

    def rows(self, lo: int | None = None, hi: int | None = None):
        """The markets (refs lo..hi when given) row by row as dicts, fetched LOAD_BATCH rows at a time.

        fetchall() held every row as Python tuples at once: at ~100k markets that transient list
        left ~120 MB of freed-but-fragmented heap that the rest of the export could not reuse.
        """
        where, args = ("", []) if lo is None else (" WHERE id BETWEEN ? AND ?", [int(lo), int(hi)])
        cur = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM markets{where} ORDER BY id", args)
        while batch := cur.fetchmany(LOAD_BATCH):
            for r in batch:
                yield dict(zip(COLUMNS, r))

    def keys(self) -> pa.Table:
        """id, platform, market_id of every market: how the export maps an archived row to its ref
        (DuckDB's SQLite scanner reading the markets table kept RSS that grew with the markets)."""
        cur = self.db.execute("SELECT id, platform, market_id FROM markets ORDER BY id")
        batches = []
        while batch := cur.fetchmany(LOAD_BATCH):
            ids, platforms, market_ids = zip(*batch)
            batches.append(pa.record_batch([pa.array(ids, pa.int64()), pa.array(platforms, pa.string()),
                                            pa.array(market_ids, pa.string())], names=["id", "platform", "market_id"]))
        return pa.Table.from_batches(batches, schema=KEYS_SCHEMA)

    def close(self) -> None:
        self.db.close()


KEYS_SCHEMA = pa.schema([("id", pa.int64()), ("platform", pa.string()), ("market_id", pa.string())])


class _Shared(dict):
    """One object per distinct value (platform, category, label, outcomes list), read-only."""

    def __call__(self, value, make=lambda v: v):
        if value not in self:
            self[value] = make(value)
        return self[value]


def _judge(d: dict, share: _Shared) -> tuple[str, Market | str | None]:
    """What the export does with one market row: ("export", Market), ("voided" | "not_final" |
    "unlabelled" | "no_close_time", None) or ("unreadable", reason). The one place for this rule."""
    platform = share(str(d["platform"]).lower())
    status, label = d["status"], d["resolution"]
    if status == "voided":
        return "voided", None
    if status != "resolved":
        return "not_final", None
    if label not in ("YES", "NO"):
        return "unlabelled", None
    try:  # every time that decides a cutoff or a prompt is read strictly; no fallback
        closed, resolved, end, created = (utc_seconds(d[k]) for k in ("closed_at", "resolved_at", "end_date",
                                                                      "created_at"))
    except Unreadable as exc:
        return "unreadable", f"{platform}:{d['market_id']}: {exc}"
    present = [x for x in (closed, resolved) if x is not None]
    if not present:
        return "no_close_time", None
    return "export", Market(
        ref=int(d["id"]), platform=platform, market_id=str(d["market_id"]), title=d["title"],
        category=share(d["category"]), outcomes=share(d["outcomes"], outcomes_of), volume=d["volume"],
        liquidity=d["liquidity"], resolution=share(label), winning_outcome=share(d["winning_outcome"]),
        resolved_at=resolved, closed_at=closed, created_at=created, end_date=end,
        first_seen_at=int(d["first_seen_at"]), cutoff=min(present), rules=d["description"],
        **_event_fields(platform, _extra(d["extra"])))


def load(reader: Reader, linkable: bool = True) -> Catalog:
    """Count the markets table and keep one small row per exported market (+ the linker's
    catalog when ``linkable``).

    The linker's catalog holds every market, voided and open ones too; an export without
    whale alerts does not need it, so it is only built when asked for.
    """
    link_cat, refs, cutoffs, labels, voided, unlabelled, as_of = [], [], [], {}, 0, 0, None
    resolved_min = resolved_max = None
    unreadable: list[str] = []
    no_close = 0
    share = _Shared()
    for d in reader.rows():
        obs = d["observed_at"]
        if obs is not None:
            as_of = max(as_of or 0, int(obs))
        if linkable:
            platform, extra = share(str(d["platform"]).lower()), _extra(d["extra"])
            closed, resolved = iso_to_unix(d["closed_at"]), iso_to_unix(d["resolved_at"])
            link_cat.append(CatalogMarket(
                ref=int(d["id"]), platform=platform, market_id=str(d["market_id"]), title=d["title"],
                outcomes=share(d["outcomes"], outcomes_of), open_t=iso_to_unix(d["created_at"]),
                close_t=closed if closed is not None else resolved,
                event=extra.get("event_ticker") if platform == "kalshi" else None, tokens=_tokens(extra)))
        kind, value = _judge(d, share)
        if kind == "voided":
            voided += 1
        elif kind == "unlabelled":
            unlabelled += 1
        elif kind == "unreadable":
            unreadable.append(value)
        elif kind == "no_close_time":
            no_close += 1
        elif kind == "export":
            refs.append(value.ref)
            cutoffs.append(value.cutoff)
            if linkable:
                labels[value.ref] = (value.resolution, value.resolved_at)
            if value.resolved_at is not None:
                resolved_min = min(resolved_min, value.resolved_at) if resolved_min is not None else value.resolved_at
                resolved_max = max(resolved_max, value.resolved_at) if resolved_max is not None else value.resolved_at
    return Catalog(link_cat, np.array(refs, np.int64), np.array(cutoffs, np.int64), labels,
                   (resolved_min, resolved_max), voided, unlabelled, as_of, unreadable, no_close)


def markets_between(reader: Reader, lo: int, hi: int) -> list[Market]:
    """The exported markets with refs lo..hi, ordered by ref, as ``load`` saw them."""
    share = _Shared()
    return [value for kind, value in (_judge(d, share) for d in reader.rows(lo, hi)) if kind == "export"]
