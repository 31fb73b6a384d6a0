"""Shared fixtures: paths, free ports, config files, and real processes that are always reaped."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

# Library caches that would otherwise land in the checkout or in HOME (CI fails on either, and a
# test writes only to temporary directories): Hypothesis's example database and Unicode tables
# (default ./.hypothesis) and matplotlib's font cache (default ~/.cache/matplotlib, read by the
# exporter's calibration plot, also in the subprocesses that inherit MPLCONFIGDIR). One directory
# per test process, removed when it exits.
_LIBRARY_CACHE = tempfile.mkdtemp(prefix="collector-tests-cache-")
atexit.register(shutil.rmtree, _LIBRARY_CACHE, ignore_errors=True)
set_hypothesis_home_dir(Path(_LIBRARY_CACHE) / "hypothesis")
os.environ["MPLCONFIGDIR"] = str(Path(_LIBRARY_CACHE) / "matplotlib")

REPO = Path(__file__).resolve().parents[1]
# Example payloads of the real exchange APIs (provenance: tests/fixtures/api/PROVENANCE.md).
API_EXAMPLES = REPO / "tests" / "fixtures" / "api"
BIN = Path(sys.executable).parent


def pm_id(i: int) -> str:
    """A Polymarket market id in its documented form (a conditionId: "0x" + 64 hex), unique per i."""
    return "0x%064x" % i


def kx_id(i: int, prefix: str = "KXTEST") -> str:
    """A Kalshi market id in its documented form (a ticker), unique per (prefix, i)."""
    return f"{prefix}-{i}"


def iso(t: float) -> str:
    """Unix seconds as the ISO 8601 UTC text every table stores ("2026-01-01T00:00:00Z"), spelled
    here independently of collector.clock so a test never checks that code against itself."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(t)))  # float: None is an error, not "now"


def pytest_collection_modifyitems(config, items):
    """Modules with slow tests go first, the soak before all. `make test` hands each file to one
    xdist worker (--dist loadfile: a module's fixtures are built once, the soak runs one at a time),
    so the longest files start at once and short ones fill in around them. Each module stays in one
    piece and in its own order."""
    slow = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.module.__name__ != "tests.test_soak", item.module not in slow))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp: Path, text: str = "", **sections: dict) -> Path:
    """A config file whose db and sockets live in tmp; extra TOML text or sections on top."""
    lines = ["[general]", f'db_path = "{tmp / "collector.db"}"']
    general = sections.pop("general", {})
    for k, v in general.items():
        lines.append(f"{k} = {_toml(v)}")
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path = tmp / "config.toml"
    path.write_text("\n".join(lines) + "\n" + text)
    return path


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


class Proc:
    """A real child process with its output captured to a file."""

    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.args = args
        self.log_path = log
        self._log = open(log, "ab")
        self.p = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                  env={**os.environ, **(env or {})}, start_new_session=True)

    def signal(self, sig: int) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, sig)

    def stop(self, timeout: float = 15.0) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.p.wait(5)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.p.wait(5)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def procs():
    """Start processes with procs.start([...]); all are killed at teardown, whatever happened."""
    started: list[Proc] = []

    class Starter:
        def start(self, args: list[str], log: Path, env: dict | None = None) -> Proc:
            p = Proc(args, log, env)
            started.append(p)
            return p

    yield Starter()
    for p in started:
        if p.p.poll() is None:
            p.kill()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def script(name: str) -> str:
    """Path of a console script installed in the test venv."""
    return str(BIN / name)


def start_sink(procs, tmp: Path, cfg: Path) -> Proc:
    """A real sink process on cfg, returned once it listens (its database is migrated by then).

    Its output goes to tmp/sink.log; a restarted sink appends there and counts as up at its own
    new "listening" line, so a test can SIGKILL a sink and start it again the same way.
    """
    log = tmp / "sink.log"
    seen = log.read_text(errors="replace").count("listening") if log.exists() else 0
    sink = procs.start([script("sink"), "--config", str(cfg)], log)
    wait_for(lambda: sink.output().count("listening") > seen or sink.p.poll() is not None, 20, what="sink listening")
    assert sink.p.poll() is None, f"sink exited at start:\n{sink.output()[-2000:]}"
    return sink


