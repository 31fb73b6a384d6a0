"""Re-checking stored markets that are not final, by id, with back-off for the ones that never change.

RESOLVE asks the exchange by id about stored markets that are closed but not final, past their
end, or gone from the open catalogue. Most move on within hours (a UMA proposal settles, a Kalshi
result is finalized), but some come back unchanged for weeks: a Polymarket row with no UMA
status, a legacy AMM market stuck at ``["0","0"]``, an anomaly the CLOB cannot settle, a ticker
found in neither Kalshi tier. Asking those on every run would spend the request budget forever,
so a market whose answer has not changed for longer than the platform's grace period (its normal
lifecycle: asked every run until then) waits half as long as it has been unchanged beyond it
before it is asked again, never more than MAX_WAIT_S: every non-final market is still re-checked
at least daily (the reconciliation pass), and one run asks at most PER_RUN of them, the longest
waiting first.

The schedule lives in ``data_dir/<platform>-recheck.json`` (collector.db is the sink's alone);
losing the file only means every candidate is asked once more.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_WAIT_S = 86400  # the reconciliation period: nothing waits longer than a day
PER_RUN = 3000  # markets re-asked per run at most (30 requests of 100 ids)
GONE = "gone"  # detail recorded for a market the exchange did not return at all


class Recheck:
    """market key -> [detail last seen, since when unchanged, when last asked]."""

    def __init__(self, data_dir: str | Path, platform: str, db_path: str, now: float,
                 grace_s: float = 0.0) -> None:
        self.path = Path(data_dir) / f"{platform}-recheck.json"
        self.db, self.now, self.grace_s = str(db_path), now, grace_s
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        ok = isinstance(data, dict) and data.get("db") == self.db and isinstance(data.get("markets"), dict)
        self.markets: dict[str, list] = data["markets"] if ok else {}

    def wait(self, key: str, detail: str | None) -> float:
        """Seconds until ``key`` is due again (<= 0: due now); -inf for a new or changed state."""
        entry = self.markets.get(key)
        if not entry or entry[0] != detail:
            return float("-inf")
        _, since, last = entry
        return last + min(MAX_WAIT_S, max(0.0, last - since - self.grace_s) / 2) - self.now

    def pick(self, candidates: dict[str, str | None], always=frozenset()) -> list[str]:
        """The due keys of ``candidates`` (key -> stored detail), new and longest overdue first, at
        most PER_RUN; a detail in ``always`` (a state that moves on by itself soon) is always due."""
        due = [(w, k) for k, d in candidates.items()
               if (w := (float("-inf") if d in always else self.wait(k, d))) <= 0]
        due.sort()
        return [k for _, k in due[:PER_RUN]]

    def asked(self, key: str, detail: str | None) -> None:
        """Record the answer to one re-check (``None`` once final: the market is dropped)."""
        if detail is None:
            self.markets.pop(key, None)
            return
        entry = self.markets.get(key)
        since = entry[1] if entry and entry[0] == detail else self.now
        self.markets[key] = [detail, since, self.now]

    def keep_only(self, keys) -> None:
        """Forget markets that are no longer candidates (final, or back in the open catalogue)."""
        keys = set(keys)
        for k in [k for k in self.markets if k not in keys]:
            del self.markets[k]

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"db": self.db, "markets": self.markets}))
            tmp.replace(self.path)
        except OSError:
            pass  # only costs one more round of questions
