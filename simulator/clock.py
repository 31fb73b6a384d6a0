"""Simulated clock and the timestamp spellings both exchanges use.

Why a clock of its own: tests must be able to freeze time (speed 0) for byte-identical responses,
run it fast (speed 600 = ten simulated minutes per second) to watch markets resolve, or jump it
forward (`advance`) without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from functools import lru_cache

DEFAULT_START = "2026-11-01T00:00:00Z"
MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86400


def parse_iso(text: str) -> float:
    """RFC 3339 / ISO 8601 (with `Z`) -> unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


TS_CACHE = 1 << 16             # formatted timestamps repeat a lot (event open/close times)


@lru_cache(maxsize=TS_CACHE)
def rfc3339(ts: float, micros: bool = False) -> str:
    """`2026-05-13T01:51:41Z` or, with micros, `2026-05-13T01:51:41.778164Z`."""
    dt = datetime.fromtimestamp(ts, timezone.utc)
    if micros and dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=TS_CACHE)
def pg_time(ts: float) -> str:
    """Gamma market `closedTime` / `gameStartTime` spelling: `2025-03-28 04:34:20+00`."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")


@lru_cache(maxsize=TS_CACHE)
def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def kalshi_date(ts: float) -> str:
    """`26NOV05` as used inside Kalshi event tickers."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%y%b%d").upper()


class SimClock:
    """now = start + offset + real_elapsed * speed."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.start + self._offset + (time.monotonic() - self._t0) * self.speed

    def advance(self, seconds: float) -> float:
        """Jump simulated time forward (tests use this instead of sleeping)."""
        with self._lock:
            self._offset += seconds
        return self.now()
