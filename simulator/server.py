"""One ThreadingHTTPServer standing in for Gamma, the CLOB and Kalshi, plus `/_sim` control routes.

    /gamma/...                  Gamma   (https://gamma-api.polymarket.com)
    /clob/...                   CLOB    (https://clob.polymarket.com)
    /kalshi/trade-api/v2/...    Kalshi  (https://api.elections.kalshi.com/trade-api/v2)
    /_sim/truth|clock|stats     GET; POST /_sim/advance?seconds=S moves the clock forward

Python API for other packages' tests:
    h = start(seed=7, markets=100, speed=0)   # background thread, port 0 = free port
    requests.get(h.gamma_url + "/markets/keyset"); h.truth(); h.stop()
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import msgspec

from .clob_routes import ClobRoutes
from .faults import CF403_HTML, Faults, corrupt, rate_limited, server_error
from .gamma_routes import GammaRoutes
from .kalshi_books import KalshiBookRoutes
from .kalshi_routes import KalshiRoutes
from .reply import BadRequest, Reply, Req
from .sizing import WorldSize
from .world import World

HOST = "127.0.0.1"
PREFIXES = (("gamma", "/gamma"), ("clob", "/clob"), ("kalshi", "/kalshi/trade-api/v2"), ("sim", "/_sim"))
NOT_FOUND = {"gamma": {"type": "not found", "error": "not found"}, "clob": {"error": "not found"},
             "kalshi": {"error": {"code": "not_found", "message": "not found"}}, "sim": {"error": "not found"}}
MAX_BODY_BYTES = 8 * 1024 * 1024


class Router:
    """Pattern routes per platform; literal segments are tried before `{param}` ones."""

    def __init__(self, routes_by_platform: dict) -> None:
        self.table = {}
        for platform, routes in routes_by_platform.items():
            rows = []
            for method, pattern, fn in routes:
                segs = [s for s in pattern.split("/") if s]
                rows.append((method, segs, fn, pattern))
            rows.sort(key=lambda r: sum(s.startswith("{") for s in r[1]))
            self.table[platform] = rows

    def match(self, platform: str, method: str, path: str):
        segs = [s for s in path.split("/") if s]
        for m, pat, fn, pattern in self.table.get(platform, ()):
            if m != method or len(pat) != len(segs):
                continue
            params = {}
            for p, s in zip(pat, segs):
                if p.startswith("{"):
                    params[p[1:-1]] = s
                elif p != s:
                    break
            else:
                return fn, params, pattern
        return None, None, None


class Simulator:
    """World + routes + faults + counters, independent of the socket layer."""

    def __init__(self, world: World, faults: Faults) -> None:
        self.world, self.faults = world, faults
        self.requests: Counter = Counter()
        self.lock = threading.Lock()
        self.router = Router({"gamma": GammaRoutes(world).routes(), "clob": ClobRoutes(world).routes(),
                              "kalshi": KalshiRoutes(world).routes() + KalshiBookRoutes(world).routes(), "sim": self.sim_routes()})

    def sim_routes(self):
        return [("GET", "/truth", self.truth), ("GET", "/clock", self.clock),
                ("GET", "/stats", self.stats), ("POST", "/advance", self.advance)]

    def truth(self, req: Req, **_) -> Reply:
        return Reply(200, self.world.truth(req.now, with_prices=req.qbool("with_prices"),
                                           include_unlisted=req.qbool("all"),
                                           prices_since=float(req.q("prices_since", "0"))))

    def clock(self, req: Req, **_) -> Reply:
        from .clock import rfc3339
        return Reply(200, {"now": req.now, "iso": rfc3339(req.now, True), "speed": self.world.clock.speed})

    def stats(self, req: Req = None, **_) -> Reply:
        with self.lock:
            reqs = dict(sorted(self.requests.items()))
        with self.faults.lock:
            inj = dict(sorted(self.faults.injected.items()))
        rows = {"polymarket": dict(self.world.pm.row_counts), "kalshi": dict(self.world.kx.row_counts)}
        return Reply(200, {"requests": reqs, "faults": inj, "total_requests": sum(reqs.values()),
                           "total_faults": sum(inj.values()), "rows": rows})

    def advance(self, req: Req, **_) -> Reply:
        try:
            secs = float(req.q("seconds") or 0)
        except ValueError:
            raise BadRequest(400, {"error": "seconds must be a number"}) from None
        now = self.world.clock.advance(secs)
        return Reply(200, {"now": now})

    def split(self, path: str):
        for platform, prefix in PREFIXES:
            if path == prefix or path.startswith(prefix + "/"):
                return platform, path[len(prefix):] or "/"
        return None, path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "polymaster-simulator/1"
    sim: Simulator

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in two writes, and Nagle + the client's delayed
        ACK would otherwise stall every keep-alive response by ~40 ms."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args) -> None:  # quiet: tests and benches drive thousands of requests
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        sim = self.sim
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, MAX_BODY_BYTES)) if n else b""
        platform, sub = sim.split(url.path)
        fn, params, pattern = sim.router.match(platform, method, sub) if platform else (None, None, None)
        route = f"{platform or '?'} {method} {pattern or 'unmatched'}"
        with sim.lock:
            sim.requests[route] += 1
        if fn is None:
            return self._send(404, NOT_FOUND.get(platform, {"error": "not found"}))
        faults = sim.faults
        draws = None
        if platform != "sim" and faults.enabled:
            if faults.over_rate():
                faults.count("rate")
                status, headers, err = rate_limited(platform, faults.draw()["retry_after"])
                return self._send(status, err, headers)
            draws = faults.draw()
            if faults.latency_s:
                faults.count("latency")
                time.sleep(faults.latency_s)
            if draws.get("drop"):
                faults.count("drop")
                self.close_connection = True
                return
            if draws.get("cf403"):
                faults.count("cf403")
                return self._send_raw(403, CF403_HTML, "text/html; charset=UTF-8")
            if draws.get("err"):
                faults.count(f"err{draws['status']}")
                return self._send(draws["status"], server_error(platform, draws["status"]))
        req = Req(method, sub, url.query, body, sim.world.now())
        try:
            reply = fn(req, **params)
        except BadRequest as exc:
            return self._send(exc.status, exc.body, sort_keys=platform == "kalshi")
        except Exception:  # a simulator bug must look like a 500, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            return self._send(500, server_error(platform, 500))
        if draws and reply.status == 200:
            if draws.get("malformed") and reply.records is not None:
                recs = reply.body if reply.records == "" else reply.body.get(reply.records)
                if isinstance(recs, list):   # cached rows come as bytes: the fault layer edits dicts
                    recs[:] = [msgspec.json.decode(r) if isinstance(r, msgspec.Raw) else r for r in recs]
                if isinstance(recs, list) and corrupt(platform, recs, draws["victim"], draws["how"]):
                    faults.count("malformed")
            if draws.get("dup_page") and reply.cursor_field and reply.req_cursor:
                reply.body[reply.cursor_field] = reply.req_cursor
                faults.count("dup_page")
            if platform == "kalshi" and reply.cursor_field and reply.req_cursor and (
                    (req.q("status") == "settled" and faults.stick("settled"))
                    or (req.q("min_updated_ts") and faults.stick("updated"))):
                reply.body[reply.cursor_field] = reply.req_cursor
        data = msgspec.json.encode(reply.body, order="sorted" if reply.sort_keys else None)
        if draws and draws.get("truncate"):
            faults.count("truncate")
            return self._send_raw(reply.status, data, "application/json", reply.headers, cut=True)
        self._send_raw(reply.status, data, "application/json", reply.headers)

    def _send(self, status: int, body, headers: dict | None = None, sort_keys: bool = False) -> None:
        data = msgspec.json.encode(body, order="sorted" if sort_keys else None)
        self._send_raw(status, data, "application/json", headers)

    def _send_raw(self, status: int, data: bytes, ctype: str, headers: dict | None = None,
                  cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)


class SimHandle:
    """A running simulator (background thread). Use `stop()` when done."""

    def __init__(self, sim: Simulator, httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.sim, self.world, self._httpd, self._thread = sim, sim.world, httpd, thread
        self.port = httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def gamma_url(self) -> str:
        return self.url + "/gamma"

    @property
    def clob_url(self) -> str:
        return self.url + "/clob"

    @property
    def kalshi_url(self) -> str:
        return self.url + "/kalshi/trade-api/v2"

    def now(self) -> float:
        return self.world.now()

    def advance(self, seconds: float) -> float:
        return self.world.clock.advance(seconds)

    def truth(self, with_prices: bool = False, include_unlisted: bool = False) -> dict:
        return self.world.truth(with_prices=with_prices, include_unlisted=include_unlisted)

    def stats(self) -> dict:
        return self.sim.stats().body

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SimHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def make_server(world: World, faults: Faults, port: int = 0) -> tuple[Simulator, ThreadingHTTPServer]:
    sim = Simulator(world, faults)
    handler = type("BoundHandler", (Handler,), {"sim": sim})
    httpd = ThreadingHTTPServer((HOST, port), handler)
    httpd.daemon_threads = True
    return sim, httpd


def start(seed: int = 7, markets: int = 100, speed: float = 1.0, faults: str = "",
          start: float | str | None = None, legacy_cents: bool = False, port: int = 0,
          kalshi_books_auth: bool = False, size: WorldSize | None = None) -> SimHandle:
    """Start a simulator on 127.0.0.1 in a background thread and return its handle (``size``: a
    real-scale world instead of ``markets``, as ``simulator --open-polymarket …``)."""
    world = World(seed=seed, markets=markets, start=start, speed=speed, legacy_cents=legacy_cents, size=size)
    world.kalshi_books_auth = kalshi_books_auth
    sim, httpd = make_server(world, Faults(faults, seed), port)
    thread = threading.Thread(target=httpd.serve_forever, name="simulator-http", daemon=True)
    thread.start()
    return SimHandle(sim, httpd, thread)
