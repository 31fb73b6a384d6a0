"""Point-in-time metadata: the title, rules, category, outcomes and end date a prompt may show.

collector.db keeps every version of these fields with the time it was first observed
(``market_versions``, sink/schema.py migration 005). A prompt shows the newest version observed
at or before its as_of, so an edit after the close ("… [FINAL: UNDER WON]") or a moved end date
never reaches it. A market first observed after as_of (e.g. stored by a backfill after it
resolved) has no version known then: the prompt shows its earliest version and says when that was
observed (``metadata_observed_at``), and the manifest counts such prompts.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

import duckdb

from exporter.catalog import Market, _outcomes, iso_to_unix


@dataclass(slots=True)
class Version:
    observed_at: int
    title: str | None
    rules: str | None
    category: str | None
    outcomes: list[str]
    end_date: int | None


def load(con: duckdb.DuckDBPyConnection, refs: set[int]) -> dict[int, list[Version]]:
    """market ref -> its versions, oldest first; {} for a database from before migration 005."""
    try:
        rows = con.execute("SELECT market, observed_at, title, description, category, outcomes, end_date"
                           " FROM c.market_versions ORDER BY market, observed_at").fetchall()
    except duckdb.Error:
        return {}
    out: dict[int, list[Version]] = {}
    for ref, observed, title, rules, category, outcomes, end in rows:
        if ref in refs:
            out.setdefault(ref, []).append(Version(int(observed), title, rules, category, _outcomes(outcomes),
                                                   iso_to_unix(end)))
    return out


def known_at(versions: list[Version], as_of: int) -> int | None:
    """Index of the version a prompt at as_of shows; None for a market without versions.

    A market first observed after as_of has no version known then: its earliest is shown
    (``metadata_observed_at`` > ``as_of`` in the prompt, counted in the manifest).
    """
    if not versions:
        return None
    k = bisect.bisect_right(versions, as_of, key=lambda v: v.observed_at)
    return k - 1 if k else 0


def apply(m: Market, v: Version) -> Market:
    """The market with the fields of version v (outcomes kept when the version has none)."""
    return dataclasses.replace(m, title=v.title, rules=v.rules, category=v.category,
                               outcomes=v.outcomes or m.outcomes, end_date=v.end_date)
