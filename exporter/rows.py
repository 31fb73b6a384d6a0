"""Arrow tables for one chunk of markets and for the unmatched alerts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from exporter import book_features, columns
from exporter.book_features import ChunkBooks
from exporter.history import Chunk
from exporter.prompts import News
from exporter.whales import WhaleAlert, summary
from exporter.wwatcher import Alert
from exporter.link import Link

MARKETS_SCHEMA = columns.schema(columns.MARKETS)
UNMATCHED_SCHEMA = columns.schema(columns.UNMATCHED)


def whale_dict(w: WhaleAlert) -> dict:
    a = w.alert
    return {"alert_id": a.id, "time": a.time, "time_approx": a.time_approx, "action": a.action,
            "outcome": a.outcome, "stance": w.stance, "usd": w.usd, "value": a.value, "price": a.price,
            "yes_price": w.yes_price, "size": a.size, "wallet_hash": a.wallet_hash,
            "wallet_win_rate": w.win_rate, "wallet_resolved_markets": w.wallet_markets,
            "match_method": w.link.method, "match_score": w.link.score}


def news_dict(n: News) -> dict:
    return {"headline": n.headline, "source": n.source, "url": n.url, "captured_at": n.captured_at,
            "published_at": n.published_at}


def markets_table(chunk: Chunk, yes: np.ndarray, whales: dict[int, list[WhaleAlert]], news: dict[int, list[News]],
                  after: dict[int, int], books: ChunkBooks | None = None) -> pa.Table:
    """One row per market of the chunk, columns exactly as columns.MARKETS."""
    t = chunk.table
    snaps = pa.StructArray.from_arrays([t[f.name].combine_chunks() for f in columns.SNAPSHOT],
                                       fields=list(columns.SNAPSHOT))
    history = pa.ListArray.from_arrays(pa.array(chunk.offsets, pa.int32()), snaps)
    computed = {"price_history": history,
                "book_history": books.column([m.ref for m in chunk.markets]) if books else
                book_features.empty_column(len(chunk.markets))}
    cols: dict[str, list] = {name: [] for name, _, _ in columns.MARKETS if name not in computed}
    for i, m in enumerate(chunk.markets):
        lo, hi = chunk.offsets[i], chunk.offsets[i + 1]
        priced = np.flatnonzero(~np.isnan(yes[lo:hi])) + lo  # yes: NaN where a snapshot has no price
        w = whales.get(m.ref, [])
        s = summary(w)
        row = {
            "market_id": m.market_id, "platform": m.platform, "title": m.title, "category": m.category,
            "outcomes": m.outcomes, "resolution": m.resolution, "winning_outcome": m.winning_outcome,
            "resolved_at": m.resolved_at, "closed_at": m.closed_at, "opened_at": m.opened_at,
            "volume": m.volume, "liquidity": m.liquidity,
            "price_at_open": float(yes[priced[0]]) if len(priced) else None,
            "price_at_close": float(yes[priced[-1]]) if len(priced) else None,
            "snapshots_after_cutoff": after.get(m.ref, 0),
            "whale_alerts": [whale_dict(x) for x in w], **s,
            "news_headlines": [news_dict(n) for n in news.get(m.ref, [])],
            "days_to_resolution": ((m.resolved_at - m.opened_at) / 86400.0) if m.resolved_at is not None else None,
        }
        for k, v in row.items():
            cols[k].append(v)
    arrays = []
    for name, typ, _ in columns.MARKETS:
        arrays.append(computed[name] if name in computed else pa.array(cols[name], type=typ))
    return pa.Table.from_arrays(arrays, schema=MARKETS_SCHEMA)


def unmatched_table(alerts: list[Alert], links: dict[int, Link]) -> pa.Table:
    rows = [a for a in alerts if a.duplicate_of is None and links[a.id].market_ref is None]
    data = {
        "alert_id": [a.id for a in rows], "platform": [a.platform for a in rows], "time": [a.time for a in rows],
        "time_approx": [a.time_approx for a in rows], "action": [a.action for a in rows],
        "market_title": [a.title for a in rows], "outcome": [a.outcome for a in rows],
        "value": [a.value for a in rows], "price": [a.price for a in rows], "size": [a.size for a in rows],
        "wallet_hash": [a.wallet_hash for a in rows], "match_method": [links[a.id].method for a in rows],
        "candidates": [links[a.id].candidates for a in rows], "event": [links[a.id].event for a in rows],
    }
    return pa.Table.from_arrays([pa.array(data[n], type=t) for n, t, _ in columns.UNMATCHED], schema=UNMATCHED_SCHEMA)
