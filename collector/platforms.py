"""The one registry of platforms: which exist, which module fetches each, how each is scheduled.

Names and small descriptors only. Fetcher modules are named here by their dotted path and
imported only by the fetcher that runs them (fetchers/runner.py), so the sink, the scheduler and
`collector status` never import fetcher code, and a broken kalshi module never stops polymarket.

Everything that used to keep its own list reads this one: the scheduler's tasks
(scheduler/plan.py), live-vs-simulator (``data_origin``), the bounds the sink checks
(collector/bounds.py), `collector status` and its verdict, config validation (collector/config.py),
the backfill driver (fetchers/backfill.py) and the CLI's platform choices.

Adding a platform (README "Adding a platform"):

* in this repository: a fetcher module with ``discover``/``snapshot``/``resolve(ctx)``
  (fetchers/base.py) and one entry in ``BUILTIN``; its settings live in a ``[platforms.NAME]``
  config section (``config.PlatformSection``) unless the entry names a section of its own;
* outside it (a plugin, or the tests' toy platform): only the config section
  ``[platforms.NAME]`` with ``module = "package.module"``. Every process's ``main()`` calls
  ``configure(cfg)`` (as it calls ``clock.configure``), which adds such sections to the registry.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from collector.errors import CollectorError

if TYPE_CHECKING:  # config imports this module; the type is only for annotations
    from collector.config import Config

TRADING_PHASES = ("discover", "snapshot", "resolve")
ARCHIVER = "all"  # the platform name the archiver's PhaseReports carry (it works on every platform)
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # a platform name: stored, and used in file paths
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# Market ids by their documented form (README "Bad input and limits"):
# Polymarket: the conditionId, "0x" + 64 hex (docs/api/polymarket.md §8), stored lower-case.
POLYMARKET_ID = r"0x[0-9a-f]{64}"
# Kalshi: the ticker, at most 200 characters (docs/api/kalshi.md §15). Every ticker in the docs, the
# fixtures and the simulator is upper-case letters, digits and '-', plus '.' in strikes
# ("KXBTCD-26FEB2017-T99999.99", docs/wwatcher.md); nothing else is documented, and ',' would break
# the comma-joined ``tickers=`` URLs. A ticker outside this form is rejected and counted, never stored.
KALSHI_ID = r"[A-Z0-9][A-Z0-9.-]{0,199}"


@dataclass(frozen=True)
class Platform:
    name: str
    module: str  # dotted path of the fetcher module: one function per phase (fetchers/base.py)
    section: str = ""  # the Config attribute holding its settings; "" = [platforms.NAME]
    phases: tuple[str, ...] = TRADING_PHASES
    backfill: str = ""  # dotted path of its history replay (fetchers/backfill.py); "" = none
    url_keys: tuple[str, ...] = ("base_url",)  # its exchange URLs: all loopback = simulator data
    markets: bool = True  # catalogs markets of its own (news only annotates the others')
    # The documented form of its market ids (a regex, matched whole); "" = the generic check only
    # (1-200 printable characters, collector/bounds.py). Checked by its parser and by the sink.
    market_id_pattern: str = ""
    # `collector doctor`'s cheap public GETs: (check name, section URL key, path). () = one GET per
    # ``url_keys`` URL as configured, named after the platform (a plugin's exchange).
    probes: tuple[tuple[str, str, str], ...] = ()


BUILTIN: dict[str, Platform] = {p.name: p for p in (
    Platform("polymarket", "fetchers.polymarket", section="polymarket", backfill="fetchers.polymarket_backfill",
             url_keys=("base_url", "gamma_url"), market_id_pattern=POLYMARKET_ID,
             probes=(("polymarket gamma", "gamma_url", "/status"), ("polymarket clob", "base_url", "/time"))),
    Platform("kalshi", "fetchers.kalshi", section="kalshi", backfill="fetchers.kalshi_backfill",
             market_id_pattern=KALSHI_ID, probes=(("kalshi", "base_url", "/markets?limit=1"),)),
    Platform("news", "fetchers.news", section="news", phases=("news",), url_keys=(), markets=False,
             probes=(("news searxng", "searxng_url", "/"),)),
)}

# Platforms added by the config's [platforms.NAME] sections; set once per process by configure().
_configured: dict[str, Platform] = {}


class UnknownPlatform(CollectorError):
    exit_code = 2


def configure(cfg: Config) -> None:
    """Adopt the config's extra platforms for this process (the bounds the sink and the scheduler
    check have no config at hand); called once in each process's main(), like clock.configure."""
    _configured.clear()
    _configured.update(_extras(cfg))


def _extras(cfg: Config) -> dict[str, Platform]:
    return {name: Platform(name, s.module, backfill=s.backfill_module) for name, s in cfg.platforms.items()}


def registered(cfg: Config | None = None) -> dict[str, Platform]:
    """Every platform known: the built-in ones, then the config's (this process's without a cfg)."""
    return {**BUILTIN, **(_configured if cfg is None else _extras(cfg))}


def get(name: str, cfg: Config | None = None) -> Platform:
    """The platform's descriptor; UnknownPlatform (exit 2) naming the known ones otherwise."""
    known = registered(cfg)
    if name not in known:
        raise UnknownPlatform(f"unknown platform {name!r}; known: {', '.join(known)}")
    return known[name]


def lookup(name: object) -> Platform | None:
    """This process's descriptor for ``name``, or None, without building the registry: the sink
    and the parsers ask once per record (bench/bench_kalshi.py)."""
    if not isinstance(name, str):
        return None
    return _configured.get(name) or BUILTIN.get(name)


def market_names() -> tuple[str, ...]:
    """Platforms whose markets are stored: the only platform values in markets, snapshots, paths."""
    return tuple(name for name, p in registered().items() if p.markets)


def report_names() -> tuple[str, ...]:
    """Platforms a PhaseReport or Heartbeat may name: every fetcher, and the archiver."""
    return (*registered(), ARCHIVER)


def section(cfg: Config, name: str):
    """The platform's config section (enabled, rates, timeouts, URLs)."""
    entry = get(name, cfg)
    return getattr(cfg, entry.section) if entry.section else cfg.platforms[name]


def enabled(cfg: Config) -> list[Platform]:
    """The platforms the config turns on, in registry order."""
    return [p for p in registered(cfg).values() if section(cfg, p.name).enabled]


def with_backfill(cfg: Config) -> tuple[str, ...]:
    """Platforms that can replay history (`collector backfill`, `fetcher --backfill`)."""
    return tuple(name for name, p in registered(cfg).items() if p.backfill)


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def data_origin(cfg: Config, name: str) -> str:
    """The origin of the data a platform's fetcher sends (``Batch.source`` on the wire, ``meta.source``
    in the database): 'simulator' when the exchange URLs this platform uses are all loopback, else 'live'.

    A platform without exchange URLs of its own (news talks to a local SearXNG) takes the origin
    of the market platforms whose markets it annotates.
    """
    entry = get(name, cfg)
    if entry.url_keys:
        urls = [getattr(section(cfg, name), key) for key in entry.url_keys]
    else:
        urls = [getattr(section(cfg, p.name), key) for p in registered(cfg).values() for key in p.url_keys]
    return "simulator" if all(is_loopback_url(u) for u in urls) else "live"
