"""Every wire record checked against collector/bounds.py: one rule for parsers, sink and scheduler.

Parsers call ``problem`` on each record they build, or ``problems`` on a page of them (Kalshi
DISCOVER: the same answers, a fraction of the cost), and skip a failing one (a counter and a log
line naming the market; the rest of the page goes on). The sink calls it again before its
transaction, because a sender can be buggy, old or hostile: a record that breaks a bound is
dropped on its own, counted (``records_rejected``) and logged naming its market; the rest of its batch is stored and the batch is acknowledged with
``Ack.rejected`` so the sender drops it (see collector/wire.py). Snapshot columns are checked
column-wise with C-speed min/max first; only a column holding a bad value pays a per-row pass.
"""

from __future__ import annotations

import math
import re
from itertools import chain
from operator import attrgetter

import msgspec

from collector import bounds as b, platforms
from collector.wire import (ArchiveCommit, BackfillMark, BookArchiveCommit, MarketUpsert, NewsHeadline,
                            OrderBook, PhaseReport, PriceSnapshot, Record, Resolution, SnapshotColumns)

_ISO = re.compile(r"20\d{2}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?")  # years 2000-2099 only
_SAFE_FILE = re.compile(r"[A-Za-z0-9_=./-]{1,300}")
_PRINTABLE = re.compile(r"[!-~]*")
_DAY = re.compile(r"(20\d\d)-\d\d-\d\d")


def _bad_iso(s) -> bool:
    return s is not None and (not isinstance(s, str) or _ISO.fullmatch(s) is None)


def problem(r: Record) -> str | None:
    """Why this record must not be stored, or None. SnapshotColumns: see ``clean_columns``.

    Each record type's checks run in order and stop at the first broken bound; a reason is only
    formatted for a record that breaks one (the parsers and the sink pay this for every record).
    """
    check = _CHECKS.get(type(r)) or next((c for t, c in _CHECKS.items() if isinstance(r, t)), None)
    return check(r) if check is not None else f"unknown record type {type(r).__name__}"


def _market_upsert(r: MarketUpsert) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_time(r.observed_at):
        return f"observed_at {r.observed_at!r} outside 2000-2100"
    if r.status not in ("active", "closed"):
        return f"status {r.status[:40]!r}"
    if b.bad_text(r.title, b.TITLE_MAX):
        return f"title longer than {b.TITLE_MAX} characters"
    if b.bad_text(r.description, b.TEXT_MAX):
        return f"description longer than {b.TEXT_MAX} characters"
    if b.bad_text(r.slug, b.TITLE_MAX) or b.bad_text(r.category, b.TITLE_MAX):
        return "slug/category too long"
    if r.outcomes is not None and (len(r.outcomes) > b.EXTRA_MAX or b.bad_texts(r.outcomes, b.TITLE_MAX)):
        return "outcomes too many or too long"
    if b.bad_size(r.volume):
        return f"volume {r.volume!r} not in [0, 1e15)"
    if b.bad_size(r.liquidity):
        return f"liquidity {r.liquidity!r} not in [0, 1e15)"
    if _bad_iso(r.end_date) or _bad_iso(r.created_at) or _bad_iso(r.updated_at):
        return "a date is not ISO 8601 in 2000-2100"
    extra = r.extra
    if extra and (len(extra) > b.EXTRA_MAX or max(map(len, extra)) > b.ID_MAX
                  or max(map(len, extra.values())) > b.TITLE_MAX):
        return "extra too large"
    return None


def _price_snapshot(r: PriceSnapshot) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_time(r.t):
        return f"t {r.t!r} outside 2000-2100"
    if b.bad_price(r.yes_price) or b.bad_price(r.best_bid) or b.bad_price(r.best_ask):
        return "a price outside [0, 1]"
    if b.bad_size(r.volume) or b.bad_size(r.liquidity):
        return "volume/liquidity not in [0, 1e15)"
    if r.source not in b.SOURCES:
        return f"source {r.source[:20]!r}"
    if r.observed_at is not None and b.bad_time(r.observed_at):
        return f"observed_at {r.observed_at!r} outside 2000-2100"  # its lag is bounded in clean_columns
    return None


