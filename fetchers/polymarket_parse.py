"""Gamma market rows -> wire records, tolerant of what the real API sends (docs/api/polymarket.md).

Every field may be missing; ``outcomes``/``outcomePrices``/``clobTokenIds`` are JSON arrays packed
into strings; ``volume``/``liquidity`` are strings while ``volumeNum``/``bestBid`` are numbers, and
either may arrive as the other (coercions in fetchers/polymarket_rows.py). A row we cannot use (no
conditionId or Gamma id, a field of a type no coercion fixes) raises ``BadRecord`` so the caller
skips that one row and counts it.

yes_price (the same rule as fetchers/kalshi_parse.py, so the platforms are comparable):
    a side of the YES book exists when it is a real quote (bestBid > 0, 0 < bestAsk < 1);
    yes_price is the bid/ask midpoint when both sides exist and the book is not crossed
    (ask >= bid), else the last trade price when > 0, else outcomePrices[0] (Gamma's displayed
    price, which Kalshi has no counterpart for). best_bid/best_ask are stored only for a side
    that exists.

Resolution (§4.1 of the API notes, evaluated in order; never final early):
    not closed                                   -> nothing (open)
    umaResolutionStatus proposed | disputed      -> closed, pending ("uma:proposed")
    resolved, one price == 1 and the rest == 0   -> resolved: YES if index 0 won else NO
    resolved, every price == 0.5                 -> voided ("50-50")
    resolved, anything else                      -> anomaly: closed, pending; cross-check CLOB
    no UMA status, legacy AMM (marketMakerAddress) -> winner >= 0.99 with the rest <= 0.01, else pending
    no UMA status on a current market            -> closed, pending ("uma:none")
"""

from __future__ import annotations

import json
import math

import msgspec

from collector import bounds, validate, wire
from fetchers.base import yes_price
from fetchers.polymarket_rows import BadRecord, GammaRow, EventRef, as_row, iso, num, str_list, text

PLATFORM = "polymarket"
# Tags that name a category, in the order we prefer them; promo tags ("Earn 4%") never match.
TOP_LEVEL_TAGS = ("Politics", "Sports", "Crypto", "Economy", "Geopolitics", "World", "Weather",
                  "Tech", "Science", "Culture", "Pop Culture", "Finance", "Business", "Elections")
_TOP = {t.lower(): t for t in TOP_LEVEL_TAGS}
LEGACY_WIN = 0.99  # legacy AMM: the winner's price at least this ...
LEGACY_LOSE = 0.01  # ... and every other price at most this
ANOMALY = "anomaly"
# extra key flagging a negRisk placeholder ("Other" / augmented-group placeholder member): stored,
# never snapshotted, labelled or exported; filter with json_extract(extra, '$.neg_risk_placeholder')
PLACEHOLDER_KEY = "neg_risk_placeholder"


class Market:
    """What we keep of one Gamma row (the raw dict is dropped once parsed)."""

    __slots__ = ("market_id", "gamma_id", "closed", "updated_at", "upsert", "yes_price", "best_bid",
                 "best_ask", "volume", "liquidity", "outcomes", "prices", "uma", "legacy",
                 "uma_end", "closed_time", "placeholder")


def category(row: GammaRow) -> str | None:
    cat = row.category
    if isinstance(cat, str) and cat:
        return cat
    for tag in row.tags or ():
        label = tag.label
        if isinstance(label, str) and label.lower() in _TOP:
            return _TOP[label.lower()]
    return None


def _closed(value) -> bool:
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, (int, float)):
        return value == 1
    raise BadRecord(f"closed has type {type(value).__name__}")


def _f(value, field: str) -> float | None:
    """num() with the common case (a plain float) first."""
    return value if type(value) is float and math.isfinite(value) else num(value, field)


