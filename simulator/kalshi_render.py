"""Kalshi market, event, series and candle objects (late-2026 fixed-point shape, or legacy cents).

The world keeps Kalshi prices on whole cents and counts on whole contracts, so the legacy integer
form (`--legacy-cents`) and the `*_dollars`/`*_fp` form parse to identical values for one world.
"""

from __future__ import annotations

import uuid

import msgspec

from . import batchwalk, kalshi_batch, rowcache
from .clock import DAY_S, rfc3339
from .fmt import KX_WHOLE_COUNT, kx_cents, kx_count, kx_dollars
from .hashing import u01, uint
from .kx_model import SINGLE, KalshiCatalog, KXMarket
from .pricing import MIN_S, UNIT

CENT_RANGES = [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}]
TAPERED_RANGES = [{"end": "0.1000", "start": "0.0000", "step": "0.0010"},
                  {"end": "0.9000", "start": "0.1000", "step": "0.0100"},
                  {"end": "1.0000", "start": "0.9000", "step": "0.0010"}]
PRICE_KEYS = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "previous_yes_bid",
              "previous_yes_ask", "previous_price", "settlement_value", "liquidity", "notional_value")
COUNT_KEYS = ("volume", "volume_24h", "open_interest")
CANDLE_SAMPLES = 8             # interior samples per candle for high/low of the quotes


def _oi(v: float) -> float:
    return float(int(v * 0.45))


def top_sizes(cat: KalshiCatalog, m: KXMarket, k: int) -> tuple[float, float]:
    """Contracts resting at the best YES bid and best YES ask in minute k (markets and order books agree)."""
    return float(1 + uint(cat.seed, 300, m.i, k) % 500), float(1 + uint(cat.seed, 301, m.i, k) % 500)


# The fields that move from one simulated minute to the next inside a lifecycle interval, in the
# (sorted) order `_moving` returns their numbers, with each one's wire format; everything else in
# a row is fixed between lifecycle moments (simulator/rowcache.py).
PRICE = "%s"        # a price slot takes kx_dollars' string (kalshi_batch looks it up in a table)
MOVING = (("last_price_dollars", PRICE), ("no_ask_dollars", PRICE), ("no_bid_dollars", PRICE),
          ("open_interest_fp", KX_WHOLE_COUNT), ("previous_price_dollars", PRICE),
          ("previous_yes_ask_dollars", PRICE), ("previous_yes_bid_dollars", PRICE),
          ("volume_24h_fp", KX_WHOLE_COUNT), ("volume_fp", KX_WHOLE_COUNT), ("yes_ask_dollars", PRICE),
          ("yes_ask_size_fp", KX_WHOLE_COUNT), ("yes_bid_dollars", PRICE), ("yes_bid_size_fp", KX_WHOLE_COUNT))
TRADING = ("active", "inactive")


def _plan(m: KXMarket, now: float, status: str) -> tuple:
    """The minutes whose walk a row shows: (quote now, last trade, quote a day ago, last trade
    then; None where the row shows none) and whether it has a day-ago part at all. A page computes
    all its rows' walks in one batch (simulator/batchwalk.py)."""
    p = m.path
    k = p.minute(now)
    q = k if status in TRADING and p.quoted else None
    lt = p.last_trade(k) if now >= m.open else None
    day_ago = now - DAY_S
    if day_ago < m.open or not p.quoted:
        return q, lt, None, None, False
    kd = p.minute(day_ago)
    return q, lt, kd if day_ago < m.close else None, p.last_trade(kd), True


def _walks(m: KXMarket, plan: tuple) -> list:
    """A plan's walks one at a time (the batch does the same, see `market_rows`)."""
    return [None if k is None else m.path.walk(k) for k in plan[:4]]


def _moving(cat: KalshiCatalog, m: KXMarket, now: float, plan: tuple, walks) -> tuple:
    """The MOVING fields' slot values at `now` (a price as its kx_dollars string, a count as a
    whole number), given the row's `_plan` and that plan's walk values."""
    p = m.path
    q, lt, kd, ltd, previous = plan
    if q is not None:
        bid, ask = p.quote_of(walks[0])
        bsz, asz = top_sizes(cat, m, q)
    else:
        bid, ask, bsz, asz = 0, UNIT, 0.0, 0.0
    last = sum(p.quote_of(walks[1])) // 2 // 100 * 100 if lt is not None else 0
    if previous:
        pbid, pask = p.quote_of(walks[2]) if kd is not None else (0, UNIT)
        plast = sum(p.quote_of(walks[3])) // 2 // 100 * 100 if ltd is not None else 0
    else:
        pbid, pask, plast = 0, 0, 0
    vol = p.volume(now)
    return (kx_dollars(last), kx_dollars(UNIT - bid), kx_dollars(UNIT - ask), int(_oi(vol)),
            kx_dollars(plast), kx_dollars(pask), kx_dollars(pbid), int(vol - p.volume(now - DAY_S)),
            int(vol), kx_dollars(ask), int(asz), kx_dollars(bid), int(bsz))


