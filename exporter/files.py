"""Atomic output files: write under a temporary name in the same directory, fsync, rename.

A reader (or a crash) never sees half a file: either the previous export's file or the new one.
Parquet writing goes through pyarrow with fixed options and row groups cut at deterministic
market boundaries, so an unchanged database exports byte-identical files.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Iterator

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from collector.db import file_sha256

PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, version="2.6", write_statistics=True)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _commit(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    tmp = _tmp(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
        _commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_bytes(path: Path) -> Iterator[Path]:
    """Yields a temporary path to write (e.g. a plot); committed over ``path`` when the block succeeds."""
    tmp = _tmp(path)
    try:
        yield tmp
        _commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_parquet(path: Path, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
    """Never write an empty table into it: a 0-row row group makes `datasets` fail ("BatchSize must
    be greater than 0"); a file with no row groups still carries the schema and loads as 0 rows."""
    tmp = _tmp(path)
    try:
        writer = pq.ParquetWriter(tmp, schema, **PARQUET_OPTIONS)
        try:
            yield writer
        finally:
            writer.close()
        _commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, obj) -> None:
    with atomic_text(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


sha256 = file_sha256  # one streaming implementation, shared with the sink's archive check


_JSON = msgspec.json.Encoder()


def jsonl_line(obj: dict) -> str:
    """One compact JSON line, UTF-8 unescaped. msgspec: ~15x faster than json.dumps (a prompt in ~6 us
    instead of ~95 us, which was a third of the prompt stage); the same values, and null for NaN."""
    return _JSON.encode(obj).decode() + "\n"
