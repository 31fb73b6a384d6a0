"""Phase state is data, not text (issue 18): which listings a run read to their end travels as
``PhaseReport.listings_complete`` into ``phase_listings``; nothing parses the human message."""

from __future__ import annotations

import sqlite3

from collector import clock, wire
from fetchers import kalshi_db
from sink import schema
from sink.store import Store

T0 = 1_780_000_000.0


def fresh_db(tmp_path) -> sqlite3.Connection:
    db = schema.connect_writer(str(tmp_path / "collector.db"))
    schema.migrate(db)
    return db


def store(db: sqlite3.Connection, records: list) -> None:
    """As the sink does: one transaction per batch."""
    db.execute("BEGIN IMMEDIATE")
    Store(db).apply(records, T0)
    db.execute("COMMIT")


def report(job_id: str, started: float, message: str, listings: list[str]) -> wire.PhaseReport:
    return wire.PhaseReport(job_id=job_id, platform="kalshi", phase="resolve", started_at=started,
                            finished_at=started + 5, ok=True, message=message, listings_complete=listings)


def test_the_listing_window_moves_by_the_typed_field_not_by_the_message(tmp_path):
    db = fresh_db(tmp_path)
    # A run whose message merely mentions the listing (a note, a copied error) does not move the window ...
    store(db, [report("a", T0, "settled listing complete (as a note someone typed)", [])])
    assert kalshi_db.listing_watermark(db, "settled listing complete", first_lookback_s=None) is None
    # ... one that read it to the end does, whatever its message says.
    store(db, [report("b", T0 + 100, "", ["settled listing complete"])])
    assert kalshi_db.listing_watermark(db, "settled listing complete", first_lookback_s=None) == min(T0 + 100, clock.now())
    assert kalshi_db.listing_watermark(db, "closed listing complete", first_lookback_s=None) is None


def test_runs_stored_before_the_migration_keep_their_state(tmp_path, monkeypatch):
    path = str(tmp_path / "collector.db")
    before = [m for m in schema.MIGRATIONS if m[0] != "008_phase_listings"]
    monkeypatch.setattr(schema, "MIGRATIONS", before)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(before))
    db = schema.connect_writer(path)
    schema.migrate(db)
    db.executemany("INSERT INTO phase_runs VALUES (?,'kalshi',?,NULL,?,?,1,1,0,0,0,0,?)",
                   [("old-sweep", "discover", T0, T0 + 1, "full sweep"),
                    ("old-both", "resolve", T0, T0 + 1, "3 skipped; settled listing complete; closed listing complete"),
                    ("old-stopped", "resolve", T0, T0 + 1, "interrupted")])
    db.close()
    monkeypatch.undo()
    db = schema.connect_writer(path)
    schema.migrate(db)
    rows = sorted(db.execute("SELECT job_id, listing FROM phase_listings").fetchall())
    assert rows == [("old-both", "closed listing complete"), ("old-both", "settled listing complete"),
                    ("old-sweep", "full sweep")]
