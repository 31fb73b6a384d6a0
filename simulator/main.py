"""`simulator` console script: serve the simulated exchanges in the foreground until SIGTERM/SIGINT.

Example:
    simulator --port 0 --seed 7 --markets 5000 --speed 60 --faults "rate=20,err=0.02"
prints `simulator listening on http://127.0.0.1:PORT` once, then serves; exits 0 on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

import click
import msgspec

from collector.cliutil import CONTEXT_SETTINGS, Command, version_option

from .clock import DEFAULT_START, parse_iso
from .faults import Faults, FaultSpecError
from .memo import DEFAULT_CAP
from .server import make_server
from .sizing import MAX_COUNT, WorldSize
from .world import MAX_MARKETS, MIN_MARKETS, World

SHUTDOWN_POLL_S = 0.5


def _start_time(_ctx, _param, value: str) -> float:
    try:
        return parse_iso(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-01-01T00:00:00Z)") from None


def write_truth(world: World, path: str | None) -> None:
    if path:
        with open(path, "wb") as fh:
            fh.write(msgspec.json.encode(world.truth()))


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@version_option
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="TCP port on 127.0.0.1 (0 = any free port)")
@click.option("--seed", type=int, default=7, show_default=True, help="world seed: same seed, same world")
@click.option("--markets", type=click.IntRange(MIN_MARKETS, MAX_MARKETS), default=None,
              help="markets per platform over the default history  [default: 1000]")
@click.option("--open-polymarket", type=click.IntRange(1, MAX_COUNT), default=None,
              help=f"real-scale world: open Polymarket markets at --start [default: {WorldSize().open_polymarket}]")
@click.option("--closed-polymarket", type=click.IntRange(1, MAX_COUNT), default=None,
              help=f"real-scale world: closed Polymarket markets at --start [default: {WorldSize().closed_polymarket}]")
@click.option("--open-kalshi", type=click.IntRange(1, MAX_COUNT), default=None,
              help=f"real-scale world: open non-parlay Kalshi markets at --start [default: {WorldSize().open_kalshi}]")
@click.option("--closed-kalshi", type=click.IntRange(1, MAX_COUNT), default=None,
              help=f"real-scale world: closed non-parlay Kalshi markets at --start [default: {WorldSize().closed_kalshi}]")
@click.option("--cache", type=click.IntRange(1, 10_000_000), default=DEFAULT_CAP, show_default=True,
              help="market records kept in memory per platform (bounds RSS; evicted ones are rebuilt)")
@click.option("--no-row-cache", is_flag=True,
              help="render every catalogue row afresh (the row cache serves the same bytes, faster)")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="simulated seconds per real second (0 = frozen)")
@click.option("--faults", default="", help='e.g. "rate=5,err=0.02,latency=50ms,drop=0.01"')
@click.option("--start", default=DEFAULT_START, callback=_start_time, show_default=True,
              help="simulated start time, ISO 8601")
@click.option("--legacy-cents", is_flag=True, help="Kalshi legacy integer-cent fields")
@click.option("--kalshi-books-auth", is_flag=True,
              help="Kalshi GET /markets/orderbooks demands an API key (401 to key-less requests)")
@click.option("--truth-out", default=None, type=click.Path(dir_okay=False),
              help="write truth JSON here at start and at exit")
def cli(port, seed, markets, open_polymarket, closed_polymarket, open_kalshi, closed_kalshi, cache, no_row_cache,
        speed, faults, start, legacy_cents, kalshi_books_auth, truth_out) -> None:
    """Serve the simulated Polymarket (Gamma + CLOB) and Kalshi APIs on 127.0.0.1 until SIGTERM/SIGINT.

    Prints `simulator listening on http://127.0.0.1:PORT` once, then serves; exits 0 on SIGTERM.

    Example: simulator --port 0 --seed 7 --markets 5000 --speed 60 --faults "rate=20,err=0.02"

    Real scale: simulator --port 0 --open-polymarket 46000 --closed-polymarket 150000 --open-kalshi 120000
    """
    counts = {"open_polymarket": open_polymarket, "closed_polymarket": closed_polymarket,
              "open_kalshi": open_kalshi, "closed_kalshi": closed_kalshi}
    size = None
    if any(v is not None for v in counts.values()):
        if markets is not None:
            click.echo("Error: --markets and the real-scale options (--open-*/--closed-*) exclude each other", err=True)
            sys.exit(2)
        size = WorldSize(**{k: v for k, v in counts.items() if v is not None})
    try:
        fault_spec = Faults(faults, seed)
        world = World(seed=seed, markets=1000 if markets is None else markets, start=start, speed=speed,
                      legacy_cents=legacy_cents, size=size, cache=cache)
        world.kalshi_books_auth = kalshi_books_auth
        world.pm.row_cache = world.kx.row_cache = not no_row_cache
    except (FaultSpecError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    serve(world, fault_spec, port, truth_out)


def serve(world: World, faults: Faults, port: int, truth_out: str | None) -> None:
    """Serve in a thread until SIGTERM/SIGINT; a port that cannot be bound is one error line, exit 2."""
    try:
        sim, httpd = make_server(world, faults, port)
    except OSError as exc:
        click.echo(f"Error: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    write_truth(world, truth_out)
    thread = threading.Thread(target=httpd.serve_forever, name="simulator-http", daemon=True)
    thread.start()
    print(f"simulator listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    while not stop.wait(SHUTDOWN_POLL_S):
        pass
    httpd.shutdown()
    httpd.server_close()
    write_truth(world, truth_out)


def main() -> None:
    cli.main(prog_name="simulator")


if __name__ == "__main__":
    main()
