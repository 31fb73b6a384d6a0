"""Gamma API routes (`/gamma/...`): keyset and legacy market lists, single market, events.

Keyset order is the Gamma id (monotone in creation), so a sweep started at t0 sees every market
that existed at t0 exactly once even while new markets appear (they sort after the cursor) and
prices move. `closed` defaults to false everywhere, as on the real API.
"""

from __future__ import annotations

from . import gamma_render as render
from . import names
from .cursor import Cursors
from .pm_model import GAMMA_ID_BASE
from .reply import BadRequest, Reply, Req, int_param

KEYSET_MAX, KEYSET_DEFAULT = 100, 20
LEGACY_MAX, LEGACY_DEFAULT, LEGACY_MAX_OFFSET = 100, 20, 10_000
EVENTS_MAX = 100
DEPRECATION = {"deprecation": "true", "sunset": "Fri, 01 May 2026", "warning": '299 - "use /markets/keyset"'}
OFFSET_422 = {"type": "validation error", "error": "offset is not allowed on keyset endpoints"}


def err(status: int, kind: str, msg: str) -> BadRequest:
    return BadRequest(status, {"type": kind, "error": msg})


class GammaRoutes:
    def __init__(self, world) -> None:
        self.w, self.cat = world, world.pm
        self.cursors = Cursors(world.seed, "markets")

    def routes(self):
        return [("GET", "/markets/keyset", self.keyset), ("GET", "/markets", self.legacy_list),
                ("GET", "/markets/{id}", self.one_market), ("GET", "/events", self.events),
                ("GET", "/events/{id}", self.one_event), ("GET", "/status", self.status)]

    def status(self, req: Req, **_) -> Reply:
        return Reply(200, "OK")

    # ---- filtering -----------------------------------------------------------------------
    def _candidates(self, req: Req, n_listed: int):
        """Indices to consider, ascending; a narrowed set when id-like filters are given."""
        ids: set[int] = set()
        filtered = False
        for v in req.qlist("id"):
            filtered = True
            try:
                i = self.cat.index_of_gid(int(v))
            except ValueError:
                raise err(422, "validation error", f"invalid id: {v}") from None
            if i is not None:
                ids.add(i)
        for v in req.qlist("condition_ids"):
            filtered = True
            i = self.cat.index_of_cond(v.lower())
            if i is not None:
                ids.add(i)
        for v in req.qlist("clob_token_ids"):
            filtered = True
            hit = self.cat.index_of_token(v)
            if hit is not None:
                ids.add(hit[0])
        if filtered:
            return sorted(i for i in ids if i < n_listed)
        return range(n_listed)

    def _matches(self, req: Req, closed: bool, slugs: set[str]):
        """Row predicate; the closed test needs only the (cached) event, never the market."""
        cat, now = self.cat, req.now

        def ok(i: int) -> bool:
            if (now >= cat.event_close(cat.event_of(i))) != closed:
                return False
            return not slugs or cat.market(i).slug in slugs
        return ok

    def _sweep_events(self, req: Req, closed: bool, cands, start_gid: int, limit: int):
        """An unfiltered sweep walks whole events: one whose `closed` differs is skipped without
        building it or its markets (most of a real-scale catalogue). (rows, last gid)."""
        cat, now = self.cat, req.now
        starts, close, n_events = cat.ev_start, cat.ev_close, cat.n_events
        rows, last = [], None
        i, end = cands.start, cands.stop
        e = cat.event_of(i) if i < end else n_events
        while i < end and e < n_events and len(rows) < limit:
            nxt = starts[e + 1] if e + 1 < n_events else cat.n
            if (now >= close[e]) == closed:
                for j in range(i, min(nxt, end)):
                    gid = cat.gamma_id(j)
                    if gid > start_gid:
                        rows.append(j)
                        last = gid
                        if len(rows) == limit:
                            return rows, last
            i, e = nxt, e + 1
        return rows, last

    def _rows(self, rows: list[int], now: float, tag: bool, schema: bool = True) -> list:
        """The market rows of a list page: cached bytes (simulator/rowcache.py) or, with the
        catalogue's row cache off, fresh dicts (the same bytes once encoded)."""
        ms = [self.cat.market(i) for i in rows]
        if self.cat.row_cache:
            return render.market_rows(self.cat, ms, now, include_tag=tag, schema=schema)
        return [render.market(self.cat, m, now, include_tag=tag, schema=schema) for m in ms]

    # ---- routes --------------------------------------------------------------------------
    def keyset(self, req: Req, **_) -> Reply:
        if req.q("offset") is not None:
            raise BadRequest(422, dict(OFFSET_422))
        limit = int_param(req, "limit", KEYSET_DEFAULT, err(422, "validation error", "invalid limit"))
        if limit < 1:
            raise err(422, "validation error", "limit must be >= 1")
        limit = min(limit, KEYSET_MAX)
        after = req.q("after_cursor")
        start_gid = -1
        if after:
            start_gid = self.cursors.decode(after)
            if start_gid is None:
                raise err(422, "validation error", "invalid cursor")
        n_listed = self.cat.n_listed(req.now)
        closed, slugs = req.qbool("closed"), set(req.qlist("slug"))
        ok = self._matches(req, closed, slugs)
        cands = self._candidates(req, n_listed)
        if isinstance(cands, range) and start_gid >= 0:
            cands = range(max(0, (start_gid - GAMMA_ID_BASE) // 3), n_listed)
        rows, last = [], None
        if isinstance(cands, range) and not slugs:
            rows, last = self._sweep_events(req, closed, cands, start_gid, limit)
        else:
            for i in cands:
                gid = self.cat.gamma_id(i)
                if gid <= start_gid or not ok(i):
                    continue
                rows.append(i)
                last = gid
                if len(rows) == limit:
                    break
        tag = req.qbool("include_tag")
        body = {"markets": self._rows(rows, req.now, tag)}
        if len(rows) == limit:
            body["next_cursor"] = self.cursors.encode(last)
        return Reply(200, body, records="markets", cursor_field="next_cursor", req_cursor=after)

    def legacy_list(self, req: Req, **_) -> Reply:
        bad = err(422, "validation error", "invalid limit/offset")
        limit = min(max(int_param(req, "limit", LEGACY_DEFAULT, bad), 0), LEGACY_MAX)
        offset = int_param(req, "offset", 0, bad)
        if offset < 0 or offset > LEGACY_MAX_OFFSET:
            raise err(422, "validation error", f"offset must be <= {LEGACY_MAX_OFFSET}")
        n_listed = self.cat.n_listed(req.now)
        ok = self._matches(req, req.qbool("closed"), set(req.qlist("slug")))
        rows, seen = [], 0
        for i in self._candidates(req, n_listed):
            if not ok(i):
                continue
            if seen >= offset:
                rows.append(i)
                if len(rows) >= limit:
                    break
            seen += 1
        tag = req.qbool("include_tag")
        body = self._rows(rows, req.now, tag, schema=False)
        return Reply(200, body, headers=dict(DEPRECATION), records="")

    def one_market(self, req: Req, id: str) -> Reply:
        try:
            i = self.cat.index_of_gid(int(id))
        except ValueError:
            i = None
        if i is None or i >= self.cat.n_listed(req.now):
            raise err(404, "not found", "market not found")
        return Reply(200, render.market(self.cat, self.cat.market(i), req.now,
                                        include_tag=req.qbool("include_tag")))

    def events(self, req: Req, **_) -> Reply:
        bad = err(422, "validation error", "invalid limit/offset")
        limit = min(max(int_param(req, "limit", LEGACY_DEFAULT, bad), 0), EVENTS_MAX)
        offset = int_param(req, "offset", 0, bad)
        if offset < 0 or offset > LEGACY_MAX_OFFSET:
            raise err(422, "validation error", f"offset must be <= {LEGACY_MAX_OFFSET}")
        closed = req.qbool("closed")
        ids = set()
        for v in req.qlist("id"):
            try:
                e = self.cat.index_of_event_gid(int(v))
            except ValueError:
                e = None
            if e is not None and self.cat.event(e).gid == int(v):
                ids.add(e)
        tag_ids = set(req.qlist("tag_id"))
        n_ev = self.cat.event_of(max(0, self.cat.n_listed(req.now) - 1)) + 1 \
            if self.cat.n_listed(req.now) else 0
        rows, seen = [], 0
        for e in (sorted(x for x in ids if x < n_ev) if req.qlist("id") else range(n_ev)):
            ev = self.cat.event(e)
            if (req.now >= ev.close) != closed:
                continue
            if tag_ids and not tag_ids & {t[0] for t in names.TAGS[ev.tag_group]}:
                continue
            if seen >= offset:
                rows.append(e)
                if len(rows) >= limit:
                    break
            seen += 1
        body = [render.event(self.cat, e, req.now) for e in rows]
        return Reply(200, body, headers=dict(DEPRECATION), records="")

    def one_event(self, req: Req, id: str) -> Reply:
        try:
            e = self.cat.index_of_event_gid(int(id))
        except ValueError:
            e = None
        if e is None or self.cat.event(e).gid != int(id) or self.cat.event(e).created > req.now:
            raise err(404, "not found", "event not found")
        return Reply(200, render.event(self.cat, e, req.now))
