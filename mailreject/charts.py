"""The report's figures: one plotly chart each, drawn from an analysis.

Every string that came from a log is escaped with :func:`esc` before it goes into a figure:
plotly renders a subset of HTML in labels and hover text. The colours are the same in
every chart and in the report's tables (:data:`LAYER_COLOURS`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailreject.analysis import Analysis

__all__ = [
    "LAYER_COLOURS",
    "colour",
    "esc",
    "fig_delays",
    "fig_dnsbl",
    "fig_dnsbl_overlap",
    "fig_funnel",
    "fig_greylist",
    "fig_postscreen",
    "fig_queue_load",
    "fig_spf",
    "fig_timeseries",
    "figure_html",
]

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


def esc(value: Any) -> str:
    """Escapes text for HTML text and attribute values (``&<>"'``).

    Example:
        >>> esc('<img src=x onerror="alert(1)">')
        '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'

    """
    return html.escape("" if value is None else str(value), quote=True)


def colour(layer: Any) -> str:
    """The colour of a layer (or of ``accepted`` / ``no decision``)."""
    return LAYER_COLOURS.get(str(layer), _FALLBACK_COLOUR)


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


def figure_html(fig: Any, div_id: str) -> str:
    """A figure as an HTML ``<div>`` with a stable id and its script (no plotly.js)."""
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
    colours = ["#6b7a90", *[colour(layer) for layer in layers["layer"]]]
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
    colours = [colour(layer) for layer in ql["layer"]]
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
                marker={"color": colour(layer)},
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
                marker={"color": colour(layer)},
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
            marker={"color": [colour("accepted"), colour("greylist"), colour("other")]},
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
    bars = (
        ("clients listed", "clients", "rbl"),
        ("caught by this zone only", "unique_clients", "helo"),
    )
    fig = go.Figure(
        [
            go.Bar(name=name, y=zones, x=list(z[col]), orientation="h", marker={"color": colour(c)})
            for name, col, c in bars
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

    def grid(col: str, kind: type) -> list[list[Any]]:
        """Values of ``col`` with a row per zone A and a column per zone B."""
        table = o.pivot(index="zone_a", columns="zone_b", values=col).loc[zones, zones]
        return [[kind(v) for v in row] for row in table.to_numpy()]

    matrix, both = grid("share_of_a", float), grid("both", int)
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
            go.Bar(name="checks", x=results, y=list(s["checks"]), marker={"color": colour("spf")}),
            go.Bar(
                name="rejects", x=results, y=list(s["rejects"]), marker={"color": colour("helo")}
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
            marker={"color": colour("postscreen")},
        )
    )
    fig.update_layout(_layout(height=max(240, 30 * len(p) + 80), yaxis={"autorange": "reversed"}))
    return fig