def _formatted(numbers) -> dict:
    """MOVING numbers (`_moving`) -> the fields' strings."""
    it = iter(numbers)
    return {key: spec % tuple(next(it) for _ in range(spec.count("%"))) for key, spec in MOVING}


def market(cat: KalshiCatalog, m: KXMarket, now: float, legacy: bool = False) -> dict:
    """A market row at `now`."""
    return _market(cat, m, now, legacy)[0]


def _market(cat: KalshiCatalog, m: KXMarket, now: float, legacy: bool, walks=None) -> tuple[dict, tuple]:
    """(row, its MOVING numbers); `walks`: the row's `_plan`'s walk values when the caller has them."""
    s, i, ev = cat.seed, m.i, m.ev
    status = cat.status(m, now)
    result = cat.result_at(m, now)
    closed = now >= m.close
    tapered = u01(s, 302, i) < 0.05
    d = {"can_close_early": True, "close_time": rfc3339(m.close if closed else m.sched),
         "created_time": rfc3339(ev.created + 0.778164, True),
         "early_close_condition": "This market will close early if the event occurs.",
         "event_ticker": ev.ticker, "exchange_index": 0,
         "expected_expiration_time": rfc3339(m.sched + 3600), "expiration_time": rfc3339(m.sched + 3600),
         "expiration_value": m.expiration_value if result else "",
         "latest_expiration_time": rfc3339(m.sched + 7 * DAY_S),
         "liquidity_dollars": "0.0000", "market_type": "binary",
         "no_sub_title": m.yes_sub, "notional_value_dollars": "1.0000",
         "occurrence_datetime": rfc3339(m.close if closed else m.sched),
         "open_time": rfc3339(m.open),
         "price_level_structure": "tapered_deci_cent" if tapered else "linear_cent",
         "price_ranges": [dict(r) for r in (TAPERED_RANGES if tapered else CENT_RANGES)],
         "result": result, "rules_primary": f"If {ev.title} resolves Yes for {m.yes_sub}, then the market resolves to Yes.",
         "rules_secondary": "", "settlement_bounds_type": "default",
         "settlement_timer_seconds": m.timer, "status": status,
         "subtitle": "", "ticker": m.ticker, "title": ev.title,
         "updated_time": rfc3339(_updated(m, now) + 0.601344, True),
         "yes_sub_title": m.yes_sub}
    plan = _plan(m, now, status)
    numbers = _moving(cat, m, now, plan, _walks(m, plan) if walks is None else walks)
    d.update(_formatted(numbers))
    if result:
        sv = UNIT if result == "yes" else 0 if result == "no" else m.settle_u
        d["settlement_value_dollars"] = kx_dollars(sv)
    if status == "finalized":
        d["settlement_ts"] = rfc3339(m.final + 0.530118, True)
    if m.mve:
        legs = [{"event_ticker": f"{m.ticker}-L{j}", "market_ticker": f"{m.ticker}-L{j}-Y",
                 "side": "yes"} for j in range(2)]
        d.update({"mve_collection_ticker": cat.series_tickers[ev.series] + "-COLL",
                  "mve_selected_legs": legs, "is_provisional": True, "strike_type": "custom",
                  "custom_strike": {"Associated Markets": ",".join(x["market_ticker"] for x in legs)},
                  "price_level_structure": "deci_cent"})
    elif ev.mutex:
        d["strike_type"] = "structured"
        d["custom_strike"] = {"person": str(uuid.UUID(int=uint(s, 303, ev.e, m.pos) << 64 | uint(s, 304, i)))}
    elif ev.etype != SINGLE:
        d["strike_type"] = "greater"
        d["floor_strike"] = 100 + 25 * m.pos
    return (to_legacy(d) if legacy else d), numbers


def _minutes(m: KXMarket, now: float) -> tuple:
    """What a render derives from `now` by arithmetic rather than by comparing with a moment
    (the row cache's key besides the lifecycle interval)."""
    o, day_ago = m.path.open, now - DAY_S
    return (now - o) // MIN_S, (day_ago - o) // MIN_S, day_ago < m.open, day_ago < m.close


