"""Per-alert stance and money, per-market whale features, and causal per-wallet win rates.

Stance (wwatcher README §7.4): which side of the market's YES outcome an alert bets on.
Polymarket: BUY of outcome index 0 or SELL of index 1 bets YES; BUY of index 1 or SELL of
index 0 bets NO (index 0 is the YES side in collector.db). Kalshi: the taker side (action YES/NO).
Money: Polymarket ``value`` (size x price of the traded token); Kalshi YES taker ``value``, NO
taker ``(1 - price) x size`` (wwatcher's Kalshi value is YES-price notional even for NO takers).

Win rates cannot come from wwatcher (it stores none). A wallet's win rate at time t counts its
positions on markets WE saw resolve YES/NO strictly before t: the position's side is the sign
of its money-weighted stance over its alerts on that market; it won when that side equals the
resolution. Nothing resolved at or after t is used, so the feature is causal.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass

from exporter.link import Link
from exporter.wwatcher import Alert


@dataclass(slots=True)
class WhaleAlert:
    """One de-duplicated alert linked to one market, with everything derived from it."""

    alert: Alert
    link: Link
    stance: str | None  # YES | NO | None (outcome not found in the market's outcomes)
    usd: float
    yes_price: float | None  # the trade price expressed as a YES probability
    win_rate: float | None = None  # the wallet's causal win rate at alert time
    wallet_markets: int = 0  # how many resolved positions that win rate rests on


def stance_of(a: Alert, link: Link) -> str | None:
    if a.platform == "kalshi":
        return a.action if a.action in ("YES", "NO") else None
    i = link.outcome_index
    if i is None or a.action not in ("BUY", "SELL"):
        return None
    backs_first = (i == 0) == (a.action == "BUY")
    return "YES" if backs_first else "NO"


def usd_of(a: Alert) -> float:
    if a.platform == "kalshi" and a.action == "NO":
        return (1.0 - a.price) * a.size
    return a.value


def yes_price_of(a: Alert, link: Link) -> float | None:
    if a.platform == "kalshi":
        return a.price
    if link.outcome_index is None:
        return None
    return a.price if link.outcome_index == 0 else 1.0 - a.price


def wallet_of(a: Alert) -> str | None:
    return a.wallet_hash or a.wallet_id


def build(alerts: list[Alert], links: dict[int, Link], resolved: dict[int, tuple[str, int | None]]
          ) -> dict[int, list[WhaleAlert]]:
    """Linked, non-duplicate alerts per market ref, time-ordered, with causal wallet win rates.

    ``resolved`` maps market ref -> (resolution YES/NO, resolved_at unix s) for labelled markets.
    """
    per_market: dict[int, list[WhaleAlert]] = defaultdict(list)
    for a in alerts:
        link = links.get(a.id)
        if a.duplicate_of is not None or link is None or link.market_ref is None:
            continue
        per_market[link.market_ref].append(WhaleAlert(a, link, stance_of(a, link), usd_of(a), yes_price_of(a, link)))
    history = _wallet_history(per_market, resolved)
    for items in per_market.values():
        items.sort(key=lambda w: (w.alert.time if w.alert.time is not None else -1, w.alert.id))
        for w in items:
            wallet = wallet_of(w.alert)
            if wallet in history and w.alert.time is not None:
                w.win_rate, w.wallet_markets = history[wallet].rate(w.alert.time)
    return per_market


class _History:
    __slots__ = ("times", "wins")

    def __init__(self, outcomes: list[tuple[int, bool]]):
        outcomes.sort()
        self.times = [t for t, _ in outcomes]
        self.wins = [0]
        for _, won in outcomes:
            self.wins.append(self.wins[-1] + int(won))

    def rate(self, t: int) -> tuple[float | None, int]:
        n = bisect.bisect_left(self.times, t)  # positions resolved strictly before t
        return (self.wins[n] / n if n else None), n


def _wallet_history(per_market: dict[int, list[WhaleAlert]], resolved: dict[int, tuple[str, int | None]]
                    ) -> dict[str, _History]:
    net: dict[tuple[str, int], float] = defaultdict(float)
    for ref, items in per_market.items():
        label = resolved.get(ref)
        if label is None or label[1] is None:
            continue
        for w in items:
            wallet = wallet_of(w.alert)
            t = w.alert.time
            if wallet and w.stance and t is not None and t <= label[1]:
                net[(wallet, ref)] += w.usd if w.stance == "YES" else -w.usd
    outcomes: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for (wallet, ref), x in sorted(net.items()):
        if x == 0:
            continue
        res, at = resolved[ref]
        outcomes[wallet].append((at, (x > 0) == (res == "YES")))
    return {w: _History(o) for w, o in outcomes.items()}


def summary(items: list[WhaleAlert]) -> dict:
    """whale_count, whale_net_direction, whale_avg_win_rate, whale_max_value over the given alerts."""
    signed = [(w.usd, 1.0 if w.stance == "YES" else -1.0) for w in items if w.stance]
    total = sum(u for u, _ in signed)
    rates = [w.win_rate for w in items if w.win_rate is not None]
    return {
        "whale_count": len(items),
        "whale_net_direction": (sum(u * s for u, s in signed) / total) if total > 0 else None,
        "whale_avg_win_rate": (sum(rates) / len(rates)) if rates else None,
        "whale_max_value": max((w.usd for w in items), default=None),
    }
