"""Order-book parsers against every example payload (docs/api/polymarket.md §3.5, kalshi.md §15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector import books
from fetchers.books_parse import kalshi_levels, polymarket_levels, polymarket_stamp

API = Path(__file__).parent / "fixtures" / "api"


def load(platform: str, name: str):
    return json.loads((API / platform / name).read_text())


def test_polymarket_best_level_is_the_last_element_on_the_wire():
    levels = polymarket_levels(load("polymarket", "clob_book.json"), 5)
    assert levels.bid_px == [2000, 1000]  # bids arrive ascending: 0.001, 0.002
    assert levels.bid_sz == [2301173, 10607956]  # 2301172.5 rounds half up
    assert levels.ask_px == [46000, 999000]  # asks arrive descending: 0.999, 0.046
    assert levels.ask_sz == [2907, 1502656]
    assert polymarket_stamp(load("polymarket", "clob_book.json")) == (
        1786863545542, "ce3dda14fc6bf5365063365b319e1ba8a477fc2e")


def test_polymarket_batch_yes_and_no_books_mirror_each_other():
    yes, no = (polymarket_levels(b, 5) for b in load("polymarket", "clob_books_post_response.json"))
    assert (yes.bid_px[0], yes.ask_px[0]) == (30000, 970000)
    assert (no.bid_px[0], no.ask_px[0]) == (30000, 970000)
    # YES ask at p with size s is the NO bid at 1 - p with size s
    assert [(1_000_000 - p, s) for p, s in zip(yes.ask_px, yes.ask_sz)] == list(zip(no.bid_px, no.bid_sz))
    assert [(1_000_000 - p, s) for p, s in zip(yes.bid_px, yes.bid_sz)] == list(zip(no.ask_px, no.ask_sz))


def test_polymarket_error_bodies_and_junk_are_no_book():
    assert polymarket_levels(load("polymarket", "clob_book_error_404.json"), 5) is None
    assert polymarket_levels([], 5) is None
    assert polymarket_levels("x", 5) is None


def test_polymarket_depth_cut_empty_sides_and_bad_levels():
    book = {"bids": [{"price": f"0.{i:02d}", "size": "10"} for i in range(1, 20)],
            "asks": [], "timestamp": "oops"}
    book["bids"].append({"price": "1.5", "size": "3"})  # outside 0..1
    book["bids"].append("junk")
    levels = polymarket_levels(book, 3)
    assert levels.bid_px == [190000, 180000, 170000]
    assert levels.ask_px == [] and levels.bad_levels == 2
    assert polymarket_stamp(book) == (None, None)


def test_kalshi_single_book_yes_asks_are_one_minus_no_bids():
    levels = kalshi_levels(load("kalshi", "orderbook_single_docs_verbatim.json"), 5)
    assert levels.bid_px == [420000, 410000, 350000, 340000, 330000]
    assert levels.bid_sz == [13, 10, 11, 9, 11]
    assert levels.ask_px == [440000, 550000, 560000, 620000, 630000]  # 1 - 0.56, 1 - 0.45, ...
    assert levels.ask_sz == [17, 20, 29, 300, 50]


def test_kalshi_legacy_cents_equal_the_dollar_form():
    legacy = kalshi_levels(load("kalshi", "orderbook_legacy_cents_docs_verbatim.json"), 5)
    assert legacy == kalshi_levels(load("kalshi", "orderbook_single_docs_verbatim.json"), 5)


@pytest.mark.parametrize("name", ["orderbook_empty_observed.json", "orderbook_legacy_null_reconstructed.json"])
def test_kalshi_empty_and_null_books_are_found_but_empty(name):
    levels = kalshi_levels(load("kalshi", name), 5)
    assert levels is not None
    assert (levels.bid_px, levels.ask_px, levels.bad_levels) == ([], [], 0)


def test_kalshi_batch_entries():
    entries = {e["ticker"]: e for e in load("kalshi", "orderbooks_multiple_reconstructed.json")["orderbooks"]}
    ny = kalshi_levels(entries["KXHIGHNY-24JAN01-T60"], 5)
    assert ny.bid_px == [420000, 410000, 350000, 340000] and ny.ask_px == [440000, 550000, 560000, 620000]
    empty = kalshi_levels(entries["KXSPACEXSTARSHIP-12-26MAY19"], 5)
    assert (empty.bid_px, empty.ask_px) == ([], [])


def test_kalshi_one_empty_side_still_gives_asks():
    levels = kalshi_levels({"orderbook_fp": {"no_dollars": [["0.9400", "113.00"]], "yes_dollars": []}}, 5)
    assert (levels.bid_px, levels.ask_px, levels.ask_sz) == ([], [60000], [113])


def test_kalshi_malformed_payloads():
    assert kalshi_levels({"orderbook_fp": {"yes_dollars": "x", "no_dollars": []}}, 5) is None
    assert kalshi_levels({}, 5) is None
    levels = kalshi_levels({"orderbook_fp": {"yes_dollars": [["0.5"], ["abc", "1"], ["0.4", "2"]]}}, 5)
    assert levels.bid_px == [400000] and levels.bad_levels == 2


def test_pack_round_trip_and_size():
    levels = kalshi_levels(load("kalshi", "orderbook_single_docs_verbatim.json"), 5)
    blob = books.pack(levels.bid_px, levels.bid_sz, levels.ask_px, levels.ask_sz)
    assert len(blob) == 2 + 10 * (1 + 2)  # cent prices: 1 byte; sizes up to 300: 2 bytes
    bids, asks = books.unpack(blob)
    assert bids == list(zip(levels.bid_px, levels.bid_sz)) and asks == list(zip(levels.ask_px, levels.ask_sz))
    assert books.unpack(books.pack([], [], [], [])) == ([], [])
    odd = books.pack([123457], [2**40], [999999], [1])
    assert books.unpack(odd) == ([(123457, 2**40)], [(999999, 1)])
    with pytest.raises(books.BadLevels):
        books.pack([1_000_001], [1], [], [])


def test_typed_fast_path_equals_the_dict_path_on_every_example():
    from fetchers.books_parse import KALSHI_BOOKS, POLYMARKET_BOOKS, KalshiEntry

    for name in ("clob_book.json", "clob_books_post_response.json"):
        raw = (API / "polymarket" / name).read_bytes()
        plain = json.loads(raw)
        plain = plain if isinstance(plain, list) else [plain]
        typed = POLYMARKET_BOOKS.decode(raw if raw.lstrip().startswith(b"[") else b"[" + raw + b"]")
        for t, d in zip(typed, plain, strict=True):
            assert polymarket_levels(t, 5) == polymarket_levels(d, 5)
            assert polymarket_stamp(t) == polymarket_stamp(d)
    multi = (API / "kalshi" / "orderbooks_multiple_reconstructed.json").read_bytes()
    for t, d in zip(KALSHI_BOOKS.decode(multi).orderbooks, json.loads(multi)["orderbooks"], strict=True):
        assert kalshi_levels(t, 5) == kalshi_levels(d, 5)
    for name in ("orderbook_single_docs_verbatim.json", "orderbook_legacy_cents_docs_verbatim.json",
                 "orderbook_legacy_null_reconstructed.json", "orderbook_empty_observed.json"):
        body = load("kalshi", name)
        entry = KALSHI_BOOKS.decode(json.dumps({"orderbooks": [dict(body, ticker="T")]})).orderbooks[0]
        assert isinstance(entry, KalshiEntry) and kalshi_levels(entry, 5) == kalshi_levels(body, 5)
    bad = POLYMARKET_BOOKS.decode(b'[{"asset_id": "1", "bids": [{"price": "2", "size": "1"}, '
                                  b'{"price": "0.5", "size": "0"}, {"price": "0.4", "size": "3"}]}]')[0]
    levels = polymarket_levels(bad, 5)
    assert levels.bid_px == [400000] and levels.bad_levels == 2
