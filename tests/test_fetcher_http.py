"""HttpClient against a real HTTP server on 127.0.0.1 that answers from a script of responses."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from collector.config import Polymarket
from fetchers.base import PhaseCounters
from fetchers.http import USER_AGENT, ApiRefused, HttpClient, Interrupted, RetryBudgetExhausted
from tests.conftest import LocalHttp, QuietHandler, free_port, script, start_sink, write_config

pytestmark = pytest.mark.timeout(60)


class Scripted(LocalHttp):
    """Serves the queued (status, headers, body, delay) answers in order; then 200 {"ok": true}."""

    def __init__(self):
        self.queue: list[tuple[int, dict, bytes, float]] = []
        self.seen: list[tuple[str, str, dict]] = []
        outer = self

        class Handler(QuietHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body_in = self.rfile.read(length) if length else b""
                outer.seen.append((self.command, self.path, dict(self.headers), body_in))
                status, headers, body, delay = outer.queue.pop(0) if outer.queue else (200, {}, b'{"ok": true}', 0)
                time.sleep(delay)
                self.reply(status, body, headers)

            do_GET = do_POST = _answer

        super().__init__(Handler)


@pytest.fixture
def server():
    s = Scripted()
    yield s
    s.close()


def client(rps=100.0, retries=3, read=5.0, stop=None):
    counters = PhaseCounters()
    section = Polymarket(requests_per_second=rps, max_retries=retries, read_timeout_seconds=read,
                         connect_timeout_seconds=1.0)
    c = HttpClient("polymarket", section, counters, should_stop=stop)
    c.backoff_cap = 0.05  # keep the suite fast; the schedule itself is tested below
    c.forbidden_pause = 0.1
    return c, counters


def test_get_json_sends_user_agent_and_params(server):
    c, n = client()
    assert c.get_json(server.url + "/markets/keyset", [("id", 1), ("id", 2), ("closed", "true")]) == {"ok": True}
    method, path, headers, _ = server.seen[0]
    assert path == "/markets/keyset?id=1&id=2&closed=true"
    assert headers["User-Agent"] == USER_AGENT
    assert c.post_json(server.url + "/prices", [{"token_id": "1", "side": "BUY"}]) == {"ok": True}
    assert server.seen[1][3] == b'[{"token_id": "1", "side": "BUY"}]'
    assert (n.requests, n.retries) == (2, 0)


def test_429_honours_retry_after_header(server):
    server.queue.append((429, {"Retry-After": "0.3"}, b"slow down", 0))
    c, n = client()
    t0 = time.monotonic()
    assert c.get_json(server.url + "/x") == {"ok": True}
    assert time.monotonic() - t0 >= 0.3
    assert (n.requests, n.retries) == (2, 1)


def test_retry_after_seconds_in_clob_body(server):
    server.queue.append((503, {}, b'{"error": "busy", "retry_after_seconds": 0.25}', 0))
    c, n = client()
    t0 = time.monotonic()
    c.get_json(server.url + "/x")
    assert time.monotonic() - t0 >= 0.25 and n.retries == 1


def test_5xx_truncated_and_non_json_bodies_are_retried(server):
    server.queue += [(500, {}, b'{"type": "internal error", "error": "x"}', 0),
                     (200, {}, b'{"markets": [{"id": "1"', 0), (200, {}, b"<html>oops</html>", 0)]
    c, n = client()
    assert c.get_json(server.url + "/x") == {"ok": True}
    assert (n.requests, n.retries) == (4, 3)


def test_retry_budget_is_bounded(server):
    server.queue += [(502, {}, b"bad gateway", 0)] * 10
    c, n = client(retries=3)
    with pytest.raises(RetryBudgetExhausted, match="4 attempts"):
        c.get_json(server.url + "/x")
    assert (n.requests, n.retries) == (4, 3)


def test_422_is_not_retried_and_says_why(server):
    server.queue.append((422, {}, b'{ "type": "validation error", "error": "offset is not allowed on keyset endpoints" }', 0))
    c, n = client()
    with pytest.raises(ApiRefused, match="HTTP 422.*offset is not allowed") as info:
        c.get_json(server.url + "/markets/keyset", {"offset": 5})
    assert info.value.status == 422 and n.requests == 1 and n.retries == 0


def test_403_html_is_retried_once_after_a_pause_then_refused(server):
    page = b"<!DOCTYPE html><html><title>Attention Required! | Cloudflare</title></html>"
    server.queue += [(403, {"Content-Type": "text/html"}, page, 0)] * 3
    c, n = client()
    with pytest.raises(ApiRefused, match="HTTP 403, HTML page") as info:
        c.get_json(server.url + "/x")
    assert info.value.status == 403 and (n.requests, n.retries) == (2, 1)


def test_read_timeout_and_refused_connection_are_retried(server):
    server.queue.append((200, {}, b'{"late": true}', 1.5))
    c, n = client(read=0.5)
    assert c.get_json(server.url + "/x") == {"ok": True}
    assert n.retries == 1
    dead, m = client(retries=2)
    with pytest.raises(RetryBudgetExhausted, match="connection error"):
        dead.get_json(f"http://127.0.0.1:{free_port()}/x")
    assert (m.requests, m.retries) == (3, 2)


def test_token_bucket_paces_requests(server):
    c, n = client(rps=20.0)
    t0 = time.monotonic()
    for _ in range(11):
        c.get_json(server.url + "/x")
    assert time.monotonic() - t0 >= 10 / 20.0 - 0.05  # the first token is free, then 20/s


def test_backoff_schedule_full_jitter_within_cap():
    c, _ = client()
    c.backoff_cap = 30.0
    for attempt in range(10):
        w = c._backoff(attempt, None)
        assert 0.0 <= w <= min(30.0, 0.5 * 2 ** attempt)
    assert c._backoff(0, 7.0) == 7.0 and c._backoff(0, 10_000.0) == 120.0


def test_stop_flag_interrupts_a_backoff(server):
    server.queue += [(429, {"Retry-After": "30"}, b"", 0)]
    stop = threading.Event()
    c, _ = client(stop=stop.is_set)
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(Interrupted):
        c.get_json(server.url + "/x")
    assert time.monotonic() - t0 < 2.0


class Drip(LocalHttp):
    """Sends a 10,000-byte JSON body one byte every 50 ms (8+ minutes), like a slowloris server."""

    def __init__(self):
        class Handler(QuietHandler):
            def do_GET(self):
                body = b'{"x": "' + b"a" * 9990 + b'"}'
                self.head(200, len(body))
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass

        super().__init__(Handler)


@pytest.fixture
def drip():
    d = Drip()
    yield d
    d.close()


def test_a_dripping_body_hits_the_total_deadline(drip):
    c, n = client(retries=1, read=5.0)
    c.attempt_deadline = 1.0
    t0 = time.monotonic()
    with pytest.raises(RetryBudgetExhausted, match="not complete within 1 s"):
        c.get_json(drip.url + "/x")
    assert time.monotonic() - t0 < 5.0 and n.requests == 2


def test_stop_ends_a_request_mid_body(drip):
    stop = threading.Event()
    c, _ = client(stop=stop.is_set)
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(Interrupted, match="stop requested mid-"):
        c.get_json(drip.url + "/x")
    assert time.monotonic() - t0 < 2.0


class Silent(LocalHttp):
    """Goes silent for a minute, either before its headers or after half of its body (a hung server)."""

    def __init__(self, before_headers: bool):
        release = self.release = threading.Event()

        class Handler(QuietHandler):
            def do_GET(self):
                body = b'{"x": "' + b"a" * 990 + b'"}'
                if before_headers:
                    release.wait(60)
                self.head(200, len(body))
                try:
                    self.wfile.write(body[:500])
                    self.wfile.flush()
                    release.wait(60)
                    self.wfile.write(body[500:])
                except OSError:
                    pass

        super().__init__(Handler)

    def close(self):
        self.release.set()
        super().close()


@pytest.mark.parametrize("before_headers", [False, True], ids=["mid-body", "before-headers"])
def test_stop_ends_a_request_to_a_silent_server_long_before_the_read_timeout(before_headers):
    """A stop must not wait for the 30 s read timeout: the in-flight connection is shut down."""
    silent = Silent(before_headers)
    stop = threading.Event()
    c, n = client(stop=stop.is_set, read=30.0)
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(Interrupted, match="stop requested"):
            c.get_json(silent.url + "/x")
    finally:
        silent.close()
    assert time.monotonic() - t0 < 2.0 and n.requests == 1 and n.retries == 0


def test_a_huge_retry_after_gives_up_at_once(server):
    server.queue.append((429, {"Retry-After": "100000"}, b"", 0))
    c, n = client(retries=6)
    t0 = time.monotonic()
    with pytest.raises(RetryBudgetExhausted, match="asks to wait 100000 s"):
        c.get_json(server.url + "/x")
    assert time.monotonic() - t0 < 2.0 and n.requests == 1


def test_one_request_stays_within_its_total_budget(server):
    server.queue += [(503, {"Retry-After": "1"}, b"", 0)] * 5
    c, n = client(retries=6)
    c.request_budget = 2.5
    t0 = time.monotonic()
    with pytest.raises(RetryBudgetExhausted, match="budget"):
        c.get_json(server.url + "/x")
    assert time.monotonic() - t0 < 3.0 and n.requests == 3


def test_sigterm_ends_a_fetcher_phase_mid_body_within_10s(drip, procs, tmp_path):
    """A real `fetcher --once snapshot` whose exchange drips its body: SIGTERM ends it promptly."""
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1},
                       kalshi={"base_url": drip.url + "/trade-api/v2", "read_timeout_seconds": 30.0},
                       zmq={"sink_wait_seconds": 5.0})
    start_sink(procs, tmp_path, cfg)
    fetcher = procs.start([script("fetcher"), "--config", str(cfg), "--platform", "kalshi", "--once", "snapshot"],
                          tmp_path / "fetcher.log")
    time.sleep(2.0)  # well inside the dripping body
    assert fetcher.p.poll() is None
    t0 = time.monotonic()
    fetcher.signal(signal.SIGTERM)
    fetcher.p.wait(15)
    assert time.monotonic() - t0 < 10.0, fetcher.output()
    assert "interrupted" in fetcher.output()
