"""The public Python API over the store: :func:`load` (pandas) and :func:`dataset` (Arrow).

Both read only committed data (see :mod:`mailreject.store`), never take the writer's
lock, and can run while ``mailreject ingest`` writes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from mailreject.schema import COLUMN_NAMES
from mailreject.store import DataFile, Store, resolve_store_path

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

__all__ = ["dataset", "load"]

TimeBound = str | date | datetime | None
StorePath = str | os.PathLike[str] | None

#: String columns with few distinct values, turned into categoricals by ``categories``.
CATEGORY_COLUMNS = (
    "host", "program", "instance", "kind", "layer", "restriction", "action", "stage",
    "dsn", "proto", "rbl_zone", "rule", "source",
)  # fmt: skip
_ATTEMPTS = 3


def _schema() -> pa.Schema:
    import pyarrow as pa

    from mailreject._parsers import event_schema

    return event_schema().append(pa.field("date", pa.date32()))


def _arrow_dataset(
    store: Store,
    files: Sequence[DataFile],
    dictionaries: Sequence[str] = (),
) -> ds.Dataset:
    """The files as a dataset; ``dictionaries`` read dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = _schema()
    for index, field in enumerate(schema):
        if field.name in dictionaries:
            schema = schema.set(index, field.with_type(pa.dictionary(pa.int32(), pa.string())))
    return ds.dataset(
        [str(f.path) for f in files],
        schema=schema,
        format=ds.ParquetFileFormat(
            read_options=ds.ParquetReadOptions(dictionary_columns=list(dictionaries))
        ),
        partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
        partition_base_dir=str(store.events_dir),
    )


def _open(store: StorePath) -> Store:
    target = Store(resolve_store_path(store))
    target.require()
    return target


def dataset(store: StorePath = None) -> ds.Dataset:
    """The store as a :class:`pyarrow.dataset.Dataset`, for DuckDB, Polars or Spark.

    The dataset lists the files committed when it is made; ``date`` is a hive partition
    key (``date32``), so filters on it skip whole days without opening their files.

    Args:
        store: Store directory (default: ``$MAILREJECT_STORE``, else the XDG data dir).

    Returns:
        The dataset: the event schema plus ``date``.

    Raises:
        StoreNotFoundError: If there is no store.

    Example:
        With the store of ``mailreject ingest sample_logs/mail.log --year 2026 --tz UTC``:

        >>> import datetime
        >>> import pyarrow.dataset as ds
        >>> import mailreject
        >>> events = mailreject.dataset()
        >>> events.count_rows(filter=ds.field("kind") == "reject")
        67
        >>> events.count_rows(filter=ds.field("date") == datetime.date(2026, 11, 4))
        266
        >>> import duckdb  # doctest: +SKIP
        >>> duckdb.sql("select kind, count(*) from events group by kind")  # doctest: +SKIP

    """
    target = _open(store)
    return _arrow_dataset(target, target.data_files(target.read_state()))


def _bound(value: TimeBound, name: str) -> date | datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name}={value!r} is not an ISO date or time (2026-11-01)") from None
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=timezone.utc)
            if value.tzinfo is None
            else value.astimezone(timezone.utc)
        )
    if isinstance(value, date):
        return value
    raise TypeError(
        f"{name} must be a date, a datetime or an ISO string, not {type(value).__name__}"
    )


def _day_range(
    since: date | datetime | None, until: date | datetime | None
) -> tuple[date | None, date | None]:
    first = since.date() if isinstance(since, datetime) else since
    if isinstance(until, datetime):  # an exclusive instant
        last: date | None = (until - timedelta(microseconds=1)).date()
    else:
        last = until
    return first, last


