"""collector.db's schema: ordered, named, forward-only migrations applied at sink start.

Storage density decides whether a year fits on a small server (~16M snapshots a day at real
scale), so live snapshots live in a compact clustered table and the seed's column names are
served by views:

* ``snapshot``: WITHOUT ROWID, primary key (t, market). Every cycle appends one grid time, so
  inserts land at the right edge of the B-tree and pages stay full. Prices are integers in
  millionths (exact for Kalshi's sub-penny ticks and Polymarket's 0.001 ticks), volume and
  liquidity whole units (USD on Polymarket, contracts on Kalshi), time in unix seconds.
* ``snapshot_backfill``: the same columns clustered by (market, t), filled by the replaying
  fetcher. The ``price_snapshots`` view prefers the live row for the same market and time.
* ``markets``: the seed's table, keyed by (platform, market_id), with an integer id that the
  snapshot tables reference.
* ``snapshot_cycles``: rows stored per (platform, grid time), maintained in the same transaction
  as the rows; it makes `collector status` and gap detection O(cycles) rather than O(rows).
* ``book`` (migration 004): the top of each market's order book per cycle, clustered like
  ``snapshot``, levels packed into one blob (collector/books.py) that the ``order_books`` view
  unpacks in plain SQL; ``book_cycles`` counts it like ``snapshot_cycles``. Since 007 a book
  equal to an earlier one of the same day is a row without levels naming that row (``same_as``);
  the ``book_levels`` view resolves it, and ``order_books`` reads ``book_levels``.
"""

from __future__ import annotations

import sqlite3

from collector import books
from collector.db import APPLICATION_ID, check_ours
from collector.errors import DatabaseError

WRITER_BUSY_S = 2.0  # the sink's wait for a write lock before a commit counts as failed


