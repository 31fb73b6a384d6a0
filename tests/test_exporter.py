"""The exporter as a user runs it: `exporter --out DIR` on a collector.db, then read the files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.json  # noqa: F401  (pa.json)
import pyarrow.parquet as pq
import pytest

from tests.exporter_rig import (AFTER_CLOSE_PRICE, BACKFILL_SHADOWED, CREATED, LOAD_EVERY_CONFIG, build_collector_db,
                                close_of, declared_configs, exporter_cmd, make_wwatcher)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    facts = build_collector_db(d / "collector.db")
    truth = make_wwatcher(d / "wwatcher.db", d / "collector.db", 600, "faithful")
    return d, facts, truth


def export(d: Path, out: Path, *extra: str, wwatcher: str | None = None) -> subprocess.CompletedProcess:
    cfg = d / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{d / "collector.db"}"\n[export]\n'
                   f'wwatcher_db_path = "{wwatcher or d / "wwatcher.db"}"\n')
    return subprocess.run([exporter_cmd(), "--config", str(cfg), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=90)


def test_help_names_every_option():
    r = subprocess.run([exporter_cmd(), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for opt in ("--out", "--prompts", "--format", "--split-date", "--wwatcher", "--no-wwatcher", "--db"):
        assert opt in r.stdout


@pytest.mark.slow
def test_markets_parquet_columns_and_values(world, tmp_path):
    d, facts, _ = world
    r = export(d, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    table = pq.read_table(tmp_path / "out" / "markets.parquet")
    s = table.schema
    assert s.field("resolved_at").type == pa.timestamp("ms", tz="UTC")  # Parquet has no seconds unit
    assert s.field("outcomes").type == pa.list_(pa.string())
    assert pa.types.is_list(s.field("price_history").type)
    assert s.field("price_history").type.value_type.field("t").type == pa.timestamp("ms", tz="UTC")
    assert pa.types.is_struct(s.field("whale_alerts").type.value_type)
    assert pa.types.is_struct(s.field("news_headlines").type.value_type)
    rows = {row["market_id"]: row for row in table.to_pylist()}
    assert len(rows) == len(facts["resolved"])  # voided and active markets are left out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["markets"] == len(facts["resolved"])
    assert manifest["counts"]["voided_left_out"] == len(facts["voided"])
    for ref, f in facts["resolved"].items():
        row = rows[f["market_id"]]
        assert row["resolution"] == f["label"] and row["platform"] == f["platform"]
        hist = row["price_history"]
        times = [int(h["t"].timestamp()) for h in hist]
        closed = close_of(ref)
        assert times == sorted(times) and max(times) <= closed  # nothing after close
        assert row["price_at_open"] == 0.5  # the earliest (backfilled) snapshot
        assert row["price_at_close"] == hist[-1]["yes_price"] and times[-1] == closed
        assert all(h["yes_price"] != BACKFILL_SHADOWED for h in hist)  # live wins over backfill
        assert len(times) == len(set(times))
        assert row["snapshots_after_cutoff"] == 8
        assert row["days_to_resolution"] == pytest.approx((closed + 6 * 3600 - CREATED) / 86400)
    first = rows[facts["resolved"][1]["market_id"]]
    assert AFTER_CLOSE_PRICE not in [h["yes_price"] for h in first["price_history"]]
    assert [n["headline"] for n in first["news_headlines"]] == ["Early headline", "Mid headline",
                                                                "Late headline after as-of"]


@pytest.mark.slow
def test_whale_alerts_are_linked_deduplicated_and_summarised(world, tmp_path):
    d, facts, truth = world
    assert export(d, tmp_path / "out").returncode == 0
    rows = pq.read_table(tmp_path / "out" / "markets.parquet").to_pylist()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    alerts = manifest["counts"]["alerts"]
    assert manifest["wwatcher"]["status"] == "used"
    assert alerts["total"] == len(truth)
    assert alerts["duplicates"] == sum(t["duplicate_of"] is not None for t in truth)
    assert alerts["exact"] + alerts["fuzzy"] + alerts["unmatched"] + alerts["duplicates"] == len(truth)
    by_id = {t["id"]: t for t in truth}
    resolved_ids = {f["market_id"] for f in facts["resolved"].values()}
    for row in rows:
        for w in row["whale_alerts"]:
            t = by_id[w["alert_id"]]
            assert t["true_market_id"] == row["market_id"] and t["duplicate_of"] is None
            assert w["stance"] in ("YES", "NO")
        assert row["whale_count"] == len(row["whale_alerts"])
        if row["whale_alerts"]:
            assert -1.0 <= row["whale_net_direction"] <= 1.0
            assert row["whale_max_value"] == max(w["usd"] for w in row["whale_alerts"])
    expected = sum(1 for t in truth if t["duplicate_of"] is None and t["true_market_id"] in resolved_ids
                   and t["in_catalog"] and t["title_variant"] != "null_lookup_failed")
    assert sum(r["whale_count"] for r in rows) == expected
    unmatched = pq.read_table(tmp_path / "out" / "unmatched_alerts.parquet").to_pylist()
    assert len(unmatched) == alerts["unmatched"]
    assert all(not by_id[u["alert_id"]]["in_catalog"] or by_id[u["alert_id"]]["title_variant"] ==
               "null_lookup_failed" for u in unmatched)


@pytest.mark.slow
def test_reexport_is_byte_identical_and_leaves_no_temp_files(world, tmp_path):
    d, _, _ = world
    out = tmp_path / "out"
    assert export(d, out, "--prompts").returncode == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert export(d, out, "--prompts").returncode == 0
    second = {p.name: p.read_bytes() for p in out.iterdir()}
    assert first == second
    assert sorted(first) == ["README.md", "calibration.png", "manifest.json", "markets.parquet", "prompts.jsonl",
                             "prompts.parquet", "prompts_test.parquet", "prompts_train.parquet",
                             "unmatched_alerts.parquet"]
    # a later export without prompts removes the now-stale prompt files and plot it had written
    assert export(d, out).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "manifest.json", "markets.parquet",
                                                     "unmatched_alerts.parquet"]


def test_failed_export_keeps_previous_files(world, tmp_path, monkeypatch):
    from collector.config import load
    from exporter import export as export_mod, rows

    d, _, _ = world
    out = tmp_path / "out"
    assert export(d, out).returncode == 0
    before = (out / "markets.parquet").read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rows, "markets_table", boom)
    opt = export_mod.Options(db_path=d / "collector.db", out_dir=out, use_wwatcher=False, log=lambda m: None)
    with pytest.raises(RuntimeError):
        export_mod.run(load(None), opt)
    assert (out / "markets.parquet").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "manifest.json", "markets.parquet",
                                                     "unmatched_alerts.parquet"]


def test_missing_wwatcher_still_exports(world, tmp_path):
    """A configured wwatcher path that is absent is skipped (an explicit --wwatcher is an error:
    tests/test_cli_errors.py)."""
    d, facts, _ = world
    r = export(d, tmp_path / "out", wwatcher=str(tmp_path / "nope.db"))
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["wwatcher"]["status"] == "missing" and "nope.db" in r.stderr
    assert m["counts"]["markets"] == len(facts["resolved"])


@pytest.mark.slow
def test_wrong_schema_and_garbage_wwatcher_still_export(world, tmp_path):
    d, facts, _ = world
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE alerts (id INTEGER, something TEXT)")
    con.commit()
    con.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    for path, status in ((other, "wrong_schema"), (garbage, "wrong_schema")):
        r = export(d, tmp_path / path.stem, wwatcher=str(path))  # configured, not --wwatcher
        assert r.returncode == 0, r.stderr
        m = json.loads((tmp_path / path.stem / "manifest.json").read_text())
        assert m["wwatcher"]["status"] == status, m["wwatcher"]
        assert m["counts"]["markets"] == len(facts["resolved"])


@pytest.mark.slow
def test_locked_wwatcher_still_exports_and_is_never_written(world, tmp_path):
    d, facts, _ = world
    locked = tmp_path / "locked.db"
    locked.write_bytes((d / "wwatcher.db").read_bytes())
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(locked)!r}, isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=DELETE'); c.execute('BEGIN EXCLUSIVE')\n"
        "c.execute(\"INSERT INTO metadata VALUES ('lock', 'held')\")\n"
        "print('locked', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = locked.read_bytes()
        r = export(d, tmp_path / "out", "--wwatcher", str(locked))
        assert r.returncode == 0, r.stderr
        m = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert m["wwatcher"]["status"] == "locked", m["wwatcher"]
        assert m["counts"]["markets"] == len(facts["resolved"])
        assert locked.read_bytes() == before
    finally:
        holder.kill()
        holder.wait(5)


def test_not_a_collector_db_is_a_clear_error(tmp_path):
    bad = tmp_path / "collector.db"
    sqlite3.connect(bad).execute("CREATE TABLE x (y)").connection.close()
    r = subprocess.run([exporter_cmd(), "--db", str(bad), "--out", str(tmp_path / "o"), "--no-wwatcher"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a polymaster-collector database" in r.stderr


@pytest.mark.slow
def test_dataset_card_declares_configs(world, tmp_path):
    d, _, _ = world
    assert export(d, tmp_path / "out", "--prompts", "--split-date", "2026-03-05").returncode == 0
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n")
    header = card.split("---\n")[1]
    for name in ("markets.parquet", "unmatched_alerts.parquet", "prompts_train.parquet", "prompts_test.parquet"):
        assert f"path: {name}" in header
        assert (tmp_path / "out" / name).exists()
    for name in ("prompts_train.jsonl", "prompts_test.jsonl"):  # JSONL beside, not declared (schema inferred)
        assert f"path: {name}" not in header and (tmp_path / "out" / name).exists()
    for col in ("price_at_close", "whale_net_direction", "whale_avg_win_rate", "days_to_resolution"):
        assert f"| `{col}` |" in card
    pq.read_table(tmp_path / "out" / "markets.parquet")  # what load_dataset("parquet") reads
    pa.json.read_json(tmp_path / "out" / "prompts_train.jsonl")  # what load_dataset("json") reads


@pytest.mark.slow
def test_export_folder_loads_with_hugging_face_datasets(world, tmp_path):
    """What an ML engineer does first: load_dataset on the folder, every declared config (offline)."""
    d, facts, _ = world
    out = tmp_path / "out"
    assert export(d, out, "--prompts", "--split-date", "2026-03-05").returncode == 0
    configs = declared_configs((out / "README.md").read_text())
    assert set(configs) == {"markets", "unmatched_alerts", "prompts"}
    r = subprocess.run([sys.executable, "-c", LOAD_EVERY_CONFIG, str(out), str(tmp_path / "hf"), json.dumps(list(configs))],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    assert got["markets"]["train"]["rows"] == manifest["counts"]["markets"] > 0
    assert got["unmatched_alerts"]["train"]["rows"] == manifest["files"]["unmatched_alerts.parquet"]["rows"] > 0
    assert got["prompts"]["train"]["rows"] == manifest["counts"]["prompts_train"] > 0
    assert got["prompts"]["test"]["rows"] == manifest["counts"]["prompts_test"] > 0
    assert got["prompts"]["train"]["features"] == got["prompts"]["test"]["features"]
    assert "tz=UTC" in got["prompts"]["test"]["features"]["as_of"]
