"""Tests for mailreject.sources: opening, ordering, blocks and sniffing."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import threading
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailreject import sources
from mailreject.sources import (
    Block,
    Source,
    SourceError,
    detect_compression,
    detect_format,
    first_month,
    infer_start_year,
    iter_blocks,
    open_binary,
    peek_head,
    resolve_sources,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

LOG = (
    b"Jan  8 00:32:22 mx1 postfix/smtpd[123]: connect from unknown[192.0.2.1]\n"
    b"Jan  8 00:32:23 mx1 postfix/smtpd[123]: NOQUEUE: reject: RCPT from x\n"
    b"Jan  8 00:32:24 mx1 postfix/smtpd[123]: disconnect from unknown[192.0.2.1]\n"
)

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "none": lambda data: data,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
}

MEMORY_SOURCE = Source("mem", None, "none", None, None, None, None)


def write(path: Path, data: bytes) -> Path:
    """Writes ``data`` to ``path`` and returns the path."""
    path.write_bytes(data)
    return path


def read_all(source: Source, stdin: BinaryIO | None = None) -> bytes:
    """Returns the concatenated block data of a source."""
    with open_binary(source, stdin) as stream:
        return b"".join(block.data for block in iter_blocks(stream, source))


def blocks_of(data: bytes, **options: int) -> list[Block]:
    """Cuts in-memory bytes into blocks."""
    return list(iter_blocks(io.BytesIO(data), MEMORY_SOURCE, **options))


def names(resolved: list[Source]) -> list[str]:
    """Returns the names of resolved sources, in order."""
    return [source.name for source in resolved]


def assert_one_line(error: SourceError) -> str:
    """Checks that an error message is a single user-facing line; returns it."""
    message = str(error)
    assert message
    assert "\n" not in message
    assert "Traceback" not in message
    return message


class Trickle(io.RawIOBase):
    """A raw stream returning at most ``step`` bytes per read, like a slow pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._step = step
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._step, len(self._data) - self._position)
        view[:count] = self._data[self._position : self._position + count]
        self._position += count
        return count


class Endless(io.RawIOBase):
    """Generates ``total`` bytes of ``fill`` (then ``tail``) without holding them."""

    def __init__(self, total: int, fill: bytes = b"a", tail: bytes = b"\n") -> None:
        super().__init__()
        self._left = total
        self._fill = fill
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._left > 0:
            count = min(len(view), self._left)
            view[:count] = self._fill * count
            self._left -= count
            return count
        count = min(len(view), len(self._tail))
        view[:count] = self._tail[:count]
        self._tail = self._tail[count:]
        return count


# ---------------------------------------------------------------------------------------
# Compression by content
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "bz2", "xz"])
def test_compression_detected_by_content(tmp_path: Path, compression: str) -> None:
    path = write(tmp_path / "mail.log", COMPRESSORS[compression](LOG))
    [source] = resolve_sources([str(path)])
    assert source.compression == compression
    assert source.size == path.stat().st_size
    assert source.mtime == path.stat().st_mtime
    assert read_all(source) == LOG


def test_gzip_named_without_gz_and_plain_named_gz(tmp_path: Path) -> None:
    hidden = write(tmp_path / "mail.log.1", gzip.compress(LOG))
    fake = write(tmp_path / "other.log.gz", LOG)
    by_name = {s.name: s for s in resolve_sources([str(hidden), str(fake)])}
    assert by_name[str(hidden)].compression == "gzip"
    assert by_name[str(fake)].compression == "none"
    assert read_all(by_name[str(hidden)]) == LOG
    assert read_all(by_name[str(fake)]) == LOG


def test_detect_compression_magic() -> None:
    assert detect_compression(b"\x1f\x8b\x08\x00") == "gzip"
    assert detect_compression(b"BZh91AY&SY") == "bz2"
    assert detect_compression(b"\xfd7zXZ\x00\x00") == "xz"
    assert detect_compression(b"Jan  8 00:32:22") == "none"
    assert detect_compression(b"BZhello world") == "none"
    assert detect_compression(b"") == "none"


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    path = write(tmp_path / "m.gz", gzip.compress(LOG) + gzip.compress(LOG))
    [source] = resolve_sources([str(path)])
    assert read_all(source) == LOG + LOG


