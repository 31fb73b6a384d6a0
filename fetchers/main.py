"""`fetcher`: one process per platform, publishing what it fetches to the sink.

    fetcher --config C --platform polymarket --once discover   # one phase, wait for acks, exit
    fetcher --config C --platform kalshi                       # serve jobs from the scheduler

Exit codes: 0 done (or stopped by SIGTERM/SIGINT after flushing), 1 the phase failed (partial
failure, reported to the sink), 2 bad configuration or a database of the other source,
3 no sink acknowledged within ``zmq.sink_wait_seconds``.
"""

from __future__ import annotations

import signal
import sys
import threading
import uuid

import click

from collector import clock, config, platforms
from collector.cliutil import CONTEXT_SETTINGS, Command, version_option
from collector.errors import CollectorError
from fetchers import runner
from fetchers.http import HttpClient
from collector.sink_client import STOP_FLUSH_SECONDS, Publisher

ONCE_PHASES = ("discover", "snapshot", "resolve", "news")


def install_stop_handlers() -> threading.Event:
    """SIGTERM/SIGINT set an event; phases notice it at their next page boundary."""
    stop = threading.Event()

    def handler(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run_once(cfg: config.Config, platform: str, phase: str, stop: threading.Event, log) -> int:
    """Run one phase now, send its records and report, wait until the sink acknowledged them."""
    runner.phase_function(cfg, platform, phase)  # fail fast (exit 2) before touching any socket
    grid_time = clock.grid_floor(clock.now(), cfg.interval_seconds("snapshot")) if phase == "snapshot" else None
    section = cfg.platform(platform)
    http = HttpClient(platform, section, None, log, should_stop=stop.is_set)
    publisher = Publisher(cfg.sink_endpoint, runner.sender_id(platform), platforms.data_origin(cfg, platform), cfg, log)
    try:
        report = runner.run_phase(cfg, platform, phase, publisher=publisher, http=http, log=log,
                                  job_id=uuid.uuid4().hex, grid_time=grid_time, should_stop=stop.is_set)
        publisher.flush_and_wait(STOP_FLUSH_SECONDS if stop.is_set() else None)
        log.info("sink acknowledged %d records in %d batches (%d re-sent)", publisher.stats["records"],
                 publisher.stats["batches"], publisher.stats["resent"])
    finally:
        publisher.close()
        http.close()
    if report.ok or report.interrupted:
        return 0
    click.echo(f"Error: {platform} {phase} failed: {report.message}", err=True)
    return 1


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@version_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config (else $COLLECTOR_CONFIG, else ~/.config/polymaster-collector/config.toml).")
@click.option("--platform", required=True,
              help=f"A platform of collector/platforms.py ({', '.join(platforms.BUILTIN)}) or of the config's [platforms.NAME].")
@click.option("--once", "once", type=click.Choice(ONCE_PHASES), default=None,
              help="Run one phase, wait for the sink's acknowledgement, exit.")
@click.option("--backfill", is_flag=True, help="Replay price history between --since and --until.")
@click.option("--since", default=None, help="Backfill start date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Backfill end date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="With --backfill: print the summary as one JSON line.")
def main(config_path, platform, once, backfill, since, until, as_json):
    """Fetch one platform's markets, prices and resolutions and publish them to the sink.

    Example: fetcher --config config.toml --platform polymarket --once snapshot
    """
    try:
        cfg = config.load(config_path)
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    clock.configure(cfg)
    platforms.configure(cfg)
    try:
        platforms.get(platform, cfg)
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    log = runner.setup_logging(platform, cfg)
    if backfill:  # fetchers/backfill.py validates --since/--until (bad date: Error, exit 2)
        from fetchers import backfill as replay

        sys.exit(replay.main(cfg, platform, since, until, install_stop_handlers(), log, as_json))
    stop = install_stop_handlers()
    try:
        runner.check_origin(cfg, platforms.data_origin(cfg, platform))
        if once:
            code = run_once(cfg, platform, once, stop, log)
        else:
            from fetchers.serve import serve

            code = serve(cfg, platform, stop, log)
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code)


if __name__ == "__main__":
    main()
