"""A stand-in fetcher for book tests: publishes known OrderBooks through the real Publisher.

    python -m tests.book_sender_proc CONFIG N_MARKETS N_CYCLES

Market m-i at cycle c gets the levels ``expected_levels(i, c)``; prints "sent N" once the sink
acknowledged everything.
"""

from __future__ import annotations

import sys

from collector import config, wire
from collector.sink_client import Publisher

T0 = 1_800_000_000


def expected_levels(i: int, c: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Even markets' books move every cycle; odd ones' sit still for 5 cycles (stored as same_as rows)."""
    c = c if i % 2 == 0 else c // 5
    mid = 100 + (i * 7 + c * 13) % 800  # in thousandths
    bid_px = [(mid - k) * 1000 for k in range(1, 6)]
    ask_px = [(mid + k) * 1000 for k in range(1, 6)]
    sizes = [(i + 1) * (k + 1) + c for k in range(5)]
    return bid_px, sizes, ask_px, sizes[::-1]


def main() -> None:
    cfg_path, n_markets, n_cycles = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pub = Publisher(config.load(cfg_path).sink_endpoint, "books", "live", config.load(cfg_path))
    sent = 0
    for c in range(n_cycles):
        for i in range(n_markets):
            bid_px, bid_sz, ask_px, ask_sz = expected_levels(i, c)
            pub.publish(wire.OrderBook(platform="kalshi", market_id=f"m-{i}", t=T0 + 900 * c,
                                       observed_at=T0 + 900 * c + 5.0, bid_px=bid_px, bid_sz=bid_sz,
                                       ask_px=ask_px, ask_sz=ask_sz))
            sent += 1
    pub.flush_and_wait()
    pub.close()
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main()
