"""``mailreject explain``: what the engine makes of one line, and which rule said so."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tomllib

from mailreject.parsing import ParseOptions, load_rule_files, make_parser, parse_text

if TYPE_CHECKING:
    from mailreject._parsers import Parser


@dataclass
class RuleInfo:
    """A rule of the catalogue as the user wrote it."""

    id: str
    file: str
    daemons: list[str]
    shape: str
    match: str | None
    description: str | None = None


@dataclass
class Explanation:
    """The outcome for one line: an event with its rule, or why there is none."""

    line: str
    event: dict[str, Any] | None
    rule: RuleInfo | None = None
    reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "event": self.fields or None,
            "rule": self.rule.__dict__ if self.rule else None,
            "reason": self.reason,
        }


def rule_catalogue(
    parser: Parser, extra: list[tuple[str, str]] | None = None
) -> dict[str, RuleInfo]:
    """Every compiled rule by id, with descriptions from the rule files.

    Args:
        parser: The compiled catalogue.
        extra: The user's rule files as (name, text), already validated by the parser.

    """
    from mailreject._parsers import default_rules

    descriptions: dict[str, str] = {}
    for _, text in [*default_rules(), *(extra or [])]:
        for rule in tomllib.loads(text).get("rule", []):
            if "description" in rule:
                descriptions[rule["id"]] = rule["description"]
    rules = {}
    for rule_id, file, daemons, shape, match, _unmatched in parser.rules():
        rules[rule_id] = RuleInfo(rule_id, file, daemons, shape, match, descriptions.get(rule_id))
    return rules


def explain(line: str, options: ParseOptions | None = None) -> Explanation:
    """Parses one line and says which rule produced its event, or why none did."""
    options = options or ParseOptions()
    parser = make_parser(options)
    text = line.rstrip("\r\n")
    batch, stats = parse_text(text + "\n", options, parser=parser)
    if batch.num_rows == 0:
        if stats["skipped"]:
            reason = next(iter(stats["skipped"]))
            why = {
                "not_syslog": "not a syslog line: no timestamp, host and program tag",
                "too_long": "longer than any line Postfix writes",
                "binary": "contains NUL bytes",
                "blank": "blank line or journal marker",
                "bad_journal": "not a journal JSON object with MESSAGE",
            }.get(reason, reason)
        else:
            program = next(iter(stats["unparsed"]), "?")
            why = f"no rule turns this {program} message into an event"
        return Explanation(line=text, event=None, reason=why)
    row = batch.to_pylist()[0]
    fields = {k: v for k, v in row.items() if v is not None and k not in ("source", "line_no")}
    if "ts" in fields:
        fields["ts"] = fields["ts"].isoformat()
    rule = rule_catalogue(parser, load_rule_files(options.rules)).get(row["rule"])
    return Explanation(line=text, event=row, rule=rule, fields=fields)
