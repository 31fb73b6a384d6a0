"""The one HTTP client every platform module talks through: polite, bounded, and honest about failure.

Why each piece exists:

* **Token bucket** at ``requests_per_second`` (config, default 2/s): the exchanges throttle per
  sliding window and Cloudflare answers a burst with 429 or a 403 HTML page.
* **One requests.Session** with a real User-Agent: Cloudflare has answered 403 HTML to library
  default agents, and connection reuse keeps a 500-page sweep cheap.
* **Explicit timeout=(connect, read)** on every call, and a **total deadline per attempt**
  (``ATTEMPT_DEADLINE_SECONDS``: connect, headers and the whole body): a body that drips one byte
  a second no longer holds a cycle for minutes, since the read timeout only bounds each read. The
  body is read as it arrives, so the stop flag is checked between reads (SIGTERM mid-body ends
  the phase within a second while bytes flow; a server silent before its headers or mid-body is
  cut off by ``fetchers.http_stop.StopWatch``, which shuts the connection's socket on a stop).
* **One request, all retries included, gives up after ``REQUEST_BUDGET_SECONDS``**, and a
  Retry-After longer than ``RETRY_AFTER_CAP_SECONDS`` is not waited for at all: the request
  fails now and the next run catches up.
* **Exponential backoff with full jitter** on 429, 5xx, timeouts, connection errors and bodies
  that are truncated or not JSON, honouring ``Retry-After`` (header) or ``retry_after_seconds``
  (CLOB error body). The budget is ``max_retries`` per request; then ``RetryBudgetExhausted``,
  which the phase turns into a partial-failure report so the next run catches up.
* **4xx are not retried** (400, 404, 414, 422): retrying cannot fix a bad request, so they raise
  ``ApiRefused`` with the status and a body excerpt. A 403 (usually a Cloudflare HTML page) is
  retried exactly once after a long pause, never forever.
* Every sleep is cut into short slices that check ``should_stop`` so SIGTERM is never held up by
  a backoff; an interrupted wait raises ``Interrupted``.

Counters (requests, retries) go into the current phase's ``PhaseCounters``; pass either the
counters object or a zero-argument callable returning the current one (the client outlives phases).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from typing import Any, Callable

import msgspec
import requests
import urllib3

from collector.errors import ApiError
from fetchers.base import PhaseCounters
from fetchers.http_stop import StopWatch

USER_AGENT = "polymaster-collector/0.1 (+https://github.com/neur0map/polymaster)"
BACKOFF_BASE_SECONDS = 0.5  # first retry waits up to this long (full jitter: uniform 0..x)
BACKOFF_CAP_SECONDS = 30.0  # no single backoff sleep is longer than this
RETRY_AFTER_CAP_SECONDS = 120.0  # a server asking for a longer pause: give up on this request now
ATTEMPT_DEADLINE_SECONDS = 60.0  # one attempt: connect + headers + whole body
REQUEST_BUDGET_SECONDS = 300.0  # one request, every attempt and wait included
BODY_CHUNK_BYTES = 1 << 16
FORBIDDEN_PAUSE_SECONDS = 60.0  # the one pause before retrying a 403 (Cloudflare WAF)
SLEEP_SLICE_SECONDS = 0.1  # how often a sleep checks the stop flag
BODY_EXCERPT_CHARS = 300  # how much of an error body goes into the exception message
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 6


class RetryBudgetExhausted(ApiError):
    """Every retry of one request failed; the phase reports a partial failure."""


class ApiRefused(ApiError):
    """A response retrying will not fix (4xx, or a 403 that came back after the pause)."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class Interrupted(ApiError):
    """Shutdown was requested while waiting (rate limit or backoff)."""


