"""Writers for ``mailreject parse``: JSON lines, CSV, a terminal table and Parquet.

Everything in an event that came from the log is a stranger's text. CSV cells that a
spreadsheet would run as a formula are neutralised; terminal output has control
characters replaced so a HELO name cannot move the cursor or retitle the terminal.
"""

from __future__ import annotations

import csv
import json
import queue
import re
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from mailreject.schema import COLUMN_NAMES, SCHEMA_VERSION

if TYPE_CHECKING:
    import pyarrow as pa

OutputFormat = Literal["jsonl", "csv", "table", "parquet"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds and a ``Z``, as the jsonl contract says."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csv_safe(value: Any) -> Any:
    """Neutralises a cell a spreadsheet would evaluate (``=HYPERLINK(...)`` in a HELO)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def terminal_safe(value: str) -> str:
    """Replaces control characters (escape sequences) with ``?``."""
    return _CONTROL.sub("?", value)


class EventWriter(Protocol):
    """Writes record batches somewhere; ``close`` flushes."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


def _rows(batch: pa.RecordBatch) -> Iterable[dict[str, Any]]:
    return batch.to_pylist()  # type: ignore[no-any-return]


class JsonLinesWriter:
    """One JSON object per event; keys are the column names, ``ts`` ISO 8601 UTC."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, batch: pa.RecordBatch) -> None:
        dumps = json.dumps
        lines = []
        for row in _rows(batch):
            row["ts"] = iso_utc(row["ts"])
            lines.append(dumps(row, ensure_ascii=False))
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self.out.flush()


class CsvWriter:
    """RFC 4180 CSV with a header row; formula-looking cells are neutralised."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.writer = csv.writer(out)
        self.writer.writerow(COLUMN_NAMES)

    def write(self, batch: pa.RecordBatch) -> None:
        for row in _rows(batch):
            row["ts"] = iso_utc(row["ts"])
            self.writer.writerow([csv_safe(row[c]) for c in COLUMN_NAMES])

    def close(self) -> None:
        self.out.flush()


TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("ts", 20),
    ("kind", 14),
    ("layer", 10),
    ("restriction", 30),
    ("client_ip", 16),
    ("sender", 24),
    ("recipient", 24),
    ("detail", 60),
)


