"""`make scale`: the whole pipeline under supervisord against a real-scale simulated world, for
several consecutive 15-minute cycles, measured from outside and checked against the world's truth.

    .venv/bin/python bench/bench_scale.py [--speed 2] [--cycles 4] [--open-polymarket 46000]
        [--closed-polymarket 150000] [--open-kalshi 120000] [--closed-kalshi 300000] [--work DIR]

Starts `simulator` with the real-scale options, writes a config (default request rates, 2 req/s
per platform, multiplied by --speed when the simulated clock runs faster, so the requests per
simulated second are the default ones), runs `collector run` (supervisord: sink, scheduler, both
fetchers) and samples every program's CPU time and RSS from /proc plus the database's size. After
the last cycle it stops everything and reads collector.db: per cycle and platform, the markets the
world had open at the grid time (bench/scale_truth.py, the same deterministic world rebuilt in
this process), those with a snapshot row, the requests and simulated wall time of every phase,
CPU seconds, and the order books (bench/scale_books.py: rows stored, found, share of the open
markets booked this cycle and this hour, the planner's own log line, book requests the simulator
served); overall, labels recorded against markets that became final, and bytes per day and
year projected from the steady cycles (archive bytes from the project's own archiver writing the
run's rows, snapshots and books). Writes bench/scale.json and bench/SCALE.md (--out to put them elsewhere).
Not a test: prints and writes, never asserts. tests/test_bench_scale.py runs it at a toy size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

import scale_report  # noqa: E402
import scale_truth  # noqa: E402

BIN = Path(sys.executable).parent
CYCLE_S = 900
DEFAULT_RPS = 2.0                  # the fetchers' default requests_per_second (collector/config.py)
PROGRAMS = ("sink", "scheduler", "fetcher-polymarket", "fetcher-kalshi", "simulator")
SAMPLE_S = 2.0
PIDS_EVERY = 15                    # `collector ctl status` costs a Python start-up: not every sample
TICK = os.sysconf("SC_CLK_TCK")
SAMPLES = "samples.json"           # in the run's directory: what the report needs besides collector.db and logs


def start_simulator(work: Path, args) -> tuple[subprocess.Popen, str]:
    cmd = [str(BIN / "simulator"), "--port", "0", "--seed", str(args.seed), "--speed", str(args.speed),
           "--start", scale_truth.START, *scale_truth.size_args(args)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(work / "simulator.log", "w"), text=True)
    line = p.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not m:
        p.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return p, m.group(0)


def write_config(work: Path, url: str, speed: float) -> Path:
    """Defaults everywhere but the simulator's URLs, the clock and rates scaled with the clock."""
    with __import__("urllib.request").request.urlopen(url + "/_sim/clock", timeout=60) as r:
        sim_now = json.loads(r.read())["now"]
    rps = DEFAULT_RPS * speed
    cfg = work / "config.toml"
    cfg.write_text(f"""
[general]
db_path = "{work}/collector.db"
data_dir = "{work}"
[clock]
speed = {speed}
real_origin = {time.time()}
sim_origin = {sim_now}
[polymarket]
base_url = "{url}/clob"
gamma_url = "{url}/gamma"
requests_per_second = {rps}
[kalshi]
base_url = "{url}/kalshi/trade-api/v2"
requests_per_second = {rps}
""")
    return cfg


def proc_stat(pid: int) -> tuple[float, float, float]:
    """(CPU seconds user+system, RSS MB, peak RSS MB) of a process; zeros once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0, 0.0
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    kb = {k: int(v.split()[0]) for k, v in (ln.split(":", 1) for ln in status.splitlines()) if k in ("VmRSS", "VmHWM")}
    return cpu, kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024


class Sampler:
    """CPU seconds per program summed over every pid it had (a restarted program keeps its past),
    peak RSS per program, and the database's bytes, against simulated time."""

    def __init__(self, work: Path, env: dict, sim_pid: int, clock) -> None:
        self.work, self.env, self.sim_pid, self.clock = work, env, sim_pid, clock
        self.cpu: dict[str, dict[int, float]] = {p: {} for p in PROGRAMS}
        self.peak: dict[str, float] = dict.fromkeys(PROGRAMS, 0.0)
        self.series: list[dict] = []   # {"sim", "cpu": {program: s}, "db_bytes"}
        self._pids: dict[str, int] = {}
        self._n = 0

    def load_avg_mean(self) -> float:
        """The machine's 1-minute load average, mean over the run's samples (the machine is shared)."""
        return round(sum(r["load1"] for r in self.series) / len(self.series), 2) if self.series else 0.0

    def pids(self) -> dict[str, int]:
        out = subprocess.run([str(BIN / "collector"), "--config", self.env["COLLECTOR_CONFIG"], "ctl", "status"],
                             capture_output=True, text=True, env=self.env, timeout=120).stdout
        pids = {m.group(1): int(m.group(2)) for m in re.finditer(r"(\S+)\s+RUNNING\s+pid (\d+)", out)}
        pids["simulator"] = self.sim_pid
        return pids

    def sample(self) -> dict:
        """One sample; pids are asked of supervisord every PIDS_EVERY samples, or while one is missing or gone."""
        self._n += 1
        if self._n % PIDS_EVERY == 1 or len(self._pids) < len(PROGRAMS) \
                or not all(Path(f"/proc/{p}").exists() for p in self._pids.values()):
            self._pids = self.pids()
        for name, pid in self._pids.items():
            if name not in self.cpu:
                continue
            cpu, _rss, hwm = proc_stat(pid)
            if cpu:
                self.cpu[name][pid] = cpu
            self.peak[name] = max(self.peak[name], hwm)
        db = sum(p.stat().st_size for p in self.work.glob("collector.db*") if p.is_file())
        row = {"sim": self.clock(), "cpu": {k: round(sum(v.values()), 2) for k, v in self.cpu.items()}, "db_bytes": db,
               "load1": os.getloadavg()[0]}
        self.series.append(row)
        return row


