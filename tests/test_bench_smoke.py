"""Every benchmark still runs: each bench/bench_*.py at a tiny size, exit 0 and at least one FIGURE.

The figures themselves come from `make bench` at full size (bench/RESULTS.md); this only keeps
the scripts from rotting while the code under them changes (two of them broke unnoticed once:
a config that the stricter validation refused, and a status call that read the verdict's exit
code as a crash). The long ones (`make scale`) have their own tests. Temporary files go to this
test's tmp dir (TMPDIR), nothing is written to bench/.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TINY = {
    "archive": ["--markets", "50", "--days", "2"],
    "backfill": ["--markets", "60", "--small", "20", "--kalshi", "10"],
    "books": ["--markets", "100", "--cycles", "8", "--sim-markets", "0", "--shares", "0.5"],
    "export": ["--markets", "300", "--snapshots", "30000", "--active", "50"],
    "kalshi": ["--markets", "2000", "--sim-markets", "2000"],
    "labels": ["--pm-markets", "300", "--kx-markets", "300"],
    "link": ["--markets", "2000", "--alerts", "500"],
    "polymarket": ["--markets", "1000", "--sim-markets", "1000"],
    "simulator": ["--markets", "2000", "--pages", "3"],
    "sink": ["--markets", "500", "--cycles", "4"],
    "status": ["--snapshot-rows", "20000"],
    "year": ["--fractions", "0.00002", "0.00004", "--books"],  # the order-book path runs the snapshot one too
}
LONG_RUNS = {"scale"}  # `make scale`; tests/test_bench_scale.py


def test_every_benchmark_has_a_tiny_size_here():
    benches = {p.stem[len("bench_"):] for p in (REPO / "bench").glob("bench_*.py")}
    assert benches - LONG_RUNS == set(TINY), "add the new benchmark to TINY"


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(name, tmp_path):
    before = set(os.listdir(REPO / "bench"))
    proc = subprocess.run([sys.executable, str(REPO / "bench" / f"bench_{name}.py"), *TINY[name]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=280,
                          env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert any(line.startswith("FIGURE\t") for line in proc.stdout.splitlines()), proc.stdout[-2000:]
    assert set(os.listdir(REPO / "bench")) - before <= {"__pycache__"}
