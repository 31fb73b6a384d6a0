"""The README and --help stay true: every exported column is defined, every command documents itself."""

from __future__ import annotations

import re
import subprocess

import pytest

from exporter import columns
from tests.conftest import REPO, script

README = (REPO / "README.md").read_text()


def test_readme_defines_every_markets_parquet_column():
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|", README, flags=re.M))
    names = {n for pair in documented for n in pair if n}
    assert {name for name, _, _ in columns.MARKETS} <= names


def test_readme_test_command_is_what_ci_runs():
    assert "make test" in README
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize("command", ["collector", "fetcher", "sink", "scheduler", "exporter", "simulator"])
def test_every_console_script_has_help_with_an_example(command):
    out = subprocess.run([script(command), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Example" in out.stdout or "example" in out.stdout
