"""The events of the next commit, streamed into one temporary Parquet file per day."""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailreject.filesystem import TMP_PREFIX, write_error

if TYPE_CHECKING:
    import pyarrow as pa

    from mailreject.store import Store

__all__ = ["STORE_ROW_GROUP_ROWS", "PartitionStats", "Transaction", "batch_stats"]

#: Rows gathered into one row group of a store file. Row groups of single parser batches
#: (~12k events) made reading a column of a month (12.5M events) about twice as slow and
#: the files 5% larger (192 vs 182 MB); 64k-row groups cost ingest 12 MB more peak RSS
#: than these (5M lines: 211 MB with batch-sized groups, 227 MB with 32k, 239 MB with 64k).
STORE_ROW_GROUP_ROWS = 32 * 1024


@dataclass
class PartitionStats:
    """Counts of one day's events, kept in the state so ``status`` reads no data."""

    events: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    min_ts: int | None = None
    max_ts: int | None = None

    def add(self, other: PartitionStats) -> None:
        """Adds another partition's counts."""
        self.events += other.events
        kinds = Counter(self.kinds)
        kinds.update(other.kinds)
        self.kinds = dict(sorted(kinds.items()))
        for key, pick in (("min_ts", min), ("max_ts", max)):
            value = getattr(other, key)
            if value is not None:
                current = getattr(self, key)
                setattr(self, key, value if current is None else pick(current, value))


def batch_stats(table: pa.Table | pa.RecordBatch) -> PartitionStats:
    """Counts events by kind and the time range of a table of events."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = {
        str(item["values"]): int(item["counts"])
        for item in pc.value_counts(table.column("kind")).to_pylist()
        if item["values"] is not None
    }
    # Microseconds as integers: as_py() on zoned timestamps would import pandas.
    bounds = pc.min_max(table.column("ts").cast(pa.int64())).as_py()
    return PartitionStats(table.num_rows, dict(sorted(kinds.items())), bounds["min"], bounds["max"])


class Transaction:
    """The events of the next commit, streamed into one temporary file per day.

    A day's batches are gathered into row groups of :data:`STORE_ROW_GROUP_ROWS` rows, and
    written as soon as a batch of another day comes (logs run in time order), so memory
    stays bounded however much is written before the commit. The encoding and compression
    happen on a background thread (Arrow releases the GIL), overlapping with parsing; a
    failure there is raised by the next call. :meth:`Store.commit` closes, fsyncs and
    renames the files, :meth:`abort` deletes them.
    """

    def __init__(self, store: Store, *, background: bool = True) -> None:
        self.store = store
        self.background = background
        self._files: dict[str, tuple[Path, Any]] = {}
        self._stats: dict[str, PartitionStats] = {}
        self._days: set[str] = set()
        self._last_day: str | None = None
        self._queue: queue.Queue[tuple[str, pa.RecordBatch] | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.bytes = 0
        self.rows = 0

    @property
    def days(self) -> list[str]:
        """Days written to so far."""
        return sorted(self._days)

    def write(self, day: str, batch: pa.RecordBatch) -> None:
        """Appends events of one UTC day (``"2026-11-03"``).

        Raises:
            StoreError: If writing fails (everything written so far is discarded).

        """
        if not batch.num_rows:
            return
        self._check()
        self._days.add(day)
        self.bytes += batch.nbytes
        self.rows += batch.num_rows
        if not self.background:
            self._write_now(day, batch)
            self._check()
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="store-writer", daemon=True)
            self._thread.start()
        self._queue.put((day, batch))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    self._write_now(*item)
            except BaseException as error:  # handed to the caller's thread by _check()
                self._error = error
            finally:
                self._queue.task_done()

    def _write_now(self, day: str, batch: pa.RecordBatch) -> None:
        try:
            entry = self._files.get(day)
            if entry is None:
                from mailreject._parsers import event_schema
                from mailreject.formats import ParquetFileWriter

                directory = self.store.partition_dir(day)
                tmp = directory / f"{TMP_PREFIX}{secrets.token_hex(6)}.parquet"
                self.store.fs.create_file(tmp)
                writer = ParquetFileWriter(tmp, event_schema(), row_group_rows=STORE_ROW_GROUP_ROWS)
                entry = self._files[day] = (tmp, writer)
            if day != self._last_day:  # logs run in time order: the other days are done
                for other, (_, open_writer) in self._files.items():
                    if other != day:
                        open_writer.flush()
                self._last_day = day
            entry[1].write(batch)
            self._stats.setdefault(day, PartitionStats()).add(batch_stats(batch))
        except BaseException as error:
            self._error = error

    def _drain(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _check(self) -> None:
        error = self._error
        if error is None:
            return
        self.abort()
        if isinstance(error, OSError):
            raise write_error(self.store.path, error) from error
        raise error

    def finish(self) -> list[tuple[str, Path, PartitionStats]]:
        """Closes the files; returns (day, temporary path, counts) for each.

        Raises:
            StoreError: If writing failed.

        """
        self._drain()
        self._check()
        done = []
        for day, (tmp, writer) in sorted(self._files.items()):
            writer.close()
            done.append((day, tmp, self._stats[day]))
        self._files = {}
        return done

    def abort(self) -> None:
        """Closes and deletes the temporary files."""
        self._drain()
        self._error = None
        files, self._files = self._files, {}
        for tmp, writer in files.values():
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
