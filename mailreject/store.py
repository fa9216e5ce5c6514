"""The event store: a directory of hive-partitioned Parquet files plus a state file.

Layout::

    <store>/lock                                  flock of the writer (ingest/compact/prune)
    <store>/state.json                            commit record: sequence number, checkpoints,
                                                  per-day counts, superseded files
    <store>/events/date=2026-11-03/0000000042.parquet

Every file is mode 0600 and every directory 0700: the store holds e-mail addresses.
Events go to the partition of their UTC date; an event whose time could not be resolved
(``ts`` null, rare) goes to the partition of its block's first dated event, else of the
stream's previous block, else of the input's modification time (the "source day"), so
``date`` is always a real date.

Crash safety -- a commit protocol with one commit point, ``state.json``:

1. Each flush gets the next sequence number ``seq = state.seq + 1``. Its events are
   written per partition to ``.tmp-*`` in the partition directory, fsynced, renamed to
   ``<seq>.parquet``, and the directory is fsynced.
2. Then the new state (``seq``, the checkpoints the data covers, updated counts) is
   written to a temporary file, fsynced, renamed over ``state.json``, and the store
   directory is fsynced. That rename is the commit.
3. A data file belongs to the store iff its number is ``<= state.seq`` and it is not
   listed in ``state.superseded``. Readers apply that rule, so they never see a
   half-done flush or compaction; writers, holding the lock, first delete temporary
   files, files numbered above ``state.seq`` (a flush that died before its commit) and
   superseded files (a compaction or prune that died after its commit).

So a process killed anywhere leaves either the old state with its data, or the new
state with its data: the checkpoints never run ahead of durable data (no loss) and data
never outlives the checkpoint it was written under (no duplicate: the uncommitted file
is deleted and its lines are read again from the old checkpoint).

Compaction writes the merged file as the next ``seq`` and commits a state that lists
the inputs as superseded; prune commits a state that lists the old partitions' files as
superseded. Deleting superseded files afterwards is idempotent clean-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mailreject.checkpoints import Checkpoint
from mailreject.filesystem import (
    TMP_PREFIX,
    LocalFS,
    StoreError,
    StoreNotFoundError,
    write_error,
)
from mailreject.locking import StoreLock
from mailreject.transaction import PartitionStats, Transaction

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DataFile",
    "LocalFS",
    "State",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "resolve_store_path",
]

#: Version of the store layout and state file; a newer one is refused.
STORE_FORMAT = 1
STATE_NAME = "state.json"
LOCK_NAME = "lock"
EVENTS_DIR = "events"
PARTITION_PREFIX = "date="


def resolve_store_path(
    store: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Where the store is: the argument, else ``$MAILREJECT_STORE``, else the XDG data dir.

    Args:
        store: An explicit path (``--store``).
        env: Environment to read (defaults to ``os.environ``).

    Returns:
        An absolute path (which need not exist).

    Example:
        >>> str(resolve_store_path(None, {"XDG_DATA_HOME": "/data"}))
        '/data/mailreject'

    """
    env = os.environ if env is None else env
    if store is not None and str(store) != "":
        return Path(store).expanduser().absolute()
    if env.get("MAILREJECT_STORE"):
        return Path(env["MAILREJECT_STORE"]).expanduser().absolute()
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]).expanduser().absolute() / "mailreject"
    return Path.home() / ".local" / "share" / "mailreject"


