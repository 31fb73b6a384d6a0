"""One headline figure per line, collected by bench/run_all.py into bench/RESULTS.md and the README.

Each benchmark keeps printing its own detail; ``figure()`` adds a tab-separated line that states
what was measured, the target, and what it was compared with in the same run.
"""

from __future__ import annotations


def figure(name: str, value: str, target: str, compared_with: str) -> None:
    print(f"FIGURE\t{name}\t{value}\t{target}\t{compared_with}", flush=True)


def raw_json_cpu(pages: list[bytes], repeat: int = 3) -> float:
    """CPU seconds of a bare `json.loads` of every page, best of `repeat` passes: the floor any
    parser of these bytes pays, measured in the same run as the fetcher code it is compared with,
    so a ratio to it holds on a shared, noisy machine where absolute seconds do not."""
    import json
    import time

    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for raw in pages:
            json.loads(raw)
        best = min(best, time.process_time() - t0)
    return best
