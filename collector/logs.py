"""One log format for every process: time, process, platform/phase (in the logger name), level.

Times are UTC with a ``Z`` and milliseconds, like every other time this project prints or stores,
so a log line lines up with phase_runs and snapshot times without a time-zone guess.

Processes log to stderr in the foreground; supervisord captures, rotates and keeps the files.
Logger names carry the context, e.g. ``fetcher.kalshi.snapshot``, so each line says process,
platform and phase.
"""

from __future__ import annotations

import logging
import sys
import time

from collector.config import Config

FORMAT = "%(asctime)s.%(msecs)03dZ %(name)s %(levelname)s %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def formatter() -> logging.Formatter:
    """FORMAT in UTC (the default formatter uses local time without saying so)."""
    fmt = logging.Formatter(FORMAT, datefmt=DATE_FORMAT)
    fmt.converter = time.gmtime
    return fmt


def setup(process: str, cfg: Config | None = None) -> logging.Logger:
    level = (cfg.general.log_level if cfg else "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return logging.getLogger(process)
