"""Polymarket: DISCOVER, SNAPSHOT and RESOLVE over Gamma's keyset catalogue (docs/api/polymarket.md).

The request budget shapes everything here. At 2 req/s a full ``closed=false`` sweep of ~46k open
markets is ~470 requests (~4 min); three full DISCOVERs and a SNAPSHOT per 15 minutes would not
fit. So:

* SNAPSHOT is the one full open sweep per cycle: each row carries outcomePrices, bestBid,
  bestAsk, volume and liquidity, so a cycle of N markets costs ceil(N/100) requests. The same
  rows refresh metadata: a MarketUpsert goes out for every market that is new or whose
  ``updatedAt`` differs from what collector.db holds.
* DISCOVER is incremental: keyset pages come in Gamma-id order (monotone in creation), so it
  resumes from the cursor of the last page of the previous full sweep (``Sweep.tail``) and reads
  only what was created since — a request or two. The order is verified on every full sweep;
  if it does not hold, or there is no tail yet (empty database), DISCOVER sweeps everything.
  The closed history (150k+ markets on the real site) is swept once, ``HISTORY_PAGES_PER_RUN``
  pages per DISCOVER, then followed the same way from its tail.
* RESOLVE reads the open catalogue to its end itself (~470 requests per run, every 30 min),
  then looks up, by Gamma id and with ``closed=true`` (the default hides closed markets), every
  stored market not final that it did not list, and applies the documented rule
  (fetchers/polymarket_parse.py). Never early, never dependent on SNAPSHOT or grid time.

Cursors live in ``data_dir/polymarket-state.json`` (collector.db is written only by the sink);
losing the file costs one full sweep, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

from collector import clock, wire
from fetchers import books_polymarket
from fetchers import polymarket_parse as parse
from fetchers.base import PhaseContext
from collector.errors import ApiError
from fetchers.http import ApiRefused
from fetchers.polymarket_db import has_history, known_markets, not_final
from fetchers.polymarket_pages import Sweep
from fetchers.recheck import GONE, Recheck

PAGE_LIMIT = 100  # Gamma's keyset maximum
IDS_PER_LOOKUP = 100  # Gamma ids per RESOLVE request (the URL stays far below 8 KB)
HISTORY_PAGES_PER_RUN = 150  # closed-history pages per DISCOVER (~75 s at 2 req/s)
STATE_FILE = "polymarket-state.json"
PROGRESSING = frozenset({"uma:proposed", "uma:disputed"})  # UMA moves these on by itself: no back-off
# A closed market gets its UMA proposal within ~2 days of closing: asked every run until then, and
# only a market unchanged for longer (no UMA status, legacy ["0","0"], an anomaly) backs off.
RECHECK_GRACE_S = 3 * 86400
OPEN = (("limit", PAGE_LIMIT), ("closed", "false"), ("include_tag", "true"))
CLOSED = (("limit", PAGE_LIMIT), ("closed", "true"), ("include_tag", "true"))


def _url(ctx: PhaseContext) -> str:
    return ctx.cfg.polymarket.gamma_url.rstrip("/") + "/markets/keyset"


def _parse_rows(rows: list) -> tuple[list[parse.Market], list[tuple[str, str]]]:
    return parse.parse_rows(rows, clock.now())


def _publish_closed(ctx: PhaseContext, m: parse.Market) -> wire.Resolution | None:
    """A closed row: its metadata, then its verdict (cross-checked on the CLOB when anomalous).

    A negRisk placeholder gets its metadata (flagged) and never a verdict.
    """
    ctx.publish(m.upsert)
    if m.placeholder:
        return None
    verdict = checked_verdict(ctx, m)
    if verdict is not None:
        ctx.publish(verdict)
    return verdict


def checked_verdict(ctx: PhaseContext, m: parse.Market) -> wire.Resolution | None:
    """The documented rule's verdict; an anomaly is cross-checked on the CLOB (RESOLVE and backfill)."""
    verdict = parse.resolution(m, m.upsert.observed_at)
    if verdict is not None and verdict.detail == parse.ANOMALY:
        ctx.log.warning("resolution anomaly for %s (prices %s); asking the CLOB", m.market_id, m.prices)
        url = f"{ctx.cfg.polymarket.base_url.rstrip('/')}/markets/{m.market_id}"
        try:
            verdict = parse.clob_verdict(ctx.http.get_json(url), m, m.upsert.observed_at) or verdict
        except ApiRefused as exc:
            ctx.log.warning("CLOB cross-check of %s refused: %s", m.market_id, exc)
        except parse.BadRecord as exc:  # an answer about another market: kept as an anomaly
            ctx.skip(f"CLOB answer for {m.market_id}", str(exc))
    return verdict


