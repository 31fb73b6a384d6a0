"""manifest.json and the dataset card (README.md) of an export directory.

Neither carries the wall-clock time of the export: the manifest records the data's own as-of
(newest observation in collector.db) and a sha256 per file, so exporting an unchanged database
twice gives byte-identical directories. The card's YAML header declares the configs so
``datasets.load_dataset(<dir>)`` finds every file, and its column tables come from
``exporter.columns`` so they always match the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from exporter import baseline, columns, splits
from exporter.files import sha256
from exporter.prompt_files import parquet_name
from exporter.prompts import iso

OWNED = ("markets.parquet", "unmatched_alerts.parquet", "prompts.jsonl", "prompts_train.jsonl", "prompts_test.jsonl",
         "prompts.parquet", "prompts_train.parquet", "prompts_test.parquet", "calibration.png")


def manifest(*, version, db_path, cat, source, link_counts, stats, counts, cfg, prompt_files, split_date,
             files: list[Path]) -> dict:
    newest = max([x for x in (cat.data_as_of, stats.get("snapshot_max_t")) if x is not None], default=None)
    alerts = {k: int(v) for k, v in sorted(link_counts.items())}
    alerts["total"] = source.rows
    return {
        "exporter_version": version,
        "source": {"collector_db": str(db_path), "data_as_of": iso(newest)},
        "wwatcher": {"path": source.path, "status": source.status, "message": source.message,
                     "tried": source.tried, "db_created_at": source.db_created_at},
        "counts": {
            "markets": counts["markets"], "voided_left_out": cat.voided,
            "resolved_without_yes_no_left_out": cat.unlabelled,
            "unreadable_timestamps_left_out": len(cat.unreadable_times),
            "resolved_without_close_time_left_out": cat.no_close_time, "snapshots": counts["snapshots"],
            "snapshots_after_cutoff_left_out": stats.get("snapshots_after_cutoff", 0),
            "backfill_snapshots_shadowed_by_live": stats.get("backfill_shadowed", 0),
            "alerts": alerts, "prompts": counts.get("prompts", 0),
            "prompts_metadata_first_observed_after_as_of": counts.get("prompts_metadata_first_observed_after_as_of", 0),
            "prompts_left_out_metadata_not_yet_observed": counts.get("prompts_left_out_metadata_not_yet_observed", 0),
            **({"prompts_train": counts.get("prompts_train", 0), "prompts_test": counts.get("prompts_test", 0),
                "prompts_dropped_by_split": counts.get("prompts_dropped_by_split", 0)} if split_date else {}),
        },
        "time_range": {"resolved_at_min": iso(cat.resolved_range[0]),
                       "resolved_at_max": iso(cat.resolved_range[1]),
                       "snapshot_min": iso(stats.get("snapshot_min_t")), "snapshot_max": iso(stats.get("snapshot_max_t"))},
        "settings": {"fuzzy_threshold": cfg.export.fuzzy_threshold,
                     "prompt_horizons_days": list(cfg.export.prompt_horizons_days),
                     "random_prompts_per_market": cfg.export.random_prompts_per_market, "split_date": split_date},
        "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size, **_rows(p)} for p in files},
        "prompt_files": prompt_files,
    }


def _rows(path: Path) -> dict:
    return {"rows": pq.ParquetFile(path).metadata.num_rows} if path.suffix == ".parquet" else {}


def remove_stale(out: Path, new_manifest: dict) -> None:
    """Delete our own outputs that a previous export listed and this one did not produce."""
    old = out / "manifest.json"
    try:
        previous = json.loads(old.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        return
    for name in previous:
        if name in OWNED and name not in new_manifest["files"]:
            (out / name).unlink(missing_ok=True)


def declared(m: dict) -> dict[str, dict[str, str]]:
    """config -> split -> file, for the files with rows.

    `datasets` cannot load a split without rows ("corresponds to no data"), so an empty file is
    written (with its schema) but not declared; the card says which files are empty.
    """
    def has_rows(name: str) -> bool:
        return m["files"].get(name, {}).get("rows", 0) > 0

    out: dict[str, dict[str, str]] = {}
    for config, name in (("markets", "markets.parquet"), ("unmatched_alerts", "unmatched_alerts.parquet")):
        if has_rows(name):
            out[config] = {"train": name}
    for name in m["prompt_files"]:  # the Parquet twins: a declared schema (JSON readers infer one per file)
        split = "test" if name == "prompts_test.jsonl" else "train"
        if has_rows(parquet_name(name)):
            out.setdefault("prompts", {})[split] = parquet_name(name)
    if (m.get("split") or {}).get("mode") == "chronological":
        for split, name in splits.FILES.items():
            if has_rows(name):
                out.setdefault("prompts_chronological", {})[split] = name
    return out


def _yaml(m: dict) -> str:
    configs = declared(m)
    lines = ["---"] + (["configs:"] if configs else [])
    for config, splits in configs.items():
        lines += [f"- config_name: {config}"] + (["  default: true"] if config == "markets" else []) + ["  data_files:"]
        for split, name in splits.items():
            lines += [f"  - split: {split}", f"    path: {name}"]
    lines += ["license: other", "task_categories:", "- time-series-forecasting", "- text-generation", "---", ""]
    return "\n".join(lines)


def _table(cols) -> str:
    rows = ["| column | type | definition |", "| --- | --- | --- |"]
    # Parquet's smallest time unit is the millisecond: our whole-second timestamps read back as ms.
    rows += [f"| `{n}` | `{str(t).replace('timestamp[s,', 'timestamp[ms,')}` | {d} |" for n, t, d in cols]
    return "\n".join(rows)


_SOURCE_TEXT = {
    "live": ("Data source: **the live exchanges** (Polymarket Gamma/CLOB and Kalshi public APIs), collected by "
             "polymaster-collector. Licence: `other`. The market data belongs to the exchanges and is subject to "
             "their terms of use (Polymarket Terms of Use, Kalshi Member Agreement/Terms); headlines to their "
             "publishers. Check those terms before redistributing or training a commercial model on it."),
    "simulator": ("Data source: **the bundled offline simulator** (synthetic markets, prices and resolutions "
                  "that mimic the exchanges' API shapes). It is not real market data: use it to test pipelines, "
                  "never to train or evaluate a forecaster. Licence: same as polymaster-collector's code."),
    "unknown": ("Data source: **unknown** (collector.db does not record whether it holds live or simulator "
                "data). Treat it as live exchange data, subject to the exchanges' terms of use. Licence: `other`."),
}


def dataset_card(m: dict) -> str:
    c = m["counts"]
    a = c["alerts"]
    s = m["settings"]
    return _yaml(m) + f"""# polymaster-collector export

