"""What each layer and restriction stopped, and what rejecting early saved.

The layer tables of an analysis: rejects per layer and per restriction (in evaluation
order), the configured restrictions that never fired, the funnel of first layers, rejects
over time, and the queue load saved. Functions take events or built
:class:`~mailreject.sessions.Sessions`; they are re-exported by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mailreject.frames import (
    Events,
    _empty,
    _sessions,
    events_from_text,  # noqa: F401  (used by the doctests)
)
from mailreject.kernels import (
    codes,
    first_in_group,
    group_nunique,
    reject_groups,
    reject_table,
    reject_values,
)
from mailreject.postconf import (
    PostfixConfig,
    Restriction,
    parse_postconf,  # noqa: F401  (used by the doctests)
)
from mailreject.sessions import Sessions, _empty_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def _reject_counts(s: Sessions, groups: np.ndarray, count: int) -> pd.DataFrame:
    """Per group of reject events: lines, 4xx, connections, attempts, recipients, client IPs.

    Args:
        s: Built sessions.
        groups: A group code per row of ``reject_table(s)`` (-1: in no group).
        count: Number of groups.

    Returns:
        One row per group code (``0..count-1``), counts as int64.

    """
    import numpy as np
    import pandas as pd

    values = reject_values(s)
    member = groups >= 0
    return pd.DataFrame(
        {
            "events": np.bincount(groups[member], minlength=count),
            "temporary": np.bincount(
                groups[member], weights=values["temporary"][member], minlength=count
            ).astype(np.int64),
            "sessions": group_nunique(groups, values["conn"], count),
            "attempts": group_nunique(groups, values["attempt"], count),
            "recipients": group_nunique(groups, values["recipient"], count),
            "clients": group_nunique(groups, values["client"], count),
        }
    ).astype("int64")


def layers(events: Events, *, order: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Rejects per layer, in evaluation order (every layer, zeros included).

    Columns: ``layer``, ``rank`` (0 = evaluated first), ``events`` (reject lines),
    ``temporary`` (4xx among them), ``sessions`` (connections with a reject of this layer),
    ``attempts`` (message attempts), ``recipients`` (distinct rejected recipients per
    connection), ``clients`` (distinct client IPs), ``share`` (sessions / all
    connections), ``stopped`` (connections whose first reject is of this layer).

    Args:
        events: Events or built sessions.
        order: Layers in evaluation order (default ``schema.LAYERS``).

    Returns:
        One row per layer.

    Example:
        >>> ev = events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
        ...     "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from "
        ...     "a.example[192.0.2.1]: "
        ...     "554 5.7.1 <x@y.example>: Relay access denied; from=<s@a.example> to=<x@y.example> "
        ...     "proto=ESMTP helo=<a.example>\n")
        >>> t = layers(ev).set_index("layer")
        >>> int(t.loc["recipient", "events"]), float(t.loc["recipient", "share"])
        (1, 1.0)

    """
    import pandas as pd

    s = _sessions(events, list(order) if order else None)
    order = list(order or s.order)
    rej = reject_table(s)
    total = max(len(s.connections), 1)
    groups, names = codes(rej["layer"])  # missing layer: in no group, as in groupby
    groups = groups.astype("int64")
    table = _reject_counts(s, groups, len(names))
    table.index = pd.Index(names, dtype="object")
    table = table.loc[table["events"] > 0]
    extra = [layer for layer in table.index if layer not in order]
    table = table.reindex(order + extra).fillna(0).astype("int64")
    table["share"] = table["sessions"] / total
    stopped = s.connections["first_layer"].value_counts()
    table["stopped"] = stopped.reindex(table.index).fillna(0).astype("int64")
    table.index.name = "layer"
    table = table.reset_index()
    table.insert(1, "rank", range(len(table)))
    return table


