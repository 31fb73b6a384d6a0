"""Pure parsing of Kalshi Trade API v2 payloads into our values (no I/O, no state).

Numbers (kalshi.md §3): current payloads carry fixed-point strings (``yes_bid_dollars: "0.6700"``,
``volume_fp: "4918.41"``); payloads from before 2026-03-12 carry integer cents and integer counts
under the unsuffixed names (``yes_bid: 67``, ``volume: 4918``); historical candles use the
unsuffixed names with dollar *strings*. So the form is decided by JSON type, not by name: a
``*_dollars``/``*_fp`` value is dollars/contracts whatever its type, an unsuffixed integer is cents,
an unsuffixed string is dollars. Both forms give the very same float (each is the correctly
rounded double of the same decimal), so a legacy and a current payload of one market give
identical records. Floats, not Decimal: 100,000 markets must parse in well under a second, and
the sink stores prices in millionths anyway.

yes_price — the same rule on both platforms (the Polymarket module uses it too):
  * a side of the YES book *exists* when its price is a real quote (bid > 0, 0 < ask < 1; an
    empty Kalshi side shows bid 0.0000 / ask 1.0000) and, when the payload carries top-of-book
    sizes (``yes_bid_size_fp``/``yes_ask_size_fp``), its size is > 0;
  * yes_price = the bid/ask midpoint when both sides exist (and the book is not crossed,
    ask >= bid), else the last trade price if the market ever traded (> 0), else None
    (Polymarket's last resort, its displayed outcomePrices[0], has no Kalshi counterpart);
  * best_bid / best_ask are set only for a side that exists.

Statuses (§2.2): initialized, inactive and active are stored as 'active' (created or halted
markets are still live questions we want prices for as soon as they trade); closed, determined,
disputed, amended and finalized as 'closed' on the market row. Outcomes come only from
Resolution records: YES/NO only from result yes/no on a *finalized* market; determined, disputed
and amended stay Resolution(status='closed', detail='kalshi:<status>'); result 'scalar' is
'voided' with its settlement value kept.

Anything malformed raises ``BadRecord`` (a ValueError) with a reason; callers skip that record.
"""

from __future__ import annotations

import math
import re

from collector import bounds, validate
from collector.clock import unix
from collector.wire import MarketUpsert, PriceSnapshot, Resolution
from fetchers.base import BadRecord, yes_price
from fetchers.kalshi_rows import EventsPage, MarketsPage, as_dicts

TYPED_PAGES = (EventsPage, MarketsPage)

PLATFORM = "kalshi"
PARLAY_PREFIX = "KXMVE"  # multivariate (parlay) tickers; kalshi.md §9
ZERO_TIME_PREFIX = "0001-"  # "0001-01-01T00:00:00Z" on very old markets means "unknown"
OUTCOMES = ["Yes", "No"]

LIVE_STATUSES = frozenset({"initialized", "inactive", "active"})
PENDING_STATUSES = frozenset({"closed", "determined", "disputed", "amended"})
FINAL_STATUS = "finalized"
KNOWN_STATUSES = LIVE_STATUSES | PENDING_STATUSES | {FINAL_STATUS}

_TS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d{1,9})?(Z|[+-]00:?00)\Z")
_EXTRA_TEXT = ("event_ticker", "yes_sub_title", "no_sub_title", "market_type")
_EXTRA_TIMES = ("open_time", "close_time")
_EXTRA_NUMBERS = ("floor_strike", "cap_strike")


def checked(record):
    """The record if it is within collector/bounds.py (prices, sizes, times, text lengths), else BadRecord."""
    why = validate.problem(record)
    if why:
        raise BadRecord(why)
    return record


# --- numbers ---------------------------------------------------------------------------------


def _number(v: object, name: str, cents: bool) -> float:
    t = type(v)
    if t is str:
        try:
            x = float(v)
        except ValueError:
            raise BadRecord(f"{name}: not a number: {v[:40]!r}") from None
    elif t is int:
        x = v / 100 if cents else float(v)
    elif t is float:
        x = v / 100 if cents else v
    else:
        raise BadRecord(f"{name}: expected a number or numeric string, got {t.__name__}")
    if not math.isfinite(x):
        raise BadRecord(f"{name}: not finite: {v!r}")
    return x


