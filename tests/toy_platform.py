"""A toy third platform: the smallest fetcher module the registry can name (tests/test_platform_registry.py).

It lives only in tests/ and is registered only by the test's config section
``[platforms.toy] module = "tests.toy_platform"`` (collector/platforms.py): nothing else in the
repository knows it. Its exchange is a fake on 127.0.0.1 whose one endpoint, ``GET /markets``,
answers ``{"markets": [{"id", "question", "yes", "state": "open" | "settled", "outcome"}]}``.
"""

from __future__ import annotations

from collector import clock, wire
from fetchers.base import PhaseContext


def _markets(ctx: PhaseContext) -> list[dict]:
    return ctx.http.get_json(ctx.cfg.platform(ctx.platform).base_url.rstrip("/") + "/markets")["markets"]


def discover(ctx: PhaseContext) -> None:
    for m in _markets(ctx):
        ctx.publish(wire.MarketUpsert(platform=ctx.platform, market_id=m["id"], observed_at=clock.now(),
                                      title=m["question"], status="active" if m["state"] == "open" else "closed"))


def snapshot(ctx: PhaseContext) -> None:
    for m in _markets(ctx):
        if m["state"] == "open":
            ctx.publish(wire.PriceSnapshot(platform=ctx.platform, market_id=m["id"], t=ctx.grid_time,
                                           yes_price=m["yes"], observed_at=clock.now()))


def resolve(ctx: PhaseContext) -> None:
    for m in _markets(ctx):
        if m["state"] == "settled":
            ctx.publish(wire.Resolution(platform=ctx.platform, market_id=m["id"], observed_at=clock.now(),
                                        status="resolved", resolution=m["outcome"],
                                        settlement_value=1.0 if m["outcome"] == "YES" else 0.0))