def test_truncated_gzip_is_a_one_line_error(tmp_path: Path) -> None:
    packed = gzip.compress(LOG * 100)
    path = write(tmp_path / "m.gz", packed[: len(packed) // 2])
    [source] = resolve_sources([str(path)])
    with pytest.raises(SourceError) as caught:
        read_all(source)
    message = assert_one_line(caught.value)
    assert message.startswith(f"cannot read {path}:")
    assert "truncated" in message


def test_corrupt_xz_error_does_not_quote_content(tmp_path: Path) -> None:
    packed = bytearray(lzma.compress(LOG * 100))
    packed[30:60] = b"Z" * 30
    path = write(tmp_path / "m.xz", bytes(packed))
    [source] = resolve_sources([str(path)])
    with pytest.raises(SourceError) as caught:
        read_all(source)
    message = assert_one_line(caught.value)
    assert "corrupt" in message
    assert "ZZ" not in message


def test_zstd_is_refused_clearly(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log.1.zst", b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(path)])
    assert "zstd" in assert_one_line(caught.value)


# ---------------------------------------------------------------------------------------
# Standard input
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "bz2", "xz"])
def test_stdin_compression_detected_by_peeking(compression: str) -> None:
    stdin = io.BytesIO(COMPRESSORS[compression](LOG))
    [source] = resolve_sources(["-"], stdin=stdin)
    assert source.name == "-"
    assert source.path is None
    assert stdin.tell() == 0, "resolving must not consume standard input"
    assert read_all(source, stdin) == LOG


@pytest.mark.parametrize("compression", ["none", "gzip", "xz"])
def test_stdin_short_reads_do_not_defeat_sniffing(compression: str) -> None:
    stdin = cast(BinaryIO, Trickle(COMPRESSORS[compression](LOG), step=1))
    [source] = resolve_sources(["-"], stdin=stdin)
    assert read_all(source, stdin) == LOG


def test_stdin_redirected_from_file_fills_stat_without_consuming(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "mail.log.2.gz", gzip.compress(LOG))
    with path.open("rb") as stdin:
        [source] = resolve_sources(["-"], stdin=stdin)
        assert source.compression == "gzip"
        assert source.mtime == path.stat().st_mtime
        assert source.inode == path.stat().st_ino
        assert stdin.tell() == 0
        assert read_all(source, stdin) == LOG


def test_stdin_is_not_closed_with_the_returned_stream() -> None:
    stdin = io.BytesIO(gzip.compress(LOG))
    [source] = resolve_sources(["-"], stdin=stdin)
    stream = open_binary(source, stdin)
    stream.close()
    assert not stdin.closed


def test_empty_stdin_yields_nothing() -> None:
    stdin = io.BytesIO(b"")
    [source] = resolve_sources(["-"], stdin=stdin)
    with open_binary(source, stdin) as stream:
        assert list(iter_blocks(stream, source)) == []


def test_stdin_named_twice_is_an_error() -> None:
    with pytest.raises(SourceError) as caught:
        resolve_sources(["-", "-"], stdin=io.BytesIO(LOG))
    assert "only once" in assert_one_line(caught.value)


def test_fifo_is_sniffed_like_stdin(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    [source] = resolve_sources([str(fifo)])
    assert source.compression == "none"  # unknown until opened
    assert source.mtime is None and source.size is None

    def writer() -> None:
        with fifo.open("wb") as handle:
            handle.write(gzip.compress(LOG))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert read_all(source) == LOG
    finally:
        thread.join(timeout=10)


def test_peek_head_does_not_consume(tmp_path: Path) -> None:
    path = write(tmp_path / "m", gzip.compress(LOG))
    [source] = resolve_sources([str(path)])
    with open_binary(source) as stream:
        head = peek_head(stream, 10)
        assert head == LOG[:10]
        assert stream.read() == LOG
    stdin = io.BytesIO(LOG)
    [piped] = resolve_sources(["-"], stdin=stdin)
    with open_binary(piped, stdin) as stream:
        assert peek_head(stream).startswith(b"Jan  8")
        assert stream.read() == LOG


# ---------------------------------------------------------------------------------------
# Rotation order, duplicates
# ---------------------------------------------------------------------------------------


@pytest.fixture
def logdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory to create log files in, made the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def touch(*files: str) -> None:
    """Creates small log files in the working directory."""
    for name in files:
        Path(name).write_bytes(gzip.compress(LOG) if name.endswith(".gz") else LOG)


def test_numbered_rotation_oldest_first(logdir: Path) -> None:
    touch("mail.log", "mail.log.1", "mail.log.2.gz")
    for order in (
        ["mail.log.2.gz", "mail.log.1", "mail.log"],
        ["mail.log", "mail.log.1", "mail.log.2.gz"],
        ["mail.log.1", "mail.log", "mail.log.2.gz"],
    ):
        assert names(resolve_sources(order)) == [
            "mail.log.2.gz",
            "mail.log.1",
            "mail.log",
        ]


def test_rotation_numbers_compare_numerically(logdir: Path) -> None:
    touch("mail.log.9.gz", "mail.log.10.gz", "mail.log.2.gz", "mail.log")
    resolved = resolve_sources(["mail.log", "mail.log.2.gz", "mail.log.9.gz", "mail.log.10.gz"])
    assert names(resolved) == [
        "mail.log.10.gz",
        "mail.log.9.gz",
        "mail.log.2.gz",
        "mail.log",
    ]


def test_dateext_rotation_ascending_then_live(logdir: Path) -> None:
    touch("maillog", "maillog-20261101.gz", "maillog-20261108", "maillog-20261025.gz")
    resolved = resolve_sources(
        ["maillog", "maillog-20261108", "maillog-20261101.gz", "maillog-20261025.gz"]
    )
    assert names(resolved) == [
        "maillog-20261025.gz",
        "maillog-20261101.gz",
        "maillog-20261108",
        "maillog",
    ]


def test_dateext_with_hour_and_dashes(logdir: Path) -> None:
    touch("maillog", "maillog-2026110112", "maillog-2026110108", "maillog-2026-10-30.gz")
    resolved = resolve_sources(
        ["maillog", "maillog-2026110112", "maillog-2026110108", "maillog-2026-10-30.gz"]
    )
    assert names(resolved) == [
        "maillog-2026-10-30.gz",
        "maillog-2026110108",
        "maillog-2026110112",
        "maillog",
    ]


def test_families_keep_first_appearance_and_stdin_its_place(logdir: Path) -> None:
    touch(
        "mail.log",
        "mail.log.1",
        "mail.err",
        "mail.err.1",
        "maillog",
        "maillog-20261101",
    )
    resolved = resolve_sources(
        [
            "mail.err",
            "mail.log",
            "-",
            "maillog",
            "mail.log.1",
            "maillog-20261101",
            "mail.err.1",
        ],
        stdin=io.BytesIO(),
    )
    assert names(resolved) == [
        "mail.err.1",
        "mail.err",
        "mail.log.1",
        "mail.log",
        "-",
        "maillog-20261101",
        "maillog",
    ]


def test_same_base_in_other_directory_is_another_family(logdir: Path) -> None:
    (logdir / "old").mkdir()
    touch("mail.log", "mail.log.1", "old/mail.log.1")
    resolved = resolve_sources(["old/mail.log.1", "mail.log", "mail.log.1"])
    assert names(resolved) == ["old/mail.log.1", "mail.log.1", "mail.log"]


def test_compressed_live_name_is_not_the_live_file(logdir: Path) -> None:
    touch("mail.log", "mail.log.gz")
    assert names(resolve_sources(["mail.log", "mail.log.gz"])) == [
        "mail.log",
        "mail.log.gz",
    ]


def test_duplicates_are_given_once(logdir: Path) -> None:
    touch("mail.log", "mail.log.1")
    os.symlink("mail.log", "current")
    os.link("mail.log.1", "hardlink")
    resolved = resolve_sources(
        [
            "mail.log",
            "./mail.log",
            "mail.log.1",
            "current",
            str(logdir / "mail.log"),
            "hardlink",
        ]
    )
    assert names(resolved) == ["mail.log.1", "mail.log"]


def test_empty_name_list() -> None:
    assert resolve_sources([]) == []


# ---------------------------------------------------------------------------------------
# Validation errors
# ---------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    touch_path = write(tmp_path / "ok.log", LOG)
    missing = tmp_path / "nope.log"
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(touch_path), str(missing)])
    assert assert_one_line(caught.value) == f"cannot open {missing}: No such file or directory"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(tmp_path)])
    assert assert_one_line(caught.value) == f"cannot open {tmp_path}: Is a directory"


