"""Ingestion: parse logs incrementally into the store, once (cron) or following them.

Everything is read through :class:`mailreject.parsing.ParseRun` (``parsed_blocks`` with a
``resume`` callback); this module only decides where each input resumes
(:mod:`mailreject.checkpoints`), sends the events of parsed blocks to per-day files
(:class:`mailreject.transaction.Transaction`), and commits them together with the
checkpoints they complete (:meth:`mailreject.store.Store.commit`), only ever between
blocks. Which inputs are read is :mod:`mailreject.inputs`' business; following them is
:mod:`mailreject.follow`'s.

A plain file's last line without a newline is not stored (nor counted as read) while it
may still be being written; it is read again, whole, next time.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from mailreject import checkpoints as cps
from mailreject import sources
from mailreject.checkpoints import Checkpoint
from mailreject.inputs import (
    StdinReader,
    known_complete,
    open_stdin,
    refuse_duplicates,
    resolve_inputs,
    rotated_predecessors,
)
from mailreject.locking import StoreBusyError
from mailreject.parsing import (
    ParsedBlock,
    ParseOptions,
    ParseRun,
    ParseSummary,
    Resume,
    make_parser,
)
from mailreject.status import ExitStatus, NoInputError, UsageError
from mailreject.store import LocalFS, State, Store, resolve_store_path

if TYPE_CHECKING:
    import pyarrow as pa

    from mailreject._parsers import Parser

__all__ = ["IngestReport", "IngestSettings", "ingest"]

#: Checkpoints of standard-input streams kept (each ``journalctl | ingest -`` adds one).
MAX_STDIN_CHECKPOINTS = 64
#: Rows per Parquet row group the buffer aims at (small batches are coalesced).
ROW_GROUP_ROWS = 1 << 14
#: Days after which a commit is made early (one file is open per day being written).
MAX_OPEN_DAYS = 32


@dataclass(frozen=True)
class IngestSettings:
    """How ``ingest`` behaves beyond the shared reading options.

    Attributes:
        allow_duplicates: Accept ``mail.err``/``mail.warn``/``mail.info`` inputs.
        wait: Seconds to wait for another writer's lock before failing.
        flush_bytes: Commit when this many bytes of events are buffered.
        flush_interval: ``follow``: commit at least this often (seconds).
        poll_interval: ``follow``: how often to look for growth and rotation.
        compact_after: Compact a day written to when it has more files than this
            (0: never).
        drain_seconds: ``follow``: keep reading a rotated-away file this long.

    """

    allow_duplicates: bool = False
    wait: float = 0.0
    flush_bytes: int = 24 << 20
    flush_interval: float = 5.0
    poll_interval: float = 0.5
    compact_after: int = 32
    drain_seconds: float = 5.0


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes:
        store: The store path.
        summary: Parsing counters (every line read this time).
        stored_events: Events committed to the store.
        stored_by_kind: Those, by kind.
        skipped_lines: Lines not read because they were stored before.
        files_written: Parquet files written (before compaction).
        compacted: Partitions compacted.
        failures: One message per input that could not be read.
        seconds: Wall time.

    """

    store: Path
    summary: ParseSummary
    stored_events: int = 0
    stored_by_kind: Counter[str] = field(default_factory=Counter)
    skipped_lines: int = 0
    files_written: int = 0
    compacted: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_status(self) -> ExitStatus:
        """SUCCESS, or PARTIAL when some inputs failed."""
        return ExitStatus.PARTIAL if self.failures else ExitStatus.SUCCESS

    def one_line(self) -> str:
        """The parse summary plus what was stored, for cron mails."""
        return (
            f"{self.summary.one_line()}; stored {self.stored_events} new events in {self.store}"
            f" ({self.files_written} files, {self.seconds:.1f} s),"
            f" skipped {self.skipped_lines} already-stored lines"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "store": str(self.store),
            **self.summary.to_dict(),
            "stored_events": self.stored_events,
            "stored_by_kind": dict(sorted(self.stored_by_kind.items())),
            "skipped_lines": self.skipped_lines,
            "files_written": self.files_written,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Stream:
    """One input within a pass: its checkpoint (None until something is stored)."""

    source: sources.Source
    display: str
    head: bytes
    checkpoint: Checkpoint | None
    fd: int | None
    base: int = 0
    last_day: str | None = None


def _merge_summary(total: ParseSummary, part: ParseSummary, display: dict[str, str]) -> None:
    total.lines += part.lines
    total.events += part.events
    total.events_by_kind.update(part.events_by_kind)
    total.unparsed.update(part.unparsed)
    total.skipped.update(part.skipped)
    total.unmatched += part.unmatched
    total.repaired += part.repaired
    total.bytes += part.bytes
    total.seconds += part.seconds
    total.tz = part.tz
    for key, pick in (("min_ts", min), ("max_ts", max)):
        value = getattr(part, key)
        if value is not None:
            current = getattr(total, key)
            setattr(total, key, value if current is None else pick(current, value))
    known = {s.name: s for s in total.sources}
    for info in part.sources:
        info.name = display.get(info.name, info.name)
        mine = known.get(info.name)
        if mine is None:
            total.sources.append(info)
            known[info.name] = info
        else:
            mine.lines += info.lines
            mine.events += info.events
            mine.bytes += info.bytes
            mine.end_offset = info.end_offset


def _split_days(batch: pa.RecordBatch, fallback: str) -> list[tuple[str, pa.RecordBatch]]:
    """Cuts a batch by the UTC day of ``ts``; undated events go with the event before."""
    import pyarrow as pa
    import pyarrow.compute as pc

    days = pc.cast(batch.column("ts"), pa.date32())
    if days.null_count:
        days = pc.fill_null_forward(days)
        if days.null_count:
            days = pc.fill_null(days, pa.scalar(date.fromisoformat(fallback), pa.date32()))
    bounds = pc.min_max(days).as_py()
    if bounds["min"] == bounds["max"]:
        return [(bounds["min"].isoformat(), batch)]
    return [
        (day.isoformat(), batch.filter(pc.equal(days, pa.scalar(day, pa.date32()))))
        for day in sorted(pc.unique(days).to_pylist())
    ]


class Ingestor:
    """Reads inputs from their checkpoints into a buffer and commits it."""

    def __init__(
        self,
        store: Store,
        state: State,
        options: ParseOptions,
        settings: IngestSettings,
        parser: Parser,
        stdin: BinaryIO | None,
        on_progress: Callable[[int, ParseSummary], None] | None,
        should_stop: Callable[[], bool],
    ) -> None:
        self.store = store
        self.state = state
        self.options = options
        self.settings = settings
        self.parser = parser
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.checkpoints = {cp.id: cp for cp in state.checkpoints}
        self.dirty = False
        self.txn = store.transaction()
        self.pending: dict[str, list[pa.RecordBatch]] = {}
        self.pending_rows: Counter[str] = Counter()
        self.pending_bytes = 0
        self.buffered_events = 0
        self.buffered_kinds: Counter[str] = Counter()
        self.touched: set[str] = set()
        self.seen: set[str] = set()
        self.display: dict[str, str] = {}
        self.current: _Stream | None = None
        self.current_name: str | None = None
        self.stdin_reader: StdinReader | None = None
        self.stdin = stdin
        self.report = IngestReport(store.path, ParseSummary())
        self.lock_held = False
        self.rewound = False

    # ---------------------------------------------------------------- passes
    def run(self, srcs: Sequence[sources.Source], display: dict[str, str] | None = None) -> bool:
        """Reads the sources from their checkpoints; False when stopped or rewound early."""
        self.display = display or {}
        remaining = list(srcs)
        while remaining:
            names = [s.name for s in remaining]
            stdin = cast(BinaryIO, self.stdin_reader) if sources.STDIN_NAME in names else self.stdin
            try:
                run = ParseRun(
                    names, self.options, stdin=stdin, parser=self.parser,
                    resume=self._resume, on_progress=self.on_progress,
                )  # fmt: skip
            except NoInputError:  # an input vanished since it was resolved
                still = resolve_inputs(names, stdin, self.report.failures)
                if len(still) == len(remaining):
                    raise
                remaining = still
                continue
            blocks = run.parsed_blocks()
            try:
                for parsed in blocks:
                    self._accept(parsed)
                    # Commits only between blocks: a checkpoint covers whole blocks.
                    crowded = len({*self.pending, *self.txn.days}) >= MAX_OPEN_DAYS
                    if self.buffered >= self.settings.flush_bytes or crowded:
                        self.flush(wait=float("inf"))
                    if self.rewound or self.should_stop():
                        return False
                self._end_source(completed=True)
                remaining = []
            except NoInputError as error:
                self.report.failures.append(str(error))
                failed = self.current_name
                remaining = remaining[names.index(failed) + 1 :] if failed in names else []
            finally:
                close = getattr(blocks, "close", None)
                if close is not None:
                    close()  # the generator's own clean-up (closes the input) runs now
                self._end_source(completed=False)
                _merge_summary(self.report.summary, run.summary, self.display)
        return True

    def _resume(self, source: sources.Source) -> Resume | None:
        """ParseRun's callback at the start of each input: where to pick it up."""
        self._end_source(completed=True)
        self.current_name = source.name
        display = self.display.get(source.name, source.name)
        fd = None
        try:
            if source.path is None:
                if self.stdin_reader is None:
                    raise NoInputError("standard input is not available")
                head = self.stdin_reader.head()
            else:
                if source.compression == "none":
                    fd = os.open(source.path, os.O_RDONLY | os.O_CLOEXEC)
                head = cps.read_file_head(source, fd)
            checkpoint = cps.match(self.checkpoints.values(), source, head, fd) if head else None
        except (OSError, sources.SourceError) as error:
            if fd is not None:
                os.close(fd)
            reason = getattr(error, "strerror", None) or str(error)
            raise NoInputError(f"cannot read {display}: {reason}") from error
        stream = _Stream(source, display, head, checkpoint, fd)
        self.current = stream
        if checkpoint is None:
            return None
        if checkpoint.id not in self.seen:
            self.seen.add(checkpoint.id)
            self.report.skipped_lines += checkpoint.line_no - 1
        checkpoint.updated = time.time()  # seen: prune keeps checkpoints still in use
        self.dirty = True
        if source.path is None:
            return self._resume_stdin(stream, checkpoint)
        self._note_file(stream, checkpoint)
        return Resume(checkpoint.offset, checkpoint.line_no, checkpoint.year, checkpoint.month)

    def _resume_stdin(self, stream: _Stream, checkpoint: Checkpoint) -> Resume:
        assert self.stdin_reader is not None
        keep = checkpoint.last_line_length + 1
        done, tail = self.stdin_reader.skip(checkpoint.offset, keep)
        if done == checkpoint.offset and not cps.verify_last_line(checkpoint, tail):
            raise NoInputError(
                "standard input starts like a stream already stored but differs from it later;"
                " not storing it twice"
            )
        stream.base = done
        checkpoint.updated = time.time()
        self.dirty = True
        return Resume(0, checkpoint.line_no, checkpoint.year, checkpoint.month)

    def _note_file(self, stream: _Stream, checkpoint: Checkpoint) -> None:
        """Records which file a stream was last seen as (for status and rotation)."""
        source = stream.source
        path = os.path.abspath(stream.display)
        if (
            checkpoint.name,
            checkpoint.path,
            checkpoint.device,
            checkpoint.inode,
            checkpoint.size,
        ) != (stream.display, path, source.device, source.inode, source.size):
            checkpoint.name, checkpoint.path = stream.display, path
            checkpoint.device, checkpoint.inode = source.device, source.inode
            checkpoint.size, checkpoint.mtime = source.size, source.mtime
            checkpoint.compression = source.compression
            checkpoint.complete = False
            checkpoint.updated = time.time()
            self.dirty = True

    def _end_source(self, *, completed: bool) -> None:
        stream, self.current = self.current, None
        if stream is None:
            return
        if stream.fd is not None:
            os.close(stream.fd)
        cp = stream.checkpoint
        if completed and cp is not None and stream.source.compression != "none" and not cp.complete:
            cp.complete = True
            cp.updated = time.time()
            self.dirty = True

    # ---------------------------------------------------------------- blocks
    def _accept(self, parsed: ParsedBlock) -> None:
        stream = self.current
        block = parsed.block
        if stream is None or stream.source.name != block.source.name:
            raise AssertionError("block of an input that was not resumed")
        end = stream.base + block.end_offset
        if (
            stream.fd is not None
            and block.line_count == 1
            and end > 0
            and os.pread(stream.fd, 1, end - 1) != b"\n"
        ):
            return  # a last line still being written: read it again, whole, next time
        cp = stream.checkpoint
        if cp is None:
            cp = cps.new_checkpoint(stream.display, None, stream.head)
            self.checkpoints[cp.id] = cp
            stream.checkpoint = cp
            self.seen.add(cp.id)
            if stream.source.path is not None:
                self._note_file(stream, cp)
        elif len(stream.head) > cp.head_length:
            cp.fingerprint, cp.head_length = cps.fingerprint(stream.head), len(stream.head)
        batch = parsed.batch
        if batch.num_rows:
            if stream.display != block.source.name:
                batch = _rename_source(batch, stream.display)
            self._buffer(batch, stream)
            self.buffered_kinds.update(parsed.stats["events_by_kind"])
            self.buffered_events += batch.num_rows
        line = cps.last_line(block.data)
        cp.offset = end
        cp.line_no = block.first_line_no + block.line_count
        cp.year, cp.month, cp.format = parsed.year, parsed.month, parsed.format
        if len(line) < sources_max_line():
            cp.last_line_sha256, cp.last_line_length = cps.line_digest(line), len(line)
        else:  # cut to the maximum length: its raw bytes are unknown
            cp.last_line_sha256, cp.last_line_length = None, 0
        cp.updated = time.time()
        self.dirty = True

    def _buffer(self, batch: pa.RecordBatch, stream: _Stream) -> None:
        """Sends events to the transaction's day files, coalescing small batches."""
        fallback = stream.last_day or _fallback_day(stream.source)
        for day, part in _split_days(batch, fallback):
            stream.last_day = day
            # Without the lock (follow) nothing may be written: another writer's
            # recovery deletes temporary files. Events then wait in memory.
            if not self.lock_held:
                pass
            elif part.num_rows >= ROW_GROUP_ROWS // 4 and not self.pending.get(day):
                self.txn.write(day, part)
                continue
            self.pending.setdefault(day, []).append(part)
            self.pending_rows[day] += part.num_rows
            self.pending_bytes += part.nbytes
            if self.lock_held and self.pending_rows[day] >= ROW_GROUP_ROWS:
                self._write_pending(day)

    def _write_pending(self, day: str) -> None:
        import pyarrow as pa

        parts = self.pending.pop(day, [])
        self.pending_rows.pop(day, None)
        self.pending_bytes -= sum(p.nbytes for p in parts)
        if parts:
            table = pa.Table.from_batches(parts).combine_chunks()
            for batch in table.to_batches():
                self.txn.write(day, batch)

    @property
    def buffered(self) -> int:
        """Bytes of events read since the last commit."""
        return self.txn.bytes + self.pending_bytes

    @property
    def has_data(self) -> bool:
        """Whether events await a commit."""
        return bool(self.pending) or self.txn.rows > 0

    # ---------------------------------------------------------------- commits
    def _checkpoint_table(self) -> list[Checkpoint]:
        table = sorted(self.checkpoints.values(), key=lambda cp: cp.updated, reverse=True)
        stdin = [cp for cp in table if cp.path is None][MAX_STDIN_CHECKPOINTS:]
        dropped = {cp.id for cp in stdin}
        return sorted(
            (cp for cp in table if cp.id not in dropped), key=lambda cp: (cp.name, cp.offset)
        )

    def flush(self, wait: float = 0.0) -> bool:
        """Commits the buffer and checkpoints; False if the lock could not be had.

        Args:
            wait: Seconds to wait for the lock when this object does not hold it (an
                infinite wait still gives up when ``should_stop`` says so).

        """
        if not self.has_data and not self.dirty:
            return True
        if self.lock_held:
            self._commit()
            return True
        lock = self.store.lock("ingest --follow")
        try:
            stop = self.should_stop if wait == float("inf") else None
            lock.acquire(wait=wait, should_stop=stop)
        except StoreBusyError:
            return False
        try:
            fresh = self.store.recover()
            if fresh.checkpoints_rev != self.state.checkpoints_rev:
                self._adopt(fresh)  # another writer moved checkpoints: re-read from there
                return True
            self.state = fresh
            self._commit()
            self.compact_touched()
        finally:
            lock.release()
        return True

    def _commit(self) -> None:
        for day in list(self.pending):
            self._write_pending(day)
        days = self.txn.days
        self.state = self.store.commit(self.state, self.txn, self._checkpoint_table())
        self.report.files_written += len(days)
        self.report.stored_events += self.buffered_events
        self.report.stored_by_kind.update(self.buffered_kinds)
        self.touched.update(days)
        self._clear()

    def _clear(self) -> None:
        self.txn.abort()  # nothing left after a commit; unwanted data otherwise
        self.txn = self.store.transaction()
        self.pending = {}
        self.pending_rows = Counter()
        self.pending_bytes = self.buffered_events = 0
        self.buffered_kinds = Counter()
        self.dirty = False

    def _adopt(self, fresh: State) -> None:
        self.state = fresh
        self.checkpoints = {cp.id: cp for cp in fresh.checkpoints}
        self._clear()
        self.rewound = True

    def compact_touched(self) -> None:
        """Compacts days written to that have more than ``compact_after`` files."""
        limit = self.settings.compact_after
        if limit <= 0 or not self.touched:
            return
        crowded = []
        for day in sorted(self.touched):
            first = date.fromisoformat(day)
            if len(self.store.data_files(self.state, first, first)) > limit:
                crowded.append(day)
        self.touched = set()
        if crowded:
            from mailreject.maintenance import compact

            self.state, done, _ = compact(self.store, self.state, crowded)
            self.report.compacted += done


def sources_max_line() -> int:
    """The longest line content ``iter_blocks`` passes on whole (its default)."""
    return 1 << 20


def _fallback_day(source: sources.Source) -> str:
    stamp = source.mtime if source.mtime is not None else time.time()
    return datetime.fromtimestamp(stamp, timezone.utc).date().isoformat()


def _rename_source(batch: pa.RecordBatch, name: str) -> pa.RecordBatch:
    import pyarrow as pa

    index = batch.schema.get_field_index("source")
    return batch.set_column(
        index, "source", pa.repeat(pa.scalar(name, pa.string()), batch.num_rows)
    )


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------


def prepare(
    names: Sequence[str], options: ParseOptions, store: str | os.PathLike[str] | None,
    settings: IngestSettings, fs: LocalFS | None,
) -> tuple[Store, Parser]:  # fmt: skip
    """Checks the names and options and creates the store; shared with ``follow``."""
    if not names:
        raise UsageError("no input files given")
    refuse_duplicates(names, settings.allow_duplicates)
    parser = make_parser(options)  # validates --tz and --rules before touching the store
    target = Store(resolve_store_path(store), fs)
    target.create()
    return target, parser


def ingest(
    names: Sequence[str],
    options: ParseOptions | None = None,
    store: str | os.PathLike[str] | None = None,
    settings: IngestSettings | None = None,
    *,
    stdin: BinaryIO | None = None,
    on_progress: Callable[[int, ParseSummary], None] | None = None,
    fs: LocalFS | None = None,
) -> IngestReport:
    """Stores the new lines of the inputs' events in the store, once.

    Holds the store's lock throughout; reads each input from its checkpoint (rotated
    and compressed copies of stored content are recognised, see
    :mod:`mailreject.checkpoints`), commits every ``settings.flush_bytes`` of events and
    at the end, then compacts crowded days.

    Args:
        names: Files (``-`` for standard input).
        options: Shared reading options (year, zone, rules, format, jobs); default
            ParseOptions().
        store: Store directory (default: :func:`mailreject.store.resolve_store_path`).
        settings: Ingest behaviour (default: IngestSettings()).
        stdin: The stream behind ``-`` (default: the process's standard input).
        on_progress: Called after each parsed block with (bytes, summary).
        fs: File-system operations of the write path (tests inject failures).

    Returns:
        The report; ``failures`` lists inputs that could not be read (the others were
        stored).

    Raises:
        UsageError: Bad options, or duplicate inputs without ``allow_duplicates``.
        NoInputError: If no input could be read at all.
        StoreBusyError: If another writer holds the store past ``settings.wait``.
        StoreError: If the store cannot be written (nothing is then committed).

    Example:
        >>> report = ingest(["/var/log/mail.log"], store="/srv/mailreject")  # doctest: +SKIP
        >>> report.stored_events  # doctest: +SKIP
        1234

    """
    started = time.perf_counter()
    options = options or ParseOptions()
    settings = settings or IngestSettings()
    target, parser = prepare(names, options, store, settings, fs)
    with target.lock("ingest").acquire(settings.wait):
        state = target.recover()
        worker = Ingestor(
            target, state, options, settings, parser, stdin, on_progress, lambda: False
        )
        worker.lock_held = True
        failures = worker.report.failures
        if sources.STDIN_NAME in names:
            worker.stdin_reader = open_stdin(stdin)
        reader = cast(BinaryIO, worker.stdin_reader)
        srcs = resolve_inputs(names, reader, failures)
        extra = rotated_predecessors(srcs, worker.checkpoints.values())
        if extra:
            srcs = sources.resolve_sources([*[s.name for s in srcs], *extra], reader)
        todo = []
        for source in srcs:
            done = known_complete(source, worker.checkpoints.values())
            if done is None:
                todo.append(source)
            elif done.id not in worker.seen:
                worker.seen.add(done.id)
                worker.report.skipped_lines += done.line_no - 1
                done.updated = time.time()
                worker.dirty = True
        try:
            worker.run(todo)
        except BaseException:
            # Interrupted anywhere, possibly inside a block: commit nothing of this
            # flush (its lines are read again next time), delete its temporary files.
            worker.txn.abort()
            raise
        worker.flush()
        worker.compact_touched()
    report = worker.report
    report.seconds = time.perf_counter() - started
    if report.failures and len(report.failures) >= len(set(names)):
        raise NoInputError(
            report.failures[0], hint="nothing was stored" if len(names) == 1 else None
        )
    return report
