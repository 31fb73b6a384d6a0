"""Gamma market and event objects, shaped like api/examples/polymarket/gamma_*.json.

Why so many fields: clients are tested against the real key set and JSON types (string `volume` vs
number `volumeNum`, JSON arrays packed into strings, `closedTime` in Postgres spelling), and the
zero-valued ones are omitted exactly where the docs say Gamma omits them.
"""

from __future__ import annotations

from functools import lru_cache

import msgspec

from . import batchwalk, names, rowcache
from .clock import DAY_S, iso_date, pg_time, rfc3339
from .fmt import pm_num, pm_str
from .hashing import between, u01
from .pm_model import LEGACY, NEGRISK, SPORTS, PMMarket, PolyCatalog
from .pricing import MIN_S, UNIT

SCHEMA = "https://gamma-api.polymarket.com/schemas/Market.json"
IMG = "https://polymarket-upload.s3.us-east-2.amazonaws.com/sim-{}.png"
USDC = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
UMA_ADAPTER = "0x157Ce2d672854c848c9b79C49a8Cc6cc89176a49"
CHANGE_WINDOWS = (("oneHourPriceChange", 60), ("oneDayPriceChange", 1440),
                  ("oneWeekPriceChange", 10080), ("oneMonthPriceChange", 43200),
                  ("oneYearPriceChange", 525600))
FEE_SCHEDULE = {"exponent": 1, "rate": 0.04, "takerOnly": True, "rebateRate": 0.25}
VOLUME_WINDOWS = (("volume24hr", DAY_S), ("volume1wk", 7 * DAY_S), ("volume1mo", 30 * DAY_S),
                  ("volume1yr", 365 * DAY_S))


def packed(items) -> str:
    """A JSON array packed into a string, spelled like Gamma: `["Yes", "No"]` (labels never need
    escaping here, so this skips json.dumps on the hot path)."""
    return '["' + '", "'.join(items) + '"]' if items else "[]"


def tag_objects(group: str) -> list[dict]:
    return [{"id": tid, "label": label, "slug": slug, "forceShow": False,
             "publishedAt": "2023-11-02 22:05:44.425+00", "createdAt": "2023-11-02T22:05:44.48Z",
             "updatedAt": "2026-04-17T20:47:56.524437Z", "requiresTranslation": False}
            for tid, label, slug in names.TAGS[group]]


def walk_minutes(m: PMMarket, now: float) -> list[int]:
    """The minutes whose walk a row at `now` shows: the current quote, then the price-change
    windows that start after the open (a page computes all its rows' walks in one batch,
    simulator/batchwalk.py)."""
    k = m.path.minute(now)
    return [k] + ([k - mins for _, mins in CHANGE_WINDOWS if k - mins > 0] if (k and not m.legacy) else [])