Resolved Polymarket and Kalshi markets with their price histories, linked wwatcher whale alerts
and news headlines{", plus leak-free forecasting prompts" if m["prompt_files"] else ""}.
Data as of {m["source"]["data_as_of"]}; markets resolved {m["time_range"]["resolved_at_min"]} to
{m["time_range"]["resolved_at_max"]}. Counts and file checksums are in `manifest.json`.

| | |
| --- | --- |
| markets (resolved YES/NO) | {c["markets"]} |
| voided markets left out | {c["voided_left_out"]} |
| snapshots | {c["snapshots"]} (left out after close: {c["snapshots_after_cutoff_left_out"]}) |
| wwatcher | {m["wwatcher"]["status"]}: {m["wwatcher"]["message"]} |
| alerts linked exactly / fuzzily / unmatched | {a.get("exact", 0)} / {a.get("fuzzy", 0)} / {a.get("unmatched", 0)} |
| restart duplicates not counted | {a.get("duplicates", 0)} |
| prompts | {c["prompts"]} |

## Source, licence and limitations

{_SOURCE_TEXT.get(m["source"].get("data"), _SOURCE_TEXT["unknown"])}

Limitations: only markets this collector saw are included, from its first run on (plus what a
backfill replayed; a backfilled market gets no prompt before its metadata was first observed,
counted as `prompts_left_out_metadata_not_yet_observed`); prices are snapshots at the scheduler's cadence, not every trade; voided
markets are left out, so the label set is biased towards markets that settled cleanly; markets of
one event are correlated (`event_id`); whale alerts are linked by title where wwatcher stored no
market id, and linking can miss. Counts of everything left out are in `manifest.json`.

## Loading

```python
from datasets import load_dataset
markets = load_dataset("EXPORT_DIR", "markets", split="train")  # configs are declared in this card's header
prompts = load_dataset("EXPORT_DIR", "prompts")  # Parquet twins of the JSONL files: UTC times, fixed types
```

Declared configs: {", ".join(f"`{c}` ({', '.join(s)})" for c, s in declared(m).items()) or "none"}.
Files without rows are written with their schema but not declared (`datasets` cannot load an
empty split): {", ".join(f"`{n}`" for n, f in sorted(m["files"].items()) if f.get("rows") == 0) or "none"}.

## Definitions

