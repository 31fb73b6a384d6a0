"""Linking benchmark: 100,000 wwatcher alerts against 200,000 markets in < 60 s.

Builds a synthetic catalog in memory (Polymarket questions with numbers and dates, team games
without numbers, Kalshi events whose markets share one title), then alerts drawn from it with
wwatcher-like title variants (case, punctuation, thousands separators), typos that only the
fuzzy step can match, and orphans whose market is not in the catalog. Prints wall time, the
ratio to the target and the link quality against the known truth.

    .venv/bin/python bench/bench_link.py [--markets 200000] [--alerts 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.link import CatalogMarket, Linker  # noqa: E402
from exporter.normalize import kalshi_outcome_text  # noqa: E402
from exporter.wwatcher import Alert  # noqa: E402
from report import figure  # noqa: E402  (bench/ is on sys.path when run as a script)

TARGET_SECONDS = 60.0
T0 = 1_700_000_000
DAY = 86400
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
SYL = ["ka", "ro", "mi", "ta", "ne", "lo", "vi", "sa", "du", "pe", "ri", "go", "an", "el", "or", "us", "ba", "zu"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYL) for _ in range(rng.randint(2, 4))).capitalize()


def catalog(n: int, rng: random.Random) -> list[CatalogMarket]:
    names = [word(rng) for _ in range(4000)]
    teams = [word(rng) for _ in range(600)]
    out: list[CatalogMarket] = []
    ref = 0
    while len(out) < n:
        open_t = T0 + rng.randrange(0, 700) * DAY
        close_t = open_t + rng.randint(1, 60) * DAY
        kind = rng.random()
        if kind < 0.55:
            ref += 1
            title = (f"Will {rng.choice(names)} {rng.choice(['reach', 'exceed', 'stay above'])} "
                     f"${rng.randrange(1, 500) * 1000:,} by {rng.choice(MONTHS)} {rng.randint(1, 28)}, "
                     f"{rng.choice([2024, 2025, 2026])}?")
            out.append(CatalogMarket(ref, "polymarket", f"0x{ref:064x}", title, ["Yes", "No"], open_t, close_t))
        elif kind < 0.75:
            ref += 1
            a, b = rng.sample(teams, 2)
            out.append(CatalogMarket(ref, "polymarket", f"0x{ref:064x}", f"{a} vs. {b}", [a, b], open_t, close_t))
        else:
            city = rng.choice(names)
            code = city.upper()[:4]
            day = rng.randint(1, 28)
            mon = rng.choice(MONTHS)
            event = f"KXHIGH{code}-{rng.randint(24, 26)}{mon[:3].upper()}{day:02d}"
            title = f"Highest temperature in {city} on {mon[:3]} {day}, 20{event[-7:-5]}?"
            for strike in rng.sample(range(20, 100), 3):
                ref += 1
                out.append(CatalogMarket(ref, "kalshi", f"{event}-T{strike}-{ref}", title, ["Yes", "No"], open_t,
                                         close_t, event=event))
    return out[:n]


def variant(rng: random.Random, title: str) -> tuple[str, str]:
    r = rng.random()
    if r < 0.5:
        return "identical", title
    if r < 0.7:
        return "case", title.lower() if rng.random() < 0.5 else title.upper()
    if r < 0.85:
        return "punct", title.replace("?", "").replace(",", "").replace(".", "")
    words = title.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) >= 6:
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return "typo", " ".join(words)


def alerts(n: int, markets: list[CatalogMarket], rng: random.Random) -> tuple[list[Alert], dict[int, int | None]]:
    out, truth = [], {}
    for aid in range(1, n + 1):
        m = rng.choice(markets)
        orphan = rng.random() < 0.08
        kind, title = variant(rng, m.title)
        if orphan:
            title = f"Will {word(rng)} {word(rng)} happen before {rng.choice(MONTHS)} {rng.randint(1, 28)}?"
        t = rng.randint(m.open_t, m.close_t)
        if m.platform == "kalshi":
            side = rng.choice(["YES", "NO"])
            a = Alert(aid, "kalshi", side, 3e4, 0.5, 6e4, title, None,
                      kalshi_outcome_text(m.market_id, side), None, None, "", None, None, time=t)
        else:
            i = rng.randrange(len(m.outcomes))
            a = Alert(aid, "polymarket", rng.choice(["BUY", "SELL"]), 3e4, 0.5, 6e4, title, None, m.outcomes[i],
                      "h", "w", "", None, None, time=t)
        out.append(a)
        truth[aid] = None if orphan else m.ref
    return out, truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=200_000)
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    markets = catalog(args.markets, rng)
    items, truth = alerts(args.alerts, markets, rng)
    start = time.perf_counter()
    linker = Linker(markets, 90.0)
    built = time.perf_counter() - start
    links = linker.link_all(items)
    wall = time.perf_counter() - start
    methods = Counter(link.method for link in links.values())
    wrong = sum(1 for aid, link in links.items() if link.market_ref is not None and link.market_ref != truth[aid])
    right = sum(1 for aid, link in links.items() if link.market_ref is not None and link.market_ref == truth[aid])
    findable = sum(1 for v in truth.values() if v is not None)
    print(f"{args.alerts} alerts x {args.markets} markets: index {built:.1f} s, total {wall:.1f} s, "
          f"target {TARGET_SECONDS:.0f} s, ratio {wall / TARGET_SECONDS:.2f} ({'PASS' if wall < TARGET_SECONDS else 'FAIL'})")
    print(f"linked right {right}/{findable} ({right / max(findable, 1):.1%}), wrong {wrong}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(methods.items())))
    figure(f"wwatcher linking, {args.alerts:,} alerts x {args.markets:,} markets", f"{wall:.1f} s",
           f"< {TARGET_SECONDS:.0f} s", f"right {right / max(findable, 1):.1%} of findable, wrong {wrong}")


if __name__ == "__main__":
    main()