@dataclass
class State:
    """The commit record (``state.json``).

    Attributes:
        seq: Number of the last commit; data files numbered above it are uncommitted.
        checkpoints_rev: Bumped by every commit that changes checkpoints (lets a
            follower notice another writer).
        checkpoints: One per content stream.
        partitions: Per-day counts of committed events.
        superseded: Data files (relative to ``events/``) replaced by a compaction or
            dropped by prune, to be deleted; readers ignore them.
        updated: Unix time of the last commit.

    """

    seq: int = 0
    checkpoints_rev: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    partitions: dict[str, PartitionStats] = field(default_factory=dict)
    superseded: list[str] = field(default_factory=list)
    updated: float | None = None

    def to_json(self) -> str:
        """Serialises the state."""
        from mailreject.schema import SCHEMA_VERSION

        data = {
            "format": STORE_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "seq": self.seq,
            "checkpoints_rev": self.checkpoints_rev,
            "updated": self.updated,
            "superseded": self.superseded,
            "partitions": {k: v.__dict__ for k, v in sorted(self.partitions.items())},
            "checkpoints": [cp.to_dict() for cp in self.checkpoints],
        }
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, path: Path) -> State:
        """Reads a serialised state.

        Raises:
            StoreError: If the text is not a state this version understands.

        """
        try:
            data = json.loads(text)
            if data.get("format", 0) > STORE_FORMAT:
                raise StoreError(
                    f"the store {path.parent} was written by a newer mailreject",
                    hint="upgrade mailreject",
                )
            return cls(
                seq=int(data["seq"]),
                checkpoints_rev=int(data.get("checkpoints_rev", 0)),
                checkpoints=[Checkpoint.from_dict(c) for c in data.get("checkpoints", [])],
                partitions={k: PartitionStats(**v) for k, v in data.get("partitions", {}).items()},
                superseded=list(data.get("superseded", [])),
                updated=data.get("updated"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise StoreError(
                f"the store's state file {path} is damaged ({type(error).__name__})",
                hint="restore it from a backup; the Parquet files are intact",
            ) from error


@dataclass(frozen=True)
class DataFile:
    """One committed Parquet file of events."""

    path: Path
    day: date
    seq: int
    size: int

    @property
    def relative(self) -> str:
        """Path relative to ``events/`` (``date=2026-11-03/0000000042.parquet``)."""
        return f"{PARTITION_PREFIX}{self.day.isoformat()}/{self.path.name}"


def _file_seq(name: str) -> int | None:
    stem, dot, ext = name.partition(".")
    if dot and ext == "parquet" and stem.isdigit():
        return int(stem)
    return None


def _partition_day(name: str) -> date | None:
    if not name.startswith(PARTITION_PREFIX):
        return None
    try:
        return date.fromisoformat(name[len(PARTITION_PREFIX) :])
    except ValueError:
        return None


class Store:
    """One store directory; see the module docstring for the layout and commit protocol.

    Args:
        path: The store directory.
        fs: File-system operations of the write path (tests inject failures).

    Example:
        >>> import tempfile
        >>> store = Store(Path(tempfile.mkdtemp()) / "s")
        >>> store.create()
        >>> store.read_state().seq
        0

    """

    def __init__(self, path: Path, fs: LocalFS | None = None) -> None:
        self.path = path
        self.fs = fs or LocalFS()
        self.events_dir = path / EVENTS_DIR
        self.state_path = path / STATE_NAME

    # ------------------------------------------------------------------ basics
    def exists(self) -> bool:
        """Whether the directory looks like a store."""
        return self.state_path.exists() or self.events_dir.is_dir()

    def create(self) -> None:
        """Creates the store directories (mode 0700) if missing.

        Raises:
            StoreError: If they cannot be created.

        """
        try:
            if not self.path.is_dir():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fs.mkdir(self.path)
            if self.fs.mkdir(self.events_dir):
                self.fs.fsync_dir(self.path)
        except OSError as error:
            raise write_error(self.path, error) from error

    def lock(self, purpose: str) -> StoreLock:
        """The writer lock (not yet acquired)."""
        return StoreLock(self.path / LOCK_NAME, purpose)

    def read_state(self) -> State:
        """The last committed state (an empty one for a new store).

        Raises:
            StoreError: If the state file cannot be read or is damaged.

        """
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return State()
        except OSError as error:
            raise StoreError(f"cannot read {self.state_path}: {error.strerror}") from error
        return State.from_json(text, self.state_path)

    def require(self) -> None:
        """Raises StoreNotFoundError unless the store exists."""
        if not self.exists():
            raise StoreNotFoundError(
                f"no store at {self.path}",
                hint="run 'mailreject ingest FILE' first, or pass --store / set MAILREJECT_STORE",
            )

    # ------------------------------------------------------------------ listing
    def partition_dirs(self) -> Iterator[tuple[date, Path]]:
        """Partition directories, in date order."""
        try:
            entries = sorted(os.scandir(self.events_dir), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            day = _partition_day(entry.name)
            if day is not None and entry.is_dir(follow_symlinks=False):
                yield day, Path(entry.path)

    def data_files(
        self, state: State, first: date | None = None, last: date | None = None
    ) -> list[DataFile]:
        """The committed data files, optionally only of days ``first..last`` (inclusive).

        Only the partition directories in range are listed, so a one-day read of a year
        of partitions touches one directory.
        """
        superseded = set(state.superseded)
        files = []
        for day, directory in self.partition_dirs():
            if (first is not None and day < first) or (last is not None and day > last):
                continue
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:  # pruned meanwhile
                continue
            for entry in entries:
                seq = _file_seq(entry.name)
                if seq is None or seq > state.seq:
                    continue
                item = DataFile(Path(entry.path), day, seq, 0)
                if item.relative in superseded:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    files.append(DataFile(item.path, day, seq, entry.stat().st_size))
        files.sort(key=lambda f: (f.day, f.seq))
        return files

    # ------------------------------------------------------------------ recovery
    def recover(self) -> State:
        """Finishes or undoes what a killed writer left; call with the lock held.

        Deletes temporary files, uncommitted data files (numbered above ``state.seq``)
        and superseded files, then returns the committed state.

        Raises:
            StoreError: If the clean-up cannot be done.

        """
        state = self.read_state()
        superseded = set(state.superseded)
        try:
            for entry in list(os.scandir(self.path)) if self.path.is_dir() else []:
                if entry.name.startswith(TMP_PREFIX):
                    self.fs.unlink(Path(entry.path))
            for day, directory in self.partition_dirs():
                removed = False
                for entry in list(os.scandir(directory)):
                    seq = _file_seq(entry.name)
                    relative = f"{PARTITION_PREFIX}{day.isoformat()}/{entry.name}"
                    if (
                        entry.name.startswith(TMP_PREFIX)
                        or (seq is not None and seq > state.seq)
                        or relative in superseded
                    ):
                        self.fs.unlink(Path(entry.path))
                        removed = True
                if removed:
                    self.fs.fsync_dir(directory)
                    if day.isoformat() not in state.partitions:
                        self.fs.rmdir(directory)
            if state.superseded:
                state.superseded = []
                self._write_state(state)
        except OSError as error:
            raise write_error(self.path, error) from error
        return state

    # ------------------------------------------------------------------ writing
    def _write_state(self, state: State) -> None:
        tmp = self.path / f"{TMP_PREFIX}{STATE_NAME}.{secrets.token_hex(4)}"
        try:
            with self.fs.create(tmp) as handle:
                handle.write(state.to_json().encode("utf-8"))
                self.fs.fsync(handle)
            self.fs.replace(tmp, self.state_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.fs.fsync_dir(self.path)

    def write_parquet(self, directory: Path, name: str, batches: Iterable[pa.RecordBatch]) -> None:
        """Writes a complete file under a temporary name, fsyncs and renames it."""
        from mailreject._parsers import event_schema
        from mailreject.formats import ParquetFileWriter

        tmp = directory / f"{TMP_PREFIX}{secrets.token_hex(6)}.parquet"
        try:
            self.fs.create_file(tmp)
            writer = ParquetFileWriter(tmp, event_schema())
            try:
                for batch in batches:
                    writer.write(batch)
            finally:
                writer.close()
            self.fs.fsync_path(tmp)
            self.fs.replace(tmp, directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def partition_dir(self, day: str) -> Path:
        directory = self.events_dir / f"{PARTITION_PREFIX}{day}"
        if self.fs.mkdir(directory):
            self.fs.fsync_dir(self.events_dir)
        return directory

    def transaction(self) -> Transaction:
        """A new set of per-day temporary files for the next :meth:`commit`."""
        return Transaction(self)

    def commit(
        self,
        base: State,
        data: Transaction | None,
        checkpoints: Sequence[Checkpoint] | None = None,
    ) -> State:
        """Durably adds events and moves checkpoints, as one atomic step.

        Args:
            base: The current committed state (as returned by :meth:`recover` or the
                previous commit); the lock must be held since it was read.
            data: The events written for this commit, or None.
            checkpoints: The complete new checkpoint table, or None to keep it.

        Returns:
            The new committed state.

        Raises:
            StoreError: If writing fails; the store is then as before (a data file
                already renamed is uncommitted and deleted by the next writer).

        """
        seq = base.seq + 1
        name = f"{seq:010d}.parquet"
        partitions = {
            k: PartitionStats(v.events, dict(v.kinds), v.min_ts, v.max_ts)
            for k, v in base.partitions.items()
        }
        written: list[Path] = []
        finished: list[tuple[str, Path, PartitionStats]] = []
        try:
            finished = data.finish() if data is not None else []
            for day, tmp, stats in finished:
                self.fs.fsync_path(tmp)
                self.fs.replace(tmp, tmp.parent / name)
                written.append(tmp.parent / name)
                partitions.setdefault(day, PartitionStats()).add(stats)
            for directory in {p.parent for p in written}:
                self.fs.fsync_dir(directory)
            state = State(
                seq=seq,
                checkpoints_rev=base.checkpoints_rev + (checkpoints is not None),
                checkpoints=list(base.checkpoints if checkpoints is None else checkpoints),
                partitions=partitions,
                superseded=list(base.superseded),
                updated=time.time(),
            )
            self._write_state(state)
        except OSError as error:
            if data is not None:
                data.abort()
            for path in [*written, *(tmp for _, tmp, _ in finished)]:
                # uncommitted: deleted now if possible, else by the next recover()
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise write_error(self.path, error) from error
        return state

    def supersede(self, base: State, files: Sequence[DataFile], state: State) -> State:
        """Commits ``state`` listing ``files`` as superseded, then deletes them."""
        state.superseded = sorted({*base.superseded, *(f.relative for f in files)})
        state.updated = time.time()
        try:
            self._write_state(state)
            for item in files:
                self.fs.unlink(item.path)
            for directory in {f.path.parent for f in files}:
                self.fs.fsync_dir(directory)
            state.superseded = []
            self._write_state(state)
        except OSError as error:
            raise write_error(self.path, error) from error
        return state
