"""News fetcher against a small fake SearXNG on 127.0.0.1, with a real sink and real fetcher processes."""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from collector import config, wire
from fetchers import news
from collector.sink_client import Publisher
from tests.conftest import LocalHttp, QuietHandler, pm_id, script, start_sink, write_config


class FakeSearxng(LocalHttp):
    """Speaks SearXNG's JSON format; ``mode`` switches to failure behaviours."""

    def __init__(self):
        self.mode = "ok"
        self.queries: list[str] = []
        fake = self

        class Handler(QuietHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                q = parse_qs(url.query).get("q", [""])[0]
                fake.queries.append(q)
                if fake.mode == "html":
                    return self.reply(200, b"<html><body>Too many requests</body></html>", {"Content-Type": "text/html"})
                if fake.mode == "garbage":
                    return self.reply(200, b'{"results": [ {"url": "http://x', {"Content-Type": "application/json"})
                if fake.mode == "slow":
                    time.sleep(3)
                words = q.split()
                results = [
                    {"url": f"https://news.example/{'-'.join(words)}/{i}", "title": f"{q} headline {i}",
                     "content": "...", "engine": "bing news", "publishedDate": "2026-11-20T10:00:00"}
                    for i in range(3)
                ]
                results.append({"url": None, "title": "broken"})  # a malformed record
                results.append({"url": "https://other.example/dup", "title": f"{q.upper()} HEADLINE 0!"})
                self.reply_json({"query": q, "number_of_results": len(results), "results": results})

        super().__init__(Handler)


@pytest.fixture
def searxng():
    fake = FakeSearxng()
    yield fake
    fake.close()


def test_query_drops_stop_words_and_boilerplate():
    assert news.build_query("Will Bitcoin reach $120,000 by March 31, 2026?") == "Bitcoin reach $120,000 March 31 2026"
    assert news.build_query("Will the Fed cut rates in December?") == "Fed cut rates December"


def test_parse_results_rejects_malformed_and_normalises_dates():
    good, bad = news.parse_results({"results": [
        {"url": "https://a.example/x", "title": " A  title ", "publishedDate": "2026-11-20T10:00:00+02:00"},
        {"url": "ftp://nope", "title": "t"}, {"title": "no url"}, "not a dict",
    ]}, 10)
    assert bad == 3
    assert good == [{"url": "https://a.example/x", "headline": "A title", "source": "a.example",
                     "published_at": "2026-11-20T08:00:00Z"}]
    with pytest.raises(ValueError):
        news.parse_results("<html>", 10)


def seed_markets(cfg_path, markets):
    cfg = config.load(cfg_path)
    pub = Publisher(cfg.sink_endpoint, "seed", "simulator", cfg)
    for platform, market_id, title, volume in markets:
        pub.publish(wire.MarketUpsert(platform=platform, market_id=market_id, observed_at=time.time(),
                                      title=title, volume=volume))
    pub.flush_and_wait(30)
    pub.close()


def run_news(cfg_path, tmp_path, name):
    import subprocess

    return subprocess.run([script("fetcher"), "--config", str(cfg_path), "--platform", "news", "--once", "news"],
                          capture_output=True, text=True, timeout=120)


def rows(db_path, sql):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.mark.slow
def test_headlines_stored_once_most_traded_first_and_failures_do_not_crash(procs, tmp_path, searxng):
    # Loopback exchange URLs make this a "simulator" installation, like the demo.
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1},
                       polymarket={"base_url": "http://127.0.0.1:9/clob", "gamma_url": "http://127.0.0.1:9/gamma"},
                       kalshi={"base_url": "http://127.0.0.1:9/kalshi"},
                       news={"enabled": True, "searxng_url": searxng.url, "max_queries_per_run": 2,
                             "requests_per_second": 50.0})
    start_sink(procs, tmp_path, cfg)
    seed_markets(cfg, [("polymarket", pm_id(0xa), "Will Bitcoin reach $150,000 in 2026?", 10.0),
                       ("kalshi", "KX-B", "Will the Fed cut rates in December?", 5000.0),
                       ("polymarket", pm_id(0xc), "Will it snow in Paris on Christmas?", 300.0)])
    db_path = tmp_path / "collector.db"

    out = run_news(cfg, tmp_path, "first")
    assert out.returncode == 0, out.stderr
    # budget of 2: the two most-traded markets, most-traded first
    assert searxng.queries == ["Fed cut rates December", "snow Paris Christmas"]
    stored = rows(db_path, "SELECT platform, market_id, headline, source, url, published_at, captured_at "
                           "FROM news_context ORDER BY id")
    assert len(stored) == 6  # 3 per market; the malformed and the same-headline duplicate are not stored
    assert {r[1] for r in stored} == {"KX-B", pm_id(0xc)}
    assert stored[0][3] == "news.example" and stored[0][5] == "2026-11-20T10:00:00Z"
    reports = rows(db_path, "SELECT ok, skipped, records FROM phase_runs WHERE phase = 'news'")
    assert reports == [(1, 2, 6)]  # 1 malformed result skipped per query; 6 headlines published

    # a second run covers the market never searched before the stale ones; nothing stored twice
    out = run_news(cfg, tmp_path, "second")
    assert out.returncode == 0, out.stderr
    assert searxng.queries[2] == "Bitcoin reach $150,000 2026"
    assert rows(db_path, "SELECT count(*) FROM news_context") == [(9,)]

    # SearXNG answering HTML, then garbage: logged, counted, partial report, nothing stored, exit 1
    for mode in ("html", "garbage"):
        searxng.mode = mode
        before = len(searxng.queries)
        out = run_news(cfg, tmp_path, mode)
        assert out.returncode == 1, out.stderr
        assert "SearXNG" in out.stderr
        assert len(searxng.queries) > before
    assert rows(db_path, "SELECT count(*) FROM news_context") == [(9,)]
    failed = rows(db_path, "SELECT ok, errors, message FROM phase_runs WHERE phase = 'news' AND ok = 0")
    assert len(failed) == 2 and all(e >= 1 and "SearXNG" in m for _, e, m in failed)


def test_searxng_down_is_a_partial_failure_not_a_hang(procs, tmp_path):
    cfg = write_config(tmp_path, sink={"flush_interval_seconds": 0.05, "min_free_disk_mb": 1},
                       polymarket={"base_url": "http://127.0.0.1:9/clob", "gamma_url": "http://127.0.0.1:9/gamma"},
                       kalshi={"base_url": "http://127.0.0.1:9/kalshi"},
                       news={"enabled": True, "searxng_url": "http://127.0.0.1:9", "requests_per_second": 50.0})
    start_sink(procs, tmp_path, cfg)
    seed_markets(cfg, [("kalshi", f"K{i}", f"Will thing {i} happen?", float(i)) for i in range(10)])
    started = time.monotonic()
    out = run_news(cfg, tmp_path, "down")
    assert out.returncode == 1
    assert time.monotonic() - started < 60
    assert "unavailable" in out.stderr