def load(
    since: TimeBound = None,
    until: TimeBound = None,
    *,
    kinds: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    store: StorePath = None,
    categories: bool = False,
) -> pd.DataFrame:
    """Stored events as a pandas DataFrame, sorted by time.

    Only the day partitions in ``since..until`` are opened. Dtypes: ``ts`` is
    ``datetime64[us, UTC]``; ``date`` holds :class:`datetime.date` objects; integer
    columns are nullable (``Int16``/``Int32``/``Int64``); strings are plain strings
    (categoricals only with ``categories=True``).

    Args:
        since: First day (a date or ``"2026-11-01"``: whole day included) or first
            instant (a datetime or ISO time, included; naive means UTC).
        until: Last day (a date: whole day included) or an instant (excluded).
        kinds: Only these event kinds (``["reject", "reject_warning"]``).
        columns: Only these columns (default: all, plus ``date``).
        store: Store directory (default: ``$MAILREJECT_STORE``, else the XDG data dir).
        categories: Low-cardinality string columns as ``category`` dtype.

    Returns:
        One row per event.

    Raises:
        StoreNotFoundError: If there is no store.
        ValueError: If a bound or column name is not understood.

    Example:
        With the store of ``mailreject ingest sample_logs/mail.log --year 2026 --tz UTC``:

        >>> import mailreject
        >>> df = mailreject.load("2026-11-03", "2026-11-04", kinds=["reject", "reject_warning"])
        >>> df["kind"].value_counts().to_dict()
        {'reject': 67, 'reject_warning': 7}
        >>> str(df["ts"].dtype)
        'datetime64[us, UTC]'
        >>> len(mailreject.load("2026-11-04T08:15:12Z", kinds=["reject"]))  # from an instant on
        18
        >>> mailreject.load(columns=["ts", "kind"]).columns.tolist()
        ['ts', 'kind']

    """
    known = [*COLUMN_NAMES, "date"]
    wanted = list(columns) if columns is not None else known
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; columns are {known}")
    table = _read_table(since, until, kinds=kinds, columns=wanted, store=store)
    return _to_pandas(table, categories)


def _read_table(
    since: TimeBound,
    until: TimeBound,
    *,
    columns: Sequence[str],
    store: StorePath,
    kinds: Sequence[str] | None = None,
    dictionaries: Sequence[str] = (),
) -> pa.Table:
    """The Arrow table behind :func:`load`, sorted; ``dictionaries`` columns dictionary-encoded.

    Dictionary columns come straight from the Parquet dictionary pages: no strings are
    materialised and hashed again to make categoricals of them. The other strings come
    with 64-bit offsets, as pandas' Arrow-backed strings hold them (converting in
    ``to_pandas`` would copy them again); they are read as plain strings and widened once
    per column, which costs less CPU than the dataset scanner widening batch by batch.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    start, end = _bound(since, "since"), _bound(until, "until")
    first, last = _day_range(start, end)
    condition = None
    for part in (
        ds.field("date") >= first if first is not None else None,
        ds.field("date") <= last if last is not None else None,
        ds.field("ts") >= start if isinstance(start, datetime) else None,
        ds.field("ts") < end if isinstance(end, datetime) else None,
        ds.field("kind").isin(list(kinds)) if kinds is not None else None,
    ):
        if part is not None:
            condition = part if condition is None else condition & part
    target = _open(store)
    for attempt in range(_ATTEMPTS):
        files = target.data_files(target.read_state(), first, last)
        try:
            dataset = _arrow_dataset(target, files, dictionaries)
            table = dataset.to_table(columns=list(columns), filter=condition)
            break
        except FileNotFoundError:  # compacted or pruned meanwhile: list again
            if attempt == _ATTEMPTS - 1:
                raise
    order = [(c, "ascending") for c in ("ts", "source", "line_no") if c in columns]
    if order and table.num_rows and not _is_sorted(table, [c for c, _ in order]):
        table = table.sort_by(order)
    for index, field in enumerate(table.schema):
        if field.type == pa.string():
            table = table.set_column(index, field.name, table.column(index).cast(pa.large_string()))
    result: pa.Table = table
    return result


def _is_sorted(table: pa.Table, keys: Sequence[str]) -> bool:
    """Whether ``table`` is already in ascending order of ``keys`` (nulls last).

    The store is written in log order, so this is the common case; sorting would copy
    every column through a take. Checked in Arrow, one key at a time, only on the rows
    tied on the keys before it.
    """
    import pyarrow.compute as pc

    if table.num_rows < 2:
        return True
    ties: pa.ChunkedArray | None = None  # rows equal to the next one on the keys so far
    for name in keys:
        column = table.column(name)
        if column.null_count:
            return False
        head, tail = column.slice(0, table.num_rows - 1), column.slice(1)
        in_order = pc.less_equal(head, tail)
        if ties is not None:
            in_order = pc.or_(in_order, pc.invert(ties))
        if not pc.all(in_order).as_py():
            return False
        equal = pc.equal(head, tail)
        ties = equal if ties is None else pc.and_(ties, equal)
        if not pc.any(ties).as_py():
            break
    return True


def _to_pandas(table: pa.Table, categories: bool) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    mapping = {
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
    }
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapping.get)
    if categories:
        for name in CATEGORY_COLUMNS:
            if name in frame.columns:
                frame[name] = frame[name].astype("category")
    return frame
