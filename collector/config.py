"""One typed configuration tree, decoded from TOML once in each process's ``main()``.

Where the file comes from: ``--config PATH``, else ``$COLLECTOR_CONFIG``, else
``~/.config/polymaster-collector/config.toml`` if it exists, else the built-in defaults below.
Unknown keys and wrong types are errors that name the key and the file (``ConfigError``; the
CLI edge turns it into exit 2), because a typo'd key silently ignored is a month of lost data.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from pathlib import Path

import msgspec

from collector.errors import ConfigError

DEFAULT_CONFIG_PATH = "~/.config/polymaster-collector/config.toml"
ENV_VAR = "COLLECTOR_CONFIG"


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class General(_Section):
    db_path: str = "~/.config/polymaster-collector/collector.db"
    # Interval keys keep the seed's names; fractions of a minute are allowed (tests, demo).
    poll_interval_minutes: float = 5.0  # DISCOVER
    snapshot_interval_minutes: float = 15.0
    resolve_interval_minutes: float = 30.0
    # Where logs, sockets and supervisord's pid/socket live. Empty: the directory of db_path.
    data_dir: str = ""
    log_level: str = "INFO"


class Clock(_Section):
    """A simulated clock for demos, tests and soak runs against the simulator.

    speed 1 with no origin is the real clock. Otherwise now = sim_origin + (time() - real_origin) * speed,
    the same formula the simulator uses, so every process agrees on simulated time.
    """

    speed: float = 1.0
    real_origin: float = 0.0  # unix seconds (real) when the simulated clock read sim_origin
    sim_origin: float = 0.0  # unix seconds (simulated)


class Zmq(_Section):
    # Empty means ipc:// sockets in data_dir, so two installations never collide and no TCP
    # port is opened. Set tcp://127.0.0.1:PORT to run processes on separate hosts or in tests.
    sink_endpoint: str = ""
    scheduler_endpoint: str = ""
    ack_timeout_seconds: float = 10.0  # unacknowledged batches are re-sent after this
    sink_wait_seconds: float = 30.0  # `fetcher --once` gives up if no sink answers in this time
    max_unacked_batches: int = 200  # back-pressure: a fetcher pauses above this many in flight


class Sink(_Section):
    batch_max_records: int = 50000  # one transaction holds at most this many records
    flush_interval_seconds: float = 1.0  # ... and waits at most this long before committing
    min_free_disk_mb: float = 1024.0  # disk guard: below this, snapshots are not stored


class Scheduler(_Section):
    job_deadline_minutes: float = 20.0  # a job not reported done by then is re-issued
    heartbeat_seconds: float = 5.0
    fetcher_silent_seconds: float = 30.0  # no heartbeat for this long: fetcher reported down
    archive_enabled: bool = False


class Snapshot(_Section):
    """What SNAPSHOT records besides prices: the top of each market's order book (README "Order books")."""

    book_depth: int = 5  # levels kept per side; 0 = no order books


class Exchange(_Section):
    """What every exchange's section holds: its switch, its API and how hard we may use it (fetchers/http.py)."""

    enabled: bool = True
    base_url: str = ""
    requests_per_second: float = 2.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0
    max_retries: int = 6  # per request, with exponential backoff and jitter
    page_size: int = 100


class Polymarket(Exchange, kw_only=True):
    base_url: str = "https://clob.polymarket.com"
    gamma_url: str = "https://gamma-api.polymarket.com"
    book_tokens: str = "yes"  # order books of the YES token only, or "both" (twice the requests)


class Kalshi(Exchange, kw_only=True):
    base_url: str = "https://api.elections.kalshi.com/trade-api/v2"
    page_size: int = 1000
    include_parlays: bool = False  # KXMVE multivariate markets: >99% of the unfiltered feed


class PlatformSection(Exchange, kw_only=True):
    """``[platforms.NAME]``: a platform added without editing this file (collector/platforms.py).

    ``module`` names its fetcher module (fetchers/base.py's interface).
    """

    module: str
    backfill_module: str = ""  # dotted path of its history replay (fetchers/backfill.py), if any


class Export(_Section):
    output_dir: str = "./exports"
    wwatcher_db_path: str = "~/.config/wwatcher/wwatcher.db"
    prompt_horizons_days: list[float] = msgspec.field(default_factory=lambda: [1.0, 7.0, 30.0])
    random_prompts_per_market: int = 1
    fuzzy_threshold: float = 90.0


class Archive(_Section):
    """Cold storage: live snapshots older than the hot window move to a Parquet archive."""

    dir: str = ""  # "" = <data_dir>/archive
    retention_days: float = 14.0  # snapshots younger than this stay in SQLite


