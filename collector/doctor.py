"""`collector doctor`: is this installation able to collect? One line per check, each with a fix.

Checks, in the order a new user meets them: the config, the data directory, free disk space,
supervisord, the sink and the scheduler, each enabled platform's exchange in the registry
(collector/platforms.py; one cheap GET each, so an offline machine
gets a clear verdict in seconds rather than phases failing forever), and the wwatcher database
the exporter links. Nothing is written except a temporary probe file in the data directory.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from collector import platforms
from collector.config import Config

OK, WARN, FAIL = "ok", "warn", "FAIL"
HTTP_TIMEOUT_S = 5.0
DISK_WARN_FACTOR = 2.0  # warn when free space is within this factor of the disk guard's minimum
REFUSALS = (401, 403, 451)  # an exchange answering these will not serve this machine


@dataclass
class Check:
    name: str
    result: str  # ok | warn | FAIL
    detail: str
    fix: str = ""


def run_all(cfg: Config) -> list[Check]:
    checks = [check_config(cfg), check_data_dir(cfg), check_disk(cfg), check_supervisord(cfg),
              check_listener("sink", cfg.sink_endpoint), check_listener("scheduler", cfg.scheduler_endpoint)]
    checks += check_exchanges(cfg)
    checks.append(check_wwatcher(cfg))
    return checks


def check_config(cfg: Config) -> Check:
    if cfg.source_path == "<defaults>":
        return Check("config", WARN, "no config file found: built-in defaults (live exchanges, "
                     "~/.config/polymaster-collector/)",
                     "mkdir -p ~/.config/polymaster-collector && cp config.example.toml "
                     "~/.config/polymaster-collector/config.toml")
    return Check("config", OK, f"{Path(cfg.source_path).absolute()} (valid)")


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_data_dir(cfg: Config) -> Check:
    data = cfg.data_dir.absolute()
    fix = "make it writable by this user, or set [general] data_dir / db_path elsewhere"
    if not data.exists():
        parent = _existing_ancestor(data)
        if not parent.is_dir():
            return Check("data dir", FAIL, f"{data}: {parent} is a file", fix)
        return Check("data dir", OK, f"{data} (created on first start, under {parent})")
    try:
        with tempfile.TemporaryFile(dir=data, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", FAIL, f"{data}: cannot write ({exc.strerror or exc})", fix)
    return Check("data dir", OK, f"{data} (writable)")


def check_disk(cfg: Config) -> Check:
    free_mb = shutil.disk_usage(_existing_ancestor(cfg.data_dir.absolute())).free / 1e6
    minimum = cfg.sink.min_free_disk_mb
    detail = f"{free_mb:,.0f} MB free; the sink stops storing snapshots below {minimum:,.0f} MB"
    if free_mb < minimum:
        return Check("disk", FAIL, detail, "free disk space, or run collector archive")
    if free_mb < minimum * DISK_WARN_FACTOR:
        return Check("disk", WARN, detail, "free disk space soon, or enable [scheduler] archive_enabled")
    return Check("disk", OK, detail)


def check_supervisord(cfg: Config) -> Check:
    from collector.status import supervisor_state

    sup = supervisor_state(cfg.data_dir)
    if not sup["running"]:
        return Check("supervisord", FAIL, sup["error"] or "not running", "collector run   (or make demo)")
    down = [f"{n} {p['state']}" for n, p in sup["programs"].items() if p["state"] not in ("RUNNING", "STOPPED")]
    running = sum(p["state"] == "RUNNING" for p in sup["programs"].values())
    if down:
        return Check("supervisord", WARN, f"running; {', '.join(down)}", "collector status names the cause")
    return Check("supervisord", OK, f"running, {running} programs RUNNING")


def check_listener(name: str, endpoint: str) -> Check:
    from collector.reach import listening

    why = listening(endpoint)
    if why:
        return Check(name, FAIL, why, f"collector run   (or: collector ctl start {name})")
    return Check(name, OK, f"listening at {endpoint}")


def exchange_probes(cfg: Config) -> list[tuple[str, str, bool]]:
    """(check name, URL, strict) of one cheap public GET per exchange URL of every enabled platform
    in the registry (collector/platforms.py ``probes``), plugins included. strict: the path is a
    known endpoint, so any HTTP error fails; a plugin's URL is probed as configured, where only a
    refusal (401/403/451) or a server error fails (its root may well answer 404)."""
    probes = []
    for p in platforms.enabled(cfg):
        section = platforms.section(cfg, p.name)
        if p.probes:
            probes += [(name, getattr(section, key).rstrip("/") + path, True) for name, key, path in p.probes]
        else:
            probes += [(p.name if len(p.url_keys) == 1 else f"{p.name} {key}", getattr(section, key), False)
                       for key in p.url_keys]
    return probes


def check_exchanges(cfg: Config) -> list[Check]:
    import requests

    checks = []
    for name, url, strict in exchange_probes(cfg):
        try:
            reply = requests.get(url, timeout=HTTP_TIMEOUT_S)
        except requests.RequestException as exc:
            checks.append(Check(name, FAIL, f"cannot reach {url}: {type(exc).__name__} (offline, DNS or a proxy?)",
                                "check the network; without one, try the offline demo: make demo"))
            continue
        code = reply.status_code
        if code >= 500 or code in REFUSALS or (strict and code >= 400):
            checks.append(Check(name, FAIL, f"GET {url} -> HTTP {code}",
                                "HTTP 403/451: this network or country may be blocked; check base_url in the config"))
        else:
            checks.append(Check(name, OK, f"GET {url} -> HTTP {code} in {reply.elapsed.total_seconds():.2f} s"))
    return checks


def check_wwatcher(cfg: Config) -> Check:
    from exporter.wwatcher import locate

    path, tried = locate(cfg.export.wwatcher_db_path)
    if path is None:
        return Check("wwatcher db", WARN, f"not found (tried {', '.join(tried)}); exports carry no whale alerts",
                     "set [export] wwatcher_db_path to wwatcher's poly.db / wwatcher.db if you run it")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            n = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return Check("wwatcher db", FAIL, f"{path}: not a readable wwatcher database ({exc})",
                     "point [export] wwatcher_db_path at wwatcher's poly.db / wwatcher.db")
    return Check("wwatcher db", OK, f"{path} ({n} alerts)")


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.result:<5} {c.name:<{width}}  {c.detail}" + (f"  -> fix: {c.fix}" if c.fix and c.result != OK else ""))
    return "\n".join(lines)


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
