"""The export's bucketed sort (exporter/history.py) gives the same dataset however the rows are cut:
one bucket and one chunk, or many small buckets split in several passes of a small fan-out.

A year at full scale has ~1,500 buckets, split 16 at a time in three passes; this runs the same
code paths on the archive tests' six days (snapshots and order books) by making the sizes tiny,
in a real exporter process reading both stores (the older days archived to Parquet, the rest
still in SQLite).
"""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.archive_rig import archive, fill, fill_books, make_config
from tests.conftest import start_sink

TINY = {"CHUNK_ROWS": 300, "BUCKET_ROWS": 600, "SPLIT_FANOUT": 2}  # 2 markets a chunk, 6 buckets, 3 passes


def export_with(cfg, out, sizes: dict[str, int]) -> tuple:
    code = ("import sys; from exporter import history\n"
            + "".join(f"history.{k} = {v}\n" for k, v in sizes.items())
            + "from exporter.main import main; sys.argv[0] = 'exporter'; main()")
    r = subprocess.run([sys.executable, "-c", code, "--config", str(cfg), "--out", str(out), "--prompts",
                        "--no-wwatcher", "--quiet", "--log-memory"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    chunks = [line for line in r.stderr.splitlines() if line.startswith("memory at chunk ")]
    return pq.read_table(out / "markets.parquet"), (out / "prompts.jsonl").read_bytes(), chunks


@pytest.mark.slow
def test_tiny_buckets_split_in_passes_give_the_same_export(procs, tmp_path):
    cfg = make_config(tmp_path)
    start_sink(procs, tmp_path, cfg)
    total = fill(cfg)
    fill_books(cfg)
    r = archive(cfg)
    assert r.returncode == 0 and "order books in" in r.stdout, r.stdout + r.stderr
    whole, whole_prompts, whole_chunks = export_with(cfg, tmp_path / "whole", {})
    cut, cut_prompts, cut_chunks = export_with(cfg, tmp_path / "cut", TINY)
    assert whole_chunks[-1].startswith("memory at chunk 1 of 1:")  # the default sizes: one chunk
    assert cut_chunks[-1].startswith("memory at chunk 12 of 12:")  # tiny sizes: 12 chunks in 6 buckets
    assert sum(len(h) for h in whole.column("price_history").to_pylist()) == total
    assert sum(len(h) for h in whole.column("book_history").to_pylist()) == 3 * 6 * 4  # 3 markets, 6 days, 6-hourly
    assert cut.equals(whole)
    assert cut_prompts == whole_prompts
    assert not list((tmp_path / "cut").glob(".export-*"))  # the buckets and the scratch database are gone
