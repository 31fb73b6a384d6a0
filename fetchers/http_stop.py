"""Ending a request blocked on a silent server as soon as a stop is requested.

The HTTP client checks its stop flag between reads, but a server that goes silent (before its
headers or mid-body) blocks one read for the whole read timeout (30 s by default), and SIGTERM must
end a phase within 10 s. A blocked read cannot be interrupted from its own thread (the fetcher's
phases run in a worker thread, where signals never arrive), so a small watcher thread polls the stop
flag and, once it is set, shuts down the sockets of the connections and responses in use: the blocked read returns
at once with a connection error, which the client turns into ``Interrupted``.

Connections in use are known by mounting an adapter whose urllib3 pools record each connection
between check-out (``_get_conn``) and return (``_put_conn``), the only place urllib3 hands one out.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import weakref
from typing import Any, Callable, Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

WATCH_POLL_SECONDS = 0.1  # how often the watcher looks at the stop flag while a request is in flight


class StopWatch:
    """Shuts the sockets of one session's connections in use when ``should_stop()`` turns true."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self._in_use: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._busy = threading.Event()  # set while a connection is checked out
        self._closed = False
        self._thread: threading.Thread | None = None

    def mount(self, session: requests.Session) -> None:
        adapter = _WatchedAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    def track(self, conn: Any) -> None:
        with self._lock:
            self._in_use.add(conn)
            self._busy.set()
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._watch, name="http-stop-watch", daemon=True)
                self._thread.start()

    @contextlib.contextmanager
    def watching(self, source: Any) -> Iterator[None]:
        """Track a response while its body is read (its connection may already be detached)."""
        self.track(source)
        try:
            yield
        finally:
            self.untrack(source)

    def untrack(self, conn: Any) -> None:
        with self._lock:
            self._in_use.discard(conn)
            if not self._in_use:
                self._busy.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._busy.set()  # wake the watcher so it can see it is closed

    def _watch(self) -> None:
        while self._busy.wait() and not self._closed:
            with self._lock:
                conns = list(self._in_use)
            if conns and self.should_stop():
                for conn in conns:
                    _shut(conn)
            time.sleep(WATCH_POLL_SECONDS)


def _shut(source: Any) -> None:
    """Shut down the socket under a connection (``.sock``) or a response (``.fileno()``).

    A response whose connection will close has been detached from it (``conn.sock`` is None), so
    its socket is reached through the file number; shutting a duplicate descriptor shuts the
    socket itself, and the duplicate is closed again at once."""
    try:
        sock = getattr(source, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        elif hasattr(source, "fileno"):
            with socket.socket(fileno=os.dup(source.fileno())) as dup:
                dup.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass  # already closed or never connected


class _Tracking:
    """Mixin for urllib3 pools: report each connection to the watch while it is checked out."""

    watch: StopWatch

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        self.watch.track(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            self.watch.untrack(conn)
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedAdapter(HTTPAdapter):
    def __init__(self, watch: StopWatch) -> None:
        self.watch = watch  # before super().__init__, which builds the pool manager
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        attrs = {"watch": self.watch}
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("WatchedHTTPPool", (_Tracking, HTTPConnectionPool), attrs),
            "https": type("WatchedHTTPSPool", (_Tracking, HTTPSConnectionPool), attrs),
        }