def k_price(obj: dict, name: str) -> float | None:
    """Probability 0..1 from ``<name>_dollars`` (any type: dollars) or legacy ``<name>`` (int: cents, str: dollars)."""
    v = obj.get(name + "_dollars")
    if v is not None:
        x = _number(v, name + "_dollars", cents=False)
    else:
        v = obj.get(name)
        if v is None:
            return None
        x = _number(v, name, cents=type(v) is not str)
    if not 0.0 <= x <= 1.0:
        raise BadRecord(f"{name}: price {x} outside 0..1")
    return x


def k_count(obj: dict, name: str) -> float | None:
    """Contracts from ``<name>_fp`` or legacy ``<name>`` (both plain counts, never cents)."""
    v = obj.get(name + "_fp")
    if v is None:
        v = obj.get(name)
        if v is None:
            return None
    x = _number(v, name, cents=False)
    if x < 0:
        raise BadRecord(f"{name}: negative count {x}")
    return x


# --- times and text ---------------------------------------------------------------------------


def iso(v: object, name: str = "time") -> str | None:
    """RFC 3339 UTC (0-9 fractional digits) -> 'YYYY-MM-DDTHH:MM:SSZ'; zero time and ''/None -> None."""
    if v is None or v == "":
        return None
    if type(v) is not str:
        raise BadRecord(f"{name}: expected an RFC 3339 string, got {type(v).__name__}")
    m = _TS.match(v)
    if m is None:
        raise BadRecord(f"{name}: not an RFC 3339 UTC time: {v[:40]!r}")
    if v.startswith(ZERO_TIME_PREFIX):
        return None
    return m.group(1) + "Z"


def _text(obj: dict, name: str) -> str | None:
    v = obj.get(name)
    if v is None or type(v) is str:
        return v
    raise BadRecord(f"{name}: expected a string, got {type(v).__name__}")


def ticker_of(m: object) -> str:
    """The market's ticker (our market_id) in its documented form (``platforms.KALSHI_ID``: no ','
    or space, so it is safe in comma-joined ``tickers=`` URLs); BadRecord naming it otherwise."""
    if type(m) is not dict:
        raise BadRecord(f"market: expected an object, got {type(m).__name__}")
    t = m.get("ticker")
    why = bounds.market_problem(PLATFORM, t)
    if why:
        raise BadRecord(f"ticker: {why}")
    return t


def is_parlay(m: dict) -> bool:
    """Multivariate (KXMVE) combination market — excluded unless kalshi.include_parlays."""
    t = m.get("ticker")
    return (type(t) is str and t.startswith(PARLAY_PREFIX)) or bool(m.get("mve_collection_ticker"))


def status_of(m: dict) -> str:
    s = m.get("status")
    if type(s) is not str or s not in KNOWN_STATUSES:
        raise BadRecord(f"status: unknown {str(s)[:40]!r}")
    return s


def our_status(kalshi_status: str) -> str:
    """Market-row status: 'active' while tradable or about to be, else 'closed' (see module doc)."""
    return "active" if kalshi_status in LIVE_STATUSES else "closed"


# --- records ----------------------------------------------------------------------------------


def quote(m: dict) -> tuple[float | None, float | None, float | None]:
    """(yes_price, best_bid, best_ask) by the rule in the module docstring."""
    bid, ask = k_price(m, "yes_bid"), k_price(m, "yes_ask")
    bid_size, ask_size = k_count(m, "yes_bid_size"), k_count(m, "yes_ask_size")
    if bid is not None and not (bid > 0.0 and (bid_size is None or bid_size > 0.0)):
        bid = None
    if ask is not None and not (0.0 < ask < 1.0 and (ask_size is None or ask_size > 0.0)):
        ask = None
    return yes_price(bid, ask, k_price(m, "last_price")), bid, ask


def price_snapshot(m: dict, t: int, observed_at: float | None = None) -> PriceSnapshot:
    """Stamped with grid time t and with observed_at, when its page was read."""
    market_id = ticker_of(m)
    yes, bid, ask = quote(m)
    return checked(PriceSnapshot(PLATFORM, market_id, t, yes, bid, ask, k_count(m, "volume"), None,
                                 observed_at=observed_at))


def market_records(m: dict, observed_at: float, series_ticker: str | None = None,
                   category: str | None = None) -> tuple[MarketUpsert, Resolution | None]:
    """``market_upsert`` and ``resolution`` of one market in one pass (BadRecord if either breaks a bound)."""
    upsert, res = unchecked_records(m, observed_at, series_ticker, category)
    return checked(upsert), (checked(res) if res is not None else None)


