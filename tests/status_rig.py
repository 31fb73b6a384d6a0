"""`collector status` against a collector.db with known contents: a clock pinned at NOW (halfway
through a snapshot slot) and the console script run as a user runs it (tests/test_status.py,
test_labels_status.py).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.conftest import script

STEP = 900
SLOT = 1_800_000_000 // STEP * STEP  # the current snapshot slot at "now"
NOW = SLOT + 450  # halfway through it


def status_config(tmp: Path) -> Path:
    """A config in tmp whose simulated clock reads NOW."""
    path = tmp / "config.toml"
    path.write_text(f"""
[general]
db_path = "{tmp / 'collector.db'}"
data_dir = "{tmp / 'data'}"
[clock]
speed = 1.0
real_origin = {time.time()}
sim_origin = {NOW}
""")
    return path


def collector(*args: str, check=True, code=0) -> subprocess.CompletedProcess:
    """Run the console script; with check, assert its exit code is `code`."""
    proc = subprocess.run([script("collector"), *args], capture_output=True, text=True, timeout=30)
    if check:
        assert proc.returncode == code, proc.stderr
    return proc
