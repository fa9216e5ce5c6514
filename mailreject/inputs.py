"""Choosing and opening the inputs of an ingest.

* Duplicates: Debian's rsyslog writes ``mail.err``, ``mail.warn`` and ``mail.info`` as
  subsets of ``mail.log``; storing them too would count those lines twice, so they are
  refused by name unless ``--allow-duplicates`` (also ``*.err``/``*.warn``/``*.info``
  files given together with a ``mail.log`` of the same directory).
* Rotation: ``ingest mail.log`` after logrotate also finishes the rotated-away file's
  unread tail (see :func:`rotated_predecessors`); compressed files already read to the
  end are skipped without being opened (:func:`known_complete`).
* Standard input: read through :class:`StdinReader`, whose first 4 KiB can be looked at
  (fingerprinted) before anything is parsed, and which can skip what is already stored.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, BinaryIO

from mailreject import checkpoints as cps
from mailreject import sources
from mailreject.checkpoints import Checkpoint
from mailreject.status import NoInputError, UsageError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "StdinReader",
    "duplicate_inputs",
    "known_complete",
    "open_stdin",
    "refuse_duplicates",
    "resolve_inputs",
    "rotated_predecessors",
]

_DUPLICATE_FAMILIES = frozenset({"mail.err", "mail.warn", "mail.info"})
_DUPLICATE_SUFFIXES = (".err", ".warn", ".info")
_MAIN_FAMILIES = frozenset({"mail.log", "maillog"})


def duplicate_inputs(names: Iterable[str]) -> list[str]:
    """The inputs that repeat lines of ``mail.log`` on Debian-style systems.

    Example:
        >>> duplicate_inputs(["/var/log/mail.log", "/var/log/mail.err", "/var/log/x.warn"])
        ['/var/log/mail.err', '/var/log/x.warn']

    """
    families = []
    for name in names:
        if name == sources.STDIN_NAME:
            continue
        directory, filename = os.path.split(os.path.abspath(name))
        families.append((name, directory, sources.rotation_family(filename)[0]))
    main_dirs = {d for _, d, base in families if base in _MAIN_FAMILIES}
    return [
        name
        for name, directory, base in families
        if base in _DUPLICATE_FAMILIES
        or (directory in main_dirs and base.endswith(_DUPLICATE_SUFFIXES))
    ]


def refuse_duplicates(names: Sequence[str], allow: bool) -> None:
    """Raises UsageError if some inputs repeat lines of mail.log, unless allowed."""
    duplicates = duplicate_inputs(names)
    if duplicates and not allow:
        shown = ", ".join(duplicates[:3]) + (" ..." if len(duplicates) > 3 else "")
        raise UsageError(
            f"{shown}: repeats lines of mail.log (syslog writes mail.err/mail.warn/mail.info"
            " as subsets of mail.log); storing both would count them twice",
            hint="leave these files out, or pass --allow-duplicates if they are not copies",
        )


def resolve_inputs(
    names: Sequence[str], stdin: BinaryIO | None, failures: list[str]
) -> list[sources.Source]:
    """Resolves the inputs in reading order; unusable ones go to ``failures``."""
    good = []
    for name in names:
        try:
            source = sources.resolve_sources([name], stdin)[0]
        except sources.SourceError as error:
            failures.append(str(error))
            continue
        if source.path is not None and source.size is None:
            failures.append(
                f"cannot ingest {name}: not a regular file; pipe it into 'mailreject ingest -'"
            )
            continue
        good.append(name)
    try:
        return sources.resolve_sources(good, stdin)
    except sources.SourceError as error:  # changed since just now
        raise NoInputError(str(error)) from error


def rotated_predecessors(
    srcs: Sequence[sources.Source], checkpoints: Iterable[Checkpoint]
) -> list[str]:
    """Rotated-away files whose unread tail a run of the live file finishes.

    ``ingest mail.log`` after logrotate: the checkpoint read under ``mail.log`` is no
    longer what ``mail.log`` is (another inode, or another first 4 KiB: copytruncate,
    a reused inode); its content is now ``mail.log.1`` (or, compressed at once,
    ``mail.log.1.gz``). Finishing it keeps the lines written between the last run and
    the rotation.
    """
    named = {(s.device, s.inode) for s in srcs}
    by_path: dict[str, list[Checkpoint]] = {}
    for cp in checkpoints:
        if cp.path is not None and not cp.complete:
            by_path.setdefault(cp.path, []).append(cp)
    extra: list[str] = []
    for source in srcs:
        mine = by_path.get(os.path.abspath(source.name), []) if source.path else []
        if not mine:
            continue
        try:
            head = cps.read_file_head(source, None)
        except (OSError, sources.SourceError):
            continue  # reported when it is read
        here = (source.device, source.inode)
        lost = [
            cp for cp in mine if (cp.device, cp.inode) != here or not cps.candidates([cp], head)
        ]
        if not lost:
            continue
        directory, filename = os.path.split(source.name)
        siblings = _family(directory or ".", filename)
        for cp in lost:
            found = _find_rotated(cp, siblings)
            if found is not None and (found.device, found.inode) not in named:
                named.add((found.device, found.inode))
                extra.append(found.name)
    return extra


def _family(directory: str, filename: str) -> list[sources.Source]:
    siblings = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    for entry in entries:
        if entry != filename and sources.rotation_family(entry)[0] == filename:
            try:
                siblings.append(sources.resolve_sources([os.path.join(directory, entry)])[0])
            except sources.SourceError:
                continue
    return sorted(siblings, key=lambda s: s.mtime or 0.0, reverse=True)


def _find_rotated(cp: Checkpoint, siblings: Sequence[sources.Source]) -> sources.Source | None:
    for source in siblings[:3]:  # the newest rotated files; usually the first one
        try:
            head = cps.read_file_head(source, None)
        except (OSError, sources.SourceError):
            continue
        if cps.candidates([cp], head):
            return source
    return None


def known_complete(source: sources.Source, checkpoints: Iterable[Checkpoint]) -> Checkpoint | None:
    """The checkpoint of a compressed file that was read to its end and is unchanged."""
    if source.compression == "none" or source.path is None:
        return None
    return next((cp for cp in checkpoints if cp.complete and cp.same_file(source)), None)


def open_stdin(stdin: BinaryIO | None) -> StdinReader:
    """Standard input (or ``stdin``), decompressed, as a :class:`StdinReader`."""
    try:
        raw = stdin if stdin is not None else sources.default_stdin()
        source = sources.resolve_sources([sources.STDIN_NAME], raw)[0]
        return StdinReader(sources.open_binary(source, raw))
    except sources.SourceError as error:
        raise NoInputError(str(error)) from error


class StdinReader(io.RawIOBase):
    """Standard input (decompressed) with its head readable ahead and a forward skip."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._pending = b""
        self._head: bytes | None = None

    def head(self) -> bytes:
        """The first :data:`checkpoints.HEAD_BYTES` bytes, left unconsumed."""
        if self._head is None:
            self._head = cps.read_exactly(self._stream, cps.HEAD_BYTES)
            self._pending = self._head
        return self._head

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Reads the pending head first, then the stream."""
        view = memoryview(buffer).cast("B")
        if self._pending:
            count = min(len(view), len(self._pending))
            view[:count] = self._pending[:count]
            self._pending = self._pending[count:]
            return count
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def skip(self, count: int, keep: int) -> tuple[int, bytes]:
        """Discards ``count`` bytes; returns (bytes discarded, the last ``keep`` of them)."""
        done = 0
        tail = b""
        while done < count:
            chunk = self.read(min(count - done, 1 << 20))
            if not chunk:
                break
            done += len(chunk)
            tail = (tail + chunk)[-keep:] if keep else b""
        return done, tail
