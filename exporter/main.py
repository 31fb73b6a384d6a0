"""`exporter`: collector.db (+ wwatcher.db) -> training-ready Parquet, prompts and a dataset card."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from collector import clock
from collector import config as config_mod
from collector.errors import CollectorError
from exporter.export import Options, run


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.toml (default: usual lookup)")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="collector.db (default: [general] db_path)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="output directory (default: [export] output_dir)")
@click.option("--wwatcher", "wwatcher_path", type=click.Path(dir_okay=False),
              help="wwatcher.db / poly.db to link (default: [export] wwatcher_db_path, then ~/.config/poly/poly.db)")
@click.option("--no-wwatcher", is_flag=True, help="do not read any wwatcher database")
@click.option("--prompts", "with_prompts", is_flag=True, help="also write prompts.jsonl (GRPO prompts)")
@click.option("--format", "fmt", type=click.Choice(["parquet", "prompts"]), default="parquet",
              help="`prompts` is the seed's spelling of --prompts")
@click.option("--split-date", help="YYYY-MM-DD: write prompts_train.jsonl / prompts_test.jsonl split at this date")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or summary lines")
def cli(config_path, db_path, out_dir, wwatcher_path, no_wwatcher, with_prompts, fmt, split_date, quiet):
    """Export resolved markets to Parquet (+ prompts), linking wwatcher whale alerts.

    Reads collector.db and wwatcher.db read-only; writes markets.parquet,
    unmatched_alerts.parquet, manifest.json, README.md (and prompts*.jsonl) into --out,
    each file atomically.

    Example: exporter --out ./exports --prompts --split-date 2026-01-01
    """
    try:
        cfg = config_mod.load(config_path)
        clock.configure(cfg)
        opt = Options(
            db_path=Path(db_path).expanduser() if db_path else cfg.db_path,
            out_dir=Path(out_dir or Path(cfg.export.output_dir).expanduser()),
            wwatcher_path=wwatcher_path or cfg.export.wwatcher_db_path,
            wwatcher_explicit=bool(wwatcher_path), use_wwatcher=not no_wwatcher,
            prompts=with_prompts or fmt == "prompts", split_date=split_date, progress=not quiet,
            log=(lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True)))
        if split_date:
            _check_date(split_date)
        manifest = run(cfg, opt)
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if not quiet:
        c = manifest["counts"]
        click.echo(f"{c['markets']} markets, {c['prompts']} prompts, alerts {c['alerts']} -> {opt.out_dir}")


def _check_date(value: str) -> None:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        raise CollectorError(f"--split-date {value!r}: expected YYYY-MM-DD") from None


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