def unchecked_records(m: dict, observed_at: float, series_ticker: str | None = None,
                      category: str | None = None) -> tuple[MarketUpsert, Resolution | None]:
    """``market_records`` before the bounds check: DISCOVER builds a page of these, its ticker,
    status and close time read once per market, and checks the page at once (``page_problems``)."""
    market_id, status = ticker_of(m), status_of(m)
    closed_at = iso(m.get("close_time"), "close_time")
    return (_upsert(m, market_id, status, closed_at, observed_at, series_ticker, category),
            _resolution(m, market_id, status, closed_at, observed_at))


def page_problems(pairs: list[tuple[MarketUpsert, Resolution | None]]) -> list[str | None]:
    """Why each market's (upsert, resolution) must be skipped (the first record's bound broken), or
    None: what ``checked`` says of each record, for a whole page at once (``validate.problems``)."""
    why = iter(validate.problems([r for pair in pairs for r in pair if r is not None]))
    return [next(filter(None, [next(why) for r in pair if r is not None]), None) for pair in pairs]


def market_upsert(m: dict, observed_at: float, series_ticker: str | None = None,
                  category: str | None = None) -> MarketUpsert:
    """Our market row; ``series_ticker``/``category`` come from the market's event and series."""
    market_id, status = ticker_of(m), status_of(m)
    closed_at = iso(m.get("close_time"), "close_time")
    return checked(_upsert(m, market_id, status, closed_at, observed_at, series_ticker, category))


def resolution(m: dict, observed_at: float) -> Resolution | None:
    """``_resolution`` within collector/bounds.py (BadRecord otherwise)."""
    market_id, status = ticker_of(m), status_of(m)
    if status in LIVE_STATUSES:
        return None
    r = _resolution(m, market_id, status, iso(m.get("close_time"), "close_time"), observed_at)
    return checked(r) if r is not None else None


def _upsert(m: dict, market_id: str, status: str, close: str | None, observed_at: float,
            series_ticker: str | None, category: str | None) -> MarketUpsert:
    get = m.get
    rules, more = _text(m, "rules_primary"), _text(m, "rules_secondary")
    description = f"{rules}\n\n{more}" if rules and more else (rules or more or None)
    extra: dict[str, str] = {}
    for k in _EXTRA_TEXT:
        v = get(k)
        if v is not None:
            if type(v) is not str:
                raise BadRecord(f"{k}: expected a string, got {type(v).__name__}")
            if v:
                extra[k] = v
    v = iso(get("open_time"), "open_time")
    if v:
        extra["open_time"] = v
    if close:
        extra["close_time"] = close
    for k in _EXTRA_NUMBERS:
        v = get(k)
        if v is not None and v != "":
            extra[k] = repr(_number(v, k, cents=False))
    if series_ticker:
        extra["series_ticker"] = series_ticker
    return MarketUpsert(
        platform=PLATFORM, market_id=market_id, observed_at=observed_at, status=our_status(status),
        title=_text(m, "title") or None, description=description, category=category,
        outcomes=OUTCOMES, volume=k_count(m, "volume"), liquidity=None,
        end_date=close or iso(get("expected_expiration_time"), "expected_expiration_time"),
        created_at=iso(get("created_time"), "created_time"),
        updated_at=iso(get("updated_time"), "updated_time"), extra=extra,
    )


def _resolution(m: dict, market_id: str, status: str, closed_at: str | None,
                observed_at: float) -> Resolution | None:
    """Resolution state of a market that is past trading; None while it is still live.

    ``detail`` says what was seen ('kalshi:finalized', 'kalshi:determined', 'kalshi:scalar',
    'kalshi:finalized-no-result' — a finalized market with result '' is not guessed at).
    resolved_at is settlement_ts (set at finalization), else updated_time; closed_at is close_time,
    which Kalshi rewrites to the actual close when a market closes early.
    """
    if status in LIVE_STATUSES:
        return None
    if status != FINAL_STATUS:
        return Resolution(platform=PLATFORM, market_id=market_id, observed_at=observed_at,
                          status="closed", detail=f"kalshi:{status}", closed_at=closed_at)
    result = m.get("result") or ""
    value = k_price(m, "settlement_value")
    resolved_at = iso(m.get("settlement_ts"), "settlement_ts") or iso(m.get("updated_time"), "updated_time")
    if result in ("yes", "no"):
        label = "YES" if result == "yes" else "NO"
        return Resolution(platform=PLATFORM, market_id=market_id, observed_at=observed_at,
                          status="resolved", resolution=label, winning_outcome=label.title(),
                          resolved_at=resolved_at,
                          settlement_value=value if value is not None else (1.0 if label == "YES" else 0.0),
                          detail="kalshi:finalized", closed_at=closed_at)
    if result == "scalar":
        return Resolution(platform=PLATFORM, market_id=market_id, observed_at=observed_at,
                          status="voided", resolved_at=resolved_at, settlement_value=value,
                          detail="kalshi:scalar", closed_at=closed_at)
    if result:
        raise BadRecord(f"result: unknown {str(result)[:40]!r}")
    return Resolution(platform=PLATFORM, market_id=market_id, observed_at=observed_at,
                      status="closed", detail="kalshi:finalized-no-result", closed_at=closed_at)