# Each migration is one SQL script run inside one transaction (see migrate()).
_M001_INITIAL = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE markets (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            market_id TEXT NOT NULL,
            slug TEXT,
            title TEXT,
            description TEXT,
            category TEXT,
            outcomes TEXT,                 -- JSON array of outcome labels, index 0 = YES side
            volume REAL,
            liquidity REAL,
            end_date TEXT,                 -- ISO 8601 UTC, scheduled end
            status TEXT NOT NULL DEFAULT 'active',  -- active | closed | resolved | voided
            resolution TEXT,               -- YES | NO | NULL
            resolved_at TEXT,              -- ISO 8601 UTC, when the result became final
            created_at TEXT,               -- the platform's own timestamps, ISO 8601 UTC
            updated_at TEXT,
            winning_outcome TEXT,          -- label of the winning outcome ("Under", "Yes", ...)
            settlement_value REAL,         -- payout per YES share (Kalshi scalar, 50-50 = 0.5)
            resolution_detail TEXT,        -- last non-final state seen, e.g. uma:proposed
            closed_at TEXT,                -- when trading actually stopped, ISO 8601 UTC
            extra TEXT,                    -- JSON object of platform ids (tokens, event, series)
            first_seen_at REAL NOT NULL,   -- unix seconds, when we first stored the market
            observed_at REAL NOT NULL,     -- unix seconds of the newest metadata applied
            status_observed_at REAL,       -- unix seconds of the newest resolution state applied
            UNIQUE (platform, market_id)
        );
        CREATE INDEX markets_status ON markets (platform, status, end_date);

        CREATE TABLE snapshot (
            t INTEGER NOT NULL,
            market INTEGER NOT NULL,
            yes INTEGER,
            bid INTEGER,
            ask INTEGER,
            volume INTEGER,
            liquidity INTEGER,
            PRIMARY KEY (t, market)
        ) WITHOUT ROWID;

        CREATE TABLE snapshot_backfill (
            market INTEGER NOT NULL,
            t INTEGER NOT NULL,
            yes INTEGER,
            bid INTEGER,
            ask INTEGER,
            volume INTEGER,
            liquidity INTEGER,
            PRIMARY KEY (market, t)
        ) WITHOUT ROWID;

        CREATE TABLE snapshot_cycles (
            platform TEXT NOT NULL,
            t INTEGER NOT NULL,
            source TEXT NOT NULL,          -- live | backfill
            rows INTEGER NOT NULL,
            PRIMARY KEY (platform, source, t)
        ) WITHOUT ROWID;

        CREATE TABLE news_context (
            id INTEGER PRIMARY KEY,
            market_id TEXT NOT NULL,
            platform TEXT NOT NULL,
            headline TEXT NOT NULL,
            source TEXT,
            captured_at TEXT NOT NULL,
            url TEXT,
            published_at TEXT,
            dedup_key TEXT NOT NULL,
            UNIQUE (platform, market_id, dedup_key)
        );

        CREATE TABLE phase_runs (
            job_id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            phase TEXT NOT NULL,
            grid_time INTEGER,
            started_at REAL NOT NULL,
            finished_at REAL NOT NULL,
            ok INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            retries INTEGER NOT NULL,
            records INTEGER NOT NULL,
            skipped INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX phase_runs_last ON phase_runs (platform, phase, finished_at);

        -- Counters the sink keeps (rejected frames, dropped snapshots under the disk guard, ...).
        CREATE TABLE sink_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

        CREATE VIEW price_snapshots AS
        SELECT (s.market << 32) | s.t AS id,
               m.market_id, m.platform,
               s.yes / 1e6 AS yes_price,
               1.0 - s.yes / 1e6 AS no_price,
               s.volume, s.liquidity,
               (s.ask - s.bid) / 1e6 AS spread,
               strftime('%Y-%m-%dT%H:%M:%SZ', s.t, 'unixepoch') AS snapshot_at,
               s.bid / 1e6 AS best_bid, s.ask / 1e6 AS best_ask,
               'live' AS source, s.t AS snapshot_ts, s.market AS market_ref
          FROM snapshot s JOIN markets m ON m.id = s.market
        UNION ALL
        SELECT (b.market << 32) | b.t,
               m.market_id, m.platform,
               b.yes / 1e6, 1.0 - b.yes / 1e6,
               b.volume, b.liquidity,
               (b.ask - b.bid) / 1e6,
               strftime('%Y-%m-%dT%H:%M:%SZ', b.t, 'unixepoch'),
               b.bid / 1e6, b.ask / 1e6,
               'backfill', b.t, b.market
          FROM snapshot_backfill b JOIN markets m ON m.id = b.market
         WHERE NOT EXISTS (SELECT 1 FROM snapshot s WHERE s.t = b.t AND s.market = b.market);
"""


# The replaying fetcher's checkpoint: one row per market whose history is fully stored.
_M002_BACKFILL = """
CREATE TABLE backfill_markets (
    platform TEXT NOT NULL,
    market_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    resolution_s INTEGER NOT NULL,     -- time resolution of the history actually obtained
    done_at REAL NOT NULL,
    PRIMARY KEY (platform, market_id)
) WITHOUT ROWID;
"""

# Parquet files that hold live snapshots moved out of SQLite; written in the same transaction
# that deletes the rows, so a row is counted in exactly one of the two stores.
_M003_ARCHIVE = """
CREATE TABLE archived_partitions (
    platform TEXT NOT NULL,
    day TEXT NOT NULL,
    file TEXT NOT NULL,                -- relative to the archive directory
    t_start INTEGER NOT NULL,
    t_end INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    markets INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    archived_at REAL NOT NULL,
    PRIMARY KEY (platform, file)
) WITHOUT ROWID;
"""

# When each live price was read: seconds after its grid time t (a sweep of many pages reads over
# minutes, a late job later still). NULL = read at t (backfill history, rows stored before this).
# Causal cuts (exports, prompts) use t + lag, never t alone. One small integer: ~2 bytes a row.
_M004_OBSERVED = """
ALTER TABLE snapshot ADD COLUMN lag INTEGER;
DROP VIEW price_snapshots;
CREATE VIEW price_snapshots AS
SELECT (s.market << 32) | s.t AS id,
       m.market_id, m.platform,
       s.yes / 1e6 AS yes_price,
       1.0 - s.yes / 1e6 AS no_price,
       s.volume, s.liquidity,
       (s.ask - s.bid) / 1e6 AS spread,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.t, 'unixepoch') AS snapshot_at,
       s.bid / 1e6 AS best_bid, s.ask / 1e6 AS best_ask,
       'live' AS source, s.t AS snapshot_ts, s.market AS market_ref,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.t + coalesce(s.lag, 0), 'unixepoch') AS observed_at
  FROM snapshot s JOIN markets m ON m.id = s.market
UNION ALL
SELECT (b.market << 32) | b.t,
       m.market_id, m.platform,
       b.yes / 1e6, 1.0 - b.yes / 1e6,
       b.volume, b.liquidity,
       (b.ask - b.bid) / 1e6,
       strftime('%Y-%m-%dT%H:%M:%SZ', b.t, 'unixepoch'),
       b.bid / 1e6, b.ask / 1e6,
       'backfill', b.t, b.market,
       strftime('%Y-%m-%dT%H:%M:%SZ', b.t, 'unixepoch')
  FROM snapshot_backfill b JOIN markets m ON m.id = b.market
 WHERE NOT EXISTS (SELECT 1 FROM snapshot s WHERE s.t = b.t AND s.market = b.market);
