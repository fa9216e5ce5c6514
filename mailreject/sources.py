"""Input adapters: turn files and standard input into line-aligned byte blocks.

The Rust parser does the per-line work (envelope and message), so this module stays off
the per-line hot path: it resolves and orders the inputs, opens them with the right
decompressor (detected by content, never by name), cuts the byte stream into blocks of
whole lines with bounded memory, and sniffs the little it must know up front (journal
JSON or syslog, and the month of the first year-less timestamp for year inference).
"""

from __future__ import annotations

import bz2
import errno as errno_codes
import gzip
import io
import lzma
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "Block",
    "Compression",
    "LogFormat",
    "Source",
    "SourceError",
    "default_stdin",
    "detect_compression",
    "detect_format",
    "first_month",
    "infer_start_year",
    "iter_blocks",
    "open_binary",
    "peek_head",
    "resolve_sources",
    "rotation_family",
]

Compression = Literal["none", "gzip", "bz2", "xz"]
LogFormat = Literal["syslog", "journal-json"]

STDIN_NAME = "-"

# Enough bytes to recognise every supported magic number (xz needs six).
_MAGIC_LEN = 6
_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
# Recognised only to refuse it with a clear message: the stdlib cannot decompress zstd.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# Buffer of the reader put in front of non-seekable inputs; big enough that peek_head
# sees a few hundred log lines.
_STREAM_BUFFER = 64 << 10


class SourceError(Exception):
    """An input cannot be used; the message is one user-facing line without log content."""


@dataclass(frozen=True, slots=True)
class Source:
    """One input, validated by :func:`resolve_sources`.

    Attributes:
        name: The name as given on the command line; ``"-"`` for standard input.
        path: The file path, or None for standard input.
        compression: Detected from the first bytes of the content. For standard input
            and other non-seekable inputs (pipes, ``<(zcat ...)``) the bytes cannot be
            read ahead without consuming them, so the value is ``"none"`` unless it
            could be read without consuming (standard input redirected from a regular
            file); :func:`open_binary` always detects the compression of such inputs
            from the stream itself.
        mtime: Modification time (seconds since the epoch) of a regular file, else None.
        device: Device number (``st_dev``), or None when unknown.
        inode: Inode number (``st_ino``), or None when unknown.
        size: Size in bytes of a regular file (compressed size for compressed files),
            else None.

    """

    name: str
    path: Path | None
    compression: Compression
    mtime: float | None
    device: int | None
    inode: int | None
    size: int | None


@dataclass(frozen=True, slots=True)
class Block:
    r"""A run of complete lines cut from one source.

    Attributes:
        data: Zero or more complete lines, each ending in ``b"\\n"``, bytes kept as
            they were (CRLF stays CRLF). Two exceptions: a last line without a newline
            gets one appended, and a line longer than ``max_line_bytes`` is cut to its
            first ``max_line_bytes`` bytes plus ``b"\\n"``.
        first_line_no: 1-based line number in the source of the first line in data.
        line_count: Number of lines in data.
        end_offset: Offset in the decompressed stream just after the last input byte of
            the last line of this block (including bytes dropped from an over-long
            line); resuming from here starts at line ``first_line_no + line_count``.
        source: The source the lines come from.

    """

    data: bytes = field(repr=False)
    first_line_no: int
    line_count: int
    end_offset: int
    source: Source