class TableWriter:
    """A fixed-width text table of the most telling columns, for reading in a terminal."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.out.write(self._line({name: name for name, _ in TABLE_COLUMNS}) + "\n")

    @staticmethod
    def _line(row: dict[str, Any]) -> str:
        cells = []
        for name, width in TABLE_COLUMNS:
            value = row.get(name)
            text = "" if value is None else terminal_safe(str(value))
            if len(text) > width:
                text = text[: width - 1] + "…"
            cells.append(text.ljust(width))
        return " ".join(cells).rstrip()

    def write(self, batch: pa.RecordBatch) -> None:
        for row in _rows(batch):
            ts = row["ts"]
            row["ts"] = ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""
            self.out.write(self._line(row) + "\n")

    def close(self) -> None:
        self.out.flush()


def parquet_metadata() -> dict[bytes, bytes]:
    """Key-value metadata written into every Parquet file of events."""
    return {b"mailreject.schema_version": SCHEMA_VERSION.encode()}


#: Columns whose values only grow (line numbers) or nearly (times): delta encoding is
#: smaller and cheaper than a dictionary of values that are all different.
_DELTA_COLUMNS = ("ts", "line_no")
#: Per-client values and free text: their min/max statistics span nearly everything in any
#: row group, so they prune nothing, and computing them cost ~10% of the encoding.
_NO_STATISTICS = ("client_name", "client_ip", "helo", "sender", "recipient", "queue_id", "detail")


class ParquetFileWriter:
    """A single Parquet file, zstd-compressed, dictionary-encoded, with statistics.

    Args:
        path: File or binary stream to write.
        schema: The event schema.
        row_group_rows: Batches are gathered into row groups of at least this many rows
            (the last one excepted). Larger row groups encode faster (fewer dictionaries and
            pages) and compress better, at the cost of holding the batches meanwhile; 0
            writes each batch as it comes (the store, which keeps a writer per day open).
        background: Encode row groups on a thread of their own, so that the caller goes
            on reading input meanwhile (pyarrow releases the GIL while encoding). Errors
            are raised by the next ``write`` or by ``close``.

    """

    def __init__(
        self,
        path: Path | IO[bytes],
        schema: pa.Schema,
        row_group_rows: int = 0,
        background: bool = False,
    ) -> None:
        import pyarrow.parquet as pq

        self.schema = schema.with_metadata(parquet_metadata())
        names = schema.names
        self.writer = pq.ParquetWriter(
            path,
            self.schema,
            compression="zstd",
            compression_level=1,
            use_dictionary=[n for n in names if n not in _DELTA_COLUMNS],
            column_encoding={n: "DELTA_BINARY_PACKED" for n in _DELTA_COLUMNS if n in names},
            write_statistics=[n for n in names if n not in _NO_STATISTICS],
        )
        self.row_group_rows = row_group_rows
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue[pa.Table | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            # One row group waiting at most: memory stays bounded if encoding lags.
            self._queue = queue.Queue(maxsize=1)
            self._thread = threading.Thread(target=self._encode, name="parquet-writer", daemon=True)
            self._thread.start()

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        self.pending.append(batch.replace_schema_metadata(self.schema.metadata))
        self.pending_rows += batch.num_rows
        if self.pending_rows >= self.row_group_rows:
            self.flush()

    def flush(self) -> None:
        """Writes the gathered batches as a row group now (nothing when none are pending)."""
        if self._error is not None:
            raise self._error
        if self.pending:
            import pyarrow as pa

            table = pa.Table.from_batches(self.pending, self.schema)
            self.pending, self.pending_rows = [], 0
            if self._queue is None:
                self.writer.write_table(table)
            else:
                self._queue.put(table)

    def _encode(self) -> None:
        assert self._queue is not None
        while (table := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.writer.write_table(table)
                except BaseException as error:  # raised in the caller's thread by flush/close
                    self._error = error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._thread is not None and self._queue is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None
            self.writer.close()
        if self._error is not None:
            raise self._error


class RustParquetFileWriter:
    """A Parquet file encoded by the Rust extension on a thread of its own, without the GIL.

    The same layout as :class:`ParquetFileWriter` (``parsers/src/sink.rs``: zstd level 1,
    dictionary encoding but delta encoding for ``ts`` and ``line_no``, no statistics on the
    free-text columns, :func:`parquet_metadata`), written by the arrow-rs ``parquet`` crate
    instead of pyarrow: a 5M-line parse on one core spent ~3.5 s of CPU in pyarrow's
    encoder and its Python hand-off. The dictionary-encoded columns (strings and numbers)
    are encoded by the extension itself (``parsers/src/dictcol.rs``), about half the
    crate's cost, into the same pages and statistics. Errors (a full disk) are raised as
    ``OSError`` by the next ``write`` or by ``close``.

    Args:
        path: File to create.
        row_group_rows: Rows per row group (the last one excepted); 0 writes a row group
            per batch.

    """

    def __init__(self, path: Path | str, row_group_rows: int = 0) -> None:
        from mailreject._parsers import ParquetWriter

        metadata = [(k.decode(), v.decode()) for k, v in parquet_metadata().items()]
        self._writer = ParquetWriter(path, row_group_rows=row_group_rows, metadata=metadata)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write(batch)

    def close(self) -> None:
        self._writer.close()


#: Row groups of `mailreject parse --format parquet` files: ~3 blocks of a busy MX log.
#: Encoding 789k events took 0.68 s of CPU with a row group per block, 0.53 s with these
#: (0.51 s with 64k rows, but the 5M-line parse then peaked at ~300 MB instead of ~230 MB).
PARSE_ROW_GROUP_ROWS = 32 * 1024


#: Row groups of `parse --format parquet` files written by the Rust encoder. It holds
#: encoded pages, not Arrow batches, so larger groups cost little memory, and they rebuild
#: dictionaries and page buffers 4 times less often: on 1M lines, with the CLI's mimalloc
#: settings (no purge delay), 78k page faults with 32k-row groups, 54k with these (52k for
#: pyarrow's writer), for 13 MB more peak RSS.
RUST_PARSE_ROW_GROUP_ROWS = 128 * 1024


def make_writer(
    fmt: OutputFormat, text_out: IO[str] | None, binary_out: Path | IO[bytes] | None
) -> EventWriter:
    """The writer for ``fmt``; text formats write to ``text_out``, Parquet to ``binary_out``."""
    if fmt == "parquet":
        from mailreject._parsers import event_schema

        if binary_out is None:
            raise ValueError("parquet output needs a file or a binary stream")
        if isinstance(binary_out, (str, Path)):
            return RustParquetFileWriter(binary_out, row_group_rows=RUST_PARSE_ROW_GROUP_ROWS)
        return ParquetFileWriter(
            binary_out, event_schema(), row_group_rows=PARSE_ROW_GROUP_ROWS, background=True
        )
    if text_out is None:
        raise ValueError(f"{fmt} output needs a text stream")
    if fmt == "jsonl":
        return JsonLinesWriter(text_out)
    if fmt == "csv":
        return CsvWriter(text_out)
    return TableWriter(text_out)
