"""Arrow schemas of the exported files, each column with its exact definition.

The definitions are written once here and rendered into the dataset card (README.md of the
export), so the documentation cannot drift from the files.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("s", tz="UTC")

SNAPSHOT = pa.struct([("t", TS), ("yes_price", pa.float64()), ("best_bid", pa.float64()),
                      ("best_ask", pa.float64()), ("volume", pa.float64()), ("liquidity", pa.float64())])
WHALE = pa.struct([
    ("alert_id", pa.int64()), ("time", TS), ("time_approx", pa.bool_()), ("action", pa.string()),
    ("outcome", pa.string()), ("stance", pa.string()), ("usd", pa.float64()), ("value", pa.float64()),
    ("price", pa.float64()), ("yes_price", pa.float64()), ("size", pa.float64()), ("wallet_hash", pa.string()),
    ("wallet_win_rate", pa.float64()), ("wallet_resolved_markets", pa.int32()), ("match_method", pa.string()),
    ("match_score", pa.float64())])
BOOK_POINT = pa.struct([
    ("t", TS), ("observed_at", pa.timestamp("ms", tz="UTC")), ("best_bid", pa.float64()), ("best_ask", pa.float64()),
    ("spread", pa.float64()), ("bid_depth_1c", pa.float64()), ("ask_depth_1c", pa.float64()),
    ("bid_depth_5c", pa.float64()), ("ask_depth_5c", pa.float64()), ("imbalance", pa.float64())])
NEWS = pa.struct([("headline", pa.string()), ("source", pa.string()), ("url", pa.string()),
                  ("captured_at", TS), ("published_at", TS)])

MARKETS: list[tuple[str, pa.DataType, str]] = [
    ("market_id", pa.string(), "Polymarket condition id or Kalshi ticker (collector.db markets.market_id)."),
    ("platform", pa.string(), "`polymarket` or `kalshi`."),
    ("title", pa.string(), "The market question (Polymarket) or market title (Kalshi)."),
    ("category", pa.string(), "The platform's category, as collected."),
    ("outcomes", pa.list_(pa.string()), "Outcome labels; index 0 is the YES side."),
    ("resolution", pa.string(), "The label: `YES` or `NO` (outcome index 0 won / lost). Voided markets are not exported."),
    ("winning_outcome", pa.string(), "The winning outcome's own label (e.g. `Under`)."),
    ("resolved_at", TS, "When the result became final."),
    ("closed_at", TS, "When trading actually stopped (may differ from the scheduled end date); null if never recorded."),
    ("opened_at", TS, "The platform's creation time, else when the collector first stored the market."),
    ("volume", pa.float64(), "Lifetime volume from the newest metadata (USD on Polymarket, contracts on Kalshi)."),
    ("liquidity", pa.float64(), "Liquidity from the newest metadata (same units as volume)."),
    ("price_at_open", pa.float64(),
     "yes_price of the first stored snapshot (earliest t with a non-null yes_price); null without snapshots."),
    ("price_at_close", pa.float64(),
     "yes_price of the last snapshot at or before the cutoff = min(closed_at, resolved_at) (never after)."),
    ("price_history", pa.list_(SNAPSHOT),
     "Every snapshot with t <= cutoff, ascending t; a live snapshot wins over a backfilled one for the same t. "
     "Prices are YES probabilities 0..1; volume/liquidity as in collector.db (whole units)."),
    ("snapshots_after_cutoff", pa.int32(), "How many stored snapshots were left out because t > cutoff."),
    ("book_history", pa.list_(BOOK_POINT),
     "Order-book depth per stored YES book observed at or before the cutoff, ascending observed_at: t (the "
     "snapshot cycle), observed_at, best_bid, best_ask, spread, resting size within 1 and 5 cents of the mid per "
     "side (bid_depth_1c, ask_depth_1c, bid_depth_5c, ask_depth_5c; shares on Polymarket, contracts on Kalshi) and "
     "imbalance = (bid_depth_5c - ask_depth_5c) / their sum. Depth counts only the stored top levels "
     "([snapshot] book_depth). Empty when no book was stored."),
    ("whale_alerts", pa.list_(WHALE),
     "Linked, de-duplicated wwatcher alerts with time <= cutoff, ascending time. `stance` = side of outcome 0 the trade bets on; "
     "`usd` = money at risk; `yes_price` = trade price as a YES probability; `wallet_win_rate` = the wallet's "
     "causal win rate at the alert's time (see whale_avg_win_rate)."),
    ("whale_count", pa.int32(), "Number of entries in whale_alerts (restart duplicates are not counted)."),
    ("whale_net_direction", pa.float64(),
     "(sum of usd of YES-stance alerts - sum of usd of NO-stance alerts) / (sum of usd of alerts with a stance), "
     "in [-1, 1]; null without such alerts. Stance: Polymarket BUY of outcome 0 or SELL of outcome 1 = YES, "
     "BUY of outcome 1 or SELL of outcome 0 = NO; Kalshi taker side YES/NO. usd: Polymarket value (size x price), "
     "Kalshi YES taker value, Kalshi NO taker (1 - price) x size."),
    ("whale_avg_win_rate", pa.float64(),
     "Mean over whale_alerts of wallet_win_rate where defined: the wallet's share of won positions among markets "
     "this collector saw resolve YES/NO strictly before the alert (position side = sign of the wallet's "
     "usd-weighted stance on that market). Causal; Kalshi alerts have no wallet. Null when undefined."),
    ("whale_max_value", pa.float64(), "Largest usd among whale_alerts; null without alerts."),
    ("news_headlines", pa.list_(NEWS), "Headlines collected for the market with captured_at <= cutoff, ascending."),
    ("days_to_resolution", pa.float64(), "(resolved_at - opened_at) / 86400."),
]

UNMATCHED: list[tuple[str, pa.DataType, str]] = [
    ("alert_id", pa.int64(), "alerts.id in wwatcher.db."),
    ("platform", pa.string(), "`polymarket` or `kalshi` (lower-cased)."),
    ("time", TS, "Trade time: parsed `timestamp`, else `created_at` (then time_approx is true)."),
    ("time_approx", pa.bool_(), "True when the time is wwatcher's insert time, an upper bound on the trade time."),
    ("action", pa.string(), "Polymarket BUY/SELL, Kalshi YES/NO (taker side)."),
    ("market_title", pa.string(), "Title as wwatcher stored it."),
    ("outcome", pa.string(), "Outcome label (Polymarket) or wwatcher's outcome text (Kalshi)."),
    ("value", pa.float64(), "wwatcher `value` (Kalshi: YES-price notional even for NO takers)."),
    ("price", pa.float64(), "wwatcher `price` (Polymarket: traded token; Kalshi: YES price)."),
    ("size", pa.float64(), "Shares (Polymarket) or contracts (Kalshi)."),
    ("wallet_hash", pa.string(), "SHA-256 of the wallet address (Polymarket only)."),
    ("match_method", pa.string(), "Why no market: `none` (no candidate), `ambiguous`, `event_only` (Kalshi event "
                                  "known, market not), `no_title`."),
    ("candidates", pa.int32(), "Title candidates considered before the time/outcome filters."),
    ("event", pa.string(), "Kalshi event ticker for event_only links."),
]


def schema(cols: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t, _ in cols])