Times are UTC, second precision. A market's **cutoff** is min(closed_at, resolved_at): the
moment trading actually stopped (not the scheduled end date, which platforms move) or the
result became final, whichever came first. Nothing timestamped after the cutoff is used for any
column. Outcome index 0 is the YES side; `resolution` YES means outcome 0 won. Voided markets
(50-50, scalar or cancelled settlements) carry no clean label and are left out.

### markets.parquet (one row per resolved market, ordered by collector.db's market id)

{_table(columns.MARKETS)}

### unmatched_alerts.parquet (wwatcher alerts linked to no market; no labels)

{_table(columns.UNMATCHED)}

### Linking wwatcher alerts

1. Exact market id where the alert has one (forks/test data; real wwatcher stores NULL): 0x condition id,
   CLOB token id (also gives the outcome index) or Kalshi ticker, case/whitespace/prefix-insensitive.
2. Exact normalised title (NFKC, casefold, quotes/dashes/`&`/`vs.` unified, then letters and digits only).
3. Otherwise rapidfuzz `token_sort_ratio` >= {s["fuzzy_threshold"]} on the spaced normalised title, only
   among titles of the same platform with identical digit groups; top two within 2 points = ambiguous.
4. Every candidate must be time-consistent: created - 1 h <= alert time <= close + 1 day. Several
   candidates: Polymarket keeps those whose outcomes contain the alert's outcome label; Kalshi keeps
   those whose ticker regenerates the alert's outcome text (wwatcher's `parse_ticker_details`).
   A Kalshi alert still matching several markets of one event is `event_only` (unmatched here).
5. Restart duplicates (same platform, timestamp, title, outcome, action, size, price, wallet) are
   dropped, keeping the lowest id.

### Prompts

`prompts.parquet` (declared above; the same rows as `prompts.jsonl`, one JSON object per line)
has these columns:

{_table(columns.PROMPTS)}

`question` says exactly what YES means: the event, the market's own outcome (Kalshi
yes_sub_title, Polymarket groupItemTitle), the YES outcome label when it is not "Yes", and the
scheduled close; the user message adds platform, category and resolution rules. As-of times: the
cutoff minus each of {s["prompt_horizons_days"]} days (skipped when before the first observed price)
plus {s["random_prompts_per_market"]} uniform time(s) between the first observed price and the
cutoff, seeded by the market id. Every context item is selected before anything is computed from it:
prices *observed* (read) at or before as_of (`observed_at`, not the sweep's grid time), whale alerts
at or before as_of, headlines public strictly before as_of (published_at when known and not after
captured_at, else captured_at); as_of < cutoff <= resolved_at. Markets whose times cannot be read as
UTC are left out and counted (`unreadable_timestamps_left_out`), never exported with a moved cutoff.
""" + (f"""
Time split at {s["split_date"]}: train = markets resolved before it (all their prompts); test =
markets resolved on/after it, prompts with as_of on/after it only. No market is in both; test
prompts asked before the split date are dropped ({c.get("prompts_dropped_by_split", 0)}). A random
split would leak: prompts of one market, and of correlated markets of one event (`event_id`), would
sit on both sides, and training would see outcomes public before a test question's as_of.
""" if s["split_date"] else "") + _split_text(m) + _baseline_text(m)


def _split_text(m: dict) -> str:
    sp = m.get("split") or {}
    if sp.get("mode") != "chronological":
        return ""
    return f"""
### Train/test split (config `prompts_chronological`)

`prompts.parquet` holds every prompt. `prompts_train.parquet` / `prompts_test.parquet` split them
in time, as Turtel et al. 2025 do: train = prompts of markets resolved before {sp["cut"]}
({sp["train"]}), test = prompts asked at or after it ({sp["test"]}); the cut was chosen to give about
{splits.TEST_SHARE:.0%} test. Every test as_of is after every train resolution. Prompts of markets
that resolved after the cut but were asked before it are in neither ({sp["neither"]}).
Why not a random split: prompts of one market, and of the correlated markets of one event
(`event_id`), would land on both sides, and training on an outcome that was public before a test
question's as_of leaks the future into the test. Split by time, and group by `event_id` for
validation folds.
"""


def _baseline_text(m: dict) -> str:
    b = m.get("baseline")
    if not b or not b["overall"]["n"]:
        return ""
    return f"""
## The market baseline

How good is the market's own price as a forecast? `price_at_as_of` against `answer` for every
prompt (Turtel et al. 2025 report the market at Brier 0.151 against their best model's 0.190; a
model must beat this table to add anything over reading the price):

{baseline.table(b)}

{b["definition"]} Per bin counts and means are in `manifest.json` (`baseline`).

![Reliability diagram of the market price](calibration.png)
"""