def sim_stats(url: str) -> dict | None:
    """The simulator's request counters (per route), read at each grid time for the book requests."""
    try:
        with __import__("urllib.request").request.urlopen(url + "/_sim/stats", timeout=30) as r:
            return json.loads(r.read())
    except (OSError, ValueError) as exc:
        print(f"simulator stats unreadable: {exc}", flush=True)
        return None


def snapshot_done(db_path: Path, grids: list[int]) -> bool:
    """Has every measured grid time a finished SNAPSHOT report from both platforms?"""
    if not db_path.exists():
        return False
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            have = set(db.execute("SELECT platform, grid_time FROM phase_runs WHERE phase = 'snapshot'").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return all((p, g) in have for p in scale_truth.PLATFORMS for g in grids)


def run(args, work: Path) -> dict:
    """Run the pipeline for args.cycles measured cycles; returns the scale.json document."""
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    sim, url = start_simulator(work, args)
    print(f"simulator up in {time.monotonic() - t0:.0f} s at {url}", flush=True)
    env = dict(os.environ, COLLECTOR_CONFIG=str(write_config(work, url, args.speed)), COLLECTOR_DATA=str(work))
    cfg_text = (work / "config.toml").read_text()
    real_origin = float(re.search(r"real_origin = (\S+)", cfg_text).group(1))
    sim_origin = float(re.search(r"sim_origin = (\S+)", cfg_text).group(1))

    def clock() -> float:
        return sim_origin + (time.time() - real_origin) * args.speed

    sup = subprocess.Popen([str(BIN / "collector"), "--config", env["COLLECTOR_CONFIG"], "run"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(work / "supervisord.out", "w"))
    first = (int(clock()) // CYCLE_S + 1) * CYCLE_S     # first slot wholly inside the run
    grids = [first + k * CYCLE_S for k in range(args.cycles)]
    sampler = Sampler(work, env, sim.pid, clock)
    marks: dict[int, dict] = {}
    try:
        while True:
            row = sampler.sample()
            for g in grids + [grids[-1] + CYCLE_S]:
                if g not in marks and row["sim"] >= g:
                    marks[g] = dict(row, sim_stats=sim_stats(url))
                    print(f"sim {time.strftime('%H:%M:%S', time.gmtime(row['sim']))}: db {row['db_bytes'] / 1e6:.1f} MB, "
                          f"cpu {row['cpu']}", flush=True)
            end = grids[-1] + CYCLE_S
            if row["sim"] >= end and (snapshot_done(work / "collector.db", grids) or row["sim"] >= end + CYCLE_S):
                break
            time.sleep(SAMPLE_S)
        end_sim = clock()
    finally:
        subprocess.run([str(BIN / "collector"), "--config", env["COLLECTOR_CONFIG"], "ctl", "stop", "all"],
                       env=env, capture_output=True, timeout=300)
        sup.terminate()
        try:
            sup.wait(120)
        except subprocess.TimeoutExpired:
            sup.kill()
        sim.terminate()
        sim.wait(30)
    started_sim = sampler.series[0]["sim"]
    (work / SAMPLES).write_text(json.dumps({"grids": grids, "marks": marks, "peak": sampler.peak, "load_avg_mean": sampler.load_avg_mean(),
                                            "load_avg_at_end": os.getloadavg(),
                                            "started_sim": started_sim, "end_sim": end_sim}))
    return scale_report.build(args, work, grids, marks, sampler, started_sim, end_sim)


def report_again(args, work: Path) -> dict:
    """The report of a finished run from its files (collector.db, logs, SAMPLES), e.g. after a fix
    to the report code: the run's options must be given again (its world is rebuilt from them)."""
    raw = json.loads((work / SAMPLES).read_text())
    marks = {int(g): row for g, row in raw["marks"].items()}
    sampler = argparse.Namespace(peak=raw["peak"], load_avg_mean=lambda: raw["load_avg_mean"],
                                 load_avg_at_end=raw["load_avg_at_end"])
    return scale_report.build(args, work, raw["grids"], marks, sampler, raw["started_sim"], raw["end_sim"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scale_truth.add_size_options(ap)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--speed", type=float, default=2.0, help="simulated seconds per real second")
    ap.add_argument("--cycles", type=int, default=4, help="measured 15-minute cycles")
    ap.add_argument("--work", type=Path, default=None, help="keep the run's files here (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=HERE, help="where scale.json and SCALE.md go")
    ap.add_argument("--label", default="", help="a note for SCALE.md (e.g. 'partial run')")
    ap.add_argument("--report-again", action="store_true",
                    help="no run: rebuild the report from the finished run in --work (same size options)")
    args = ap.parse_args()
    if args.report_again and not args.work:
        ap.error("--report-again needs --work")
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-"))
    doc = report_again(args, work) if args.report_again else run(args, work)
    scale_report.write(doc, args.out)
    print(f"wrote {args.out / 'scale.json'} and {args.out / 'SCALE.md'} (run files in {work})")


if __name__ == "__main__":
    main()