class News(_Section):
    enabled: bool = False
    searxng_url: str = "http://localhost:8080"
    requests_per_second: float = 1.0
    max_queries_per_run: int = 200
    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 10.0
    max_retries: int = 1  # a down SearXNG is retried next run, not hammered now
    max_results_per_query: int = 10
    interval_minutes: float = 60.0  # NEWS phase cadence (the scheduler runs it when enabled)


class Config(_Section):
    general: General = msgspec.field(default_factory=General)
    clock: Clock = msgspec.field(default_factory=Clock)
    zmq: Zmq = msgspec.field(default_factory=Zmq)
    sink: Sink = msgspec.field(default_factory=Sink)
    scheduler: Scheduler = msgspec.field(default_factory=Scheduler)
    snapshot: Snapshot = msgspec.field(default_factory=Snapshot)
    polymarket: Polymarket = msgspec.field(default_factory=Polymarket)
    kalshi: Kalshi = msgspec.field(default_factory=Kalshi)
    export: Export = msgspec.field(default_factory=Export)
    archive: Archive = msgspec.field(default_factory=Archive)
    news: News = msgspec.field(default_factory=News)
    platforms: dict[str, PlatformSection] = msgspec.field(default_factory=dict)
    # Where this config was read from ("<defaults>" when built in); not a TOML key.
    source_path: str = "<defaults>"

    @property
    def db_path(self) -> Path:
        return Path(os.path.expanduser(self.general.db_path))

    @property
    def data_dir(self) -> Path:
        if self.general.data_dir:
            return Path(os.path.expanduser(self.general.data_dir))
        return self.db_path.parent

    @property
    def archive_dir(self) -> Path:
        if self.archive.dir:
            return Path(os.path.expanduser(self.archive.dir))
        return self.data_dir / "archive"

    @property
    def sink_endpoint(self) -> str:
        return self.zmq.sink_endpoint or f"ipc://{self.data_dir / 'sink.ipc'}"

    @property
    def scheduler_endpoint(self) -> str:
        return self.zmq.scheduler_endpoint or f"ipc://{self.data_dir / 'scheduler.ipc'}"

    def interval_seconds(self, phase: str) -> float:
        """Cadence of a phase ('discover' | 'snapshot' | 'resolve' | 'news') in seconds."""
        minutes = {
            "discover": self.general.poll_interval_minutes,
            "snapshot": self.general.snapshot_interval_minutes,
            "resolve": self.general.resolve_interval_minutes,
            "news": self.news.interval_minutes,
        }[phase]
        return minutes * 60.0

    def platform(self, name: str) -> Polymarket | Kalshi | News | PlatformSection:
        """The platform's section (collector/platforms.py names it); UnknownPlatform otherwise."""
        from collector import platforms

        return platforms.section(self, name)


def resolve_path(explicit: str | os.PathLike | None) -> Path | None:
    """The config file to read, by precedence; None means built-in defaults."""
    if explicit:
        return Path(os.path.expanduser(str(explicit)))
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(os.path.expanduser(env))
    default = Path(os.path.expanduser(DEFAULT_CONFIG_PATH))
    return default if default.exists() else None


