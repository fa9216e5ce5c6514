"""The Parquet writer: row groups gathered from batches, encoding on a thread of its own."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailreject._parsers import event_schema
from mailreject.formats import ParquetFileWriter
from mailreject.parsing import parse_text

LINES = "\n".join(
    f"Nov  3 13:01:{i % 60:02d} mx1 postfix/postscreen[901]: CONNECT from [198.51.100.{i % 250}]:{5000 + i}"
    for i in range(1000)
)


def _batches() -> list[pa.RecordBatch]:
    batch, _ = parse_text(LINES)
    return [batch.slice(i, 100) for i in range(0, batch.num_rows, 100)]


@pytest.mark.parametrize(("rows", "background", "groups"), [(0, False, 10), (300, True, 4)])
def test_round_trip(tmp_path: Path, rows: int, background: bool, groups: int) -> None:
    batches = _batches()
    out = tmp_path / "e.parquet"
    writer = ParquetFileWriter(out, event_schema(), row_group_rows=rows, background=background)
    for batch in batches:
        writer.write(batch)
    writer.close()
    table = pq.read_table(out)
    assert table.schema.remove_metadata().equals(event_schema())
    assert table.replace_schema_metadata(None).equals(
        pa.Table.from_batches(batches).replace_schema_metadata(None)
    )
    assert pq.ParquetFile(out).num_row_groups == groups
    assert table.schema.metadata[b"mailreject.schema_version"]


class _FullDisk(io.BytesIO):
    """A stream that fails once the file header has been written."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() > 0:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_background_errors_reach_the_caller() -> None:
    writer = ParquetFileWriter(_FullDisk(), event_schema(), background=True)
    with pytest.raises(OSError, match="No space left"):
        for batch in _batches():
            writer.write(batch)
        writer.close()
