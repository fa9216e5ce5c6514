"""Following logs as they are written: ``mailreject ingest --follow``."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailreject import sources
from mailreject.filesystem import LocalFS
from mailreject.ingest import Ingestor, IngestReport, IngestSettings, prepare
from mailreject.locking import StoreBusyError
from mailreject.parsing import ParseOptions
from mailreject.status import NoInputError, UsageError

__all__ = ["follow"]

_FD_DIR = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"


@dataclass
class _Watch:
    """A followed name and the file it is (or was) open as."""

    name: str
    fd: int
    device: int
    inode: int
    size: int = -1
    rotated_at: float | None = None

    @property
    def fd_path(self) -> str:
        return f"{_FD_DIR}/{self.fd}"


def _open_watch(name: str) -> _Watch | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise NoInputError(f"cannot open {name}: {error.strerror}") from error
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UsageError(f"cannot follow {name}: not a regular file")
    return _Watch(name, fd, st.st_dev, st.st_ino)


def follow(
    names: Sequence[str],
    options: ParseOptions | None = None,
    store: str | os.PathLike[str] | None = None,
    settings: IngestSettings | None = None,
    *,
    stop: threading.Event,
    fs: LocalFS | None = None,
) -> IngestReport:
    """Stores the inputs' events as they are written, until ``stop`` is set.

    Every ``settings.poll_interval`` seconds each name is checked: growth is read from
    the checkpoint; a truncated file (copytruncate) is read from the start; when the
    name is another file (rotation), the old file is read to its end through the still
    open descriptor (and again for ``drain_seconds``, for late writes), then the new one
    from its start. Events keep the followed name as ``source``. The buffer is
    committed at least every ``flush_interval`` seconds and when ``stop`` is set.

    The store's lock is taken only to commit, so ``compact``, ``prune`` and cron
    ``ingest`` keep working; when another writer moved the checkpoints meanwhile, the
    buffer is dropped and reading resumes from the new checkpoints (nothing doubles).

    Args:
        names: Files to follow (not ``-``).
        options: Shared reading options.
        store: Store directory.
        settings: Intervals and limits.
        stop: Set it (e.g. from a SIGTERM handler) to commit and return.
        fs: File-system operations of the write path.

    Returns:
        The report over the whole run.

    Raises:
        UsageError: Bad options or ``-`` among the names.
        NoInputError: If a name cannot be opened at the start.
        StoreError: If the store cannot be written.

    Example:
        >>> stop = threading.Event()  # set by a signal handler
        >>> follow(["/var/log/mail.log"], stop=stop)  # doctest: +SKIP

    """
    started = time.perf_counter()
    options = options or ParseOptions()
    settings = settings or IngestSettings()
    if sources.STDIN_NAME in names:
        raise UsageError(
            "--follow reads files, not standard input",
            hint="for the journal, run 'journalctl -o json ... | mailreject ingest -' from cron",
        )
    target, parser = prepare(names, options, store, settings, fs)
    watches: list[_Watch] = []
    for name in dict.fromkeys(names):
        watch = _open_watch(name)
        if watch is None:
            raise NoInputError(f"cannot open {name}: {os.strerror(2)}")
        watches.append(watch)
    worker = Ingestor(
        target, target.read_state(), options, settings, parser, None, None, stop.is_set
    )
    draining: list[_Watch] = []
    last_flush = time.monotonic()
    try:
        while True:
            stopping = stop.is_set()
            _check_rotation(watches, draining)
            for watch in [*draining, *watches]:
                _read_watch(worker, watch)
                if worker.rewound:  # another writer committed: read again from there
                    worker.rewound = False
                    for other in [*draining, *watches]:
                        other.size = -1
            now = time.monotonic()
            for watch in [
                w for w in draining if now - (w.rotated_at or now) > settings.drain_seconds
            ]:
                draining.remove(watch)
                os.close(watch.fd)
            due = now - last_flush >= settings.flush_interval
            full = worker.buffered >= settings.flush_bytes
            if stopping or due or full:
                wait = max(settings.wait, 30.0) if stopping else float("inf") if full else 0.0
                if worker.flush(wait=wait):
                    last_flush = now
                    if worker.rewound and not stopping:
                        worker.rewound = False
                        for watch in [*draining, *watches]:
                            watch.size = -1
                        continue  # read again at once
                elif stopping:
                    raise StoreBusyError(
                        f"store {target.path} stayed busy; the last {worker.buffered_events}"
                        " events read were not stored (they will be read again next time)"
                    )
            if stopping:
                break
            stop.wait(settings.poll_interval)
    finally:
        for watch in [*draining, *watches]:
            os.close(watch.fd)
    report = worker.report
    report.seconds = time.perf_counter() - started
    return report


def _check_rotation(watches: list[_Watch], draining: list[_Watch]) -> None:
    for index, watch in enumerate(watches):
        try:
            st = os.stat(watch.name)
        except FileNotFoundError:
            continue  # moved away, not yet re-created: keep reading the old file
        if (st.st_dev, st.st_ino) == (watch.device, watch.inode):
            continue
        fresh = _open_watch(watch.name)
        if fresh is None:
            continue
        watch.rotated_at = time.monotonic()
        draining.append(watch)
        watches[index] = fresh


def _read_watch(worker: Ingestor, watch: _Watch) -> None:
    size = os.fstat(watch.fd).st_size
    if size == watch.size:
        return
    st = os.fstat(watch.fd)
    source = sources.Source(
        watch.fd_path, Path(watch.fd_path), "none", st.st_mtime, st.st_dev, st.st_ino, size
    )
    worker.run([source], display={watch.fd_path: watch.name})
    watch.size = size
