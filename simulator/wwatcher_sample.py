"""A synthetic wwatcher alert database, for tests, benchmarks and the demo.

wwatcher (neur0map/polymaster) logs whale trades to SQLite; the exporter links those alerts to our
markets by title and outcome text, because wwatcher never fills ``market_id``. This module writes a
database with wwatcher's exact schema and the row semantics documented in docs/wwatcher.md (§2-§3,
§6, §7.3), including the messy cases the linker must survive: title spellings that differ from the
catalogue, Kalshi titles shared by every market of an event, NULL titles after a failed lookup,
alerts about markets we do not track, rows re-logged after a restart, rows imported from the old
JSONL log, and (``mode="mixed"``) market ids of several kinds. It is deterministic for a given
seed and returns per-alert ground truth, so a test can score every link.

    python -m simulator.wwatcher_sample OUT.db 2000 --catalog-in collector.db --truth-out truth.json
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import click

# The DDL wwatcher runs at start (docs/wwatcher.md §2.1, verbatim from its src/db.rs).
SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    action TEXT NOT NULL,
    category TEXT,
    subcategory TEXT,
    value REAL NOT NULL,
    price REAL NOT NULL,
    size REAL NOT NULL,
    market_title TEXT,
    market_id TEXT,
    outcome TEXT,
    wallet_hash TEXT,
    wallet_id TEXT,
    timestamp TEXT NOT NULL,
    market_context TEXT,
    wallet_activity TEXT,
    created_at INTEGER DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_alerts_wallet_hash ON alerts(wallet_hash);
CREATE INDEX IF NOT EXISTS idx_alerts_timestamp ON alerts(created_at);
CREATE INDEX IF NOT EXISTS idx_alerts_category ON alerts(category);
CREATE INDEX IF NOT EXISTS idx_alerts_platform ON alerts(platform);
CREATE TABLE IF NOT EXISTS wallet_memory (
    wallet_hash TEXT NOT NULL,
    wallet_id TEXT NOT NULL,
    market_title TEXT,
    market_id TEXT,
    outcome TEXT,
    action TEXT,
    value REAL NOT NULL,
    price REAL NOT NULL,
    platform TEXT NOT NULL,
    category TEXT,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (wallet_hash, market_id, seen_at)
);
CREATE INDEX IF NOT EXISTS idx_wallet_memory_hash ON wallet_memory(wallet_hash);
CREATE INDEX IF NOT EXISTS idx_wallet_memory_seen ON wallet_memory(seen_at);
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT);
"""
ALERT_COLUMNS = ("id", "platform", "alert_type", "action", "category", "subcategory", "value", "price", "size",
                 "market_title", "market_id", "outcome", "wallet_hash", "wallet_id", "timestamp",
                 "market_context", "wallet_activity", "created_at")