class _Retryable(Exception):
    """Internal: this attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; take() waits for one."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def delay(self) -> float:
        """Take a token now if there is one (0.0), else reserve it and return how long to wait."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1.0
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class HttpClient:
    """Rate-limited, retrying JSON client for one platform (implements fetchers.base.Http)."""

    def __init__(
        self,
        platform: str,
        cfg_section: Any,
        counters: PhaseCounters | Callable[[], PhaseCounters] | None = None,
        log: logging.Logger | None = None,
        should_stop: Callable[[], bool] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.platform = platform
        self.log = log or logging.getLogger(f"fetcher-{platform}")
        self._counters = counters
        self.should_stop = should_stop or (lambda: False)
        self.timeout = (
            float(getattr(cfg_section, "connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT)),
            float(getattr(cfg_section, "read_timeout_seconds", DEFAULT_READ_TIMEOUT)),
        )
        self.max_retries = int(getattr(cfg_section, "max_retries", DEFAULT_MAX_RETRIES))
        self.bucket = TokenBucket(float(cfg_section.requests_per_second))
        self.forbidden_pause = FORBIDDEN_PAUSE_SECONDS
        self.backoff_cap = BACKOFF_CAP_SECONDS
        self.attempt_deadline = ATTEMPT_DEADLINE_SECONDS
        self.request_budget = REQUEST_BUDGET_SECONDS
        self.session = session or requests.Session()
        self._stop_watch = StopWatch(self.should_stop)  # a stop shuts a read blocked on a silent server
        self._stop_watch.mount(self.session)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})

    # --- public API ----------------------------------------------------------------------

    def get_json(self, url: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None,
                 decoder: msgspec.json.Decoder | None = None) -> Any:
        """GET and decode. With ``decoder`` (a typed msgspec decoder, much faster on big pages
        because it skips fields it does not declare) the body is decoded to its type when it
        validates, and to plain JSON when it does not, so one odd row never costs a retry."""
        return self._request("GET", url, params=params, decoder=decoder)

    def post_json(self, url: str, body: Any, decoder: msgspec.json.Decoder | None = None) -> Any:
        """POST a JSON body; ``decoder`` as for get_json."""
        return self._request("POST", url, json=body, decoder=decoder)

    def close(self) -> None:
        self._stop_watch.close()
        self.session.close()

    # --- internals -----------------------------------------------------------------------

    @property
    def counters(self) -> PhaseCounters | None:
        c = self._counters
        return c() if callable(c) else c

    @counters.setter
    def counters(self, value: PhaseCounters | Callable[[], PhaseCounters] | None) -> None:
        self._counters = value

    def _count(self, field: str) -> None:
        c = self.counters
        if c is not None:
            setattr(c, field, getattr(c, field) + 1)

    def _request(self, method: str, url: str, decoder: msgspec.json.Decoder | None = None, **kwargs: Any) -> Any:
        attempt = 0
        forbidden_retried = False
        started = time.monotonic()
        while True:
            self.sleep(self.bucket.delay())
            self._count("requests")
            try:
                return self._attempt(method, url, decoder, **kwargs)
            except _Retryable as exc:
                if self.should_stop():  # the stop watch cut this attempt short: no retry, no backoff
                    raise Interrupted(f"{self.platform}: stop requested mid-request ({exc.reason})") from None
                reason, retry_after = exc.reason, exc.retry_after
            except ApiRefused as exc:
                if exc.status != 403 or forbidden_retried:
                    raise
                forbidden_retried = True
                self.log.warning("%s %s: 403, pausing %.0f s before one retry", method, url, self.forbidden_pause)
                self._count("retries")
                self.sleep(self.forbidden_pause)
                continue
            if attempt >= self.max_retries:
                raise RetryBudgetExhausted(
                    f"{method} {url}: gave up after {attempt + 1} attempts, last: {reason}"
                )
            if retry_after is not None and retry_after > RETRY_AFTER_CAP_SECONDS:
                raise RetryBudgetExhausted(f"{method} {url}: {reason} asks to wait {retry_after:.0f} s "
                                           f"(> {RETRY_AFTER_CAP_SECONDS:.0f} s); giving up until the next run")
            wait = self._backoff(attempt, retry_after)
            if time.monotonic() - started + wait > self.request_budget:
                raise RetryBudgetExhausted(f"{method} {url}: over the {self.request_budget:.0f} s budget "
                                           f"after {attempt + 1} attempts, last: {reason}")
            attempt += 1
            self._count("retries")
            self.log.info("%s %s: %s; retry %d/%d in %.2f s", method, url, reason, attempt, self.max_retries, wait)
            self.sleep(wait)

    def _attempt(self, method: str, url: str, decoder: msgspec.json.Decoder | None, **kwargs: Any) -> Any:
        deadline = time.monotonic() + self.attempt_deadline
        try:
            resp = self.session.request(method, url, timeout=self.timeout, stream=True, **kwargs)
            content = self._body(resp, deadline)  # may raise on a connection cut mid-body
        except requests.Timeout as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _Retryable(f"connection error ({type(exc).__name__})") from None
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}", _retry_after(resp, content))
        if status >= 400:
            excerpt = content[:BODY_EXCERPT_CHARS].decode("utf-8", "replace")
            kind = "HTML page (Cloudflare?)" if b"<html" in content[:2000].lower() else "body"
            raise ApiRefused(f"{method} {resp.url}: HTTP {status}, {kind}: {excerpt!r}", status, excerpt)
        try:
            if decoder is not None:
                try:
                    return decoder.decode(content)
                except msgspec.ValidationError:
                    pass  # valid JSON of another shape: the caller's tolerant path sorts it out
            return msgspec.json.decode(content)
        except msgspec.DecodeError:
            raise _Retryable(f"truncated or non-JSON body ({len(content)} bytes)") from None

    def _body(self, resp: requests.Response, deadline: float) -> bytes:
        """The whole body, read as it arrives; _Retryable past the deadline, Interrupted on stop."""
        chunks = []
        try:
            with self._stop_watch.watching(resp.raw):
                while True:
                    if time.monotonic() > deadline:
                        raise _Retryable(f"body not complete within {self.attempt_deadline:.0f} s")
                    if self.should_stop():
                        raise Interrupted(f"{self.platform}: stop requested mid-body")
                    try:
                        chunk = resp.raw.read1(BODY_CHUNK_BYTES, decode_content=True)
                    except urllib3.exceptions.ReadTimeoutError as exc:
                        raise requests.exceptions.ReadTimeout(str(exc)) from None
                    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
                        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
                    if not chunk:
                        return b"".join(chunks)
                    chunks.append(chunk)
        finally:
            resp.close()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        jitter = random.uniform(0.0, min(self.backoff_cap, BACKOFF_BASE_SECONDS * (2 ** attempt)))
        if retry_after is not None:
            return min(RETRY_AFTER_CAP_SECONDS, max(retry_after, jitter))
        return jitter

    def sleep(self, seconds: float) -> None:
        """Sleep in short slices; raise Interrupted as soon as shutdown is requested."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            if self.should_stop():
                raise Interrupted(f"{self.platform}: stop requested")
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(SLEEP_SLICE_SECONDS, left))


def _retry_after(resp: requests.Response, content: bytes) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or HTTP date) or retry_after_seconds."""
    header = resp.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    if content[:1] == b"{":
        try:
            body = msgspec.json.decode(content)
            value = body.get("retry_after_seconds") if isinstance(body, dict) else None
            if value is not None:
                return max(0.0, float(value))
        except (msgspec.DecodeError, TypeError, ValueError):
            pass
    return None
