"""Conventions every console script shares: -h/--help, --version, and checks of output paths.

One place so that `collector`, `exporter`, `fetcher`, `sink`, `scheduler` and `simulator` agree.
"""

from __future__ import annotations

import calendar
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from collector.errors import UsageError

PACKAGE = "polymaster-collector"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
version_option = click.version_option(package_name=PACKAGE, message="%(prog)s (" + PACKAGE + ") %(version)s")


class OneLineErrors:
    """click's usage errors as one ``Error: ...`` line (exit 2) instead of usage text plus error.

    Mixed into our Command and Group classes; everything else behaves as click's standalone mode.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else (prog_name or "the command")
            click.echo(f"Error: {exc.format_message()} (see: {where} -h)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class Command(OneLineErrors, click.Command):
    pass


class Group(OneLineErrors, click.Group):
    pass


def writable_dir(path: Path, option: str) -> Path:
    """Create ``path`` if needed and prove a file can be written in it; UsageError (exit 2) otherwise.

    Checked before any work, so a bad --out fails in milliseconds with one line, not after a long
    export with a traceback. A parent that is a file is named as such."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"{option} {path}: {probe} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_file(path: Path, option: str) -> Path:
    """An existing SQLite database file, or UsageError (exit 2) naming what is wrong."""
    if not path.is_file():
        raise UsageError(f"{option} {path}: no such file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it ({exc.strerror or exc})") from None
    if head != SQLITE_MAGIC:
        raise UsageError(f"{option} {path}: not an SQLite database")
    return path


def iso_day(value: str, option: str) -> str:
    """A YYYY-MM-DD date, or UsageError (exit 2)."""
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a date as YYYY-MM-DD") from None
    if len(value) != 10:
        raise UsageError(f"{option} {value!r}: expected a date as YYYY-MM-DD")
    return value


DAY_S = 86400


def parse_day(text: str | None, option: str) -> int | None:
    """'YYYY-MM-DD' (UTC) -> unix seconds of its midnight; None stays None; UsageError otherwise."""
    if text is None:
        return None
    return calendar.timegm(time.strptime(iso_day(text, option), "%Y-%m-%d"))


@dataclass
class Window:
    """Markets whose resolution time falls in [lo, hi] (unix seconds, both ends inclusive)."""

    lo: int | None = None
    hi: int | None = None

    def holds(self, t: int | None) -> bool:
        if t is None:
            return self.lo is None and self.hi is None
        return (self.lo is None or t >= self.lo) and (self.hi is None or t <= self.hi)


def parse_window(since: str | None, until: str | None) -> Window:
    """--since/--until as a Window of whole UTC days (both included); UsageError (exit 2) otherwise.
    `collector backfill` checks it once before it starts any fetcher; `fetcher --backfill` uses it."""
    lo, hi = parse_day(since, "--since"), parse_day(until, "--until")
    if hi is not None:
        hi += DAY_S - 1  # --until names the last day included
    if lo is not None and hi is not None and lo > hi:
        raise UsageError(f"--since {since} is after --until {until}")
    return Window(lo, hi)
