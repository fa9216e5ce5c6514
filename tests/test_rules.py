"""Every example of every rule, built-in and shipped, parses to exactly its expected fields."""

from __future__ import annotations

import math
from typing import Any

import pytest
import tomllib

from mailreject._parsers import Parser, default_rules
from mailreject.parsing import ParseOptions, parse_text
from mailreject.schema import COLUMN_NAMES, KINDS, LAYERS

#: Columns filled by the input adapter; examples may state them but need not.
ENVELOPE = {"ts", "host", "program", "instance", "pid", "source", "line_no", "rule"}

PARSER = Parser([], "UTC")


def _examples() -> list[Any]:
    cases = []
    for _name, text in default_rules():
        for rule in tomllib.loads(text).get("rule", []):
            for i, example in enumerate(rule.get("example", [])):
                cases.append(pytest.param(rule["id"], example, id=f"{rule['id']}#{i}"))
    return cases


def _rules() -> list[dict[str, Any]]:
    return [r for _, text in default_rules() for r in tomllib.loads(text).get("rule", [])]


@pytest.mark.parametrize(("rule_id", "example"), _examples())
def test_rule_example(rule_id: str, example: dict[str, Any]) -> None:
    batch, stats = parse_text(
        example["line"] + "\n", ParseOptions(year=2026, tz="UTC"), parser=PARSER
    )
    assert stats["lines"] == 1
    assert batch.num_rows == 1, f"no event: {stats}"
    row = batch.to_pylist()[0]
    assert row["rule"] == rule_id
    expect = example["expect"]
    unknown = set(expect) - set(COLUMN_NAMES)
    assert not unknown, f"expect names unknown columns {unknown}"
    for column in COLUMN_NAMES:
        if column in expect:
            want, got = expect[column], row[column]
            if isinstance(want, float):
                assert got is not None and math.isclose(got, want), column
            else:
                assert got == want, f"{column}: {got!r} != {want!r}"
        elif column not in ENVELOPE:
            assert row[column] is None, f"{column} = {row[column]!r} is not in expect"


def test_every_rule_has_an_example_or_is_a_fallback() -> None:
    for rule in _rules():
        if "match" in rule:
            assert rule.get("example"), f"{rule['id']} has no example"


def test_vocabularies() -> None:
    for rule in _rules():
        assert rule.get("kind", "reject") in KINDS
        if "layer" in rule:
            assert rule["layer"] in LAYERS


def test_user_rules_take_priority(tmp_path: Any) -> None:
    local = tmp_path / "local.toml"
    local.write_text(
        """
[[rule]]
id = "local.dynamic_ip"
daemons = ["smtpd"]
shape = "reject"
match = 'Recipient address rejected: Dynamic IP space'
layer = "client"
restriction = "check_client_access"
"""
    )
    line = (
        "Nov  3 10:04:05 mx1 postfix/smtpd[3006]: NOQUEUE: reject: RCPT from "
        "dsl-1.example.net[198.51.100.33]: 550 5.7.1 <bob@example.org>: "
        "Recipient address rejected: Dynamic IP space, use your provider's relay; "
        "from=<a@example.net> to=<bob@example.org> proto=SMTP helo=<dsl-1>\n"
    )
    options = ParseOptions(year=2026, tz="UTC", rules=(local,))
    batch, stats = parse_text(line, options)
    row = batch.to_pylist()[0]
    assert row["rule"] == "local.dynamic_ip"
    assert row["layer"] == "client"
    assert row["restriction"] == "check_client_access"
    assert stats["unmatched"] == 0
    batch, stats = parse_text(line, ParseOptions(year=2026, tz="UTC"))
    assert batch.to_pylist()[0]["rule"] == "smtpd.recipient.local_text"
    assert stats["unmatched"] == 1


def test_embedded_catalogue_is_current() -> None:
    """The extension embeds parsers/rules at build time: a stale build would test old rules."""
    from pathlib import Path

    rules_dir = Path(__file__).resolve().parent.parent / "parsers" / "rules"
    if not rules_dir.is_dir():
        pytest.skip("not a source checkout")
    for name, text in default_rules():
        assert (rules_dir / name).read_text(encoding="utf-8") == text, (
            f"{name} changed since the extension was built: run 'pip install -e .' again"
        )


def test_a_wrong_expectation_fails() -> None:
    example = {
        "line": "Nov  3 12:10:04 mx1 postfix/qmgr[700]: 3F1A2B4C5D: from=<a@example.net>, size=4821, nrcpt=1 (queue active)",
        "expect": {
            "kind": "queue",
            "queue_id": "3F1A2B4C5D",
            "sender": "a@example.net",
            "size": 4821,
        },
    }
    with pytest.raises(AssertionError, match="nrcpt"):
        test_rule_example("qmgr.active", example)
    example["expect"]["nrcpt"] = 2
    with pytest.raises(AssertionError, match="nrcpt"):
        test_rule_example("qmgr.active", example)
