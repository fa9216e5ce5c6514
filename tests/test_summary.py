"""`summary`: text, Markdown and JSON rendering, and the command function."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from mailreject import analysis as A
from mailreject.cli import app as cli_app
from mailreject.summary import JSON_SCHEMA_VERSION, markdown_escape, render, to_json_dict

DATA = Path(__file__).parent / "data" / "analysis"
#: ``mailreject summary`` of small.log.
SUMMARY_SMALL = ["summary", str(DATA / "small.log"), "--year", "2026", "--tz", "UTC"]


def _app() -> typer.Typer:
    return cli_app


def test_text_is_plain_when_not_a_terminal(small_analysis: A.Analysis) -> None:
    text = render(small_analysis, "text", color=False)
    assert "\x1b[" not in text
    assert "Layers (evaluation order)" in text
    assert "Queue load saved" in text
    assert "Cost to legitimate mail" in text
    assert "Top client IPs" in text
    assert "typical hardened order assumed" in text
    assert text.isascii() or all(ord(c) < 0x2500 or ord(c) > 0x257F for c in text)


def test_text_with_colour(small_analysis: A.Analysis) -> None:
    text = render(small_analysis, "text", color=True)
    assert "\x1b[" in text


def test_markdown_tables(small_analysis: A.Analysis) -> None:
    md = render(small_analysis, "markdown")
    assert md.startswith("# mailreject summary")
    assert "| layer | events |" in md
    assert "| postscreen | 1 |" in md


def test_json_document(small_analysis: A.Analysis) -> None:
    doc = json.loads(render(small_analysis, "json"))
    assert doc["schema"] == JSON_SCHEMA_VERSION
    assert doc["kpis"]["connections"] == 11
    assert doc["accepted"]["bytes"] == 90000
    assert set(doc["tables"]) >= {
        "layers",
        "queue_load",
        "restrictions",
        "greylisting",
        "dnsbl_zones",
        "top.clients",
    }
    layers = {row["layer"]: row for row in doc["tables"]["layers"]}
    assert layers["recipient"]["attempts"] == 2
    # timestamps are ISO strings, NaN is null
    assert doc["tables"]["greylisting"][1]["passed_at"] is None
    assert doc["tables"]["greylisting"][0]["first_greylisted"].startswith("2026-11-03T10:40:01")
    assert doc["period"]["start"].startswith("2026-11-03T10:00:00")
    # documented keys
    documented = (Path(__file__).parents[1] / "docs" / "summary-json.md").read_text()
    for key in doc:
        assert f"`{key}`" in documented, key
    for name in doc["tables"]:
        assert f"`{name}`" in documented, name


def test_json_dict_roundtrips(small_analysis: A.Analysis) -> None:
    json.dumps(to_json_dict(small_analysis), allow_nan=False)


def test_hostile_text_neutralised(hostile_analysis: A.Analysis) -> None:
    md = render(hostile_analysis, "markdown")
    assert "<script" not in md and "<img" not in md and "<svg" not in md
    assert "&lt;script&gt;" in md or "&lt;img" in md
    assert markdown_escape("a|b") == "a\\|b"
    assert markdown_escape("\x1b]0;x\x07") == "?\\]0;x?"


def test_terminal_controls_replaced() -> None:
    ev = A.events_from_text(
        "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example[192.0.2.1]: "
        "554 5.7.1 <x@y.example>: Relay access denied; from=<s\x1b[31m@a.example> to=<x@y.example> proto=ESMTP helo=<a\x1b]0;pwn\x07>\n"
    )
    text = render(A.analyse(ev), "text", color=True)
    assert "\x1b]0;" not in text
    assert "\x1b[31m@" not in text


def test_summary_command(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "s.json"
    result = runner.invoke(
        _app(),
        [*SUMMARY_SMALL, "--format", "json", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["kpis"]["rejects"] == 10
    result = runner.invoke(_app(), SUMMARY_SMALL)
    assert result.exit_code == 0
    assert "Queue load saved" in result.stdout
    assert "\x1b[" not in result.stdout


def test_verbose_prints_each_phase_and_its_time_on_stderr() -> None:
    result = CliRunner().invoke(_app(), [*SUMMARY_SMALL, "--format", "json", "--verbose"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # stdout is the document alone
    phases = re.fullmatch(
        r"mailreject: reading 1 log file\(s\) [0-9.]+ s; linking ([0-9,]+) events into "
        r"sessions [0-9.]+ s; analysing 11 connections [0-9.]+ s; rendering [0-9.]+ s\n",
        result.stderr,
    )
    assert phases is not None, result.stderr
    quiet = CliRunner().invoke(_app(), [*SUMMARY_SMALL, "--format", "json"])
    assert quiet.stderr == ""


def test_summary_command_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = runner.invoke(_app(), ["summary", str(empty), "--year", "2026", "--tz", "UTC"])
    assert result.exit_code == 1
    assert "no events in the input" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(_app(), [*SUMMARY_SMALL, "--since", "2030-01-01"])
    assert result.exit_code == 1
    assert "no events between" in result.stderr
    result = runner.invoke(_app(), ["summary", str(DATA / "small.log"), "--format", "xml"])
    assert result.exit_code == 2


def test_records_handles_missing() -> None:
    from mailreject.summary import records

    rows = records(
        pd.DataFrame(
            {"a": [1.5, float("nan")], "t": [pd.Timestamp("2026-01-01", tz="UTC"), pd.NaT]}
        )
    )
    assert rows == [{"a": 1.5, "t": "2026-01-01T00:00:00+00:00"}, {"a": None, "t": None}]


def test_summary_from_the_store(tmp_path: Path, small_analysis: A.Analysis) -> None:
    from mailreject.cli import app as main_app

    store = tmp_path / "store"
    runner = CliRunner()
    ingested = runner.invoke(
        main_app,
        [
            "ingest",
            str(DATA / "small.log"),
            "--store",
            str(store),
            "--year",
            "2026",
            "--tz",
            "UTC",
            "-q",
        ],
    )
    assert ingested.exit_code == 0, ingested.output
    result = runner.invoke(_app(), ["summary", "--store", str(store), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    from_files = to_json_dict(small_analysis)
    assert doc["kpis"] == from_files["kpis"]
    assert doc["tables"]["queue_load"] == from_files["tables"]["queue_load"]
    result = runner.invoke(
        _app(),
        [
            "summary",
            "--store",
            str(store),
            "--since",
            "2026-11-03T10:30",
            "--until",
            "2026-11-03T11:00",
        ],
    )
    assert result.exit_code == 0, result.output
