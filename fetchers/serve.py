"""A fetcher serving jobs from the scheduler (``fetcher --platform P`` without ``--once``).

Two threads, each owning its own socket (a ZeroMQ socket is never shared across threads):

* the **main thread** owns the DEALER connected to the scheduler's ROUTER: it sends a Heartbeat
  on connect and every ``scheduler.heartbeat_seconds`` (also while a phase runs, with
  ``busy_job`` set), receives Jobs and hands them over, and sends JobDone when one finishes;
* the **worker thread** owns the sink Publisher and the HTTP client: it runs one job at a time,
  publishes the report as a record, waits (bounded) for the sink's acks, and keeps servicing
  acks and re-sends while idle.

A Job arriving while another runs is ignored (the heartbeat's ``busy_job`` tells the scheduler
why). SIGTERM/SIGINT: no new jobs; the running phase stops at its next page boundary and is
reported as interrupted; the worker flushes to the sink (bounded) and the process exits 0.
"""

from __future__ import annotations

import queue
import threading
import time

import msgspec
import zmq

from collector import clock, platforms, wire
from collector.config import Config
from collector.errors import CollectorError, SinkUnavailable
from fetchers import runner
from fetchers.http import HttpClient
from collector.sink_client import STOP_FLUSH_SECONDS, Publisher

IDLE_POLL_SECONDS = 0.5  # the worker services sink acks at least this often while idle
MAIN_POLL_MS = 200  # the main loop's longest poll on the scheduler socket
JOIN_SLACK_SECONDS = 10.0  # beyond the flush, how long shutdown waits for the running phase
FINAL_LINGER_MS = 1000  # on exit, how long the last JobDone may take to leave
SCHEDULER_HWM = 100  # heartbeats/JobDones queued while the scheduler is away


class Worker(threading.Thread):
    def __init__(self, cfg: Config, platform: str, ident: str, stop: threading.Event, log) -> None:
        super().__init__(name=f"fetcher-{platform}-worker", daemon=True)
        self.cfg, self.platform, self.sender, self.stop, self.log = cfg, platform, ident, stop, log
        self.jobs: queue.Queue[wire.Job] = queue.Queue()
        self.done: queue.Queue[wire.PhaseReport] = queue.Queue()
        self.busy = ""
        self.memo: dict = {}  # what the platform module keeps between runs (PhaseContext.memo)
        self.error: CollectorError | None = None

    def run(self) -> None:
        http = HttpClient(self.platform, self.cfg.platform(self.platform), None, self.log,
                          should_stop=self.stop.is_set)
        publisher = Publisher(self.cfg.sink_endpoint, self.sender, platforms.data_origin(self.cfg, self.platform),
                              self.cfg, self.log)
        try:
            while not self.stop.is_set():
                try:
                    job = self.jobs.get(timeout=IDLE_POLL_SECONDS)
                except queue.Empty:
                    publisher.service()
                    continue
                try:
                    report = self._run_job(job, publisher, http)
                except SinkUnavailable as exc:  # back-pressure gave up; batches stay queued for re-sending
                    self.log.error("%s", exc)
                    now = clock.now()
                    report = wire.PhaseReport(job_id=job.job_id, platform=self.platform, phase=job.phase,
                                              started_at=now, finished_at=now, ok=False, grid_time=job.grid_time,
                                              errors=1, message=f"sink unavailable: {exc}"[:500])
                self.busy = ""  # before done.put: a job sent right after JobDone must not be refused
                self.done.put(report)
            publisher.flush_and_wait(STOP_FLUSH_SECONDS)
        except SinkUnavailable as exc:
            self.log.error("%s", exc)
        except CollectorError as exc:  # the sink refused our data: fatal for this process
            self.error = exc
            self.stop.set()
        finally:
            publisher.close()
            http.close()

    def _run_job(self, job: wire.Job, publisher: Publisher, http: HttpClient) -> wire.PhaseReport:
        report = runner.run_phase(self.cfg, self.platform, job.phase, publisher=publisher, http=http,
                                  log=self.log, job_id=job.job_id, grid_time=job.grid_time,
                                  should_stop=self.stop.is_set, memo=self.memo)
        try:
            publisher.flush_and_wait(STOP_FLUSH_SECONDS if self.stop.is_set() else None)
        except SinkUnavailable as exc:  # batches stay queued and are re-sent when the sink returns
            self.log.error("%s", exc)
            message = f"{report.message}; sink unavailable".lstrip("; ")
            report = msgspec.structs.replace(report, ok=False, message=message)
        return report


def _accept(job: wire.Job, platform: str, worker: Worker) -> str | None:
    """Why a job is not taken (None: take it)."""
    if job.platform != platform:
        return f"job {job.job_id} is for {job.platform}, not {platform}"
    if worker.busy:
        return f"job {job.job_id} ({job.phase}) while {worker.busy} runs"
    if job.deadline < clock.now():
        return f"job {job.job_id} ({job.phase}) arrived after its deadline"
    return None


def serve(cfg: Config, platform: str, stop: threading.Event, log) -> int:
    ident = runner.sender_id(platform)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, ident.encode())
    sock.setsockopt(zmq.SNDHWM, SCHEDULER_HWM)
    sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)
    sock.connect(cfg.scheduler_endpoint)
    worker = Worker(cfg, platform, ident, stop, log)
    worker.start()
    beat_every = cfg.scheduler.heartbeat_seconds
    beat_at = 0.0
    log.info("serving jobs from %s, publishing to %s", cfg.scheduler_endpoint, cfg.sink_endpoint)

    def send(msg: wire.Message) -> None:
        try:
            sock.send(wire.encode(msg), zmq.NOBLOCK)
        except zmq.Again:
            log.warning("scheduler queue full; %s dropped", type(msg).__name__)

    try:
        while not stop.is_set() and worker.is_alive():
            now = time.monotonic()
            if now >= beat_at:
                send(wire.Heartbeat(sender=ident, platform=platform, busy_job=worker.busy))
                beat_at = now + beat_every
            if sock.poll(min(MAIN_POLL_MS, max(1, int((beat_at - now) * 1000))), zmq.POLLIN):
                frame = sock.recv_multipart()[-1]
                try:
                    msg = wire.decode(frame)
                except (msgspec.DecodeError, msgspec.ValidationError, wire.WrongVersion) as exc:
                    log.warning("unreadable frame from the scheduler (%d bytes): %s", len(frame), exc)
                    msg = None
                if isinstance(msg, wire.Job):
                    why = _accept(msg, platform, worker)
                    if why:
                        log.info("ignored %s", why)
                    else:
                        log.info("job %s: %s grid_time=%s", msg.job_id, msg.phase, clock.iso(msg.grid_time))
                        worker.busy = msg.job_id
                        worker.jobs.put(msg)
                        beat_at = 0.0  # tell the scheduler at once that we are busy
            while not worker.done.empty():
                send(wire.JobDone(report=worker.done.get()))
        log.info("stopping: waiting for the running phase and the sink")
        worker.join(STOP_FLUSH_SECONDS * 2 + JOIN_SLACK_SECONDS)
        while not worker.done.empty():
            send(wire.JobDone(report=worker.done.get()))
    finally:
        sock.close(linger=FINAL_LINGER_MS)  # the last JobDone may still be on its way
    if worker.error is not None:
        raise worker.error
    if worker.is_alive():
        log.error("the running phase did not stop in time; exiting anyway")
    return 0
