"""wwatcher linking against the generator's ground truth (README §7, §8.2, §9.4)."""

from __future__ import annotations

import tempfile

import pytest

from exporter import catalog, duck, wwatcher
from exporter.link import CatalogMarket, Linker
from exporter.normalize import exact_key, fuzzy_key, kalshi_outcome_text, numbers, parse_alert_time
from exporter.whales import build, stance_of, usd_of
from exporter.wwatcher import Alert
from exporter.link import Link
from simulator import wwatcher_sample
from tests.exporter_rig import build_collector_db, make_wwatcher

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    d = tmp_path_factory.mktemp("link")
    facts = build_collector_db(d / "collector.db")
    return d, facts


def link_world(d, mode: str, n: int):
    truth = make_wwatcher(d / f"ww_{mode}.db", d / "collector.db", n, mode)
    with tempfile.TemporaryDirectory() as tmp:
        con = duck.connect(tmp)
        duck.attach_sqlite(con, d / "collector.db", "c")
        reader = catalog.Reader(d / "collector.db")
        cat = catalog.load(reader)
        reader.close()
        alerts, source = wwatcher.read(con, d / f"ww_{mode}.db", [])
        con.close()
    assert source.status == "used", source.message
    links = Linker(cat.linkable, 90.0).link_all(alerts)
    refs = {m.ref: (m.platform, m.market_id) for m in cat.linkable}
    return truth, alerts, links, refs


@pytest.mark.parametrize("mode", ["faithful", "mixed"])
def test_links_equal_truth(collector, mode):
    d, _ = collector
    truth, alerts, links, refs = link_world(d, mode, 1500)
    by_id = {a.id: a for a in alerts}
    linked = missed = 0
    for t in truth:
        link = links[t["id"]]
        got = refs[link.market_ref] if link.market_ref is not None else None
        if got is not None:
            assert got == (t["platform"], t["true_market_id"]), (t, link)  # never a wrong link
            linked += 1
        if not t["in_catalog"]:
            assert got is None, (t, link)  # orphans stay unmatched
        elif t["title_variant"] != "null_lookup_failed" or t["market_id_kind"] in ("exact", "token", "case", "padded",
                                                                                  "prefixed"):
            assert got is not None, (t, link)
        else:
            missed += 1
        assert by_id[t["id"]].duplicate_of == t["duplicate_of"]
        if t["migrated"] and not by_id[t["id"]].timestamp.startswith("timestamp_error_"):
            assert by_id[t["id"]].time != by_id[t["id"]].created_at  # trade time, not import time
    assert linked > 0.85 * len(truth)
    methods = {link.method.split("_disambiguated")[0] for link in links.values()}
    assert "title_exact" in methods
    if mode == "mixed":
        assert {"id_exact", "id_token"} <= methods


def test_shared_kalshi_titles_need_the_outcome_text():
    gen = wwatcher_sample
    bos = CatalogMarket(1, "kalshi", "KXNBAGAME-26FEB20LALBOS-BOS", "Los Angeles L at Boston Winner?", ["Yes", "No"],
                        None, None)
    lal = CatalogMarket(2, "kalshi", "KXNBAGAME-26FEB20LALBOS-LAL", "Los Angeles L at Boston Winner?", ["Yes", "No"],
                        None, None)
    linker = Linker([bos, lal])

    def alert(outcome, action="YES", title="los angeles l at boston winner"):
        return Alert(9, "kalshi", action, 30000.0, 0.5, 60000.0, title, None, outcome, None, None, "", None, None,
                     time=1_771_000_000)

    assert linker.link(alert("LAL wins vs BOS (NBA)")).market_ref == 2
    assert linker.link(alert("LAL wins vs BOS (NBA)", "NO")).market_ref == 1  # NO taker text swaps teams
    assert linker.link(alert(None)).method == "event_only"
    assert linker.link(alert(None)).event == "KXNBAGAME-26FEB20LALBOS"
    for ticker in [t for t, _, _ in gen.KALSHI_MARKETS + gen.KALSHI_ORPHANS] + ["KXMVECOMBO-X-ABC", "KXNFLTD-1-2"]:
        for side in ("yes", "no"):
            assert kalshi_outcome_text(ticker, side) == gen.outcome_text(ticker, side)