def _order_book(r: OrderBook) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_time(r.t):
        return f"t {r.t!r} outside 2000-2100"
    if b.bad_time(r.observed_at) or abs(r.observed_at - r.t) >= b.LAG_MAX:
        return f"observed_at {r.observed_at!r} outside 2000-2100 or over {b.LAG_MAX} s from t"
    if r.outcome not in (0, 1):
        return f"outcome {r.outcome!r}"
    if (len(r.bid_px) != len(r.bid_sz) or len(r.ask_px) != len(r.ask_sz)
            or len(r.bid_px) > b.BOOK_LEVELS_MAX or len(r.ask_px) > b.BOOK_LEVELS_MAX):
        return f"level lists unequal or longer than {b.BOOK_LEVELS_MAX}"
    if not _in(r.bid_px + r.ask_px, 0, b.PRICE_SCALE + 1):
        return "a level price outside [0, 1]"
    if not _in(r.bid_sz + r.ask_sz, 0, b.SIZE_MAX):
        return "a level size not in [0, 1e15)"
    if r.book_ms is not None and not b.TIME_MIN * 1000 <= r.book_ms < b.TIME_MAX * 1000:
        return "book_ms outside 2000-2100"
    if b.bad_text(r.book_hash, b.ID_MAX):
        return "book_hash too long"
    return None


def _resolution(r: Resolution) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_time(r.observed_at):
        return f"observed_at {r.observed_at!r} outside 2000-2100"
    if r.status not in ("closed", "resolved", "voided"):
        return f"status {r.status[:40]!r}"
    if b.bad_price(r.settlement_value):
        return f"settlement_value {r.settlement_value!r} not in [0, 1]"
    if _bad_iso(r.resolved_at) or _bad_iso(r.closed_at):
        return "a date is not ISO 8601 in 2000-2100"
    if (b.bad_text(r.winning_outcome, b.TITLE_MAX) or b.bad_text(r.detail, b.TITLE_MAX)
            or b.bad_text(r.resolution, 3)):
        return "a text field too long"
    return None


def _news_headline(r: NewsHeadline) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_text(r.headline, b.TITLE_MAX) or b.bad_text(r.source, b.TITLE_MAX) or b.bad_text(r.url, b.TITLE_MAX):
        return "headline/source/url too long"
    if _bad_iso(r.captured_at) or _bad_iso(r.published_at):
        return "a date is not ISO 8601 in 2000-2100"
    return None


def _backfill_mark(r: BackfillMark) -> str | None:
    if why := b.market_problem(r.platform, r.market_id):
        return why
    if b.bad_time(r.done_at):
        return f"done_at {r.done_at!r} outside 2000-2100"
    if b.bad_size(r.points) or b.bad_size(r.resolution_s):
        return "points/resolution_s not in [0, 1e15)"
    return None


def _archive_file(r: ArchiveCommit | BookArchiveCommit) -> str | None:
    """The checks both archive commits share: platform, day, time span, file path."""
    if r.platform not in platforms.market_names():
        return f"unknown platform {r.platform[:40]!r}"
    if _DAY.fullmatch(r.day) is None:
        return f"day {r.day[:20]!r} is not YYYY-MM-DD"
    if b.bad_time(r.t_start) or b.bad_time(r.t_end):
        return "t_start/t_end outside 2000-2100"
    if not _safe_relative(r.file):
        return f"file {r.file[:80]!r} is not a plain relative path"
    return None


def _archive_commit(r: ArchiveCommit) -> str | None:
    if why := _archive_file(r):
        return why
    if b.bad_size(r.rows) or b.bad_size(r.markets):
        return "rows/markets not in [0, 1e15)"
    if not _int64(r.sum_t, r.sum_yes, r.sum_bid, r.sum_ask, r.sum_volume, r.sum_liquidity):
        return "a sum beyond 64 bits"
    return None


def _book_archive_commit(r: BookArchiveCommit) -> str | None:
    if why := _archive_file(r):
        return why
    if b.bad_size(r.rows):
        return "rows not in [0, 1e15)"
    if not _int64(r.sum_t, r.sum_seen_ms, r.sum_level_bytes):
        return "a sum beyond 64 bits"
    return None


def _phase_report(r: PhaseReport) -> str | None:
    if r.platform not in platforms.report_names():
        return f"unknown platform {r.platform[:40]!r}"
    if b.bad_id(r.job_id):
        return "job id is not 1-200 printable characters"
    if not (b.finite(r.started_at) and b.finite(r.finished_at)
            and 0 <= r.started_at < b.TIME_MAX and 0 <= r.finished_at < b.TIME_MAX):
        return "started_at/finished_at not finite unix seconds"
    if r.grid_time is not None and not 0 <= r.grid_time < b.TIME_MAX:
        return "grid_time out of range"
    if any(not 0 <= x < b.SIZE_MAX for x in (r.requests, r.retries, r.records, r.skipped, r.errors)):
        return "a count not in [0, 1e15)"
    if b.bad_text(r.message, b.TEXT_MAX) or b.bad_text(r.phase, 40):
        return "phase/message too long"
    if len(r.listings_complete) > b.EXTRA_MAX or b.bad_texts(r.listings_complete, b.TITLE_MAX):
        return "listings_complete too many or too long"
    return None


