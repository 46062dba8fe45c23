"""The worker lock: at most one worker owns a queue at a time, across processes and threads.

An OS file lock on `<queue file>.worker.lock` (flock on POSIX, msvcrt on Windows), held for the worker's life.
The OS drops it when the holder dies however it dies, so a crashed worker never leaves the queue locked, and a
worker that gets the lock knows every job still marked running lost its worker. The file holds the owner's pid,
for messages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class WorkerLock:
    """The lock of the queue stored at `queue_path`."""

    def __init__(self, queue_path: Path):
        self.path = Path(str(queue_path) + ".worker.lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another worker (in any process) holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def holder(self) -> int | None:
        """The pid of the worker holding the lock (0 when unreadable), or None when nobody holds it."""
        if self._fd is not None:
            return os.getpid()
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDWR)
        try:
            if _try_lock(fd):
                _unlock(fd)
                return None
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        finally:
            os.close(fd)