class State:
    """Sweep cursors kept between runs, tied to one database path."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.path = Path(ctx.cfg.data_dir) / STATE_FILE
        self.db = str(ctx.cfg.db_path)
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        self.data = data if isinstance(data, dict) and data.get("db") == self.db else {}

    def get(self, key: str):
        return self.data.get(key)

    def set(self, **values) -> None:
        self.data.update(values, db=self.db)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self.path)
        except OSError:
            pass  # only costs a full sweep next time


def _sweep_or_restart(ctx: PhaseContext, params, start: str | None, handle, max_pages: int | None = None) -> Sweep:
    """Run a sweep from ``start``; a cursor Gamma no longer accepts (422) restarts from the top."""
    sweep = Sweep(ctx, _url(ctx), params, _parse_rows, start, **({"max_pages": max_pages} if max_pages else {}))
    try:
        for markets in sweep:
            handle(markets)
        return sweep
    except ApiRefused as exc:
        if not start or exc.status != 422 or sweep.pages:
            raise
        ctx.log.warning("gamma refused the saved cursor (%s); sweeping from the start", exc)
        return _sweep_or_restart(ctx, params, None, handle, max_pages)


# --- DISCOVER --------------------------------------------------------------------------------


def discover(ctx: PhaseContext) -> None:
    known = known_markets(ctx.db)
    state = State(ctx)
    counts = {"new": 0, "changed": 0}

    def on_open(markets: list[parse.Market]) -> None:
        for m in markets:
            seen = known.get(m.market_id)
            if seen is None or seen[0] != m.updated_at:
                counts["new" if seen is None else "changed"] += 1
                if m.closed:  # the server ignored closed=false: treat the row as what it is
                    _publish_closed(ctx, m)
                else:
                    ctx.publish(m.upsert)

    tail = state.get("open_tail") if known else None
    sweep = _sweep_or_restart(ctx, OPEN, tail, on_open)
    if sweep.complete and sweep.ascending:
        state.set(open_tail=sweep.tail)
    elif not sweep.ascending:
        state.set(open_tail=None)
        ctx.counters.notes.append("gamma keyset not in id order; DISCOVER sweeps everything")
    ctx.log.info("open catalogue: %d pages from %s, %d new, %d changed", sweep.pages,
                 "the last tail" if tail else "the start", counts["new"], counts["changed"])
    _discover_history(ctx, known, state)


def _discover_history(ctx: PhaseContext, known: dict, state: State) -> None:
    """Closed markets: a resumable one-time sweep, then only what was added after its tail."""
    done = bool(state.get("history_done")) and has_history(ctx.db)
    start = state.get("closed_tail") if done else state.get("history_cursor")

    def on_closed(markets: list[parse.Market]) -> None:
        for m in markets:
            if known.get(m.market_id, (None, ""))[1] not in wire.FINAL_STATUSES:
                _publish_closed(ctx, m)

    sweep = _sweep_or_restart(ctx, CLOSED, start, on_closed, None if done else HISTORY_PAGES_PER_RUN)
    if sweep.complete and sweep.ascending:
        state.set(history_done=True, history_cursor=None, closed_tail=sweep.tail)
    elif sweep.complete:  # a tail is only a resume point when ids grow: otherwise sweep again
        state.set(history_done=False, history_cursor=None, closed_tail=None)
        ctx.counters.notes.append("gamma closed keyset not in id order; history swept again")
    else:
        state.set(history_done=False, history_cursor=sweep.cursor)
        ctx.log.info("closed history: %d pages this run; continuing next DISCOVER", sweep.pages)


# --- SNAPSHOT --------------------------------------------------------------------------------


def snapshot(ctx: PhaseContext) -> None:
    t = ctx.grid_time
    if t is None:
        t = clock.grid_floor(clock.now(), ctx.cfg.interval_seconds("snapshot"))
    known = known_markets(ctx.db)
    counts = {"snapshots": 0, "upserts": 0}

    def on_open(markets: list[parse.Market]) -> None:
        for m in markets:
            seen = known.get(m.market_id)
            if seen is None or seen[0] != m.updated_at:
                ctx.publish(m.upsert)
                counts["upserts"] += 1
            if not m.closed and not m.placeholder:  # closed here: the server ignored closed=false
                ctx.publish(parse.snapshot(m, t))
                counts["snapshots"] += 1
                tokens = m.upsert.extra.get("clob_token_ids")
                if tokens:
                    book_markets[m.market_id] = (json.loads(tokens), m.volume)

    book_markets: dict[str, tuple[list[str], float | None]] = {}
    sweep = _sweep_or_restart(ctx, OPEN, None, on_open)
    if sweep.complete and sweep.ascending:
        State(ctx).set(open_tail=sweep.tail)
    ctx.log.info("snapshot at %s: %d markets in %d pages, %d upserts", clock.iso(t), counts["snapshots"],
                 sweep.pages, counts["upserts"])
    books_polymarket.fetch(ctx, t, book_markets)  # after the sweep: order books (issue 19)


# --- RESOLVE ---------------------------------------------------------------------------------


def resolve(ctx: PhaseContext) -> None:
    """Every stored market that is no longer in the open catalogue, looked up by id and labelled.

    Gamma has no "recently closed" query, so RESOLVE reads the open catalogue itself, to its
    end, and compares it with the stored markets that are not final: whatever is missing has
    closed (early or not) by the time the sweep finished. Only those are asked for, by Gamma
    id with ``closed=true``, and get the documented verdict: a label when final, ``closed``
    with ``closedTime`` when not. Nothing depends on a SNAPSHOT having run, or on grid time.
    An interrupted sweep publishes nothing from the comparison (the phase reports it).
    """
    stored = not_final(ctx.db)
    if not stored:  # nothing tracked that could close: spare the open sweep
        ctx.counters.notes.append("no stored market pending")
        return
    open_ids: set[str] = set()
    found: set[str] = set()

    def on_open(markets: list[parse.Market]) -> None:
        for m in markets:
            if not m.closed:
                open_ids.add(m.gamma_id)
            elif m.gamma_id in stored and m.gamma_id not in found:  # the server ignored closed=false
                found.add(m.gamma_id)
                _publish_closed(ctx, m)

    sweep = _sweep_or_restart(ctx, OPEN, None, on_open)
    if not sweep.complete:
        raise ApiError(f"open catalogue read only {sweep.pages} pages; closed markets not looked up")
    if sweep.ascending:
        State(ctx).set(open_tail=sweep.tail)
    gone = {g: v for g, v in stored.items() if g not in open_ids and g not in found}
    recheck = Recheck(ctx.cfg.data_dir, "polymarket", ctx.cfg.db_path, clock.now(), RECHECK_GRACE_S)
    ids = recheck.pick({g: (v[2] if v[1] == "closed" else None) for g, v in gone.items()}, PROGRESSING)
    asked = set(ids)
    ids.sort(key=lambda g: (len(g), g))

    def on_closed(markets: list[parse.Market]) -> None:
        for m in markets:
            if m.gamma_id in asked and m.closed and m.gamma_id not in found:  # only what we asked about
                found.add(m.gamma_id)
                verdict = _publish_closed(ctx, m)
                final = verdict is not None and verdict.status in wire.FINAL_STATUSES
                recheck.asked(m.gamma_id, None if final else (verdict.detail if verdict else GONE))

    for start in range(0, len(ids), IDS_PER_LOOKUP):
        chunk = ids[start:start + IDS_PER_LOOKUP]
        _sweep_or_restart(ctx, list(CLOSED) + [("id", g) for g in chunk], None, on_closed)
    lost = [g for g in ids if g not in found]
    for g in lost:
        recheck.asked(g, GONE)
    recheck.keep_only(gone)  # back in the open catalogue or final: no schedule
    recheck.save()
    if lost:
        ctx.counters.notes.append(f"{len(lost)} stored markets neither open nor closed on gamma")
        ctx.log.warning("%d stored markets are neither open nor closed on gamma, e.g. %s", len(lost),
                        [gone[g][0] for g in lost[:3]])
    ctx.log.info("resolve: %d open, %d stored not final, %d gone from the open catalogue, %d asked, "
                 "%d waiting (back-off), %d closed on gamma", len(open_ids), len(stored), len(gone),
                 len(asked), len(gone) - len(asked), len(found))
