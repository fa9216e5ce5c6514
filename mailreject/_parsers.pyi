"""Type stubs for the Rust extension module built from parsers/."""

import os
from typing import Any

import pyarrow as pa

MAX_LINE_BYTES: int

class Parser:
    def __init__(
        self, extra_rules: list[tuple[str, str]] = ..., tz: str | None = ..., builtin: bool = ...
    ) -> None: ...
    def parse(
        self,
        data: bytes,
        *,
        source: str,
        first_line_no: int = ...,
        format: str = ...,
        year: int,
        prev_month: int | None = ...,
    ) -> tuple[pa.RecordBatch, dict[str, Any]]: ...
    def rules(self) -> list[tuple[str, str, list[str], str, str | None, bool]]: ...

class ParquetWriter:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        row_group_rows: int = ...,
        metadata: list[tuple[str, str]] = ...,
    ) -> None: ...
    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...

def count_lines(data: bytes) -> int: ...
def default_rules() -> list[tuple[str, str]]: ...
def event_schema() -> pa.Schema: ...
