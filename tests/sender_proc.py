"""A stand-in sender process for sink tests: publishes a known stream through the real Publisher.

    python -m tests.sender_proc CONFIG SENDER_NAME N_MARKETS N_CYCLES [--source live] [--books]

Publishes, for market i in [0, N_MARKETS) and cycle c in [0, N_CYCLES), a MarketUpsert once and a
PriceSnapshot at t = T0 + 900 c whose yes_price encodes (i, c) for Polymarket market
``market_id(SENDER_NAME, i)``; with ``--books``, instead a Kalshi OrderBook of market M-i at that t whose levels are ``expected_levels(i, c)``. Then waits until the
sink has acknowledged everything and prints "sent N".
"""

from __future__ import annotations

import sys
import time

from collector import config, wire
from collector.sink_client import Publisher

T0 = 1_800_000_000


def market_id(name: str, i: int) -> str:
    """Sender ``name``'s market i as a Polymarket condition id ("0x" + 64 hex): name's bytes, then i."""
    return "0x" + name.encode().hex().ljust(32, "0")[:32] + "%032x" % i


def market_index(market_id_: str) -> int:
    """The i of ``market_id(name, i)``."""
    return int(market_id_[-32:], 16)


def expected_price(i: int, c: int) -> float:
    return ((i * 7 + c * 13) % 1000) / 1000.0


def expected_levels(i: int, c: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """(bid prices, bid sizes, ask prices, ask sizes) of market m-i's book at cycle c, prices in millionths.

    Even markets' books move every cycle; odd ones' sit still for 5 cycles (stored as same_as rows)."""
    c = c if i % 2 == 0 else c // 5
    mid = 100 + (i * 7 + c * 13) % 800  # in thousandths
    bid_px = [(mid - k) * 1000 for k in range(1, 6)]
    ask_px = [(mid + k) * 1000 for k in range(1, 6)]
    sizes = [(i + 1) * (k + 1) + c for k in range(5)]
    return bid_px, sizes, ask_px, sizes[::-1]


def snapshots(name: str, n_markets: int, n_cycles: int):
    for i in range(n_markets):
        yield wire.MarketUpsert(platform="polymarket", market_id=market_id(name, i), observed_at=time.time(),
                                title=f"Market {name} {i}?", outcomes=["Yes", "No"])
    for c in range(n_cycles):
        for i in range(n_markets):
            p = expected_price(i, c)
            yield wire.PriceSnapshot("polymarket", market_id(name, i), T0 + 900 * c, p, max(0.0, p - 0.01),
                                     min(1.0, p + 0.01), 1000.0 + c, 50.0)


def books(n_markets: int, n_cycles: int):
    for c in range(n_cycles):
        for i in range(n_markets):
            bid_px, bid_sz, ask_px, ask_sz = expected_levels(i, c)
            yield wire.OrderBook(platform="kalshi", market_id=f"M-{i}", t=T0 + 900 * c,
                                 observed_at=T0 + 900 * c + 5.0, bid_px=bid_px, bid_sz=bid_sz,
                                 ask_px=ask_px, ask_sz=ask_sz)


def main() -> None:
    args = sys.argv[1:]
    cfg_path, name, n_markets, n_cycles = args[0], args[1], int(args[2]), int(args[3])
    source = args[args.index("--source") + 1] if "--source" in args else "live"
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, name, source, cfg)
    sent = 0
    for record in books(n_markets, n_cycles) if "--books" in args else snapshots(name, n_markets, n_cycles):
        pub.publish(record)
        sent += 1
    pub.flush_and_wait()
    pub.close()
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main()
