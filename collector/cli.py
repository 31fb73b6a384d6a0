"""`collector`: the operator's front end to the processes (run, status, export, backfill, ctl).

Each command is thin: parse, call one function, print. Errors we raise on purpose become
``Error: ...`` and the exception's exit code (2 for configuration problems).

``--config`` works before or after the command name; without it the usual lookup applies
($COLLECTOR_CONFIG, then ~/.config/polymaster-collector/config.toml, then built-in defaults).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click

from collector import clock, config as config_mod, platforms
from collector.cliutil import CONTEXT_SETTINGS, Group, version_option
from collector.errors import CollectorError, DatabaseError, SinkNotRunning, UsageError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONF = ROOT / "supervisord.conf"
BIN = Path(sys.executable).parent  # console scripts of this installation (the venv's bin/)
DATA_ENV = "COLLECTOR_DATA"  # supervisord.conf puts its socket, pidfile and logs there

config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="config TOML (else $COLLECTOR_CONFIG, else ~/.config/polymaster-collector/config.toml)")


def load(ctx: click.Context, config_path: str | None) -> config_mod.Config:
    """The config named on the command, else on the group, else the usual lookup."""
    cfg = config_mod.load(config_path or (ctx.obj or {}).get("config_path"))
    clock.configure(cfg)
    platforms.configure(cfg)
    return cfg


def supervisor_env(cfg: config_mod.Config) -> dict[str, str]:
    """What supervisord.conf expands: the config file (absolute) and the data directory."""
    data = cfg.data_dir.absolute()
    data.mkdir(parents=True, exist_ok=True)
    source = "" if cfg.source_path == "<defaults>" else str(Path(cfg.source_path).absolute())
    return dict(os.environ, COLLECTOR_CONFIG=source, **{DATA_ENV: str(data)})


class _Group(Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CollectorError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@version_option
@config_option
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """polymaster-collector: catalog Polymarket and Kalshi markets, prices and resolutions.

    Example: collector --config ~/.config/polymaster-collector/config.toml status
    """
    ctx.obj = {"config_path": config_path}


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="print the stable JSON document instead of the table")
@click.pass_context
def status(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Health verdict, then markets, snapshots, gaps, phase runs, disk and supervisord programs.

    The first line is OK, DEGRADED: <problems> or DOWN: <problems>; the exit code is 0, 1 or 2
    accordingly (--json carries the same under "verdict"). Read-only and fast.

    Example: collector status --json | jq .verdict
    """
    from collector import status as status_mod

    st = status_mod.gather(load(ctx, config_path))
    click.echo(json.dumps(st, indent=2, sort_keys=True) if as_json else status_mod.render(st))
    ctx.exit(st["verdict"]["exit_code"])


@main.command()
@click.option("--stop", is_flag=True, help="stop the demo (supervisord and every program)")
@click.option("--speed", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="simulated seconds per real second")
@click.option("--backfill-days", type=click.IntRange(min=0), default=10, show_default=True,
              help="replay markets resolved in this many simulated days (0: no backfill)")
@click.option("--root", type=click.Path(exists=True, file_okay=False), default=None, hidden=True,
              help="a directory with a copy of supervisord.demo.conf and demo/ (tests)")