def market_rows(cat: KalshiCatalog, ms: list[KXMarket], now: float, legacy: bool = False) -> list[msgspec.Raw]:
    """The list rows of markets `ms` at `now`: `market(...)` as JSON bytes with sorted keys, kept
    on the record per simulated minute until a lifecycle moment passes, and at a new minute
    re-made from the kept template with fresh MOVING numbers (simulator/rowcache.py) computed for
    the whole page at once (simulator/kalshi_batch.py); rows rendered afresh get their walks from
    one batch too (simulator/batchwalk.py)."""
    out, fills, renders = [], [], []
    lookup = rowcache.lookup
    for at, m in enumerate(ms):
        minutes = _minutes(m, now)
        data, tmpl = lookup(m, now, legacy, minutes)
        if data is None:
            (renders if tmpl is None else fills).append((at, m, minutes, tmpl))
        out.append(data)
    tally = cat.row_counts
    tally["kept"] += len(ms) - len(fills) - len(renders)
    tally["filled"] += len(fills)
    tally["rendered"] += len(renders)
    if fills:
        filled = [m for _, m, _, _ in fills]
        status = cat.status
        trading = [status(m, now) in TRADING for m in filled]
        numbers = kalshi_batch.moving_many(cat.seed, filled, now, trading)
        if legacy:
            numbers = list(map(_legacy_numbers, numbers))
        rowcache.fill_many(out, fills, numbers)
    if renders:
        plans = [_plan(m, now, cat.status(m, now)) for _, m, _, _ in renders]
        paths = [m.path for (_, m, _, _), plan in zip(renders, plans) for k in plan[:4] if k is not None]
        walked = iter(batchwalk.walk_many(paths, [k for plan in plans for k in plan[:4] if k is not None]))
        for (at, m, minutes, _), plan in zip(renders, plans):
            walks = [None if k is None else next(walked) for k in plan[:4]]
            d, values = _market(cat, m, now, legacy, walks)
            tmpl = rowcache.template(d, LEGACY_SLOTS if legacy else MOVING)
            out[at] = data = msgspec.json.encode(d, order="sorted")
            rowcache.keep(m, now, _moments(m), legacy, minutes, data, tmpl,
                          _legacy_numbers(values) if legacy else values)
    return list(map(msgspec.Raw, out))


def _legacy_numbers(values) -> tuple:
    """MOVING numbers -> the legacy form's slot values (LEGACY_SLOTS order), by way of `to_legacy`."""
    return tuple(to_legacy_values(_formatted(values)).values())


def _moments(m: KXMarket) -> tuple:
    pause = m.pause or (None, None)
    return m.ev.created, m.open, m.close, m.determined, m.disp, m.amended, m.final, pause[0], pause[1]


def _updated(m: KXMarket, now: float) -> float:
    best = m.ev.created
    for ts in (m.open, m.close, m.determined, m.disp, m.amended, m.final):
        if ts is not None and best < ts <= now:
            best = ts
    return best


def _legacy_item(key: str, v):
    """(legacy key, legacy value) of one current-form field, or None when the legacy form has none."""
    base = key[:-8] if key.endswith("_dollars") else key[:-3] if key.endswith("_fp") else None
    if base in PRICE_KEYS:
        return base, kx_cents(round(float(v) * UNIT))
    if base in COUNT_KEYS:
        return base, int(float(v))
    return (key, v) if base is None else None


LEGACY_SLOTS = tuple((item[0], "%d") for item in (_legacy_item(k, "0") for k, _ in MOVING) if item)


def to_legacy_values(values: dict) -> dict:
    """MOVING values -> their legacy fields (see `to_legacy`)."""
    return dict(item for item in map(_legacy_item, values, values.values()) if item)


def to_legacy(d: dict) -> dict:
    """Current fixed-point market -> pre-2026-03-12 integer form (kalshi.md §3.3)."""
    out = to_legacy_values(d)
    out["tick_size"] = 1
    out["response_price_units"] = "usd_cent"
    return dict(sorted(out.items()))


def event(cat: KalshiCatalog, e: int, now: float, nested: bool, legacy: bool = False) -> dict:
    ev = cat.event(e)
    d = {"category": cat.series_category(ev.series),
         "collateral_return_type": "MECNET" if ev.mutex else "", "event_ticker": ev.ticker,
         "exchange_index": 0, "last_updated_ts": rfc3339(ev.created + 0.601344, True),
         "mutually_exclusive": ev.mutex, "series_ticker": cat.series_tickers[ev.series],
         "settlement_sources": [], "strike_period": "", "sub_title": ev.sub, "title": ev.title}
    if nested:
        d["markets"] = event_markets(cat, e, now, legacy)
    return d


def event_markets(cat: KalshiCatalog, e: int, now: float, legacy: bool) -> list[dict]:
    ev = cat.event(e)
    out = []
    for i in range(ev.first, ev.first + ev.size):
        m = cat.market(i)
        if not cat.is_historical(m, now):
            out.append(market(cat, m, now, legacy))
    return out


