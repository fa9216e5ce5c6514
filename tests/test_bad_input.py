"""Bad input never stops a run nor disappears: every line is an event, unparsed or skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mailreject._parsers import Parser
from mailreject.parsing import ParseOptions, ParseRun

BAD = Path(__file__).resolve().parent / "data" / "bad_input"
SAMPLE_LINE = (
    b"Nov  3 10:01:02 mx1 postfix/smtpd[3001]: NOQUEUE: reject: RCPT from unknown[192.0.2.25]: "
    b"450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.25]; "
    b"from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<mail.example.net>\n"
)
PARSER = Parser([], "UTC")


def _run(path: Path) -> ParseRun:
    run = ParseRun([str(path)], ParseOptions(year=2026, tz="UTC"))
    for _ in run.batches():
        pass
    return run


def _accounted(run: ParseRun) -> bool:
    s = run.summary
    return s.lines == s.events + sum(s.unparsed.values()) + sum(s.skipped.values())


def test_binary_junk() -> None:
    run = _run(BAD / "binary_junk.log")
    assert run.summary.lines == 261
    assert run.summary.events == 0
    assert _accounted(run)


def test_invalid_utf8_lines_are_kept_and_repaired() -> None:
    run = ParseRun([str(BAD / "invalid_utf8.log")], ParseOptions(year=2026, tz="UTC"))
    rows = [r for b in run.batches() for r in b.to_pylist()]
    helo = [r for r in rows if r["kind"] == "reject"]
    assert len(helo) == 2
    assert all(r["restriction"] == "reject_invalid_helo_hostname" for r in helo)
    assert run.summary.repaired == 2
    assert _accounted(run)


def test_nul_bytes() -> None:
    run = _run(BAD / "nul_bytes.log")
    assert run.summary.lines == 10
    assert run.summary.skipped == {"binary": 1}
    assert run.summary.repaired == 1
    assert _accounted(run)


def test_truncated_lines() -> None:
    run = _run(BAD / "truncated.log")
    assert run.summary.lines == 10
    assert run.summary.skipped["not_syslog"] == 1
    assert _accounted(run)


def test_not_a_log() -> None:
    run = _run(BAD / "not_a_log.txt")
    assert run.summary.events == 0 and run.summary.lines == 7
    assert _accounted(run)


def test_huge_line(tmp_path: Path) -> None:
    out = tmp_path / "huge.log"
    subprocess.run([sys.executable, str(BAD / "make_huge_line.py"), str(out)], check=True)
    run = _run(out)
    assert run.summary.lines == 5
    assert run.summary.skipped == {"too_long": 1}
    assert _accounted(run)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from(["syslog", "journal-json"]))
def test_random_bytes_never_crash_and_every_line_is_counted(data: bytes, fmt: str) -> None:
    batch, stats = PARSER.parse(data, source="x", year=2026, format=fmt)
    expected_lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert stats["lines"] == expected_lines
    unaccounted = (
        stats["lines"]
        - stats["events"]
        - sum(stats["unparsed"].values())
        - sum(stats["skipped"].values())
    )
    assert unaccounted == 0
    assert batch.num_rows == stats["events"]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(SAMPLE_LINE)), st.binary(max_size=20), st.integers(0, len(SAMPLE_LINE)))
def test_mutated_real_lines_never_crash(cut: int, junk: bytes, at: int) -> None:
    line = SAMPLE_LINE[:at] + junk + SAMPLE_LINE[at:cut]
    data = line + b"\n" + SAMPLE_LINE
    batch, stats = PARSER.parse(data, source="x", year=2026)
    assert stats["lines"] == data.count(b"\n")
    assert isinstance(batch, pa.RecordBatch)
    assert batch.to_pylist()[-1]["restriction"] == "reject_unknown_client_hostname"