def demo(stop: bool, speed: float, backfill_days: int, root: str | None) -> None:
    """The whole pipeline against the offline simulator with a fast clock, in demo-data/.

    Starts the simulator, the pipeline on the simulator's clock and a short backfill, then
    prints the commands to try (status, export --format=prompts, archive). Nothing leaves
    127.0.0.1; the demo has its own database.

    Example: collector demo   (then: collector --config demo-data/config.toml status)
    """
    from collector import demo as demo_mod

    where = demo_mod.Demo(Path(root).absolute()) if root else demo_mod.Demo()
    sys.exit(demo_mod.stop(where) if stop else demo_mod.start(where, speed, backfill_days, click.echo))


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="print the checks as a JSON list")
@click.pass_context
def doctor(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Check this installation: config, data dir, disk, supervisord, sink, scheduler, exchanges, wwatcher.

    One line per check (ok / warn / FAIL) with a fix for each problem; exit 1 if any check
    FAILs. Each exchange gets one cheap GET, so an offline machine is told so in seconds.

    Example: collector doctor
    """
    from collector import doctor as doctor_mod

    checks = doctor_mod.run_all(load(ctx, config_path))
    click.echo(json.dumps(doctor_mod.as_dicts(checks), indent=2) if as_json else doctor_mod.render(checks))
    ctx.exit(1 if any(c.result == doctor_mod.FAIL for c in checks) else 0)


@main.command()
@config_option
@click.option("--conf", type=click.Path(exists=True, dir_okay=False), default=str(BUNDLED_CONF),
              show_default=True, help="supervisord configuration to run")
@click.pass_context
def run(ctx: click.Context, config_path: str | None, conf: str) -> None:
    """Run every process under supervisord in the foreground (Ctrl-C or SIGTERM stops all).

    Exports COLLECTOR_CONFIG (this config, absolute) and COLLECTOR_DATA (its data directory:
    supervisord's socket, pidfile and logs) for supervisord.conf to expand.

    Example: collector --config ~/.config/polymaster-collector/config.toml run
    """
    env = supervisor_env(load(ctx, config_path))
    exe = str(BIN / "supervisord")
    os.execve(exe, [exe, "-n", "-c", conf], env)


@main.command(context_settings={"ignore_unknown_options": True})
@config_option
@click.option("--conf", type=click.Path(exists=True, dir_okay=False), default=str(BUNDLED_CONF),
              show_default=True, help="supervisord configuration")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def ctl(ctx: click.Context, config_path: str | None, conf: str, args: tuple[str, ...]) -> None:
    """supervisorctl for this installation (same environment as `collector run`).

    Example: collector ctl restart scheduler   (`stop all` / `restart all` stop the sink last)
    """
    env = supervisor_env(load(ctx, config_path))
    supervisorctl = [str(BIN / "supervisorctl"), "-c", conf]
    if args in (("stop", "all"), ("restart", "all")):  # named programs are stopped one by one
        order = stop_order(Path(conf))
        status = subprocess.run([*supervisorctl, "status"], env=env, capture_output=True, text=True).stdout
        running = {line.split()[0] for line in status.splitlines()
                   if len(line.split()) > 1 and line.split()[1] in ("RUNNING", "STARTING", "BACKOFF")}
        code = subprocess.call([*supervisorctl, "stop", *order], env=env)
        if args[0] == "restart" and code == 0 and running:  # what ran before, sink first
            code = subprocess.call([*supervisorctl, "start", *[p for p in reversed(order) if p in running]], env=env)
        sys.exit(code)
    sys.exit(subprocess.call([*supervisorctl, *args], env=env))


def stop_order(conf: Path) -> list[str]:
    """The programs of a supervisord.conf, highest ``priority`` first (supervisord's default 999).

    ``supervisorctl stop all`` signals every program at once, so the sink may exit while a fetcher
    still flushes its last batch; supervisord itself orders only its own shutdown. ``collector ctl
    stop all`` names the programs in this order instead, and supervisorctl stops each one before the
    next: the fetchers first, the sink last (``restart all`` then starts them sink first).
    """
    import configparser

    parser = configparser.RawConfigParser()
    parser.read(conf)
    programs = [(int(parser.get(section, "priority", fallback="999")), section.split(":", 1)[1])
                for section in parser.sections() if section.startswith("program:")]
    return [name for _, name in sorted(programs, key=lambda p: (-p[0], p[1]))]


@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def export(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Export resolved markets to Parquet / prompts: every argument goes to `exporter`.

    Example: collector export --format=prompts --split-date 2026-01-01   (see: collector export --help)
    """
    from exporter.main import invoke

    group_config = (ctx.obj or {}).get("config_path")
    forwarded = list(args)
    if group_config and "--config" not in forwarded:
        forwarded = ["--config", group_config, *forwarded]
    invoke("collector export", forwarded)


@main.command()
@config_option
@click.option("--platform", "chosen", multiple=True, metavar="NAME",
              help="platform to backfill (repeatable; default: every enabled platform that can)")
@click.option("--since", help="first day to replay, YYYY-MM-DD")
@click.option("--until", help="last day to replay, YYYY-MM-DD")
@click.option("--json", "as_json", is_flag=True, help="print each platform's summary as one JSON line")
@click.pass_context
def backfill(ctx: click.Context, config_path: str | None, chosen: tuple[str, ...],
             since: str | None, until: str | None, as_json: bool) -> None:
    """Replay historical prices and resolutions: runs `fetcher --backfill` per platform, in turn.

    Dates are checked and the sink must be running before any fetcher starts (else one error
    line, exit 2). Progress is a bar on a terminal, log lines otherwise; each platform's summary
    is printed once on stdout (--json: one JSON line per platform).

    Example: collector backfill --platform kalshi --since 2025-01-01
    """
    from collector.cliutil import parse_window

    cfg = load(ctx, config_path)
    parse_window(since, until)  # bad dates or platforms: one error, exit 2, before any fetcher starts
    can = platforms.with_backfill(cfg)
    for name in chosen:
        if name not in can:
            raise UsageError(f"Invalid value for '--platform': {name!r} is not one of {', '.join(can)}")
    require_sink(cfg)
    chosen = chosen or tuple(p.name for p in platforms.enabled(cfg) if p.name in can)
    sys.exit(run_backfill(cfg, chosen, since, until, as_json))


def require_sink(cfg: config_mod.Config) -> None:
    """SinkNotRunning (exit 2) at once when no sink listens, instead of after sink_wait_seconds."""
    from collector.reach import listening

    why = listening(cfg.sink_endpoint)
    if why:
        raise SinkNotRunning(f"the sink is not running: {why}; start the collector first "
                              "(collector run, or collector ctl start sink)")


def run_backfill(cfg: config_mod.Config, platforms: tuple[str, ...], since: str | None,
                 until: str | None, as_json: bool = False) -> int:
    """One `fetcher --backfill` process per platform; the worst exit code wins."""
    worst = 0
    for platform in platforms:
        cmd = [str(BIN / "fetcher"), "--platform", platform, "--backfill"]
        if cfg.source_path != "<defaults>":
            cmd[1:1] = ["--config", cfg.source_path]
        cmd += [a for flag, v in (("--since", since), ("--until", until)) if v for a in (flag, v)]
        cmd += ["--json"] if as_json else []
        click.echo(f"backfill {platform}: {' '.join(cmd[1:])}", err=True)
        worst = max(worst, subprocess.call(cmd))
    return worst


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="print the counts as JSON instead of a sentence")
@click.pass_context
def archive(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Move live snapshots older than [archive] retention_days into the Parquet archive.

    Needs the sink running (it verifies and deletes the archived rows). Safe to rerun at any time;
    the scheduler also runs it daily when [scheduler] archive_enabled = true.

    Example: collector archive
    """
    from collector import logs
    from exporter import archive as archive_mod

    cfg = load(ctx, config_path)
    if not cfg.db_path.exists():
        raise DatabaseError(f"{cfg.db_path}: no collector database to archive (start the collector first)")
    require_sink(cfg)
    logs.setup("archiver", cfg)
    started = time.monotonic()
    counts = archive_mod.run(cfg, progress=progress_bar("archiving") if sys.stderr.isatty() else None)
    took = time.monotonic() - started
    click.echo(json.dumps(dict(counts, seconds=round(took, 3))) if as_json else archive_mod.main_log_line(counts, took))


def progress_bar(label: str):
    """A click progress bar on stderr over a list of work items (used only when stderr is a terminal)."""
    def wrap(items: list):
        with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
            yield from bar
    return wrap


if __name__ == "__main__":
    main()
