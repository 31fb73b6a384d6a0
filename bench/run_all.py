"""Run every bench/bench_*.py in one go and write bench/RESULTS.md with what each printed.

    python bench/run_all.py [--only sink,export]

Each benchmark compares against its own baseline measured in the same run and prints ratios;
this script adds the machine it ran on and the date, so every figure in the README can be traced
to a command and a machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def render_table(figures: list[list[str]]) -> str:
    rows = ["| Figure | Measured | Target | Compared with (same run) | Command |", "|---|---|---|---|---|"]
    rows += [f"| {name} | {value} | {target} | {base} | `bench/{script}` |" for name, value, target, base, script in figures]
    return f"Machine: {machine()}, {time.strftime('%Y-%m-%d', time.gmtime())}.\n\n" + "\n".join(rows) + "\n"


def update_readme(table: str) -> None:
    """Replace the figures between the README's markers, so the README quotes this run."""
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = "<!-- figures: written by `make bench` -->", "<!-- /figures -->"
    if start not in text or end not in text:
        print("README.md has no figures markers; table not copied", file=sys.stderr)
        return
    head, rest = text.split(start, 1)
    readme.write_text(f"{head}{start}\n{table}{end}{rest.split(end, 1)[1]}")
    print(f"updated the figures in {readme}")


LONG_RUNS = {"bench_scale"}  # `make scale`: ~40 minutes of the whole pipeline; its own report (bench/SCALE.md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated names, e.g. sink,kalshi")
    args = ap.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    scripts = sorted(p for p in HERE.glob("bench_*.py")
                     if (p.stem[len("bench_"):] in only if only else p.stem not in LONG_RUNS))
    sections = [f"# Benchmark results\n\nMachine: {machine()}  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  \n"
                "Command: `make bench` (`python bench/run_all.py`)\n"]
    failed = 0
    figures: list[list[str]] = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        took = time.monotonic() - start
        lines = proc.stdout.strip().splitlines()
        figures += [line.split("\t")[1:] + [script.name] for line in lines if line.startswith("FIGURE\t")]
        out = "\n".join(line for line in lines if not line.startswith("FIGURE\t")) or "(no output)"
        print(out, flush=True)
        if proc.returncode != 0:
            failed += 1
            out += f"\n\nFAILED (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}"
            print(proc.stderr[-2000:], file=sys.stderr)
        sections.append(f"## {script.stem}\n\n`python bench/{script.name}` ({took:.0f} s)\n\n```\n{out}\n```\n")
    scale = HERE / "scale.json"   # `make scale`'s headline rows, from its last run
    if not only and scale.exists():
        figures += [f + ["bench_scale.py"] for f in json.loads(scale.read_text())["summary"].get("figures", [])]
    table = render_table(figures)
    sections.insert(1, table)
    (HERE / "RESULTS.md").write_text("\n".join(sections))
    print(f"wrote {HERE / 'RESULTS.md'}")
    if not only:
        update_readme(table)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
