"""`collector status` shows how many markets are closed but not final and how old the oldest is."""

from __future__ import annotations

import json

import pytest

from sink import schema
from tests.conftest import iso
from tests.status_rig import NOW, collector, status_config

pytestmark = pytest.mark.timeout(60)


def test_status_counts_closed_pending_markets_and_the_oldest_age(tmp_path):
    db = schema.connect_writer(str(tmp_path / "collector.db"))
    schema.migrate(db)
    rows = [("polymarket", "p1", "closed", iso(NOW - 3 * 3600)), ("polymarket", "p2", "closed", iso(NOW - 600)),
            ("polymarket", "p3", "resolved", iso(NOW - 9 * 86400)), ("polymarket", "p4", "active", None),
            ("kalshi", "k1", "closed", iso(NOW - 2 * 86400))]
    db.executemany("INSERT INTO markets (platform, market_id, status, closed_at, first_seen_at, observed_at)"
                   " VALUES (?,?,?,?,0,0)", rows)
    db.commit()
    db.close()
    cfg = str(status_config(tmp_path))
    st = json.loads(collector("--config", cfg, "status", "--json", code=2).stdout)  # DOWN: no supervisord
    pending = st["closed_pending"]
    assert pending["polymarket"]["count"] == 2 and pending["kalshi"]["count"] == 1
    assert abs(pending["polymarket"]["oldest_age_seconds"] - 3 * 3600) < 120
    assert abs(pending["kalshi"]["oldest_age_seconds"] - 2 * 86400) < 120
    assert pending["polymarket"]["stuck"] == pending["kalshi"]["stuck"] == 0  # none closed over 7 days ago
    text = collector("--config", cfg, "status", code=2).stdout
    assert "closed, not final: kalshi 1 markets, oldest closed 48.0 h ago" in text
    assert "closed, not final: polymarket 2 markets, oldest closed 3.0 h ago" in text
