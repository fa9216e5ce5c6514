"""Crash safety: a writer killed at any moment never loses nor duplicates an event."""

from __future__ import annotations

import io
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mailreject
from mailreject.generator import generate
from mailreject.ingest import IngestSettings, ingest
from mailreject.maintenance import compact, prune
from mailreject.parsing import ParseOptions
from mailreject.schema import COLUMN_NAMES
from mailreject.store import LocalFS, Store

OPTIONS = ParseOptions(year=2026, tz="UTC")


def log_text(lines: int, seed: int, minute: int = 20) -> bytes:
    buf = io.BytesIO()
    # starts shortly before midnight, so two day partitions are written
    start = datetime(2026, 11, 1, 23, minute, tzinfo=timezone.utc)
    generate(buf, lines=lines, seed=seed, start=start)
    return buf.getvalue()


def chunks(data: bytes, parts: int) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    size = -(-len(lines) // parts)
    return [b"".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def dataset_of(store: Path) -> pd.DataFrame:
    frame = mailreject.load(store=store)
    return frame[list(COLUMN_NAMES)].sort_values(["source", "line_no"]).reset_index(drop=True)


def assert_same_events(store: Path, reference: Path) -> None:
    got, want = dataset_of(store), dataset_of(reference)
    assert not got.duplicated(["source", "line_no"]).any(), "duplicated events"
    assert len(got) == len(want), f"{len(got)} events, {len(want)} expected"
    pd.testing.assert_frame_equal(got, want)


def leftovers(store: Path) -> int:
    """Temporary and uncommitted files a killed writer left behind."""
    state = Store(store).read_state()
    count = 0
    for path in (store / "events").rglob("*"):
        if path.name.startswith(".tmp-") or (
            path.suffix == ".parquet" and int(path.stem) > state.seq
        ):
            count += 1
    return count


def committed(store: Path) -> int:
    """The store's commit number (0 before the first)."""
    try:
        return int(json.loads((store / "state.json").read_text())["seq"])
    except (OSError, ValueError, KeyError):
        return 0


def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    """Cron ingests of a growing log, killed with SIGKILL at random moments."""
    data = log_text(36_000, seed=3)  # about 5 MB
    assert 4_000_000 < len(data) < 6_500_000
    log = tmp_path / "mail.log"
    store = tmp_path / "store"
    command = [
        sys.executable, "-m", "mailreject", "ingest", str(log), "--store", str(store),
        "--year", "2026", "--tz", "UTC", "--quiet",
        # hundreds of commits and compactions, so kills land in every phase
        "--flush-mb", "0.03", "--block-kb", "16", "--compact-after", "3",
    ]  # fmt: skip
    rng = random.Random(20261128)
    kills = garbage = 0
    parts = chunks(data, 3)
    for run in range(15):
        if parts and run % 5 == 0:  # the log grows now and then
            with log.open("ab") as handle:
                handle.write(parts.pop(0))
        garbage += leftovers(store) if store.exists() else 0
        start = committed(store)
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, cwd=tmp_path)
        # Kill once the run has made a few commits, plus a little: mid-flush, mid-rename,
        # mid-compaction, between data and state... (time alone is too machine-dependent).
        target, extra = start + rng.randint(1, 6), rng.uniform(0.0, 0.04)
        deadline = time.monotonic() + 30
        while proc.poll() is None and committed(store) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(extra)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()
    final = subprocess.run(command, capture_output=True, timeout=120, cwd=tmp_path)
    assert final.returncode == 0, final.stderr.decode()
    assert kills >= 12  # a run that finished before its kill is fine, but rare
    assert leftovers(store) == 0
    reference = tmp_path / "reference"
    ingest([str(log)], OPTIONS, reference)
    assert_same_events(store, reference)
    print(f"{kills} kills, {garbage} leftover files cleaned up")


class Crash(BaseException):
    """The process dies here (not an Exception: no error handling catches it)."""


class CrashingFS(LocalFS):
    """Dies just before its ``at``-th file-system operation."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.calls = 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls > self.at:
            raise Crash

    def create(self, path: Path) -> Any:
        self._tick()
        return super().create(path)

    def fsync(self, handle: Any) -> None:
        self._tick()
        super().fsync(handle)

    def fsync_path(self, path: Path) -> None:
        self._tick()
        super().fsync_path(path)

    def replace(self, source: Path, target: Path) -> None:
        self._tick()
        super().replace(source, target)

    def fsync_dir(self, path: Path) -> None:
        self._tick()
        super().fsync_dir(path)

    def unlink(self, path: Path) -> None:
        self._tick()
        super().unlink(path)

    def mkdir(self, path: Path) -> bool:
        self._tick()
        return super().mkdir(path)


SMALL = ParseOptions(year=2026, tz="UTC", block_size=16 << 10)
BUSY = IngestSettings(flush_bytes=48 << 10, compact_after=2)


@dataclass
class Setup:
    log: Path  # the whole log
    data: bytes
    reference: Path  # a store of the whole log, written without interruption
    half: Path  # a store of its first half, read from the same path
    many: Path  # a store of the whole log in many small files, not compacted


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    base = tmp_path_factory.mktemp("crash")
    data = log_text(1500, seed=8, minute=57)
    log = base / "mail.log"
    log.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])
    ingest([str(log)], SMALL, base / "half", BUSY)
    log.write_bytes(data)
    ingest([str(log)], SMALL, base / "reference", BUSY)
    ingest([str(log)], SMALL, base / "many", IngestSettings(flush_bytes=40 << 10, compact_after=0))
    return Setup(log, data, base / "reference", base / "half", base / "many")


def copy_store(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)


def test_a_crash_at_every_step_of_ingest(tmp_path: Path, crash_setup: Setup) -> None:
    """Half the log is stored; the next run dies before its n-th file-system step."""
    counter = CrashingFS(float("inf"))
    copy_store(crash_setup.half, tmp_path / "probe")
    ingest([str(crash_setup.log)], SMALL, tmp_path / "probe", BUSY, fs=counter)
    steps = counter.calls
    assert steps > 30  # several commits and a compaction
    want = dataset_of(crash_setup.reference)
    for at in sorted({*range(0, steps, 2), steps - 1}):
        store = tmp_path / f"s{at}"
        copy_store(crash_setup.half, store)
        with pytest.raises(Crash):
            ingest([str(crash_setup.log)], SMALL, store, BUSY, fs=CrashingFS(at))
        ingest([str(crash_setup.log)], SMALL, store, BUSY)  # the next cron run
        got = dataset_of(store)
        assert not got.duplicated(["line_no"]).any(), f"duplicates after a crash at step {at}"
        pd.testing.assert_frame_equal(got, want, obj=f"crash at step {at}")


def test_a_crash_at_every_step_of_compact_and_prune(tmp_path: Path, crash_setup: Setup) -> None:
    assert len(list(crash_setup.many.rglob("*.parquet"))) >= 6
    want = dataset_of(crash_setup.reference)
    old = want[want["ts"] < pd.Timestamp("2026-11-02", tz="UTC")]
    assert 0 < len(old) < len(want)
    for action in ("compact", "prune"):
        at = 0
        while True:
            store = tmp_path / f"{action}{at}"
            copy_store(crash_setup.many, store)
            target = Store(store, CrashingFS(at))
            try:
                with target.lock(action).acquire():
                    state = target.recover()
                    if action == "compact":
                        compact(target, state)
                    else:
                        prune(target, state, date(2026, 11, 2))
                finished = True
            except Crash:
                finished = False
            with Store(store).lock("check").acquire():  # the next writer
                Store(store).recover()
            got = dataset_of(store)
            if action == "compact":
                pd.testing.assert_frame_equal(got, want, obj=f"compact crash at {at}")
                if finished:
                    assert len(list(store.rglob("*.parquet"))) == 2
            else:  # the old day is either all there or all gone
                assert len(got) in (len(want), len(want) - len(old)), f"prune crash at {at}"
                assert not got.duplicated(["line_no"]).any()
            if finished:
                break
            at += 1
        assert at > 3