def load(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the config; raises ConfigError naming the file and key on any problem."""
    resolved = resolve_path(path)
    if resolved is None:
        return _validate(Config(), "<defaults>")
    try:
        raw = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{resolved}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{resolved}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: invalid TOML: {exc}") from None
    raw.pop("source_path", None)
    try:
        cfg = msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the offending path, e.g. "Object contains unknown field `foo` - at `$.general`"
        raise ConfigError(f"{resolved}: {_describe(exc)}") from None
    return _validate(msgspec.structs.replace(cfg, source_path=str(resolved)), str(resolved))


def _describe(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    return text.replace("$.", "key ").replace("`$`", "the top level")


# Every number that must be finite and > 0 (intervals, rates, sizes, timeouts), by key.
_POSITIVE = (
    "general.poll_interval_minutes", "general.snapshot_interval_minutes", "general.resolve_interval_minutes",
    "clock.speed", "zmq.ack_timeout_seconds", "zmq.sink_wait_seconds", "zmq.max_unacked_batches",
    "sink.batch_max_records", "sink.flush_interval_seconds",
    "scheduler.job_deadline_minutes", "scheduler.heartbeat_seconds", "scheduler.fetcher_silent_seconds",
    "archive.retention_days", "news.max_results_per_query", "news.interval_minutes",
)
# ... and those that must be finite and >= 0.
_NON_NEGATIVE = ("sink.min_free_disk_mb", "export.random_prompts_per_market",
                 "news.max_queries_per_run", "clock.real_origin", "clock.sim_origin")
# Every platform's section (collector/platforms.py), when it has the key: > 0, or >= 0.
_PLATFORM_POSITIVE = ("requests_per_second", "connect_timeout_seconds", "read_timeout_seconds", "page_size")
_PLATFORM_NON_NEGATIVE = ("max_retries",)
_LOOPBACK_NAMES = ("localhost",)
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _get(cfg: Config, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def _platform_keys(cfg: Config) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(key, value) of every platform's numbers that must be > 0, and of those that must be >= 0."""
    from collector import platforms

    positive, non_negative = [], []
    for name, entry in platforms.registered(cfg).items():
        sec = platforms.section(cfg, name)
        where = entry.section or f"platforms.{name}"
        positive += [(f"{where}.{k}", getattr(sec, k)) for k in _PLATFORM_POSITIVE if hasattr(sec, k)]
        non_negative += [(f"{where}.{k}", getattr(sec, k)) for k in _PLATFORM_NON_NEGATIVE if hasattr(sec, k)]
    return positive, non_negative


def _extra_platform_problem(cfg: Config) -> str | None:
    """A [platforms.NAME] section whose name clashes or is unsafe, or whose module is not a dotted path."""
    from collector import platforms

    for name, sec in cfg.platforms.items():
        if platforms.NAME.fullmatch(name) is None:
            return f"key platforms.{name}: a platform name is 1-32 of a-z, 0-9, _ starting with a letter"
        if name in platforms.BUILTIN or name == platforms.ARCHIVER:
            return f"key platforms.{name}: {name!r} is a built-in name; configure it in its own section"
        for key in ("module", "backfill_module"):
            value = getattr(sec, key)
            if (value or key == "module") and _DOTTED.fullmatch(value) is None:
                return f"key platforms.{name}.{key} = {value!r} is not a dotted module path"
    return None


def endpoint_problem(endpoint: str) -> str | None:
    """Only ipc:// or tcp:// on a loopback address: the sockets have no authentication."""
    if endpoint == "":
        return None  # the ipc:// default in data_dir
    if endpoint.startswith("ipc://"):
        return None if len(endpoint) > len("ipc://") else "ipc:// needs a path"
    if not endpoint.startswith("tcp://"):
        return "must be ipc://PATH or tcp://127.0.0.1:PORT"
    host, _, port = endpoint[len("tcp://"):].rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"bad port {port!r}"
    if host.lower() in _LOOPBACK_NAMES:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"host {host!r} is not a loopback address (the sockets have no authentication)"


def _validate(cfg: Config, where: str) -> Config:
    """Checks msgspec's types cannot express: finite positive numbers, loopback endpoints, log level."""
    why = _extra_platform_problem(cfg)
    if why:
        raise ConfigError(f"{where}: {why}")
    platform_positive, platform_non_negative = _platform_keys(cfg)
    for key, value in [*((k, _get(cfg, k)) for k in _POSITIVE), *platform_positive]:
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{where}: key {key} must be a finite number > 0, got {value}")
    for key, value in [*((k, _get(cfg, k)) for k in _NON_NEGATIVE), *platform_non_negative]:
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{where}: key {key} must be a finite number >= 0, got {value}")
    horizons = cfg.export.prompt_horizons_days
    if not horizons or not all(math.isfinite(h) and h > 0 for h in horizons):
        raise ConfigError(f"{where}: key export.prompt_horizons_days must be finite numbers > 0, got {horizons}")
    if not (math.isfinite(cfg.export.fuzzy_threshold) and 0 <= cfg.export.fuzzy_threshold <= 100):
        raise ConfigError(f"{where}: key export.fuzzy_threshold must be in 0..100, got {cfg.export.fuzzy_threshold}")
    for key in ("zmq.sink_endpoint", "zmq.scheduler_endpoint"):
        why = endpoint_problem(_get(cfg, key))
        if why:
            raise ConfigError(f"{where}: key {key} = {_get(cfg, key)!r}: {why}")
    if not 0 <= cfg.snapshot.book_depth <= 15:
        raise ConfigError(f"{where}: key snapshot.book_depth must be 0..15, got {cfg.snapshot.book_depth}")
    if cfg.polymarket.book_tokens not in ("yes", "both"):
        raise ConfigError(f"{where}: key polymarket.book_tokens must be \"yes\" or \"both\"")
    if cfg.general.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{where}: key general.log_level must be DEBUG|INFO|WARNING|ERROR")
    return cfg
