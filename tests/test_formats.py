"""The Parquet writers: row groups gathered from batches, encoding on a thread of its own."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailreject._parsers import count_lines, event_schema
from mailreject.formats import ParquetFileWriter, RustParquetFileWriter, make_writer
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


@pytest.mark.parametrize(("rows", "groups"), [(0, 10), (300, 4)])
def test_rust_writer_writes_what_pyarrow_writes(tmp_path: Path, rows: int, groups: int) -> None:
    batches = _batches()
    ours, theirs = tmp_path / "rust.parquet", tmp_path / "pyarrow.parquet"
    writer = RustParquetFileWriter(ours, row_group_rows=rows)
    reference = ParquetFileWriter(theirs, event_schema(), row_group_rows=rows)
    for batch in batches:
        writer.write(batch)
        reference.write(batch)
    writer.close()
    reference.close()
    table, expected = pq.read_table(ours), pq.read_table(theirs)
    assert table.equals(expected)
    assert table.schema.equals(expected.schema, check_metadata=True)
    assert pq.read_metadata(ours).metadata[b"mailreject.schema_version"] == b"1"
    assert pq.ParquetFile(ours).num_row_groups == groups
    # The same layout: encodings, compression and which columns carry statistics.
    ours_meta, theirs_meta = pq.read_metadata(ours), pq.read_metadata(theirs)
    for i, name in enumerate(event_schema().names):
        mine, ref = ours_meta.row_group(0).column(i), theirs_meta.row_group(0).column(i)
        assert mine.compression == ref.compression == "ZSTD", name
        assert ("DELTA_BINARY_PACKED" in mine.encodings) == (name in ("ts", "line_no")), name
        assert (mine.statistics is not None and mine.statistics.has_min_max) == (
            ref.statistics is not None and ref.statistics.has_min_max
        ), name


def _awkward_batch(rows: int) -> pa.RecordBatch:
    """Values the string and number encoders treat apart: runs of nulls, an all-null
    column, empty and non-ASCII strings, more than 1 MiB of distinct details (the
    dictionary gives way to PLAIN pages), -0.0 beside 0.0, large integers."""
    schema = event_schema()
    kinds = ["reject", "connect", None, "ñandú ✓", ""]
    values: dict[str, pa.Array] = {
        "host": pa.array(["mx1"] * rows),
        "kind": pa.array([kinds[i * 7 // 3 % len(kinds)] for i in range(rows)]),
        "sender": pa.array([None if (i // 500) % 3 == 0 else f"s{i % 3}@x" for i in range(rows)]),
        "detail": pa.array([f"detail {i:09d} " + "x" * (i % 50) for i in range(rows)]),
        "smtp_code": pa.array([450 + i % 3 for i in range(rows)], pa.int16()),
        "client_port": pa.array([None if i % 5 == 0 else i * 7919 % 65536 for i in range(rows)]),
        "size": pa.array([None if i % 7 == 0 else (i - 30_000) * 1_000_003 for i in range(rows)]),
        "delay": pa.array([[0.0, -0.0, 0.25, None, -1.5][i % 5] for i in range(rows)]),
        "line_no": pa.array(range(1, rows + 1)),
    }
    columns = [
        values[f.name].cast(f.type) if f.name in values else pa.nulls(rows, f.type) for f in schema
    ]
    return pa.record_batch(columns, schema=schema)


def test_rust_writer_matches_pyarrow_on_awkward_values(tmp_path: Path) -> None:
    batch = _awkward_batch(70_000)
    ours, theirs = tmp_path / "rust.parquet", tmp_path / "pyarrow.parquet"
    writer = RustParquetFileWriter(ours, row_group_rows=50_000)
    reference = ParquetFileWriter(theirs, event_schema(), row_group_rows=50_000)
    for start in range(0, batch.num_rows, 10_000):
        writer.write(batch.slice(start, 10_000))
        reference.write(batch.slice(start, 10_000))
    writer.close()
    reference.close()
    table = pq.read_table(ours)
    assert table.equals(pq.read_table(theirs))
    assert table.replace_schema_metadata(None).equals(
        pa.Table.from_batches([batch]).replace_schema_metadata(None)
    )
    ours_meta, theirs_meta = pq.read_metadata(ours), pq.read_metadata(theirs)
    assert ours_meta.num_row_groups == theirs_meta.num_row_groups == 2
    detail = event_schema().get_field_index("detail")
    assert "PLAIN" in ours_meta.row_group(0).column(detail).encodings
    for g in range(ours_meta.num_row_groups):
        for i, name in enumerate(event_schema().names):
            mine, ref = ours_meta.row_group(g).column(i), theirs_meta.row_group(g).column(i)
            assert mine.num_values == ref.num_values, name
            if mine.statistics is None or ref.statistics is None:
                assert mine.statistics is ref.statistics is None, name
                continue
            assert mine.statistics.null_count == ref.statistics.null_count, name
            assert mine.statistics.has_min_max == ref.statistics.has_min_max, name
            if mine.statistics.has_min_max:
                assert str(mine.statistics.min) == str(ref.statistics.min), name
                assert str(mine.statistics.max) == str(ref.statistics.max), name


def test_rust_writer_errors_are_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        RustParquetFileWriter(tmp_path / "missing" / "e.parquet")
    writer = RustParquetFileWriter(tmp_path / "e.parquet")
    writer.close()
    with pytest.raises(OSError, match="closed"):
        writer.write(_batches()[0])


def test_parse_writes_parquet_files_with_the_rust_writer(tmp_path: Path) -> None:
    writer = make_writer("parquet", None, tmp_path / "e.parquet")
    assert isinstance(writer, RustParquetFileWriter)
    writer.close()
    assert isinstance(make_writer("parquet", None, io.BytesIO()), ParquetFileWriter)


def test_count_lines_counts_newlines() -> None:
    for data in (b"", b"a", b"\n", b"a\nb\r\n\n", bytes(range(256)) * 1000):
        assert count_lines(data) == data.count(b"\n")
