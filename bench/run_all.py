"""Run every bench/bench_*.py in one go and write bench/RESULTS.md with what each printed.

    python bench/run_all.py [--only sink,export]

Each benchmark compares against its own baseline measured in the same run and prints ratios;
this script adds the machine it ran on and the date, so every figure in the README can be traced
to a command and a machine.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated names, e.g. sink,kalshi")
    args = ap.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not only or p.stem[len("bench_"):] in only)
    sections = [f"# Benchmark results\n\nMachine: {machine()}  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  \n"
                "Command: `make bench` (`python bench/run_all.py`)\n"]
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        took = time.monotonic() - start
        out = proc.stdout.strip() or "(no output)"
        print(out, flush=True)
        if proc.returncode != 0:
            failed += 1
            out += f"\n\nFAILED (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}"
            print(proc.stderr[-2000:], file=sys.stderr)
        sections.append(f"## {script.stem}\n\n`python bench/{script.name}` ({took:.0f} s)\n\n```\n{out}\n```\n")
    (HERE / "RESULTS.md").write_text("\n".join(sections))
    print(f"wrote {HERE / 'RESULTS.md'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
