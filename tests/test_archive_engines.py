"""The archive is an open format: pyarrow.dataset and DuckDB read it identically, and both prune
partitions, so a user can query a year of it in place without touching the other days' files."""

from __future__ import annotations

import shutil

import duckdb
import pyarrow.dataset as ds
import pytest

from tests.archive_rig import T0, archive

COLUMNS = "market_id, t, yes, bid, ask, volume, liquidity"


def arrow_rows(root, where=None, schema=None):
    """Rows via pyarrow.dataset; with ``schema`` given (as one does for a large archive) no file is
    opened just to infer it."""
    data = ds.dataset(root, format="parquet", partitioning="hive", schema=schema)
    table = data.to_table(filter=where)
    cols = ["platform", "date", *COLUMNS.split(", ")]
    return sorted(zip(*(_plain(table.column(c).to_pylist()) for c in cols)))


def duck_rows(root, where=""):
    cols = COLUMNS.replace(" t,", " CAST(epoch(t) AS BIGINT),")
    rows = duckdb.sql(f"SELECT platform, CAST(date AS VARCHAR), {cols} FROM read_parquet('{root}/*/*/*.parquet',"
                      f" hive_partitioning = true) {where}").fetchall()
    return sorted(tuple(_plain(list(r))) for r in rows)


def _plain(values):
    """Timestamps as epoch seconds, everything else as it is, so both engines compare equal."""
    return [int(v.timestamp()) if hasattr(v, "timestamp") else str(v) if hasattr(v, "isoformat") else v
            for v in values]


@pytest.mark.slow
def test_pyarrow_dataset_and_duckdb_read_the_same_rows_and_prune(filled_sink, tmp_path):
    cfg, _, _ = filled_sink
    assert archive(cfg).returncode == 0
    root = tmp_path / "archive" / "price_snapshots"
    every = arrow_rows(root)
    assert every and every == duck_rows(root)
    assert {r[0] for r in every} == {"polymarket", "kalshi"}

    # Pruning, shown the way a user would feel it: corrupt every file outside the partition asked
    # for (in a copy); a query filtered on the partition columns still succeeds in both engines.
    # The partition kept is the first in path order, the file DuckDB binds the schema from.
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    day = _day(T0)
    for f in copy.rglob("*.parquet"):
        if not ("platform=kalshi" in str(f) and f"date={day}" in str(f)):
            f.write_bytes(b"not parquet")
    wanted = [r for r in every if r[0] == "kalshi" and r[1] == day]
    assert wanted
    schema = ds.dataset(root, format="parquet", partitioning="hive").schema
    got_arrow = arrow_rows(copy, (ds.field("platform") == "kalshi") & (ds.field("date") == day), schema)
    got_duck = duck_rows(copy, f"WHERE platform = 'kalshi' AND date = '{day}'")
    assert got_arrow == got_duck == wanted
    # ... and without the filter the corrupt files are read, and fail: the check above can fail.
    try:
        duck_rows(copy)
    except duckdb.Error:
        pass
    else:
        raise AssertionError("DuckDB read the corrupted partitions without complaint")


def _day(t: int) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(t))
