"""The plain dict from platform name to its module (see fetchers/base.py for the interface).

Adding a platform is one new module and one entry here. Modules are imported when a fetcher
asks for one, so a broken or not-yet-written kalshi module never stops the polymarket fetcher.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from collector.errors import CollectorError

PLATFORMS: dict[str, str] = {
    "polymarket": "fetchers.polymarket",
    "kalshi": "fetchers.kalshi",
    "news": "fetchers.news",
}


class UnknownPlatform(CollectorError):
    exit_code = 2


def load(name: str) -> ModuleType:
    """The platform's module; UnknownPlatform when it does not exist (yet)."""
    if name not in PLATFORMS:
        raise UnknownPlatform(f"unknown platform {name!r}; known: {', '.join(PLATFORMS)}")
    try:
        return importlib.import_module(PLATFORMS[name])
    except ModuleNotFoundError as exc:
        if exc.name == PLATFORMS[name]:  # the module itself is missing; a broken import inside it still raises
            raise UnknownPlatform(f"platform {name!r} is not implemented ({PLATFORMS[name]} missing)") from None
        raise


def phase_function(name: str, phase: str):
    """The callable for one phase of one platform; UnknownPlatform when it has none."""
    fn = getattr(load(name), phase, None)
    if not callable(fn):
        raise UnknownPlatform(f"platform {name!r} has no {phase!r} phase")
    return fn