def restrictions(
    events: Events, *, order: Sequence[str] | None = None, config: PostfixConfig | None = None
) -> pd.DataFrame:
    """Rejects per restriction (DNSBL restrictions per zone), in evaluation order.

    Columns: ``layer``, ``restriction`` (label: postconf name, ``name zone`` for DNSBLs,
    ``(rule id)`` when the line names none), ``name`` (the raw restriction or None),
    ``zone``, ``events``, ``temporary``, ``sessions``, ``attempts``, ``recipients``,
    ``clients``, ``share``, ``stopped`` (connections whose first reject it was),
    ``codes`` (reply codes seen), ``first_seen``, ``last_seen``, ``position`` (place in
    the configuration, -1 when unknown).

    Args:
        events: Events or built sessions.
        order: Layers in evaluation order.
        config: The server's configuration, to order restrictions as configured.

    Returns:
        One row per restriction that fired.

    Example:
        >>> restrictions(events_from_text("")).empty
        True

    """
    import numpy as np
    import pandas as pd

    s = _sessions(events, list(order) if order else None)
    order = list(order or s.order)
    rej = reject_table(s)
    cols = [
        "layer",
        "restriction",
        "name",
        "zone",
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
        "position",
    ]
    if not len(rej):
        return _empty(cols)
    total = max(len(s.connections), 1)
    groups, names = reject_groups(s)
    count = len(names)
    table = _reject_counts(s, groups, count)
    for col, source in (("name", "restriction"), ("zone", "rbl_zone")):  # first non-missing
        valid = rej[source].notna().to_numpy()
        at = first_in_group(np.where(valid, groups, -1), count)
        table[col] = pd.Series(rej[source].array.take(at, allow_fill=True), index=table.index)
    table["codes"] = _codes_per_group(groups, rej["smtp_code"].to_numpy(dtype="float64"), count)
    ts = rej["ts"].reset_index(drop=True)
    by_group = ts.groupby(groups)
    table["first_seen"] = by_group.min().reindex(table.index)
    table["last_seen"] = by_group.max().reindex(table.index)
    table["share"] = table["sessions"] / total
    # the first reject of each connection in time (ties: evaluation order, then input order)
    first = _first_rejects(rej)
    table["stopped"] = np.bincount(groups[first], minlength=count)
    table.index = pd.MultiIndex.from_arrays(
        [names["layer"].to_numpy(dtype=object), names["label"].to_numpy(dtype=object)],
        names=["layer", "label"],
    )
    # silent postscreen drops are stopped by their verdict (HANGUP, PREGREET, ...)
    conns = s.connections
    stopped_conn = conns["first_layer"].notna().to_numpy()
    conn_ids = conns["conn"].to_numpy(dtype=np.int64)
    first_conn = rej["conn"].to_numpy(dtype=np.int64)[first]
    rejected = np.zeros(max(conn_ids.max(initial=-1), first_conn.max(initial=-1)) + 1, dtype=bool)
    rejected[first_conn] = True
    silent = conns.loc[stopped_conn & ~rejected[conn_ids], ["first_layer", "first_restriction"]]
    extra = silent.groupby(["first_layer", "first_restriction"]).size()
    extra = extra.loc[extra.index.isin(table.index)]
    table.loc[extra.index, "stopped"] += extra.astype("int64")
    table = table.reset_index().rename(columns={"label": "restriction"})
    table["position"] = -1
    if config is not None:
        table["position"] = [_position(config, r) for r in table.itertuples()]
    rank = {layer: i for i, layer in enumerate(order)}
    table["_rank"] = table["layer"].map(rank).fillna(len(order))
    table["_pos"] = table["position"].where(table["position"] >= 0, 10**6)
    table = table.sort_values(
        ["_rank", "_pos", "events", "restriction"],
        ascending=[True, True, False, True],
        kind="stable",
    )
    return table.drop(columns=["_rank", "_pos"]).reset_index(drop=True)[cols]


def _codes_per_group(groups: np.ndarray, code: np.ndarray, count: int) -> np.ndarray:
    """The distinct reply codes of each group, ascending, as ``"450, 550"``."""
    import numpy as np
    import pandas as pd

    ok = (groups >= 0) & ~np.isnan(code)
    pairs = pd.DataFrame({"g": groups[ok], "c": code[ok]}).drop_duplicates()
    pairs = pairs.sort_values(["g", "c"], kind="stable")
    text = [str(int(c)) for c in pairs["c"].tolist()]
    out = np.full(count, "", dtype=object)
    bounds = np.searchsorted(pairs["g"].to_numpy(), np.arange(count + 1))
    for g in range(count):
        out[g] = ", ".join(text[bounds[g] : bounds[g + 1]])
    return out


