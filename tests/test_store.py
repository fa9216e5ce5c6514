"""The store: layout, incremental and idempotent ingest, rotation, readers, maintenance."""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import mailreject
from mailreject import api, transaction
from mailreject.checkpoints import HEAD_BYTES, fingerprint, last_line, verify_last_line
from mailreject.follow import follow
from mailreject.generator import generate
from mailreject.ingest import IngestSettings, _split_days, ingest
from mailreject.inputs import duplicate_inputs
from mailreject.locking import StoreBusyError, StoreLock
from mailreject.maintenance import compact_store, parse_age, prune_store, store_status
from mailreject.parsing import ParseOptions, ParseRun
from mailreject.schema import COLUMN_NAMES
from mailreject.status import NoInputError, UsageError
from mailreject.store import LocalFS, Store, StoreError, StoreNotFoundError, resolve_store_path

ROOT = Path(__file__).resolve().parent.parent
ROTATED = ROOT / "sample_logs" / "rotated"
OPTIONS = ParseOptions(year=2026, tz="UTC")
SMALL = IngestSettings(flush_bytes=64 << 10, compact_after=0)


def log_lines(lines: int, seed: int = 3, start: datetime | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"start": start} if start is not None else {}
    generate(buf, lines=lines, seed=seed, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def text() -> bytes:
    """About 6,000 lines spanning midnight (two day partitions)."""
    return log_lines(6000, start=datetime(2026, 11, 1, 23, 30, tzinfo=timezone.utc))


def lines_of(data: bytes, first: int, last: int | None = None) -> bytes:
    """Lines first..last (0-based, last exclusive) of data, newline-terminated."""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[first:last])


def expected(*files: tuple[bytes, str]) -> pd.DataFrame:
    """What parse makes of each (content, source name), as load() would return it."""
    tables = []
    for content, name in files:
        batches = list(ParseRun(["-"], OPTIONS, stdin=io.BytesIO(content)).batches())
        table = pa.Table.from_batches(batches)
        idx = table.schema.get_field_index("source")
        table = table.set_column(idx, "source", pa.array([name] * table.num_rows, pa.string()))
        tables.append(table)
    return normalise(api._to_pandas(pa.concat_tables(tables), False))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[[c for c in COLUMN_NAMES]]
    keys = ["source", "line_no", "ts", "kind", "detail", "recipient", "rule"]
    return frame.sort_values(keys, na_position="last").reset_index(drop=True)


def stored(store: Path) -> pd.DataFrame:
    return normalise(mailreject.load(store=store))


@pytest.fixture(autouse=True)
def _tmp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILREJECT_STORE", raising=False)
    os.umask(0o022)


def run(names: list[str], store: Path, settings: IngestSettings = SMALL, **kw: Any) -> Any:
    return ingest(names, OPTIONS, store, settings, **kw)


# ---------------------------------------------------------------------------- layout


