"""Named crash points for tests of crash safety (off unless $COLLECTOR_FAILPOINT names one).

A test sets ``COLLECTOR_FAILPOINT=sink:archive_delete`` (for example) on a real process; when the
process reaches that point it dies at once, as a SIGKILL or power loss would leave it. Killing at
an exact step is otherwise a matter of luck with timing.
"""

from __future__ import annotations

import os
import sys


_hits: dict[str, int] = {}


def hit(name: str) -> None:
    """Die here if $COLLECTOR_FAILPOINT names this point (on every Nth pass with $COLLECTOR_FAILPOINT_EVERY=N,
    counted per process life: a restarted process passes N-1 more times first)."""
    if os.environ.get("COLLECTOR_FAILPOINT") != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] % max(1, int(os.environ.get("COLLECTOR_FAILPOINT_EVERY", "1") or 1)) == 0:
        sys.stderr.write(f"failpoint {name}: exiting abruptly\n")
        sys.stderr.flush()
        os._exit(137)


def active(name: str) -> bool:
    """A behaviour failpoint (not a crash): the code takes its planted wrong path when this is True.

    Names in use: ``sink:ack_before_commit``, ``sink:drop_rows``, ``fetcher:skip_cycle``,
    ``fetcher:drop_labels`` (the soak checker must catch each; tests/test_soak.py). ``$COLLECTOR_FAILPOINTS`` holds a
    comma-separated list, so a crash point and behaviour points never share one variable.
    """
    return name in os.environ.get("COLLECTOR_FAILPOINTS", "").split(",")