def parse_market(raw, observed_at: float, check: bool = True) -> Market:
    """One Gamma market row (GammaRow or dict) -> Market with its MarketUpsert; BadRecord if unusable.

    ``check=False`` leaves the bounds to the caller, which checks a whole page at once (parse_rows)."""
    row = as_row(raw)
    cond = row.conditionId
    if not isinstance(cond, str) or not cond.startswith("0x") or len(cond) < 4:
        raise BadRecord(f"conditionId missing or invalid: {str(cond)[:70]!r}")
    gid = text(row.id, "id")
    if not gid:
        raise BadRecord("id missing")
    m = Market()
    m.market_id = cond.lower()
    m.gamma_id = gid
    m.closed = _closed(row.closed)
    m.outcomes = str_list(row.outcomes, "outcomes")
    m.prices = [num(p, "outcomePrices") for p in str_list(row.outcomePrices, "outcomePrices") or ()]
    tokens = str_list(row.clobTokenIds, "clobTokenIds")
    vol = _f(row.volumeNum, "volumeNum")
    m.volume = vol if vol is not None else (num(row.volume, "volume") or 0.0)
    liq = _f(row.liquidityNum, "liquidityNum")
    m.liquidity = liq if liq is not None else (num(row.liquidity, "liquidity") or 0.0)
    bid, ask = _f(row.bestBid, "bestBid"), _f(row.bestAsk, "bestAsk")
    m.best_bid = bid if bid is not None and bid > 0.0 else None
    m.best_ask = ask if ask is not None and 0.0 < ask < 1.0 else None
    m.yes_price = yes_price(m.best_bid, m.best_ask, _f(row.lastTradePrice, "lastTradePrice"),
                            m.prices[0] if m.prices else None)
    m.updated_at = iso(row.updatedAt, "updatedAt")
    uma = row.umaResolutionStatus
    m.uma = uma if isinstance(uma, str) and uma else None
    mm = text(row.marketMakerAddress, "marketMakerAddress")
    m.legacy = bool(mm)
    m.uma_end = iso(row.umaEndDate, "umaEndDate")
    m.closed_time = iso(row.closedTime, "closedTime")
    extra = {"gamma_id": gid}
    if tokens:
        extra["clob_token_ids"] = msgspec.json.encode(tokens).decode()
    event = row.events[0] if row.events else _NO_EVENT
    for key, value in (("neg_risk_market_id", row.negRiskMarketID), ("event_id", event.id),
                       ("event_slug", event.slug), ("group_item_title", row.groupItemTitle),
                       ("question_id", row.questionID), ("market_maker_address", mm), ("event_title", event.title)):
        if value:
            value = text(value, key)
            if value:
                extra[key] = value
    m.placeholder = bool(extra.get("neg_risk_market_id")) and (_closed(row.negRiskOther) or row.outcomePrices is None)
    if m.placeholder:
        extra[PLACEHOLDER_KEY] = "true"
    m.upsert = wire.MarketUpsert(
        platform=PLATFORM, market_id=m.market_id, observed_at=observed_at,
        status="closed" if m.closed else "active",
        slug=text(row.slug, "slug"), title=text(row.question, "question"),
        description=text(row.description, "description"), category=category(row),
        outcomes=m.outcomes, volume=m.volume, liquidity=m.liquidity,
        end_date=iso(row.endDate, "endDate"), created_at=iso(row.createdAt, "createdAt"),
        updated_at=m.updated_at, extra=extra,
    )
    if check:
        why = problem(m, validate.problem(m.upsert))
        if why:
            raise BadRecord(why)
    return m


def problem(m: Market, upsert_problem: str | None) -> str | None:
    """Every bound of collector/bounds.py on a parsed market: its metadata (``upsert_problem``, what
    validate says of m.upsert), the prices a snapshot would carry and the dates a Resolution carries."""
    return upsert_problem or validate.problem(snapshot(m, bounds.TIME_MIN)) or next(
        (f"{name} {v!r} outside 2000-2100" for name, v in (("closedTime", m.closed_time), ("umaEndDate", m.uma_end))
         if v and not "2000" <= v[:4] < "2100"), None)


_NO_EVENT = EventRef()


def parse_rows(rows: list, observed_at: float) -> tuple[list[Market], list[tuple[str, str]]]:
    """A page of rows -> (markets, [(what, why) for every rejected row])."""
    parsed, bad = [], []
    for raw in rows:
        try:
            parsed.append((raw, parse_market(raw, observed_at, check=False)))
        except BadRecord as exc:
            bad.append((_what(raw), str(exc)))
    good = []  # the metadata bounds checked for the whole page at once (validate.problems), same answers
    for (raw, m), upsert_problem in zip(parsed, validate.problems([m.upsert for _, m in parsed])):
        why = problem(m, upsert_problem)
        if why:
            bad.append((_what(raw), why))
        else:
            good.append(m)
    return good, bad


