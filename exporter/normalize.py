"""Text and time normalisation shared by the wwatcher linker (wwatcher README §3.2, §7.1, §7.3).

The same functions run on alert titles and on catalog titles, so both sides of a match are
normalised identically. ``kalshi_outcome_text`` regenerates the ``outcome`` text wwatcher builds
from a Kalshi ticker and taker side; equality with the alert's text picks one market among the
markets of an event that all share one title.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                         "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2010": "-", "\u2212": "-"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_VS_DOT = re.compile(r"\bvs\.")
_X_VS = re.compile(r"(?<=[a-z0-9]) x (?=[a-z0-9])")
_THOUSANDS = re.compile(r"(?<=\d)[, ](?=\d{3}(?!\d))")
_DIGITS = re.compile(r"\d+")


def _base(title: str) -> str:
    t = unicodedata.normalize("NFKC", title).casefold().translate(_QUOTES)
    t = t.replace("&", " and ")
    t = _VS_DOT.sub("vs", t)
    return _X_VS.sub(" vs ", t)


def exact_key(title: str | None) -> str:
    """Letters and digits only: absorbs case, punctuation, quotes, spacing, thousands separators."""
    return _NON_ALNUM.sub("", _base(title)) if title else ""


def fuzzy_key(title: str | None) -> str:
    """Words separated by single spaces, for rapidfuzz token_sort_ratio."""
    return _NON_ALNUM.sub(" ", _base(title)).strip() if title else ""


def numbers(title: str | None) -> tuple[str, ...]:
    """The sequence of digit groups, thousands separators removed: '$120,000 by 31' -> ('120000', '31')."""
    if not title:
        return ()
    return tuple(_DIGITS.findall(_THOUSANDS.sub("", unicodedata.normalize("NFKC", title))))


def parse_alert_time(timestamp: str | None, created_at: int | None, platform: str) -> tuple[int | None, bool]:
    """(unix seconds, approximate) for one alert row.

    ``timestamp`` is the trade time in either platform's format; empty strings and
    ``timestamp_error_`` sentinels fall back to ``created_at`` (insert time, an upper bound on the
    trade time). A Kalshi timestamp ending in +00:00 rather than Z is wwatcher's insert-time
    fallback, so it is flagged approximate too.
    """
    ts = (timestamp or "").strip()
    if ts and not ts.startswith("timestamp_error_"):
        try:
            dt = datetime.fromisoformat(ts.replace("Z", "+00:00") if ts.endswith("Z") else ts)
            if dt.tzinfo is None:
                return None, True
            approx = platform == "kalshi" and not ts.endswith("Z")
            return int(dt.timestamp()), approx
        except ValueError:
            pass
    return (int(created_at) if created_at is not None else None), True


def kalshi_outcome_text(ticker: str, side: str) -> str:
    """What wwatcher's kalshi.rs::parse_ticker_details writes for (ticker, taker side)."""
    yes = side.upper() == "YES"
    parts = ticker.split("-")
    last = parts[-1]
    ge = "≥" if yes else "<"
    if any(k in ticker for k in ("ETH", "BTC", "SOL", "SPX", "TSLA")) and last[:1] in ("T", "t"):
        asset = ("Ethereum (ETH)" if "ETH" in ticker else "Bitcoin (BTC)" if "BTC" in ticker
                 else "Solana (SOL)" if "SOL" in ticker else "S&P 500" if "SPX" in ticker else "Tesla")
        return f"{asset} price {ge} ${last[1:]} at expiry"
    if "TOTAL" in ticker and all(c.isdigit() for c in last):
        sport = next((s for k, s in (("NFL", "NFL"), ("NBA", "NBA"), ("NHL", "NHL"), ("MLB", "MLB"),
                                     ("NCAAF", "College Football"), ("CFB", "College Football"),
                                     ("NCAAB", "College Basketball"), ("CBB", "College Basketball"))
                      if k in ticker), "Game")
        ou = "OVER" if yes else "UNDER"
        if len(parts) >= 3 and len(parts[-2]) >= 6:
            codes = parts[-2][-6:]
            return f"Total points {ou} {last} | {codes[:3].upper()} @ {codes[3:].upper()} ({sport})"
        return f"Total points {ou} {last} ({sport})"
    if any(k in ticker for k in ("NHLGAME", "NFLGAME", "NBAGAME", "MLBGAME", "SOCCERGAME", "FOOTBALLGAME")):
        if len(parts) >= 3 and len(parts[-2]) >= 6:
            codes = parts[-2][-6:]
            away, home, out = codes[:3].upper(), codes[3:].upper(), last.upper()
            sport = next((s for k, s in (("NHL", "NHL"), ("NFL", "NFL"), ("NBA", "NBA"), ("MLB", "MLB"),
                                         ("SOCCER", "Soccer"), ("FOOTBALL", "Soccer")) if k in ticker), "Sports")
            other = home if out == away else away
            return f"{out} wins vs {other} ({sport})" if yes else f"{other} wins vs {out} ({sport})"
    elif "SPREAD" in ticker:
        team = re.match(r"[A-Za-z]*", last).group(0)
        spread = "".join(c for c in last[len(team):] if c.isdigit() or c in ".-")
        if team and spread:
            sv = spread.lstrip("-")
            return (f"{team.upper()} wins by {sv} or more (covers)" if yes
                    else f"{team.upper()} loses or wins by less than {sv} (doesn't cover)")
    elif "TD" in ticker or "SCORE" in ticker:
        if all(c.isdigit() for c in last):
            return f"Player gets {ge} {last} {'touchdowns' if 'TD' in ticker else 'points'}"
    elif "HIGH" in ticker or "LOW" in ticker:
        if "T" in ticker and last.startswith("T"):
            return f"{'High' if 'HIGH' in ticker else 'Low'} temp {ge} {last[1:]}°F"
    elif "PRES" in ticker:
        return f"{last.upper()} wins" if yes else f"{last.upper()} doesn't win"
    if any(k in ticker for k in ("COMBO", "PARLAY", "MULTI")):
        return f"{'Wins' if yes else 'Loses'} {last.upper()} combo/parlay"
    if any(k in ticker for k in ("FIRST", "LAST", "ANYTIME")):
        timing = "first" if "FIRST" in ticker else "last" if "LAST" in ticker else "anytime"
        return f"{last.upper()} scores {timing} TD" if yes else f"{last.upper()} doesn't score {timing} TD"
    if any(k in ticker for k in ("TOP", "FINISH", "PLACE")):
        return f"{last.upper()} " + ("finishes in position" if yes else "doesn't finish in position")
    if len(last) <= 10 and last.isalnum():
        return f"{last.upper()} happens" if yes else f"{last.upper()} doesn't happen"
    return "YES - check market details" if yes else "NO - check market details"


def market_id_key(raw: str | None) -> str | None:
    """§7.2 step 1: strip, drop a platform prefix, lower-case 0x ids, upper-case tickers.

    Token ids (>= 30 decimal digits) are returned as they are; the linker maps them to a market
    through the catalog's clob token ids.
    """
    if raw is None:
        return None
    s = raw.strip()
    for prefix in ("polymarket_", "kalshi_"):
        if s.lower().startswith(prefix):
            s = s[len(prefix):]
    if not s:
        return None
    if s[:2].lower() == "0x":
        return s.lower()
    if s.isdigit() and len(s) >= 30:
        return s
    return s.upper()
