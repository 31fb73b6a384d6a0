"""Kalshi example payloads from tests/fixtures/api/kalshi and their legacy (<= 2026-03-12) form.

Shared by tests/test_kalshi_parse.py and tests/test_kalshi_rows.py (no test module imports another).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from tests.conftest import API_EXAMPLES

EXAMPLES = API_EXAMPLES / "kalshi"
T0 = 1_790_000_000.0


def load(name: str):
    return json.loads((EXAMPLES / name).read_text())


# Legacy (<= 2026-03-12) integer form of each current field, kalshi.md §3.3.
LEGACY_PRICES = {
    "yes_bid_dollars": "yes_bid", "yes_ask_dollars": "yes_ask", "no_bid_dollars": "no_bid",
    "no_ask_dollars": "no_ask", "last_price_dollars": "last_price",
    "previous_yes_bid_dollars": "previous_yes_bid", "previous_yes_ask_dollars": "previous_yes_ask",
    "previous_price_dollars": "previous_price", "liquidity_dollars": "liquidity",
    "notional_value_dollars": "notional_value", "settlement_value_dollars": "settlement_value",
}
LEGACY_COUNTS = {"volume_fp": "volume", "volume_24h_fp": "volume_24h", "open_interest_fp": "open_interest"}


def whole_counts(m: dict) -> dict:
    """The example in whole cents and whole contracts, so the legacy integer form can say the same.

    (Sub-penny prices and fractional contracts only exist since the integer fields were removed.)
    """
    m = copy.deepcopy(m)
    for k in LEGACY_PRICES:
        if k in m:
            m[k] = f"{Decimal(m[k]).quantize(Decimal('0.01'))}00"
    for k in list(LEGACY_COUNTS) + ["yes_bid_size_fp", "yes_ask_size_fp"]:
        if k in m:
            m[k] = f"{int(Decimal(m[k])):d}.00"
    return m


def to_legacy(m: dict) -> dict:
    """The §3.3 mapping: cents as ints, counts as ints, no sizes (they did not exist then)."""
    out = {}
    for k, v in m.items():
        if k in LEGACY_PRICES:
            out[LEGACY_PRICES[k]] = int(Decimal(v) * 100)
        elif k in LEGACY_COUNTS:
            out[LEGACY_COUNTS[k]] = int(Decimal(v))
        elif k in ("yes_bid_size_fp", "yes_ask_size_fp", "price_ranges", "price_level_structure"):
            continue
        else:
            out[k] = v
    out["tick_size"] = 1
    out["response_price_units"] = "usd_cent"
    return out


def all_markets() -> list[dict]:
    ms = list(load("markets_page.json")["markets"])
    ms.append(load("market_get_open_verbatim_2026-05.json")["market"])
    for e in load("events_nested.json")["events"]:
        ms.extend(e["markets"])
    return ms
