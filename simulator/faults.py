"""Fault injection: rate limiting, errors, latency, dropped/truncated/malformed answers.

Spec grammar (comma-separated `key=value`, all optional, off by default):
    rate=R         token bucket, R requests/s process-wide (burst R); over it -> 429
    err=P          probability of a 500/502/503 with the platform's error body
    latency=D      added delay per request: `50ms`, `0.2s` or bare seconds
    drop=P         close the connection without any response
    truncate=P     send half the body under the full Content-Length, then close
    malformed=P    per list page: corrupt ONE record (null field, wrong JSON type, missing key,
                   unknown extra field); the rest of the page is intact
    dup_page=P     on a cursor request, answer with the request's own cursor as the next cursor
                   (the sweep does not advance once)
    cf403=P        Cloudflare-style 403 HTML page
    settled_stuck=N  Kalshi only: the next N requests for page 2 or later of a settled listing
                   (status=settled, with a cursor) answer with their own cursor, so the listing
                   cannot go past page 1 until N is spent (a listing interrupted on page 2)
    updated_stuck=N  the same for a listing by min_updated_ts (the incremental DISCOVER)
Every draw comes from one seeded RNG, one draw per request, so a retry is an independent draw and
never fails forever. Faults only touch response copies, never the world.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

PROB_KEYS = ("err", "drop", "truncate", "malformed", "dup_page", "cf403")
CF403_HTML = (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
              b"<body><h1>Sorry, you have been blocked</h1><p>You are unable to access this site.</p>"
              b"<p>Cloudflare Ray ID: 8f1e2d3c4b5a6978</p></body></html>")
KALSHI_429 = {"error": {"code": "too_many_requests", "message": "too many requests"}}
ERROR_STATUSES = (500, 502, 503)
# Keys a record must have: removing one is the "missing required key" corruption.
REQUIRED = {"gamma": "conditionId", "clob": "condition_id", "kalshi": "ticker"}
# Keys whose JSON type we flip (string <-> number) where the docs do not say it happens.
TYPE_FLIP = {"gamma": ("id", "liquidityNum", "closed"), "clob": ("minimum_order_size", "question"),
             "kalshi": ("volume_fp", "yes_bid_dollars", "settlement_timer_seconds")}


class FaultSpecError(ValueError):
    pass


class Faults:
    def __init__(self, spec: str = "", seed: int = 7) -> None:
        self.rate = 0.0
        self.latency_s = 0.0
        self.p = {k: 0.0 for k in PROB_KEYS}
        self.stuck = {"settled": 0, "updated": 0}  # listing kind -> stuck answers left
        for item in filter(None, (x.strip() for x in (spec or "").split(","))):
            key, _, val = item.partition("=")
            key = key.strip()
            try:
                if key == "rate":
                    self.rate = float(val)
                elif key == "latency":
                    self.latency_s = _duration(val)
                elif key in ("settled_stuck", "updated_stuck"):
                    self.stuck[key.split("_")[0]] = int(val)
                    if int(val) < 0:
                        raise ValueError(val)
                elif key in self.p:
                    self.p[key] = float(val)
                    if not 0 <= self.p[key] <= 1:
                        raise ValueError(val)
                else:
                    raise FaultSpecError(f"unknown fault {key!r} in {spec!r}")
            except ValueError as exc:
                if isinstance(exc, FaultSpecError):
                    raise
                raise FaultSpecError(f"bad value for {key!r}: {val!r}") from None
        self.rng = random.Random(seed * 1_000_003 + 17)
        self.lock = threading.Lock()
        self.tokens, self.last = self.rate, time.monotonic()
        self.injected: Counter = Counter()

    @property
    def enabled(self) -> bool:
        return bool(self.rate or self.latency_s or any(self.stuck.values()) or any(self.p.values()))

    def count(self, kind: str) -> None:
        with self.lock:
            self.injected[kind] += 1

    def over_rate(self) -> bool:
        """Token bucket, one bucket for the whole process (all tests share 127.0.0.1)."""
        if not self.rate:
            return False
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return False
        return True

    def stick(self, kind: str) -> bool:
        """Spend one `<kind>_stuck` answer, if any are left."""
        with self.lock:
            if self.stuck.get(kind, 0) <= 0:
                return False
            self.stuck[kind] -= 1
            self.injected[f"{kind}_stuck"] += 1
            return True

    def draw(self) -> dict:
        """One independent set of draws for one request."""
        with self.lock:
            r = {k: self.rng.random() < v for k, v in self.p.items() if v}
            r["status"] = self.rng.choice(ERROR_STATUSES)
            r["retry_after"] = self.rng.random() < 0.5
            r["victim"] = self.rng.random()
            r["how"] = self.rng.randrange(4)
        return r


def _duration(text: str) -> float:
    text = text.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


def rate_limited(platform: str, retry_after: bool):
    """(status, headers, body) of a 429 in the platform's observed shape."""
    if platform == "kalshi":
        return 429, {"cache-control": "no-store"}, dict(KALSHI_429)
    headers = {"Retry-After": "1"} if retry_after else {}
    if platform == "gamma":
        return 429, headers, {"type": "rate limit", "error": "Too Many Requests"}
    return 429, headers, {"error": "Too Many Requests"}


def server_error(platform: str, status: int) -> dict:
    if platform == "gamma":
        return {"type": "internal error", "error": f"upstream error {status}"}
    if platform == "kalshi":
        return {"error": {"code": "internal_server_error", "message": f"internal error ({status})"}}
    return {"error": f"internal error ({status})"}


def corrupt(platform: str, records: list, victim: float, how: int) -> str | None:
    """Corrupt one dict record in place; returns a description (or None if nothing to corrupt)."""
    dicts = [r for r in records if isinstance(r, dict)]
    if not dicts:
        return None
    rec = dicts[int(victim * len(dicts))]
    flip = [k for k in TYPE_FLIP.get(platform, ()) if k in rec]
    if how == 0 and flip:
        k = flip[0]
        rec[k] = None
        return f"null:{k}"
    if how == 1 and flip:
        k = flip[-1]
        v = rec[k]
        rec[k] = (str(v) if not isinstance(v, str) else (float(v) if _num(v) else 12345))
        return f"type:{k}"
    if how == 2 and REQUIRED.get(platform) in rec:
        del rec[REQUIRED[platform]]
        return f"missing:{REQUIRED[platform]}"
    rec["x_sim_unknown_field"] = {"note": "unknown extra field"}
    return "extra"


def _num(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False
