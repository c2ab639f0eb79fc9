"""One window per state directory: an exclusive lock, so two instances never overwrite each other's queue.

The first instance holds `<state dir>/lock` (an `flock`, released by the kernel when the process dies, however
it dies). A second instance on the same directory opens read-only: it shows the queues as they were when it
opened, keeps what is typed in it in memory, and sends nothing until it gets the lock (it tries again whenever
its queue changes and every few seconds), then it merges its own items into what is on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["StateLock", "lock_state_dir"]


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by the owner only (0700); tighten it if it exists wider."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


class StateLock:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "lock"
        self._fd: int | None = None
        self.problem: str | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free (never blocks). True when this process holds it now."""
        if self._fd is not None:
            return True
        try:
            make_private_dir(self.directory)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self.problem = f"cannot open the state directory {self.directory} ({exc.strerror or exc})"
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = ""
            with contextlib.suppress(OSError, ValueError):
                owner = f" (pid {int(os.pread(fd, 32, 0).decode().strip())})"
            os.close(fd)
            self.problem = (
                f"another openhands-tui{owner} is using the state directory {self.directory}; this window is "
                "read-only: its queue is kept here and sent once the other one closes"
            )
            return False
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        self.problem = None
        return True

    def __del__(self) -> None:  # a window that is simply dropped (tests, scripts) must not keep the lock
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None


def lock_state_dir(directory: str | Path) -> StateLock:
    """The state directory's lock, taken if free. `lock.held` says whether this process may write there;
    `lock.problem` says why not, in words for people (show it once at start)."""
    lock = StateLock(directory)
    lock.acquire()
    return lock