"""

# Point-in-time metadata: every version of the fields a forecasting prompt shows, with the time it
# was first observed (the upsert's observed_at). Triggers keep it, so every writer of markets rows
# records versions the same way; a row is added only when one of the fields changes. Exports show
# the version known at a prompt's as_of, so an edit after the close ("[FINAL: UNDER WON]") never
# reaches a prompt. Existing markets start with their current fields at their newest observation.
_M005_VERSIONS = """
CREATE TABLE market_versions (
    market INTEGER NOT NULL,           -- markets.id
    observed_at REAL NOT NULL,         -- unix seconds this version was first observed
    title TEXT, description TEXT, category TEXT, outcomes TEXT, end_date TEXT,
    PRIMARY KEY (market, observed_at)
) WITHOUT ROWID;
INSERT INTO market_versions SELECT id, observed_at, title, description, category, outcomes, end_date
  FROM markets WHERE coalesce(title, description, category, outcomes, end_date) IS NOT NULL;
CREATE TRIGGER market_versions_insert AFTER INSERT ON markets
WHEN coalesce(new.title, new.description, new.category, new.outcomes, new.end_date) IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO market_versions VALUES (new.id, new.observed_at, new.title, new.description,
                                                   new.category, new.outcomes, new.end_date);
END;
CREATE TRIGGER market_versions_update AFTER UPDATE OF title, description, category, outcomes, end_date ON markets
WHEN new.title IS NOT old.title OR new.description IS NOT old.description OR new.category IS NOT old.category
  OR new.outcomes IS NOT old.outcomes OR new.end_date IS NOT old.end_date
BEGIN
    INSERT OR REPLACE INTO market_versions VALUES (new.id, new.observed_at, new.title, new.description,
                                                   new.category, new.outcomes, new.end_date);
END;
"""



def _order_books_sql() -> str:
    """The top of each market's book per cycle (issue 19): a packed blob per (t, market, outcome).

    Clustered like ``snapshot`` so a cycle appends at the B-tree's right edge. ``seen_ms`` is the
    observation time as milliseconds after the grid time t; ``book_ms`` the platform's own book
    timestamp relative to the observation (Polymarket); ``hash32`` the first 8 hex digits of its
    hash. ``levels`` NULL means the platform had no book (404, left out of a batch); an empty
    book is a blob with zero levels. ``order_books`` unpacks one row per level in plain SQL.
    """
    return f"""
