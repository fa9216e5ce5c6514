r"""The HTML report: one self-contained, offline, deterministic file.

The page shell (CSS, the table-sorting script) is ``mailreject/templates/report.html``;
this module fills it with sections drawn from an :class:`~mailreject.analysis.Analysis`.
plotly.js is embedded once (``inline``), linked from the CDN (``cdn``) or written next to the
report (``directory``); each chart is ``plotly.io.to_html(full_html=False,
include_plotlyjs=False, div_id=<stable id>)``, so two renders of the same data are
byte-identical (no generation time unless passed in, no random ids).

Hostile input: everything that came from a log (HELO names, addresses, reply texts, zone
names) is escaped at the point it is written:

* HTML text and attribute values: :func:`esc` (``html.escape`` with quotes);
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
import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Literal

from mailreject.analysis import Analysis, human_bytes
from mailreject.summary import _cell, _is_missing

if TYPE_CHECKING:
    import pandas as pd

PlotlyJsMode = Literal["inline", "cdn", "directory"]

#: One colour per layer, the same in every chart and table.
LAYER_COLOURS: dict[str, str] = {
    "postscreen": "#4c78a8",
    "client": "#f58518",
    "helo": "#e45756",
    "sender": "#72b7b2",
    "recipient": "#54a24b",
    "rbl": "#eeca3b",
    "spf": "#b279a2",
    "greylist": "#ff9da6",
    "data": "#9d755d",
    "content": "#8c6bb1",
    "other": "#7f7f7f",
    "accepted": "#2ca02c",
    "no decision": "#bab0ac",
}
_FALLBACK_COLOUR = "#999999"

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


def esc(value: Any) -> str:
    """Escapes text for HTML text and attribute values (``&<>"'``).

    Example:
        >>> esc('<img src=x onerror="alert(1)">')
        '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'

    """
    return html.escape("" if value is None else str(value), quote=True)


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


def _colour(layer: Any) -> str:
    return LAYER_COLOURS.get(str(layer), _FALLBACK_COLOUR)


# --------------------------------------------------------------------------- figures


def _layout(**extra: Any) -> dict[str, Any]:
    """A template-free layout: transparent, readable on light and dark pages."""
    layout: dict[str, Any] = {
        "template": "none",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": "#8a94a3", "family": "system-ui, sans-serif", "size": 12},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {
            "gridcolor": "rgba(128,128,128,0.25)",
            "zerolinecolor": "rgba(128,128,128,0.4)",
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "rgba(128,128,128,0.25)",
            "zerolinecolor": "rgba(128,128,128,0.4)",
            "automargin": True,
        },
        "hoverlabel": {"align": "left"},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _figure_html(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    return str(
        pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"responsive": True, "displaylogo": False},
            validate=False,
        )
    )


def _labels(values: Iterable[Any]) -> list[str]:
    return [esc(v) for v in values]


def fig_funnel(a: Analysis) -> Any:
    """Connections remaining after each layer (the first layer that stopped them)."""
    import plotly.graph_objects as go

    fl = a.first_layers
    layers = fl.loc[~fl["layer"].isin(["accepted", "no decision"])]
    total = int(a.kpis["connections"])
    names = ["all connections", *[f"after {layer}" for layer in layers["layer"]]]
    remaining = [total, *[int(x) for x in layers["remaining"]]]
    stopped = [0, *[int(x) for x in layers["stopped"]]]
    colours = ["#6b7a90", *[_colour(layer) for layer in layers["layer"]]]
    fig = go.Figure(
        go.Funnel(
            y=names,
            x=remaining,
            marker={"color": colours},
            customdata=stopped,
            textinfo="value+percent initial",
            hovertemplate="%{y}: %{x} connections left (%{customdata} stopped here)<extra></extra>",
        )
    )
    fig.update_layout(_layout(height=max(320, 34 * len(names) + 40)))
    return fig


def fig_queue_load(a: Analysis) -> Any:
    """Rejected attempts and recipients kept out of the queue, per layer."""
    import plotly.graph_objects as go

    ql = a.queue_load.loc[a.queue_load["layer"] != "total"]
    colours = [_colour(layer) for layer in ql["layer"]]
    fig = go.Figure(
        [
            go.Bar(
                name="message attempts",
                x=list(ql["layer"]),
                y=list(ql["attempts"]),
                marker={"color": colours},
            ),
            go.Bar(
                name="recipients",
                x=list(ql["layer"]),
                y=list(ql["recipients"]),
                marker={"color": colours, "pattern": {"shape": "/"}},
            ),
        ]
    )
    fig.update_layout(_layout(barmode="group"))
    return fig


def fig_timeseries(a: Analysis) -> Any:
    """Rejects per hour or day, stacked by layer, with a range slider."""
    import plotly.graph_objects as go

    ts = a.timeseries
    traces = []
    for layer in [x for x in a.order if x in set(ts["layer"])] + sorted(
        set(ts["layer"]) - set(a.order)
    ):
        part = ts.loc[ts["layer"] == layer]
        traces.append(
            go.Bar(
                name=esc(layer),
                x=[t.isoformat() for t in part["bucket"]],
                y=list(part["events"]),
                marker={"color": _colour(layer)},
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        _layout(
            barmode="stack",
            height=400,
            bargap=0.05,
            xaxis={"type": "date", "rangeslider": {"visible": True, "thickness": 0.08}},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"t": 40},
            yaxis={"title": {"text": f"rejects per {a.freq}"}},
        )
    )
    return fig


def fig_delays(a: Analysis) -> Any:
    """Distribution of delays caused by 4xx rejects, per layer."""
    import plotly.graph_objects as go

    d = a.delayed
    traces = []
    for layer in [x for x in a.order if x in set(d["layer"].dropna())]:
        part = d.loc[d["layer"] == layer]
        traces.append(
            go.Histogram(
                name=esc(layer),
                x=[round(float(v) / 60, 2) for v in part["delay_s"]],
                marker={"color": _colour(layer)},
                nbinsx=30,
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        _layout(
            barmode="stack",
            xaxis={"title": {"text": "delay (minutes)"}},
            yaxis={"title": {"text": "deliveries"}},
        )
    )
    return fig


def fig_greylist(a: Analysis) -> Any:
    """Greylisting outcomes per triplet."""
    import plotly.graph_objects as go

    g = a.greylist_summary
    names = ["passed", "retried, not passed", "never came back"]
    values = [g["passed"], g["retried_not_passed"], g["never_came_back"]]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker={"color": [_colour("accepted"), _colour("greylist"), _colour("other")]},
        )
    )
    fig.update_layout(
        _layout(height=240, xaxis={"title": {"text": "triplets"}}, yaxis={"autorange": "reversed"})
    )
    return fig


def fig_dnsbl(a: Analysis) -> Any:
    """Clients per DNS list zone, and those only that zone caught."""
    import plotly.graph_objects as go

    z = a.dnsbl_zones.head(15)
    zones = _labels(z["zone"])
    fig = go.Figure(
        [
            go.Bar(
                name="clients listed",
                y=zones,
                x=list(z["clients"]),
                orientation="h",
                marker={"color": _colour("rbl")},
            ),
            go.Bar(
                name="caught by this zone only",
                y=zones,
                x=list(z["unique_clients"]),
                orientation="h",
                marker={"color": _colour("helo")},
            ),
        ]
    )
    fig.update_layout(
        _layout(barmode="group", height=max(260, 40 * len(z) + 80), yaxis={"autorange": "reversed"})
    )
    return fig


def fig_dnsbl_overlap(a: Analysis) -> Any:
    """Share of zone A's clients also listed by zone B."""
    import plotly.graph_objects as go

    o = a.dnsbl_overlap
    zones = list(dict.fromkeys(o["zone_a"]))[:12]
    o = o.loc[o["zone_a"].isin(zones) & o["zone_b"].isin(zones)]
    matrix = [
        [
            float(o.loc[(o["zone_a"] == za) & (o["zone_b"] == zb), "share_of_a"].iloc[0])
            for zb in zones
        ]
        for za in zones
    ]
    both = [
        [int(o.loc[(o["zone_a"] == za) & (o["zone_b"] == zb), "both"].iloc[0]) for zb in zones]
        for za in zones
    ]
    labels = _labels(zones)
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            customdata=both,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            hovertemplate="%{customdata} of %{y}'s clients also on %{x} (%{z:.0%})<extra></extra>",
        )
    )
    fig.update_layout(
        _layout(height=max(300, 36 * len(zones) + 120), yaxis={"autorange": "reversed"})
    )
    return fig