def test_path_through_a_file(tmp_path: Path) -> None:
    inner = str(write(tmp_path / "mail.log", LOG) / "x")
    with pytest.raises(SourceError) as caught:
        resolve_sources([inner])
    assert assert_one_line(caught.value) == f"cannot open {inner}: Not a directory"


def test_empty_name_is_not_the_current_directory() -> None:
    with pytest.raises(SourceError) as caught:
        resolve_sources([""])
    assert "No such file" in assert_one_line(caught.value)


def test_control_characters_in_name_stay_on_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(tmp_path / "bad\nname")])
    assert "bad\\nname" in assert_one_line(caught.value)


def test_permission_denied_via_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "mail.log", LOG)

    def denied(*args: Any, **kwargs: Any) -> BinaryIO:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sources, "open", denied, raising=False)
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(path)])
    assert assert_one_line(caught.value) == f"cannot open {path}: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log", LOG)
    path.chmod(0)
    with pytest.raises(SourceError) as caught:
        resolve_sources([str(path)])
    assert assert_one_line(caught.value) == f"cannot open {path}: Permission denied"


def test_file_gone_between_resolve_and_open(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log", LOG)
    [source] = resolve_sources([str(path)])
    path.unlink()
    with pytest.raises(SourceError) as caught:
        open_binary(source)
    assert assert_one_line(caught.value) == f"cannot open {path}: No such file or directory"


# ---------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------


def test_lines_are_split_only_at_newlines() -> None:
    blocks = blocks_of(LOG, block_size=50)
    assert b"".join(b.data for b in blocks) == LOG
    for block in blocks:
        assert block.data.endswith(b"\n")
        assert block.line_count == block.data.count(b"\n")
    assert [b.first_line_no for b in blocks] == [1, 2, 3]
    assert [b.end_offset for b in blocks] == [i + 1 for i, c in enumerate(LOG) if c == 10]


class _ReadOnly:
    """A stream with ``read`` and no ``readinto``."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def read(self, size: int) -> bytes:
        piece, self._data = self._data[: min(size, self._step)], self._data[min(size, self._step) :]
        return piece


@pytest.mark.parametrize("step", [1, 7, 50, 4096])
def test_streams_without_readinto_give_the_same_blocks(step: int) -> None:
    stream = cast(BinaryIO, _ReadOnly(LOG * 5, step))
    blocks = list(iter_blocks(stream, MEMORY_SOURCE, block_size=64, max_line_bytes=40))
    if step >= 64:  # full reads: the very blocks a stream with readinto gives
        assert blocks == blocks_of(LOG * 5, block_size=64, max_line_bytes=40)
    assert b"".join(b.data for b in blocks) == b"".join(
        b.data for b in blocks_of(LOG * 5, max_line_bytes=40)
    )
    assert sum(b.line_count for b in blocks) == (LOG * 5).count(b"\n")


def test_default_block_size_gives_one_block() -> None:
    [block] = blocks_of(LOG)
    assert (block.data, block.first_line_no, block.line_count, block.end_offset) == (
        LOG,
        1,
        3,
        len(LOG),
    )
    assert "data" not in repr(block)


def test_blocks_and_sources_pickle() -> None:
    # Blocks may be shipped to worker processes.
    [block] = blocks_of(LOG)
    assert pickle.loads(pickle.dumps(block)) == block


def test_crlf_bytes_are_kept() -> None:
    data = b"a\r\nb\r\n\r\nc"
    blocks = blocks_of(data, block_size=2)
    assert b"".join(b.data for b in blocks) == b"a\r\nb\r\n\r\nc\n"
    assert sum(b.line_count for b in blocks) == 4


def test_no_trailing_newline() -> None:
    blocks = blocks_of(b"one\ntwo", block_size=4)
    assert [(b.data, b.first_line_no, b.end_offset) for b in blocks] == [
        (b"one\n", 1, 4),
        (b"two\n", 2, 7),
    ]


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n"])
def test_empty_input_and_blank_lines(data: bytes) -> None:
    blocks = blocks_of(data)
    assert sum(b.line_count for b in blocks) == data.count(b"\n")
    assert b"".join(b.data for b in blocks) == data


def test_empty_file(tmp_path: Path) -> None:
    [source] = resolve_sources([str(write(tmp_path / "empty.log", b""))])
    assert source.compression == "none"
    with open_binary(source) as stream:
        assert list(iter_blocks(stream, source)) == []


def test_over_long_line_is_cut_and_counted_once() -> None:
    long_line = b"x" * (5 << 20)
    data = b"first\n" + long_line + b"\nlast\n"
    blocks = blocks_of(data, block_size=64 << 10, max_line_bytes=1000)
    joined = b"".join(b.data for b in blocks)
    assert joined == b"first\n" + b"x" * 1000 + b"\nlast\n"
    assert sum(b.line_count for b in blocks) == 3
    assert blocks[-1].end_offset == len(data)
    last = blocks[-1]
    assert last.data.endswith(b"last\n")
    assert last.first_line_no + last.line_count - 1 == 3
    # No block ends inside the dropped bytes: a checkpoint must never resume mid-line.
    ends = [b.end_offset for b in blocks]
    assert all(not (6 < end < 6 + len(long_line) + 1) for end in ends)


def test_over_long_line_inside_one_block_is_cut_too() -> None:
    data = b"a\n" + b"y" * 50 + b"\nb\n"
    [block] = blocks_of(data, block_size=1 << 20, max_line_bytes=10)
    assert block.data == b"a\n" + b"y" * 10 + b"\nb\n"
    assert block.line_count == 3
    assert block.end_offset == len(data)


def test_line_of_exactly_the_limit_is_whole() -> None:
    data = b"z" * 10 + b"\n" + b"w" * 10
    assert b"".join(b.data for b in blocks_of(data, block_size=3, max_line_bytes=10)) == (
        data + b"\n"
    )


def test_over_long_last_line_without_newline() -> None:
    blocks = blocks_of(b"ok\n" + b"q" * 100, block_size=7, max_line_bytes=5)
    assert b"".join(b.data for b in blocks) == b"ok\nqqqqq\n"
    assert blocks[-1].end_offset == 103
    assert blocks[-1].first_line_no == 2


def test_memory_stays_bounded_on_a_huge_line() -> None:
    stream = cast(BinaryIO, Endless(50 << 20, tail=b"\nafter\n"))
    tracemalloc.start()
    try:
        blocks = list(iter_blocks(stream, MEMORY_SOURCE, block_size=256 << 10, max_line_bytes=4096))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert b"".join(b.data for b in blocks) == b"a" * 4096 + b"\nafter\n"
    assert blocks[-1].end_offset == (50 << 20) + 7
    assert sum(b.line_count for b in blocks) == 2
    assert peak < 4 << 20


def test_start_offset_and_line_continue(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log", LOG)
    [source] = resolve_sources([str(path)])
    with open_binary(source) as stream:
        first = next(iter_blocks(stream, source, block_size=80))
    with open_binary(source) as stream:
        stream.seek(first.end_offset)
        rest = list(
            iter_blocks(
                stream,
                source,
                start_offset=first.end_offset,
                start_line_no=first.first_line_no + first.line_count,
            )
        )
    assert first.data + b"".join(b.data for b in rest) == LOG
    assert rest[0].first_line_no == 2
    assert rest[-1].end_offset == len(LOG)


def test_compressed_stream_can_skip_to_a_checkpoint(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log.1", bz2.compress(LOG))
    [source] = resolve_sources([str(path)])
    checkpoint = LOG.index(b"\n") + 1
    with open_binary(source) as stream:
        stream.seek(checkpoint)
        rest = list(iter_blocks(stream, source, start_offset=checkpoint, start_line_no=2))
    assert b"".join(b.data for b in rest) == LOG[checkpoint:]
    assert rest[-1].end_offset == len(LOG)


@pytest.mark.parametrize(
    "options",
    [
        {"block_size": 0},
        {"max_line_bytes": 0},
        {"start_offset": -1},
        {"start_line_no": 0},
    ],
)
def test_invalid_options(options: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        blocks_of(LOG, **options)


def expected_content(data: bytes, limit: int) -> bytes:
    """What the blocks of ``data`` must reassemble to, computed line by line."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join(line[:limit] + b"\n" for line in lines)


def line_ends(data: bytes) -> list[int]:
    """The input offset just after each line of ``data``."""
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    if data and not data.endswith(b"\n"):
        ends.append(len(data))
    return ends


log_bytes = st.lists(
    st.one_of(
        st.binary(max_size=24),
        st.sampled_from([b"\n", b"\r\n", b"\n\n", b"Jan  8 00:32:22 x"]),
    ),
    max_size=30,
).map(b"".join)


@given(
    data=log_bytes,
    block_size=st.integers(1, 48),
    limit=st.integers(1, 32),
    step=st.integers(1, 64),
)
@settings(max_examples=400, deadline=None)
def test_blocks_reassemble_and_account_for_every_line(
    data: bytes, block_size: int, limit: int, step: int
) -> None:
    stream = cast(BinaryIO, Trickle(data, step))
    blocks = list(iter_blocks(stream, MEMORY_SOURCE, block_size=block_size, max_line_bytes=limit))
    assert b"".join(b.data for b in blocks) == expected_content(data, limit)
    ends = line_ends(data)
    next_line = 1
    for block in blocks:
        assert block.line_count >= 1
        assert block.line_count == block.data.count(b"\n")
        assert block.data.endswith(b"\n")
        assert block.first_line_no == next_line
        next_line += block.line_count
        assert block.end_offset == ends[next_line - 2]
        assert block.source is MEMORY_SOURCE
    assert next_line - 1 == len(ends)


@given(
    data=log_bytes,
    block_size=st.integers(1, 48),
    limit=st.integers(1, 32),
    pick=st.data(),
)
@settings(max_examples=200, deadline=None)
def test_resuming_at_any_block_end_gives_the_rest(
    data: bytes, block_size: int, limit: int, pick: st.DataObject
) -> None:
    blocks = blocks_of(data, block_size=block_size, max_line_bytes=limit)
    if not blocks:
        return
    index = pick.draw(st.integers(0, len(blocks) - 1))
    cut = blocks[index]
    resumed = list(
        iter_blocks(
            io.BytesIO(data[cut.end_offset :]),
            MEMORY_SOURCE,
            block_size=block_size,
            max_line_bytes=limit,
            start_offset=cut.end_offset,
            start_line_no=cut.first_line_no + cut.line_count,
        )
    )
    tail = blocks[index + 1 :]
    assert b"".join(b.data for b in resumed) == b"".join(b.data for b in tail)
    if tail:
        assert resumed[0].first_line_no == tail[0].first_line_no
        assert resumed[-1].end_offset == tail[-1].end_offset
    else:
        assert resumed == []


# ---------------------------------------------------------------------------------------
# Sniffing: format and year
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"MESSAGE":"x","SYSLOG_IDENTIFIER":"postfix/smtpd"}\n', "journal-json"),
        (b'\n\n  \t{"MESSAGE":"x"}\n', "journal-json"),
        (b'\xef\xbb\xbf{"MESSAGE":"x"}\n', "journal-json"),
        (b"{\n", "journal-json"),
        (LOG, "syslog"),
        (b"2026-01-08T00:32:22.123+01:00 mx1 postfix/smtpd[1]: x\n", "syslog"),
        (b"<22>1 2026-01-08T00:32:22Z mx1 postfix 1 - - x\n", "syslog"),
        (b"", "syslog"),
        (b"\n\n", "syslog"),
        (b'Jan  8 00:32:22 mx1 x: {"a":1}\n', "syslog"),
    ],
)
def test_detect_format(head: bytes, expected: str) -> None:
    assert detect_format(head) == expected