def _what(raw) -> str:
    ident = raw.id if isinstance(raw, GammaRow) else raw.get("id") if isinstance(raw, dict) else None
    return f"gamma market id={ident!r}"


def snapshot(m: Market, t: int) -> wire.PriceSnapshot:
    """Stamped with grid time t and with when its page was read (the upsert's observed_at)."""
    return wire.PriceSnapshot(PLATFORM, m.market_id, t, m.yes_price, m.best_bid, m.best_ask,
                              m.volume, m.liquidity, observed_at=m.upsert.observed_at)


def resolution(m: Market, observed_at: float) -> wire.Resolution | None:
    """The §4.1 verdict for a closed market (None while open). detail ANOMALY asks for a CLOB check."""
    if not m.closed:
        return None
    base = dict(platform=PLATFORM, market_id=m.market_id, observed_at=observed_at, closed_at=m.closed_time)
    prices = [p for p in m.prices if p is not None]
    labels = m.outcomes or []
    if m.uma in ("proposed", "disputed"):
        return wire.Resolution(status="closed", detail=f"uma:{m.uma}", **base)
    if m.uma == "resolved":
        resolved_at = m.uma_end or m.closed_time
        if len(prices) >= 2 and len(prices) == len(m.prices):
            winners = [i for i, p in enumerate(prices) if p == 1.0]
            if len(winners) == 1 and all(p == 0.0 for i, p in enumerate(prices) if i != winners[0]):
                return _won(winners[0], labels, resolved_at, "uma:resolved", base)
            if all(p == 0.5 for p in prices):
                return wire.Resolution(status="voided", settlement_value=0.5, detail="50-50",
                                       resolved_at=resolved_at, **base)
        return wire.Resolution(status="closed", detail=ANOMALY, **base)
    if m.uma is None and m.legacy:
        if len(prices) >= 2 and len(prices) == len(m.prices):
            winners = [i for i, p in enumerate(prices) if p >= LEGACY_WIN]
            if len(winners) == 1 and all(p <= LEGACY_LOSE for i, p in enumerate(prices) if i != winners[0]):
                return _won(winners[0], labels, m.uma_end or m.closed_time, "legacy-amm", base)
        return wire.Resolution(status="closed", detail="legacy:unknown", **base)
    return wire.Resolution(status="closed", detail=f"uma:{m.uma or 'none'}", **base)


def _won(index: int, labels: list[str], resolved_at: str | None, detail: str, base: dict) -> wire.Resolution:
    return wire.Resolution(status="resolved", resolution="YES" if index == 0 else "NO",
                           winning_outcome=labels[index] if index < len(labels) else None,
                           settlement_value=1.0 if index == 0 else 0.0, resolved_at=resolved_at,
                           detail=detail, **base)


def clob_verdict(body, m: Market, observed_at: float) -> wire.Resolution | None:
    """CLOB GET /markets/{condition_id} cross-check for an anomaly: tokens[].winner, is_50_50_outcome.

    None when the CLOB knows no winner; BadRecord when the answer is not about this market (another
    condition_id, or a winning token outside the market's own clobTokenIds): never a verdict then.
    """
    if not isinstance(body, dict) or not isinstance(body.get("tokens"), list):
        return None
    cond = body.get("condition_id")
    if not isinstance(cond, str) or cond.lower() != m.market_id:
        raise BadRecord(f"CLOB answered for condition_id {str(cond)[:70]!r}, not {m.market_id}")
    base = dict(platform=PLATFORM, market_id=m.market_id, observed_at=observed_at, closed_at=m.closed_time)
    resolved_at = m.uma_end or m.closed_time
    if body.get("is_50_50_outcome") is True:
        return wire.Resolution(status="voided", settlement_value=0.5, detail="50-50 (clob)",
                               resolved_at=resolved_at, **base)
    tokens = [t for t in body["tokens"] if isinstance(t, dict)]
    winners = [t for t in tokens if t.get("winner") is True]
    if len(winners) != 1:
        return None
    ours = json.loads(m.upsert.extra.get("clob_token_ids", "[]"))
    won = str(winners[0].get("token_id"))
    if won not in ours:  # the winning token must be one of this market's own clobTokenIds
        raise BadRecord(f"CLOB winning token {won[:40]!r} is not one of the market's clobTokenIds")
    index = ours.index(won)
    labels = m.outcomes or [str(t.get("outcome") or "") for t in tokens]
    return _won(index, labels, resolved_at, "clob:winner", base)
