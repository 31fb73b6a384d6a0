"""Fixtures for the exporter tests: a collector.db with known contents and generated wwatcher.dbs,
and the check that an export folder loads with Hugging Face `datasets`.

collector.db is built the way the sink builds it (connect_writer + migrate) and filled with
plain INSERTs. Its markets reuse the titles and tickers of the wwatcher sample generator's built-in
catalogue (simulator/wwatcher_sample.py), so the generator (run as a subprocess with --catalog-in
collector.db) writes alerts whose ground truth points at our markets.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from simulator import wwatcher_sample
from sink.schema import connect_writer, migrate
from tests.conftest import iso

DAY = 86400
CREATED = 1767225600  # 2026-01-01T00:00:00Z
CLOSED = 1773100800  # 2026-03-10T00:00:00Z
ALERTS_END = "2026-02-25T12:00:00Z"  # the generated alerts fall in the 17 days before, while markets trade
RESOLVED = CLOSED + 6 * 3600
STEP = 6 * 3600  # one snapshot every 6 hours
PLANT_PRICE = 0.987654  # a price planted 12 h before close of market 1 (closes CLOSED - 7 days) (after the 1-day horizon's as_of)
AFTER_CLOSE_PRICE = 0.999111  # planted after close of market 1: must never appear anywhere
BACKFILL_SHADOWED = 0.111222  # a backfill price at a time a live row also has: live must win


def close_of(ref: int) -> int:
    """Markets close on 2026-03-10 or a week earlier (both after the generator's alert window + grace)."""
    return CLOSED - (ref % 2) * 7 * DAY


def token_ids(market_id: str, n: int) -> list[str]:
    """CLOB token ids for our test markets (stored in markets.extra, which the generator reads)."""
    return [str(int(hashlib.sha256(f"{market_id}:{i}".encode()).hexdigest(), 16) >> 2) for i in range(n)]


def price(ref: int, k: int) -> int:
    """Deterministic price in millionths, always within 0.2..0.8."""
    return 200_000 + (ref * 7919 + k * 104729) % 600_000


def build_collector_db(path: Path) -> dict:
    """~40 markets; returns facts the tests assert against."""
    gen = wwatcher_sample
    db = connect_writer(str(path))
    migrate(db)
    facts = {"resolved": {}, "voided": [], "active": [], "refs": {}}
    markets = []
    for i, (title, outcomes, cat) in enumerate(gen.POLY_MARKETS):
        markets.append(("polymarket", f"0x{hashlib.sha256(title.encode()).hexdigest()}", title, outcomes, cat))
    for ticker, title, cat in gen.KALSHI_MARKETS:
        markets.append(("kalshi", ticker, title, ["Yes", "No"], cat))
    db.execute("BEGIN")
    for ref, (plat, mid, title, outcomes, cat) in enumerate(markets, start=1):
        closed = close_of(ref)
        status, label, resolved, end = "resolved", ("YES" if ref % 3 else "NO"), closed + 6 * 3600, closed
        if ref % 11 == 0:
            status, label = "voided", None
        if ref % 13 == 0:
            status, label, closed, resolved = "active", None, None, None
        if ref == 2:
            end = closed + 30 * DAY  # end date moved later; trading actually stopped at closed_at
        extra = {"clob_token_ids": json.dumps(token_ids(mid, len(outcomes)))} if plat == "polymarket" else \
            {"event_ticker": mid.rsplit("-", 1)[0]}
        db.execute(
            "INSERT INTO markets (id, platform, market_id, slug, title, category, outcomes, volume, liquidity,"
            " end_date, status, resolution, resolved_at, created_at, winning_outcome, closed_at, extra,"
            " first_seen_at, observed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (ref, plat, mid, mid[:20], title, cat, json.dumps(outcomes), 1000.0 * ref, 10.0 * ref, iso(end), status,
             label, iso(resolved) if resolved else None, iso(CREATED), (outcomes[0] if label == "YES" else
             outcomes[1]) if label else None, iso(closed) if closed else None, json.dumps(extra), CREATED + 3600,
             CREATED + 3600))  # first observed (metadata version) when the collector first saw it
        facts["refs"][(plat, mid)] = ref
        if status == "resolved":
            facts["resolved"][ref] = dict(platform=plat, market_id=mid, title=title, label=label, outcomes=outcomes)
        elif status == "voided":
            facts["voided"].append(ref)
        else:
            facts["active"].append(ref)
        last = (closed or CLOSED) + 2 * DAY  # two days of snapshots after close (must be cut off)
        rows = [(t, ref, price(ref, k), price(ref, k) - 5000, price(ref, k) + 5000, 100 * k, 10 * k)
                for k, t in enumerate(range(CREATED + STEP, last + 1, STEP))]
        if ref == 1:
            assert closed == CLOSED - 7 * DAY
            rows = [r if r[0] != closed - 12 * 3600 else (r[0], 1, 987_654, 980_000, 990_000, 1, 1) for r in rows]
            rows = [r if r[0] != closed + DAY else (r[0], 1, 999_111, 990_000, 999_500, 1, 1) for r in rows]
        db.executemany("INSERT INTO snapshot (t, market, yes, bid, ask, volume, liquidity) VALUES (?,?,?,?,?,?,?)",
                       rows)
        # backfill: 3 earlier rows only backfill has, plus one shadowed by a live row at the same t
        back = [(ref, CREATED + STEP - k * STEP, 500_000, 490_000, 510_000, 1, 1) for k in (1, 2, 3)]
        back.append((ref, CREATED + 2 * STEP, 111_222, 100_000, 120_000, 1, 1))
        db.executemany("INSERT INTO snapshot_backfill (market, t, yes, bid, ask, volume, liquidity)"
                       " VALUES (?,?,?,?,?,?,?)", back)
    c1 = close_of(1)
    news = [(1, "Early headline", CREATED + 10 * DAY, None), (1, "Mid headline", c1 - 20 * DAY, c1 - 21 * DAY),
            (1, "Late headline after as-of", c1 - 6 * 3600, None), (1, "After close headline", c1 + 3600, None),
            (3, "Other market news", CREATED + 40 * DAY, None)]
    for k, (ref, headline, captured, published) in enumerate(news):
        plat, mid = markets[ref - 1][0], markets[ref - 1][1]
        db.execute("INSERT INTO news_context (market_id, platform, headline, source, captured_at, url, published_at,"
                   " dedup_key) VALUES (?,?,?,?,?,?,?,?)", (mid, plat, headline, "wire", iso(captured),
                                                           f"https://example.invalid/{k}",
                                                           iso(published) if published else None, f"k{k}"))
    db.execute("COMMIT")
    db.close()
    return facts


