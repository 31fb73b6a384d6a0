"""sink and scheduler turn every expected start failure into one `Error:` line and exit 2 (issue 17)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import script, wait_for


def config_with_db(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[general]\ndb_path = "{db_path}"\n[sink]\nmin_free_disk_mb = 1\n')
    return path


def run(name: str, cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([script(name), "--config", str(cfg)], capture_output=True, text=True, timeout=30)


def assert_one_line_exit_2(out: subprocess.CompletedProcess, needle: str) -> None:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], out.stderr


@pytest.mark.parametrize("name", ["sink", "scheduler"])
def test_unwritable_data_dir_is_one_line_exit_2(tmp_path, name):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = run(name, config_with_db(tmp_path, blocker / "data" / "collector.db"))
    assert_one_line_exit_2(out, "a-file")


def test_not_a_database_is_one_line_exit_2(tmp_path):
    db = tmp_path / "collector.db"
    db.write_bytes(b"this is not sqlite" * 100)
    assert_one_line_exit_2(run("sink", config_with_db(tmp_path, db)), "not a SQLite database")


@pytest.fixture
def immutable(tmp_path):
    """chattr +i: read-only even for root (what a read-only mount does), undone at teardown."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr not available")
    made: list[Path] = []

    def make(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i not permitted here")
        made.append(path)

    yield make
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_read_only_database_is_refused_at_start(tmp_path, immutable):
    db = tmp_path / "collector.db"
    cfg = config_with_db(tmp_path, db)
    sqlite3.connect(db).close()  # an existing (empty) database file the sink could only read
    immutable(db)
    assert_one_line_exit_2(run("sink", cfg), "cannot write the database")


def test_read_only_data_dir_is_refused_at_start(tmp_path, immutable):
    data = tmp_path / "data"
    data.mkdir()
    immutable(data)
    out = run("sink", config_with_db(tmp_path, data / "collector.db"))
    assert_one_line_exit_2(out, "collector.db")


def test_database_and_sockets_are_owner_only_whatever_the_umask(procs, tmp_path):
    data = tmp_path / "fresh" / "data"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[general]\ndb_path = "{data / "collector.db"}"\n[sink]\nmin_free_disk_mb = 1\n'
                   '[polymarket]\nenabled = true\n')
    sink = procs.start(["sh", "-c", f"umask 000; exec {script('sink')} --config {cfg}"], tmp_path / "sink.log")
    sched = procs.start(["sh", "-c", f"umask 000; exec {script('scheduler')} --config {cfg}"],
                        tmp_path / "scheduler.log")
    wait_for(lambda: (data / "sink.ipc").exists() and (data / "scheduler.ipc").exists(), what="sockets")
    wait_for(lambda: (data / "collector.db-wal").exists(), what="WAL file")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir() if not p.name.endswith(".log")}
    assert modes["collector.db"] == 0o600 and modes["collector.db-wal"] == 0o600
    assert modes["sink.ipc"] == 0o600 and modes["scheduler.ipc"] == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
    assert sink.stop() == 0 and sched.stop() == 0