def test_layout_permissions_and_metadata(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    store = tmp_path / "s"
    report = run([str(log)], store)
    assert report.stored_events > 4000 and not report.failures
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    days = sorted(p.name for p in (store / "events").iterdir())
    assert days == ["date=2026-11-01", "date=2026-11-02"]
    for path in [store / "state.json", store / "lock", *store.rglob("*.parquet")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [store / "events", *(store / "events").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = sorted(store.rglob("*.parquet"))
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.metadata[b"mailreject.schema_version"] == b"1"
    column = meta.row_group(0).column(list(COLUMN_NAMES).index("kind"))
    assert column.compression == "ZSTD" and column.statistics is not None
    assert any("DICTIONARY" in str(e) for e in column.encodings)
    assert pq.read_schema(files[0]).names == list(COLUMN_NAMES)  # date is in the path only
    # partitioned by UTC date: every event of a partition has that date
    for day in ("2026-11-01", "2026-11-02"):
        frame = mailreject.load(day, day, store=store, columns=["ts", "date"])
        assert set(frame["ts"].dt.date) == {date.fromisoformat(day)}
    assert stored(store).equals(expected((text, str(log))))


def test_store_path_resolution(tmp_path: Path) -> None:
    env = {"MAILREJECT_STORE": str(tmp_path / "env"), "XDG_DATA_HOME": "/x"}
    assert resolve_store_path(tmp_path / "arg", env) == tmp_path / "arg"
    assert resolve_store_path(None, env) == tmp_path / "env"
    assert resolve_store_path(None, {"XDG_DATA_HOME": "/data"}) == Path("/data/mailreject")
    home = resolve_store_path(None, {})
    assert home == Path.home() / ".local" / "share" / "mailreject"


def test_environment_store_is_used(
    tmp_path: Path, text: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text[:50_000])
    monkeypatch.setenv("MAILREJECT_STORE", str(tmp_path / "env-store"))
    report = ingest([str(log)], OPTIONS)
    assert report.store == tmp_path / "env-store"
    assert len(mailreject.load()) == report.stored_events > 0


# ---------------------------------------------------------------------------- incremental


def test_twice_adds_nothing_and_growth_is_read_once(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    log.write_bytes(lines_of(text, 0, 2000))
    first = run([str(log)], store)
    again = run([str(log)], store)
    assert again.stored_events == 0 and again.skipped_lines == 2000 and again.summary.lines == 0
    with log.open("ab") as handle:
        handle.write(lines_of(text, 2000))
    grown = run([str(log)], store)
    assert grown.skipped_lines == 2000 and grown.summary.lines == len(text.splitlines()) - 2000
    assert first.stored_events + grown.stored_events == len(stored(store))
    assert stored(store).equals(expected((text, str(log))))


def test_incremental_reads_only_the_appended_bytes(tmp_path: Path) -> None:
    big = log_lines(60_000, seed=5)
    log = tmp_path / "mail.log"
    log.write_bytes(big)
    store = tmp_path / "s"
    run([str(log)], store, IngestSettings())
    extra = log_lines(1000, seed=6, start=datetime(2026, 11, 5, tzinfo=timezone.utc))
    with log.open("ab") as handle:
        handle.write(extra)
    started = time.perf_counter()
    report = run([str(log)], store, IngestSettings())
    elapsed = time.perf_counter() - started
    assert report.summary.bytes == len(extra)  # sought to the checkpoint
    assert report.summary.lines == extra.count(b"\n")
    assert elapsed < 1.0


def test_unfinished_last_line_waits_until_complete(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    whole = lines_of(text, 0, 100)
    cut = len(whole) - 20
    log.write_bytes(whole[:cut])  # the last line is being written
    run([str(log)], store)
    state = Store(store).read_state()
    assert state.checkpoints[0].line_no == 100  # 99 lines stored, the 100th not yet
    with log.open("ab") as handle:
        handle.write(whole[cut:])
    run([str(log)], store)
    assert stored(store).equals(expected((whole, str(log))))


def test_year_state_is_carried_by_the_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    dec = b"Dec 31 23:59:58 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]\n"
    jan = b"Jan  1 00:00:01 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.2]\n"
    log.write_bytes(dec)
    ingest([str(log)], ParseOptions(year=2025, tz="UTC"), store, SMALL)
    with log.open("ab") as handle:
        handle.write(jan)
    ingest([str(log)], ParseOptions(year=2025, tz="UTC"), store, SMALL)  # --year ignored now
    frame = mailreject.load(store=store)
    assert [t.year for t in frame["ts"]] == [2025, 2026]


def test_copytruncate_is_read_from_the_start(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    old, new = lines_of(text, 0, 3000), lines_of(text, 3000, 3500)
    log.write_bytes(old)
    run([str(log)], store)
    inode = log.stat().st_ino
    shutil.copyfile(log, tmp_path / "mail.log.1")
    with log.open("r+b") as handle:  # copytruncate keeps the inode
        handle.truncate(0)
        handle.write(new)
    assert log.stat().st_ino == inode
    report = run([str(tmp_path / "mail.log.1"), str(log)], store)
    assert report.skipped_lines == 3000  # the copy is the stored stream
    want = pd.concat([expected((old, str(log))), expected((new, str(log)))])
    assert stored(store).equals(normalise(want))


def test_rotation_finishes_the_old_file_and_starts_the_new(tmp_path: Path, text: bytes) -> None:
    """Cron runs 'ingest mail.log' only; logrotate moves it in between."""
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    a1, a2, b = lines_of(text, 0, 2000), lines_of(text, 2000, 3000), lines_of(text, 3000, 4000)
    log.write_bytes(a1)
    run([str(log)], store)
    with log.open("ab") as handle:
        handle.write(a2)  # written after the run, before rotation
    log.rename(tmp_path / "mail.log.1")  # delaycompress: the old inode, renamed
    log.write_bytes(b)
    report = run([str(log)], store)
    assert report.skipped_lines == 2000 and report.summary.lines == 2000
    rotated = str(tmp_path / "mail.log.1")
    old = expected((a1 + a2, str(log)))  # one stream: line numbers continue
    old.loc[old["line_no"] > 2000, "source"] = rotated  # the tail was read as mail.log.1
    want = normalise(pd.concat([old, expected((b, str(log)))]))
    frame = stored(store)
    assert frame.equals(want)
    # compressed later (mail.log.1 -> mail.log.2.gz) and named in a glob: nothing new
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress((tmp_path / "mail.log.1").read_bytes()))
    (tmp_path / "mail.log.1").unlink()
    log.rename(tmp_path / "mail.log.1")
    names = [str(p) for p in sorted(tmp_path.glob("mail.log*"))]
    assert run(names, store).stored_events == 0
    state = Store(store).read_state()
    assert any(cp.complete for cp in state.checkpoints)
    third = run(names, store)  # the complete .gz is not even opened now
    assert third.stored_events == 0 and third.summary.bytes == 0
    assert len(stored(store)) == len(frame)


def test_rotation_compressed_at_once_finishes_the_tail(tmp_path: Path, text: bytes) -> None:
    """No delaycompress: mail.log becomes mail.log.1.gz (a new inode) right away."""
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    a1, a2, b = lines_of(text, 0, 1500), lines_of(text, 1500, 2500), lines_of(text, 2500, 3000)
    log.write_bytes(a1)
    run([str(log)], store)
    with log.open("ab") as handle:
        handle.write(a2)
    log.rename(tmp_path / "mail.log.1")  # what logrotate does without delaycompress:
    log.write_bytes(b)  # create the new file,
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(a1 + a2))  # compress the old one
    (tmp_path / "mail.log.1").unlink()
    report = run([str(log)], store)
    assert report.summary.lines == 1000 + 500
    assert len(stored(store)) == len(expected((a1 + a2 + b, "x")))


def test_overlapping_sets_and_rotated_samples(tmp_path: Path) -> None:
    for name in ("mail.log", "mail.log.1", "mail.log.2.gz"):
        shutil.copy2(ROTATED / name, tmp_path / name)  # keeps mtimes: year inference
    store = tmp_path / "s"
    settings = IngestSettings(compact_after=0)
    one = ingest([str(tmp_path / "mail.log.1")], ParseOptions(tz="UTC"), store, settings)
    everything = [str(tmp_path / n) for n in ("mail.log", "mail.log.2.gz", "mail.log.1")]
    rest = ingest(everything, ParseOptions(tz="UTC"), store, settings)
    again = ingest(everything, ParseOptions(tz="UTC"), store, settings)
    assert one.stored_events > 0 and rest.stored_events > 0 and again.stored_events == 0
    frame = mailreject.load(store=store)
    assert not frame.duplicated(["source", "line_no"]).any()
    reference = ParseRun(everything, ParseOptions(tz="UTC"))
    assert len(frame) == sum(b.num_rows for b in reference.batches())
    assert frame["ts"].min().year == 2025 and frame["ts"].max().year == 2026


def test_stdin_streams(tmp_path: Path, text: bytes) -> None:
    store = tmp_path / "s"
    head = lines_of(text, 0, 1000)
    run(["-"], store, stdin=io.BytesIO(head))
    assert run(["-"], store, stdin=io.BytesIO(head)).stored_events == 0
    report = run(["-"], store, stdin=io.BytesIO(gzip.compress(text)))  # same stream, grown
    assert report.skipped_lines == 1000
    assert stored(store).equals(expected((text, "-")))


def test_journal_json_from_stdin(tmp_path: Path) -> None:
    line = (
        '{"__REALTIME_TIMESTAMP":"%d","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/smtpd",'
        '"_PID":"7","MESSAGE":"connect from unknown[192.0.2.%d]"}\n'
    )
    start = 1_793_000_000_000_000
    data = "".join(line % (start + i * 1_000_000, i % 250) for i in range(300)).encode()
    options = ParseOptions(input_format="journal-json")
    store = tmp_path / "s"
    ingest(["-"], options, store, SMALL, stdin=io.BytesIO(data))
    ingest(["-"], options, store, SMALL, stdin=io.BytesIO(data))
    frame = mailreject.load(store=store)
    assert len(frame) == 300 and (frame["kind"] == "connect").all()


def test_duplicate_inputs_are_refused(tmp_path: Path) -> None:
    assert duplicate_inputs(["/var/log/mail.log", "/var/log/mail.err", "/var/log/mail.warn.1"]) == [
        "/var/log/mail.err",
        "/var/log/mail.warn.1",
    ]
    assert duplicate_inputs(["/var/log/mail.info.2.gz"]) == ["/var/log/mail.info.2.gz"]
    assert duplicate_inputs(["/a/mail.log", "/a/syslog.err", "/b/x.warn"]) == ["/a/syslog.err"]
    assert duplicate_inputs(["/var/log/mail.log", "/var/log/mail.log.1", "-"]) == []
    err = tmp_path / "mail.err"
    err.write_bytes(b"Nov  3 00:00:01 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]\n")
    with pytest.raises(UsageError, match=r"mail\.err"):
        run([str(err)], tmp_path / "s")
    assert not (tmp_path / "s").exists()
    allowed = IngestSettings(allow_duplicates=True, compact_after=0)
    assert run([str(err)], tmp_path / "s", allowed).stored_events == 1


def test_partial_failure_keeps_the_good_inputs(tmp_path: Path, text: bytes) -> None:
    good = tmp_path / "mail.log"
    good.write_bytes(lines_of(text, 0, 500))
    bad = tmp_path / "other.log.gz"
    bad.write_bytes(gzip.compress(lines_of(text, 500, 3000))[:-200])  # truncated gzip
    report = run([str(tmp_path / "missing.log"), str(bad), str(good)], tmp_path / "s")
    assert len(report.failures) == 2 and report.exit_status == 4
    assert "missing.log" in report.failures[0]
    assert len(stored(tmp_path / "s")) >= len(expected((lines_of(text, 0, 500), "x")))
    with pytest.raises(NoInputError):
        run([str(tmp_path / "missing.log")], tmp_path / "s")


def test_split_days_puts_undated_events_with_the_previous_one() -> None:
    ts = pa.array([None, 86_400_000_000 - 1, None, 86_400_000_000, None], pa.timestamp("us", "UTC"))
    batch = pa.record_batch([ts, pa.array(range(5))], names=["ts", "n"])
    parts = dict(_split_days(batch, "2000-01-01"))
    assert parts["2000-01-01"]["n"].to_pylist() == [0]
    assert parts["1970-01-01"]["n"].to_pylist() == [1, 2]
    assert parts["1970-01-02"]["n"].to_pylist() == [3, 4]


def test_checkpoint_helpers() -> None:
    assert last_line(b"a\nbc\n") == b"bc" and last_line(b"only") == b"only"
    from mailreject.checkpoints import Checkpoint, line_digest

    cp = Checkpoint(
        "i",
        "n",
        None,
        fingerprint(b"x"),
        1,
        offset=5,
        last_line_sha256=line_digest(b"bc"),
        last_line_length=2,
    )
    # the last_line_length + 1 bytes before the offset
    assert verify_last_line(cp, b"bc\n") and not verify_last_line(cp, b"bd\n")
    assert verify_last_line(cp, b"\nbc")  # stored end of a file without a final newline
    assert verify_last_line(cp, b"bc")  # ... that was the first line
    assert HEAD_BYTES == 4096


# ---------------------------------------------------------------------------- readers


def test_load_dtypes_filters_and_columns(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    store = tmp_path / "s"
    run([str(log)], store)
    frame = mailreject.load(store=store)
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert isinstance(frame["date"].iloc[0], date)
    assert str(frame["pid"].dtype) == "Int32" and str(frame["line_no"].dtype) == "Int64"
    assert not isinstance(frame["kind"].dtype, pd.CategoricalDtype)
    assert frame["ts"].is_monotonic_increasing
    cats = mailreject.load(store=store, categories=True)
    assert isinstance(cats["kind"].dtype, pd.CategoricalDtype)
    rejects = mailreject.load(
        "2026-11-01", "2026-11-01", kinds=["reject"], store=store, columns=["ts", "kind"]
    )
    assert list(rejects.columns) == ["ts", "kind"] and set(rejects["kind"]) == {"reject"}
    assert (rejects["ts"] < pd.Timestamp("2026-11-02", tz="UTC")).all()
    assert (
        len(rejects)
        == ((frame["kind"] == "reject") & (frame["date"] == date(2026, 11, 1))).sum()
        > 0
    )
    window = mailreject.load(
        datetime(2026, 11, 1, 23, 50, tzinfo=timezone.utc), "2026-11-02T00:10:00Z", store=store
    )
    assert window["ts"].min() >= pd.Timestamp("2026-11-01 23:50", tz="UTC")
    assert window["ts"].max() < pd.Timestamp("2026-11-02 00:10", tz="UTC")
    with pytest.raises(ValueError, match="unknown column"):
        mailreject.load(store=store, columns=["nope"])
    with pytest.raises(ValueError, match="ISO"):
        mailreject.load("yesterday", store=store)
    with pytest.raises(StoreNotFoundError):
        mailreject.load(store=tmp_path / "nothing")


def test_one_day_of_a_year_opens_one_day(tmp_path: Path) -> None:
    """Date filters prune partitions: the other days' files are never opened."""
    start = date(2026, 1, 1)
    lines = []
    for i in range(365):
        day = start + timedelta(days=i)
        stamp = f"{day:%b} {day.day:2d} 12:00:00"
        lines.append(f"{stamp} mx1 postfix/smtpd[1]: connect from unknown[192.0.2.{i % 250}]\n")
    log = tmp_path / "year.log"
    log.write_text("".join(lines))
    store = tmp_path / "s"
    run([str(log)], store, IngestSettings(compact_after=0))
    files = sorted((store / "events").rglob("*.parquet"))
    assert len(files) == 365
    wanted = date(2026, 7, 4)
    for path in files:  # anything opened but the wanted day now fails loudly
        if f"date={wanted}" not in str(path):
            path.write_bytes(b"not parquet")
    frame = mailreject.load(wanted, wanted, store=store)
    assert len(frame) == 1 and frame["date"].iloc[0] == wanted
    dataset = mailreject.dataset(store=store)
    fragments = list(dataset.get_fragments(filter=ds.field("date") == wanted))
    assert len(fragments) == 1 and len(list(dataset.get_fragments())) == 365
    assert dataset.schema.field("date").type == pa.date32()


def test_dataset_for_other_engines(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    run([str(log)], tmp_path / "s")
    dataset = mailreject.dataset(tmp_path / "s")
    table = dataset.to_table(filter=ds.field("kind") == "reject")
    assert table.num_rows == (mailreject.load(store=tmp_path / "s")["kind"] == "reject").sum()


def test_readers_see_only_committed_files(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    store = tmp_path / "s"
    run([str(log)], store)
    before = stored(store)
    target = Store(store)
    state = target.read_state()
    day_dir = next((store / "events").iterdir())
    some = next(day_dir.glob("*.parquet"))
    orphan = day_dir / f"{state.seq + 1:010d}.parquet"  # a flush that died before commit
    shutil.copyfile(some, orphan)
    (day_dir / ".tmp-abc.parquet").write_bytes(b"half")
    assert stored(store).equals(before)
    with target.lock("test").acquire():
        target.recover()
    assert not orphan.exists() and not (day_dir / ".tmp-abc.parquet").exists()
    assert stored(store).equals(before)


def test_import_is_lazy(tmp_path: Path) -> None:
    code = (
        "import sys, mailreject\n"
        "assert 'pandas' not in sys.modules and 'pyarrow' not in sys.modules\n"
        "print(mailreject.__version__)\n"
        "assert callable(mailreject.load) and callable(mailreject.dataset)\n"
        "assert 'pandas' not in sys.modules\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip()
    with pytest.raises(AttributeError):
        mailreject.nope  # noqa: B018


# ---------------------------------------------------------------------------- maintenance


def test_compact_merges_without_changing_events(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    for i in range(0, 6000, 600):
        with log.open("ab") as handle:
            handle.write(lines_of(text, i, i + 600))
        run([str(log)], store)
    before = stored(store)
    per_day = {d: len(list(d.iterdir())) for d in (store / "events").iterdir()}
    assert sum(per_day.values()) >= 10
    days, merged = compact_store(store)
    assert days == sum(n > 1 for n in per_day.values())
    assert merged == sum(n for n in per_day.values() if n > 1)
    assert len(list(store.rglob("*.parquet"))) == len(per_day)
    assert stored(store).equals(before)
    assert Store(store).read_state().superseded == []
    assert compact_store(store) == (0, 0)


def test_ingest_compacts_crowded_days(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    settings = IngestSettings(flush_bytes=16 << 10, compact_after=3)
    log.write_bytes(text)
    small_blocks = ParseOptions(year=2026, tz="UTC", block_size=16 << 10)
    report = ingest([str(log)], small_blocks, store, settings)
    assert report.files_written > 6 and report.compacted >= 1
    assert all(len(list(d.iterdir())) <= 3 for d in (store / "events").iterdir())
    assert stored(store).equals(expected((text, str(log))))


def test_prune_drops_old_days(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    store = tmp_path / "s"
    run([str(log)], store)
    nov2 = len(mailreject.load("2026-11-02", "2026-11-02", store=store))
    old_files = len(list((store / "events" / "date=2026-11-01").iterdir()))
    total = len(list(store.rglob("*.parquet")))
    days, files, _ = prune_store(store, "2026-11-02", dry_run=True)
    assert days == [date(2026, 11, 1)] and files == old_files
    assert len(list(store.rglob("*.parquet"))) == total
    days, files, _ = prune_store(store, "2026-11-02")
    assert days == [date(2026, 11, 1)] and files == old_files
    assert not (store / "events" / "date=2026-11-01").exists()
    frame = mailreject.load(store=store)
    assert len(frame) == nov2 and set(frame["date"]) == {date(2026, 11, 2)}
    info = store_status(store)
    assert info.events == nov2 and info.partitions == 1
    assert parse_age("180d", date(2026, 11, 28)) == date(2026, 6, 1)
    assert parse_age("2w", date(2026, 11, 28)) == date(2026, 11, 14)
    with pytest.raises(UsageError):
        parse_age("six months")


def test_status_counts(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(text)
    store = tmp_path / "s"
    report = run([str(log)], store)
    info = store_status(store)
    assert info.events == report.stored_events
    assert dict(info.events_by_kind) == dict(report.stored_by_kind)
    assert info.first_event is not None and info.first_event.startswith("2026-11-01T23:30")
    assert info.partitions == 2 and info.files >= 2 and info.bytes > 0
    (cp,) = info.checkpoints
    assert cp.name == str(log) and cp.offset == len(text) and cp.inode == log.stat().st_ino
    data = info.to_dict()
    assert data["sources"][0]["lines"] == len(text.splitlines())
    with pytest.raises(StoreNotFoundError):
        store_status(tmp_path / "none")


# ---------------------------------------------------------------------------- failures


class FailingFS(LocalFS):
    """A file system that fails with ``error`` from the ``after``-th write operation on."""

    def __init__(self, error: int, after: int = 0) -> None:
        self.error = error
        self.after = after
        self.calls = 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls > self.after:
            raise OSError(self.error, os.strerror(self.error))

    def create(self, path: Path) -> Any:
        self._tick()
        return super().create(path)

    def replace(self, source: Path, target: Path) -> None:
        self._tick()
        super().replace(source, target)


def snapshot(store: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(store)): p.read_bytes()
        for p in store.rglob("*")
        if p.is_file() and p.name != "lock"
    }


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
@pytest.mark.parametrize("after", range(6))
def test_write_errors_change_nothing(tmp_path: Path, text: bytes, code: int, after: int) -> None:
    """A commit is create+replace of two day files, then create+replace of the state."""
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    log.write_bytes(lines_of(text, 0, 3000))
    run([str(log)], store)
    before = snapshot(store)
    with log.open("ab") as handle:
        handle.write(lines_of(text, 3000))
    with pytest.raises(StoreError) as caught:
        run([str(log)], store, IngestSettings(compact_after=0), fs=FailingFS(code, after))
    assert "\n" not in str(caught.value) and os.strerror(code) in str(caught.value)
    assert snapshot(store) == before  # data and checkpoints as they were
    report = run([str(log)], store)  # and the next run completes the job
    assert report.skipped_lines == 3000
    assert stored(store).equals(expected((text, str(log))))


# ---------------------------------------------------------------------------- locking


def test_lock_excludes_and_waits(tmp_path: Path, text: bytes) -> None:
    store = tmp_path / "s"
    Store(store).create()
    holder = StoreLock(store / "lock", "holder")
    holder.acquire()
    try:
        with pytest.raises(StoreBusyError, match="busy") as caught:
            StoreLock(store / "lock", "other").acquire(wait=0.1)
        assert f"pid {os.getpid()}" in str(caught.value)
        log = tmp_path / "mail.log"
        log.write_bytes(lines_of(text, 0, 100))
        with pytest.raises(StoreBusyError):
            run([str(log)], store)
        threading.Timer(0.3, holder.release).start()
        report = ingest([str(log)], OPTIONS, store, IngestSettings(wait=10))
        assert report.stored_events > 0
    finally:
        holder.release()


# ---------------------------------------------------------------------------- follow


def test_follow_and_a_cron_ingest_never_double(tmp_path: Path, text: bytes) -> None:
    """A follower and a cron ingest read the same file; the follower re-syncs."""
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    log.write_bytes(lines_of(text, 0, 1000))
    stop = threading.Event()
    settings = IngestSettings(flush_interval=0.2, poll_interval=0.05, compact_after=4)
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(report=follow([str(log)], OPTIONS, store, settings, stop=stop))
    )
    thread.start()
    try:
        for i in range(1000, 6000, 500):
            with log.open("ab") as handle:
                handle.write(lines_of(text, i, i + 500))
            if i % 1000 == 0:
                ingest([str(log)], OPTIONS, store, IngestSettings(wait=10, compact_after=0))
            time.sleep(0.08)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and "report" in result
    assert stored(store).equals(expected((text, str(log))))


def test_prune_keeps_checkpoints_still_in_use(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log.1"  # a rotated file, unchanged, named by every cron run
    log.write_bytes(text)
    store = tmp_path / "s"
    run([str(log)], store)
    state_file = store / "state.json"
    state = json.loads(state_file.read_text())
    for cp in state["checkpoints"]:
        cp["updated"] = 1000.0  # read long ago (1970)
    state_file.write_text(json.dumps(state))
    assert run([str(log)], store).stored_events == 0  # recognised: seen now
    prune_store(store, "2026-11-02")
    assert [cp.name for cp in Store(store).read_state().checkpoints] == [str(log)]
    again = run([str(log)], store)
    assert again.stored_events == 0 and again.skipped_lines == len(text.splitlines())
    prune_store(store, "2099-01-01")  # everything is older, checkpoints unseen since too
    assert Store(store).read_state().checkpoints == [] and len(mailreject.load(store=store)) == 0


def test_row_groups_gather_batches_and_flush_when_the_day_changes(
    tmp_path: Path, text: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transaction, "STORE_ROW_GROUP_ROWS", 1000)
    batch = pa.Table.from_batches(list(ParseRun(["-"], OPTIONS, stdin=io.BytesIO(text)).batches()))
    piece = batch.slice(0, 300).combine_chunks().to_batches()[0]
    store = Store(tmp_path / "s")
    store.create()
    txn = transaction.Transaction(store, background=False)
    for _ in range(4):  # 1,200 rows: one row group once 1,000 are reached
        txn.write("2026-11-01", piece)
    txn.write("2026-11-01", piece)  # 300 waiting ...
    txn.write("2026-11-02", piece)  # ... written now: that day is over
    txn.write("2026-11-01", piece)  # a late line of the previous day
    groups = {day: pq.ParquetFile(path).metadata for day, path, _ in txn.finish()}
    assert [groups["2026-11-01"].row_group(i).num_rows for i in range(3)] == [1200, 300, 300]
    assert groups["2026-11-01"].num_row_groups == 3
    assert groups["2026-11-02"].num_rows == 300
