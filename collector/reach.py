"""Is anything listening on a ZeroMQ endpoint? A plain socket connect, answered in milliseconds.

`collector backfill` and `collector archive` ask this before starting any work, so a sink that is
not running is an immediate one-line error instead of the publisher's long ``sink_wait_seconds``;
`collector doctor` asks it of the sink and the scheduler. A connect only proves a listener (a
stale ipc socket file left by a killed process refuses the connect), never touches the database,
and ZeroMQ drops a peer that hangs up before its handshake without a trace.
"""

from __future__ import annotations

import socket

CONNECT_TIMEOUT_S = 2.0


def listening(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """None when something accepts connections at ``endpoint`` (ipc:// or tcp://), else why not."""
    try:
        if endpoint.startswith("ipc://"):
            path = endpoint[len("ipc://"):]
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
        elif endpoint.startswith("tcp://"):
            host, _, port = endpoint[len("tcp://"):].rpartition(":")
            host = host.strip("[]")
            if host in ("*", "0.0.0.0", ""):
                host = "127.0.0.1"
            socket.create_connection((host, int(port)), timeout=timeout).close()
        else:
            return None  # inproc:// and others cannot be probed from outside; assume reachable
    except FileNotFoundError:
        return f"nothing listening at {endpoint} (no socket file)"
    except (OSError, ValueError) as exc:
        return f"nothing listening at {endpoint} ({exc.__class__.__name__}: {exc})"
    return None
