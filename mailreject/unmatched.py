"""``mailreject unmatched``: reject lines no specific rule explains, grouped to write rules for.

Texts are normalised (addresses, IPs, numbers, host names in brackets) so that one local
reply text seen from a thousand clients is one group.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<[^<>@\s]*@[^<>\s]*>"), "<ADDR>"),
    (re.compile(r"\b[\w.+-]+@[\w.-]+\b"), "ADDR"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "IP"),
    (re.compile(r"\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b"), "IP"),
    (re.compile(r"\[[^\]\s]+\]"), "[HOST]"),
    (re.compile(r"https?://\S+"), "URL"),
    (re.compile(r"\d+"), "N"),
)


def normalise(text: str) -> str:
    """The shape of a reply text, e.g. ``<ADDR>: Recipient address rejected: Over quota N``."""
    for pattern, placeholder in _NORMALISERS:
        text = pattern.sub(placeholder, text)
    return text


@dataclass
class UnmatchedGroup:
    """Lines sharing one normalised text."""

    program: str
    layer: str
    text: str
    count: int
    example: str
    example_source: str


def unmatched_rule_ids(
    rules: Iterable[tuple[str, str, list[str], str, str | None, bool]],
) -> set[str]:
    """Ids of the rules whose events are listed as unmatched."""
    return {rule_id for rule_id, *_, unmatched in rules if unmatched}


@functools.lru_cache(maxsize=1)
def builtin_unmatched_rule_ids() -> frozenset[str]:
    """The unmatched rule ids of the built-in catalogue (what stored events were parsed with).

    Example:
        >>> "smtpd.reject.unmatched" in builtin_unmatched_rule_ids()
        True
        >>> "smtpd.helo.non_fqdn" in builtin_unmatched_rule_ids()
        False

    """
    from mailreject._parsers import Parser

    return frozenset(unmatched_rule_ids(Parser([], "UTC").rules()))


def group_unmatched(batches: Iterable[pa.RecordBatch], rule_ids: set[str]) -> list[UnmatchedGroup]:
    """Groups unmatched reject events by (daemon, layer, normalised code+DSN+text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    counts: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], tuple[str, str]] = {}
    wanted = pa.array(sorted(rule_ids), pa.string())
    for batch in batches:
        mask = pc.is_in(batch.column("rule"), value_set=wanted)
        for row in (
            batch.filter(mask)
            .select(["program", "layer", "smtp_code", "dsn", "detail", "source", "line_no"])
            .to_pylist()
        ):
            daemon = row["program"].rsplit("/", 1)[-1]
            reply = " ".join(
                str(p) for p in (row["smtp_code"], row["dsn"], row["detail"]) if p is not None
            )
            key = (daemon, row["layer"] or "other", normalise(reply))
            counts[key] += 1
            examples.setdefault(key, (reply, f"{row['source']}:{row['line_no']}"))
    return [
        UnmatchedGroup(daemon, layer, text, n, *examples[(daemon, layer, text)])
        for (daemon, layer, text), n in counts.most_common()
    ]
