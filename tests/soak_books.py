"""The soak's order-book truth check: stored best levels against the quotes the simulator served.

The simulator's world is deterministic (seed, markets, start), so this rebuilds it and asks, for
each stored YES book, which best bid/ask the simulator quoted in the minutes before the book's
observation time (a request takes a while at a fast clock: the window allows for it). A book
whose best levels match none of them was parsed or stored wrongly (e.g. read worst-first).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from simulator.world import World

WINDOW_S = 900  # simulated seconds before the observation in which the served quote may lie
SKEW_S = 60  # ... and after it (clocks of two processes)
SAMPLE = 3000


def check(db_path: Path, seed: int, markets: int, start: str) -> dict:
    world = World(seed=seed, markets=markets, start=start)
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT market_id, platform, observed_ts, side, price FROM order_books WHERE outcome = 'YES' AND level = 1 "
            "ORDER BY observed_ts LIMIT ?", (2 * SAMPLE,)).fetchall()
    finally:
        db.close()
    books: dict[tuple, dict] = {}
    for market_id, platform, observed, side, price in rows:
        books.setdefault((platform, market_id, observed), {})[side] = round(price * 1e4)  # simulator units
    checked, bad = 0, []
    for (platform, market_id, observed), best in books.items():
        if platform == "polymarket":
            i = world.pm.index_of_cond(market_id)
            path = world.pm.market(i).path if i is not None else None
        else:
            i = world.kx.index_of(market_id)
            path = world.kx.market(i).path if i is not None else None
        if path is None:
            bad.append((platform, market_id, observed, "unknown market"))
            continue
        quotes = {path.quote(k) for k in range(path.minute(observed - WINDOW_S), path.minute(observed + SKEW_S) + 1)}
        checked += 1
        if not any(best.get("bid", bid) == bid and best.get("ask", ask) == ask for bid, ask in quotes):
            bad.append((platform, market_id, observed, best))
    return {"books_checked": checked, "books_mismatched": len(bad), "book_mismatch_examples": bad[:5]}