def _first_rejects(rej: pd.DataFrame) -> np.ndarray:
    """Positions (in ``rej``) of the first reject of each connection, by connection.

    First in time, ties broken by evaluation order (``layer_rank``), then by input order
    (``seq``), as ``sort_values(["conn", "ts", "layer_rank", "seq"])`` would put it. Rows
    must be in (time, seq) order, as :class:`~mailreject.sessions.Sessions` events are.
    """
    import numpy as np

    conn = rej["conn"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(conn >= 0)
    if not len(rows):
        return rows
    conn = conn[rows]
    ts = rej["ts"].array.asi8[rows]
    missing = rej["ts"].isna().to_numpy()[rows]
    low = ts[~missing].min(initial=0)
    ts = np.where(missing, ts[~missing].max(initial=0) - low + 1, ts - low)  # NaT sorts last
    rank = rej["layer_rank"].to_numpy(dtype=np.int64)[rows]
    key = ts * (int(rank.max()) + 1) + rank  # (time, evaluation order) as one integer
    least = np.full(int(conn.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(least, conn, key)
    # rows are in (time, seq) order: of the rows with the least key, the first has the least seq
    tied = np.flatnonzero(key == least[conn])
    out = np.full(len(least), len(rows), dtype=np.int64)
    np.minimum.at(out, conn[tied], tied)
    found: np.ndarray = rows[out[out < len(rows)]]
    return found


def _zone_only(entry: Restriction, name: Any, zone: Any, layer: Any) -> bool:
    """Whether a line that names no restriction, only a zone, comes from ``entry``.

    A custom ``rbl_reply_maps`` text drops the restriction name: such an rbl-layer line
    counts for every configured ``reject_rbl_client`` / ``reject_rhsbl_*`` of its zone.
    """
    return (
        not isinstance(name, str)
        and layer == "rbl"
        and entry.layer == "rbl"
        and entry.zone is not None
        and zone == entry.zone
    )


def _position(config: PostfixConfig, row: Any) -> int:
    for entry in config.restrictions:
        named = isinstance(row.name, str) and row.name == entry.name
        if entry.warn_only or not (named or _zone_only(entry, row.name, row.zone, row.layer)):
            continue
        if entry.zone is not None and isinstance(row.zone, str) and entry.zone != row.zone:
            continue
        if (
            entry.name == "check_policy_service"
            and entry.layer in ("spf", "greylist")
            and entry.layer != row.layer
        ):
            continue
        return entry.position
    return -1


def never_fired(events: Events, config: PostfixConfig | None) -> pd.DataFrame:
    """Configured restrictions that produced no reject (or reject_warning) at all.

    Columns: ``position``, ``source`` (parameter), ``restriction`` (as configured),
    ``layer``.

    Args:
        events: Events or built sessions.
        config: The server's configuration; None gives an empty table.

    Returns:
        One row per silent restriction, in configuration order.

    Example:
        >>> cfg = parse_postconf("smtpd_helo_restrictions = reject_invalid_helo_hostname")
        >>> never_fired(events_from_text(""), cfg)["restriction"].tolist()
        ['reject_invalid_helo_hostname']

    """
    import pandas as pd

    cols = ["position", "source", "restriction", "layer"]
    if config is None:
        return _empty(cols)
    ev = events.events if isinstance(events, Sessions) else events
    rows = []
    decisions = ev.loc[
        ev["kind"].isin(["reject", "reject_warning", "dnsbl", "postscreen"]),
        ["kind", "restriction", "rbl_zone", "layer"],
    ].astype("object")
    decisions = decisions.where(decisions.notna(), None)  # NaN, pd.NA: None compares safely
    seen = set(
        zip(
            decisions["kind"],
            decisions["restriction"],
            decisions["rbl_zone"],
            decisions["layer"],
            strict=True,
        )
    )
    for entry in config.restrictions:
        kinds = {"reject_warning"} if entry.warn_only else {"reject", "dnsbl", "postscreen"}
        names = {entry.name}
        if entry.name == "postscreen_dnsbl_sites":
            names = {"postscreen_dnsbl_sites", "postscreen_dnsbl_action"}
        fired = False
        for kind, name, zone, layer in seen:
            if kind not in kinds or not (name in names or _zone_only(entry, name, zone, layer)):
                continue
            if entry.zone is not None and zone != entry.zone:
                continue
            if (
                entry.name == "postscreen_dnsbl_sites"
                and entry.arg
                and zone != entry.arg.split("=", 1)[0]
            ):
                continue
            if (
                entry.name == "check_policy_service"
                and entry.layer in ("spf", "greylist")
                and layer != entry.layer
            ):
                continue
            fired = True
            break
        if not fired:
            rows.append(
                {
                    "position": entry.position,
                    "source": entry.source,
                    "restriction": entry.label,
                    "layer": entry.layer,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def first_layers(events: Events, *, order: Sequence[str] | None = None) -> pd.DataFrame:
    """The funnel: which layer stopped each connection first, in evaluation order.

    Columns: ``layer`` (a layer, or ``accepted`` / ``no decision``), ``connections``,
    ``stopped`` (of those, connections that got no message accepted), ``then_accepted``,
    ``share`` (connections / all), ``remaining`` (connections not yet stopped after this
    layer, following evaluation order).

    Args:
        events: Events or built sessions.
        order: Layers in evaluation order.

    Returns:
        One row per layer plus ``accepted`` and ``no decision``.

    Example:
        >>> first_layers(events_from_text(""))["connections"].sum()
        np.int64(0)

    """
    import pandas as pd

    s = _sessions(events, list(order) if order else None)
    order = list(order or s.order)
    conns = s.connections
    total = len(conns)
    first = conns["first_layer"]  # only the columns counted: no copy of the whole table
    messages = conns["messages"].to_numpy()
    stopped = first.notna().to_numpy()
    counts = first[stopped].value_counts().sort_index()
    accepted_after = first[stopped & (messages > 0)].value_counts()
    extra = [layer for layer in counts.index if layer not in order]
    table = pd.DataFrame(index=pd.Index(order + extra, name="layer"))
    table["connections"] = counts.reindex(table.index).fillna(0).astype("int64")
    table["then_accepted"] = accepted_after.reindex(table.index).fillna(0).astype("int64")
    table["stopped"] = table["connections"] - table["then_accepted"]
    table = table.reset_index()
    rest = messages[~stopped]
    tail = pd.DataFrame(
        {
            "layer": ["accepted", "no decision"],
            "connections": [int((rest > 0).sum()), int((rest == 0).sum())],
            "then_accepted": [int((rest > 0).sum()), 0],
            "stopped": [0, 0],
        }
    )
    table = pd.concat([table, tail], ignore_index=True)
    table["share"] = table["connections"] / max(total, 1)
    table["remaining"] = total - table["stopped"].cumsum()
    table.loc[table["layer"].isin(["accepted", "no decision"]), "remaining"] = pd.NA
    return table[["layer", "connections", "stopped", "then_accepted", "share", "remaining"]]


def timeseries(events: Events, *, freq: str | None = None) -> pd.DataFrame:
    """Reject events per time bucket and layer (hourly under 3 days, else daily).

    Columns: ``bucket`` (start of the hour/day, UTC), ``layer``, ``events``; every bucket
    between the first and last reject for every layer that has rejects (zeros included).

    Args:
        events: Events or built sessions.
        freq: ``hour`` or ``day``; None chooses by the span of the events.

    Returns:
        A tidy table.

    Example:
        >>> timeseries(events_from_text("")).empty
        True

    """
    import pandas as pd

    s = _sessions(events)
    rej = reject_table(s)
    if not len(rej):
        return _empty_frame({"bucket": "datetime64[us, UTC]", "layer": "object", "events": "int64"})
    freq = freq or choose_freq(s.events["ts"].min(), s.events["ts"].max())
    code = "h" if freq == "hour" else "D"
    bucket = rej["ts"].dt.floor(code)
    counts = rej.groupby(
        [bucket.rename("bucket"), rej["layer"].astype("object").fillna("other").rename("layer")]
    ).size()
    buckets = pd.date_range(bucket.min(), bucket.max(), freq=code)
    present = [layer for layer in s.order if layer in set(counts.index.get_level_values("layer"))]
    present += sorted(set(counts.index.get_level_values("layer")) - set(present))
    grid = pd.MultiIndex.from_product([buckets, present], names=["bucket", "layer"])
    out = counts.reindex(grid, fill_value=0).rename("events").reset_index()
    out["events"] = out["events"].astype("int64")
    return out


def choose_freq(start: Any, end: Any) -> str:
    """``hour`` for ranges under 3 days, else ``day``.

    Example:
        >>> import pandas as pd
        >>> choose_freq(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02"))
        'hour'

    """
    import pandas as pd

    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "hour"
    return "hour" if (end - start) < pd.Timedelta(days=3) else "day"


# --------------------------------------------------------------------------- queue load


def accepted(events: Events) -> dict[str, Any]:
    """What was accepted: qmgr ``(queue active)`` messages, their recipients and bytes.

    Returns a dict with ``messages``, ``recipients`` (sum of nrcpt), ``bytes`` (sum of
    size), ``median_size`` (None without messages), ``inbound_messages`` (those with an
    smtpd client line).

    Example:
        >>> accepted(events_from_text(""))["messages"]
        0

    """
    s = _sessions(events)
    m = s.messages
    median = float(m["size"].median()) if len(m) else None
    return {
        "messages": len(m),
        "recipients": int(m["nrcpt"].fillna(0).sum()) if len(m) else 0,
        "bytes": int(m["size"].fillna(0).sum()) if len(m) else 0,
        "median_size": median,
        "inbound_messages": int(m["client_ip"].notna().sum()) if len(m) else 0,
    }


def queue_load(events: Events, *, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Queue load saved per layer, plus a ``total`` row (method: ``METHODS['queue_load']``).

    Columns: ``layer``, ``attempts`` (rejected message attempts that never got a queue
    id, counted at the layer of their first reject), ``temporary`` (of those, attempts
    with only 4xx rejects: they may come back), ``recipients`` (their distinct
    recipients), ``est_bytes`` (attempts x median accepted size; NaN without accepted
    mail), ``smtpd_not_started`` (postscreen row and total: postscreen sessions that
    never reached smtpd).

    Args:
        events: Events or built sessions.
        order: Layers in evaluation order.

    Returns:
        One row per layer and a total.

    Example:
        >>> queue_load(events_from_text("")).iloc[-1]["layer"]
        'total'

    """
    import pandas as pd

    s = _sessions(events, list(order) if order else None)
    order = list(order or s.order)
    att = s.attempts.loc[~s.attempts["queued"]]
    g = att.groupby("layer")
    table = pd.DataFrame(index=pd.Index(order, name="layer"))
    table["attempts"] = g.size().reindex(table.index).fillna(0).astype("int64")
    table["temporary"] = g["temporary"].sum().reindex(table.index).fillna(0).astype("int64")
    table["recipients"] = g["recipients"].sum().reindex(table.index).fillna(0).astype("int64")
    median = accepted(s)["median_size"]
    table["est_bytes"] = table["attempts"] * median if median is not None else float("nan")
    conns = s.connections
    not_started = (
        int((conns["via_postscreen"] & conns["ps_dropped"] & ~conns["smtpd"]).sum())
        if len(conns)
        else 0
    )
    table["smtpd_not_started"] = 0
    table.loc["postscreen", "smtpd_not_started"] = not_started
    table = table.reset_index()
    total = {
        "layer": "total",
        "attempts": int(table["attempts"].sum()),
        "temporary": int(table["temporary"].sum()),
        "recipients": int(table["recipients"].sum()),
        "est_bytes": float(table["est_bytes"].sum()) if median is not None else float("nan"),
        "smtpd_not_started": not_started,
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
