"""The toy platform's exchange (tests/toy_platform.py is its fetcher module): a fake on 127.0.0.1,
served with conftest.LocalHttp, whose one endpoint ``GET /markets`` answers 200 with TOY_MARKETS
and every other path 404 (test_platform_registry.py, test_doctor.py)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

TOY_MARKETS = [
    {"id": "TOY-RAIN", "question": "Will it rain in Toyland?", "yes": 0.42, "state": "open", "outcome": None},
    {"id": "TOY-SUN", "question": "Will the sun rise?", "yes": 0.99, "state": "open", "outcome": None},
    {"id": "TOY-DONE", "question": "Was it done?", "yes": 1.0, "state": "settled", "outcome": "YES"},
]


class ToyExchange(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"markets": TOY_MARKETS}).encode() if self.path == "/markets" else b"{}"
        self.send_response(200 if self.path == "/markets" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
