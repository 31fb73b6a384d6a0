"""Arrow schemas of the exported files, each column with its exact definition.

The definitions are written once here and rendered into the dataset card (README.md of the
export), so the documentation cannot drift from the files.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("s", tz="UTC")

SNAPSHOT = pa.struct([("t", TS), ("observed_at", TS), ("yes_price", pa.float64()), ("best_bid", pa.float64()),
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
    ("title", pa.string(), "The market question (Polymarket) or market title (Kalshi), newest version: it may have been "
                        "edited after the close (prompts show the version known at their as_of)."),
    ("category", pa.string(), "The platform's category, newest version (prompts show the one known at as_of)."),
    ("outcomes", pa.list_(pa.string()), "Outcome labels; index 0 is the YES side."),
    ("resolution", pa.string(), "**Known only after the fact** (never in a prompt). The label: `YES` or `NO` (outcome index 0 won / lost). Voided markets are not exported."),
    ("winning_outcome", pa.string(), "**Known only after the fact** (never in a prompt). The winning outcome's own label (e.g. `Under`)."),
    ("resolved_at", TS, "**Known only after the fact** (never in a prompt). When the result became final."),
    ("closed_at", TS, "**Known only after the fact** (never in a prompt). When trading actually stopped (may differ from the scheduled end date); null if never recorded."),
    ("opened_at", TS, "The platform's creation time, else when the collector first stored the market."),
    ("volume", pa.float64(), "**Known only after the fact** (never in a prompt). Lifetime volume from the newest metadata (USD on Polymarket, contracts on Kalshi)."),
    ("liquidity", pa.float64(), "**Known only after the fact** (never in a prompt). Liquidity from the newest metadata (same units as volume)."),
    ("price_at_open", pa.float64(),
     "yes_price of the first stored snapshot (earliest t with a non-null yes_price); null without snapshots."),
    ("price_at_close", pa.float64(),
     "**Known only after the fact** (never in a prompt). yes_price of the last snapshot observed at or before the cutoff = min(closed_at, resolved_at) (never after)."),
    ("price_history", pa.list_(SNAPSHOT),
     "Every snapshot observed at or before the cutoff (observed_at <= cutoff), ascending t; `t` is the grid time "
     "the sweep stands for, `observed_at` when the price was actually read (t for backfilled history). "
     "A live snapshot wins over a backfilled one for the same t. "
     "Prices are YES probabilities 0..1; volume/liquidity as in collector.db (whole units)."),
    ("snapshots_after_cutoff", pa.int32(), "How many stored snapshots were left out because observed_at > cutoff."),
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
    ("days_to_resolution", pa.float64(), "**Known only after the fact** (never in a prompt). (resolved_at - opened_at) / 86400."),
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


MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
CONTEXT = pa.struct([
    ("as_of", TS),
    ("price_history", pa.list_(pa.struct([("t", TS), ("yes_price", pa.float64())]))),
    ("price_summary", pa.struct([("snapshots", pa.int32()), ("first", pa.float64()), ("last", pa.float64()),
                                 ("min", pa.float64()), ("max", pa.float64()), ("change_7d", pa.float64()),
                                 ("volume", pa.float64()), ("liquidity", pa.float64())])),
    ("whale_alerts", pa.list_(pa.struct([
        ("time", TS), ("stance", pa.string()), ("usd", pa.float64()), ("yes_price", pa.float64()),
        ("wallet_win_rate", pa.float64()), ("wallet_resolved_markets", pa.int32())]))),
    ("whale_summary", pa.struct([("whale_count", pa.int32()), ("whale_net_direction", pa.float64()),
                                 ("whale_avg_win_rate", pa.float64()), ("whale_max_value", pa.float64())])),
    ("news", pa.list_(pa.struct([("time", TS), ("headline", pa.string()), ("source", pa.string())]))),
])

PROMPTS: list[tuple[str, pa.DataType, str]] = [
    ("prompt", pa.list_(MESSAGE), "TRL conversational format: a system and a user message (the user message "
                                  "renders `context`)."),
    ("question", pa.string(), "What YES means: the event, the market's own outcome (Kalshi yes_sub_title, "
                              "Polymarket groupItemTitle / YES outcome label) and the scheduled close."),
    ("context", CONTEXT, "The structured data the user message renders, every item public strictly before or "
                         "at as_of (headlines strictly before); price_summary.volume/liquidity are the market's "
                         "as of the last snapshot observed at or before as_of (never the final ones)."),
    ("answer", pa.string(), "`YES` or `NO`: the label."),
    ("as_of", TS, "The prompt's 'today': every context item was observed at or before it."),
    ("kind", pa.string(), "`horizon` (cutoff minus horizon_days) or `random`."),
    ("horizon_days", pa.float64(), "Days before the cutoff for `horizon` prompts; null for `random`."),
    ("market_id", pa.string(), "The market (group-aware splits: never put one market in two splits)."),
    ("event_id", pa.string(), "Kalshi event ticker; Polymarket negRisk market id, else event id. Markets of one "
                              "event are correlated: split by event to avoid leakage."),
    ("platform", pa.string(), "`polymarket` or `kalshi`."),
    ("category", pa.string(), "The platform's category."),
    ("title", pa.string(), "The market's own title (ambiguous alone; see question)."),
    ("resolved_at", TS, "When the result became final (known only after the fact)."),
    ("closed_at", TS, "**Known only after the fact** (never in a prompt). When trading actually stopped (known only after the fact)."),
    ("price_at_as_of", pa.float64(), "yes_price of the last snapshot at or before as_of: the market baseline."),
    ("split", pa.string(), "`all`, or `train` / `test` in a split file."),
    ("metadata_observed_at", TS, "When the title/rules/category/outcomes/end date the prompt shows were first "
                                 "observed: at or before as_of (a prompt before the first observation is left out), "
                                 "later only with `exporter --late-metadata`, which shows the earliest version; null "
                                 "for databases without versions."),
]


def schema(cols: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t, _ in cols])


def _times_as_text(t: pa.DataType) -> pa.DataType:
    """The same type with every timestamp replaced by string (ISO 8601 text, as rows carry it)."""
    if pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_list(t):
        return pa.list_(_times_as_text(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _times_as_text(f.type)) for f in t])
    return t


def text_time_schema(cols: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    """Rows with ISO 8601 strings convert to this, then cast() parses every time as UTC at once."""
    return pa.schema([pa.field(n, _times_as_text(t)) for n, t, _ in cols])
