"""What a stored value may be: the one place for every bound on data crossing our edges.

Parsers (fetchers/*_parse.py) skip an exchange record that breaks these bounds; the sink checks
every wire record again before its transaction (``problem``), because a sender can be buggy,
old or hostile, and one absurd number (1e19 overflows SQLite's INTEGER, NaN breaks NOT NULL)
must never stop ingestion for everyone. The README's "Bounds" table states the same numbers.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from collector import platforms

PRICE_MIN, PRICE_MAX = 0.0, 1.0  # probabilities of the YES side
PRICE_SCALE = 1_000_000  # wire/storage integer price = round(probability * PRICE_SCALE)
SIZE_MAX = 1e15  # volumes, liquidity, open interest, counts: finite, >= 0 and below this
TIME_MIN = 946_684_800  # 2000-01-01T00:00:00Z: timestamps (unix seconds) on or after ...
TIME_MAX = 4_102_444_800  # 2100-01-01T00:00:00Z: ... and before this
TITLE_MAX = 1_000  # characters: title, slug, category, outcome label, headline, detail
TEXT_MAX = 20_000  # characters: description / rules text
ID_MAX = 200  # characters in a market id, job id or sender name
EXTRA_MAX = 64  # entries in MarketUpsert.extra / outcomes
SOURCES = ("live", "backfill")
LAG_MAX = 7 * 86_400  # seconds from a snapshot's grid time to when it was read (a week-late job at most)
BOOK_LEVELS_MAX = 15  # order-book levels per side (collector/books.py packs the count in a nibble)

# Any id (market, job, sender): printable, no whitespace or control characters. A platform's market
# ids must also match its documented form, ``Platform.market_id_pattern`` (collector/platforms.py).
_ID = re.compile(r"[!-~]{1,%d}" % ID_MAX)


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# Plain numbers take the fast path below: for an int or a float, the range comparison alone is the
# whole check, since NaN fails every comparison and +-inf fails the bounds. Anything else (None,
# bool, a subclass, a string) goes through ``finite`` as before.
PLAIN_NUMBERS = frozenset({int, float})


def bad_price(p) -> bool:
    """None is fine (unknown); anything else must be a finite probability."""
    if type(p) in PLAIN_NUMBERS:
        return not PRICE_MIN <= p <= PRICE_MAX
    return p is not None and not (finite(p) and PRICE_MIN <= p <= PRICE_MAX)


def bad_size(x) -> bool:
    if type(x) in PLAIN_NUMBERS:
        return not 0 <= x < SIZE_MAX
    return x is not None and not (finite(x) and 0 <= x < SIZE_MAX)


def bad_time(t) -> bool:
    if type(t) in PLAIN_NUMBERS:
        return not TIME_MIN <= t < TIME_MAX
    return t is None or not (finite(t) and TIME_MIN <= t < TIME_MAX)


def bad_text(s, limit: int) -> bool:
    return s is not None and (not isinstance(s, str) or len(s) > limit)


def bad_texts(items: list, limit: int) -> bool:
    """Some item is not a string (None is fine) or is longer than limit: by C-speed max when all are strings."""
    if not items:
        return False
    if set(map(type, items)) == {str}:
        return max(map(len, items)) > limit
    return any(bad_text(x, limit) for x in items)


def bad_id(s) -> bool:
    return not isinstance(s, str) or _ID.fullmatch(s) is None


@lru_cache(maxsize=None)
def _id_form(pattern: str) -> re.Pattern:
    return re.compile(pattern)


@lru_cache(maxsize=None)
def _id_whole(pattern: str) -> re.Pattern:
    """Both id rules in one regex (the generic ``_ID`` as a lookahead, then the platform's form):
    the fast path of ``market_problem`` and ``market_ids_ok``, asked several times per market."""
    return re.compile(r"(?=%s\Z)(?:%s)" % (_ID.pattern, pattern)) if pattern else _ID


def market_problem(platform, market_id) -> str | None:
    """Why (platform, market_id) cannot name a stored market, or None."""
    entry = platforms.lookup(platform)
    if entry is None or not entry.markets:  # market platforms: the only values stored, or used in paths
        return f"unknown platform {str(platform)[:40]!r}"
    if type(market_id) is str and _id_whole(entry.market_id_pattern).fullmatch(market_id) is not None:
        return None  # within both rules; otherwise find which one it breaks, for the reason
    if bad_id(market_id):
        return f"market id {str(market_id)[:40]!r} is not 1-{ID_MAX} printable characters"
    form = _id_form(entry.market_id_pattern) if entry.market_id_pattern else None
    if form is not None and form.fullmatch(market_id) is None:
        return f"market id {market_id[:80]!r} is not a {platform} id ({form.pattern})"
    return None


def market_ids_ok(platform: str, ids: list[str]) -> bool:
    """Every (platform, id) passes ``market_problem``, decided at C speed over the whole column (one
    regex per id). False when unsure too (an id not a plain string): ask ``market_problem`` per id."""
    entry = platforms.lookup(platform)
    if entry is None or not entry.markets:
        return False
    return set(map(type, ids)) <= {str} and all(map(_id_whole(entry.market_id_pattern).fullmatch, ids))


def first(checks: list[tuple[bool, str]]) -> str | None:
    """The message of the first failed check, or None."""
    for failed, why in checks:
        if failed:
            return why
    return None