CREATE TABLE book (
    t INTEGER NOT NULL,
    market INTEGER NOT NULL,
    outcome INTEGER NOT NULL,          -- 0: the YES book (Kalshi's one book); 1: Polymarket's NO token
    seen_ms INTEGER NOT NULL,          -- observed at t * 1000 + seen_ms (unix ms)
    levels BLOB,                       -- collector/books.py; NULL = no book
    book_ms INTEGER,                   -- the platform's book timestamp minus the observation, ms
    hash32 INTEGER,                    -- first 8 hex digits of the platform's book hash
    PRIMARY KEY (t, market, outcome)
) WITHOUT ROWID;

CREATE TABLE book_cycles (
    platform TEXT NOT NULL,
    t INTEGER NOT NULL,
    rows INTEGER NOT NULL,             -- markets with a YES book row for the cycle, found or not
    found INTEGER NOT NULL,            -- of which the platform had a book
    PRIMARY KEY (platform, t)
) WITHOUT ROWID;

-- Parquet files holding book rows moved out of SQLite (archive/order_books/...); like
-- archived_partitions for snapshots, written in the transaction that deletes the rows.
CREATE TABLE archived_book_partitions (
    platform TEXT NOT NULL,
    day TEXT NOT NULL,
    file TEXT NOT NULL,                -- relative to the archive directory
    t_start INTEGER NOT NULL,
    t_end INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    archived_at REAL NOT NULL,
    PRIMARY KEY (platform, file)
) WITHOUT ROWID;

{_order_books_view('book')}"""


def _order_books_view(source: str) -> str:
    """The ``order_books`` view over ``source`` (006: the raw ``book``; 007: ``book_levels``)."""
    lv = books.levels_sql("b.levels", "lv.value")
    indexes = "[" + ",".join(str(i) for i in range(2 * books.MAX_LEVELS)) + "]"
    return f"""CREATE VIEW order_books AS
SELECT m.market_id, m.platform,
       strftime('%Y-%m-%dT%H:%M:%SZ', b.t, 'unixepoch') AS snapshot_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', (b.t * 1000 + b.seen_ms) / 1000.0, 'unixepoch') AS observed_at,
       CASE b.outcome WHEN 0 THEN 'YES' ELSE 'NO' END AS outcome,
       {lv['side']} AS side,
       {lv['level']} AS level,
       {lv['price_millionths']} / 1e6 AS price,
       {lv['size']} AS size,
       b.t AS snapshot_ts, (b.t * 1000 + b.seen_ms) / 1000.0 AS observed_ts, b.market AS market_ref
  FROM {source} b JOIN markets m ON m.id = b.market
  JOIN json_each('{indexes}') lv ON lv.value < {lv['count']}
 WHERE b.levels IS NOT NULL;
"""


# Issue 19, storage: most books are the same from one cycle to the next, so the sink stores an
# unchanged book as a row without levels that names the earlier row holding them (``same_as`` =
# seconds back, always within the same UTC day so an archived day never leaves a dangling
# reference). Every observation keeps its own row and observation time; ``book_levels`` resolves
# the levels, and ``order_books`` reads it, so plain SQL sees every cycle's book as before.
_M007_BOOK_SAME_AS = f"""
ALTER TABLE book ADD COLUMN same_as INTEGER;  -- NULL, or: levels are those of the row at t - same_as
DROP VIEW order_books;
CREATE VIEW book_levels AS
SELECT b.t, b.market, b.outcome, b.seen_ms, coalesce(b.levels, r.levels) AS levels, b.book_ms, b.hash32,
       b.same_as
  FROM book b LEFT JOIN book r
    ON b.same_as IS NOT NULL AND r.t = b.t - b.same_as AND r.market = b.market AND r.outcome = b.outcome;
{_order_books_view('book_levels')}"""

# Phase state as data (issue 18): the listings a run read to their end, one row each, instead of a
# LIKE over the human-readable message. Runs from before keep their state: the notes they wrote.
_M008_PHASE_LISTINGS = """
CREATE TABLE phase_listings (
    job_id TEXT NOT NULL,               -- phase_runs.job_id
    listing TEXT NOT NULL,              -- e.g. 'full sweep', 'settled listing complete'
    PRIMARY KEY (job_id, listing)
) WITHOUT ROWID;
INSERT OR IGNORE INTO phase_listings (job_id, listing)
SELECT r.job_id, n.value FROM phase_runs r
  JOIN json_each('["full sweep", "updated listing complete", "settled listing complete",
                   "closed listing complete"]') n ON instr(r.message, n.value) > 0
 WHERE r.platform = 'kalshi' AND r.message != 'interrupted';
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", _M001_INITIAL),
    ("002_backfill_checkpoint", _M002_BACKFILL),
    ("003_archive", _M003_ARCHIVE),
    ("004_snapshot_observed_lag", _M004_OBSERVED),
    ("005_market_versions", _M005_VERSIONS),
    ("006_order_books", _order_books_sql()),
    ("007_book_same_as", _M007_BOOK_SAME_AS),
    ("008_phase_listings", _M008_PHASE_LISTINGS),
]
SCHEMA_VERSION = len(MIGRATIONS)


def connect_writer(path: str) -> sqlite3.Connection:
    """The sink's connection: WAL, synchronous=NORMAL, explicit transactions."""
    # Short: the sink is the only writer, so "busy" means something is wrong (another process
    # holds a write lock); a failed commit backs off and retries, and the loop stays responsive.
    db = sqlite3.connect(path, isolation_level=None, timeout=WRITER_BUSY_S)
    db.execute(f"PRAGMA busy_timeout = {int(WRITER_BUSY_S * 1000)}")
    check_ours(db, path)
    check_writable(db, path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA cache_size = -32768")  # 32 MiB page cache: inserts append at the B-tree edge
    return db


def check_writable(db: sqlite3.Connection, path: str) -> None:
    """Refuse at start a database SQLite opened read-only (read-only mount, immutable file).

    SQLite falls back to read-only silently; the sink would then show RUNNING while every commit
    fails. Rewriting user_version with its own value is a real write that changes nothing.
    """
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute(f"PRAGMA user_version = {int(version)}")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"{path}: cannot write the database ({exc}); the sink needs a writable "
                            "file and directory") from None


def migrate(db: sqlite3.Connection) -> int:
    """Apply pending migrations in order, each in its own transaction; returns the schema version."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise DatabaseError(
            f"database schema version {current} is newer than this program's {SCHEMA_VERSION}; "
            "upgrade polymaster-collector"
        )
    for version, (name, sql) in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        # executescript() commits any open transaction first, so BEGIN/COMMIT live in the script.
        script = (
            f"BEGIN IMMEDIATE;\n{sql}\n"
            f"PRAGMA application_id = {APPLICATION_ID};\n"
            f"PRAGMA user_version = {version};\n"
            f"INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_migration', '{name}');\n"
            "COMMIT;"
        )
        try:
            db.executescript(script)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