# Built-in catalogue: (title, outcomes, category) for Polymarket, (ticker, title, category) for
# Kalshi. Kalshi titles repeat within an event (game sides, strike and bracket ladders) as the
# real API reports them; the orphans are markets alerts mention that a collector does not track.
POLY_MARKETS = [
    ("Will Bitcoin trade above $150,000 by June 30, 2026?", ["Yes", "No"], "Crypto"),
    ("Will Ether be above $4,000 on May 29?", ["Yes", "No"], "Crypto"),
    ("Bitcoin Up or Down - May 12, 4PM ET", ["Up", "Down"], "Crypto"),
    ("Dogecoin Up or Down on May 14?", ["Up", "Down"], "Crypto"),
    ("Will the ECB cut rates at its June 2026 meeting?", ["Yes", "No"], "Economy"),
    ("Euro area recession in 2026?", ["Yes", "No"], "Economy"),
    ("Will the Senate pass the budget bill by July 4?", ["Yes", "No"], "Politics"),
    ("Knicks vs. Pacers", ["Knicks", "Pacers"], "Sports"),
    ("Yankees vs. Red Sox", ["Yankees", "Red Sox"], "Sports"),
    ("Will Inter Milan win on 2026-05-17?", ["Yes", "No"], "Sports"),
    ("Liverpool vs. Everton: O/U 3.5", ["Over", "Under"], "Sports"),
    ("Will the highest temperature in Chicago be between 70-71°F on May 20?", ["Yes", "No"], "Weather"),
    ("Will Google release Gemini 4 before September 2026?", ["Yes", "No"], "Tech"),
    ("Will Microsoft's market cap exceed $5T on May 29?", ["Yes", "No"], "Finance"),
    ("Will 'The Long Walk' gross over $100M worldwide?", ["Yes", "No"], "Culture"),
    ("Will Taylor Swift announce a new album before August?", ["Yes", "No"], "Culture"),
    ("Will Silver close above $40 at the end of May?", ["Yes", "No"], "Commodities"),
    ("Will the Nasdaq 100 (NDX) close above 22,000 on May 29?", ["Yes", "No"], "Finance"),
    ("Will unemployment be ≥4.5% in the May jobs report?", ["Yes", "No"], "Economy"),
    ("Israel x Hamas ceasefire by June 30?", ["Yes", "No"], "Politics"),
    ("Will T&T Supermarket open a Texas store in 2026?", ["Yes", "No"], "Business"),
    ("Will the Florida Panthers win the 2026 Stanley Cup?", ["Yes", "No"], "Sports"),
    ("Will the Kansas City Chiefs win Super Bowl 2027?", ["Yes", "No"], "Sports"),
    ("Dota 2: Team Spirit vs. Gaimin Gladiators (BO3) - Riyadh Masters", ["Spirit", "Gladiators"], "Esports"),
]
POLY_ORPHANS = [
    ("Will Cardano reach $2 before 2027?", ["Yes", "No"], "Crypto"),
    ("Mets vs. Braves", ["Mets", "Braves"], "Sports"),
    ("Will the Bank of Japan raise rates in June?", ["Yes", "No"], "Economy"),
    ("Will it rain in Paris on May 21?", ["Yes", "No"], "Weather"),
]
KALSHI_MARKETS = [
    ("KXBTCD-26MAY1217-T104999.99", "Bitcoin price on May 12, 2026 at 5pm EDT?", "Crypto"),
    ("KXBTCD-26MAY1217-T106999.99", "Bitcoin price on May 12, 2026 at 5pm EDT?", "Crypto"),
    ("KXETHD-26MAY1317-T2599.99", "Ethereum price on May 13, 2026 at 5pm EDT?", "Crypto"),
    ("KXHIGHCHI-26MAY20-T72", "Highest temperature in Chicago on May 20, 2026?", "Climate and Weather"),
    ("KXHIGHCHI-26MAY20-B70.5", "Highest temperature in Chicago on May 20, 2026?", "Climate and Weather"),
    ("KXLOWTDEN-26MAY21-T40", "Lowest temperature in Denver on May 21, 2026?", "Climate and Weather"),
    ("KXNBAGAME-26MAY12NYKIND-NYK", "New York K at Indiana Winner?", "Sports"),
    ("KXNBAGAME-26MAY12NYKIND-IND", "New York K at Indiana Winner?", "Sports"),
    ("KXMLBGAME-26MAY13NYYBOS-BOS", "New York Y at Boston Winner?", "Sports"),
    ("KXNBASPREAD-26MAY12NYKIND-IND4", "Indiana wins by over 4.5 Points?", "Sports"),
    ("KXNCAAMBTOTAL-26MAR20KANDUK-148", "Kansas at Duke: Total Points", "Sports"),
    ("KXFEDDECISION-26JUN-H0", "Fed decision in Jun 2026?", "Economics"),
    ("KXPAYROLLS-26MAY-T150", "Jobs added in May 2026?", "Economics"),
    ("KXPRESNOMR-28-JDV", "Republican nominee for the 2028 presidential election?", "Politics"),
    ("KXNFLANYTIME-26SEP10KCBAL-TKELCE", "Anytime touchdown scorers: Kansas City at Baltimore", "Sports"),
]
KALSHI_ORPHANS = [
    ("KXNBAGAME-26MAY14OKCDEN-OKC", "Oklahoma City at Denver Winner?", "Sports"),
    ("KXHIGHAUS-26MAY22-T95", "Highest temperature in Austin on May 22, 2026?", "Climate and Weather"),
]

_TITLE_VARIANTS = [("identical", 50), ("lower", 8), ("upper", 4), ("titlecase", 5), ("question_mark", 7),
                   ("no_punct", 7), ("curly", 5), ("spacing", 5), ("amp_and", 3), ("vs_dot", 3), ("thousands", 3)]