def _display(name: str) -> str:
    """Returns the name with control characters escaped so messages stay one line."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def _reason(error: BaseException) -> str:
    """Returns a short reason for an I/O or decompression error, free of content.

    Decompressor messages can quote input bytes (``Not a gzipped file (b'..')``), so
    only errno texts are passed through; everything else gets a fixed wording.
    """
    if isinstance(error, OSError) and error.errno is not None:
        return error.strerror or os.strerror(error.errno)
    if isinstance(error, EOFError):
        return "compressed data is truncated"
    return "compressed data is corrupt"


def detect_compression(head: bytes) -> Compression:
    """Detects the compression of a stream from its first bytes.

    Args:
        head: The first bytes of the stream (six are enough for every format).

    Returns:
        ``"gzip"``, ``"bz2"``, ``"xz"``, or ``"none"`` for anything else.

    """
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    # A digit (the block size) follows "BZh" in every bzip2 stream; checking it keeps
    # a text line that happens to start with "BZh" from being taken for bzip2.
    if head.startswith(_BZ2_MAGIC) and (len(head) < 4 or head[3:4] in b"123456789"):
        return "bz2"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    return "none"


def _refuse_unsupported(name: str, head: bytes) -> None:
    """Raises SourceError for compressed formats the standard library cannot read.

    Args:
        name: The source name for the message.
        head: The first bytes of the content.

    Raises:
        SourceError: If the content is zstd-compressed.

    """
    if head.startswith(_ZSTD_MAGIC):
        raise SourceError(
            f"cannot read {_display(name)}: zstd compression is not supported;"
            " decompress it first (zstdcat)"
        )


# ---------------------------------------------------------------------------------------
# Resolving and ordering the inputs
# ---------------------------------------------------------------------------------------

# Suffixes logrotate (compressext) and friends add; only used for grouping by name,
# never to decide how to decompress.
_COMPRESSED_SUFFIX = re.compile(r"\.(?:gz|bz2|xz|lzma|zst|Z)$")
# dateext: maillog-20261101, maillog-2026110112, maillog-20261101-1762000000,
# maillog-2026-11-01, maillog.20261101.
_DATED = re.compile(
    r"^(?P<base>.+?)[-._]"
    r"(?P<y>(?:19|20)\d\d)(?P<s>-?)(?P<m>0[1-9]|1[0-2])(?P=s)(?P<d>0[1-9]|[12]\d|3[01])"
    r"(?:[-_]?(?P<extra>\d+))?$"
)
# Numbered rotation: mail.log.1, mail.log.10 (rotate counts stay far below 8 digits).
_NUMBERED = re.compile(r"^(?P<base>.+)\.(?P<n>\d{1,7})$")

# Sort key within one rotation family, oldest first.
_RotationKey = tuple[int, tuple[int, ...]]


def rotation_family(filename: str) -> tuple[str, _RotationKey]:
    """Splits a file name into its rotation family base and an age sort key.

    Args:
        filename: The last path component.

    Returns:
        ``(base, key)``; keys sort oldest first: dated files by date, then numbered
        files by descending number (``.10`` is older than ``.9``), then the live file.
        When a family mixes dated and numbered names (the dateext setting changed), the
        relative age of the two kinds is unknowable from names; dated files go first.

    """
    stem = _COMPRESSED_SUFFIX.sub("", filename)
    dated = _DATED.match(stem)
    if dated is not None:
        extra = dated.group("extra")
        stamp = (
            int(dated.group("y")),
            int(dated.group("m")),
            int(dated.group("d")),
            int(extra) if extra is not None else -1,
        )
        return dated.group("base"), (0, stamp)
    numbered = _NUMBERED.match(stem)
    if numbered is not None:
        return numbered.group("base"), (1, (-int(numbered.group("n")),))
    # A live file keeps its whole name as base, so "mail.log.gz" is not taken as the
    # live end of the "mail.log" family.
    return filename, (2, ())


@dataclass(slots=True)
class _Entry:
    source: Source
    group: tuple[str, str] | None  # None for stdin: it is never regrouped
    key: _RotationKey


def _stat_name(name: str) -> os.stat_result:
    """Stats a named input, turning failures into one-line SourceErrors.

    Args:
        name: The path as given.

    Returns:
        The stat result (following symlinks).

    Raises:
        SourceError: If the path is missing, unreachable or a directory.

    """
    try:
        st = os.stat(name)
    except OSError as error:
        raise SourceError(f"cannot open {_display(name)}: {_reason(error)}") from None
    except ValueError:  # embedded NUL byte in the name
        raise SourceError(f"cannot open {_display(name)}: invalid file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(f"cannot open {_display(name)}: {os.strerror(errno_codes.EISDIR)}")
    return st


def _file_source(name: str) -> Source:
    """Validates one named file and builds its Source.

    Args:
        name: The path as given.

    Returns:
        The Source; for regular files the compression is read from the first bytes.

    Raises:
        SourceError: If the file cannot be opened for reading.

    """
    st = _stat_name(name)
    path = Path(name)
    if not stat.S_ISREG(st.st_mode):
        # Pipes (<(zcat ...)), FIFOs and devices: opening a FIFO can block and reading
        # ahead would consume data, so only check access and leave detection to
        # open_binary.
        if not os.access(name, os.R_OK):
            raise SourceError(f"cannot open {_display(name)}: {os.strerror(errno_codes.EACCES)}")
        return Source(name, path, "none", None, st.st_dev, st.st_ino, None)
    try:
        with open(name, "rb") as handle:
            head = handle.read(_MAGIC_LEN)
    except OSError as error:
        raise SourceError(f"cannot open {_display(name)}: {_reason(error)}") from None
    _refuse_unsupported(name, head)
    return Source(
        name,
        path,
        detect_compression(head),
        st.st_mtime,
        st.st_dev,
        st.st_ino,
        st.st_size,
    )


def _stdin_source(stdin: BinaryIO | None) -> Source:
    """Builds the Source for standard input without consuming any of it.

    Args:
        stdin: The stream that will be read, or None for ``sys.stdin.buffer``.

    Returns:
        The Source; stat fields and compression are filled in only when standard input
        is a regular file (a ``<`` redirect), where they can be read without consuming.

    """
    stream = stdin if stdin is not None else default_stdin()
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
    except (OSError, ValueError):
        # Not backed by a file descriptor (tests, embedding): nothing to learn.
        return Source(STDIN_NAME, None, "none", None, None, None, None)
    if not stat.S_ISREG(st.st_mode):
        return Source(STDIN_NAME, None, "none", None, st.st_dev, st.st_ino, None)
    try:
        # pread leaves the file position alone, so nothing is consumed.
        head = os.pread(fd, _MAGIC_LEN, os.lseek(fd, 0, os.SEEK_CUR))
    except OSError:
        head = b""
    _refuse_unsupported(STDIN_NAME, head)
    return Source(
        STDIN_NAME,
        None,
        detect_compression(head),
        st.st_mtime,
        st.st_dev,
        st.st_ino,
        st.st_size,
    )


def default_stdin() -> BinaryIO:
    """Returns the process's binary standard input.

    Raises:
        SourceError: If the process has no standard input.

    """
    if sys.stdin is None:
        raise SourceError("cannot read standard input: it is closed")
    return sys.stdin.buffer


def resolve_sources(names: Sequence[str], stdin: BinaryIO | None = None) -> list[Source]:
    """Validates the named inputs and orders rotated files oldest first.

    Every name is checked before anything is parsed, so a typo in the last name fails
    fast. Rotated files of one family (same directory and base name) are ordered oldest
    first whatever order they were named in: ``mail.log.2.gz mail.log.1 mail.log``
    (numbered, ``.10`` older than ``.9``), ``maillog-20261101.gz maillog-20261108
    maillog`` (dateext, by date), the live file last. Families stay in the order each
    first appeared; ``"-"`` (standard input) stays where it was named. A file named
    twice (same path, or same device and inode, e.g. through a symlink) is kept once,
    at its first position.

    Args:
        names: Paths as given by the user; ``"-"`` means standard input.
        stdin: The stream standard input will be read from (defaults to
            ``sys.stdin.buffer``); only inspected without reading.

    Returns:
        The sources in reading order.

    Raises:
        SourceError: If a file is missing, a directory, unreadable, zstd-compressed, or
            ``"-"`` is given more than once.

    """
    entries: list[_Entry] = []
    seen_paths: set[str] = set()
    seen_files: set[tuple[int, int]] = set()
    stdin_named = False
    for name in names:
        if name == STDIN_NAME:
            if stdin_named:
                raise SourceError("standard input ('-') can be named only once")
            stdin_named = True
            entries.append(_Entry(_stdin_source(stdin), None, (2, ())))
            continue
        source = _file_source(name)
        absolute = os.path.abspath(name)
        identity = (cast(int, source.device), cast(int, source.inode))
        if absolute in seen_paths or identity in seen_files:
            continue
        seen_paths.add(absolute)
        seen_files.add(identity)
        directory, filename = os.path.split(absolute)
        base, key = rotation_family(filename)
        entries.append(_Entry(source, (directory, base), key))

    families: dict[tuple[str, str], list[_Entry]] = {}
    for entry in entries:
        if entry.group is not None:
            families.setdefault(entry.group, []).append(entry)
    ordered: list[Source] = []
    for entry in entries:
        if entry.group is None:
            ordered.append(entry.source)
            continue
        family = families.pop(entry.group, None)
        if family is None:  # already emitted at the family's first appearance
            continue
        # sorted() is stable: equal keys (mail.log.1 and mail.log.1.gz) keep named order.
        ordered.extend(member.source for member in sorted(family, key=lambda e: e.key))
    return ordered


# ---------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------


class _ReplayReader(io.RawIOBase):
    """A raw reader that gives back sniffed bytes before the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO, *, owns_rest: bool) -> None:
        """Creates the reader.

        Args:
            head: Bytes already read from ``rest``, returned first.
            rest: The stream to continue with.
            owns_rest: Whether closing this reader closes ``rest`` (never for stdin).

        """
        super().__init__()
        self._head = head
        self._rest = rest
        self._owns_rest = owns_rest

    def readable(self) -> bool:
        """Returns True: this is an input stream."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fills ``buffer`` from the replayed head, then from the stream.

        Args:
            buffer: Destination.

        Returns:
            The number of bytes written; 0 at end of input.

        """
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        readinto = getattr(self._rest, "readinto", None)
        if readinto is not None:
            return int(readinto(view) or 0)
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Closes the reader, and the underlying stream if it is owned."""
        if not self.closed and self._owns_rest:
            self._rest.close()
        super().close()


def _read_head(stream: BinaryIO, size: int) -> bytes:
    """Reads up to ``size`` bytes, looping over short reads (pipes)."""
    head = b""
    while len(head) < size:
        more = stream.read(size - len(head))
        if not more:
            break
        head += more
    return head


def _decompressing(stream: BinaryIO, compression: Compression) -> BinaryIO:
    """Wraps an opened stream in the decompressor for ``compression``."""
    if compression == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))
    if compression == "bz2":
        return cast(BinaryIO, bz2.BZ2File(stream, mode="rb"))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(stream, mode="rb"))
    return stream


def _sniffed(name: str, stream: BinaryIO, *, owns: bool) -> BinaryIO:
    """Detects the compression of a non-seekable stream and returns a decoding reader.

    Args:
        name: Source name for error messages.
        stream: The raw input, positioned at its start.
        owns: Whether closing the result may close ``stream``.

    Returns:
        A stream of decompressed bytes that includes the sniffed head.

    Raises:
        SourceError: If reading fails or the content is zstd-compressed.

    """
    try:
        head = _read_head(stream, _MAGIC_LEN)
    except OSError as error:
        raise SourceError(f"cannot read {_display(name)}: {_reason(error)}") from None
    _refuse_unsupported(name, head)
    replay = io.BufferedReader(
        _ReplayReader(head, stream, owns_rest=owns), buffer_size=_STREAM_BUFFER
    )
    return _decompressing(cast(BinaryIO, replay), detect_compression(head))


def open_binary(source: Source, stdin: BinaryIO | None = None) -> BinaryIO:
    """Opens a source for reading decompressed bytes.

    Regular files are decompressed according to ``source.compression``. Standard input
    and other non-seekable inputs are sniffed here instead: the first bytes are read and
    replayed, so ``cat mail.log.1.gz | mailreject parse -`` needs no ``zcat``. The
    returned stream supports ``peek`` (see :func:`peek_head`); plain regular files
    also support ``seek`` for resuming at a checkpoint (compressed streams emulate it by
    decompressing up to the offset).

    Args:
        source: A source from :func:`resolve_sources`.
        stdin: The stream behind ``"-"`` (defaults to ``sys.stdin.buffer``); it is
            never closed by closing the returned stream.

    Returns:
        A binary stream of decompressed bytes; the caller closes it.

    Raises:
        SourceError: If the file cannot be opened or its first bytes cannot be read.

    """
    if source.path is None:
        stream = stdin if stdin is not None else default_stdin()
        return _sniffed(source.name, stream, owns=False)
    try:
        # Returned to the caller, who closes it, so no context manager here.
        handle = open(source.path, "rb")  # noqa: SIM115
    except OSError as error:
        raise SourceError(f"cannot open {_display(source.name)}: {_reason(error)}") from None
    try:
        regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
    except OSError as error:
        handle.close()
        raise SourceError(f"cannot open {_display(source.name)}: {_reason(error)}") from None
    if not regular:
        return _sniffed(source.name, handle, owns=True)
    if source.compression == "gzip":
        # Passing the filename lets the decompressor own and close the file.
        handle.close()
        return cast(BinaryIO, gzip.open(source.path, "rb"))
    if source.compression == "bz2":
        handle.close()
        return cast(BinaryIO, bz2.open(source.path, "rb"))
    if source.compression == "xz":
        handle.close()
        return cast(BinaryIO, lzma.open(source.path, "rb"))
    return handle


def peek_head(stream: BinaryIO, size: int = _STREAM_BUFFER) -> bytes:
    """Returns the first bytes of a stream without consuming them.

    Works on every stream :func:`open_binary` returns. At most one underlying read is
    done, so fewer than ``size`` bytes may come back (a pipe whose writer has not
    written much yet); callers that can should sniff the first :class:`Block` instead.

    Args:
        stream: A stream with ``peek`` (buffered or decompressing reader) or a seekable
            stream.
        size: The most bytes wanted.

    Returns:
        Up to ``size`` bytes; ``b""`` only at end of input.

    Raises:
        TypeError: If the stream can neither peek nor seek.
        SourceError: If reading fails.

    """
    try:
        peek = getattr(stream, "peek", None)
        if peek is not None:
            return bytes(peek(size)[:size])
        if stream.seekable():
            position = stream.tell()
            head = stream.read(size)
            stream.seek(position)
            return head
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
        raise SourceError(f"cannot read input: {_reason(error)}") from None
    raise TypeError("stream supports neither peek nor seek")


# ---------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------


def _truncate_long_lines(data: bytes, limit: int) -> bytes:
    """Cuts every line whose content exceeds ``limit`` bytes to its first ``limit``.

    ``data`` ends with a newline. Scanning per line would be Python-speed per line, so
    the data is probed in windows of ``stride`` bytes: a line longer than ``limit`` has
    at least ``2 * stride - 1`` newline-free bytes and so contains a whole window with no
    newline; only such windows are looked at more closely. A block of ordinary lines
    costs ``len(data) / stride`` C-level finds.

    Args:
        data: Complete lines.
        limit: The longest allowed line content, newline excluded.

    Returns:
        ``data`` itself when no line is too long, else a copy with long lines cut.

    """
    size = len(data)
    if size <= limit + 1:
        return data
    stride = (limit + 2) // 2
    pieces: list[bytes] = []
    keep_from = 0
    start = 0
    while start < size:
        stop = min(start + stride, size)
        if data.find(b"\n", start, stop) >= 0:
            start = stop
            continue
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", stop)  # data ends with b"\n", so always found
        if line_end - line_start > limit:
            pieces.append(data[keep_from : line_start + limit])
            keep_from = line_end  # keeps the newline itself
        start = line_end + 1
    if not pieces:
        return data
    pieces.append(data[keep_from:])
    return b"".join(pieces)


def iter_blocks(
    stream: BinaryIO,
    source: Source,
    *,
    block_size: int = 8 << 20,
    max_line_bytes: int = 1 << 20,
    start_offset: int = 0,
    start_line_no: int = 1,
) -> Iterator[Block]:
    r"""Cuts a stream into blocks of complete lines with bounded memory.

    Reads ``block_size`` bytes at a time and cuts after the last newline; the partial
    line carries into the next block. A line whose content (newline excluded; a CR of
    CRLF counts) is longer than ``max_line_bytes`` is never accumulated: its first
    ``max_line_bytes`` bytes plus ``b"\\n"`` stand for it, the rest of it is read and
    dropped up to its newline, and it still counts as one line. Memory stays below about
    ``2 * block_size + max_line_bytes`` whatever the input.

    Args:
        stream: Decompressed input, already positioned at ``start_offset``.
        source: The source, attached to every block.
        block_size: Bytes read per call; blocks hold about this much.
        max_line_bytes: Longest line content passed on whole.
        start_offset: Decompressed offset the stream is positioned at (a checkpoint's
            ``end_offset``); offsets continue from it.
        start_line_no: Line number of the first line read.

    Yields:
        Blocks with at least one line each; nothing for empty input.

    Raises:
        ValueError: If a size or start value is out of range.
        SourceError: If reading or decompressing fails (blocks before the failure have
            been yielded).

    """
    if block_size < 1 or max_line_bytes < 1:
        raise ValueError("block_size and max_line_bytes must be positive")
    if start_offset < 0 or start_line_no < 1:
        raise ValueError("start_offset must be >= 0 and start_line_no >= 1")
    from mailreject._parsers import count_lines  # bytes.count(b"\n"), vectorised

    limit = max_line_bytes
    carry = b""  # start of the current unfinished line, at most `limit` bytes
    skipping = False  # the current line is over-long: carry holds its kept head
    offset = start_offset  # decompressed offset just after the bytes read so far
    line_no = start_line_no
    # Input is read into one buffer, reused: a fresh 2 MiB `bytes` per read, besides the
    # block cut from it, cost ~9,000 page faults per million lines (118k -> 74k on 5M
    # lines). Only the block handed on is a new object.
    readinto = getattr(stream, "readinto", None)
    buffer = bytearray(block_size if readinto is not None else 0)
    view = memoryview(buffer)
    while True:
        try:
            if readinto is not None:
                # Blocks of at most block_size bytes, carry included.
                size = readinto(view[: max(block_size - len(carry), 1)])
                chunk: bytes | bytearray = buffer
            else:
                chunk = stream.read(block_size)
                size = len(chunk)
                view = memoryview(chunk)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            raise SourceError(f"cannot read {_display(source.name)}: {_reason(error)}") from None
        if not size:
            break
        chunk_start = offset
        offset += size
        parts: list[bytes | memoryview] = []
        position = 0  # start of the not yet consumed part of chunk
        if skipping:
            newline = chunk.find(b"\n", 0, size)
            if newline < 0:
                continue
            parts += (carry, b"\n")
            carry = b""
            skipping = False
            position = newline + 1
        end = position
        last = chunk.rfind(b"\n", position, size)
        if last >= 0:
            if carry:
                parts.append(carry)
                carry = b""
            parts.append(view[position : last + 1])
            end = position = last + 1
        if position < size:
            # The rest of the chunk has no newline; keep at most limit + 1 bytes of it,
            # enough to tell whether the line is over-long.
            room = limit + 1 - len(carry)
            carry += view[position : min(position + room, size)]
            if len(carry) > limit:
                carry = carry[:limit]
                skipping = True
        if parts:
            data = _truncate_long_lines(b"".join(parts), limit)
            count = count_lines(data)
            yield Block(data, line_no, count, chunk_start + end, source)
            line_no += count
    if carry or skipping:
        yield Block(carry + b"\n", line_no, 1, offset, source)


# ---------------------------------------------------------------------------------------
# Sniffing
# ---------------------------------------------------------------------------------------

_UTF8_BOM = b"\xef\xbb\xbf"


def detect_format(head: bytes) -> LogFormat:
    """Tells journal JSON export (``journalctl -o json``) from syslog text.

    Args:
        head: The first bytes of the decompressed input (a block or a peek).

    Returns:
        ``"journal-json"`` when the first non-blank byte of the first non-empty line is
        ``{``, else ``"syslog"``.

    """
    text = head.lstrip()
    if text.startswith(_UTF8_BOM):
        text = text[len(_UTF8_BOM) :].lstrip()
    return "journal-json" if text.startswith(b"{") else "syslog"


_MONTHS = {
    name.encode(): number
    for number, name in enumerate(
        (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        ),
        start=1,
    )
}
# "Jan  8 00:32:22", "Jan 08 00:32:22" (and the unpadded "Jan 8 00:32:22").
_CLASSIC_STAMP = re.compile(
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rb"(?:[ 0]?[1-9]|[12]\d|3[01]) "
    rb"(?:[01]\d|2[0-3]):[0-5]\d:[0-6]\d"
)


def first_month(data: bytes, max_lines: int = 50) -> int | None:
    """Finds the month of the first classic year-less syslog timestamp.

    Args:
        data: The start of a source (typically its first block).
        max_lines: How many lines to look at before giving up.

    Returns:
        The month (1-12) of the first of the first ``max_lines`` lines that starts with
        a classic timestamp (``Jan  8 00:32:22``), or None when none does (ISO
        timestamps, journal JSON, garbage).

    """
    start = 0
    size = len(data)
    for _ in range(max_lines):
        if start >= size:
            break
        match = _CLASSIC_STAMP.match(data, start)
        if match is not None:
            return _MONTHS[match.group(1)]
        newline = data.find(b"\n", start)
        if newline < 0:
            break
        start = newline + 1
    return None


def infer_start_year(mtime: float, first_month: int, tz: tzinfo) -> int:
    """Infers the year of a file's first year-less timestamp from its mtime.

    Assumes the file's mtime is when its last line was written and that the file spans
    less than a year. Then the first line belongs to the mtime's year if its month is
    not after the mtime's month, else to the year before (a file that starts in
    December and was last written in January started the year before). A copied or
    touched file (mtime not the last write) or a file spanning more than a year gets a
    wrong year; the parser then carries the year forward across the Dec -> Jan
    rollover from this start.

    Args:
        mtime: Modification time of the file, seconds since the epoch.
        first_month: Month (1-12) of the file's first timestamp.
        tz: Time zone the log's timestamps are written in (mtime is read in it).

    Returns:
        The year of the file's first line.

    Raises:
        ValueError: If ``first_month`` is not in 1..12.

    """
    if not 1 <= first_month <= 12:
        raise ValueError(f"month out of range: {first_month}")
    written = datetime.fromtimestamp(mtime, tz)
    return written.year if first_month <= written.month else written.year - 1
