"""The parse, explain and unmatched commands as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clirun import mailreject_cmd
from typer.testing import CliRunner

from mailreject.cli import app
from mailreject.schema import COLUMN_NAMES

ROOT = Path(__file__).resolve().parent.parent
MAIL_LOG = str(ROOT / "sample_logs" / "mail.log")
runner = CliRunner()

HOSTILE = (
    "Nov  3 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: "
    '501 5.5.2 <=HYPERLINK("http://x")>: Helo command rejected: Invalid name; '
    'from=<+cmd@example.net> to=<b@example.org> proto=ESMTP helo=<=HYPERLINK("http://x")>\n'
)


def test_jsonl_keys_and_utc_timestamps() -> None:
    result = runner.invoke(
        app, ["parse", MAIL_LOG, "--year", "2026", "--tz", "Europe/Berlin", "-q"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) > 700
    assert list(rows[0]) == list(COLUMN_NAMES)
    # Nov 3 00:02:14 in Berlin (CET, +01:00) is 23:02:14 UTC the day before.
    assert rows[0]["ts"] == "2026-11-02T23:02:14.000000Z"


def test_summary_on_stderr() -> None:
    result = mailreject_cmd("parse", MAIL_LOG, "--year", "2026", "--tz", "UTC")
    assert result.returncode == 0
    err = result.stderr.decode()
    assert err.count("\n") == 1
    assert "1154 lines" in err and "reject 67" in err and "dovecot 101" in err


def test_csv_neutralises_formulas() -> None:
    result = runner.invoke(
        app, ["parse", "-", "--format", "csv", "--year", "2026", "-q"], input=HOSTILE
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["helo"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["sender"] == "'+cmd@example.net"


def test_table_strips_control_characters() -> None:
    line = HOSTILE.replace("Invalid name", "Invalid \x1b]0;pwned\x07name")
    result = runner.invoke(
        app, ["parse", "-", "--format", "table", "--year", "2026", "-q"], input=line
    )
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_parquet_output(tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    result = runner.invoke(
        app, ["parse", MAIL_LOG, "--format", "parquet", "-o", str(out), "--year", "2026", "-q"]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 753
    assert table.schema.names == list(COLUMN_NAMES)
    assert pq.read_metadata(out).metadata[b"mailreject.schema_version"] == b"1"


def test_stdin_gzip(tmp_path: Path) -> None:
    data = (ROOT / "sample_logs" / "rotated" / "mail.log.2.gz").read_bytes()
    result = mailreject_cmd("parse", "-", "--format", "jsonl", "--year", "2025", stdin=data)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 126


def test_journal_from_stdin() -> None:
    data = (ROOT / "sample_logs" / "journal.json").read_bytes()
    result = mailreject_cmd("parse", "-", "--input", "journal-json", "-q", stdin=data)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 38


def test_missing_file_is_one_line_and_exit_3() -> None:
    result = mailreject_cmd("parse", "/nonexistent/mail.log")
    assert result.returncode == 3
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("mailreject: error: ")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tz", "Mars/Olympus"], "unknown time zone"),
        (["--format", "xml"], "--format must be"),
        (["--format", "parquet"], "needs -o FILE"),
        (["--input", "binary"], "--input must be"),
    ],
)
def test_bad_options_exit_2(args: list[str], needle: str) -> None:
    result = mailreject_cmd("parse", MAIL_LOG, *args)
    assert result.returncode == 2
    assert needle in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_bad_rule_file_names_file_and_rule(tmp_path: Path) -> None:
    rules = tmp_path / "local.toml"
    rules.write_text('[[rule]]\nid = "x"\ndaemons = ["smtpd"]\nshape = "reject"\nmatch = "("\n')
    result = mailreject_cmd("parse", MAIL_LOG, "--rules", str(rules))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert 'local.toml: rule "x": bad `match` regex' in err
    assert "Traceback" not in err


def test_explain() -> None:
    result = runner.invoke(app, ["explain", HOSTILE.strip(), "--year", "2026"])
    assert result.exit_code == 0
    assert "reject_invalid_helo_hostname" in result.stdout
    assert "rule smtpd.helo.invalid" in result.stdout
    result = runner.invoke(app, ["explain", "hello world"])
    assert result.stdout.startswith("no event: not a syslog line")
    result = runner.invoke(
        app, ["explain", "Nov  3 10:00:00 mx1 postfix/smtpd[1]: warning: x", "--json"]
    )
    assert (
        json.loads(result.stdout)["reason"]
        == "no rule turns this postfix/smtpd message into an event"
    )


def test_unmatched_groups_texts() -> None:
    result = runner.invoke(app, ["unmatched", MAIL_LOG, "--year", "2026", "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    assert sum(g["count"] for g in groups) == 6
    assert all(":" in g["example_source"] for g in groups)


def test_help_does_not_import_heavy_modules() -> None:
    code = "import sys; import mailreject.cli; print(sorted(m for m in ('pandas', 'pyarrow', 'plotly') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["parse", "--bogus", "x"], "Error: No such option: --bogus"),
        (["parse", "--jobs", "0", "x"], "Error: Invalid value for '--jobs'"),
        (["frobnicate"], "Error: No such command 'frobnicate'"),
    ],
)
def test_wrong_options_are_plain_errors(args: list[str], needle: str) -> None:
    result = mailreject_cmd(*args)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert needle in err
    assert "Traceback" not in err and "╭" not in err
