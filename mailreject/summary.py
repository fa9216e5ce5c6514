r"""Rendering an :class:`~mailreject.analysis.Analysis` as text, Markdown or JSON.

* ``text``: rich tables; coloured in a terminal, plain ASCII otherwise (cron mails);
* ``markdown``: GitHub-style tables, every log-derived cell escaped;
* ``json``: the schema documented in ``docs/summary-json.md`` (``schema`` = 1).

Log content is a stranger's text: terminal output has control characters replaced
(:func:`mailreject.formats.terminal_safe`) and never goes through rich markup; Markdown
cells have ``| < > & * _ [ ] ` \`` escaped so a HELO cannot inject HTML or links.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from mailreject.analysis import Analysis, human_bytes
from mailreject.formats import terminal_safe

if TYPE_CHECKING:
    import pandas as pd

SummaryFormat = Literal["text", "markdown", "json"]

#: Version of the JSON document (``docs/summary-json.md``).
JSON_SCHEMA_VERSION = 1

_TOP_ROWS = 10


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return (
            bool(pd.isna(value)) if not isinstance(value, (list, dict, tuple, set, str)) else False
        )
    except (TypeError, ValueError):
        return False


def _json_value(value: Any) -> Any:
    """A JSON-ready scalar: timestamps ISO 8601 UTC, NaN/NA -> None, numpy -> Python."""
    import pandas as pd

    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready row dicts.

    Example:
        >>> import pandas as pd
        >>> records(pd.DataFrame({"a": [1, None]}))
        [{'a': 1.0}, {'a': None}]

    """
    cols = list(frame.columns)
    return [
        {c: _json_value(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def to_json_dict(a: Analysis) -> dict[str, Any]:
    r"""The JSON document (see ``docs/summary-json.md``).

    Example:
        >>> from mailreject.analysis import analyse, events_from_text
        >>> d = to_json_dict(analyse(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n")))
        >>> d["schema"], d["kpis"]["connections"]
        (1, 1)

    """
    doc: dict[str, Any] = {
        "schema": JSON_SCHEMA_VERSION,
        "period": {
            "start": _json_value(a.period_start),
            "end": _json_value(a.period_end),
            "host": a.host,
        },
        "order": a.order,
        "order_basis": a.order_basis,
        "kpis": {k: _json_value(v) for k, v in a.kpis.items()},
        "quality": a.quality,
        "accepted": {k: _json_value(v) for k, v in a.accepted.items()},
        "greylist_summary": {k: _json_value(v) for k, v in a.greylist_summary.items()},
        "freq": a.freq,
        "methods": a.methods,
        "insights": a.insights,
        "tables": {name: records(frame) for name, frame in a.tables().items()},
    }
    return doc


# --------------------------------------------------------------------------- cell formatting


def _cell(value: Any, col: str = "") -> str:
    import pandas as pd

    if _is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        if col in ("share", "unique_share", "share_of_a", "jaccard", "stopped_share"):
            return f"{value:.1%}"
        if col.endswith("_s"):
            return _seconds(value)
        if col.endswith("bytes"):
            return human_bytes(value)
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or hasattr(value, "item"):
        try:
            return f"{int(value):,}"
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _seconds(value: float) -> str:
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.0f} min"
    if value < 172800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def markdown_escape(text: str) -> str:
    r"""Escapes a cell for a Markdown table (no HTML, no links, no emphasis, no pipes).

    Example:
        >>> markdown_escape("<script>|*x*")
        '&lt;script&gt;\\|\\*x\\*'

    """
    text = terminal_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|#!":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ").replace("\r", " ")


# --------------------------------------------------------------------------- sections


Section = tuple[str, "pd.DataFrame", Sequence[str], str]


def _shown(frame: pd.DataFrame, *hidden: str) -> list[str]:
    """The columns of ``frame`` but ``hidden``, in order."""
    return [c for c in frame.columns if c not in hidden]


def _sections(a: Analysis) -> list[Section]:
    """(title, table, columns, note) in display order."""
    ql = a.queue_load
    top = a.top
    return [
        (
            "Layers (evaluation order)",
            a.layers,
            _shown(a.layers, "rank", "temporary"),
            a.order_basis,
        ),
        (
            "Queue load saved",
            ql,
            ["layer", "attempts", "temporary", "recipients", "est_bytes", "smtpd_not_started"],
            a.methods["queue_load"],
        ),
        (
            "Restrictions",
            a.restrictions,
            ["layer", "restriction", "events", "sessions", "clients", "stopped", "codes"],
            "",
        ),
        (
            "Cost to legitimate mail: delays from 4xx rejects",
            a.delayed_summary,
            _shown(a.delayed_summary, "max_delay_s"),
            a.methods["delayed"],
        ),
        (
            "Possible false positives (5xx, but delivered mail too)",
            a.false_positives,
            ["client_ip", "client_name", "rejects", "restrictions", "accepted_messages"],
            a.methods["false_positives"],
        ),
        (
            "DNSBL zones",
            a.dnsbl_zones,
            _shown(a.dnsbl_zones, "restriction", "allowlist"),
            a.methods["dnsbl"],
        ),
        (
            "Top client IPs",
            top["clients"],
            ["client_ip", "client_name", "rejects", "connections", "layers"],
            "",
        ),
        ("Top networks", top["networks"], ["network", "rejects", "clients", "layers"], ""),
        ("Top HELO names", top["helos"], ["helo", "rejects", "clients"], ""),
        ("Top sender domains", top["sender_domains"], ["sender_domain", "rejects", "clients"], ""),
        (
            "Dictionary attacks (unknown recipients per client)",
            top["dictionary_attacks"],
            ["client_ip", "client_name", "unknown_recipients", "rejects"],
            "",
        ),
        (
            "reject_warning (warn_if_reject)",
            a.reject_warnings,
            ["layer", "restriction", "events", "clients", "clients_delivered"],
            "",
        ),
        (
            "Configured restrictions that never fired",
            a.never_fired,
            ["source", "restriction", "layer"],
            "",
        ),
    ]


def _header_lines(a: Analysis) -> list[str]:
    k = a.kpis
    q = a.quality
    acc = a.accepted
    host = f" host {a.host}" if a.host else ""
    lines = [
        f"Period {_cell(a.period_start)} to {_cell(a.period_end)} UTC{host}",
        f"{k['connections']:,} connections, {k['stopped_connections']:,} stopped "
        f"({k['stopped_share']:.1%}), "
        f"{k['rejects']:,} rejects, {k['rejected_attempts']:,} rejected attempts; accepted "
        f"{acc['messages']:,} messages ({human_bytes(acc['bytes'])}, "
        f"{acc['recipients']:,} recipients)",
        f"Layer order: {a.order_basis}",
    ]
    lines.append(_quality_line(q))
    return lines


def _quality_line(q: dict[str, Any]) -> str:
    parts = [f"Data: {', '.join(q['sources']) or 'unknown sources'}"]
    if q.get("lines") is not None:
        parts.append(f"{q['lines']:,} lines read")
    parts.append(f"{q['events']:,} events in the period")
    unparsed = q.get("unparsed_by_program") or {}
    if unparsed:
        top = ", ".join(f"{p} {n:,}" for p, n in list(unparsed.items())[:5])
        parts.append(f"not events: {top}")
    if q.get("unmatched_rejects"):
        parts.append(f"{q['unmatched_rejects']} unmatched rejects")
    for note in q.get("assumptions") or []:
        parts.append(f"assumed {note}")
    return "; ".join(parts)


def render(
    a: Analysis, fmt: SummaryFormat = "text", *, color: bool = False, width: int = 120
) -> str:
    r"""Renders an analysis.

    Args:
        a: The analysis.
        fmt: ``text``, ``markdown`` or ``json``.
        color: For ``text``: rich colours and box drawing (a terminal); else plain ASCII.
        width: For ``text``: line width.

    Returns:
        The rendered text (ends with a newline).

    Example:
        >>> from mailreject.analysis import analyse, events_from_text
        >>> a = analyse(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"))
        >>> "Layers" in render(a, "markdown")
        True

    """
    if fmt == "json":
        return json.dumps(to_json_dict(a), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    if fmt == "markdown":
        return _markdown(a)
    return _text(a, color=color, width=width)


def _markdown(a: Analysis) -> str:
    out = ["# mailreject summary", ""]
    out += [markdown_escape(line) + "  " for line in _header_lines(a)]
    out += ["", "## Insights", ""]
    out += [f"- {markdown_escape(s)}" for s in a.insights] or ["- none"]
    for title, frame, cols, note in _sections(a):
        out += ["", f"## {markdown_escape(title)}", ""]
        if note:
            out += [f"_{markdown_escape(note)}_", ""]
        if not len(frame):
            out.append("(none)")
            continue
        cols = [c for c in cols if c in frame.columns]
        out.append("| " + " | ".join(markdown_escape(c) for c in cols) + " |")
        out.append("|" + "|".join("---:" if _numeric(frame[c]) else "---" for c in cols) + "|")
        for row in frame[cols].head(_rows(title)).itertuples(index=False, name=None):
            out.append(
                "| "
                + " | ".join(markdown_escape(_cell(v, c)) for v, c in zip(row, cols, strict=True))
                + " |"
            )
    return "\n".join(out) + "\n"


def _rows(title: str) -> int:
    return _TOP_ROWS if title.startswith(("Top", "Dictionary", "Possible")) else 1000


def _numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _text(a: Analysis, *, color: bool, width: int) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        color_system="standard" if color else None,
        width=width,
        highlight=False,
        emoji=False,
        markup=False,
    )
    style_title = "bold" if color else ""
    for line in _header_lines(a):
        console.print(Text(terminal_safe(line)))
    console.print()
    console.print(Text("Insights", style=style_title))
    for sentence in a.insights or ["none"]:
        console.print(Text("  - " + terminal_safe(sentence)))
    for title, frame, cols, note in _sections(a):
        console.print()
        cols = [c for c in cols if c in frame.columns]
        table = Table(
            title=Text(title, style=style_title),
            title_justify="left",
            box=box.SIMPLE_HEAD if color else box.ASCII2,
            show_edge=not color,
            caption=Text(terminal_safe(note)) if note else None,
            caption_justify="left",
            expand=False,
        )
        for c in cols:
            table.add_column(
                Text(c), justify="right" if _numeric(frame[c]) else "left", overflow="fold"
            )
        if not len(frame):
            console.print(Text(title, style=style_title))
            console.print(Text("  (none)"))
            continue
        for row in frame[cols].head(_rows(title)).itertuples(index=False, name=None):
            table.add_row(
                *(Text(terminal_safe(_cell(v, c))) for v, c in zip(row, cols, strict=True))
            )
        console.print(table)
    return buf.getvalue()
