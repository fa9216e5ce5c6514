"""Checkpoints: how far each log's content has been stored, and recognising it again.

A checkpoint describes one *content stream*, not one file name: ``mail.log`` today,
``mail.log.1`` tomorrow and ``mail.log.2.gz`` the day after are the same bytes, so they
share one checkpoint. A stream is recognised by its **fingerprint**: the SHA-256 of its
first ``head_length`` decompressed bytes (up to 4 KiB; a young file's fingerprint grows
with it until it has 4 KiB). Syslog lines start with a timestamp and a pid, so two
different logs practically never share their first line, let alone 4 KiB.

Matching an input against the checkpoints (:func:`match`):

* same fingerprint, plain file, ``size >= offset`` and the line just before ``offset`` is
  the one recorded (its hash): resume at ``offset`` -- the file grew, or it is a rotated
  copy (``mail.log.1``) whose unread tail is read now;
* same fingerprint, compressed file: resume at ``offset`` (the decompressor skips the
  stored part; compressed rotations never change content);
* fingerprint differs (copytruncate, a new ``mail.log`` after rotation), or the plain
  file is shorter than ``offset``, or the recorded last line is not there: a new stream,
  read from the start.

A compressed file read to its end is marked ``complete`` with its (device, inode, size,
mtime); later runs skip it without decompressing anything (``ingest mail.log*`` from
cron stays cheap however many ``.gz`` files there are).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO

from mailreject import sources

__all__ = [
    "HEAD_BYTES",
    "Checkpoint",
    "fingerprint",
    "last_line",
    "line_digest",
    "match",
    "new_checkpoint",
    "read_file_head",
    "verify_last_line",
]

#: Bytes of decompressed content a fingerprint covers once a file is this long.
HEAD_BYTES = 4096


@dataclass
class Checkpoint:
    """How far one content stream has been stored.

    Attributes:
        id: Stable identifier (random), used in the state file only.
        name: The name the stream was last read under, as given (for ``status``).
        path: Absolute path of that name (None for standard input).
        fingerprint: SHA-256 (hex) of the first ``head_length`` decompressed bytes.
        head_length: Bytes the fingerprint covers (up to :data:`HEAD_BYTES`).
        offset: Decompressed offset just after the last stored line.
        line_no: Number of the next line to read.
        last_line_sha256: Digest of the last stored line without its newline (None when
            it was cut for being over-long, or nothing is stored yet).
        last_line_length: Length of that line without its newline.
        year: Year state of year-less timestamps at ``offset``.
        month: Month of the last year-less line before ``offset``.
        format: ``syslog`` or ``journal-json``.
        device: ``st_dev`` of the file last read (None for standard input).
        inode: ``st_ino`` of the file last read.
        size: Size in bytes of the file last read (compressed size if compressed).
        mtime: Modification time of the file last read.
        compression: Compression of the file last read.
        complete: The file last read is compressed and was read to its end.
        updated: Unix time an ingest last read or recognised this stream; ``prune``
            drops checkpoints not seen since its cut-off.

    """

    id: str
    name: str
    path: str | None
    fingerprint: str
    head_length: int
    offset: int = 0
    line_no: int = 1
    last_line_sha256: str | None = None
    last_line_length: int = 0
    year: int | None = None
    month: int | None = None
    format: str | None = None
    device: int | None = None
    inode: int | None = None
    size: int | None = None
    mtime: float | None = None
    compression: str = "none"
    complete: bool = False
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the state file's representation)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Reads the state file's representation; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def same_file(self, source: sources.Source) -> bool:
        """Whether ``source`` is the very file last read, unchanged (used for ``complete``)."""
        return source.device is not None and (self.device, self.inode, self.size, self.mtime) == (
            source.device,
            source.inode,
            source.size,
            source.mtime,
        )


def fingerprint(head: bytes) -> str:
    """The fingerprint of a stream's first bytes.

    Example:
        >>> fingerprint(b"abc")[:12]
        'ba7816bf8f01'

    """
    return hashlib.sha256(head).hexdigest()


def line_digest(line: bytes) -> str:
    """Digest of one line's content (without its newline)."""
    return hashlib.sha256(line).hexdigest()


