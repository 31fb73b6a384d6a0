"""Owner-only files and directories, whatever the umask: the database and the ipc sockets.

The sockets have no authentication, so who may connect is decided by file permissions: an ipc
socket is 0600 and a directory we create for it or for the database is 0700. A directory that
already exists is the user's choice (it may be /tmp) and is left alone; the files in it are not.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike) -> None:
    """Create path (and missing parents) as 0700; an existing directory keeps its mode."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(p, DIR_MODE)  # mkdir's mode is masked by the umask


def private_file(path: str | os.PathLike) -> None:
    """Create path empty as 0600 if missing, else make it 0600 (if we may: the caller's own
    checks say better why a file it cannot change is unusable)."""
    if not os.path.lexists(path):
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE)
        os.close(fd)
    try:
        os.chmod(path, FILE_MODE)
    except OSError:
        pass


def ipc_path(endpoint: str) -> str | None:
    return endpoint[len("ipc://"):] if endpoint.startswith("ipc://") else None