_CHECKS = {MarketUpsert: _market_upsert, PriceSnapshot: _price_snapshot, OrderBook: _order_book,
           Resolution: _resolution, NewsHeadline: _news_headline, BackfillMark: _backfill_mark,
           ArchiveCommit: _archive_commit, BookArchiveCommit: _book_archive_commit, PhaseReport: _phase_report,
           SnapshotColumns: lambda r: None}


def _int64(*sums: int) -> bool:
    return all(-2**63 <= x < 2**63 for x in sums)


# --- a page at once ------------------------------------------------------------------------------
# The same bounds, checked column by column over many records of one type (C-speed min/max, one regex
# map): a parser's page costs a fraction of the per-record checks when it passes whole, which is
# nearly always. A column check only ever says "all pass" or "ask each record": when it is unsure
# (a NaN, a None where a value belongs, a non-plain type, two platforms) it says the latter, so the
# answers, reasons included, are exactly ``problem``'s (tests/test_validate.py compares them).


def problems(records: list) -> list[str | None]:
    """``[problem(r) for r in records]``, at a fraction of the cost when the records pass."""
    out: list[str | None] = [None] * len(records)
    by_type: dict[type, list[int]] = {}
    for i, r in enumerate(records):
        by_type.setdefault(type(r), []).append(i)
    for t, rows in by_type.items():
        column_check = _COLUMN_CHECKS.get(t)
        if column_check is not None:
            try:
                if column_check([records[i] for i in rows]):
                    continue
            except (TypeError, ValueError, OverflowError):  # an odd value: the per-record pass names it
                pass
        for i in rows:
            out[i] = problem(records[i])
    return out


def _col(records: list, name: str) -> list:
    return list(map(attrgetter(name), records))


def _known(col: list) -> list:
    return [x for x in col if x is not None] if None in col else col


def _numbers_in(col: list, lo: float, hi: float, hi_inclusive: bool = False) -> bool:
    """Every value a plain int/float within [lo, hi) (or [lo, hi]). min/max skip a NaN, so a
    sum that is not finite (a NaN or an infinity somewhere) sends the column record by record."""
    if not col:
        return True
    if not set(map(type, col)) <= b.PLAIN_NUMBERS:
        return False
    low, high = min(col), max(col)
    return lo <= low and (high <= hi if hi_inclusive else high < hi) and math.isfinite(sum(col))


def _texts_within(col: list, limit: int) -> bool:
    """Every value None or a plain string of at most ``limit`` characters."""
    col = _known(col)
    return not col or (set(map(type, col)) == {str} and max(map(len, col)) <= limit)


def _isos_ok(col: list) -> bool:
    col = _known(col)
    return not col or (set(map(type, col)) == {str} and all(map(_ISO.fullmatch, col)))


def _ids_pass(records: list) -> bool:
    platforms_seen = set(_col(records, "platform"))
    return len(platforms_seen) == 1 and b.market_ids_ok(platforms_seen.pop(), _col(records, "market_id"))


def _market_upserts_pass(rs: list) -> bool:
    """``_market_upsert`` finds nothing in any of rs (else False: ask each)."""
    outcomes = {id(o): o for o in _col(rs, "outcomes") if o is not None}.values()
    extras = _col(rs, "extra")
    return (_ids_pass(rs)
            and _numbers_in(_col(rs, "observed_at"), b.TIME_MIN, b.TIME_MAX)
            and set(_col(rs, "status")) <= {"active", "closed"}
            and _texts_within(_col(rs, "title"), b.TITLE_MAX)
            and _texts_within(_col(rs, "description"), b.TEXT_MAX)
            and _texts_within(_col(rs, "slug"), b.TITLE_MAX) and _texts_within(_col(rs, "category"), b.TITLE_MAX)
            and all(len(o) <= b.EXTRA_MAX and not b.bad_texts(o, b.TITLE_MAX) for o in outcomes)
            and _numbers_in(_known(_col(rs, "volume")), 0, b.SIZE_MAX)
            and _numbers_in(_known(_col(rs, "liquidity")), 0, b.SIZE_MAX)
            and _isos_ok(_col(rs, "end_date")) and _isos_ok(_col(rs, "created_at")) and _isos_ok(_col(rs, "updated_at"))
            and set(map(type, extras)) == {dict} and max(map(len, extras)) <= b.EXTRA_MAX
            and max(map(len, chain.from_iterable(extras)), default=0) <= b.ID_MAX
            and max(map(len, chain.from_iterable(map(dict.values, extras))), default=0) <= b.TITLE_MAX)