def last_line(data: bytes) -> bytes:
    r"""The last line of a block of complete lines, without its newline.

    Example:
        >>> last_line(b"a\nbc\n")
        b'bc'

    """
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    return data[data.rfind(b"\n", 0, end) + 1 : end]


def new_checkpoint(name: str, path: str | None, head: bytes) -> Checkpoint:
    """A checkpoint for a stream seen for the first time (nothing stored yet)."""
    return Checkpoint(
        id=secrets.token_hex(8),
        name=name,
        path=path,
        fingerprint=fingerprint(head),
        head_length=len(head),
    )


def read_file_head(source: sources.Source, fd: int | None) -> bytes:
    """Reads the first :data:`HEAD_BYTES` decompressed bytes of a file.

    Args:
        source: A named file (not standard input).
        fd: An open descriptor of the file when it is plain (read with ``pread``).

    Returns:
        Up to :data:`HEAD_BYTES` bytes.

    Raises:
        sources.SourceError: If the file cannot be opened or decompressed.
        OSError: If reading fails.

    """
    if fd is not None:
        return os.pread(fd, HEAD_BYTES, 0)
    with sources.open_binary(source) as stream:
        return read_exactly(stream, HEAD_BYTES)


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Reads ``size`` bytes, fewer only at the end of the stream."""
    parts: list[bytes] = []
    missing = size
    while missing > 0:
        chunk = stream.read(missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def verify_last_line(checkpoint: Checkpoint, before_offset: bytes) -> bool:
    """Whether the bytes just before a checkpoint's offset end with its last line.

    Args:
        checkpoint: The checkpoint.
        before_offset: The ``last_line_length + 1`` bytes that end at its offset (fewer
            at the start of the file).

    Returns:
        True when they match (or the checkpoint recorded no line to compare).

    """
    if checkpoint.last_line_sha256 is None:
        return True
    length = checkpoint.last_line_length
    if before_offset.endswith(b"\n"):
        content = before_offset[:-1]
    else:  # the stored last line was the end of a file without a final newline
        content = before_offset[1:] if len(before_offset) > length else before_offset
    return len(content) == length and line_digest(content) == checkpoint.last_line_sha256


def _file_tail_matches(checkpoint: Checkpoint, fd: int, size: int) -> bool:
    if size < checkpoint.offset:
        return False
    want = checkpoint.last_line_length + 1
    start = max(checkpoint.offset - want, 0)
    return verify_last_line(checkpoint, os.pread(fd, checkpoint.offset - start, start))


def candidates(checkpoints: Iterable[Checkpoint], head: bytes) -> list[Checkpoint]:
    """Checkpoints whose fingerprint matches the start of ``head``, furthest first."""
    digests: dict[int, str] = {}
    found = []
    for cp in checkpoints:
        if cp.head_length == 0 or cp.head_length > len(head):
            continue
        digest = digests.get(cp.head_length)
        if digest is None:
            digest = digests[cp.head_length] = fingerprint(head[: cp.head_length])
        if digest == cp.fingerprint:
            found.append(cp)
    found.sort(key=lambda cp: cp.offset, reverse=True)
    return found


def match(
    checkpoints: Iterable[Checkpoint],
    source: sources.Source,
    head: bytes,
    fd: int | None,
) -> Checkpoint | None:
    """Finds the checkpoint of the stream a file continues, if any.

    Args:
        checkpoints: Known checkpoints.
        source: The input.
        head: Its first :data:`HEAD_BYTES` decompressed bytes (fewer if it is shorter).
        fd: An open descriptor of the file when it is plain; its tail is then verified.

    Returns:
        The checkpoint to resume from, or None to read the input from its start.

    """
    found = candidates(checkpoints, head)
    # The same inode first: when two streams share a head, the one last read here wins.
    found.sort(key=lambda cp: (cp.device, cp.inode) != (source.device, source.inode))
    if fd is None:
        return found[0] if found else None
    size = os.fstat(fd).st_size
    for cp in found:
        if _file_tail_matches(cp, fd, size):
            return cp
    return None
