"""Writers for ``mailreject parse``: JSON lines, CSV, a terminal table and Parquet.

Everything in an event that came from the log is a stranger's text. CSV cells that a
spreadsheet would run as a formula are neutralised; terminal output has control
characters replaced so a HELO name cannot move the cursor or retitle the terminal.
"""

from __future__ import annotations

import csv
import json
import re
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


class ParquetFileWriter:
    """A single Parquet file, zstd-compressed, dictionary-encoded, with statistics."""

    def __init__(self, path: Path | IO[bytes], schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self.schema = schema.with_metadata(parquet_metadata())
        self.writer = pq.ParquetWriter(
            path,
            self.schema,
            compression="zstd",
            compression_level=1,
            use_dictionary=True,
            write_statistics=True,
        )

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.writer.write_batch(batch.replace_schema_metadata(self.schema.metadata))

    def close(self) -> None:
        self.writer.close()


def make_writer(
    fmt: OutputFormat, text_out: IO[str] | None, binary_out: Path | IO[bytes] | None
) -> EventWriter:
    """The writer for ``fmt``; text formats write to ``text_out``, Parquet to ``binary_out``."""
    if fmt == "parquet":
        from mailreject._parsers import event_schema

        if binary_out is None:
            raise ValueError("parquet output needs a file or a binary stream")
        return ParquetFileWriter(binary_out, event_schema())
    if text_out is None:
        raise ValueError(f"{fmt} output needs a text stream")
    if fmt == "jsonl":
        return JsonLinesWriter(text_out)
    if fmt == "csv":
        return CsvWriter(text_out)
    return TableWriter(text_out)