_ID_KINDS = [("null", 40), ("exact", 28), ("token", 10), ("unknown", 10), ("case", 5), ("padded", 3), ("prefixed", 4)]
_CRYPTO = {"ETH": "Ethereum (ETH)", "BTC": "Bitcoin (BTC)", "SOL": "Solana (SOL)", "SPX": "S&P 500", "TSLA": "Tesla"}
_TOTAL_SPORTS = [("NFL", "NFL"), ("NBA", "NBA"), ("NHL", "NHL"), ("MLB", "MLB"), ("NCAAF", "College Football"),
                 ("CFB", "College Football"), ("NCAAB", "College Basketball"), ("CBB", "College Basketball")]
_GAME_SPORTS = [("NHL", "NHL"), ("NFL", "NFL"), ("NBA", "NBA"), ("MLB", "MLB"), ("SOCCER", "Soccer"),
                ("FOOTBALL", "Soccer")]


def outcome_text(ticker: str, side: str) -> str:
    """The ``outcome`` text wwatcher derives from a Kalshi ticker and taker side (docs/wwatcher.md §7.3).

    The rows of that table are tried in order; the first that applies wins.
    """
    yes = side.upper() == "YES"
    segments = ticker.split("-")
    last, event_codes = segments[-1], (segments[-2][-6:] if len(segments) >= 3 and len(segments[-2]) >= 6 else "")
    at_least = "≥" if yes else "<"
    asset = next((name for key, name in _CRYPTO.items() if key in ticker), None)
    if asset and last[:1] in "Tt" and last:
        return f"{asset} price {at_least} ${last[1:]} at expiry"
    if "TOTAL" in ticker and last.isdigit():
        sport = next((name for key, name in _TOTAL_SPORTS if key in ticker), "Game")
        line = f"Total points {'OVER' if yes else 'UNDER'} {last}"
        return f"{line} | {event_codes[:3].upper()} @ {event_codes[3:].upper()} ({sport})" if event_codes \
            else f"{line} ({sport})"
    if any(f"{league}GAME" in ticker for league in ("NHL", "NFL", "NBA", "MLB", "SOCCER", "FOOTBALL")):
        if event_codes:
            away, home, team = event_codes[:3].upper(), event_codes[3:].upper(), last.upper()
            sport = next((name for key, name in _GAME_SPORTS if key in ticker), "Sports")
            other = home if team == away else away
            winner, loser = (team, other) if yes else (other, team)
            return f"{winner} wins vs {loser} ({sport})"
    elif "SPREAD" in ticker:
        match = re.match(r"([A-Za-z]*)(.*)", last)
        team, points = match.group(1), "".join(c for c in match.group(2) if c.isdigit() or c in ".-").lstrip("-")
        if team and points:
            team = team.upper()
            return (f"{team} wins by {points} or more (covers)" if yes
                    else f"{team} loses or wins by less than {points} (doesn't cover)")
    elif "TD" in ticker or "SCORE" in ticker:
        if last.isdigit():
            return f"Player gets {at_least} {last} {'touchdowns' if 'TD' in ticker else 'points'}"
    elif "HIGH" in ticker or "LOW" in ticker:
        if last.startswith("T"):
            return f"{'High' if 'HIGH' in ticker else 'Low'} temp {at_least} {last[1:]}°F"
    elif "PRES" in ticker:
        return f"{last.upper()} wins" if yes else f"{last.upper()} doesn't win"
    name = last.upper()
    if any(k in ticker for k in ("COMBO", "PARLAY", "MULTI")):
        return f"{'Wins' if yes else 'Loses'} {name} combo/parlay"
    if any(k in ticker for k in ("FIRST", "LAST", "ANYTIME")):
        timing = "first" if "FIRST" in ticker else "last" if "LAST" in ticker else "anytime"
        return f"{name} scores {timing} TD" if yes else f"{name} doesn't score {timing} TD"
    if any(k in ticker for k in ("TOP", "FINISH", "PLACE")):
        return f"{name} finishes in position" if yes else f"{name} doesn't finish in position"
    if len(last) <= 10 and last.isalnum():
        return f"{name} happens" if yes else f"{name} doesn't happen"
    return "YES - check market details" if yes else "NO - check market details"


def derived_token_ids(market_id: str, n: int) -> list[str]:
    """CLOB token ids for a catalogue market that has none stored (deterministic per market id)."""
    return [str(int(hashlib.sha256(f"{market_id}:{i}".encode()).hexdigest(), 16) >> 2) for i in range(n)]