@pytest.mark.parametrize(
    ("data", "month"),
    [
        (b"Jan  8 00:32:22 mx1 postfix/smtpd[1]: x\n", 1),
        (b"Feb 08 00:32:22 mx1 postfix/smtpd[1]: x\n", 2),
        (b"Dec 31 23:59:59 mx1 x\n", 12),
        (b"Sep 9 01:02:03 mx1 x\n", 9),
        (b"garbage\n\nOct 12 10:00:00 mx1 x\nNov 12 10:00:00 mx1 x\n", 10),
        (b"Mar  1 10:00:00", 3),
        (b"2026-01-08T00:32:22Z mx1 x\n", None),
        (b'{"__REALTIME_TIMESTAMP":"1"}\n', None),
        (b"Foo  8 00:32:22 mx1 x\n", None),
        (b"Jan 32 00:32:22 mx1 x\n", None),
        (b"Jan  8 24:32:22 mx1 x\n", None),
        (b" Jan  8 00:32:22 mx1 x\n", None),
        (b"", None),
    ],
)
def test_first_month(data: bytes, month: int | None) -> None:
    assert first_month(data) == month


def test_first_month_gives_up_after_max_lines() -> None:
    data = b"noise\n" * 50 + b"Apr  1 00:00:00 mx1 x\n"
    assert first_month(data) is None
    assert first_month(data, max_lines=51) == 4


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """Seconds since the epoch of a UTC wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_infer_start_year_dec_to_jan() -> None:
    # Last written in January 2027, first line in December: started in 2026.
    assert infer_start_year(epoch(2027, 1, 3, 12, 0), 12, UTC) == 2026


def test_infer_start_year_same_and_earlier_month() -> None:
    assert infer_start_year(epoch(2026, 11, 8, 6, 25), 11, UTC) == 2026
    assert infer_start_year(epoch(2026, 11, 8, 6, 25), 3, UTC) == 2026
    assert infer_start_year(epoch(2026, 3, 8, 6, 25), 11, UTC) == 2025


def test_infer_start_year_uses_the_log_time_zone() -> None:
    # 2026-12-31 23:30 UTC is already January 2027 in UTC+2.
    mtime = epoch(2026, 12, 31, 23, 30)
    plus_two = timezone(timedelta(hours=2))
    assert infer_start_year(mtime, 12, UTC) == 2026
    assert infer_start_year(mtime, 1, plus_two) == 2027
    assert infer_start_year(mtime, 12, plus_two) == 2026


@pytest.mark.parametrize("month", [0, 13])
def test_infer_start_year_rejects_bad_month(month: int) -> None:
    with pytest.raises(ValueError):
        infer_start_year(0.0, month, UTC)


def test_year_inference_end_to_end(tmp_path: Path) -> None:
    path = write(tmp_path / "mail.log.1", gzip.compress(b"Dec 30 10:00:00 mx1 x\n" + LOG))
    os.utime(path, (epoch(2027, 1, 9), epoch(2027, 1, 9)))
    [source] = resolve_sources([str(path)])
    with open_binary(source) as stream:
        block = next(iter_blocks(stream, source))
    month = first_month(block.data)
    assert month == 12
    assert source.mtime is not None
    assert infer_start_year(source.mtime, month, UTC) == 2026
    assert detect_format(block.data) == "syslog"
