"""Wall-clock reads for every process, real or simulated (see config.Clock).

Everything that stamps or compares calendar time (snapshot grid times, "past end_date",
observed_at) calls ``now()``; everything that bounds a wait uses ``time.monotonic()`` and
converts simulated seconds with ``to_real()``. Against the real exchanges the clock is real.
"""

from __future__ import annotations

import calendar
import functools
import time

from collector.config import Config

_speed = 1.0
_real_origin = 0.0
_sim_origin = 0.0


def configure(cfg: Config) -> None:
    """Adopt the config's clock; called once in each process's main()."""
    global _speed, _real_origin, _sim_origin
    _speed = cfg.clock.speed
    _real_origin = cfg.clock.real_origin
    _sim_origin = cfg.clock.sim_origin


def now() -> float:
    """Current time in (possibly simulated) unix seconds."""
    if _speed == 1.0 and _sim_origin == 0.0:
        return time.time()
    return _sim_origin + (time.time() - _real_origin) * _speed


def to_real(sim_seconds: float) -> float:
    """How many real seconds a span of simulated seconds takes."""
    return sim_seconds / _speed


def grid_floor(t: float, interval_seconds: float) -> int:
    """The cadence slot at or before t (e.g. :00/:15/:30/:45 for 900 s)."""
    step = max(1, int(round(interval_seconds)))
    return int(t // step) * step


def iso(t: float | None) -> str | None:
    """Unix seconds -> ISO 8601 UTC with a Z, second precision (the format every table uses).

    The date part is cached per day: the exporter formats millions of times (bench/bench_export.py)."""
    if t is None:
        return None
    day, sec = divmod(int(t), 86_400)
    return f"{_iso_day(day)}T{_HOUR_MINUTE[sec // 60]}:{_SECOND[sec % 60]}Z"


_HOUR_MINUTE = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
_SECOND = [f"{s:02d}" for s in range(60)]


@functools.lru_cache(maxsize=8192)
def _iso_day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


def unix(iso_text: str | None) -> int | None:
    """``iso``'s form ('YYYY-MM-DDTHH:MM:SSZ', a longer tail ignored) -> unix seconds; None or junk -> None."""
    if not iso_text:
        return None
    try:
        return calendar.timegm((int(iso_text[0:4]), int(iso_text[5:7]), int(iso_text[8:10]),
                                int(iso_text[11:13]), int(iso_text[14:16]), int(iso_text[17:19]), 0, 0, 0))
    except (ValueError, TypeError):
        return None
