"""Every bound collector/validate.py checks, one record breaking exactly one bound at a time.

The parsers and the sink share ``validate.problem``; making it cheaper (issue 20 point 2) must not
drop a single check. Each case starts from a record that passes and breaks one field: the record
must be refused with the reason that names that bound, and the unbroken record must pass.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import bounds as b, validate, wire

T0 = 1_790_000_000
NAN, INF = float("nan"), float("inf")
GOOD_ISO = "2026-03-01T12:00:00Z"

GOOD = {
    "upsert": wire.MarketUpsert(platform="kalshi", market_id="KXTEST-1", observed_at=T0, status="active",
                                slug="s", title="t", description="d", category="c", outcomes=["Yes", "No"],
                                volume=1.0, liquidity=2.0, end_date=GOOD_ISO, created_at=GOOD_ISO,
                                updated_at="2026-03-01", extra={"event_ticker": "KXTEST"}),
    "snap": wire.PriceSnapshot("kalshi", "KXTEST-1", T0, 0.5, 0.4, 0.6, 10.0, 3.0, "live", observed_at=T0 + 1.0),
    "resolution": wire.Resolution(platform="kalshi", market_id="KXTEST-1", observed_at=T0, status="resolved",
                                  resolution="YES", winning_outcome="Yes", resolved_at=GOOD_ISO,
                                  settlement_value=1.0, detail="kalshi:finalized", closed_at=GOOD_ISO),
    "book": wire.OrderBook(platform="polymarket", market_id="0x" + "a" * 64, t=T0, observed_at=T0 + 2.0,
                           bid_px=[400_000], bid_sz=[5], ask_px=[600_000], ask_sz=[7],
                           book_ms=T0 * 1000, book_hash="h"),
    "news": wire.NewsHeadline(platform="kalshi", market_id="KXTEST-1", headline="h", source="s",
                              captured_at=GOOD_ISO, url="https://example.org/x", published_at=GOOD_ISO),
    "mark": wire.BackfillMark(platform="kalshi", market_id="KXTEST-1", points=10, resolution_s=3600, done_at=T0),
    "archive": wire.ArchiveCommit(platform="kalshi", day="2026-03-01", t_start=T0, t_end=T0 + 900,
                                  file="snapshots/platform=kalshi/day=2026-03-01/part.parquet", sha256="0" * 64,
                                  rows=5, markets=2, sum_t=5 * T0, sum_yes=1, sum_bid=1, sum_ask=1,
                                  sum_volume=1, sum_liquidity=1),
    "book_archive": wire.BookArchiveCommit(platform="kalshi", day="2026-03-01", t_start=T0, t_end=T0 + 900,
                                           file="books/part.parquet", sha256="0" * 64, rows=5, sum_t=5 * T0,
                                           sum_seen_ms=1, sum_level_bytes=1),
    "report": wire.PhaseReport(job_id="job-1", platform="kalshi", phase="discover", started_at=T0,
                               finished_at=T0 + 5.0, ok=True, grid_time=T0, requests=3,
                               listings_complete=["events:open"]),
}

# (record, field, bad value, words the reason must contain)
CASES = [
    ("upsert", "platform", "nope", "unknown platform"),
    ("upsert", "platform", "news", "unknown platform"),
    ("upsert", "market_id", "", "printable"),
    ("upsert", "market_id", "KX TEST", "printable"),
    ("upsert", "market_id", "kxtest-1", "not a kalshi id"),
    ("upsert", "market_id", 7, "printable"),
    ("upsert", "observed_at", NAN, "observed_at"),
    ("upsert", "observed_at", 5.0, "observed_at"),
    ("upsert", "observed_at", b.TIME_MAX, "observed_at"),
    ("upsert", "observed_at", True, "observed_at"),
    ("upsert", "status", "resolved", "status"),
    ("upsert", "title", "x" * (b.TITLE_MAX + 1), "title longer"),
    ("upsert", "title", 5, "title longer"),
    ("upsert", "description", "x" * (b.TEXT_MAX + 1), "description longer"),
    ("upsert", "slug", "x" * (b.TITLE_MAX + 1), "slug/category"),
    ("upsert", "category", "x" * (b.TITLE_MAX + 1), "slug/category"),
    ("upsert", "outcomes", ["o"] * (b.EXTRA_MAX + 1), "outcomes"),
    ("upsert", "outcomes", ["x" * (b.TITLE_MAX + 1)], "outcomes"),
    ("upsert", "volume", -1.0, "volume"),
    ("upsert", "volume", b.SIZE_MAX, "volume"),
    ("upsert", "volume", INF, "volume"),
    ("upsert", "liquidity", NAN, "liquidity"),
    ("upsert", "end_date", "tomorrow", "ISO 8601"),
    ("upsert", "end_date", "1999-12-31T00:00:00Z", "ISO 8601"),
    ("upsert", "created_at", "2100-01-01", "ISO 8601"),
    ("upsert", "updated_at", 17, "ISO 8601"),
    ("upsert", "extra", {f"k{i}": "v" for i in range(b.EXTRA_MAX + 1)}, "extra"),
    ("upsert", "extra", {"k" * (b.ID_MAX + 1): "v"}, "extra"),
    ("upsert", "extra", {"k": "v" * (b.TITLE_MAX + 1)}, "extra"),
    ("snap", "platform", "x/../../etc", "unknown platform"),
    ("snap", "market_id", "KX,TEST", "not a kalshi id"),
    ("snap", "t", 0, "t 0"),
    ("snap", "t", NAN, "outside 2000-2100"),
    ("snap", "yes_price", 1.5, "price"),
    ("snap", "best_bid", -0.1, "price"),
    ("snap", "best_ask", NAN, "price"),
    ("snap", "volume", 1e19, "volume/liquidity"),
    ("snap", "liquidity", -2.0, "volume/liquidity"),
    ("snap", "source", "guess", "source"),
    ("snap", "observed_at", 1e12, "observed_at"),
    ("resolution", "market_id", "", "printable"),
    ("resolution", "observed_at", -1.0, "observed_at"),
    ("resolution", "status", "active", "status"),
    ("resolution", "settlement_value", 7.0, "settlement_value"),
    ("resolution", "settlement_value", NAN, "settlement_value"),
    ("resolution", "resolved_at", "2026-13", "ISO 8601"),
    ("resolution", "closed_at", "3026-01-01T00:00:00Z", "ISO 8601"),
    ("resolution", "winning_outcome", "x" * (b.TITLE_MAX + 1), "text field"),
    ("resolution", "detail", "x" * (b.TITLE_MAX + 1), "text field"),
    ("resolution", "resolution", "MAYBE", "text field"),
    ("book", "market_id", "0x1234", "not a polymarket id"),
    ("book", "t", 10**12, "outside 2000-2100"),
    ("book", "observed_at", T0 + b.LAG_MAX, "observed_at"),
    ("book", "observed_at", NAN, "observed_at"),
    ("book", "outcome", 2, "outcome"),
    ("book", "bid_sz", [5, 6], "level lists"),
    ("book", "ask_px", [1] * (b.BOOK_LEVELS_MAX + 1), "level lists"),
    ("book", "bid_px", [b.PRICE_SCALE + 1], "level price"),
    ("book", "ask_px", [-1], "level price"),
    ("book", "ask_sz", [10**16], "level size"),
    ("book", "book_ms", 5, "book_ms"),
    ("book", "book_hash", "h" * (b.ID_MAX + 1), "book_hash"),
    ("news", "platform", "news", "unknown platform"),
    ("news", "headline", "x" * (b.TITLE_MAX + 1), "headline/source/url"),
    ("news", "source", "x" * (b.TITLE_MAX + 1), "headline/source/url"),
    ("news", "url", "x" * (b.TITLE_MAX + 1), "headline/source/url"),
    ("news", "captured_at", "now", "ISO 8601"),
    ("news", "published_at", "1900-01-01", "ISO 8601"),
    ("mark", "market_id", "kx", "not a kalshi id"),
    ("mark", "done_at", 0.0, "done_at"),
    ("mark", "points", -1, "points/resolution_s"),
    ("mark", "resolution_s", 10**15, "points/resolution_s"),
    ("archive", "platform", "news", "unknown platform"),
    ("archive", "day", "2026-3-1", "day"),
    ("archive", "t_start", 0, "t_start/t_end"),
    ("archive", "t_end", 2**40, "t_start/t_end"),
    ("archive", "file", "/etc/passwd", "plain relative path"),
    ("archive", "file", "a/../../b", "plain relative path"),
    ("archive", "file", "a b", "plain relative path"),
    ("archive", "rows", -1, "rows/markets"),
    ("archive", "markets", 10**15, "rows/markets"),
    ("archive", "sum_liquidity", 2**63, "64 bits"),
    ("archive", "sum_t", -2**63 - 1, "64 bits"),
    ("book_archive", "platform", "x", "unknown platform"),
    ("book_archive", "day", "20260301", "day"),
    ("book_archive", "t_end", -5, "t_start/t_end"),
    ("book_archive", "file", "../x", "plain relative path"),
    ("book_archive", "rows", 10**15, "rows"),
    ("book_archive", "sum_level_bytes", 2**63, "64 bits"),
    ("report", "platform", "x", "unknown platform"),
    ("report", "job_id", "", "job id"),
    ("report", "job_id", "a b", "job id"),
    ("report", "started_at", NAN, "started_at/finished_at"),
    ("report", "finished_at", -1.0, "started_at/finished_at"),
    ("report", "grid_time", b.TIME_MAX, "grid_time"),
    ("report", "errors", -1, "count"),
    ("report", "requests", 10**15, "count"),
    ("report", "message", "x" * (b.TEXT_MAX + 1), "phase/message"),
    ("report", "phase", "x" * 41, "phase/message"),
    ("report", "listings_complete", ["l"] * (b.EXTRA_MAX + 1), "listings_complete"),
    ("report", "listings_complete", ["x" * (b.TITLE_MAX + 1)], "listings_complete"),
]


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_record_within_every_bound_passes(kind):
    assert validate.problem(GOOD[kind]) is None


@pytest.mark.parametrize(("kind", "field", "value", "words"), CASES,
                         ids=[f"{k}.{f}={str(v)[:12]}" for k, f, v, _ in CASES])
def test_each_bound_refuses_a_record_breaking_it_alone(kind, field, value, words):
    why = validate.problem(msgspec.structs.replace(GOOD[kind], **{field: value}))
    assert why is not None and words in why


def test_the_first_broken_bound_is_the_one_named():
    """Two broken fields: the reason is the earlier check's, so log lines stay stable."""
    r = msgspec.structs.replace(GOOD["upsert"], observed_at=NAN, volume=-1.0)
    assert validate.problem(r).startswith("observed_at nan")
    r = msgspec.structs.replace(GOOD["upsert"], market_id="bad id", volume=-1.0)
    assert "printable" in validate.problem(r)


