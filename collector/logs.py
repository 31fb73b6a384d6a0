"""One log format for every process: time, process, platform/phase (in the logger name), level.

Processes log to stderr in the foreground; supervisord captures, rotates and keeps the files.
Logger names carry the context, e.g. ``fetcher.kalshi.snapshot``, so each line says process,
platform and phase.
"""

from __future__ import annotations

import logging
import sys

from collector.config import Config

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def setup(process: str, cfg: Config | None = None) -> logging.Logger:
    level = (cfg.general.log_level if cfg else "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return logging.getLogger(process)
