"""Gamma market rows as they arrive: typed page decoding and the coercions every field needs.

Why typed decoding: a Gamma row is ~4.7 KB with ~110 fields, of which the collector reads 29.
Decoding pages into ``GammaPage`` lets msgspec skip the rest (nested event, rewards, fee
schedule...), which is most of the CPU of a 46k-market sweep. Every field stays ``Any`` so the
type quirks (numbers as strings, strings as numbers, JSON arrays packed in strings) reach the
tolerant coercions below; a page that does not validate at all (a row that is not an object, a
``tags`` that is not a list) is decoded as plain JSON by HttpClient and goes through ``as_row``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

import msgspec

from fetchers.base import BadRecord

_CANONICAL = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|\+00(:?00)?)")
_json_list = msgspec.json.Decoder()
class EventRef(msgspec.Struct):
    id: Any = None
    slug: Any = None
    title: Any = None  # the event's question; a member market's own question can be just "Over 218.5"


class _TagRef(msgspec.Struct):
    label: Any = None


class GammaRow(msgspec.Struct):
    """The fields we read from a Gamma market row. Typed decoding skips the other ~80 (nested
    event, rewards, fee schedule...), which is most of the CPU on a 46k-market sweep. Values
    stay ``Any`` so every type quirk reaches parse_market's tolerant checks."""

    id: Any = None
    conditionId: Any = None
    question: Any = None
    slug: Any = None
    description: Any = None
    category: Any = None
    outcomes: Any = None
    outcomePrices: Any = None
    clobTokenIds: Any = None
    volume: Any = None
    volumeNum: Any = None
    liquidity: Any = None
    liquidityNum: Any = None
    bestBid: Any = None
    bestAsk: Any = None
    lastTradePrice: Any = None
    closed: Any = None
    endDate: Any = None
    createdAt: Any = None
    updatedAt: Any = None
    closedTime: Any = None
    umaEndDate: Any = None
    umaResolutionStatus: Any = None
    marketMakerAddress: Any = None
    negRiskMarketID: Any = None
    negRiskOther: Any = None
    groupItemTitle: Any = None
    questionID: Any = None
    tags: list[_TagRef] | None = None
    events: list[EventRef] | None = None


class GammaPage(msgspec.Struct):
    markets: list[GammaRow]
    next_cursor: Any = None


PAGE_DECODER = msgspec.json.Decoder(GammaPage)


_PLAIN = tuple(f for f in GammaRow.__struct_fields__ if f not in ("tags", "events"))


def as_row(raw) -> GammaRow:
    """A row decoded as plain JSON (its page did not validate) -> GammaRow, or BadRecord."""
    if isinstance(raw, GammaRow):
        return raw
    if not isinstance(raw, dict):
        raise BadRecord(f"row is a {type(raw).__name__}")
    tags, events = raw.get("tags"), raw.get("events")
    return GammaRow(**{f: raw.get(f) for f in _PLAIN},
                    tags=[_TagRef(t.get("label")) for t in tags if isinstance(t, dict)] if isinstance(tags, list) else None,
                    events=[EventRef(e.get("id"), e.get("slug")) for e in events if isinstance(e, dict)]
                    if isinstance(events, list) else None)


def page_rows(page) -> tuple[list, Any] | None:
    """(rows, next_cursor) of a typed or plain page; None when the body is not a page at all."""
    if isinstance(page, GammaPage):
        return page.markets, page.next_cursor
    if isinstance(page, dict) and isinstance(page.get("markets"), list):
        return page["markets"], page.get("next_cursor")
    return None


def num(value, field: str) -> float | None:
    """A number from a number or a numeric string; None when absent; BadRecord when neither."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{field} is a boolean")
    if isinstance(value, (int, float, str)):
        try:
            out = float(value)
        except (ValueError, OverflowError):
            raise BadRecord(f"{field} is not a number: {str(value)[:40]!r}") from None
        if math.isfinite(out):
            return out
        raise BadRecord(f"{field} is not finite: {str(value)[:40]!r}")
    raise BadRecord(f"{field} has type {type(value).__name__}")


def text(value, field: str) -> str | None:
    """A string from a string or a number (ids sometimes arrive as numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    raise BadRecord(f"{field} has type {type(value).__name__}")


def str_list(value, field: str) -> list[str] | None:
    """A JSON array packed in a string (or already a list) -> list of strings."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = _json_list.decode(value)
        except msgspec.DecodeError:
            raise BadRecord(f"{field} is not a JSON array") from None
    if not isinstance(value, list):
        raise BadRecord(f"{field} is not an array")
    if all(type(v) is str for v in value):
        return value
    return [text(v, field) or "" for v in value]


def iso(value, field: str) -> str | None:
    """RFC 3339 or Gamma's "YYYY-MM-DD HH:MM:SS+00" -> "YYYY-MM-DDTHH:MM:SSZ"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{field} has type {type(value).__name__}")
    if _CANONICAL.fullmatch(value):  # UTC already: cut, don't parse (the common case, and cheap)
        return f"{value[:10]}T{value[11:19]}Z"
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise BadRecord(f"{field} is not a date: {value[:40]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
