"""Parsing Gamma rows: every documented example, the resolution rule, and fuzzed garbage."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from collector import validate, wire
from fetchers import polymarket_parse as parse, polymarket_rows as rows_mod
from tests.conftest import API_EXAMPLES

EXAMPLES = API_EXAMPLES / "polymarket"
T0 = 1_790_000_000.0


def load(name: str):
    return json.loads((EXAMPLES / name).read_text())


def test_every_example_file_is_understood():
    """Each example either parses into records or is recognised for what it is."""
    seen = set()
    for path in sorted(EXAMPLES.glob("*.json")):
        body = json.loads(path.read_text())
        seen.add(path.name)
        if path.name.startswith("gamma_market_"):
            m = parse.parse_market(body, T0)
            assert m.market_id == body["conditionId"].lower()
            wire.encode(wire.Batch(sender="t", seq=1, source="live", records=[m.upsert, parse.snapshot(m, 0)]))
        elif path.name.startswith("gamma_markets_keyset"):
            assert [parse.parse_market(r, T0).gamma_id for r in body["markets"]] == ["559651"]
            assert body["next_cursor"]
        elif path.name.startswith("gamma_error"):
            assert body["type"] == "validation error"
        elif path.name in ("clob_market_active.json",):
            m = parse.parse_market(load("gamma_market_active_binary.json"), T0)
            assert parse.clob_verdict(body, m, T0) is None  # before resolution every winner is false
        elif path.name == "clob_markets_page_reconstructed.json":
            resolved = [row for row in body["data"] if row["closed"]][0]
            fake = parse.parse_market({"id": "1", "conditionId": resolved["condition_id"], "closed": True,
                                       "outcomes": json.dumps([t["outcome"] for t in resolved["tokens"]]),
                                       "clobTokenIds": json.dumps([t["token_id"] for t in resolved["tokens"]])}, T0)
            verdict = parse.clob_verdict(resolved, fake, T0)
            winner = [i for i, t in enumerate(resolved["tokens"]) if t["winner"]][0]
            assert verdict.status == "resolved" and verdict.resolution == ("YES" if winner == 0 else "NO")
        else:  # CLOB price/book/history payloads: not used by the Gamma-only phases
            assert path.name.startswith("clob_")
    assert {"gamma_market_active_binary.json", "gamma_market_closed_resolved_binary.json",
            "gamma_market_negrisk_member_active.json"} <= seen


def test_active_binary_fields():
    m = parse.parse_market(load("gamma_market_active_binary.json"), T0)
    u = m.upsert
    assert u.market_id == "0xa467b14d51f01b957109d9cbb1d6c124fab2a089d52ed8f471d23c2812e743b7"
    assert (u.slug, u.title, u.status) == ("xi-jinping-out-before-2027", "Xi Jinping out before 2027?", "active")
    assert u.outcomes == ["Yes", "No"]
    assert u.volume == pytest.approx(12071015.216477996) and u.liquidity == pytest.approx(237253.02375)
    assert u.end_date == "2026-12-31T00:00:00Z"
    assert u.created_at == "2025-07-03T20:25:56Z" and u.updated_at == "2026-08-16T08:48:06Z"
    assert u.category == "Geopolitics"  # first top-level tag; "world affairs" is not one
    assert u.extra["gamma_id"] == "559651"
    assert json.loads(u.extra["clob_token_ids"])[0].startswith("3233822019")
    assert "market_maker_address" not in u.extra and "neg_risk_market_id" not in u.extra
    assert parse.resolution(m, T0) is None


def test_negrisk_member_keeps_group_ids():
    m = parse.parse_market(load("gamma_market_negrisk_member_active.json"), T0)
    assert m.upsert.extra["neg_risk_market_id"].startswith("0x")
    assert m.upsert.extra["group_item_title"] == "No change"


def test_closed_resolved_example_is_no_with_label():
    raw = load("gamma_market_closed_resolved_binary.json")
    m = parse.parse_market(raw, T0)
    assert m.upsert.status == "closed" and m.upsert.volume == 0.0
    r = parse.resolution(m, T0)
    assert (r.status, r.resolution, r.winning_outcome) == ("resolved", "NO", "Under")
    assert r.resolved_at == "2025-03-28T04:34:20Z" and r.closed_at == "2025-03-28T04:34:20Z"
    assert r.settlement_value == 0.0


def closed(**over):
    raw = copy.deepcopy(load("gamma_market_closed_resolved_binary.json"))
    raw.update(over)
    return parse.resolution(parse.parse_market({k: v for k, v in raw.items() if v is not None}, T0), T0)


def test_resolution_rule_table():
    assert closed(outcomePrices='["1", "0"]').resolution == "YES"
    assert closed(outcomePrices='["1.0", "0.0"]').winning_outcome == "Over"
    fifty = closed(outcomePrices='["0.5", "0.5"]')
    assert (fifty.status, fifty.resolution, fifty.detail) == ("voided", None, "50-50")
    for status in ("proposed", "disputed"):
        pending = closed(umaResolutionStatus=status)
        assert (pending.status, pending.resolution, pending.detail) == ("closed", None, f"uma:{status}")
    assert closed(umaResolutionStatus=None).detail == "uma:none"  # current market, no proposal yet
    assert closed(outcomePrices='["0.7", "0.3"]').detail == parse.ANOMALY
    assert closed(closed=False) is None  # open: a proposal on an open market is not final
    legacy = dict(umaResolutionStatus=None, umaEndDate=None, marketMakerAddress="0xabc")
    assert closed(outcomePrices='["0.9999997", "0.0000003"]', **legacy).resolution == "YES"
    assert closed(outcomePrices='["0.0000002", "0.9999998"]', **legacy).resolution == "NO"
    assert closed(outcomePrices='["0", "0"]', **legacy).status == "closed"
    assert closed(outcomePrices='["0.6", "0.4"]', **legacy).detail == "legacy:unknown"


def test_yes_price_rule():
    assert parse.yes_price(0.4, 0.5, 0.9, 0.1) == pytest.approx(0.45)
    assert parse.yes_price(0.0, 0.5, 0.3, 0.1) == 0.3  # no bid: last trade
    assert parse.yes_price(0.4, 1.0, None, 0.1) == 0.1  # no ask, no trade: displayed price
    assert parse.yes_price(0.6, 0.5, None, 0.2) == 0.2  # crossed book is not a midpoint
    raw = load("gamma_market_closed_resolved_binary.json")  # stale bestAsk 0.99, no bid
    raw.update(bestBid=0, bestAsk=1)
    m = parse.parse_market(raw, T0)
    assert (m.best_bid, m.best_ask) == (None, None)  # no side exists: nothing stored as a quote


def test_numbers_as_strings_and_strings_as_numbers():
    raw = load("gamma_market_active_binary.json")
    raw.update(volumeNum="12.5", liquidityNum=7, bestBid="0.04", bestAsk=0.05, id=559651, lastTradePrice="0.045")
    m = parse.parse_market(raw, T0)
    assert (m.volume, m.liquidity, m.upsert.extra["gamma_id"]) == (12.5, 7.0, "559651")
    assert m.yes_price == pytest.approx(0.045)


@pytest.mark.parametrize("field,value", [("conditionId", None), ("conditionId", 12), ("id", None),
                                         ("outcomes", "not json"), ("volumeNum", "lots"), ("endDate", 5),
                                         ("bestBid", True), ("outcomePrices", {"a": 1}), ("liquidityNum", "nan")])
def test_malformed_rows_are_rejected(field, value):
    raw = load("gamma_market_active_binary.json")
    raw[field] = value
    with pytest.raises(parse.BadRecord):
        parse.parse_market(raw, T0)


absurd = st.sampled_from([1e19, 10**20, -1, 99.0, "1e19", "-5", "99", "nan", "x" * 1001, "d" * 20_001,
                          "2200-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text() | absurd,
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                           max_leaves=8)
FIELDS = ["id", "conditionId", "question", "outcomes", "outcomePrices", "clobTokenIds", "volume", "volumeNum",
          "liquidity", "bestBid", "bestAsk", "lastTradePrice", "closed", "endDate", "updatedAt", "tags",
          "events", "umaResolutionStatus", "marketMakerAddress", "closedTime", "umaEndDate", "negRiskMarketID"]


@pytest.mark.slow
@settings(max_examples=250, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=12), st.booleans())
def test_fuzzed_rows_never_crash(over, base):
    """Any row either parses into encodable records or raises BadRecord; nothing else escapes."""
    raw = load("gamma_market_closed_resolved_binary.json") if base else {}
    raw.update(over)
    try:
        m = parse.parse_market(raw, T0)
    except parse.BadRecord:
        return
    records = [m.upsert, parse.snapshot(m, int(T0))]
    verdict = parse.resolution(m, T0)
    if verdict is not None:
        records.append(verdict)
    assert [validate.problem(r) for r in records] == [None] * len(records)  # nothing out of bounds
    wire.decode(wire.encode(wire.Batch(sender="t", seq=1, source="live", records=records)))


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10), json_values),
                max_size=6))
def test_fuzzed_pages_take_the_fetchers_path(rows):
    """Typed decode (or the plain-JSON fallback when a row breaks the type) -> every row accounted for."""
    body = json.dumps({"markets": rows, "next_cursor": "abc"}).encode()
    try:
        decoded = rows_mod.PAGE_DECODER.decode(body)
    except Exception:  # ValidationError: what HttpClient.get_json falls back from
        decoded = json.loads(body)
    got = rows_mod.page_rows(decoded)
    assert got is not None and got[1] == "abc"
    good, bad = parse.parse_rows(got[0], T0)
    assert len(good) + len(bad) == len(rows)


def test_absurd_values_skip_only_their_row_and_name_it():
    good = load("gamma_market_active_binary.json")
    cond = good["conditionId"]

    def row(n, **changes):
        return dict(good, id=str(n), conditionId=cond[:-2] + f"{n:02x}", **changes)

    rows = [row(1), row(2, volumeNum=1e19), row(3, bestBid=99.0, bestAsk=99.5), row(4, question="x" * 1001),
            row(5, description="d" * 20_001), row(6, liquidityNum=-1), row(7, endDate="2200-01-01T00:00:00Z")]
    good_rows, bad = parse.parse_rows(rows, T0)
    assert [m.gamma_id for m in good_rows] == ["1"]
    assert [what for what, _ in bad] == [f"gamma market id={str(n)!r}" for n in range(2, 8)]
    for m in good_rows:
        assert validate.problem(m.upsert) is None and validate.problem(parse.snapshot(m, int(T0))) is None
