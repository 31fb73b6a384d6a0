"""One export: collector.db (+ wwatcher.db) -> markets.parquet, unmatched_alerts.parquet,
prompts*.jsonl, manifest.json and a dataset card, all written atomically into one directory.

Order matters for memory: alerts are loaded whole; of the markets only one small row each
(ref, cutoff) is kept for the whole run, and a chunk's Market objects are built with its
snapshots (large), which are streamed chunk by chunk; each chunk becomes one Parquet row group
and its prompts at once. ``exporter --log-memory`` shows RSS per stage.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from collector.config import Config
from collector.errors import DatabaseError
from exporter import archive, book_features, card, catalog, duck, history, prompts, rows, splits, versions, whales, wwatcher
from exporter import baseline as baseline_mod
from exporter.baseline import Baseline
from exporter.files import atomic_bytes, atomic_parquet, atomic_text, write_json
from exporter.prompt_files import PromptSinks, parquet_name
from exporter.link import Linker
from collector.db import APPLICATION_ID, connect_reader

EXPORTER_VERSION = 1  # bump when a column's meaning changes


@dataclass
class Options:
    db_path: Path
    out_dir: Path
    wwatcher_path: str | None = None  # configured path (fallbacks apply) unless explicit
    wwatcher_explicit: bool = False
    use_wwatcher: bool = True
    prompts: bool = False
    split_date: str | None = None  # ISO date; prompts split into train/test
    late_metadata: bool = False  # keep prompts asked before the market's metadata was first observed
    progress: bool = False
    log_memory: bool = False  # RSS and DuckDB memory per stage on stderr, even with -q (bench/bench_year.py)
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))


def _check_collector_db(path: Path) -> None:
    if not path.is_file():
        raise DatabaseError(f"{path}: collector database not found")
    db = connect_reader(str(path))
    try:
        app = db.execute("PRAGMA application_id").fetchone()[0]
    finally:
        db.close()
    if app != APPLICATION_ID:
        raise DatabaseError(f"{path}: not a polymaster-collector database (application_id {app:#x})")


def _news(con, cat: catalog.Catalog) -> dict[int, list[prompts.News]]:
    """Headlines per exported market ref captured at or before its cutoff, in capture order.

    The news row names its market by (platform, market_id); the markets table maps that to the
    ref (platform compared lower-cased, as the catalog stores it)."""
    out: dict[int, list[prompts.News]] = defaultdict(list)
    for ref, headline, source, url, captured, published in con.execute(
            "SELECT m.id, n.headline, n.source, n.url, n.captured_at, n.published_at FROM c.news_context n"
            " JOIN c.markets m ON lower(m.platform) = lower(n.platform) AND m.market_id = n.market_id"
            " ORDER BY n.platform, n.market_id, n.captured_at, n.id").fetchall():
        cut = cat.cutoff_of(ref)
        cap = catalog.iso_to_unix(captured)
        if cut is None or cap is None or cap > cut:
            continue
        out[ref].append(prompts.News(cap, catalog.iso_to_unix(published), headline, source, url))
    return out


def run(cfg: Config, opt: Options) -> dict:
    _check_collector_db(opt.db_path)
    opt.out_dir.mkdir(parents=True, exist_ok=True)
    duck.return_freed_memory()
    with tempfile.TemporaryDirectory(prefix=".export-", dir=opt.out_dir) as tmp:
        scratch = duck.Scratch(tmp, opt.db_path)
        try:
            return _run(cfg, opt, scratch, tmp)
        finally:
            scratch.close()


def _stage_both_stores(con, cat, reader: catalog.Reader, cfg: Config, opt: Options) -> tuple[dict, int]:
    """Stage snapshots from SQLite and the archive as one consistent picture.

    The two stores are read separately; an archive run committing in between would move a day
    from SQLite to a file this export did not list. So the archive registry is read before and
    after staging, and staging is repeated (rarely) until it did not change.
    """
    for _ in range(5):
        files = archive.registered_files(opt.db_path, cfg.archive_dir)
        book_files = book_features.registered_files(opt.db_path, cfg.archive_dir)
        stats = history.stage(con, cat.refs, cat.cutoffs, files, reader.keys() if files or book_files else None)
        book_files_staged = len(book_files) if book_features.stage(con, book_files) else -1  # -1: no book table
        if (archive.registered_files(opt.db_path, cfg.archive_dir) == files
                and book_features.registered_files(opt.db_path, cfg.archive_dir) == book_files):
            return stats, book_files_staged
    raise DatabaseError("the archive kept changing during the export; try again")


def _run(cfg: Config, opt: Options, scratch: duck.Scratch, temp_dir: str) -> dict:
    con = scratch.con
    _memory(con, opt, "start")
    # --- wwatcher first: the linker's catalog of every market is built only when there are alerts --
    if opt.use_wwatcher:
        path, tried = wwatcher.locate(opt.wwatcher_path, opt.wwatcher_explicit)
        alerts, source = wwatcher.read(con, path, tried)
    else:
        alerts, source = [], wwatcher.Source(None, "disabled", "wwatcher linking disabled (--no-wwatcher)")
    reader = catalog.Reader(opt.db_path)
    try:
        return _export(cfg, opt, scratch, temp_dir, reader, alerts, source)
    finally:
        reader.close()


def _export(cfg: Config, opt: Options, scratch: duck.Scratch, temp_dir: str, reader: catalog.Reader, alerts,
            source) -> dict:
    log, con = opt.log, scratch.con
    cat = catalog.load(reader, linkable=bool(alerts))
    _memory(con, opt, "markets loaded")
    log(f"markets: {len(cat.refs)} resolved YES/NO to export, {cat.voided} voided left out")
    for reason in cat.unreadable_times:
        log(f"market left out, timestamp not readable as UTC: {reason}")
    if cat.no_close_time:
        log(f"markets left out: {cat.no_close_time} resolved without closed_at or resolved_at (no cutoff)")
    log(f"wwatcher: {source.status}: {source.message}")
    links = Linker(cat.linkable, cfg.export.fuzzy_threshold).link_all(alerts) if alerts else {}
    cat.linkable = []  # not needed past linking; freed before the per-market stages allocate
    exported_refs = set(cat.refs.tolist()) if alerts or opt.prompts else set()
    per_market = whales.build(alerts, links, cat.labels)
    link_counts = _link_counts(alerts, links, exported_refs)
    for ref, items in per_market.items():  # features use nothing timestamped after the cutoff
        cut = cat.cutoff_of(ref)
        kept = [w for w in items if w.alert.time is not None and (cut is None or w.alert.time <= cut)]
        link_counts["linked_after_cutoff_left_out"] = (link_counts.get("linked_after_cutoff_left_out", 0)
                                                       + (len(items) - len(kept) if cut is not None else 0))
        per_market[ref] = kept
    if alerts:
        log("alerts: " + ", ".join(f"{k} {v}" for k, v in sorted(link_counts.items())))
    news = _news(con, cat)
    meta = versions.load(con, exported_refs) if opt.prompts else {}
    # --- snapshots, markets.parquet, prompts ---------------------------------------------------
    stats, book_files = _stage_both_stores(con, cat, reader, cfg, opt)
    _memory(con, opt, "snapshots staged")
    after = history.after_cutoff(con)
    plan = history.plan(con, cat.refs)
    _memory(con, opt, "chunks planned")
    parts = history.split(con, cat.refs, plan, Path(temp_dir) / "buckets")
    if book_files >= 0:
        book_features.split(con, len(plan), Path(temp_dir) / "books", archived=book_files > 0)
    _memory(con, opt, "snapshots split into buckets")
    con = scratch.reopen()  # gives back what DuckDB kept of staging and splitting (duck.Scratch)
    _memory(con, opt, "scratch database reopened")
    split_names = ["train", "test"] if opt.split_date else ["all"]
    prompt_files = {s: ("prompts.jsonl" if s == "all" else f"prompts_{s}.jsonl") for s in split_names}
    counts = Counter()
    split_date = _split_iso(opt.split_date)
    baseline, asked = Baseline(), []  # asked: (resolved_at, as_of) of every prompt, for the automatic cut
    out = opt.out_dir
    with atomic_parquet(out / "markets.parquet", rows.MARKETS_SCHEMA) as writer, PromptSinks(
            out, prompt_files if opt.prompts else {}) as sinks:
        total_chunks, n_chunks = sum(len(bucket) for bucket in plan), 0
        bar = _progress(opt.progress, total_chunks)
        for chunk in history.chunks(con, cat.refs, plan, stats, parts,
                                    lambda lo, hi: catalog.markets_between(reader, lo, hi)):
            yes = history.as_numpy(chunk.table["yes_price"])  # NaN where a snapshot has no price
            books = (book_features.history_of(con, [m.ref for m in chunk.markets],
                                              {m.ref: m.cutoff for m in chunk.markets}, Path(temp_dir) / "books",
                                              chunk.bucket)
                     if book_files >= 0 else None)
            writer.write_table(rows.markets_table(chunk, yes, per_market, news, after, books),
                               row_group_size=max(1, len(chunk.markets)))
            counts["markets"] += len(chunk.markets)
            counts["snapshots"] += chunk.table.num_rows
            if opt.prompts:
                ts = history.as_numpy(chunk.table["known_at"])
                _prompts(cfg, chunk, ts, yes, per_market, news, meta, sinks, split_date, counts, baseline, asked,
                         books, opt.late_metadata)
                sinks.flush()
            bar(1)
            chunk = yes = ts = books = None  # freed before the next chunk is read and sorted (peak RSS)
            n_chunks += 1
            if n_chunks % max(1, total_chunks // 10) == 0:
                _memory(con, opt, f"chunk {n_chunks} of {total_chunks}")
        bar(None)
    if counts["prompts_left_out_metadata_not_yet_observed"]:
        log(f"prompts left out: {counts['prompts_left_out_metadata_not_yet_observed']} asked before the market's "
            "metadata was first observed (metadata not yet observed at as_of, e.g. backfilled markets; "
            "--late-metadata keeps them, marked)")
    split = {"mode": "date", "cut": split_date} if split_date else {"mode": None, "cut": None}
    extra_files: list[str] = []
    if opt.prompts and not split_date:
        cut = splits.choose_cut([r for r, _ in asked], [a for _, a in asked])
        if cut is not None:
            split = {"mode": "chronological", "cut": cut, **splits.write(out, cut, baseline)}
            extra_files += list(splits.FILES.values())
            log(f"chronological split at {cut}: {split['train']} train, {split['test']} test prompts "
                f"({split['neither']} in neither)")
    if opt.prompts and counts["prompts"]:
        calibration = out / "calibration.png"
        with atomic_bytes(calibration) as tmp:
            baseline_mod.plot(baseline.result(), tmp)
        extra_files.append(calibration.name)
    with atomic_parquet(out / "unmatched_alerts.parquet", rows.UNMATCHED_SCHEMA) as uw:
        unmatched = rows.unmatched_table(alerts, links)
        if unmatched.num_rows:  # an empty file has zero row groups: see files.atomic_parquet
            uw.write_table(unmatched)
    manifest = card.manifest(
        version=EXPORTER_VERSION, db_path=opt.db_path, cat=cat, source=source, link_counts=link_counts,
        stats=stats, counts=counts, cfg=cfg, prompt_files=list(prompt_files.values()) if opt.prompts else [],
        split_date=split_date, files=[out / n for n in _produced(opt, prompt_files) + extra_files])
    manifest["source"]["data"] = _data_source(con)
    manifest["split"] = split
    manifest["baseline"] = baseline.result() if opt.prompts else None
    card.remove_stale(out, manifest)
    with atomic_text(out / "README.md") as fh:
        fh.write(card.dataset_card(manifest))
    write_json(out / "manifest.json", manifest)
    _memory(con, opt, "written")
    return manifest  # the caller prints the one summary (exporter/main.py)


def _prompts(cfg, chunk, ts, yes, per_market, news, meta, sinks, split_date, counts, baseline, asked,
             books=None, late_metadata=False) -> None:
    """Prompts of one chunk. ts (known_at) and yes are the chunk's NumPy columns; each market gets
    slices of them (its priced snapshots), so no Python loop runs over snapshots."""
    volume, liquidity = history.as_numpy(chunk.table["volume"]), history.as_numpy(chunk.table["liquidity"])
    priced = ~np.isnan(yes)
    for i, m in enumerate(chunk.markets):
        lo, hi = chunk.offsets[i], chunk.offsets[i + 1]
        keep = np.flatnonzero(priced[lo:hi]) + lo  # ts: known_at, ascending
        for row in prompts.build(m, ts[keep], yes[keep], per_market.get(m.ref, []),
                                 news.get(m.ref, []), cfg.export.prompt_horizons_days,
                                 cfg.export.random_prompts_per_market, meta.get(m.ref, []),
                                 lambda i, keep=keep: (_number(volume[keep[i]]), _number(liquidity[keep[i]])),
                                 books.for_market(m.ref) if books else None, late_metadata, counts):
            split = prompts.split_of(row["resolved_at"], row["as_of"], split_date)
            if split is None:
                counts["prompts_dropped_by_split"] += 1
                continue
            row["split"] = split
            if row["metadata_observed_at"] is not None and row["metadata_observed_at"] > row["as_of"]:
                counts["prompts_metadata_first_observed_after_as_of"] += 1
            sinks.write(split, row)
            baseline.add(row["price_at_as_of"], row["answer"], row["platform"], row["kind"], row["horizon_days"])
            if split == "all":
                asked.append((row["resolved_at"], row["as_of"]))
            else:
                baseline.add_split(row["price_at_as_of"], row["answer"], split)
            counts["prompts"] += 1
            counts[f"prompts_{split}"] += 1


def _number(x) -> float | None:
    """A NumPy column value as JSON wants it: a float, or None where the column was null (NaN)."""
    return None if np.isnan(x) else float(x)


def _memory(con, opt: Options, stage: str) -> None:
    if opt.log_memory:
        print(f"memory at {stage}: {duck.memory_report(con)}", file=sys.stderr, flush=True)


def _data_source(con) -> str:
    """'live' or 'simulator', as the sink recorded from the first batch (collector.db meta), else 'unknown'."""
    row = con.execute("SELECT value FROM c.meta WHERE key = 'source'").fetchone()
    return row[0] if row and row[0] in ("live", "simulator") else "unknown"


def _produced(opt: Options, prompt_files: dict[str, str]) -> list[str]:
    names = ["markets.parquet", "unmatched_alerts.parquet"]
    prompt_names = [n for j in prompt_files.values() for n in (j, parquet_name(j))]
    return names + (sorted(prompt_names) if opt.prompts else [])


def _split_iso(date: str | None) -> str | None:
    if not date:
        return None
    return date if "T" in date else f"{date}T00:00:00Z"


def _link_counts(alerts, links, exported_refs) -> dict[str, int]:
    """exact + fuzzy + unmatched + duplicates = all alerts; event_only/ambiguous/none/no_title break down unmatched."""
    c = Counter({k: 0 for k in ("exact", "fuzzy", "unmatched", "duplicates", "event_only", "ambiguous", "none",
                                "no_title", "linked_to_unexported_market")})
    for a in alerts:
        if a.duplicate_of is not None:
            c["duplicates"] += 1
            continue
        link = links[a.id]
        kind = ("exact" if link.method.startswith(("id_", "title_exact")) else
                "fuzzy" if link.method.startswith("title_fuzzy") else link.method)
        c[kind] += 1
        if link.market_ref is None:
            c["unmatched"] += 1
        elif link.market_ref not in exported_refs:
            c["linked_to_unexported_market"] += 1
    return dict(c)


def _progress(enabled: bool, total: int):
    """A click progress bar on a terminal's stderr; a no-op otherwise."""
    if not enabled or not sys.stderr.isatty():
        return lambda n: None
    import click

    bar = click.progressbar(length=total, label="exporting markets", file=sys.stderr)
    bar.__enter__()

    def step(n):
        if n is None:
            bar.__exit__(None, None, None)
        else:
            bar.update(n)
    return step
