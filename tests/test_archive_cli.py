"""`collector archive` as an operator runs it (issue 14): a progress bar on a terminal, log lines
otherwise, one summary; and its markets.parquet typed like the export's markets.parquet."""

from __future__ import annotations

import os
import pty
import select
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import kx_id, script
from tests.archive_rig import archive, export

pytestmark = pytest.mark.timeout(240)


def run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as in an interactive shell."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(60), out.decode(errors="replace")


@pytest.mark.slow
def test_archive_progress_bar_on_a_terminal_and_log_lines_otherwise(filled_sink, tmp_path):
    cfg, _, _ = filled_sink
    code, screen = run_on_terminal([script("collector"), "--config", str(cfg), "archive"])
    assert code == 0, screen
    assert "archiving" in screen and "10/10" in screen, screen  # click's bar with the partition count
    assert screen.count("archived 10 partitions") == 1, screen  # the summary, once

    again = archive(cfg)  # a pipe: no bar, log lines with UTC times instead
    assert again.returncode == 0, again.stderr
    assert "0/0" not in again.stderr and "\r" not in again.stderr
    assert "archiver INFO 0 partitions older than" in again.stderr
    assert again.stdout.strip().startswith("archived 0 partitions")


@pytest.mark.slow
def test_archive_markets_file_has_the_exports_column_types(filled_sink, tmp_path):
    cfg, _, _ = filled_sink
    assert archive(cfg).returncode == 0
    export(cfg, tmp_path / "out")
    archived = pq.read_schema(tmp_path / "archive" / "markets" / "markets.parquet")
    exported = pq.read_schema(tmp_path / "out" / "markets.parquet")
    shared = set(archived.names) & set(exported.names)
    assert {"outcomes", "resolved_at", "closed_at", "volume", "market_id"} <= shared
    for name in shared:
        assert archived.field(name).type == exported.field(name).type, name
    for name in ("first_seen_at", "observed_at", "end_date", "created_at"):
        assert archived.field(name).type == exported.field("resolved_at").type, name
    table = pq.read_table(tmp_path / "archive" / "markets" / "markets.parquet")
    row = table.filter(pa.compute.equal(table["market_id"], kx_id(1))).to_pylist()[0]
    assert row["outcomes"] == ["Yes", "No"] and row["resolution"] == "YES"
    assert row["resolved_at"].year == 2026 and row["first_seen_at"] is not None
