"""The parsing engine's Python side: drives the Rust parser over inputs.

Python never touches individual lines here: :mod:`mailreject.sources` cuts inputs into
blocks of whole lines and the Rust core (``mailreject._parsers``) turns each block into an
Arrow record batch plus counters, releasing the GIL so ``jobs > 1`` parses blocks in
parallel threads. The store (``ingest``) reuses this module unchanged.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailreject import sources
from mailreject.status import NoInputError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from mailreject._parsers import Parser

InputFormat = Literal["auto", "syslog", "journal-json"]

#: Counters the Rust parser returns per block (see ``parsers/src/python.rs``).
BlockStats = dict[str, Any]


@dataclass(frozen=True)
class ParseOptions:
    """Options every command that reads logs shares.

    Attributes:
        year: Year of the first year-less (classic syslog) timestamp of each input; None
            infers it from the file's modification time.
        tz: Zone of year-less timestamps (IANA name); None means the system's zone.
        rules: Extra rule files, which take priority over the built-in catalogue.
        input_format: ``auto`` detects journal JSON by its first byte.
        jobs: Threads that parse blocks in parallel.
        block_size: Bytes of input handed to the parser at a time. 1 MiB: on 5M lines
            the peak RSS of ``ingest`` is ~30 MB lower than with 2 MiB (191 against 223 MB)
            and ``parse`` ~20 MB lower, at the same speed; 512 KiB saves no more and is
            slower.

    """

    year: int | None = None
    tz: str | None = None
    rules: tuple[Path, ...] = ()
    input_format: InputFormat = "auto"
    jobs: int = 1
    block_size: int = 1 << 20


@dataclass
class SourceSummary:
    """What was read from one input."""

    name: str
    format: str = "syslog"
    lines: int = 0
    events: int = 0
    bytes: int = 0
    year: int | None = None
    year_basis: str | None = None
    end_offset: int = 0


@dataclass
class ParseSummary:
    """Counters over a whole run; every line is accounted for.

    ``lines == events + sum(unparsed.values()) + sum(skipped.values())``.
    """

    lines: int = 0
    events: int = 0
    events_by_kind: Counter[str] = field(default_factory=Counter)
    unparsed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unmatched: int = 0
    repaired: int = 0
    bytes: int = 0
    min_ts: int | None = None
    max_ts: int | None = None
    tz: str = "UTC"
    sources: list[SourceSummary] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, stats: BlockStats, size: int) -> None:
        """Adds one block's counters."""
        self.lines += stats["lines"]
        self.events += stats["events"]
        self.events_by_kind.update(stats["events_by_kind"])
        self.unparsed.update(stats["unparsed"])
        self.skipped.update(stats["skipped"])
        self.unmatched += stats["unmatched"]
        self.repaired += stats["repaired"]
        self.bytes += size
        for key, pick in (("min_ts", min), ("max_ts", max)):
            value = stats[key]
            if value is not None:
                current = getattr(self, key)
                setattr(self, key, value if current is None else pick(current, value))

    @property
    def assumptions(self) -> list[str]:
        """How year-less timestamps were placed in time, per input."""
        notes = []
        for s in self.sources:
            if s.year is not None and s.year_basis is not None:
                notes.append(f"{s.name}: year {s.year} ({s.year_basis}), zone {self.tz}")
        return notes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, used by ``--format json`` summaries and the store."""
        return {
            "lines": self.lines,
            "events": self.events,
            "events_by_kind": dict(sorted(self.events_by_kind.items())),
            "unparsed_by_program": dict(self.unparsed.most_common()),
            "skipped_by_reason": dict(self.skipped.most_common()),
            "unmatched_rejects": self.unmatched,
            "repaired_lines": self.repaired,
            "bytes": self.bytes,
            "first_event": _iso(self.min_ts),
            "last_event": _iso(self.max_ts),
            "assumptions": self.assumptions,
            "sources": [s.__dict__ for s in self.sources],
            "seconds": round(self.seconds, 3),
        }

    def one_line(self) -> str:
        """The summary printed on stderr after ``parse``: cron mails read well."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.events_by_kind.items()))
        unparsed = sum(self.unparsed.values())
        top = ", ".join(f"{p} {n}" for p, n in self.unparsed.most_common(4))
        skipped = ", ".join(f"{r} {n}" for r, n in self.skipped.most_common())
        rate = self.lines / self.seconds if self.seconds > 0 else 0.0
        parts = [
            f"{len(self.sources)} input(s), {self.lines} lines ({rate:,.0f} lines/s)",
            f"{self.events} events ({kinds or 'none'})",
            f"{unparsed} lines not events ({top or 'none'})",
        ]
        if self.unmatched:
            parts.append(f"{self.unmatched} rejects no rule explains (see 'mailreject unmatched')")
        if skipped:
            parts.append(f"skipped {skipped}")
        if self.repaired:
            parts.append(f"{self.repaired} lines repaired (invalid UTF-8 or NUL bytes)")
        years = sorted({s.year for s in self.sources if s.year_basis and s.year is not None})
        if years:
            bases = sorted({s.year_basis for s in self.sources if s.year_basis})
            parts.append(f"year-less times read as {years} ({'; '.join(bases)}) in {self.tz}")
        return "; ".join(parts)


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).isoformat()


