"""Link wwatcher alerts to collector markets (wwatcher README §7.2).

Real wwatcher rows carry no market id, so the title does the work: exact id where an alert has
one, else the exact normalised title, else a rapidfuzz ``token_sort_ratio`` match among
same-platform titles with the same numbers. Every candidate must be time-consistent (alert
between market open and close + grace); several candidates are told apart by the outcome
label (Polymarket) or by regenerating wwatcher's outcome text from each Kalshi ticker. A Kalshi
alert still matching several markets of one event keeps an ``event_only`` link.

Fuzzy matching is blocked by (platform, digit groups) and, within large blocks, by the alert's
rarest tokens, and cached per distinct normalised title, so 100k alerts never meet the full
cross product of 200k titles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from exporter.normalize import exact_key, fuzzy_key, kalshi_outcome_text, market_id_key, numbers
from exporter.wwatcher import Alert

OPEN_GRACE_S = 3600  # an alert may precede the platform's creation time by clock skew only
CLOSE_GRACE_S = 86400  # README §7.2: ~1 day after close for clock and format differences
AMBIGUITY_POINTS = 2.0  # fuzzy: top two scores within this many points -> ambiguous
SMALL_BLOCK = 2000  # blocks up to this many titles are scored whole (rapidfuzz does ~1M/s)
RARE_TOKENS = 3  # larger blocks: candidates share one of the alert's 3 rarest tokens ...
COMMON_SHARE = 0.05  # ... that occur in at most 5% of the block's titles (a word like "vs" selects nothing)


@dataclass(slots=True)
class CatalogMarket:
    ref: int  # markets.id in collector.db
    platform: str
    market_id: str
    title: str | None
    outcomes: list[str]
    open_t: int | None  # platform's created/open time, unix s
    close_t: int | None  # actual close (closed_at, else resolved_at), unix s
    event: str | None = None  # Kalshi event ticker
    tokens: list[str] = field(default_factory=list)  # Polymarket CLOB token ids, by outcome index


@dataclass(slots=True)
class Link:
    alert_id: int
    market_ref: int | None
    method: str  # id_exact | id_token | title_exact[_disambiguated] | title_fuzzy[...] | event_only | ambiguous | none
    score: float = 0.0
    candidates: int = 0
    event: str | None = None
    outcome_index: int | None = None  # Polymarket: index of the traded outcome in the market's outcomes
    key: str = ""  # the normalised title used


class _Block:
    __slots__ = ("keys", "refs", "postings")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.refs: list[list[int]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)


class Linker:
    """Indexes a catalog once; ``link`` then handles any number of alerts."""

    def __init__(self, markets: list[CatalogMarket], threshold: float = 90.0):
        self.threshold = threshold
        self.markets = {m.ref: m for m in markets}
        self.by_id: dict[tuple[str, str], int] = {}
        self.by_token: dict[str, tuple[int, int]] = {}
        self.by_exact: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.blocks: dict[tuple[str, tuple[str, ...]], _Block] = {}
        slot: dict[tuple[str, tuple[str, ...], str], int] = {}
        for m in sorted(markets, key=lambda x: x.ref):
            key = market_id_key(m.market_id)
            if key:
                self.by_id[(m.platform, key)] = m.ref
            for i, tok in enumerate(m.tokens):
                self.by_token[str(tok)] = (m.ref, i)
            if not m.title:
                continue
            fkey = fuzzy_key(m.title)
            self.by_exact[(m.platform, fkey.replace(" ", ""))].append(m.ref)
            bkey = (m.platform, numbers(m.title))
            block = self.blocks.get(bkey) or self.blocks.setdefault(bkey, _Block())
            at = slot.get((m.platform, bkey[1], fkey))
            if at is None:
                at = slot[(m.platform, bkey[1], fkey)] = len(block.keys)
                block.keys.append(fkey)
                block.refs.append([])
                for tok in set(fkey.split()):
                    block.postings[tok].append(at)
            block.refs[at].append(m.ref)
        self._cache: dict[tuple[str, str], tuple[str, list[tuple[int, float]]]] = {}

    # -- candidates by title ------------------------------------------------------------------
    def _title_candidates(self, platform: str, title: str) -> tuple[str, list[tuple[int, float]]]:
        ekey = exact_key(title)
        hit = self._cache.get((platform, ekey))
        if hit is not None:
            return hit
        refs = self.by_exact.get((platform, ekey))
        if refs:
            result = ("title_exact", [(r, 100.0) for r in refs])
        else:
            result = ("title_fuzzy", self._fuzzy(platform, title))
        self._cache[(platform, ekey)] = result
        return result

    def _fuzzy(self, platform: str, title: str) -> list[tuple[int, float]]:
        block = self.blocks.get((platform, numbers(title)))
        query = fuzzy_key(title)
        if block is None or not query:
            return []
        if len(block.keys) <= SMALL_BLOCK:
            idx = range(len(block.keys))
        else:
            toks = sorted((len(block.postings[t]), t) for t in set(query.split()) if t in block.postings)
            limit = max(SMALL_BLOCK // 10, COMMON_SHARE * len(block.keys))
            rare = [t for n, t in toks[:RARE_TOKENS] if n <= limit] or [t for _, t in toks[:1]]
            idx = sorted({i for t in rare for i in block.postings[t]})
        choices = [block.keys[i] for i in idx]
        found = process.extract(query, choices, scorer=fuzz.token_sort_ratio,
                                score_cutoff=self.threshold, limit=None)
        idx = list(idx)
        return [(ref, float(score)) for _, score, j in found for ref in block.refs[idx[j]]]

    # -- one alert ----------------------------------------------------------------------------
    def link(self, a: Alert) -> Link:
        if a.raw_market_id:
            key = market_id_key(a.raw_market_id)
            ref = self.by_id.get((a.platform, key)) if key else None
            if ref is not None:
                return Link(a.id, ref, "id_exact", 100.0, 1, self._event(ref), self._outcome_index(ref, a), key)
            tok = self.by_token.get(key) if key else None
            if tok is not None and self.markets[tok[0]].platform == a.platform:
                return Link(a.id, tok[0], "id_token", 100.0, 1, self._event(tok[0]), tok[1], key)
        if not a.title or a.platform not in ("polymarket", "kalshi"):
            return Link(a.id, None, "no_title" if not a.title else "none")
        method, cands = self._title_candidates(a.platform, a.title)
        key = exact_key(a.title)
        n = len(cands)
        cands = [(r, s) for r, s in cands if self._time_ok(self.markets[r], a)]
        if a.platform == "kalshi" and a.outcome and a.action in ("YES", "NO"):
            cands = [(r, s) for r, s in cands
                     if kalshi_outcome_text(self.markets[r].market_id, a.action) == a.outcome]
        elif a.platform == "polymarket" and len(cands) > 1 and a.outcome:
            cands = [(r, s) for r, s in cands if self._outcome_index(r, a) is not None]
        if cands and method == "title_fuzzy":
            best = max(s for _, s in cands)
            cands = [(r, s) for r, s in cands if s >= best - AMBIGUITY_POINTS]
        suffix = "_disambiguated" if len(cands) < n else ""
        if len(cands) == 1:
            ref, score = cands[0]
            return Link(a.id, ref, method + suffix, score, n, self._event(ref), self._outcome_index(ref, a), key)
        if not cands:
            return Link(a.id, None, "none", 0.0, n, key=key)
        events = {self._event(r) for r, _ in cands}
        if a.platform == "kalshi" and len(events) == 1 and None not in events:
            return Link(a.id, None, "event_only", max(s for _, s in cands), len(cands), events.pop(), key=key)
        return Link(a.id, None, "ambiguous", max(s for _, s in cands), len(cands), key=key)

    def link_all(self, alerts: list[Alert]) -> dict[int, Link]:
        return {a.id: self.link(a) for a in alerts}

    def _time_ok(self, m: CatalogMarket, a: Alert) -> bool:
        t = a.time
        if t is None:
            return True
        if m.open_t is not None and t < m.open_t - OPEN_GRACE_S:
            return False  # an approximate time is an upper bound on the trade time: this still holds
        if not a.time_approx and m.close_t is not None and t > m.close_t + CLOSE_GRACE_S:
            return False
        return True

    def _event(self, ref: int) -> str | None:
        m = self.markets[ref]
        if m.platform != "kalshi":
            return None
        return m.event or m.market_id.rsplit("-", 1)[0]

    def _outcome_index(self, ref: int, a: Alert) -> int | None:
        m = self.markets[ref]
        if m.platform != "polymarket" or not a.outcome:
            return None
        want = a.outcome.strip().casefold()
        for i, o in enumerate(m.outcomes):
            if str(o).strip().casefold() == want:
                return i
        return None