def series(cat: KalshiCatalog, k: int) -> dict:
    t = cat.series_tickers[k]
    c = cat.series_category(k)
    return {"additional_prohibitions": [], "categories": [c], "category": c,
            "contract_terms_url": f"https://kalshi-public-docs.s3.amazonaws.com/contract_terms/{t}.pdf",
            "contract_url": f"https://assets.kalshi.com/regulatory/{t}.pdf", "exchange_index": 0,
            "fee_multiplier": 1, "fee_type": "quadratic",
            "frequency": ["custom", "daily", "weekly", "one_off"][uint(cat.seed, 305, k) % 4],
            "last_updated_ts": "2026-02-26T08:50:31.901806Z",
            "settlement_sources": [{"name": f"{c} source", "url": "https://example.com/source"}],
            "tags": [c], "ticker": t, "title": f"{t[2:]} series"}


def candles(cat: KalshiCatalog, m: KXMarket, start_ts: int, end_ts: int, period_min: int,
            now: float, form: str = "current") -> list[dict]:
    """Sparse candles whose end_period_ts is in [start_ts, end_ts]. form: current|legacy|historical."""
    p = m.path
    if not p.quoted or now < m.open:
        return []
    ps = period_min * 60
    off = 4 * 3600 if period_min == 1440 else 0
    live_end = min(now, m.close)
    first = max(start_ts, m.open)
    e = -(-(first - off) // ps) * ps + off
    out, prev_q, prev_trade = [], None, None
    if e - ps > m.open:
        kprev = p.minute(e - ps - 1)
        prev_q = p.quote(kprev)
        lt = p.last_trade(kprev)
        prev_trade = p.mid(lt) // 100 * 100 if lt is not None else None
    while e <= end_ts and e - ps < live_end:
        k0 = max(0, int(-(-(e - ps - p.open) // 60)))
        k1 = min(p.k_close, int(-(-(e - p.open) // 60)) - 1, p.minute(now))
        if k0 <= k1:
            qs = [p.quote(k0)] + [p.quote(k0 + (k1 - k0) * j // (CANDLE_SAMPLES + 1))
                                  for j in range(1, CANDLE_SAMPLES + 1)] + [p.quote(k1)] \
                if k1 > k0 else [p.quote(k0)]
            trades = p.trades_between(k0, k1)
            if len(trades) > 64:
                trades = trades[:: len(trades) // 64 + 1] + [trades[-1]]
            q_close = qs[-1]
            if trades or q_close != prev_q:
                out.append(_candle(p, m, e, k0, k1, qs, trades, prev_trade, form))
            prev_q = q_close
            if trades:
                prev_trade = p.mid(trades[-1]) // 100 * 100
        e += ps
    return out


def _candle(p, m, e, k0, k1, qs, trades, prev_trade, form) -> dict:
    bids, asks = [q[0] for q in qs], [q[1] for q in qs]
    vol = p.volume(p.minute_ts(k1)) - (p.volume(p.minute_ts(k0 - 1)) if k0 > 0 else 0.0)
    ohlc = lambda xs: {"open": xs[0], "low": min(xs), "high": max(xs), "close": xs[-1]}
    price: dict = {}
    if trades:
        tp = [p.mid(t) // 100 * 100 for t in trades]
        price = ohlc(tp)
        price["mean"] = round(sum(tp) / len(tp))
        price["previous"] = prev_trade if prev_trade is not None else tp[0]
    elif prev_trade is not None:
        price = {"previous": prev_trade}
    c = {"end_period_ts": int(e), "open_interest": _oi(p.volume(p.minute_ts(k1))),
         "price": price, "volume": vol, "yes_ask": ohlc(asks), "yes_bid": ohlc(bids)}
    return _candle_form(c, form)


def _candle_form(c: dict, form: str) -> dict:
    def money(obj):
        if form == "current":
            return {f"{k}_dollars": kx_dollars(v) for k, v in sorted(obj.items())}
        if form == "legacy":
            return {k: kx_cents(v) for k, v in sorted(obj.items())}
        return {k: kx_dollars(v) for k, v in sorted(obj.items())}
    out = {"end_period_ts": c["end_period_ts"]}
    if form == "current":
        out["open_interest_fp"], out["volume_fp"] = kx_count(c["open_interest"]), kx_count(c["volume"])
    elif form == "legacy":
        out["open_interest"], out["volume"] = int(c["open_interest"]), int(c["volume"])
    else:
        out["open_interest"], out["volume"] = kx_count(c["open_interest"]), kx_count(c["volume"])
    for key in ("price", "yes_ask", "yes_bid"):
        out[key] = money(c[key])
    return out

