"""Store maintenance: ``status``, ``compact`` and ``prune`` (library and CLI entry points).

:func:`compact` and :func:`prune` work on a locked :class:`~mailreject.store.Store` and
follow its commit protocol: the new state lists the replaced or dropped files as
superseded (readers ignore them from then on), then they are deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailreject.checkpoints import Checkpoint
from mailreject.filesystem import write_error

if TYPE_CHECKING:
    import pyarrow as pa

from mailreject.status import UsageError
from mailreject.store import PARTITION_PREFIX, DataFile, State, Store, resolve_store_path

__all__ = [
    "StoreStatus",
    "compact",
    "compact_store",
    "parse_age",
    "prune",
    "prune_store",
    "store_status",
]

StorePath = str | os.PathLike[str] | None
_AGE = re.compile(r"^\s*(\d+)\s*([dwy])\s*$")
_DAYS = {"d": 1, "w": 7, "y": 365}


@dataclass
class StoreStatus:
    """What ``mailreject status`` shows."""

    path: Path
    events: int = 0
    events_by_kind: Counter[str] = field(default_factory=Counter)
    first_event: str | None = None
    last_event: str | None = None
    partitions: int = 0
    files: int = 0
    bytes: int = 0
    updated: float | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "store": str(self.path),
            "first_event": self.first_event,
            "last_event": self.last_event,
            "events": self.events,
            "events_by_kind": dict(sorted(self.events_by_kind.items())),
            "partitions": self.partitions,
            "files": self.files,
            "bytes": self.bytes,
            "last_commit": _iso(self.updated),
            "sources": [
                {
                    "name": cp.name,
                    "inode": cp.inode,
                    "offset": cp.offset,
                    "lines": cp.line_no - 1,
                    "format": cp.format,
                    "compression": cp.compression,
                    "complete": cp.complete,
                    "last_ingest": _iso(cp.updated),
                }
                for cp in self.checkpoints
            ],
        }


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def _iso_us(micros: int | None) -> str | None:
    if micros is None:
        return None
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)).isoformat()


def store_status(store: StorePath = None) -> StoreStatus:
    """Summarises a store from its state file and a directory listing (no data is read).

    Example:
        >>> store_status("/srv/mailreject").events  # doctest: +SKIP
        1234567

    Raises:
        StoreNotFoundError: If there is no store.

    """
    target = Store(resolve_store_path(store))
    target.require()
    state = target.read_state()
    info = StoreStatus(target.path, updated=state.updated)
    firsts, lasts = [], []
    for stats in state.partitions.values():
        info.events += stats.events
        info.events_by_kind.update(stats.kinds)
        if stats.min_ts is not None:
            firsts.append(stats.min_ts)
        if stats.max_ts is not None:
            lasts.append(stats.max_ts)
    info.first_event = _iso_us(min(firsts)) if firsts else None
    info.last_event = _iso_us(max(lasts)) if lasts else None
    files = target.data_files(state)
    info.partitions = len({f.day for f in files})
    info.files = len(files)
    info.bytes = sum(f.size for f in files)
    info.checkpoints = sorted(state.checkpoints, key=lambda cp: cp.updated, reverse=True)
    return info


def compact(
    store: Store,
    base: State,
    days: Iterable[str] | None = None,
    *,
    min_files: int = 2,
    max_file_bytes: int = 256 << 20,
) -> tuple[State, int, int]:
    """Merges each partition's small files into one; call with the lock held.

    A partition is compacted when it has at least ``min_files`` files smaller than
    ``max_file_bytes``; those are merged (streamed, row group by row group) into one
    file numbered ``seq + 1``, committed with the inputs listed as superseded, and
    the inputs are deleted. A crash at any point leaves either the inputs or the
    merged file visible, never both.

    Args:
        store: The store, locked by the caller.
        base: The current committed state.
        days: Only these days (``"2026-11-03"``); None means all.
        min_files: Fewest small files worth merging.
        max_file_bytes: Files at least this big are left alone.

    Returns:
        (new state, partitions compacted, files merged).

    Raises:
        StoreError: If writing fails (nothing is then changed).

    """
    import pyarrow.parquet as pq

    wanted = None if days is None else set(days)
    groups: dict[date, list[DataFile]] = {}
    for item in store.data_files(base):
        if (wanted is None or item.day.isoformat() in wanted) and item.size < max_file_bytes:
            groups.setdefault(item.day, []).append(item)
    groups = {d: g for d, g in groups.items() if len(g) >= max(min_files, 2)}
    if not groups:
        return base, 0, 0
    seq = base.seq + 1
    name = f"{seq:010d}.parquet"
    merged: list[DataFile] = []
    written: list[Path] = []

    def batches(group: list[DataFile]) -> Iterator[pa.RecordBatch]:
        for item in group:
            yield from pq.ParquetFile(item.path).iter_batches(batch_size=1 << 17)

    try:
        for day, group in sorted(groups.items()):
            directory = store.partition_dir(day.isoformat())
            store.write_parquet(directory, name, batches(group))
            written.append(directory / name)
            merged.extend(group)
        for directory in {p.parent for p in written}:
            store.fs.fsync_dir(directory)
    except OSError as error:
        for path in written:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise write_error(store.path, error) from error
    state = State(seq, base.checkpoints_rev, base.checkpoints, base.partitions, [], None)
    return store.supersede(base, merged, state), len(groups), len(merged)


def prune(store: Store, base: State, before: date) -> tuple[State, list[date], int]:
    """Drops whole partitions of days before ``before``; call with the lock held.

    Checkpoints not read or recognised since then are dropped too.

    Returns:
        (new state, days dropped, files deleted).

    Raises:
        StoreError: If writing fails.

    """
    old_days = sorted(
        {d for d, _ in store.partition_dirs() if d < before}
        | {date.fromisoformat(k) for k in base.partitions if date.fromisoformat(k) < before}
    )
    files = [f for f in store.data_files(base) if f.day < before]
    cutoff = datetime.combine(before, datetime.min.time(), timezone.utc).timestamp()
    kept = [cp for cp in base.checkpoints if cp.updated >= cutoff]
    if not old_days and len(kept) == len(base.checkpoints):
        return base, [], 0
    partitions = {k: v for k, v in base.partitions.items() if date.fromisoformat(k) >= before}
    changed = len(kept) != len(base.checkpoints)
    state = State(base.seq + 1, base.checkpoints_rev + changed, kept, partitions, [], None)
    state = store.supersede(base, files, state)
    for day in old_days:
        store.fs.rmdir(store.events_dir / f"{PARTITION_PREFIX}{day.isoformat()}")
    return state, old_days, len(files)


def compact_store(store: StorePath = None, *, wait: float = 0.0) -> tuple[int, int]:
    """Merges every day's small files (see :meth:`Store.compact`) under the lock.

    Returns:
        (days compacted, files merged).

    Example:
        >>> compact_store("/srv/mailreject")  # doctest: +SKIP
        (28, 412)

    """
    target = Store(resolve_store_path(store))
    target.require()
    with target.lock("compact").acquire(wait):
        state = target.recover()
        _, days, files = compact(target, state)
    return days, files


def parse_age(text: str, today: date | None = None) -> date:
    """The first day to keep for ``--older-than``: ``180d``, ``26w``, ``1y`` or a date.

    Example:
        >>> parse_age("180d", date(2026, 11, 28))
        datetime.date(2026, 6, 1)

    """
    today = today or datetime.now(timezone.utc).date()
    match = _AGE.match(text)
    if match is not None:
        return today - timedelta(days=int(match.group(1)) * _DAYS[match.group(2)])
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--older-than must look like 180d, 26w, 1y or 2026-05-01, not {text!r}"
        ) from None


def prune_store(
    store: StorePath, older_than: str, *, wait: float = 0.0, dry_run: bool = False
) -> tuple[list[date], int, date]:
    """Drops whole days before the cut-off (and checkpoints unused since then).

    Returns:
        (days dropped, files deleted, first day kept).

    Example:
        >>> prune_store("/srv/mailreject", "180d")  # doctest: +SKIP

    """
    before = parse_age(older_than)
    target = Store(resolve_store_path(store))
    target.require()
    with target.lock("prune").acquire(wait):
        state = target.recover()
        if dry_run:
            files = [f for f in target.data_files(state) if f.day < before]
            return sorted({f.day for f in files}), len(files), before
        _, days, count = prune(target, state, before)
    return days, count, before
