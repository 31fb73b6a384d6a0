"""`exporter`: collector.db (+ wwatcher.db) -> training-ready Parquet, prompts and a dataset card.

Every command-line value is checked before any work starts (one ``Error:`` line, exit 2); the
summary is printed once on stdout when the export is done: a sentence for people (with what to run
when there is nothing to learn from yet), or the manifest's counts with ``--json``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from collector import clock, platforms
from collector import config as config_mod
from collector.cliutil import CONTEXT_SETTINGS, Command, iso_day, sqlite_file, version_option, writable_dir
from collector.errors import CollectorError, DatabaseError
from exporter.export import Options, run

BACKFILL_HINT = "collector backfill --since YYYY-MM-DD"


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@version_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.toml (default: usual lookup)")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="collector.db (default: [general] db_path)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="output directory (default: [export] output_dir)")
@click.option("--wwatcher", "wwatcher_path", type=click.Path(dir_okay=False),
              help="wwatcher.db / poly.db to link; must exist and be SQLite "
                   "(default: [export] wwatcher_db_path, then ~/.config/poly/poly.db, skipped if absent)")
@click.option("--no-wwatcher", is_flag=True, help="do not read any wwatcher database")
@click.option("--prompts", "with_prompts", is_flag=True, help="also write prompts.jsonl (GRPO prompts)")
@click.option("--format", "fmt", type=click.Choice(["parquet", "prompts"]), default="parquet",
              help="`prompts` is the seed's spelling of --prompts")
@click.option("--late-metadata", is_flag=True,
              help="also write prompts asked before the market's metadata was first observed (backfilled "
                   "markets), showing the earliest version; marked by metadata_observed_at > as_of")
@click.option("--split-date", help="YYYY-MM-DD: write prompts_train.jsonl / prompts_test.jsonl split at this date")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON (the manifest's counts)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar, log lines or summary")
@click.option("--log-memory", is_flag=True, help="log RSS, peak RSS and DuckDB's memory at each stage on stderr "
              "(also with -q; bench/bench_year.py)")
@click.pass_context
def cli(ctx, config_path, db_path, out_dir, wwatcher_path, no_wwatcher, with_prompts, fmt, late_metadata, split_date,
        as_json, quiet, log_memory):
    """Export resolved markets to Parquet (+ prompts), linking wwatcher whale alerts.

    Reads collector.db and wwatcher.db read-only; writes markets.parquet,
    unmatched_alerts.parquet, manifest.json, README.md (and prompts*.jsonl) into --out,
    each file atomically.

    Example: {prog} --out ./exports --prompts --split-date 2026-01-01
    """
    try:
        if split_date:
            iso_day(split_date, "--split-date")
        cfg = config_mod.load(config_path)
        clock.configure(cfg)
        platforms.configure(cfg)
        if wwatcher_path and not no_wwatcher:
            sqlite_file(Path(wwatcher_path).expanduser(), "--wwatcher")
        opt = Options(
            db_path=Path(db_path).expanduser() if db_path else cfg.db_path,
            out_dir=Path(out_dir or Path(cfg.export.output_dir).expanduser()),
            wwatcher_path=wwatcher_path or cfg.export.wwatcher_db_path,
            wwatcher_explicit=bool(wwatcher_path), use_wwatcher=not no_wwatcher,
            prompts=with_prompts or fmt == "prompts", split_date=split_date, late_metadata=late_metadata,
            progress=not quiet, log_memory=log_memory,
            log=(lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True)))
        if db_path:
            sqlite_file(opt.db_path, "--db")
        writable_dir(opt.out_dir, "--out")
        try:
            manifest = run(cfg, opt)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{opt.db_path}: cannot read it: {exc}") from None
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps({"out": str(opt.out_dir), "counts": manifest["counts"]}, sort_keys=True))
    elif not quiet:
        click.echo(summary(manifest, opt))


def summary(manifest: dict, opt: Options) -> str:
    """The one human summary of an export, plus why it is empty and what to run, if it is."""
    c = manifest["counts"]
    alerts = c["alerts"]
    text = (f"exported {c['markets']} markets ({c['snapshots']} snapshots)"
            + (f", {c['prompts']} prompts" if opt.prompts else "")
            + f", {alerts.get('exact', 0) + alerts.get('fuzzy', 0)} whale alerts linked -> {opt.out_dir}")
    why = empty_reason(c, opt.prompts)
    return text + (f"\n{why}" if why else "")


def empty_reason(c: dict, prompts: bool) -> str | None:
    """Why an export holds nothing to train on, and the command that fixes it; None if it does."""
    if c["markets"] == 0:
        return ("No resolved YES/NO market yet: markets are exported once they resolve. Import resolved "
                f"markets with their price history: {BACKFILL_HINT} (then export again).")
    if c["snapshots"] == 0:
        return (f"The {c['markets']} resolved markets have no price snapshot before their close (the collector "
                "started after they closed), so there is no price history and no prompt. Import their history: "
                f"{BACKFILL_HINT} (then export again).")
    if prompts and c["prompts"] == 0:
        if c.get("prompts_dropped_by_split"):
            return (f"All {c['prompts_dropped_by_split']} prompts fell outside --split-date's train/test "
                    "windows; choose a date between the first and last resolution.")
        return ("No prompt: every prompt needs a price snapshot at or before its as-of time; "
                f"import longer histories with {BACKFILL_HINT}.")
    return None


HELP = cli.help  # "{prog}" in the example becomes the name the user typed


def invoke(prog: str, args: list[str] | None = None) -> None:
    """Run the command as `prog` (`exporter`, or `collector export` forwarding its arguments)."""
    cli.help = HELP.replace("{prog}", prog)
    cli.main(args=args, prog_name=prog)


def main() -> None:
    invoke("exporter")


if __name__ == "__main__":
    main()