def fig_spf(a: Analysis) -> Any:
    """SPF results: policy checks and rejects."""
    import plotly.graph_objects as go

    s = a.spf
    results = _labels(s["result"])
    fig = go.Figure(
        [
            go.Bar(name="checks", x=results, y=list(s["checks"]), marker={"color": _colour("spf")}),
            go.Bar(
                name="rejects", x=results, y=list(s["rejects"]), marker={"color": _colour("helo")}
            ),
        ]
    )
    fig.update_layout(_layout(barmode="group", height=300))
    return fig


def fig_postscreen(a: Analysis) -> Any:
    """Postscreen sessions by verdict."""
    import plotly.graph_objects as go

    p = a.postscreen
    fig = go.Figure(
        go.Bar(
            x=list(p["sessions"]),
            y=_labels(p["verdict"]),
            orientation="h",
            marker={"color": _colour("postscreen")},
        )
    )
    fig.update_layout(_layout(height=max(240, 30 * len(p) + 80), yaxis={"autorange": "reversed"}))
    return fig


# --------------------------------------------------------------------------- HTML pieces


def _table(
    frame: pd.DataFrame,
    cols: Sequence[str],
    *,
    table_id: str,
    headers: dict[str, str] | None = None,
    layer_col: str | None = "layer",
    limit: int | None = None,
) -> str:
    import pandas as pd

    if not len(frame):
        return '<p class="empty">Nothing in this period.</p>'
    cols = [c for c in cols if c in frame.columns]
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
                    f'<td class="l"><span class="sw" style="background:{_colour(v)}"></span>'
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
    figure = _figure_html(make(a), div_id)
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
            f'<details><summary><span class="sw" style="background:{_colour(layer)}"></span>'
            f"{esc(layer)}: {esc(restriction)} ({len(grp)})</summary>"
        )
        out.append(
            _table(
                grp,
                [
                    "ts",
                    "client_name",
                    "client_ip",
                    "helo",
                    "sender",
                    "recipient",
                    "smtp_code",
                    "detail",
                    "source",
                    "line_no",
                ],
                table_id=f"samples-{i}",
                layer_col=None,
            )
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
            _table(
                fl,
                ["layer", "connections", "stopped", "then_accepted", "share", "remaining"],
                table_id="table-funnel",
            ),
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
            _table(
                ql,
                ["layer", "attempts", "temporary", "recipients", "est_bytes", "smtpd_not_started"],
                table_id="table-queue-load",
            ),
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
                a.restrictions,
                [
                    "layer",
                    "restriction",
                    "events",
                    "temporary",
                    "sessions",
                    "attempts",
                    "recipients",
                    "clients",
                    "share",
                    "stopped",
                    "codes",
                    "first_seen",
                    "last_seen",
                ],
                table_id="table-restrictions",
            ),
            _samples(a),
            (
                "<h3>Configured restrictions that never fired</h3>"
                + _table(
                    a.never_fired, ["source", "restriction", "layer"], table_id="table-never-fired"
                )
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
            _table(
                a.delayed_summary,
                [
                    "layer",
                    "restriction",
                    "delayed",
                    "senders",
                    "median_delay_s",
                    "p90_delay_s",
                    "max_delay_s",
                    "temporary_rejects",
                    "never_accepted",
                ],
                table_id="table-delayed",
            ),
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
            _table(
                a.greylisting,
                [
                    "client_net",
                    "client_ip",
                    "sender",
                    "recipient",
                    "first_greylisted",
                    "greylisted",
                    "passed_at",
                    "delay_s",
                    "delay_source",
                    "outcome",
                ],
                table_id="table-greylisting",
                limit=200,
            ),
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
            _table(
                a.dnsbl_zones,
                [
                    "zone",
                    "restriction",
                    "allowlist",
                    "smtpd_rejects",
                    "postscreen_rejects",
                    "dnsblog_listings",
                    "clients",
                    "unique_clients",
                    "unique_share",
                ],
                table_id="table-dnsbl",
            ),
            _p("Method: " + a.methods["dnsbl"], "method"),
        )
    )
    top = a.top
    who = [
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
        ),
        (
            "Networks (/24, /48)",
            "networks",
            ["network", "rejects", "clients", "connections", "layers"],
        ),
        ("Reverse names", "names", ["client_name", "rejects", "clients", "connections", "layers"]),
        ("HELO names", "helos", ["helo", "rejects", "clients", "connections", "layers"]),
        (
            "Sender domains",
            "sender_domains",
            ["sender_domain", "rejects", "clients", "connections", "layers"],
        ),
        (
            "Targeted recipients",
            "recipients",
            ["recipient", "rejects", "clients", "connections", "layers"],
        ),
        (
            "Dictionary attacks (unknown recipients per client)",
            "dictionary_attacks",
            [
                "client_ip",
                "client_name",
                "unknown_recipients",
                "rejects",
                "connections",
                "first_seen",
                "last_seen",
            ],
        ),
    ]
    who_html = "".join(
        "<div><h3>"
        + esc(t)
        + "</h3>"
        + _table(top[key], cols, table_id="table-top-" + key.replace("_", "-"), layer_col=None)
        + "</div>"
        for t, key, cols in who
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
            _table(a.spf, ["result", "checks", "rejects"], table_id="table-spf"),
            "</div><div><h3>postscreen verdicts</h3>",
            _chart(
                "chart-postscreen",
                "postscreen sessions by outcome; PASS verdicts were handed to smtpd.",
                fig_postscreen,
                a,
                len(a.postscreen) > 0,
            ),
            _table(
                a.postscreen,
                ["verdict", "sessions", "share", "handed_to_smtpd"],
                table_id="table-postscreen",
            ),
            "</div></div>",
            "<h3>postscreen tests</h3>",
            _table(
                a.postscreen_actions,
                ["action", "restriction", "events", "clients"],
                table_id="table-postscreen-actions",
            ),
            "<h3>reject_warning: what warn_if_reject would have blocked</h3>",
            _table(
                a.reject_warnings,
                [
                    "layer",
                    "restriction",
                    "events",
                    "clients",
                    "connections",
                    "clients_delivered",
                    "recipients",
                ],
                table_id="table-reject-warnings",
            ),
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
