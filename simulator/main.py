"""`simulator` console script: serve the simulated exchanges in the foreground until SIGTERM/SIGINT.

Example:
    simulator --port 0 --seed 7 --markets 5000 --speed 60 --faults "rate=20,err=0.02"
prints `simulator listening on http://127.0.0.1:PORT` once, then serves; exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import msgspec

from .clock import DEFAULT_START, parse_iso
from .faults import Faults, FaultSpecError
from .server import make_server
from .world import MAX_MARKETS, MIN_MARKETS, World

SHUTDOWN_POLL_S = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="simulator", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--markets", type=int, default=1000,
                    help=f"markets per platform ({MIN_MARKETS}..{MAX_MARKETS})")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (0 = frozen)")
    ap.add_argument("--faults", default="", help='e.g. "rate=5,err=0.02,latency=50ms,drop=0.01"')
    ap.add_argument("--start", default=DEFAULT_START, help="simulated start time, ISO 8601")
    ap.add_argument("--legacy-cents", action="store_true", help="Kalshi legacy integer-cent fields")
    ap.add_argument("--truth-out", default=None, help="write truth JSON here at start and at exit")
    return ap.parse_args(argv)


def write_truth(world: World, path: str | None) -> None:
    if path:
        with open(path, "wb") as fh:
            fh.write(msgspec.json.encode(world.truth()))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        faults = Faults(args.faults, args.seed)
        world = World(seed=args.seed, markets=args.markets, start=parse_iso(args.start),
                      speed=args.speed, legacy_cents=args.legacy_cents)
    except (FaultSpecError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    sim, httpd = make_server(world, faults, args.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    write_truth(world, args.truth_out)
    thread = threading.Thread(target=httpd.serve_forever, name="simulator-http", daemon=True)
    thread.start()
    print(f"simulator listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    while not stop.wait(SHUTDOWN_POLL_S):
        pass
    httpd.shutdown()
    httpd.server_close()
    write_truth(world, args.truth_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
