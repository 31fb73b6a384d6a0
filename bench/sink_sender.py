"""Bench sender: registers its markets, pre-encodes its snapshot batches, prints "ready", waits for
"go" on stdin, then sends them all.

    python bench/sink_sender.py ENDPOINT NAME N_MARKETS N_CYCLES

Frames are built with the real wire protocol (wire.columnize, 1,000 snapshots a batch) before the
clock starts, so the benchmark measures the sink's ingest, not Python building test data. At most
WINDOW batches are unacknowledged at once, like a fetcher under back-pressure.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector import wire  # noqa: E402
from tests.sender_proc import T0, expected_price, market_id  # noqa: E402

BATCH = 1000
WINDOW = 200


def sweep_lag(i: int, n_markets: int) -> float:
    """A sweep reads its pages over ~4 minutes after the grid time (46k markets at 2 requests/s)."""
    return 240.0 * i / max(1, n_markets)


def build(name: str, n_markets: int, n_cycles: int) -> tuple[bytes, list[bytes]]:
    """The markets frame (sent before the clock starts, as the baseline's markets are), then the snapshots."""
    markets = wire.encode(wire.Batch(sender=name, seq=10**9, source="live", records=[
        wire.MarketUpsert(platform="polymarket", market_id=market_id(name, i), observed_at=time.time(),
                          title=f"Market {name} {i}?", outcomes=["Yes", "No"]) for i in range(n_markets)]))
    frames, records, seq = [], [], 0
    for c in range(n_cycles):
        for i in range(n_markets):
            p = expected_price(i, c)
            records.append(wire.PriceSnapshot("polymarket", market_id(name, i), T0 + 900 * c, p, max(0.0, p - 0.01),
                                              min(1.0, p + 0.01), 1000.0 + c, 50.0,
                                              observed_at=T0 + 900 * c + sweep_lag(i, n_markets)))
            if len(records) >= BATCH:
                seq += 1
                frames.append(wire.encode(wire.Batch(sender=name, seq=seq, source="live",
                                                     records=wire.columnize(records))))
                records = []
    if records:
        seq += 1
        frames.append(wire.encode(wire.Batch(sender=name, seq=seq, source="live", records=wire.columnize(records))))
    return markets, frames


def main() -> None:
    endpoint, name, n_markets, n_cycles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    markets, frames = build(name, n_markets, n_cycles)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.connect(endpoint)
    sock.send(markets)
    if not sock.poll(120_000):
        raise SystemExit("no ack for the markets batch")
    sock.recv()
    print("ready", flush=True)
    sys.stdin.readline()
    unacked, nxt = set(), 0
    while nxt < len(frames) or unacked:
        while nxt < len(frames) and len(unacked) < WINDOW:
            sock.send(frames[nxt])
            unacked.add(nxt + 1)
            nxt += 1
        if not sock.poll(60_000):
            raise SystemExit("no ack from the sink in 60 s")
        ack = wire.decode(sock.recv())
        unacked.discard(ack.seq)
    print("done", flush=True)


if __name__ == "__main__":
    main()
