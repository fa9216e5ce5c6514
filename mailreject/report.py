r"""The HTML report: one self-contained, offline, deterministic file.

The page shell (CSS, the table-sorting script) is ``mailreject/templates/report.html``;
this module fills it with sections drawn from an :class:`~mailreject.analysis.Analysis`
(tables here, figures in :mod:`mailreject.charts`). plotly.js is embedded once (``inline``),
linked from the CDN (``cdn``) or written next to the report (``directory``); each chart is
``plotly.io.to_html(full_html=False, include_plotlyjs=False, div_id=<stable id>)``, so two
renders of the same data are byte-identical (no generation time unless passed in, no random
ids).

Hostile input: everything that came from a log (HELO names, addresses, reply texts, zone
names) is escaped at the point it is written:

* HTML text and attribute values: :func:`~mailreject.charts.esc` (``html.escape`` with
  quotes);
* strings inside plotly figures: :func:`esc` as well, because plotly renders a subset of
  HTML in labels and hover text (entities are decoded for display, tags are not built);
* JSON inside ``<script>``: plotly's serializer writes ``<``, ``>``, ``/`` and U+2028/9 as
  ``\uXXXX`` escapes; :func:`script_json` does the same for our own JSON, and
  :func:`check_script_safe` verifies the assembled page before it is returned;
* a Content-Security-Policy admits only the page's own inline scripts (by hash), so an
  injected ``<script>`` would not run even if escaping failed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Literal

from mailreject.analysis import Analysis, human_bytes
from mailreject.charts import (
    LAYER_COLOURS,
    colour,
    esc,
    fig_delays,
    fig_dnsbl,
    fig_dnsbl_overlap,
    fig_funnel,
    fig_greylist,
    fig_postscreen,
    fig_queue_load,
    fig_spf,
    fig_timeseries,
    figure_html,
)
from mailreject.summary import _cell, _is_missing, _shown

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CHART_IDS",
    "LAYER_COLOURS",
    "PLOTLY_FILE",
    "PlotlyJsMode",
    "check_script_safe",
    "esc",
    "plotly_js",
    "render_report",
    "script_json",
    "write_report",
]

PlotlyJsMode = Literal["inline", "cdn", "directory"]

#: Names of the chart divs, in page order (the browser test looks for them).
CHART_IDS: tuple[str, ...] = (
    "chart-funnel",
    "chart-queue-load",
    "chart-timeseries",
    "chart-delays",
    "chart-greylist",
    "chart-dnsbl",
    "chart-dnsbl-overlap",
    "chart-spf",
    "chart-postscreen",
)

PLOTLY_FILE = "plotly.min.js"


def script_json(obj: Any) -> str:
    r"""JSON safe to place inside ``<script>``: ``< > &`` and U+2028/9 as ``\uXXXX``.

    Example:
        >>> script_json({"a": "</script>"})
        '{"a": "\\u003c/script\\u003e"}'

    """
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    for ch, rep in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, rep)
    return text


_SCRIPT_BLOCK = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S | re.I)


def check_script_safe(page: str, allowed_scripts: int) -> None:
    """Raises ``ValueError`` unless the page has exactly ``allowed_scripts`` script elements.

    A ``</script>`` or ``<script`` that came from the log would add one.

    Example:
        >>> check_script_safe("<script>1</script>", 1)

    """
    found = len(re.findall(r"<script\b", page, re.I))
    if found != allowed_scripts:
        raise ValueError(f"report has {found} script elements, expected {allowed_scripts}")


# --------------------------------------------------------------------------- HTML pieces


def _table(
    frame: pd.DataFrame,
    cols: Sequence[str] | None = None,
    *,
    omit: Sequence[str] = (),
    table_id: str,
    headers: dict[str, str] | None = None,
    layer_col: str | None = "layer",
    limit: int | None = None,
) -> str:
    """A sortable table of ``cols`` (default: every column of ``frame`` but ``omit``)."""
    import pandas as pd

    if not len(frame):
        return '<p class="empty">Nothing in this period.</p>'
    cols = _shown(frame, *omit) if cols is None else [c for c in cols if c in frame.columns]
    headers = headers or {}
    numeric = {
        c: bool(pd.api.types.is_numeric_dtype(frame[c].dtype))
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
        for c in cols
    }
    out = [f'<div class="tablewrap"><table class="sortable" id="{esc(table_id)}"><thead><tr>']
    for c in cols:
        cls = ' class="n"' if numeric[c] else ""
        label = headers.get(c, (c[:-2] if c.endswith("_s") else c).replace("_", " "))
        out.append(f'<th{cls} scope="col">{esc(label)}</th>')
    out.append("</tr></thead><tbody>")
    rows = frame[cols] if limit is None else frame[cols].head(limit)
    for row in rows.itertuples(index=False, name=None):
        out.append("<tr>")
        for c, v in zip(cols, row, strict=True):
            text = _cell(v, c)
            if numeric[c]:
                raw = "" if _is_missing(v) else repr(float(v))
                out.append(f'<td class="n" data-v="{esc(raw)}">{esc(text)}</td>')
            elif c == layer_col and not _is_missing(v):
                out.append(
                    f'<td class="l"><span class="sw" style="background:{colour(v)}"></span>'
                    f"{esc(text)}</td>"
                )
            else:
                out.append(f"<td>{esc(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _chart(
    div_id: str, how: str, make: Callable[[Analysis], Any], a: Analysis, has_data: bool
) -> str:
    if not has_data:
        return f'<p class="how">{esc(how)}</p><p class="empty">Nothing in this period.</p>'
    figure = figure_html(make(a), div_id)
    return f'<p class="how">How to read it: {esc(how)}</p><div class="chart">{figure}</div>'


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def _p(text: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f"<p{klass}>{esc(text)}</p>"


def _cards(a: Analysis) -> str:
    k, acc = a.kpis, a.accepted
    total = a.queue_load.iloc[-1]
    cards = [
        ("connections", f"{k['connections']:,}"),
        ("stopped", f"{k['stopped_share']:.1%}"),
        ("rejects", f"{k['rejects']:,}"),
        ("attempts kept out of the queue", f"{int(total['attempts']):,}"),
        ("bytes kept out (est.)", human_bytes(total["est_bytes"])),
        ("smtpd processes spared", f"{int(total['smtpd_not_started']):,}"),
        ("messages accepted", f"{acc['messages']:,}"),
        ("bytes accepted", human_bytes(acc["bytes"])),
    ]
    inner = "".join(
        f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(label)}</div></div>'
        for label, v in cards
    )
    return f'<div class="cards">{inner}</div>'


def _quality(a: Analysis) -> str:
    q = a.quality
    items = [
        f"Sources: {', '.join(q['sources']) or 'unknown'}",
        f"Events in the period: {q['events']:,}"
        + (f" (of {q['input_events']:,} read)" if q.get("input_events") is not None else ""),
        f"Time range of the events: {q['first_event']} to {q['last_event']}",
    ]
    if q.get("lines") is not None:
        items.append(f"Lines read: {q['lines']:,}")
    unparsed = q.get("unparsed_by_program") or {}
    if unparsed:
        items.append(
            "Lines that are not events, by program: "
            + ", ".join(f"{p} {n:,}" for p, n in unparsed.items())
        )
    skipped = q.get("skipped_by_reason") or {}
    if skipped:
        items.append("Skipped lines: " + ", ".join(f"{r} {n:,}" for r, n in skipped.items()))
    items.append(f"Rejects no specific rule explains: {q.get('unmatched_rejects', 0):,}")
    items += [f"Assumption: {note}" for note in q.get("assumptions") or []]
    items.append(f"Layer order: {a.order_basis}")
    lis = "".join(f"<li>{esc(x)}</li>" for x in items)
    head = '<section id="quality" class="quality"><strong>Data quality</strong>'
    return f"{head}<ul>{lis}</ul></section>"


def _samples(a: Analysis) -> str:
    s = a.samples
    if not len(s):
        return ""
    out = ["<h3>Sample events per restriction</h3>"]
    for i, ((layer, restriction), grp) in enumerate(
        s.groupby(["layer", "restriction"], sort=False)
    ):
        out.append(
            f'<details><summary><span class="sw" style="background:{colour(layer)}"></span>'
            f"{esc(layer)}: {esc(restriction)} ({len(grp)})</summary>"
        )
        out.append(
            _table(grp, omit=("layer", "restriction"), table_id=f"samples-{i}", layer_col=None)
        )
        out.append("</details>")
    return "".join(out)


def _body(a: Analysis, generated_at: str | None, title: str) -> str:
    host = f", host {a.host}" if a.host else ""
    period = f"{_cell(a.period_start)} to {_cell(a.period_end)} UTC{host}"
    head = [f"<header><h1>{esc(title)}</h1>", _p(f"Period: {period}", "muted")]
    if generated_at:
        head.append(_p(f"Generated {generated_at}", "muted"))
    head.append("</header>")
    parts = ["".join(head), _cards(a), _quality(a)]

    fl = a.first_layers
    parts.append(
        _section(
            "funnel",
            "Layer funnel (evaluation order)",
            _chart(
                "chart-funnel",
                "each bar is the number of connections still open after a layer; "
                "the step down is what that "
                "layer stopped first (a connection counts at the first layer that rejected it).",
                fig_funnel,
                a,
                a.kpis["connections"] > 0,
            ),
            _p(a.order_basis, "method"),
            _table(fl, table_id="table-funnel"),
        )
    )
    ql = a.queue_load
    parts.append(
        _section(
            "queue-load",
            "Queue load saved",
            _chart(
                "chart-queue-load",
                "message attempts and recipients each layer refused before they got a queue id; "
                "taller bars saved more work.",
                fig_queue_load,
                a,
                bool(ql["attempts"].sum() or ql["recipients"].sum()),
            ),
            _table(ql, table_id="table-queue-load"),
            _p(
                f"Accepted: {a.accepted['messages']:,} messages, "
                f"{a.accepted['recipients']:,} recipients, {human_bytes(a.accepted['bytes'])} "
                f"(median size {human_bytes(a.accepted['median_size'])})."
            ),
            _p("Method: " + a.methods["queue_load"], "method"),
        )
    )
    parts.append(
        _section(
            "over-time",
            "Layers over time",
            _chart(
                "chart-timeseries",
                f"rejects per {a.freq}, stacked by layer in evaluation order; "
                "drag the slider below the chart to zoom.",
                fig_timeseries,
                a,
                len(a.timeseries) > 0,
            ),
        )
    )
    parts.append(
        _section(
            "restrictions",
            "Per restriction",
            _p("Sorted by layer in evaluation order; click a column header to sort.", "how"),
            _table(
                a.restrictions, omit=("name", "zone", "position"), table_id="table-restrictions"
            ),
            _samples(a),
            (
                "<h3>Configured restrictions that never fired</h3>"
                + _table(a.never_fired, omit=("position",), table_id="table-never-fired")
            )
            if "typical" not in a.order_basis
            else "",
        )
    )
    parts.append(
        _section(
            "cost",
            "Cost to legitimate mail",
            _chart(
                "chart-delays",
                "how long mail that was temporarily rejected (4xx) and accepted later "
                "was held up, by the layer of its first 4xx.",
                fig_delays,
                a,
                len(a.delayed) > 0,
            ),
            _table(a.delayed_summary, table_id="table-delayed"),
            _p("Method: " + a.methods["delayed"], "method"),
            "<h3>Possible false positives</h3>",
            _p(a.methods["false_positives"], "how"),
            _table(
                a.false_positives,
                [
                    "client_ip",
                    "client_name",
                    "rejects",
                    "restrictions",
                    "layers",
                    "senders",
                    "accepted_messages",
                    "first_reject",
                    "last_reject",
                    "example",
                ],
                table_id="table-false-positives",
            ),
        )
    )
    g = a.greylist_summary
    parts.append(
        _section(
            "greylisting",
            "Greylisting",
            _chart(
                "chart-greylist",
                "what happened to each greylisted (client network, sender, recipient) triplet.",
                fig_greylist,
                a,
                g["triplets"] > 0,
            ),
            _p(
                f"{g['triplets']:,} triplets; median delay of those that passed: "
                f"{_cell(g['median_delay_s'], 'median_delay_s') or 'n/a'}."
            ),
            _table(a.greylisting, table_id="table-greylisting", limit=200),
            _p("Method: " + a.methods["greylisting"], "method"),
        )
    )
    parts.append(
        _section(
            "dnsbl",
            "DNSBL zones and overlap",
            '<div class="grid2"><div>',
            _chart(
                "chart-dnsbl",
                "clients each zone listed, and how many of them no other zone or layer "
                "caught (its unique contribution).",
                fig_dnsbl,
                a,
                len(a.dnsbl_zones) > 0,
            ),
            "</div><div>",
            _chart(
                "chart-dnsbl-overlap",
                "row zone A, column zone B: the share of A's clients that B lists too; "
                "dark cells mean A adds little beyond B.",
                fig_dnsbl_overlap,
                a,
                len(a.dnsbl_zones) > 0,
            ),
            "</div></div>",
            _table(a.dnsbl_zones, table_id="table-dnsbl"),
            _p("Method: " + a.methods["dnsbl"], "method"),
        )
    )
    top = a.top
    seen = ("first_seen", "last_seen")
    who: list[tuple[str, str, list[str] | None, tuple[str, ...]]] = [
        (
            "Client IPs",
            "clients",
            [
                "client_ip",
                "client_name",
                "rejects",
                "connections",
                "layers",
                "accepted_messages",
                "first_seen",
                "last_seen",
            ],
            (),
        ),
        ("Networks (/24, /48)", "networks", None, seen),
        ("Reverse names", "names", None, seen),
        ("HELO names", "helos", None, seen),
        ("Sender domains", "sender_domains", None, seen),
        ("Targeted recipients", "recipients", None, seen),
        ("Dictionary attacks (unknown recipients per client)", "dictionary_attacks", None, ()),
    ]
    who_html = "".join(
        "<div><h3>"
        + esc(t)
        + "</h3>"
        + _table(
            top[key],
            cols,
            omit=omit,
            table_id="table-top-" + key.replace("_", "-"),
            layer_col=None,
        )
        + "</div>"
        for t, key, cols, omit in who
    )
    parts.append(_section("who", "Who", f'<div class="grid2">{who_html}</div>'))
    parts.append(
        _section(
            "spf-postscreen",
            "SPF, postscreen, reject_warning",
            '<div class="grid2"><div><h3>SPF results</h3>',
            _chart(
                "chart-spf",
                "SPF results the policy daemon logged, and rejects per result.",
                fig_spf,
                a,
                len(a.spf) > 0,
            ),
            _table(a.spf, table_id="table-spf"),
            "</div><div><h3>postscreen verdicts</h3>",
            _chart(
                "chart-postscreen",
                "postscreen sessions by outcome; PASS verdicts were handed to smtpd.",
                fig_postscreen,
                a,
                len(a.postscreen) > 0,
            ),
            _table(a.postscreen, table_id="table-postscreen"),
            "</div></div>",
            "<h3>postscreen tests</h3>",
            _table(a.postscreen_actions, table_id="table-postscreen-actions"),
            "<h3>reject_warning: what warn_if_reject would have blocked</h3>",
            _table(a.reject_warnings, table_id="table-reject-warnings"),
        )
    )
    insights = "".join(f"<li>{esc(x)}</li>" for x in a.insights) or "<li>Nothing stands out.</li>"
    parts.append(_section("insights", "Insights", f'<ul class="insights">{insights}</ul>'))
    parts.append(
        f"<footer>mailreject report; figures from {esc(', '.join(a.quality['sources']))}.</footer>"
    )
    return "\n".join(parts)


# --------------------------------------------------------------------------- page


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package.

    Example:
        >>> "Plotly" in plotly_js()[:5000]
        True

    """
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _cdn_url() -> str:
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


