"""Point-in-time metadata: the title, rules, category, outcomes and end date a prompt may show.

collector.db keeps every version of these fields with the time it was first observed
(``market_versions``, sink/schema.py migration 005). A prompt shows the newest version observed
at or before its as_of, so an edit after the close ("… [FINAL: UNDER WON]") or a moved end date
never reaches it.

A market first observed after as_of (stored by a backfill after it resolved: the backfill brings
its whole price history, but its metadata only as it reads at backfill time) has no version known
at as_of: what its title, rules or end date said then is unknown, and the version we have may
carry an edit made after the close. Such a prompt is left out and counted in the manifest
(``prompts_left_out_metadata_not_yet_observed``). ``exporter --late-metadata`` keeps it showing
the earliest version, marked by ``metadata_observed_at`` > ``as_of`` and counted too, for users
who accept that risk to get prompts from backfilled history.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

import duckdb

from exporter.catalog import Market, iso_to_unix, outcomes_of


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
            out.setdefault(ref, []).append(Version(int(observed), title, rules, category, outcomes_of(outcomes),
                                                   iso_to_unix(end)))
    return out


NOT_YET_OBSERVED = -1  # known_at(): no version was observed at or before as_of


def known_at(versions: list[Version], as_of: int) -> int | None:
    """Index of the newest version observed at or before as_of; NOT_YET_OBSERVED when every version
    was observed later; None for a market without versions (a database before migration 005)."""
    if not versions:
        return None
    return bisect.bisect_right(versions, as_of, key=lambda v: v.observed_at) - 1


def apply(m: Market, v: Version) -> Market:
    """The market with the fields of version v (outcomes kept when the version has none)."""
    return dataclasses.replace(m, title=v.title, rules=v.rules, category=v.category,
                               outcomes=v.outcomes or m.outcomes, end_date=v.end_date)
