"""CLOB API routes (`/clob/...`): prices, midpoints, books, price history, the CLOB market list.

Everything is keyed by token id; BUY answers the best ask and SELL the best bid; the NO token's book
mirrors the YES book (NO bid = 1 - YES ask). `/prices-history` points come from the same walk as
the live quotes, so a price seen live at t is the history value at t.
"""

from __future__ import annotations

import base64
import hashlib

import msgspec

from .clock import DAY_S, HOUR_S, rfc3339
from .fmt import pm_num, pm_str
from .gamma_render import USDC
from .hashing import between, uint
from .names import TAGS
from .pricing import UNIT
from .reply import BadRequest, Reply, Req

BATCH_MAX = 500
CLOB_PAGE = 1000
END_CURSOR = "LTE="
HISTORY_MAX_POINTS = 50_000
RESOLVED_MIN_FIDELITY = 720            # minutes; finer requests on resolved markets answer []
NO_BOOK = {"error": "No orderbook exists for the requested token id"}
INTERVALS = {"1m": 30 * DAY_S, "1w": 7 * DAY_S, "1d": DAY_S, "6h": 6 * HOUR_S, "1h": HOUR_S}


def err(status: int, msg: str) -> BadRequest:
    return BadRequest(status, {"error": msg})


class ClobRoutes:
    def __init__(self, world) -> None:
        self.w, self.cat = world, world.pm

    def routes(self):
        return [("GET", "/", self.ok), ("GET", "/time", self.time),
                ("GET", "/price", self.price), ("GET", "/prices", self.prices_get),
                ("POST", "/prices", self.prices_post), ("GET", "/midpoint", self.midpoint),
                ("POST", "/midpoints", self.midpoints_post), ("GET", "/midpoints", self.midpoints_get),
                ("GET", "/book", self.book), ("POST", "/books", self.books),
                ("GET", "/prices-history", self.history), ("GET", "/markets", self.markets),
                ("GET", "/markets/{condition_id}", self.one_market)]

    def ok(self, req: Req, **_) -> Reply:
        return Reply(200, "OK")

    def time(self, req: Req, **_) -> Reply:
        return Reply(200, int(req.now))

    # ---- quotes --------------------------------------------------------------------------
    def _token(self, token: str | None):
        hit = self.cat.index_of_token(token or "")
        return None if hit is None else (self.cat.market(hit[0]), hit[1])

    def _quote(self, token: str | None, now: float):
        """(market, side index, bid, ask) for a token with a live book, else None."""
        hit = self._token(token)
        if hit is None:
            return None
        m, side = hit
        if m.legacy or now < m.ev.open or now >= m.ev.close:
            return None
        bid, ask = m.path.quote(m.path.minute(now))
        if side == 1:
            bid, ask = UNIT - ask, UNIT - bid
        return m, side, bid, ask

    def price(self, req: Req, **_) -> Reply:
        side = (req.q("side") or "").upper()
        if side not in ("BUY", "SELL"):
            raise err(400, "Invalid side")
        q = self._quote(req.q("token_id"), req.now)
        if q is None:
            raise BadRequest(404, dict(NO_BOOK))
        return Reply(200, {"price": pm_str(q[3] if side == "BUY" else q[2])})

    def _price_map(self, items, now: float) -> Reply:
        if len(items) > BATCH_MAX:
            raise err(400, f"too many items: max {BATCH_MAX}")
        out: dict = {}
        for token, side in items:
            side = (side or "").upper()
            if side not in ("BUY", "SELL"):
                raise err(400, "Invalid side")
            q = self._quote(token, now)
            if q is not None:
                out.setdefault(token, {})[side] = pm_num(q[3] if side == "BUY" else q[2])
        return Reply(200, out)

    def prices_get(self, req: Req, **_) -> Reply:
        tokens, sides = req.qlist("token_ids"), req.qlist("sides")
        if len(tokens) != len(sides):
            raise err(400, "token_ids and sides must align")
        return self._price_map(list(zip(tokens, sides)), req.now)

    def _body_list(self, req: Req) -> list:
        try:
            body = msgspec.json.decode(req.body or b"null")
        except msgspec.DecodeError:
            raise err(400, "Invalid payload") from None
        if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
            raise err(400, "Invalid payload")
        if len(body) > BATCH_MAX:
            raise err(400, f"too many items: max {BATCH_MAX}")
        return body

    def prices_post(self, req: Req, **_) -> Reply:
        body = self._body_list(req)
        return self._price_map([(str(x.get("token_id")), x.get("side")) for x in body], req.now)

    def midpoint(self, req: Req, **_) -> Reply:
        q = self._quote(req.q("token_id"), req.now)
        if q is None:
            raise BadRequest(404, dict(NO_BOOK))
        return Reply(200, {"mid": pm_str((q[2] + q[3]) // 2)})

    def _mid_map(self, tokens, now: float) -> Reply:
        if len(tokens) > BATCH_MAX:
            raise err(400, f"too many items: max {BATCH_MAX}")
        out = {}
        for t in tokens:
            q = self._quote(t, now)
            if q is not None:
                out[t] = pm_str((q[2] + q[3]) // 2)
        return Reply(200, out)

    def midpoints_post(self, req: Req, **_) -> Reply:
        return self._mid_map([str(x.get("token_id")) for x in self._body_list(req)], req.now)

    def midpoints_get(self, req: Req, **_) -> Reply:
        return self._mid_map(req.qlist("token_ids"), req.now)

    # ---- books ---------------------------------------------------------------------------
    def _book(self, token: str, now: float) -> dict | None:
        q = self._quote(token, now)
        if q is None:
            return None
        m, side, bid, ask = q
        s, tick, k = self.cat.seed, m.tick, m.path.minute(now)
        depth = 2 + uint(s, 50, m.i) % 4
        bids = [b for b in (bid - j * tick for j in range(depth - 1, -1, -1)) if b > 0]
        asks = [a for a in (ask + j * tick for j in range(depth - 1, -1, -1)) if a < UNIT]
        lvl = lambda p, j: {"price": pm_str(p), "size": f"{between(5, 50000, s, 51, m.i, k, p, j):.2f}"}
        lt = m.path.last_trade(k)
        last = m.path.mid(k) // tick * tick if lt is not None else UNIT // 2
        if side == 1:
            last = UNIT - last
        return {"market": m.cond, "asset_id": token, "timestamp": str(int(now * 1000)),
                "hash": hashlib.sha1(f"{token}/{k}".encode()).hexdigest(),
                "bids": [lvl(p, 0) for p in bids], "asks": [lvl(p, 1) for p in asks],
                "min_order_size": "5", "tick_size": pm_str(tick),
                "neg_risk": m.ev.neg_id is not None, "last_trade_price": pm_str(last)}

    def book(self, req: Req, **_) -> Reply:
        b = self._book(req.q("token_id") or "", req.now)
        if b is None:
            raise BadRequest(404, dict(NO_BOOK))
        return Reply(200, b)

    def books(self, req: Req, **_) -> Reply:
        out = [self._book(str(x.get("token_id")), req.now) for x in self._body_list(req)]
        return Reply(200, [b for b in out if b is not None], records="")

    # ---- history -------------------------------------------------------------------------
    def history(self, req: Req, **_) -> Reply:
        hit = self._token(req.q("market"))
        if hit is None:
            raise err(400, "invalid market")
        m, side = hit
        try:
            fidelity = int(req.q("fidelity") or 1)
            start_ts, end_ts = req.q("startTs"), req.q("endTs")
            interval = req.q("interval")
            if interval and (start_ts or end_ts):
                raise err(400, "interval and startTs/endTs are mutually exclusive")
            now, p = req.now, m.path
            if interval in (None, "") and start_ts:
                lo, hi = int(start_ts), int(end_ts) if end_ts else now
            elif interval in ("max", "all", None, ""):
                lo, hi = p.open, now
            elif interval in INTERVALS:
                lo, hi = now - INTERVALS[interval], now
            else:
                raise err(400, "invalid interval")
        except ValueError:
            raise err(400, "invalid parameters") from None
        if fidelity < 1:
            raise err(400, "invalid fidelity")
        if now >= m.final and fidelity < RESOLVED_MIN_FIDELITY:
            return Reply(200, {"history": []})
        step = fidelity * 60
        lo, hi = max(lo, p.open), min(hi, now, p.close - 1)
        t = -(-int(lo) // step) * step
        points = []
        while t <= hi and len(points) < HISTORY_MAX_POINTS:
            mid = p.mid(p.minute(t))
            points.append({"t": t + uint(self.cat.seed, 52, t) % 7, "p": pm_num(UNIT - mid if side else mid)})
            t += step
        return Reply(200, {"history": points})

    # ---- CLOB markets --------------------------------------------------------------------
    def clob_market(self, i: int, now: float) -> dict:
        m = self.cat.market(i)
        ev = m.ev
        closed = now >= ev.close
        resolved = now >= m.final
        k = m.path.minute(now)
        if resolved:
            yes = m.path.final_u
        else:
            yes = m.path.mid(k)
        winner = (lambda j: resolved and m.win_idx == j)
        return {
            "enable_order_book": not closed and not m.legacy, "active": True, "closed": closed,
            "archived": False, "accepting_orders": not closed and now >= ev.open and not m.legacy,
            "accepting_order_timestamp": rfc3339(ev.open), "minimum_order_size": 5,
            "minimum_tick_size": m.tick / UNIT, "condition_id": m.cond, "question_id": m.qid,
            "question": m.question, "description": f"This market resolves per its rules. {m.question}",
            "market_slug": m.slug, "end_date_iso": rfc3339(ev.end),
            "game_start_time": rfc3339(ev.game_start) if ev.game_start else None,
            "seconds_delay": 3 if ev.game_start else 0,
            "fpmm": ("0x" + m.cond[2:42]) if m.legacy else "", "maker_base_fee": 1000,
            "taker_base_fee": 1000, "notifications_enabled": True, "neg_risk": ev.neg_id is not None,
            "neg_risk_market_id": ev.neg_id or "",
            "neg_risk_request_id": ("0x" + m.qid[2:][::-1]) if ev.neg_id else "",
            "icon": f"https://example.com/sim-{ev.e}.png", "image": f"https://example.com/sim-{ev.e}.png",
            "rewards": {"rates": None if closed else [{"asset_address": USDC, "rewards_daily_rate": 10}],
                        "min_size": 200, "max_spread": 3.5},
            "is_50_50_outcome": resolved and m.win_idx == -1,
            "tokens": [{"token_id": m.tokens[0], "outcome": m.outcomes[0], "price": pm_num(yes),
                        "winner": winner(0)},
                       {"token_id": m.tokens[1], "outcome": m.outcomes[1], "price": pm_num(UNIT - yes),
                        "winner": winner(1)}],
            "tags": [label for _, label, _ in TAGS[ev.tag_group]],
        }

    def markets(self, req: Req, **_) -> Reply:
        cur = req.q("next_cursor") or "MA=="
        n = self.cat.n_listed(req.now)
        if cur == END_CURSOR:
            return Reply(200, {"data": [], "next_cursor": END_CURSOR, "limit": CLOB_PAGE, "count": 0})
        try:
            off = int(base64.b64decode(cur, validate=True).decode())
        except (ValueError, UnicodeDecodeError):
            raise err(400, "invalid next_cursor") from None
        if off < 0:
            raise err(400, "invalid next_cursor")
        rows = [self.clob_market(i, req.now) for i in range(off, min(n, off + CLOB_PAGE))]
        nxt = base64.b64encode(str(off + CLOB_PAGE).encode()).decode() if off + CLOB_PAGE < n else END_CURSOR
        return Reply(200, {"data": rows, "next_cursor": nxt, "limit": CLOB_PAGE, "count": len(rows)},
                     records="data", cursor_field="next_cursor", req_cursor=req.q("next_cursor"))

    def one_market(self, req: Req, condition_id: str) -> Reply:
        i = self.cat.index_of_cond(condition_id.lower())
        if i is None or i >= self.cat.n_listed(req.now):
            raise err(404, "market not found")
        return Reply(200, self.clob_market(i, req.now))