def _sha256(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


def render_report(
    a: Analysis,
    *,
    plotlyjs: PlotlyJsMode = "inline",
    plotlyjs_src: str = PLOTLY_FILE,
    generated_at: str | None = None,
    title: str = "mailreject report",
) -> str:
    r"""Renders the report page.

    Args:
        a: The analysis to draw.
        plotlyjs: ``inline`` embeds plotly.js once (offline, ~4.7 MB); ``cdn`` links
            cdn.plot.ly; ``directory`` links ``plotlyjs_src`` (written by
            :func:`write_report` next to the page).
        plotlyjs_src: Script URL for ``directory`` mode.
        generated_at: A time stamp to print; None prints none (deterministic output).
        title: Page title.

    Returns:
        The HTML text.

    Example:
        >>> from mailreject.analysis import analyse, events_from_text
        >>> a = analyse(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"))
        >>> page = render_report(a, plotlyjs="cdn")
        >>> page.startswith("<!DOCTYPE html>"), page.count('src="https://cdn.plot.ly')
        (True, 1)

    """
    template = Template(
        resources.files("mailreject").joinpath("templates/report.html").read_text(encoding="utf-8")
    )
    body = _body(a, generated_at, title)
    scripts = [m.group(1) for m in _SCRIPT_BLOCK.finditer(body)]
    shell = template.template
    scripts += [m.group(1) for m in _SCRIPT_BLOCK.finditer(shell)]
    script_src = ""
    if plotlyjs == "inline":
        js = plotly_js()
        plotly_script = f'<script type="text/javascript">{js}</script>'
        scripts.append(js)
    elif plotlyjs == "cdn":
        script_src = _cdn_url()
        plotly_script = f'<script src="{esc(script_src)}" charset="utf-8"></script>'
    elif plotlyjs == "directory":
        script_src = plotlyjs_src
        plotly_script = f'<script src="{esc(script_src)}" charset="utf-8"></script>'
    else:
        raise ValueError(f"plotlyjs must be inline, cdn or directory, not {plotlyjs!r}")
    hashes = " ".join(sorted({_sha256(s) for s in scripts}))
    source = ""
    if plotlyjs == "cdn":
        source = " https://cdn.plot.ly"
    elif plotlyjs == "directory":
        source = " 'self'" if "://" not in script_src else f" {script_src}"
    csp = (
        f"default-src 'none'; script-src {hashes}{source}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )
    page = template.substitute(
        title=esc(title), csp=esc(csp), plotly_script=plotly_script, body=body
    )
    chart_count = sum(1 for cid in CHART_IDS if f'id="{cid}"' in body)
    check_script_safe(
        page if plotlyjs != "inline" else page.replace(plotly_script, "<script></script>"),
        chart_count + 2,
    )
    return page


def write_report(
    a: Analysis,
    path: Path | str,
    *,
    plotlyjs: PlotlyJsMode = "inline",
    generated_at: str | None = None,
    title: str = "mailreject report",
) -> Path:
    """Writes the report; in ``directory`` mode also ``plotly.min.js`` next to it.

    Args:
        a: The analysis.
        path: Output file.
        plotlyjs: See :func:`render_report`.
        generated_at: Time stamp to print (None: none).
        title: Page title.

    Returns:
        The path written.

    Example:
        >>> write_report(analysis, "report.html")  # doctest: +SKIP

    """
    path = Path(path)
    page = render_report(a, plotlyjs=plotlyjs, generated_at=generated_at, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    if plotlyjs == "directory":
        target = path.parent / PLOTLY_FILE
        js = plotly_js()
        if not target.exists() or target.read_text(encoding="utf-8") != js:
            target.write_text(js, encoding="utf-8")
    path.write_text(page, encoding="utf-8")
    return path
