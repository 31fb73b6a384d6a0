"""Forecasting prompts in the style of Turtel et al. 2025, leak-free by construction.

For each exported market, as-of times strictly before its cutoff (= min(closed_at,
resolved_at); the actual close, not the scheduled end date, so a moved end date cannot leak):
one per horizon in ``[export] prompt_horizons_days`` before the cutoff (skipped when earlier than
the market's first snapshot) plus ``random_prompts_per_market`` uniform as-ofs between the first
snapshot and the cutoff, drawn from an RNG seeded with the market's id (deterministic).

Every context item is selected with ``timestamp <= as_of`` *before* anything is computed from
it, so no later price reaches the prompt, not even through a summary statistic.

Speed: a market's prices arrive as NumPy arrays (slices of its chunk, exporter/export.py), so a
prompt costs a binary search and a few C-level reductions over its prefix, never a Python loop
over snapshots; at 10M snapshots that is what keeps the prompt stage a few seconds.

``prompt`` is TRL's conversational format (a list of {role, content} messages), which
``GRPOTrainer`` renders with the model's chat template; ``answer`` stays a separate column that
TRL passes to reward functions as a keyword argument.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from collector.clock import iso
from exporter import versions
from exporter.book_features import MarketBooks
from exporter.catalog import Market
from exporter.versions import Version
from exporter.whales import WhaleAlert, summary

MAX_PRICE_POINTS = 30  # price history points in a prompt (evenly spaced by index, last one included)
MAX_ALERTS = 20  # most recent whale alerts shown
MAX_HEADLINES = 15  # most recent headlines shown
MAX_RULES_CHARS = 1500  # resolution rules shown (Kalshi rules are a few sentences; descriptions can be long)
DAY_S = 86400

SYSTEM = ("You are an expert forecaster. You are given a question about a future event, the date of today, "
          "and information published up to today. Reason about the evidence, then give the probability "
          "that the question resolves YES as a number between 0 and 1 inside <answer></answer> tags, "
          "e.g. <answer>0.62</answer>.")


def question(m: Market) -> str:
    """What YES means, in words only this market has: its own outcome and its scheduled close.

    The markets of one event share a title (Kalshi "Golden Boot winner?"; Polymarket lines of one
    game are just "Over 218.5"), and recurring markets repeat a title with other dates. So the
    question names the event, the market's own outcome (Kalshi yes_sub_title, Polymarket
    groupItemTitle), the YES outcome label when it is not "Yes", and the scheduled close.
    """
    title = _clean(m.title or m.market_id)
    sub = _clean(m.subtitle or "")
    first = m.outcomes[0] if m.outcomes else "Yes"
    when = f"scheduled to close {iso(m.end_date)[:16].replace('T', ' ')} UTC" if m.end_date is not None \
        else "no scheduled close date"
    if m.platform == "polymarket":  # the event's title, and the market's own line inside it
        base, label = _clean(m.event_title or title), sub or title
    else:  # a Kalshi market's title is its event's; yes_sub_title names its own outcome
        base, label = title, sub
    own = bool(label) and label.casefold() not in ("yes", base.casefold())
    if first.strip().casefold() != "yes":
        other = f' rather than "{m.outcomes[1]}"' if len(m.outcomes) == 2 else ""
        subject = f"{base} \u2014 {label}" if own else title
        return f'Will "{subject}" resolve to "{first}"{other} ({when})?'
    if own:
        return f'Will "{label}" be the outcome of "{base}" ({when})?'
    if title.casefold().startswith("will "):  # already a yes/no question: YES means it happens
        return f"{title}? ({when})"
    return f'Will "{title}" resolve YES ({when})?'


def _clean(text: str) -> str:
    return " ".join(text.split()).rstrip("?").strip()


def as_of_times(m: Market, first_t: int | None, horizons: list[float], n_random: int) -> list[tuple[int, str, float | None]]:
    """(as_of, kind, horizon_days), ascending, each with first_t <= as_of < cutoff."""
    if first_t is None or m.cutoff is None or first_t >= m.cutoff:
        return []
    out: dict[int, tuple[int, str, float | None]] = {}
    for h in horizons:
        t = int(m.cutoff - h * DAY_S)
        if first_t <= t < m.cutoff:
            out.setdefault(t, (t, "horizon", float(h)))
    rng = random.Random(hashlib.sha256(f"{m.platform}:{m.market_id}".encode()).digest())
    for _ in range(n_random):
        t = rng.randrange(first_t, m.cutoff)
        out.setdefault(t, (t, "random", None))
    return [out[k] for k in sorted(out)]


@dataclass
class News:
    captured_at: int
    published_at: int | None
    headline: str
    source: str | None
    url: str | None

    @property
    def known_at(self) -> int:
        """When the headline was public: published_at when known and not after we captured it, else captured_at."""
        if self.published_at is not None and self.published_at <= self.captured_at:
            return self.published_at
        return self.captured_at


def build(m: Market, ts: Sequence[int], yes: Sequence[float], alerts: list[WhaleAlert], news: list[News],
          horizons: list[float], n_random: int, meta: list[Version] = (),
          activity: Callable[[int], tuple[float | None, float | None]] | None = None,
          books: MarketBooks | None = None, late_metadata: bool = False,
          counts: dict[str, int] | None = None) -> list[dict]:
    """All prompts of one market. ts/yes: its prices by observation time, ascending, all <= cutoff.

    ts/yes may be lists or NumPy arrays (the export passes array slices: no per-snapshot Python).
    meta: its metadata versions; each prompt shows the one known at its as_of (exporter.versions).
    An as_of before the first version was observed gets no prompt (counted in counts), unless
    late_metadata: then the earliest version is shown, marked by metadata_observed_at > as_of.
    activity(i): (volume, liquidity) of snapshot i of ts (looked up only where used): shown as of
    as_of (never the market's final volume, known only after the fact).
    books: its book points (exporter/book_features.py), ascending observed_at (unix ms).
    """
    ts, yes = np.asarray(ts, dtype=np.int64), np.asarray(yes, dtype=np.float64)
    rows = []
    final = m
    book_seen = books.observed if books else []
    known_as: dict[int | None, tuple[Market, str]] = {}  # per metadata version: the market and its question
    for as_of, kind, h in as_of_times(final, int(ts[0]) if len(ts) else None, horizons, n_random):
        seen = versions.known_at(meta, as_of)
        if seen == versions.NOT_YET_OBSERVED:
            if not late_metadata:
                if counts is not None:
                    counts["prompts_left_out_metadata_not_yet_observed"] += 1
                continue
            seen = 0
        if seen not in known_as:
            mk = versions.apply(final, meta[seen]) if seen is not None else final
            known_as[seen] = (mk, question(mk))
        m, q = known_as[seen]
        k = int(np.searchsorted(ts, as_of, side="right"))  # snapshots [0, k) are at or before as_of
        seen_alerts = [w for w in alerts if w.alert.time is not None and w.alert.time <= as_of]
        seen_news = [n for n in news if n.known_at < as_of]  # strictly before: "today's" news may be after as_of
        context = _context(as_of, ts[:k], yes[:k], seen_alerts, seen_news)
        context["price_summary"]["volume"], context["price_summary"]["liquidity"] = (
            activity(k - 1) if activity else (None, None))
        b = bisect.bisect_right(book_seen, as_of * 1000)  # books observed at or before as_of
        if b:
            context["order_book"] = _book(books[b - 1])
        rows.append({
            "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _render(m, q, context)}],
            "question": q, "context": context, "answer": m.resolution, "as_of": iso(as_of), "kind": kind,
            "horizon_days": h, "market_id": m.market_id, "event_id": m.event_id, "platform": m.platform,
            "category": m.category, "title": m.title,
            "resolved_at": iso(m.resolved_at), "closed_at": iso(m.closed_at), "price_at_as_of": float(yes[k - 1]),
            "metadata_observed_at": iso(meta[seen].observed_at) if seen is not None else None,
        })
    return rows


def _context(as_of: int, ts: np.ndarray, yes: np.ndarray, alerts: list[WhaleAlert], news: list[News]) -> dict:
    n = len(ts)
    pick = slice(None) if n <= MAX_PRICE_POINTS else sorted({round(i * (n - 1) / (MAX_PRICE_POINTS - 1))
                                                             for i in range(MAX_PRICE_POINTS)})
    week = int(np.searchsorted(ts, as_of - 7 * DAY_S, side="left"))
    last = float(yes[-1])
    whales = summary(alerts)
    return {
        "as_of": iso(as_of),
        "price_history": [{"t": iso(t), "yes_price": y} for t, y in zip(ts[pick].tolist(), yes[pick].tolist())],
        "price_summary": {"snapshots": n, "first": float(yes[0]), "last": last, "min": float(yes.min()),
                          "max": float(yes.max()), "change_7d": last - float(yes[week]) if week < n else 0.0},
        "whale_alerts": [{"time": iso(w.alert.time), "stance": w.stance, "usd": round(w.usd, 2),
                          "yes_price": w.yes_price, "wallet_win_rate": w.win_rate,
                          "wallet_resolved_markets": w.wallet_markets} for w in alerts[-MAX_ALERTS:]],
        "whale_summary": whales,
        "news": [{"time": iso(x.known_at), "headline": x.headline, "source": x.source}
                 for x in news[-MAX_HEADLINES:]],
    }


def _book(p: dict) -> dict:
    keys = ("best_bid", "best_ask", "spread", "bid_depth_1c", "ask_depth_1c", "bid_depth_5c", "ask_depth_5c",
            "imbalance")
    return {"observed_at": iso(p["observed_at"] // 1000), **{k: p[k] for k in keys}}


def _render_book(b: dict) -> list[str]:
    def price(x):
        return "none" if x is None else f"{x:.3f}"

    line = f"- best bid {price(b['best_bid'])}, best ask {price(b['best_ask'])}"
    if b["bid_depth_5c"] is not None:
        line += (f"; resting within 5 cents of the mid: {b['bid_depth_5c']:,.0f} bid / {b['ask_depth_5c']:,.0f} ask"
                 f", within 1 cent: {b['bid_depth_1c']:,.0f} / {b['ask_depth_1c']:,.0f}")
    return ["", f"Order book at {b['observed_at'][:16].replace('T', ' ')} UTC:", line]


def _render(m: Market, q: str, c: dict) -> str:
    lines = [f"Question: {q}", f"Platform: {m.platform}"]
    if m.category:
        lines.append(f"Category: {m.category}")
    if m.rules:
        rules = " ".join(m.rules.split())
        lines.append("Resolution rules: " + (rules if len(rules) <= MAX_RULES_CHARS
                                             else rules[:MAX_RULES_CHARS].rstrip() + " [...]"))
    if m.outcomes and m.outcomes[0].strip().casefold() != "yes":
        lines.append(f"Outcomes: {', '.join(m.outcomes)} (YES means \"{m.outcomes[0]}\")")
    lines += [f"Today is {c['as_of'][:16].replace('T', ' ')} UTC.", "", "Market price of YES over time:"]
    lines += [f"- {p['t'][:16].replace('T', ' ')}: {p['yes_price']:.3f}" for p in c["price_history"]]
    s = c["price_summary"]
    lines.append(f"Latest {s['last']:.3f}; range {s['min']:.3f}-{s['max']:.3f}; 7-day change {s['change_7d']:+.3f}.")
    if s.get("volume") is not None:
        lines.append(f"Volume traded so far: {s['volume']:,.0f}"
                     + (f"; liquidity {s['liquidity']:,.0f}." if s.get("liquidity") is not None else "."))
    if c.get("order_book"):
        lines += _render_book(c["order_book"])
    if c["whale_alerts"]:
        lines += ["", "Large trades (whale alerts):"]
        for w in c["whale_alerts"]:
            who = (f", wallet won {w['wallet_win_rate']:.0%} of {w['wallet_resolved_markets']} resolved markets"
                   if w["wallet_win_rate"] is not None else "")
            price = f" at YES price {w['yes_price']:.3f}" if w["yes_price"] is not None else ""
            lines.append(f"- {w['time'][:16].replace('T', ' ')}: bet {w['stance'] or 'unknown side'}, "
                         f"${w['usd']:,.0f}{price}{who}")
    if c["news"]:
        lines += ["", "News headlines:"]
        lines += [f"- {n['time'][:10]}: {n['headline']}" + (f" ({n['source']})" if n["source"] else "")
                  for n in c["news"]]
    return "\n".join(lines)


def split_of(row_resolved_at: str | None, as_of: str, split_date: str | None) -> str | None:
    """Time split: train = markets resolved before the date; test = resolved on/after it AND asked on/after it.

    A prompt of a later-resolving market asked before the date is dropped (None): its question
    would otherwise sit in test while the model trained on outcomes known after its as-of.
    Comparisons are on ISO strings (same format, so lexicographic = chronological).
    """
    if split_date is None:
        return "all"
    if row_resolved_at is not None and row_resolved_at < split_date:
        return "train"
    return "test" if as_of >= split_date else None