def _resolutions_pass(rs: list) -> bool:
    """``_resolution`` finds nothing in any of rs (else False: ask each)."""
    return (_ids_pass(rs)
            and _numbers_in(_col(rs, "observed_at"), b.TIME_MIN, b.TIME_MAX)
            and set(_col(rs, "status")) <= {"closed", "resolved", "voided"}
            and _numbers_in(_known(_col(rs, "settlement_value")), b.PRICE_MIN, b.PRICE_MAX, hi_inclusive=True)
            and _isos_ok(_col(rs, "resolved_at")) and _isos_ok(_col(rs, "closed_at"))
            and _texts_within(_col(rs, "winning_outcome"), b.TITLE_MAX)
            and _texts_within(_col(rs, "detail"), b.TITLE_MAX) and _texts_within(_col(rs, "resolution"), 3))


_COLUMN_CHECKS = {MarketUpsert: _market_upserts_pass, Resolution: _resolutions_pass}


def _safe_relative(path: str) -> bool:
    return (_SAFE_FILE.fullmatch(path) is not None and not path.startswith("/")
            and ".." not in path.split("/"))


def _ids_ok(ids: list[str]) -> bool:
    """Every id 1-ID_MAX printable characters: lengths by map, characters by one regex over all."""
    lengths = list(map(len, ids))
    return not ids or (min(lengths) >= 1 and max(lengths) <= b.ID_MAX and _PRINTABLE.fullmatch("".join(ids)) is not None)


def _in(col: list, lo: int, hi: float) -> bool:
    """Every non-None value of col is an int in [lo, hi); C-speed when all are."""
    values = [x for x in col if x is not None] if None in col else col
    return not values or (lo <= min(values) and max(values) < hi)


def clean_columns(c: SnapshotColumns) -> tuple[SnapshotColumns | None, list[str]]:
    """(the columns with bad rows removed or None if nothing is left, one reason per removed row)."""
    n = len(c.market_ids)
    cols = (c.yes, c.bid, c.ask, c.volume, c.liquidity)
    if any(len(col) != n for col in cols) or (c.lag is not None and len(c.lag) != n):
        return None, [f"snapshot columns for {c.platform[:40]!r} have unequal lengths"] * max(n, 1)
    head = b.first([(c.platform not in platforms.market_names(), f"unknown platform {c.platform[:40]!r}"),
                    (b.bad_time(c.t), f"t {c.t!r} outside 2000-2100"),
                    (c.source not in b.SOURCES, f"source {c.source[:20]!r}")])
    if head:
        return None, [head] * max(n, 1)
    prices_ok = all(_in(col, 0, b.PRICE_SCALE + 1) for col in cols[:3])
    sizes_ok = all(_in(col, 0, b.SIZE_MAX) for col in cols[3:])
    lags_ok = c.lag is None or _in(c.lag, 0, b.LAG_MAX)
    if prices_ok and sizes_ok and lags_ok and _ids_ok(c.market_ids) and b.market_ids_ok(c.platform, c.market_ids):
        return c, []
    keep, why = [], []
    for i in range(n):
        reason = b.market_problem(c.platform, c.market_ids[i]) or b.first([
            (any(x is not None and not 0 <= x <= b.PRICE_SCALE for x in (c.yes[i], c.bid[i], c.ask[i])),
             "a price outside [0, 1]"),
            (any(x is not None and not 0 <= x < b.SIZE_MAX for x in (c.volume[i], c.liquidity[i])),
             "volume/liquidity not in [0, 1e15)"),
            (c.lag is not None and c.lag[i] is not None and not 0 <= c.lag[i] < b.LAG_MAX,
             f"read more than {b.LAG_MAX} s after t"),
        ])
        if reason:
            why.append(f"{c.market_ids[i][:80]}: {reason}")
        else:
            keep.append(i)
    if not keep:
        return None, why
    pick = lambda col: [col[i] for i in keep]  # noqa: E731
    return msgspec.structs.replace(c, market_ids=pick(c.market_ids), yes=pick(c.yes), bid=pick(c.bid),
                                   ask=pick(c.ask), volume=pick(c.volume), liquidity=pick(c.liquidity),
                                   lag=None if c.lag is None else pick(c.lag)), why