def test_an_unknown_record_type_is_named():
    assert validate.problem(wire.Ack(seq=1)) == "unknown record type Ack"


# --- a page at once: validate.problems must answer exactly what problem() answers, record by record ---

ODD_VALUES = [None, 0, -1, 1.5, NAN, INF, -INF, True, 10**19, 2**63, b.TIME_MIN - 1, b.TIME_MAX, "", "x" * 1001,
              "KX TEST", "kxtest-1", "KXTEST-2", "1999-01-01", "2099-12-31", "2100-01-01", [], ["x" * 1001],
              {}, {"k" * 201: "v"}, {"k": 5}, "resolved", "voided", "polymarket", "news", 3.0]
PAGE_KINDS = ("upsert", "resolution", "snap")


def _mutated(kind: str, i: int, changes: list[tuple[int, object]]) -> wire.Record:
    good = msgspec.structs.replace(GOOD[kind], market_id=f"KXTEST-{i}")
    names = type(good).__struct_fields__
    return msgspec.structs.replace(good, **{names[f % len(names)]: v for f, v in changes})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PAGE_KINDS),
                          st.lists(st.tuples(st.integers(0, 20), st.sampled_from(ODD_VALUES)), max_size=2)),
                min_size=1, max_size=40))
def test_a_page_checked_at_once_gets_each_records_own_answer(page):
    records = [_mutated(kind, i, changes) for i, (kind, changes) in enumerate(page)]
    expected = []
    for r in records:
        try:
            expected.append(validate.problem(r))
        except (TypeError, AttributeError, OverflowError):  # a value no parser or wire decode can produce
            return
    assert validate.problems(records) == expected


def test_a_page_of_good_records_passes_whole_and_one_bad_record_is_named_alone():
    page = [_mutated(kind, i, []) for i in range(300) for kind in PAGE_KINDS]
    assert validate.problems(page) == [None] * len(page)
    for field, value, words in [("observed_at", NAN, "observed_at"), ("market_id", "KX,1", "not a kalshi id"),
                                ("volume", INF, "volume"), ("end_date", "2100-01-01", "ISO 8601"),
                                ("extra", {"k": "v" * 1001}, "extra"), ("title", "x" * 1001, "title")]:
        bad = page[:]
        bad[450] = msgspec.structs.replace(page[450], **{field: value})
        why = validate.problems(bad)
        assert why[450] is not None and words in why[450] and why.count(None) == len(page) - 1