def make_wwatcher(path: Path, collector_db: Path, n: int, mode: str) -> list[dict]:
    """Run the wwatcher sample generator against our catalogue, as a user would; returns its truth.json."""
    truth = path.with_suffix(".truth.json")
    subprocess.run([sys.executable, "-m", "simulator.wwatcher_sample", str(path), str(n),
                    "--catalog-in", str(collector_db), "--truth-out", str(truth), "--market-id-mode", mode,
                    "--end", ALERTS_END],
                   check=True, capture_output=True, timeout=60)
    return json.loads(truth.read_text())


def exporter_cmd() -> str:
    return str(Path(sys.executable).parent / "exporter")


# A script for `python -c`: load every named config of an export folder with Hugging Face
# `datasets` (offline, its cache in argv[2]) and print rows and features per split as JSON.
LOAD_EVERY_CONFIG = """
import json, os, sys
os.environ["HF_DATASETS_OFFLINE"] = "1"; os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = sys.argv[2]
import datasets
out = sys.argv[1]
got = {}
for name in json.loads(sys.argv[3]):
    ds = datasets.load_dataset(out, name)
    got[name] = {split: {"rows": d.num_rows, "features": {k: str(v) for k, v in d.features.items()}}
                 for split, d in ds.items()}
print(json.dumps(got))
"""


def declared_configs(card: str) -> dict[str, list[str]]:
    """config name -> data file paths, from the card's YAML header."""
    header = card.split("---\n")[1]
    out, name = {}, None
    for line in header.splitlines():
        if line.startswith("- config_name: "):
            name = line.split(": ", 1)[1]
            out[name] = []
        elif line.startswith(" ") and "path: " in line and name:
            out[name].append(line.split("path: ", 1)[1])
        elif not line.startswith((" ", "-")):
            name = None
    return out
