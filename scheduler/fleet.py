"""The fetchers the scheduler has heard from, kept alive by their heartbeats.

A fetcher is known by its DEALER routing identity (``fetcher-<platform>-<pid>-<rand>``, new on
every start). It is *live* while heartbeats keep arriving; silent for
``scheduler.fetcher_silent_seconds`` it is reported down (an ERROR line) and the scheduler
re-issues whatever it held. A fetcher is *idle* when its last heartbeat said so and no job of
ours is on its way to it; only idle fetchers get jobs, because a fetcher runs one at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("scheduler.fleet")

FORGET_AFTER_SILENT = 10  # a down fetcher is forgotten after this many silent periods


def name_of(identity: bytes) -> str:
    """A routing identity as text for logs and job records. Identities are opaque bytes (any peer
    may pick any, even invalid UTF-8), so this never raises; ours are ASCII and map to themselves."""
    return identity.decode("utf-8", "backslashreplace")


@dataclass
class Fetcher:
    identity: bytes
    platform: str
    last_heard: float  # monotonic seconds
    busy: str = ""  # job id from its last heartbeat ("" = idle)
    down: bool = False

    @property
    def name(self) -> str:
        return name_of(self.identity)


class Fleet:
    def __init__(self, silent_seconds: float):
        self.silent_seconds = silent_seconds
        self.fetchers: dict[bytes, Fetcher] = {}

    def heard(self, identity: bytes, platform: str, busy: str, mono: float) -> Fetcher:
        f = self.fetchers.get(identity)
        if f is None:
            f = self.fetchers[identity] = Fetcher(identity, platform, mono)
            logging.getLogger(f"scheduler.{platform}").info("fetcher %s connected", f.name)
        elif f.down:
            f.down = False
            logging.getLogger(f"scheduler.{platform}").warning(
                "fetcher %s is back after %.0fs of silence", f.name, mono - f.last_heard)
        f.platform, f.last_heard, f.busy = platform, mono, busy
        return f

    def get(self, identity: bytes) -> Fetcher | None:
        return self.fetchers.get(identity)

    def check_silent(self, mono: float) -> list[Fetcher]:
        """Fetchers that just went silent for too long (reported once each)."""
        newly = []
        for identity, f in list(self.fetchers.items()):
            silent = mono - f.last_heard
            if not f.down and silent > self.silent_seconds:
                f.down = True
                newly.append(f)
                logging.getLogger(f"scheduler.{f.platform}").error(
                    "fetcher %s is DOWN: no heartbeat for %.0fs", f.name, silent)
            elif f.down and silent > FORGET_AFTER_SILENT * self.silent_seconds:
                del self.fetchers[identity]
        return newly

    def mark_gone(self, identity: bytes) -> None:
        """The socket says the peer disconnected (a send found no route)."""
        f = self.fetchers.get(identity)
        if f is not None and not f.down:
            f.down = True
            logging.getLogger(f"scheduler.{f.platform}").error("fetcher %s disconnected", f.name)

    def idle(self, platform: str, holding: set[str]) -> Fetcher | None:
        """The most recently heard live, idle fetcher of the platform not holding a job of ours."""
        ready = [f for f in self.fetchers.values()
                 if f.platform == platform and not f.down and not f.busy and f.name not in holding]
        return max(ready, key=lambda f: f.last_heard, default=None)

    def live(self, platform: str) -> bool:
        return any(f.platform == platform and not f.down for f in self.fetchers.values())
