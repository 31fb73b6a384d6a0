"""Issue 14: command-line mistakes are one `Error:` line, exit 2, found before any work starts.

Each case runs the real console script the way a user would and checks what they would see:
the exit code, a single stderr line, how long it took, and that no work was done.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from sink import schema
from tests.conftest import script, write_config

pytestmark = pytest.mark.timeout(60)


def run(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run([script(args[0]), *args[1:]], capture_output=True, text=True, timeout=50)
    return proc, time.monotonic() - started


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# The sink wait the commands below would sit out if they did not check for a sink first. They must
# answer long before it; "at once" is not timed closer because a loaded machine (xdist workers on
# 2 cores) takes seconds just to start Python and import the CLI.
SINK_WAIT_S = 60.0
AT_ONCE_S = 15.0


def empty_db(tmp: Path) -> Path:
    db = schema.connect_writer(str(tmp / "collector.db"))
    schema.migrate(db)
    db.close()
    return tmp / "collector.db"


def test_backfill_without_a_sink_says_so_at_once(tmp_path):
    cfg = write_config(tmp_path, zmq={"sink_wait_seconds": SINK_WAIT_S})
    proc, took = run("collector", "--config", str(cfg), "backfill", "--platform", "kalshi")
    one_line_error(proc, "sink is not running", "collector run")
    assert took < AT_ONCE_S, took
    assert "backfill kalshi" not in proc.stderr + proc.stdout  # no fetcher was started


def test_archive_without_a_sink_says_so_at_once(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path, zmq={"sink_wait_seconds": SINK_WAIT_S})
    proc, took = run("collector", "--config", str(cfg), "archive")
    one_line_error(proc, "sink is not running")
    assert took < AT_ONCE_S, took
    assert not (tmp_path / "archive").exists()  # nothing was written


def test_stale_sink_socket_file_is_not_a_sink(tmp_path):
    """A sink killed with SIGKILL leaves its ipc socket file behind; nobody accepts on it."""
    import socket

    cfg = write_config(tmp_path, zmq={"sink_wait_seconds": SINK_WAIT_S})
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(tmp_path / "sink.ipc"))  # bound, never listening: connect is refused
        proc, took = run("collector", "--config", str(cfg), "backfill")
    one_line_error(proc, "sink is not running", "sink.ipc")
    assert took < AT_ONCE_S, took


def test_backfill_bad_date_is_reported_once_before_any_fetcher(tmp_path):
    cfg = write_config(tmp_path)
    proc, _ = run("collector", "--config", str(cfg), "backfill", "--since", "01/02/2026")
    one_line_error(proc, "--since", "YYYY-MM-DD", "01/02/2026")
    proc, _ = run("collector", "--config", str(cfg), "backfill", "--since", "2026-02-01", "--until", "2026-01-01")
    one_line_error(proc, "is after --until")


def test_export_out_below_a_file(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path)
    (tmp_path / "afile").write_text("x")
    proc, _ = run("collector", "--config", str(cfg), "export", "--out", str(tmp_path / "afile" / "sub"))
    one_line_error(proc, "--out", "is a file")


def test_export_out_in_a_read_only_place(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path)
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses even root
        target = Path("/sys/polymaster-export-test")
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        target = tmp_path / "ro" / "out"
    proc, _ = run("exporter", "--config", str(cfg), "--out", str(target))
    one_line_error(proc, "--out", "cannot write there")


@pytest.mark.slow
def test_export_explicit_wwatcher_missing_or_not_sqlite(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path)
    proc, _ = run("exporter", "--config", str(cfg), "--out", str(tmp_path / "o1"),
                  "--wwatcher", str(tmp_path / "nope.db"))
    one_line_error(proc, "--wwatcher", "nope.db", "no such file")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    proc, _ = run("exporter", "--config", str(cfg), "--out", str(tmp_path / "o2"), "--wwatcher", str(garbage))
    one_line_error(proc, "--wwatcher", "not an SQLite database")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_export_split_date_with_slashes(tmp_path):
    empty_db(tmp_path)
    cfg = write_config(tmp_path)
    proc, _ = run("collector", "--config", str(cfg), "export", "--format=prompts", "--split-date", "2026/06/01")
    one_line_error(proc, "--split-date", "YYYY-MM-DD")


@pytest.mark.slow
def test_exporter_db_that_is_not_a_database(tmp_path):
    cfg = write_config(tmp_path)
    (tmp_path / "notadb").write_bytes(b"hello, not sqlite" * 50)
    proc, _ = run("exporter", "--config", str(cfg), "--db", str(tmp_path / "notadb"), "--out", str(tmp_path / "o"))
    one_line_error(proc, "--db", "not an SQLite database")
    proc, _ = run("exporter", "--config", str(cfg), "--db", str(tmp_path / "absent.db"), "--out", str(tmp_path / "o"))
    one_line_error(proc, "--db", "no such file")


@pytest.mark.parametrize("args, words", [
    (["--port", "-5"], ["--port", "-5"]),
    (["--port", "0", "--speed", "-3"], ["--speed", "-3"]),
    (["--port", "0", "--start", "yesterday"], ["--start", "ISO 8601"]),
])
def test_simulator_bad_values(args, words):
    proc, took = run("simulator", *args)
    one_line_error(proc, *words)


@pytest.mark.parametrize("command", ["collector", "fetcher", "sink", "scheduler", "exporter", "simulator"])
def test_every_command_has_version_and_short_help(command):
    proc, _ = run(command, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith(f"{command} (polymaster-collector) "), proc.stdout
    proc, _ = run(command, "-h")
    assert proc.returncode == 0 and "Example:" in proc.stdout, proc.stdout


def test_collector_subcommands_take_short_help():
    for sub in ("status", "run", "ctl", "backfill", "archive", "export"):
        proc, _ = run("collector", sub, "-h")
        assert proc.returncode == 0 and f"collector {sub}" in proc.stdout and "Example: collector" in proc.stdout, sub
