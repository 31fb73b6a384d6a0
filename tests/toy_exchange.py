"""The toy platform's exchange (tests/toy_platform.py is its fetcher module): a fake on 127.0.0.1,
served with conftest.LocalHttp, whose one endpoint ``GET /markets`` answers 200 with TOY_MARKETS
and every other path 404 (test_platform_registry.py, test_doctor.py)."""

from __future__ import annotations

from tests.conftest import QuietHandler

TOY_MARKETS = [
    {"id": "TOY-RAIN", "question": "Will it rain in Toyland?", "yes": 0.42, "state": "open", "outcome": None},
    {"id": "TOY-SUN", "question": "Will the sun rise?", "yes": 0.99, "state": "open", "outcome": None},
    {"id": "TOY-DONE", "question": "Was it done?", "yes": 1.0, "state": "settled", "outcome": "YES"},
]


class ToyExchange(QuietHandler):
    def do_GET(self):
        if self.path == "/markets":
            self.reply_json({"markets": TOY_MARKETS})
        else:
            self.reply_json({}, status=404)
