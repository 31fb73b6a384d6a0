"""Issue 14 part 2: `collector demo` shows the whole product within minutes, offline.

The demo's own files (supervisord.demo.conf, demo/config.demo.toml) are copied into tmp with the
simulator on a free port, and the checkout's .venv is linked in, so the run writes only to tmp.
Then, as the README tells a user: status says OK with backfilled history, an export with
--format=prompts has prompts, and archive moves the first simulated day to Parquet.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, script

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_root(tmp_path_factory):
    # a short path: supervisord's unix socket lives under it (AF_UNIX paths are limited to 107 bytes)
    root = tmp_path_factory.mktemp("demo") / "repo"
    (root / "demo").mkdir(parents=True)
    port = free_port()
    for name in ("supervisord.demo.conf", "demo/config.demo.toml"):
        (root / name).write_text((ROOT / name).read_text().replace("18790", str(port)))
    (root / ".venv").symlink_to(ROOT / ".venv")
    yield root
    subprocess.run([script("collector"), "demo", "--stop", "--root", str(root)], timeout=150)


def collector(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([script("collector"), "--config", str(root / "demo-data" / "config.toml"), *args],
                          capture_output=True, text=True, timeout=120, cwd=root)


def test_demo_gives_status_prompts_and_an_archive_within_minutes(demo_root):
    started = time.monotonic()
    up = subprocess.run([script("collector"), "demo", "--root", str(demo_root)], capture_output=True, text=True,
                        timeout=200, cwd=demo_root)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.count("backfill: ") == 2 and "collector --config demo-data/config.toml status" in up.stdout

    st = json.loads(collector(demo_root, "status", "--json").stdout)
    assert st["snapshots"]["backfill_total"] > 0 and st["database"]["source"] == "simulator"

    out = demo_root / "demo-data" / "export"
    export = collector(demo_root, "export", "--format=prompts", "--late-metadata", "--out", str(out), "--json",
                       "--no-wwatcher")  # as the demo tells: its prompts come from backfilled markets
    assert export.returncode == 0, export.stderr
    counts = json.loads(export.stdout)["counts"]
    assert counts["markets"] > 0 and counts["snapshots"] > 0 and counts["prompts"] > 0, counts
    assert (out / "prompts.jsonl").read_text().count("\n") == counts["prompts"]

    archived = None
    while time.monotonic() - started < 180:  # the first simulated midnight passes ~30 s in
        run = collector(demo_root, "archive", "--json")
        assert run.returncode == 0, run.stderr
        archived = json.loads(run.stdout)
        if archived["partitions"]:
            break
        time.sleep(5)
    assert archived and archived["partitions"] >= 1 and archived["rows"] > 0, archived
    assert time.monotonic() - started < 180

    status = collector(demo_root, "status")
    assert status.returncode == 0 and status.stdout.splitlines()[0] == "OK", status.stdout
    assert "archive: " in status.stdout


def test_demo_refuses_a_port_already_in_use(demo_root):
    import socket

    port = int((demo_root / "supervisord.demo.conf").read_text().split("--port ")[1].split()[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        r = subprocess.run([script("collector"), "demo", "--root", str(demo_root)], capture_output=True, text=True,
                           timeout=30)
    assert r.returncode == 2 and r.stderr.startswith("Error: something already listens on 127.0.0.1:"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (demo_root / "demo-data" / "supervisord.pid").exists()  # nothing was started
