"""One headline figure per line, collected by bench/run_all.py into bench/RESULTS.md and the README.

Each benchmark keeps printing its own detail; ``figure()`` adds a tab-separated line that states
what was measured, the target, and what it was compared with in the same run.
"""

from __future__ import annotations


def figure(name: str, value: str, target: str, compared_with: str) -> None:
    print(f"FIGURE\t{name}\t{value}\t{target}\t{compared_with}", flush=True)