def test_number_guard_and_time_consistency():
    feb21 = CatalogMarket(1, "kalshi", "KXETHD-26FEB2117-T3099.99", "Ethereum price on Feb 21, 2026 at 5pm EST?",
                          ["Yes", "No"], 1_771_000_000, 1_771_700_000)
    linker = Linker([feb21])
    a = Alert(1, "kalshi", "YES", 3e4, 0.5, 6e4, "Ethereum price on Feb 24, 2026 at 5pm EST?", None,
              "Ethereum (ETH) price ≥ $3099.99 at expiry", None, None, "", None, None, time=1_771_500_000)
    assert linker.link(a).market_ref is None  # scores ~97 without the number guard
    a.title = "ETHEREUM price on Feb 21 2026 at 5pm EST"
    assert linker.link(a).market_ref == 1
    a.title = "Etheruem price on Feb 21, 2026 at 5pm EST?"  # a typo: only the fuzzy step finds it
    got = linker.link(a)
    assert (got.market_ref, got.method) == (1, "title_fuzzy") and 90 <= got.score < 100
    a.time = 1_771_700_000 + 2 * 86400  # two days after close
    assert linker.link(a).market_ref is None
    a.time, a.time_approx = 1_771_700_000 + 30 * 86400, True  # insert time: only an upper bound
    assert linker.link(a).market_ref == 1


def test_normalisation():
    assert exact_key("Will Bitcoin reach $120,000 by March 31, 2026?") == "willbitcoinreach120000bymarch312026"
    assert exact_key("Will Apple’s market cap exceed $4T?") == exact_key("will apple's market cap exceed $4t")
    assert exact_key("S&P 500") == exact_key("s and p 500")
    assert fuzzy_key("Ukraine x Russia ceasefire") == fuzzy_key("Ukraine vs. Russia ceasefire")
    assert numbers("$120,000 by March 31, 2026") == numbers("$120000 by March 31 2026") == ("120000", "31", "2026")
    assert parse_alert_time("2026-01-08T02:59:57.96221Z", 5, "kalshi") == (1767841197, False)
    assert parse_alert_time("2026-02-20T15:04:05.123456789+00:00", 5, "kalshi")[1] is True
    assert parse_alert_time("timestamp_error_0xabc", 5, "polymarket") == (5, True)
    assert parse_alert_time("", None, "polymarket") == (None, True)


def test_direction_and_causal_win_rate():
    def a(aid, plat, action, t, wallet="w", price=0.4, size=100_000.0):
        return Alert(aid, plat, action, price * size, price, size, "t", None, "x", wallet, wallet, "", None, None,
                     time=t)

    poly = lambda aid, i: Link(aid, 1, "title_exact", outcome_index=i)  # noqa: E731
    assert stance_of(a(1, "polymarket", "BUY", 0), poly(1, 0)) == "YES"
    assert stance_of(a(1, "polymarket", "BUY", 0), poly(1, 1)) == "NO"
    assert stance_of(a(1, "polymarket", "SELL", 0), poly(1, 0)) == "NO"
    assert stance_of(a(1, "polymarket", "SELL", 0), poly(1, 1)) == "YES"
    assert stance_of(a(1, "kalshi", "NO", 0, None), Link(1, 1, "title_exact")) == "NO"
    assert usd_of(a(1, "kalshi", "NO", 0, None, price=0.3, size=100_000)) == pytest.approx(70_000)
    # wallet bets YES on market 1 (resolves YES at t=100), then on market 2 at t=50 and t=150
    alerts = [a(1, "polymarket", "BUY", 10), a(2, "polymarket", "BUY", 50), a(3, "polymarket", "BUY", 150)]
    links = {1: Link(1, 1, "title_exact", outcome_index=0), 2: Link(2, 2, "title_exact", outcome_index=0),
             3: Link(3, 2, "title_exact", outcome_index=0)}
    per = build(alerts, links, {1: ("YES", 100), 2: ("NO", 200)})
    rates = {w.alert.id: w.win_rate for items in per.values() for w in items}
    assert rates == {1: None, 2: None, 3: 1.0}  # only market 1, resolved before t=150, counts
