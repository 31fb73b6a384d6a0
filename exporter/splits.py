"""Time splits of the prompts in the sense of Turtel et al. 2025: test strictly after train.

A random split of prompts leaks: prompts of one market (and of correlated markets of one event)
land on both sides, and a model trained on a market's outcome is then tested on a question whose
answer it has seen, or on the world after that outcome was public. So train holds prompts of
markets resolved before a cut C, and test holds prompts asked at or after C; since every as_of is
before its market's resolution, every test market resolves after C too. Every test as_of is thus
after every train resolution. Prompts of markets resolving after C but asked before it are in
neither side (counted).

With ``--split-date`` the user gives C (exporter.prompts.split_of). Without it the export writes
all prompts, and also this split with C chosen so that about TEST_SHARE of the split is test.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from exporter.baseline import Baseline
from exporter.columns import TS
from exporter.files import atomic_parquet
from exporter.prompt_files import PROMPTS_SCHEMA

TEST_SHARE = 0.10
FILES = {"train": "prompts_train.parquet", "test": "prompts_test.parquet"}


def choose_cut(resolved: list[str | None], as_of: list[str], share: float = TEST_SHARE) -> str | None:
    """The cut (an ISO time, one of the as_of values) whose test share of train + test is closest to share.

    ISO strings of one format compare chronologically. test(C) = #as_of >= C, train(C) =
    #resolved < C; None when no cut gives both sides a prompt.
    """
    asked = sorted(as_of)
    done = sorted(r for r in resolved if r is not None)
    best: tuple[float, str] | None = None
    for cut in sorted(set(asked)):
        test = len(asked) - bisect.bisect_left(asked, cut)
        train = bisect.bisect_left(done, cut)
        if test and train:
            gap = abs(test / (test + train) - share)
            if best is None or gap < best[0]:
                best = (gap, cut)
    return best[1] if best else None


def write(out: Path, cut: str, baseline: Baseline) -> dict[str, int]:
    """prompts_train/test.parquet from prompts.parquet, one row group at a time (bounded memory)."""
    at = pa.scalar(int(datetime.fromisoformat(cut.replace("Z", "+00:00")).timestamp()), TS)
    source = pq.ParquetFile(out / "prompts.parquet")
    counts = {"train": 0, "test": 0, "neither": 0}
    with atomic_parquet(out / FILES["train"], PROMPTS_SCHEMA) as train_w, \
            atomic_parquet(out / FILES["test"], PROMPTS_SCHEMA) as test_w:
        for g in range(source.num_row_groups):
            table = source.read_row_group(g).cast(PROMPTS_SCHEMA)  # Parquet gives times back in ms
            masks = {"train": pc.fill_null(pc.less(table["resolved_at"], at), False),
                     "test": pc.greater_equal(table["as_of"], at)}
            for split, writer in (("train", train_w), ("test", test_w)):
                part = table.filter(masks[split])
                if part.num_rows:  # never a 0-row row group (files.atomic_parquet)
                    part = part.set_column(part.schema.get_field_index("split"), "split",
                                           pa.array([split] * part.num_rows, pa.string()))
                    writer.write_table(part)
                    counts[split] += part.num_rows
                    for p, y in zip(part["price_at_as_of"].to_pylist(), part["answer"].to_pylist()):
                        baseline.add_split(p, y, split)
            counts["neither"] += table.num_rows - sum(pc.sum(pc.cast(m, pa.int64())).as_py() or 0
                                                      for m in masks.values())
    return counts
