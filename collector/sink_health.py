"""``<data_dir>/sink.health``: present only while the sink's commits are failing.

When the database itself fails (read-only file, I/O error, full disk) the sink cannot record that
in the database, so it says so here, in one small JSON file that `collector status` (or an
operator's `cat`) can read: since when, how many failures in a row, the last error. The file is
removed at the first successful commit after the failures.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE_NAME = "sink.health"


def path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def failing(data_dir: Path, error: str, in_a_row: int) -> None:
    target = path(data_dir)
    since = time.time()
    try:
        since = json.loads(target.read_text())["failing_since"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    body = json.dumps({"commit_failing": True, "failing_since": since, "failures_in_a_row": in_a_row,
                       "last_error": error[:500], "updated_at": time.time()})
    tmp = target.with_suffix(".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.replace(tmp, target)
    except OSError:
        pass  # the data dir may be the thing that failed; the log line still says it


def ok(data_dir: Path) -> None:
    try:
        path(data_dir).unlink()
    except OSError:
        pass


def read(data_dir: Path) -> dict | None:
    """The current failure report, or None when commits are fine."""
    try:
        return json.loads(path(data_dir).read_text())
    except (OSError, ValueError):
        return None