def title_variant(rng: random.Random, title: str) -> tuple[str, str]:
    """(variant name, title as an alert might carry it): case, punctuation and spacing drift."""
    kind = rng.choices([k for k, _ in _TITLE_VARIANTS], [w for _, w in _TITLE_VARIANTS])[0]
    changed = {
        "identical": title,
        "lower": title.lower(),
        "upper": title.upper(),
        "titlecase": title.title(),
        "question_mark": title[:-1] if title.endswith("?") else title + "?",
        "no_punct": re.sub(r"\s+", " ", re.sub(r"[,.'\"?!:()\-]", " ", title)).strip(),
        "curly": title.replace("'", "\u2019").replace(" - ", " \u2013 "),
        "spacing": "  " + title.replace(" ", "  ", 1) + " ",
        "amp_and": title.replace(" & ", " and ") if " & " in title else title.replace("T&T", "T & T"),
        "vs_dot": title.replace("vs.", "vs") if "vs." in title else title.replace(" x ", " vs "),
        "thousands": re.sub(r"(\d),(\d{3})", r"\1\2", title),
    }[kind]
    if changed == title and kind != "identical":
        return "lower", title.lower()
    return kind, changed


def builtin_catalog(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """(tracked markets, orphans) from the built-in lists, with random ids for Polymarket."""
    def poly(entries, tracked):
        return [dict(platform="polymarket", market_id="0x" + f"{rng.getrandbits(256):064x}", title=title,
                     outcomes=outcomes, category=category, in_catalog=tracked,
                     clob_token_ids=[str(rng.getrandbits(254) | 1 << 250) for _ in outcomes])
                for title, outcomes, category in entries]

    def kalshi(entries, tracked):
        return [dict(platform="kalshi", market_id=ticker, title=title, outcomes=["Yes", "No"], category=category,
                     in_catalog=tracked, clob_token_ids=[]) for ticker, title, category in entries]

    return (poly(POLY_MARKETS, True) + kalshi(KALSHI_MARKETS, True),
            poly(POLY_ORPHANS, False) + kalshi(KALSHI_ORPHANS, False))


def catalog_from_db(path: Path) -> list[dict]:
    """The markets of a collector.db (read-only), with their stored CLOB token ids when present."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = con.execute("SELECT platform, market_id, title, outcomes, category, extra FROM markets"
                       " WHERE title IS NOT NULL ORDER BY id").fetchall()
    con.close()
    out = []
    for platform, market_id, title, outcomes_json, category, extra_json in rows:
        outcomes = json.loads(outcomes_json or "null") or ["Yes", "No"]
        tokens = json.loads(extra_json or "{}").get("clob_token_ids") or []
        if isinstance(tokens, str):
            tokens = json.loads(tokens)
        if platform == "polymarket" and len(tokens) != len(outcomes):
            tokens = derived_token_ids(market_id, len(outcomes))
        out.append(dict(platform=platform, market_id=market_id, title=title, outcomes=outcomes,
                        category=category, in_catalog=True, clob_token_ids=tokens))
    if not out:
        raise click.ClickException(f"{path}: no markets with a title")
    return out


def _market_id(rng: random.Random, mode: str, market: dict, outcome: int) -> tuple[str, str | None]:
    """(kind, value) of ``alerts.market_id``: NULL as wwatcher writes it, or (mixed) ids of several kinds."""
    if mode == "faithful":
        return "null", None
    mid, poly = market["market_id"], market["platform"] == "polymarket"
    if not market["in_catalog"]:
        return rng.choice([("null", None), ("unknown", mid)])
    kind = rng.choices([k for k, _ in _ID_KINDS], [w for _, w in _ID_KINDS])[0]
    if kind == "token" and not poly:
        kind = "exact"
    return kind, {
        "null": None,
        "exact": mid,
        "token": market["clob_token_ids"][outcome] if poly else mid,
        "unknown": "0x" + f"{rng.getrandbits(256):064x}" if poly else re.sub(r"\d", "9", mid, count=2) + "Q",
        "case": "0x" + mid[2:].upper() if poly else mid.lower(),
        "padded": f" {mid} ",
        "prefixed": f"{market['platform']}_{mid}",
    }[kind]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _kalshi_time(ts: float) -> str:
    """Kalshi's created_time as wwatcher stores it: variable fraction digits, ``Z``."""
    whole = datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{int((ts % 1) * 1e6):06d}".rstrip("0")
    return f"{whole}.{fraction}Z" if fraction else f"{whole}Z"


def _compact(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _alert(rng, mode, market, t, wallets, threshold) -> dict:
    """One whale alert on ``market`` at unix time ``t`` (float), with its ground truth."""
    variant, title = title_variant(rng, market["title"])
    usd = threshold * min(rng.paretovariate(1.7), 80.0)
    yes_price = rng.uniform(0.05, 0.95)
    truth = dict(true_market_id=market["market_id"], platform=market["platform"], in_catalog=market["in_catalog"],
                 title_variant=variant, duplicate_of=None, migrated=False)
    if market["platform"] == "polymarket":
        index = rng.randrange(len(market["outcomes"]))
        action = "SELL" if rng.random() < 0.125 else "BUY"
        price = round(min(max((yes_price if index == 0 else 1 - yes_price) + rng.uniform(-0.02, 0.02), 0.01), 0.99), 3)
        size = math.ceil(usd / price * 100) / 100
        wallet = rng.choice(wallets) if rng.random() > 0.01 else None
        kind, market_id = _market_id(rng, mode, market, index)
        context = None if rng.random() < 0.05 else _compact(dict(
            yes_price=round(yes_price, 3), no_price=round(1 - yes_price, 3), spread=0.01, volume_24h=150000.0,
            open_interest=50000.0, price_change_24h=0.01, liquidity=25000.0))
        stamp = _iso(int(t)) if rng.random() > 0.003 else f"timestamp_error_0x{rng.getrandbits(128):032x}"
        asset = market["clob_token_ids"][index] if market["clob_token_ids"] else None
        row = dict(platform="Polymarket", alert_type="WHALE_EXIT" if action == "SELL" else "WHALE_ENTRY",
                   action=action, value=size * price, price=price, size=size, market_title=title, market_id=market_id,
                   outcome=market["outcomes"][index], wallet_id=wallet,
                   wallet_hash=hashlib.sha256(wallet.encode()).hexdigest() if wallet else None, timestamp=stamp,
                   market_context=context, created_at=int(t) + rng.randint(1, 15), asset=asset)
    else:
        side = "YES" if rng.random() < 0.55 else "NO"
        cents = rng.randint(5, 95)
        count = math.ceil(usd / (cents / 100))
        kind, market_id = _market_id(rng, mode, market, 0)
        if rng.random() < 0.03:
            title, truth["title_variant"] = None, "null_lookup_failed"
        context = None if rng.random() < 0.04 else _compact(dict(
            yes_price=cents / 100, no_price=(99 - cents) / 100, spread=0.01, volume_24h=20000.0,
            open_interest=90000.0, price_change_24h=1.5, liquidity=400000.0))
        row = dict(platform="Kalshi", alert_type="WHALE_ENTRY", action=side, value=cents / 100 * count,
                   price=cents / 100, size=float(count), market_title=title, market_id=market_id,
                   outcome=outcome_text(market["market_id"], side), wallet_id=None, wallet_hash=None,
                   timestamp=_kalshi_time(t), market_context=context, created_at=int(t) + rng.randint(1, 8),
                   asset=None)
    truth.update(market_id_kind=kind, asset_id=row["asset"])
    return dict(row, category=None, subcategory=None, wallet_activity=None, trade_time=int(t), truth=truth)


def generate(path: Path, n: int, *, seed: int = 7, end: str = "2026-05-25T12:00:00Z", days: float = 17.0,
             threshold: float = 25_000.0, kalshi_share: float = 0.19, mode: str = "mixed",
             catalog: list[dict] | None = None) -> list[dict]:
    """Write ``n`` alerts to a new wwatcher database at ``path``; returns the truth per alert id."""
    rng = random.Random(seed)
    end_ts = int(datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp())
    start_ts = int(end_ts - days * 86400)
    builtin, orphans = builtin_catalog(rng)
    tracked = catalog or builtin
    wallets = ["0x" + f"{rng.getrandbits(160):040x}" for _ in range(60)]

    def pick(platform: str) -> dict:
        pool = [m for m in orphans if m["platform"] == platform]
        if pool and rng.random() < 0.08:
            return rng.choice(pool)
        return rng.choice([m for m in tracked if m["platform"] == platform] or tracked)

    def platform(i: int) -> str:
        return ("polymarket", "kalshi")[i] if i < 2 else ("kalshi" if rng.random() < kalshi_share else "polymarket")

    n_migrated = round(0.03 * n) if n >= 50 else 0
    n_duplicates = round(0.05 * n) if n >= 100 else 0
    live = [_alert(rng, mode, pick(platform(i)), rng.uniform(start_ts, end_ts), wallets, threshold)
            for i in range(n - n_migrated - n_duplicates)]
    # Rows imported from the old JSONL log: no id, no context, created_at = the import time.
    migrated = []
    for _ in range(n_migrated):
        row = _alert(rng, mode, pick(platform(9)), rng.uniform(start_ts - 5 * 86400, start_ts - 60), wallets,
                     threshold)
        row.update(market_id=None, market_context=None, created_at=start_ts)
        row["truth"].update(migrated=True, market_id_kind="null")
        migrated.append(row)
    migrated.sort(key=lambda r: r["trade_time"])
    # After a restart wwatcher logs its newest Polymarket whale trades again, with new created_at.
    restart = start_ts + (end_ts - start_ts) * 3 // 5
    before = sorted((r for r in live if r["platform"] == "Polymarket" and r["created_at"] < restart),
                    key=lambda r: -r["trade_time"])
    duplicates = [dict(src, created_at=restart + 1 + k // 25, truth=dict(src["truth"], duplicate_of=src))
                  for k, src in enumerate(before[:n_duplicates])]
    while len(live) + len(duplicates) + len(migrated) < n:
        live.append(_alert(rng, mode, pick("polymarket"), rng.uniform(restart, end_ts), wallets, threshold))
    rows = migrated + sorted(live + duplicates, key=lambda r: r["created_at"])
    ids = {}
    for i, row in enumerate(rows, start=1):
        row["id"] = i
        ids.setdefault(id(row), i)
    for row in rows:
        src = row["truth"]["duplicate_of"]
        row["truth"]["duplicate_of"] = ids[id(src)] if src is not None else None
    _write(path, rows, start_ts, end_ts)
    return [{"id": r["id"], **r["truth"]} for r in rows]


def _write(path: Path, rows: list[dict], start_ts: int, end_ts: int) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(SCHEMA)
    con.executemany("INSERT OR IGNORE INTO metadata (key, value) VALUES (?, ?)",
                    [("schema_version", "1"), ("created_at", str(start_ts))])
    con.executemany(f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(ALERT_COLUMNS))})",
                    [[r[c] for c in ALERT_COLUMNS] for r in rows])
    # wallet_memory: Polymarket wallets of the last 12 hours, keyed by the traded token (§2).
    con.executemany(
        "INSERT OR REPLACE INTO wallet_memory (wallet_hash, wallet_id, market_title, market_id, outcome, action,"
        " value, price, platform, category, seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(r["wallet_hash"], r["wallet_id"], r["market_title"], r["asset"], r["outcome"], r["action"], r["value"],
          r["price"], "Polymarket", None, r["created_at"]) for r in rows
         if r["platform"] == "Polymarket" and r["wallet_id"] and r["asset"] and r["created_at"] > end_ts - 43200
         and not r["truth"]["migrated"]])
    con.commit()
    con.close()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("n", type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True)