def _zone(name: str | None) -> tuple[tzinfo, str]:
    """The zone object and a printable name; None is the system's zone."""
    if name in (None, ""):
        local = datetime.now().astimezone().tzinfo or timezone.utc
        key = os.environ.get("TZ") or _system_zone_name() or str(local)
        return local, key
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UsageError(
            f"unknown time zone {name!r}", hint="use an IANA name such as Europe/Berlin or UTC"
        ) from error


def _system_zone_name() -> str | None:
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def load_rule_files(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """Reads extra rule files as (name, text) pairs for the parser."""
    files = []
    for path in paths:
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise UsageError(f"cannot read rule file {path}: {reason}") from error
    return files


def make_parser(options: ParseOptions) -> Parser:
    """Compiles the rule catalogue (built-in plus ``options.rules``) once."""
    from mailreject._parsers import Parser

    extra = load_rule_files(options.rules)
    _zone(options.tz)  # validates the name with a friendly message
    try:
        return Parser(extra, options.tz or None)
    except ValueError as error:
        raise UsageError(str(error), hint="see 'Rule files' in the README") from error


@dataclass
class _Chain:
    """Year state carried from one block to the next: (year, month of last line)."""

    year: int
    month: int | None


@dataclass(frozen=True)
class Resume:
    """Where to pick an input up again (a store checkpoint).

    Attributes:
        offset: Decompressed byte offset just after the last line already read.
        line_no: Line number of the next line.
        year: Year state of year-less timestamps at that point.
        month: Month of the last year-less line read, for Dec -> Jan rollover.

    """

    offset: int
    line_no: int
    year: int | None = None
    month: int | None = None


@dataclass
class ParsedBlock:
    """One block's outcome: its events, counters, and the year state after it."""

    batch: pa.RecordBatch
    stats: BlockStats
    block: sources.Block
    format: str
    year: int
    month: int | None


class ParseRun:
    """One pass over a list of inputs, yielding record batches.

    Iterate over :meth:`batches`; :attr:`summary` is complete once it is exhausted.

    Args:
        names: File names as given on the command line; ``-`` is standard input.
        options: Shared reading options.
        stdin: The stream standing for ``-`` (tests inject one).
        on_progress: Called after each block with (bytes read so far, summary).

    """

    def __init__(
        self,
        names: Sequence[str],
        options: ParseOptions = ParseOptions(),
        *,
        stdin: BinaryIO | None = None,
        on_progress: Callable[[int, ParseSummary], None] | None = None,
        parser: Parser | None = None,
        resume: Callable[[sources.Source], Resume | None] | None = None,
    ) -> None:
        if options.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        self.options = options
        self.tz, tz_name = _zone(options.tz)
        self.parser = parser or make_parser(options)
        self.stdin = stdin
        self.on_progress = on_progress
        self.resume = resume
        try:
            self.sources = sources.resolve_sources(names, stdin)
        except sources.SourceError as error:
            raise NoInputError(str(error)) from error
        self.summary = ParseSummary(tz=tz_name)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Parses every input in order, oldest rotated file first; batches with events."""
        for parsed in self.parsed_blocks():
            if parsed.batch.num_rows:
                yield parsed.batch

    def parsed_blocks(self) -> Iterator[ParsedBlock]:
        """Like :meth:`batches`, with each block's counters and position (for checkpoints)."""
        started = time.perf_counter()
        chain: _Chain | None = None
        try:
            for source in self.sources:
                chain = yield from self._source_blocks(source, chain)
        finally:
            self.summary.seconds = time.perf_counter() - started

    def _source_blocks(
        self, source: sources.Source, chain: _Chain | None
    ) -> Generator[ParsedBlock, None, _Chain | None]:
        info = SourceSummary(name=source.name)
        self.summary.sources.append(info)
        resume = self.resume(source) if self.resume is not None else None
        try:
            stream = sources.open_binary(source, self.stdin)
            if resume is not None and resume.offset:
                stream.seek(resume.offset)
        except sources.SourceError as error:
            raise NoInputError(str(error)) from error
        except OSError as error:
            raise NoInputError(f"cannot read {source.name}: {error.strerror or error}") from error
        info.end_offset = resume.offset if resume else 0
        with stream:
            blocks = sources.iter_blocks(
                stream,
                source,
                block_size=self.options.block_size,
                start_offset=resume.offset if resume else 0,
                start_line_no=resume.line_no if resume else 1,
            )
            try:
                first = next(blocks)
            except StopIteration:
                # Nothing new since the checkpoint: its year state carries on unchanged.
                if resume is not None and resume.year is not None:
                    return _Chain(resume.year, resume.month)
                return chain
            except sources.SourceError as error:
                raise NoInputError(str(error)) from error
            fmt = self._format(first.data)
            info.format = fmt
            if resume is not None and resume.year is not None:
                state = _Chain(resume.year, resume.month)
                info.year, info.year_basis = resume.year, "from the store's checkpoint"
            else:
                state = self._start_chain(source, first.data, chain, info)
            all_blocks = _prepend(first, blocks)
            for batch, stats, block in self._parse_all(all_blocks, source, fmt, state):
                self.summary.add(stats, len(block.data))
                info.lines += stats["lines"]
                info.events += stats["events"]
                info.bytes += len(block.data)
                info.end_offset = block.end_offset
                if self.on_progress is not None:
                    self.on_progress(self.summary.bytes, self.summary)
                yield ParsedBlock(batch, stats, block, fmt, state.year, state.month)
        return state

    def _format(self, head: bytes) -> str:
        if self.options.input_format != "auto":
            return self.options.input_format
        return sources.detect_format(head)

    def _start_chain(
        self, source: sources.Source, head: bytes, chain: _Chain | None, info: SourceSummary
    ) -> _Chain:
        month = sources.first_month(head)
        if self.options.year is not None:
            if chain is None:
                chain = _Chain(self.options.year, None)
                info.year_basis = "--year"
            info.year = chain.year
            return chain
        if month is None:
            return chain or _Chain(datetime.now(self.tz).year, None)
        if source.mtime is not None:
            year = sources.infer_start_year(source.mtime, month, self.tz)
            info.year_basis = "from the file's modification time"
        else:
            year = sources.infer_start_year(time.time(), month, self.tz)
            info.year_basis = "from the current date"
        info.year = year
        return _Chain(year, None)

    def _parse_one(
        self, block: sources.Block, fmt: str, chain: _Chain
    ) -> tuple[pa.RecordBatch, BlockStats]:
        return self.parser.parse(
            block.data,
            source=block.source.name,
            first_line_no=block.first_line_no,
            format=fmt,
            year=chain.year,
            prev_month=chain.month,
        )

    def _parse_all(
        self,
        blocks: Iterator[sources.Block],
        source: sources.Source,
        fmt: str,
        state: _Chain,
    ) -> Iterator[tuple[pa.RecordBatch, BlockStats, sources.Block]]:
        """Parses blocks in order, in parallel when ``jobs > 1``.

        Parallel blocks are parsed speculatively with the year the previous block started
        in; a block whose first line turns out to follow a December -> January rollover
        (or whose year moved) is parsed again with the right year. That happens at most
        once per year of logs, so parallel output is identical to sequential output.
        """
        try:
            # Even with one parser thread the next block is parsed while the caller writes
            # this one (Parquet encoding releases the GIL too), so reading, parsing and
            # writing overlap.
            with ThreadPoolExecutor(max_workers=self.options.jobs) as pool:
                pending: list[
                    tuple[Future[tuple[pa.RecordBatch, BlockStats]], sources.Block, int]
                ] = []
                window = self.options.jobs * 2 + 1
                for block in blocks:
                    pending.append(
                        (
                            pool.submit(self._parse_one, block, fmt, _Chain(state.year, None)),
                            block,
                            state.year,
                        )
                    )
                    while len(pending) >= window:
                        yield self._settle(pending.pop(0), fmt, state)
                while pending:
                    yield self._settle(pending.pop(0), fmt, state)
        except sources.SourceError as error:
            raise NoInputError(str(error)) from error

    def _settle(
        self,
        item: tuple[Future[tuple[pa.RecordBatch, BlockStats]], sources.Block, int],
        fmt: str,
        state: _Chain,
    ) -> tuple[pa.RecordBatch, BlockStats, sources.Block]:
        future, block, guessed_year = item
        batch, stats = future.result()
        first = stats["first_month"]
        if guessed_year != state.year or (state.month, first) in ((12, 1), (1, 12)):
            batch, stats = self._parse_one(block, fmt, state)
        _advance(state, stats)
        return batch, stats, block


def _advance(state: _Chain, stats: BlockStats) -> None:
    state.year = stats["year"]
    if stats["last_month"] is not None:
        state.month = stats["last_month"]


def _prepend(first: sources.Block, rest: Iterator[sources.Block]) -> Iterator[sources.Block]:
    yield first
    yield from rest


def parse_text(
    text: str | bytes, options: ParseOptions = ParseOptions(), *, parser: Parser | None = None
) -> tuple[pa.RecordBatch, BlockStats]:
    """Parses a few lines given as text (``explain``, tests, notebooks)."""
    parser = parser or make_parser(options)
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    fmt = options.input_format if options.input_format != "auto" else sources.detect_format(data)
    tz, _ = _zone(options.tz)
    month = sources.first_month(data)
    year = options.year or (
        sources.infer_start_year(time.time(), month, tz) if month else datetime.now(tz).year
    )
    return parser.parse(
        data, source="<text>", first_line_no=1, format=fmt, year=year, prev_month=None
    )