def prices_at(cat: PolyCatalog, m: PMMarket, now: float, walked: list[float] | None = None):
    """(outcomePrices units for index 0, bid, ask, minute, mids of CHANGE_WINDOWS) at `now`;
    `walked`: the walks of `walk_minutes` when the caller has them.

    The current quote and the price-change windows come from one `walks` call, which shares
    the random lattice between nearby minutes (this is the hot path of every catalogue page).
    """
    p = m.path
    ks = walk_minutes(m, now)
    k, inside = ks[0], ks[1:]
    if walked is None:
        walked = p.walks(ks)
    bid, ask = p.quote_of(walked[0])
    back = [sum(p.quote_of(w)) // 2 for w in walked[1:]]
    if k and not m.legacy:  # windows reaching back past the open compare with the opening mid
        back += [p.mid(0)] * (len(CHANGE_WINDOWS) - len(inside))
    yes_u = p.final_u if now >= m.final else (bid + ask) // 2
    return yes_u, bid, ask, k, back


def static_fields(cat: PolyCatalog, m: PMMarket) -> dict:
    """The fields that never change for a market, built once and copied per response."""
    ev, s, i = m.ev, cat.seed, m.i
    d = {"id": str(m.gid), "question": m.question, "conditionId": m.cond, "slug": m.slug,
         "resolutionSource": "", "endDate": rfc3339(ev.end), "startDate": rfc3339(ev.open),
         "image": IMG.format(ev.e), "icon": IMG.format(ev.e),
         "description": f"This market resolves per its rules. {m.question}",
         "outcomes": packed(m.outcomes), "active": True,
         "marketMakerAddress": "0x" + m.cond[2:42] if m.legacy else "",
         "createdAt": rfc3339(ev.created - 60, True), "new": False, "featured": False,
         "submitted_by": UMA_ADAPTER, "archived": False, "resolvedBy": UMA_ADAPTER, "restricted": True,
         "groupItemTitle": m.group_title, "groupItemThreshold": m.threshold, "questionID": m.qid,
         "enableOrderBook": not m.legacy, "orderPriceMinTickSize": m.tick / UNIT, "orderMinSize": 5,
         "endDateIso": iso_date(ev.end), "startDateIso": iso_date(ev.open), "hasReviewedDates": True}
    if ev.etype == SPORTS:
        d["gameStartTime"] = pg_time(ev.game_start)
        d["gameId"] = "0x" + m.cond[-40:]
        d["sportsMarketType"] = m.sports_type
        if m.line is not None:
            d["line"] = m.line
        d["secondsDelay"] = 3
    d["clobTokenIds"] = packed(m.tokens)
    if not m.legacy:
        d["positionIds"] = [str(int(t) // 7) for t in m.tokens]
    d.update({"comboStatus": "pending", "umaBond": "500", "umaReward": "5", "makerBaseFee": 1000,
              "takerBaseFee": 1000, "customLiveness": 0, "negRisk": ev.etype == NEGRISK})
    if ev.etype == NEGRISK:
        d["negRiskMarketID"] = ev.neg_id
    d.update({"negRiskRequestID": ("0x" + m.qid[2:][::-1]) if ev.etype == NEGRISK else "",
              "ready": False, "funded": False, "acceptingOrdersTimestamp": rfc3339(ev.open),
              "cyom": False, "pagerDutyNotificationEnabled": False, "approved": True,
              "automaticallyActive": True, "clearBookOnStart": True, "manualActivation": False,
              "negRiskOther": m.placeholder, "pendingDeployment": False, "deploying": False,
              "deployingTimestamp": rfc3339(ev.open - 45, True), "rfqEnabled": False,
              "feesEnabled": True, "requiresTranslation": False, "feeType": "politics_fees",
              "feeSchedule": FEE_SCHEDULE, "version": "v1", "fee": "20000000000000000",
              "wideFormat": False, "sentDiscord": True, "readyForCron": False, "fpmmLive": True,
              "notificationsEnabled": False, "showGmpSeries": False, "showGmpOutcome": False})
    if ev.etype == LEGACY:
        d["category"] = "Sports" if u01(s, 43, i) < 0.5 else "Politics"
    return d


def market(cat: PolyCatalog, m: PMMarket, now: float, include_tag: bool = False,
           nested_event: bool = True, schema: bool = True, walked: list[float] | None = None) -> dict:
    """A Gamma market row at `now` (static part cached on the market, dynamic part computed;
    `walked`: see `prices_at`)."""
    ev, p, s, i = m.ev, m.path, cat.seed, m.i
    if m.static is None:
        m.static = static_fields(cat, m)
    closed = now >= ev.close
    yes_u, bid, ask, k, back = prices_at(cat, m, now, walked)
    if m.legacy and now >= m.final:
        tiny = 1 + int(u01(s, 40, i) * 9)
        hi, lo = f"0.999999{10 - tiny}", f"0.000000{tiny}"
        prices = [hi, lo] if m.win_idx == 0 else [lo, hi]
    else:
        prices = [pm_str(yes_u), pm_str(UNIT - yes_u)]
    vol = p.volume(now)
    liq = 0.0 if closed else round(p.rate * 400 * (1 + u01(s, 41, i)), 5)
    hist = cat.uma_history(m, now)
    d: dict = {"$schema": SCHEMA} if schema else {}
    d.update(m.static)
    d["outcomePrices"] = packed(prices)
    d["liquidity"] = repr(liq) if liq else "0"
    d["liquidityNum"] = d["liquidityClob"] = liq
    if vol:
        d["volume"] = repr(vol)
        d["volumeNum"] = d["volumeClob"] = vol
    d["closed"] = closed
    d["updatedAt"] = rfc3339(_updated(m, ev, now), True)
    if closed:
        d["closedTime"] = pg_time(ev.close)
        if not m.legacy:
            d["automaticallyResolved"] = "resolved" in hist
    if "resolved" in hist:
        d["umaEndDate"] = rfc3339(m.final)
    if hist:
        d["umaResolutionStatus"] = hist[-1]
    d["umaResolutionStatuses"] = "[]" if (m.uma_empty or m.legacy) else packed(hist)
    for key, span in VOLUME_WINDOWS:
        v = round(vol - p.volume(now - span), 6)
        if v > 0:
            d[key] = d[key + "Clob"] = v
    d["acceptingOrders"] = (not closed) and now >= ev.open and not m.legacy
    d["holdingRewardsEnabled"] = not closed
    if include_tag:
        d["tags"] = tag_objects(ev.tag_group)
    d["competitive"] = 0 if closed else round(between(0.5, 0.99, s, 42, i), 6)
    if not closed:
        d["clobRewards"] = [{"id": str(300000 + i), "conditionId": m.cond, "assetAddress": USDC,
                             "rewardsAmount": 0, "rewardsDailyRate": 10,
                             "startDate": d["startDateIso"], "endDate": "2500-12-31"}]
    d["rewardsMinSize"] = 0 if closed else 200
    d["rewardsMaxSpread"] = 0 if closed else 3.5
    d["spread"] = pm_num(ask - bid)
    mid_now = (bid + ask) // 2
    if back:
        for (key, _), then in zip(CHANGE_WINDOWS, back):
            ch = mid_now - then
            if ch:
                d[key] = pm_num(ch) if ch > 0 else -pm_num(-ch)
    if p.last_trade(k) is not None:   # last trade printed at the current mid, on the tick grid
        d["lastTradePrice"] = pm_num(mid_now // m.tick * m.tick)
    d["bestBid"], d["bestAsk"] = pm_num(bid), pm_num(ask)
    if nested_event:
        d["events"] = [nested_event_cached(cat, ev.e, now)]
    return d


def _updated(m: PMMarket, ev, now: float) -> float:
    best = ev.open
    for ts in (ev.close, m.prop, m.disp, m.reprop, m.final):
        if ts is not None and best < ts <= now:
            best = ts
    return best + 7.25


@lru_cache(maxsize=256)
def nested_event_cached(cat: PolyCatalog, e: int, now: float) -> dict:
    """Members of one event sit on the same page at the same `now`: build their nested event once.
    Callers must not mutate the result (the fault layer corrupts top-level records only)."""
    return event(cat, e, now, nested=True)


def event(cat: PolyCatalog, e: int, now: float, nested: bool = False, include_tag: bool = False) -> dict:
    """Event object. Nested (inside a market row): no tags, null category, no markets."""
    ev = cat.event(e)
    members = [cat.market(i) for i in range(ev.first, ev.first + ev.size)]
    closed = now >= ev.close
    volume = round(sum(m.path.volume(now) for m in members), 6)
    d = {"id": str(ev.gid), "ticker": ev.slug, "slug": ev.slug, "title": ev.title,
         "description": f"Event: {ev.title}", "resolutionSource": "", "startDate": rfc3339(ev.open),
         "creationDate": rfc3339(ev.created), "endDate": rfc3339(ev.end),
         "image": IMG.format(e), "icon": IMG.format(e), "active": True, "closed": closed,
         "archived": False, "new": False, "featured": False, "restricted": True,
         "liquidity": 0 if closed else round(sum(m.path.rate * 400 for m in members), 5),
         "volume": volume, "openInterest": 0,
         "createdAt": rfc3339(ev.created - 60, True), "updatedAt": rfc3339(ev.close if closed else ev.open, True),
         "volume24hr": round(volume - sum(m.path.volume(now - DAY_S) for m in members), 6),
         "enableOrderBook": ev.etype != LEGACY, "negRisk": ev.etype == NEGRISK}
    if ev.etype == NEGRISK:
        d["negRiskMarketID"] = ev.neg_id
    d["enableNegRisk"] = ev.etype == NEGRISK
    d["negRiskAugmented"] = False
    if closed:
        d["closedTime"] = rfc3339(ev.close)
    if nested:
        d["category"] = None
        return d
    d["markets"] = [market(cat, m, now, include_tag=include_tag, nested_event=False, schema=False)
                    for m in members]
    d["series"] = []
    d["tags"] = tag_objects(ev.tag_group)
    return d



MINUTE_SPANS = (0,) + tuple(span for _, span in VOLUME_WINDOWS)   # as `Path.volume(now - span)` sees them


def market_rows(cat: PolyCatalog, ms: list[PMMarket], now: float, include_tag: bool = False,
                schema: bool = True) -> list[msgspec.Raw]:
    """The list rows of markets `ms` at `now`: `market(...)` as JSON bytes, each row's own part
    cached per simulated minute (simulator/rowcache.py) and the nested event (last key) spliced
    in, identical to encoding `market(...)`. The rows rendered afresh get their walks from one
    batch for the page (simulator/batchwalk.py)."""
    variant = (include_tag, schema)
    minutes = [tuple([((now - span) - m.path.open) // MIN_S for span in MINUTE_SPANS]) for m in ms]
    own = [rowcache.lookup(m, now, variant, mk)[0] for m, mk in zip(ms, minutes)]
    todo = [j for j, data in enumerate(own) if data is None]
    plans = [walk_minutes(ms[j], now) for j in todo]
    paths = [ms[j].path for j, ks in zip(todo, plans) for _ in ks]
    walked = iter(batchwalk.walk_many(paths, [k for ks in plans for k in ks]))
    cat.row_counts["kept"] += len(ms) - len(todo)
    cat.row_counts["rendered"] += len(todo)
    for j, ks in zip(todo, plans):
        m = ms[j]
        own[j] = data = msgspec.json.encode(market(cat, m, now, include_tag, False, schema,
                                                   [next(walked) for _ in ks]))
        rowcache.keep(m, now, _moments(m), variant, minutes[j], data)
    return [msgspec.Raw(b"".join((data[:-1], b',"events":[', nested_event_bytes(cat, m.ev.e, now), b"]}")))
            for m, data in zip(ms, own)]


def _moments(m: PMMarket) -> tuple:
    ev = m.ev
    return ev.open, ev.close, m.prop, m.disp, m.reprop, m.final


@lru_cache(maxsize=256)
def nested_event_bytes(cat: PolyCatalog, e: int, now: float) -> bytes:
    """The nested event of `market` rows at `now`, encoded once per page."""
    return msgspec.json.encode(nested_event_cached(cat, e, now))
