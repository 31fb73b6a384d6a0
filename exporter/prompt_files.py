"""Prompt files: per split, JSONL (one object per line) and a Parquet twin, committed together.

JSON readers infer a schema from the data, so a time loses its zone and an empty list changes a
column's type from one export to the next. The Parquet twin has the declared schema of
``columns.PROMPTS`` (UTC timestamps, typed lists even when empty); it is what the card's prompt
configs load. Rows are buffered per chunk of markets and written as one row group per flush, so
memory stays bounded by a chunk's prompts.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from exporter import columns
from exporter.files import atomic_parquet, atomic_text, jsonl_line

PROMPTS_SCHEMA = columns.schema(columns.PROMPTS)
_TEXT_TIMES = columns.text_time_schema(columns.PROMPTS)


def parquet_name(jsonl_name: str) -> str:
    return jsonl_name.removesuffix(".jsonl") + ".parquet"


def table(rows: list[dict]) -> pa.Table:
    """Prompt rows (ISO 8601 times, as in the JSONL) as an Arrow table of PROMPTS_SCHEMA."""
    return pa.Table.from_pylist(rows, schema=_TEXT_TIMES).cast(PROMPTS_SCHEMA)


class PromptSinks:
    """One atomic JSONL and one atomic Parquet file per split, all committed when the export succeeds."""

    def __init__(self, out: Path, names: dict[str, str]):
        self.cms = {}
        for split, name in names.items():
            self.cms[(split, "jsonl")] = atomic_text(out / name)
            self.cms[(split, "parquet")] = atomic_parquet(out / parquet_name(name), PROMPTS_SCHEMA)
        self.handles: dict = {}
        self.pending: dict[str, list[dict]] = {split: [] for split in names}
        self.written: dict[str, int] = {split: 0 for split in names}

    def __enter__(self):
        self.handles = {key: cm.__enter__() for key, cm in self.cms.items()}
        return self

    def write(self, split: str, row: dict) -> None:
        self.handles[(split, "jsonl")].write(jsonl_line(row))
        self.pending[split].append(row)

    def flush(self) -> None:
        for split, rows in self.pending.items():
            if rows:
                self.handles[(split, "parquet")].write_table(table(rows))
                self.written[split] += len(rows)
                rows.clear()

    def __exit__(self, *exc):
        if exc[0] is None:
            self.flush()  # an empty split keeps zero row groups (see files.atomic_parquet)
        for cm in self.cms.values():
            cm.__exit__(*exc)
        return False
