"""The store's writer lock: one ``ingest``/``compact``/``prune`` writes at a time.

The lock is ``fcntl.flock`` on ``<store>/lock``. The kernel drops it when the holder
exits, even on SIGKILL, so a crashed writer never leaves the store locked. While held,
the file says who holds it (pid, command, since when) so a second writer can say so.
Readers (``load``, ``dataset``, ``status``) never take it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from mailreject.status import ExitStatus, MailrejectError

__all__ = ["StoreBusyError", "StoreLock"]

#: How often a waiting writer retries.
_RETRY_SECONDS = 0.05


class StoreBusyError(MailrejectError):
    """Another process holds the store's lock."""

    exit_status = ExitStatus.STORE_BUSY


class StoreLock:
    """An exclusive ``flock`` on a lock file, with a bounded wait.

    Args:
        path: The lock file; created (mode 0600) if missing.
        purpose: What the holder is doing, written into the file for others' messages.
        sleep: Called to wait between attempts (tests inject a fake clock).

    Example:
        >>> import tempfile
        >>> lock = StoreLock(Path(tempfile.mkdtemp()) / "lock", "doctest")
        >>> with lock.acquire(wait=0):
        ...     lock.held
        True

    """

    def __init__(
        self,
        path: Path,
        purpose: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.purpose = purpose
        self._sleep = sleep
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Takes the lock if it is free; never waits.

        Returns:
            True if the lock is now held.

        Raises:
            OSError: If the lock file cannot be opened or created.

        """
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self._fd = fd
        with contextlib.suppress(OSError):  # the note is a courtesy, not a requirement
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self.purpose} since {stamp}\n".encode(), 0)
        return True

    def acquire(
        self, wait: float = 0.0, should_stop: Callable[[], bool] | None = None
    ) -> StoreLock:
        """Takes the lock, waiting up to ``wait`` seconds for another holder.

        Args:
            wait: Seconds to keep trying; 0 fails at once.
            should_stop: Polled while waiting; a True answer gives up early.

        Returns:
            self, usable as a context manager that releases the lock.

        Raises:
            StoreBusyError: If the lock is still held by another process after ``wait``.

        """
        deadline = time.monotonic() + max(wait, 0.0)
        while not self.try_acquire():
            if time.monotonic() >= deadline or (should_stop is not None and should_stop()):
                holder = self.holder() or "locked by another process"
                raise StoreBusyError(
                    f"store {self.path.parent} is busy ({holder})",
                    hint="try again later, or pass --wait SECONDS to wait for it",
                )
            self._sleep(_RETRY_SECONDS)
        return self

    def holder(self) -> str | None:
        """Who holds the lock, as the holder wrote it (``"1234 ingest since ..."``)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        if not text:
            return None
        pid, _, rest = text.partition(" ")
        return f"pid {pid}: {rest}" if rest else f"pid {pid}"

    def release(self) -> None:
        """Releases the lock if held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock

    def __enter__(self) -> StoreLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