# --- events, series, pages, the rest -------------------------------------------------------------


def event_info(e: object) -> tuple[str, str | None, str | None]:
    """(event_ticker, series_ticker, deprecated event category) of one event object."""
    if type(e) is not dict:
        raise BadRecord(f"event: expected an object, got {type(e).__name__}")
    ticker = e.get("event_ticker")
    if type(ticker) is not str or not ticker or "," in ticker:
        raise BadRecord(f"event_ticker: unusable {str(ticker)[:40]!r}")
    return ticker, _text(e, "series_ticker") or None, _text(e, "category") or None


def series_category(s: object) -> str | None:
    """The authoritative category of a series object (``category``, else the first of ``categories``)."""
    if type(s) is not dict:
        raise BadRecord(f"series: expected an object, got {type(s).__name__}")
    cat = _text(s, "category")
    if cat:
        return cat
    cats = s.get("categories")
    if type(cats) is list and cats and type(cats[0]) is str and cats[0]:
        return cats[0]
    return None


def page(body: object, key: str) -> tuple[list, str | None]:
    """(items, next cursor or None at the end) of one paginated answer, plain or typed
    (fetchers/kalshi_rows.py); raises BadRecord on a bad envelope."""
    if type(body) in TYPED_PAGES:
        body = as_dicts(body)
    if type(body) is not dict:
        raise BadRecord(f"page: expected an object, got {type(body).__name__}")
    items = body.get(key)
    if items is None:
        items = []
    elif type(items) is not list:
        raise BadRecord(f"page: {key} is {type(items).__name__}, not a list")
    cursor = body.get("cursor")
    if cursor is not None and type(cursor) is not str:
        raise BadRecord(f"page: cursor is {type(cursor).__name__}")
    return items, (cursor or None)


def candle_snapshot(c: object, market_id: str) -> PriceSnapshot:
    """A (live or historical) candlestick as a backfill snapshot at its end_period_ts.

    Same yes_price rule: candles carry no sizes, so a side exists when its close is a real quote;
    else the period's last trade close, else the last trade before it (``previous``), else None.
    """
    if type(c) is not dict:
        raise BadRecord(f"candle: expected an object, got {type(c).__name__}")
    t = c.get("end_period_ts")
    if type(t) is not int or t <= 0:
        raise BadRecord(f"end_period_ts: unusable {str(t)[:40]!r}")
    sides = []
    for name in ("yes_bid", "yes_ask", "price"):
        side = c.get(name)
        if side is None:
            side = {}
        elif type(side) is not dict:
            raise BadRecord(f"{name}: expected an object, got {type(side).__name__}")
        sides.append(side)
    bid, ask = k_price(sides[0], "close"), k_price(sides[1], "close")
    last = k_price(sides[2], "close") or k_price(sides[2], "previous")
    m = {"yes_bid_dollars": bid, "yes_ask_dollars": ask, "last_price_dollars": last}
    yes, bid, ask = quote(m)
    return PriceSnapshot(PLATFORM, market_id, t, yes, bid, ask, k_count(c, "volume"), None, "backfill")


def cutoff_unix(body: object) -> int | None:
    """GET /historical/cutoff -> unix seconds of ``market_settled_ts`` (older markets are historical)."""
    if type(body) is not dict:
        raise BadRecord(f"cutoff: expected an object, got {type(body).__name__}")
    return unix(iso(body.get("market_settled_ts"), "market_settled_ts"))
