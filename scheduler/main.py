"""The scheduler: DISCOVER, SNAPSHOT and RESOLVE (and NEWS) on their grids, handed to fetchers.

    scheduler --config C     # foreground until SIGTERM (exit 0)

It binds a ROUTER at ``cfg.scheduler_endpoint``; each fetcher connects a DEALER, says hello with
a Heartbeat and keeps beating. One loop: ``poll(timeout)`` bounded by the next due slot, the next
job deadline, the next database refresh and POLL_MAX_S. What has run comes from the sink's
phase_runs table (plus JobDone messages, which arrive before the sink commits), so a restart
resumes exactly, running each overdue phase once. The due rules live in scheduler/plan.py, the
bookkeeping of fetchers and jobs in scheduler/board.py; this module owns the socket.
"""

from __future__ import annotations

import logging
import os
import time

import click
import zmq

from collector import bounds, clock, config as config_mod, paths, platforms, process, validate, wire
from collector.cliutil import CONTEXT_SETTINGS, Command, version_option
from scheduler.archive_job import ArchiveJob
from scheduler.board import Board

log = logging.getLogger("scheduler")

POLL_MAX_S = 1.0  # longest single wait (real seconds): signals and silences are noticed by then
DB_REFRESH_S = 2.0  # how often phase_runs is re-read (real seconds)
SNDHWM = 1000  # jobs queued towards one fetcher; a handful is the most ever outstanding


class Scheduler:
    def __init__(self, cfg: config_mod.Config):
        self.cfg = cfg
        self.endpoint = cfg.scheduler_endpoint
        self.board = Board(cfg)
        self.archive = ArchiveJob(cfg)
        self.stopping = False
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)  # jobs not yet delivered are re-issued after a restart
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a send to a vanished fetcher fails loudly
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.sock.setsockopt(zmq.SNDHWM, SNDHWM)
        self.sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)  # bigger frames: peer disconnected

    def request_stop(self, why: str) -> None:
        log.info("received %s: stopping", why)
        self.stopping = True

    def bind(self) -> None:
        endpoint = self.endpoint
        ipc = paths.ipc_path(endpoint)
        if ipc:
            paths.private_dir(os.path.dirname(ipc) or ".")
        self.sock.bind(endpoint)
        if ipc:
            os.chmod(ipc, paths.FILE_MODE)
        tasks = self.board.tasks.values()
        log.info("scheduler listening on %s; tasks: %s", endpoint,
                 ", ".join(f"{t.platform}/{t.phase} every {t.interval:g}s" for t in tasks))

    def run(self) -> None:
        self.board.refresh(first=True)
        refresh_at = time.monotonic() + DB_REFRESH_S
        while not self.stopping:
            mono, now = time.monotonic(), clock.now()
            if mono >= refresh_at:
                self.board.refresh()
                self.archive.tick()
                refresh_at = mono + DB_REFRESH_S
            self.board.check(now, mono)
            for f, job in self.board.due_jobs(now):
                try:
                    self.sock.send_multipart([f.identity, wire.encode(job)], zmq.NOBLOCK)
                except zmq.ZMQError as exc:  # EHOSTUNREACH (gone) or EAGAIN (not reading)
                    self.board.send_failed(f, job, str(exc))
            timeout = min(max(0.0, refresh_at - mono), self.board.until_next_event(now, POLL_MAX_S))
            if self.sock.poll(int(timeout * 1000) + 1, zmq.POLLIN):
                self.drain()
        log.info("scheduler stopped")

    def drain(self) -> None:
        mono, now = time.monotonic(), clock.now()
        while True:
            try:
                parts = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(parts) != 2:
                log.warning("ignored a %d-part message", len(parts))
                continue
            identity, frame = parts
            try:
                msg = wire.decode(frame)
            except Exception as exc:  # garbage or a decoder surprise: never a crash
                log.warning("unreadable frame from %r (%d bytes): %s", identity[:80], len(frame), str(exc)[:300])
                continue
            why = out_of_bounds(msg)
            if why:
                log.warning("rejected %s from %r: %s", type(msg).__name__, identity[:80], why)
                continue
            try:
                match msg:
                    case wire.Heartbeat():
                        self.board.on_heartbeat(identity, msg, mono, now)
                    case wire.JobDone():
                        self.board.on_done(msg.report, identity)
                    case _:
                        log.warning("unexpected %s from %r", type(msg).__name__, identity[:80])
            except Exception:  # a bookkeeping bug must not stop scheduling for every platform
                log.exception("could not handle %s from %r; ignored", type(msg).__name__, identity[:80])

    def close(self) -> None:
        self.archive.stop()
        self.board.history.close()
        self.sock.close()
        self.ctx.term()


def out_of_bounds(msg: wire.Message) -> str | None:
    """Why a Heartbeat or JobDone must be ignored (NaN times, unknown platform, huge ids), or None."""
    match msg:
        case wire.Heartbeat():
            return bounds.first([
                (msg.platform not in platforms.report_names(), f"unknown platform {msg.platform[:40]!r}"),
                (bounds.bad_text(msg.busy_job, bounds.ID_MAX) or bounds.bad_text(msg.sender, bounds.ID_MAX),
                 "busy_job/sender too long"),
            ])
        case wire.JobDone():
            return validate.problem(msg.report)
    return None


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@version_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config TOML file")
def main(config_path: str | None) -> None:
    """Run the scheduler in the foreground until SIGTERM.

    Example: scheduler --config ~/.config/polymaster-collector/config.toml
    """
    process.run_foreground("scheduler", config_path, Scheduler)


if __name__ == "__main__":
    main()
