"""The store's file-system layer: the write operations, and the errors they become.

Every write of the store goes through a :class:`LocalFS`, so tests can make any step fail
(``ENOSPC``, ``EROFS``) or "crash" there.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import IO

from mailreject.status import ExitStatus, MailrejectError

__all__ = ["TMP_PREFIX", "LocalFS", "StoreError", "StoreNotFoundError", "write_error"]

#: Prefix of files being written; writers delete leftovers, readers ignore them.
TMP_PREFIX = ".tmp-"


class StoreError(MailrejectError):
    """The store cannot be read or written."""


class StoreNotFoundError(StoreError):
    """No store exists at the path."""

    exit_status = ExitStatus.NO_INPUT


def write_error(path: Path, error: OSError) -> StoreError:
    """The one-line error (with a hint) for a failed write to the store at ``path``."""
    reason = error.strerror or os.strerror(error.errno or errno.EIO)
    hint = {
        errno.ENOSPC: "free some space (or 'mailreject prune') and run again; nothing was lost",
        errno.EROFS: "the file system is mounted read-only; nothing was changed",
        errno.EACCES: "run as the store's owner",
    }.get(error.errno or 0, "nothing was committed; the store is as before")
    return StoreError(f"cannot write to the store {path}: {reason}", hint=hint)


class LocalFS:
    """The file-system operations of the write path, in one replaceable object.

    Tests subclass it to fail (``ENOSPC``, ``EROFS``) or "crash" at a chosen step.
    """

    def create(self, path: Path) -> IO[bytes]:
        """Creates a new file (mode 0600, must not exist) for writing."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        return os.fdopen(fd, "wb")

    def create_file(self, path: Path) -> None:
        """Creates a new empty file (mode 0600, must not exist) for a writer to fill."""
        self.create(path).close()

    def fsync_path(self, path: Path) -> None:
        """Flushes a closed file's data to disk."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def fsync(self, handle: IO[bytes]) -> None:
        """Flushes a file's data to disk."""
        handle.flush()
        os.fsync(handle.fileno())

    def replace(self, source: Path, target: Path) -> None:
        """Renames atomically, replacing ``target``."""
        os.replace(source, target)

    def fsync_dir(self, path: Path) -> None:
        """Makes a directory's entries (renames, new files) durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def mkdir(self, path: Path) -> bool:
        """Creates a directory with mode 0700; returns False if it existed."""
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            return False
        os.chmod(path, 0o700)  # whatever the umask
        return True

    def unlink(self, path: Path) -> None:
        """Deletes a file; a missing one is fine."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def rmdir(self, path: Path) -> None:
        """Deletes an empty directory; a missing or non-empty one is left alone."""
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(path)
