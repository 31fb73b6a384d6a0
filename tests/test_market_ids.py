"""Market ids in their documented form (issue 17): Polymarket's conditionId is "0x" + 64 hex,
Kalshi's ticker is upper-case letters, digits, '-' and '.' (collector/platforms.py). A record whose
id breaks the form is skipped at the parser (a counter and a log line naming the market; the rest of
the page is stored) and rejected by the sink with a reason if a sender sends it anyway.
"""

from __future__ import annotations

import pytest

from collector import bounds, platforms, validate, wire
from fetchers import kalshi_parse as kp
from tests.conftest import counter, kx_id, pm_id, query, send_and_ack, sink_dealer, start_sink, wait_for, write_config
from tests.polymarket_helpers import db_markets, discover_from_fake_gamma

T0 = 1_790_000_000.0
BAD_CONDITION_IDS = ["0x1234", "0x" + "g" * 64, "0x" + "a" * 63, "0x" + "a" * 65, "1x" + "a" * 64, "0x" + "a" * 63 + " "]
BAD_TICKERS = ["kxbtc-26jan01", "KX BTC", "KX,BTC", "-KXBTC", "KXBTC/26", "KXÉ-1", "K" * 201, "KX_BTC"]
GOOD_TICKERS = ["KXBTCD-26FEB2017-T99999.99", "KXHIGHNY-24JAN01-T60", "KXNFLRETIRE-MSTAFFORD9-2627", "FED",
                "KXMVESPORTSMULTIGAMEEXTENDED-S2026-0A1B2C3D4", "K" * 200]


def gamma_row(gid: int, cond: str) -> dict:
    return {"id": str(gid), "conditionId": cond, "question": f"Q{gid}", "closed": False,
            "outcomes": '["Yes", "No"]', "outcomePrices": '["0.4", "0.6"]', "clobTokenIds": f'["{gid}1", "{gid}2"]',
            "volumeNum": 10.0, "liquidityNum": 5.0, "endDate": "2027-01-01T00:00:00Z"}


def test_registry_names_each_platforms_id_form():
    assert platforms.get("polymarket").market_id_pattern == platforms.POLYMARKET_ID
    assert platforms.get("kalshi").market_id_pattern == platforms.KALSHI_ID
    assert platforms.get("news").market_id_pattern == ""
    assert bounds.market_problem("polymarket", pm_id(7)) is None
    assert bounds.market_problem("kalshi", kx_id(7)) is None


@pytest.mark.parametrize("cond", BAD_CONDITION_IDS)
def test_polymarket_ids_outside_the_form_are_refused(cond):
    why = bounds.market_problem("polymarket", cond)
    assert why is not None and ("not a polymarket id" in why or "printable" in why)


@pytest.mark.parametrize("ticker", BAD_TICKERS)
def test_kalshi_tickers_outside_the_form_are_refused_at_the_parser(ticker):
    assert bounds.market_problem("kalshi", ticker) is not None
    with pytest.raises(kp.BadRecord, match="ticker"):
        kp.ticker_of({"ticker": ticker})


@pytest.mark.parametrize("ticker", GOOD_TICKERS)
def test_every_documented_ticker_shape_is_accepted(ticker):
    assert kp.ticker_of({"ticker": ticker}) == ticker


def test_a_platform_without_a_pattern_keeps_the_generic_check(monkeypatch):
    toy = platforms.Platform("toy", "tests.toy_platform")
    monkeypatch.setitem(platforms._configured, "toy", toy)
    assert bounds.market_problem("toy", "m-3") is None
    assert bounds.market_problem("toy", "has space") is not None


def test_sink_side_validation_names_the_bad_id():
    for record in (wire.MarketUpsert(platform="polymarket", market_id="p1", observed_at=T0),
                   wire.PriceSnapshot("kalshi", "k1", int(T0), 0.5, None, None, None, None),
                   wire.Resolution(platform="polymarket", market_id="0x12", observed_at=T0, status="closed")):
        why = validate.problem(record)
        assert why is not None and repr(record.market_id) in why and "id" in why
    cols = wire.SnapshotColumns(platform="polymarket", t=int(T0), source="live",
                                market_ids=[pm_id(1), "0xBAD", pm_id(2)], yes=[1, 2, 3], bid=[None] * 3,
                                ask=[None] * 3, volume=[None] * 3, liquidity=[None] * 3)
    kept, why = validate.clean_columns(cols)
    assert kept.market_ids == [pm_id(1), pm_id(2)] and kept.yes == [1, 3]
    assert len(why) == 1 and why[0].startswith("0xBAD: market id '0xBAD' is not a polymarket id")


def test_a_malformed_condition_id_skips_only_its_market(tmp_path, procs):
    """A real fetcher reads a Gamma page with one bad conditionId; a real sink stores the rest."""
    good = [gamma_row(1, pm_id(1)), gamma_row(3, pm_id(3).upper().replace("0X", "0x"))]
    page = [good[0], gamma_row(2, "0x" + "z" * 64), good[1]]
    r = discover_from_fake_gamma(procs, tmp_path, lambda q: {"markets": [] if q.get("closed") == ["true"] else page})
    assert set(db_markets(tmp_path)) == {pm_id(1), pm_id(3)}  # stored lower-case, the bad one skipped
    assert "skipped gamma market id='2'" in r.stderr and "not a polymarket id" in r.stderr
    skipped = query(tmp_path / "collector.db",
                    "SELECT skipped FROM phase_runs WHERE platform = 'polymarket' AND phase = 'discover'")
    assert skipped == [(1,)]


def test_the_sink_rejects_a_bad_id_with_a_reason_and_stores_the_rest(tmp_path, procs):
    """A sender that skips the parser (buggy, old or hostile): the real sink drops only the bad record."""
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1})
    start_sink(procs, tmp_path, cfg)
    s = sink_dealer(tmp_path)
    try:
        ack = send_and_ack(s, wire.Batch(sender="t", seq=1, source="live", records=[
            wire.MarketUpsert(platform="polymarket", market_id=pm_id(1), observed_at=T0),
            wire.MarketUpsert(platform="polymarket", market_id="p1", observed_at=T0),
            wire.MarketUpsert(platform="kalshi", market_id=kx_id(1), observed_at=T0)]))
    finally:
        s.close()
    assert (ack.stored, ack.rejected) == (2, 1)
    assert ack.reason == "polymarket/p1: market id 'p1' is not a polymarket id (0x[0-9a-f]{64})"
    db = tmp_path / "collector.db"
    assert sorted(query(db, "SELECT platform, market_id FROM markets")) == [("kalshi", kx_id(1)),
                                                                             ("polymarket", pm_id(1))]
    wait_for(lambda: counter(db, "records_rejected") == 1, what="records_rejected counter")  # written after the ack
