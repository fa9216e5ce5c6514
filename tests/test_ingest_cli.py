"""The ingest, status, compact and prune commands as a user (or cron) runs them."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from clirun import mailreject_cmd
from typer.testing import CliRunner

import mailreject
from mailreject import api
from mailreject.cli import app
from mailreject.generator import generate
from mailreject.maintenance import store_status
from mailreject.parsing import ParseOptions, ParseRun
from mailreject.schema import COLUMN_NAMES
from mailreject.status import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
MAIL_LOG = ROOT / "sample_logs" / "mail.log"
SHARED = ["--year", "2026", "--tz", "UTC"]
runner = CliRunner()


@pytest.fixture(scope="module")
def text() -> bytes:
    buf = io.BytesIO()
    generate(buf, lines=4000, seed=3, start=datetime(2026, 11, 2, 8, tzinfo=timezone.utc))
    return buf.getvalue()


def lines_of(data: bytes, first: int, last: int | None = None) -> bytes:
    return b"".join(data.splitlines(keepends=True)[first:last])


def expected(*files: tuple[bytes, str]) -> pd.DataFrame:
    tables = []
    for content, name in files:
        run = ParseRun(["-"], ParseOptions(year=2026, tz="UTC"), stdin=io.BytesIO(content))
        table = pa.Table.from_batches(list(run.batches()))
        idx = table.schema.get_field_index("source")
        tables.append(table.set_column(idx, "source", pa.array([name] * table.num_rows)))
    return normalise(api._to_pandas(pa.concat_tables(tables), False))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["source", "line_no", "ts", "kind", "detail", "recipient", "rule"]
    return frame[list(COLUMN_NAMES)].sort_values(keys).reset_index(drop=True)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def events_in(store: Path) -> int:
    try:
        return store_status(store).events
    except Exception:
        return -1


def test_ingest_status_and_a_second_run(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    first = mailreject_cmd("ingest", str(MAIL_LOG), "--store", store, *SHARED)
    assert first.returncode == 0, first.stderr
    err = first.stderr.decode()
    assert err.count("\n") == 1  # not a terminal: one summary line
    assert "1154 lines" in err and "reject 67" in err and "dovecot 101" in err
    assert "stored 753 new events" in err and "skipped 0 already-stored lines" in err
    second = mailreject_cmd("ingest", str(MAIL_LOG), "--store", store, *SHARED)
    assert second.returncode == 0
    assert "stored 0 new events" in second.stderr.decode()
    assert "skipped 1154 already-stored lines" in second.stderr.decode()
    status = runner.invoke(app, ["status", "--store", store])
    assert status.exit_code == 0, status.output
    assert "events      753 (postscreen 254" in status.stdout
    assert "2026-11-03T00:02:14+00:00 .. 2026-11-04T23:30:01+00:00" in status.stdout
    assert "2 days, 2 files" in status.stdout and str(MAIL_LOG) in status.stdout
    as_json = json.loads(runner.invoke(app, ["status", "--store", store, "--json"]).stdout)
    assert as_json["events"] == 753 and as_json["events_by_kind"]["reject"] == 67
    (source,) = as_json["sources"]
    assert source["name"] == str(MAIL_LOG) and source["lines"] == 1154
    assert source["inode"] == MAIL_LOG.stat().st_ino and source["last_ingest"]


def test_store_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILREJECT_STORE", str(tmp_path / "env"))
    result = runner.invoke(app, ["ingest", str(MAIL_LOG), *SHARED, "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert len(mailreject.load()) == 753


def test_exit_codes(tmp_path: Path, text: bytes) -> None:
    store = str(tmp_path / "s")
    log = tmp_path / "mail.log"
    log.write_bytes(lines_of(text, 0, 300))
    usage = runner.invoke(app, ["ingest", str(log), "--store", store, "--input", "xml"])
    assert usage.exit_code == ExitStatus.USAGE
    err = tmp_path / "mail.err"
    err.write_bytes(lines_of(text, 0, 10))
    dup = runner.invoke(app, ["ingest", str(log), str(err), "--store", store, *SHARED])
    assert dup.exit_code == ExitStatus.USAGE
    assert "mail.err" in dup.stderr and "--allow-duplicates" in dup.stderr
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.log"), "--store", store])
    assert missing.exit_code == ExitStatus.NO_INPUT
    assert "nope.log" in missing.stderr
    partial = runner.invoke(
        app, ["ingest", str(tmp_path / "nope.log"), str(log), "--store", store, *SHARED]
    )
    assert partial.exit_code == ExitStatus.PARTIAL
    lines = partial.stderr.splitlines()
    assert lines[0].startswith("mailreject: error: cannot open") and "stored" in lines[-1]
    assert len(mailreject.load(store=store)) > 0
    follow_stdin = runner.invoke(app, ["ingest", "--follow", "-", "--store", store])
    assert follow_stdin.exit_code == ExitStatus.USAGE
    no_store = runner.invoke(app, ["status", "--store", str(tmp_path / "none")])
    assert no_store.exit_code == ExitStatus.NO_INPUT and "no store" in no_store.stderr


def test_read_only_store_fails_cleanly(
    tmp_path: Path, text: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s"
    log = tmp_path / "mail.log"
    log.write_bytes(lines_of(text, 0, 1000))
    assert runner.invoke(app, ["ingest", str(log), "--store", str(store), *SHARED]).exit_code == 0
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and p.name != "lock"}
    with log.open("ab") as handle:
        handle.write(lines_of(text, 1000))

    def read_only(*_args: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("mailreject.store.LocalFS.create", read_only)
    result = runner.invoke(app, ["ingest", str(log), "--store", str(store), *SHARED])
    assert result.exit_code == ExitStatus.ERROR
    first, *rest = result.stderr.splitlines()
    assert first == f"mailreject: error: cannot write to the store {store}: Read-only file system"
    assert len(rest) == 1 and rest[0].startswith("mailreject: hint:")
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and p.name != "lock"}
    assert after == before
    monkeypatch.undo()
    assert runner.invoke(app, ["ingest", str(log), "--store", str(store), *SHARED]).exit_code == 0
    assert normalise(mailreject.load(store=store)).equals(expected((text, str(log))))


def test_journal_json_from_a_pipe(tmp_path: Path) -> None:
    line = (
        '{"__REALTIME_TIMESTAMP":"%d","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/smtpd",'
        '"_PID":"7","MESSAGE":"NOQUEUE: reject: RCPT from unknown[192.0.2.%d]: 554 5.7.1 '
        "Service unavailable; Client host [192.0.2.%d] blocked using zen.spamhaus.org; "
        'from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>"}\n'
    )
    data = "".join(line % (1_793_000_000_000_000 + i, i % 250, i % 250) for i in range(50)).encode()
    store = str(tmp_path / "s")
    args = ("ingest", "-", "--input", "journal-json", "--store", store)
    assert mailreject_cmd(*args, stdin=data).returncode == 0
    again = mailreject_cmd(*args, stdin=data)
    assert again.returncode == 0 and "stored 0 new events" in again.stderr.decode()
    frame = mailreject.load(store=store)
    assert len(frame) == 50 and set(frame["kind"]) == {"reject"} and set(frame["source"]) == {"-"}


def test_compact_and_prune_commands(tmp_path: Path, text: bytes) -> None:
    store = str(tmp_path / "s")
    log = tmp_path / "mail.log"
    for i in range(0, 4000, 1000):
        with log.open("ab") as handle:
            handle.write(lines_of(text, i, i + 1000))
        assert runner.invoke(app, ["ingest", str(log), "--store", store, *SHARED]).exit_code == 0
    before = normalise(mailreject.load(store=store))
    result = runner.invoke(app, ["compact", "--store", store])
    assert result.exit_code == 0 and "compacted 1 day(s): merged 4 files" in result.stderr
    assert normalise(mailreject.load(store=store)).equals(before)
    dry = runner.invoke(app, ["prune", "--older-than", "2026-11-03", "--store", store, "--dry-run"])
    assert dry.exit_code == 0 and "would drop 1 day(s) before 2026-11-03" in dry.stderr
    kept = runner.invoke(app, ["prune", "--older-than", "2026-11-02", "--store", store])
    assert kept.exit_code == 0 and "dropped 0 day(s)" in kept.stderr
    assert len(mailreject.load(store=store)) == len(before)
    bad = runner.invoke(app, ["prune", "--older-than", "soon", "--store", store])
    assert bad.exit_code == ExitStatus.USAGE
    gone = runner.invoke(app, ["prune", "--older-than", "2026-11-03", "--store", store])
    assert gone.exit_code == 0 and "dropped 1 day(s)" in gone.stderr
    assert len(mailreject.load(store=store)) == 0


HOLD_LOCK = """
import sys, time
from pathlib import Path
from mailreject.store import Store
store = Store(Path(sys.argv[1])); store.create()
lock = store.lock("ingest (test holder)").acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_second_writer_is_told_the_store_is_busy(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, store, "1.5"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        busy = mailreject_cmd("ingest", str(MAIL_LOG), "--store", store, *SHARED)
        assert busy.returncode == ExitStatus.STORE_BUSY
        err = busy.stderr.decode()
        assert f"is busy (pid {holder.pid}: ingest (test holder) since" in err
        assert "--wait" in err
        for command in (("compact",), ("prune", "--older-than", "1d")):
            assert mailreject_cmd(*command, "--store", store).returncode == ExitStatus.STORE_BUSY
        waited = mailreject_cmd("ingest", str(MAIL_LOG), "--store", store, *SHARED, "--wait", "30")
        assert waited.returncode == 0, waited.stderr
        assert "stored 753 new events" in waited.stderr.decode()
    finally:
        holder.kill()
        holder.wait()


def test_follow_survives_rotation_and_stops_on_sigterm(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    old = [lines_of(text, 0, 1000), lines_of(text, 1000, 2000), lines_of(text, 2000, 2300)]
    new = [lines_of(text, 2300, 2800), lines_of(text, 2800, 4000)]
    log.write_bytes(old[0])
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mailreject", "ingest", "--follow", str(log),
            "--store", str(store), *SHARED, "--flush-interval", "0.2", "--poll-interval", "0.05",
        ],
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_for(lambda: events_in(store) == len(expected((old[0], "x"))))
        with log.open("ab") as handle:
            handle.write(old[1])
        wait_for(lambda: events_in(store) == len(expected((old[0] + old[1], "x"))))
        log.rename(tmp_path / "mail.log.1")  # logrotate: rename, create
        log.write_bytes(new[0])
        with (tmp_path / "mail.log.1").open("ab") as handle:
            handle.write(old[2])  # syslog writes to the old file until it reopens
        with log.open("ab") as handle:
            handle.write(new[1])
        total = len(expected((b"".join(old), "x"), (b"".join(new), "x")))
        wait_for(lambda: events_in(store) == total)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stored" in err.decode()
    want = expected((b"".join(old), str(log)), (b"".join(new), str(log)))
    assert normalise(mailreject.load(store=store)).equals(want)


def test_follow_stores_what_it_has_on_sigint(tmp_path: Path, text: bytes) -> None:
    log = tmp_path / "mail.log"
    store = tmp_path / "s"
    log.write_bytes(b"")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mailreject", "ingest", "--follow", str(log),
            "--store", str(store), *SHARED, "--flush-interval", "3600", "--poll-interval", "0.05",
        ],
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # started (and found nothing)
        log.write_bytes(lines_of(text, 0, 500))
        time.sleep(0.5)  # read, but the flush interval is an hour away
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert normalise(mailreject.load(store=store)).equals(
        expected((lines_of(text, 0, 500), str(log)))
    )
