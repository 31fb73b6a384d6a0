"""A stand-in sender process for sink tests: publishes a known stream through the real Publisher.

    python -m tests.sender_proc CONFIG SENDER_NAME N_MARKETS N_CYCLES [--source live]

Publishes, for market i in [0, N_MARKETS) and cycle c in [0, N_CYCLES), a MarketUpsert once and a
PriceSnapshot at t = T0 + 900 c whose yes_price encodes (i, c), then waits until the sink has
acknowledged everything and prints "sent N".
"""

from __future__ import annotations

import sys
import time

from collector import config, wire
from collector.sink_client import Publisher

T0 = 1_800_000_000


def expected_price(i: int, c: int) -> float:
    return ((i * 7 + c * 13) % 1000) / 1000.0


def main() -> None:
    cfg_path, name, n_markets, n_cycles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    source = sys.argv[6] if len(sys.argv) > 6 and sys.argv[5] == "--source" else "live"
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, name, source, cfg)
    sent = 0
    for i in range(n_markets):
        pub.publish(wire.MarketUpsert(platform="polymarket", market_id=f"{name}-{i}", observed_at=time.time(),
                                      title=f"Market {name} {i}?", outcomes=["Yes", "No"]))
        sent += 1
    for c in range(n_cycles):
        for i in range(n_markets):
            p = expected_price(i, c)
            pub.publish(wire.PriceSnapshot("polymarket", f"{name}-{i}", T0 + 900 * c, p, max(0.0, p - 0.01),
                                           min(1.0, p + 0.01), 1000.0 + c, 50.0))
            sent += 1
    pub.flush_and_wait()
    pub.close()
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main()
