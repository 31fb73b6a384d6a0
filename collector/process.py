"""The foreground life of a bound process (sink, scheduler): config, logs, bind, run until a signal.

Each process's ``main()`` stays a click command of its own; this is the part they share:
configuration errors exit with their code and an ``Error:`` line, a socket that cannot be bound
exits 2 naming the endpoint, and SIGTERM/SIGINT ask the process to stop (it flushes first).
"""

from __future__ import annotations

import signal
import sqlite3
import sys
from typing import Callable, Protocol

import click
import zmq

from collector import clock, config as config_mod, logs, platforms
from collector.errors import CollectorError


class Service(Protocol):
    endpoint: str

    def bind(self) -> None: ...

    def run(self) -> None: ...

    def request_stop(self, why: str) -> None: ...

    def close(self) -> None: ...


def run_foreground(name: str, config_path: str | None, make: Callable[[config_mod.Config], Service]) -> None:
    service = cfg = None
    try:
        cfg = config_mod.load(config_path)
        clock.configure(cfg)
        platforms.configure(cfg)
        logs.setup(name, cfg)
        service = make(cfg)
        # Handlers before bind logs "listening": a SIGTERM right after that line must stop it cleanly.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: service.request_stop(signal.Signals(signum).name))
        service.bind()
    except CollectorError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except zmq.ZMQError as exc:
        click.echo(f"Error: cannot bind {service.endpoint if service else '?'}: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # unwritable data dir or socket directory
        click.echo(f"Error: {name} cannot start: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except sqlite3.Error as exc:  # the database file cannot be opened or created
        click.echo(f"Error: {name} cannot start: {cfg.db_path}: {exc}", err=True)
        sys.exit(2)

    try:
        service.run()
    finally:
        service.close()