@click.option("--end", default="2026-05-25T12:00:00Z", show_default=True, help="End of the alert window (UTC).")
@click.option("--days", default=17.0, show_default=True, help="Length of the alert window.")
@click.option("--market-id-mode", type=click.Choice(["mixed", "faithful"]), default="mixed", show_default=True,
              help="faithful: market_id always NULL, as wwatcher writes it.")
@click.option("--catalog-in", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A collector.db whose markets the alerts are about (default: a built-in catalogue).")
@click.option("--truth-out", type=click.Path(dir_okay=False, path_type=Path), help="Write per-alert truth (JSON).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def main(out, n, seed, end, days, market_id_mode, catalog_in, truth_out, force):
    """Write a synthetic wwatcher database of N alerts to OUT.

    Example: python -m simulator.wwatcher_sample wwatcher.db 2000 --catalog-in demo-data/collector.db
    """
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists (use --force to replace it)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    catalog = catalog_from_db(catalog_in) if catalog_in else None
    truth = generate(out, n, seed=seed, end=end, days=days, mode=market_id_mode, catalog=catalog)
    if truth_out:
        truth_out.write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    kalshi = sum(t["platform"] == "kalshi" for t in truth)
    click.echo(f"wrote {len(truth)} alerts ({len(truth) - kalshi} Polymarket, {kalshi} Kalshi) to {out}")


if __name__ == "__main__":
    main()