def query(db_path, sql: str, args=()) -> list[tuple]:
    """Rows of one SQL statement on a collector.db, opened read-only as any reader opens it."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def counter(db_path, name: str) -> int:
    """One of the sink's counters (sink_counters), 0 until it is first counted."""
    rows = query(db_path, "SELECT value FROM sink_counters WHERE name = ?", (name,))
    return rows[0][0] if rows else 0


def dump(db_path) -> list[str]:
    """The whole database as SQL text, counters left out: equal dumps mean equal stored data."""
    db = sqlite3.connect(db_path)
    try:
        return [line for line in db.iterdump() if "sink_counters" not in line]
    finally:
        db.close()


def sink_dealer(tmp: Path):
    """A raw DEALER socket on the sink of a config written by write_config(tmp): the sender's side
    of the wire, for tests that hand-craft Batch frames. LINGER 0 so closing never blocks."""
    import zmq

    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(f"ipc://{tmp}/sink.ipc")
    return s


def send_and_ack(sock, batch):
    """Send one Batch on a sink_dealer socket and return the sink's answer (an Ack), within 10 s."""
    from collector import wire

    sock.send(wire.encode(batch))
    assert sock.poll(10000), "no ack"
    return wire.decode(sock.recv())


# The rigs several test files share (each rig's code is in its tests/*_rig.py module).


@pytest.fixture
def filled_sink(procs, tmp_path):
    """A real sink holding the archive tests' six days of snapshots (tests/archive_rig.py):
    (config path, sink process, snapshots stored)."""
    from tests.archive_rig import fill, make_config

    cfg = make_config(tmp_path)
    sink = start_sink(procs, tmp_path, cfg)
    return cfg, sink, fill(cfg)


@pytest.fixture
def sim_now():
    """The simulator on 127.0.0.1 with its world starting now, so the collector's ordinary clock
    agrees with it (the supervised stack runs on real time)."""
    from simulator import server

    handle = server.start(seed=11, markets=60, start=time.time(), faults="")
    yield handle
    handle.stop()


@pytest.fixture
def supervised(tmp_path, sim_now):
    """supervisord on the bundled supervisord.conf against sim_now (tests/supervised_rig.py), shut
    down at teardown."""
    from tests.supervised_rig import Supervised

    sup = Supervised(tmp_path, sim_now)
    yield sup
    sup.shutdown()


@pytest.fixture
def zmq_ctx():
    """A ZeroMQ context of the test's own, terminated at teardown (the scheduler rig's fake fetchers)."""
    import zmq

    context = zmq.Context()
    yield context
    context.term()


@pytest.fixture
def schedulers():
    """Append each scheduler rig's SchedulerProc here: all are SIGKILLed at teardown, whatever happened."""
    started = []
    yield started
    for p in started:
        p.stop(signal.SIGKILL)


@pytest.fixture
def kalshi_rig(procs, tmp_path):
    """Make Kalshi rigs (tests/kalshi_rig.py): kalshi_rig(name, markets=..., faults=..., page_size=...),
    each in tmp_path/name; their simulators are stopped at teardown (procs reaps their sinks)."""
    from tests.kalshi_rig import Rig

    rigs = []

    def make(name: str, **kw) -> Rig:
        d = tmp_path / name
        d.mkdir()
        rig = Rig(procs, d, **kw)
        rigs.append(rig)
        return rig

    yield make
    for r in rigs:
        r.sim.stop()


class LocalHttp:
    """A real HTTP server on 127.0.0.1 (free port) in a thread, for fake third-party services."""

    def __init__(self, handler):
        from http.server import ThreadingHTTPServer
        import threading

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """Base of the tests' fake HTTP services (served by LocalHttp): no access log on the test's
    stderr, and one way to send a reply."""

    def log_message(self, *args):
        pass

    def head(self, status: int, length: int, headers: dict | None = None) -> None:
        """Status line, the given headers, then Content-Length: what precedes a body of length bytes."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
        """A whole reply; a client that hung up first (a test that stopped it) is not an error."""
        self.head(status, len(body), headers)
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def reply_json(self, doc, status: int = 200) -> None:
        self.reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json"})
