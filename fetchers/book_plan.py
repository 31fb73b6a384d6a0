"""Which markets get an order book this cycle, within the request budget left after the snapshot sweep.

One rule for both platforms. A cycle may spend ``BUDGET_SHARE`` of the requests the platform's
rate allows in one snapshot interval (the rest stays for DISCOVER, RESOLVE and retries); the
snapshot sweep's own requests come off first. If every open market fits, every open market gets
a book (Polymarket always does: ~92 requests at 46k markets). Otherwise the most traded half of
the slots goes to the most traded markets, every cycle, and the other half rotates through the
rest by cycle number, so each open market gets a book every ``revisit_cycles`` cycles; the plan
says whether that is within the hour, and `collector status` shows the coverage it achieved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from collector import clock

# 0.4 of a cycle's requests. At 0.8 the real-scale run (bench/SCALE.md, 120k open Kalshi markets)
# spent 657-744 s of every 900 s cycle on SNAPSHOT and DISCOVER/RESOLVE ran once an hour instead of
# 12 and 2 times. The rest of the cadence needs ~1,029 requests per 15 min at 120k Kalshi markets
# (README, bench/bench_labels.py, the 120-page sweep included); with 600 for books that is 1,629 of
# the 1,800 that 2 req/s allows, and books still reach every open market within 45 minutes.
BUDGET_SHARE = 0.4
TOP_SHARE = 0.5  # of the slots, when not everything fits: the most traded markets, every cycle
HOUR_S = 3600


@dataclass
class Plan:
    chosen: list[str]  # market ids, in request order
    requests: int  # requests the plan will make
    budget: int  # requests it was allowed
    open_markets: int
    revisit_cycles: int  # every open market gets a book at least once per this many cycles

    def hourly(self, interval_s: float) -> bool:
        return self.revisit_cycles * interval_s <= HOUR_S

    def describe(self, interval_s: float) -> str:
        if len(self.chosen) == self.open_markets:
            return f"books for all {self.open_markets} open markets in {self.requests} requests"
        every = self.revisit_cycles * interval_s
        every_text = f"{every:.0f} s" if every < 120 else f"{every / 60:.0f} min"
        return (f"books for {len(self.chosen)} of {self.open_markets} open markets in {self.requests} requests "
                f"(budget {self.budget}), each market at least every {every_text}"
                + ("" if self.hourly(interval_s) else " - NOT hourly: raise requests_per_second or the interval"))


def report(ctx, plan: Plan, interval_s: float, found: int) -> None:
    """The plan's log line; a plan that cannot reach every market hourly is also a report note."""
    ctx.log.info("%s; %d books found", plan.describe(interval_s), found)
    if not plan.hourly(interval_s):
        ctx.counters.notes.append("order books: " + plan.describe(interval_s))


def budget(requests_per_second: float, interval_s: float, used: int) -> int:
    """Requests books may spend this cycle: the rate is per real second and the interval simulated
    (a faster clock in the scale run or the soak, rates raised with it), so the cycle's real length."""
    return max(0, int(requests_per_second * clock.to_real(interval_s) * BUDGET_SHARE) - used)


def plan(volumes: dict[str, float | None], per_request: int, allowed: int, cycle: int) -> Plan:
    """Choose markets (id -> traded volume) for ``allowed`` requests of ``per_request`` ids each.

    ``cycle`` is the grid time divided by the interval: the rotation's position, so consecutive
    cycles (and a restarted fetcher) continue where the last one stopped.
    """
    ids = list(volumes)
    n = len(ids)
    slots = allowed * per_request
    if n <= slots:
        return Plan(ids, math.ceil(n / per_request), allowed, n, 1)
    ranked = sorted(ids, key=lambda m: (-(volumes[m] or 0.0), m))
    top_n = int(slots * TOP_SHARE)
    top, rest = ranked[:top_n], sorted(ranked[top_n:])
    turn = slots - top_n
    if turn <= 0:
        return Plan(top, allowed, allowed, n, 0 if not rest else 10**9)
    # The rest split into ``revisit`` consecutive pieces by id, piece ``cycle % revisit`` this cycle
    # (a turn is at least a piece, so pieces overlap a little and absorb markets opening or closing).
    # Not ``cycle * turn % len(rest)``: at real cycle numbers (~2 million) that start jumps anywhere
    # as soon as one market opens or closes, and markets went unbooked for more than the revisit.
    revisit = math.ceil(len(rest) / turn)
    start = (cycle % revisit) * len(rest) // revisit
    rotated = (rest[start:] + rest[:start])[:turn]
    return Plan(top + rotated, allowed, allowed, n, revisit)
