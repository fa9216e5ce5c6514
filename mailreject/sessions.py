"""Rebuilding SMTP sessions, connections, message attempts and accepted messages.

Input is an events DataFrame (the columns of :mod:`mailreject.schema`); output is the same
events, sorted by time, with the ids that tie them together, plus one table per noun:

* **smtpd session**: the lines of one smtpd process (``host``, ``pid``) from ``connect`` to
  ``disconnect``. Pids are reused, so a new ``connect`` of the same process starts a new
  session (events are ordered by time, then by their order in the input).
* **postscreen session**: the lines about one ``client_ip:port`` from ``CONNECT`` to its
  verdict (``PASS``, ``DISCONNECT``, ``HANGUP``, a reject).
* **connection**: what a client opened: a postscreen session plus the smtpd session it was
  handed to, or an smtpd session that no postscreen saw (submission, no postscreen).
* **message attempt**: a run of rejects in one connection with the same envelope sender.
* **accepted message**: a queue id with a qmgr ``(queue active)`` line.

Rejects logged by cleanup (header/body checks, milters at end of message) and policy lines
(postgrey, policyd-spf) are linked to their connection through the queue id, or through the
client address and the time the smtpd session was open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailreject.schema import LAYERS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "END_ACTIONS",
    "HANDOFF_SECONDS",
    "MESSAGE_STAGES",
    "NEUTRAL_ACTIONS",
    "PASS_ACTIONS",
    "POLICY_SLACK_SECONDS",
    "Sessions",
    "build",
    "normalise",
    "restriction_label",
]

#: postscreen actions meaning the client was handed to (or allowed through to) smtpd.
PASS_ACTIONS = frozenset({"PASS NEW", "PASS OLD", "WHITELISTED", "ALLOWLISTED"})
#: postscreen actions meaning the connection ended inside postscreen.
END_ACTIONS = frozenset({"DISCONNECT", "HANGUP", "BLACKLISTED", "DENYLISTED"})
#: postscreen actions that are not a verdict on their own.
NEUTRAL_ACTIONS = frozenset({"CONNECT", "DISCONNECT"})
#: Stages at which a reject is part of a message attempt.
MESSAGE_STAGES = frozenset({"MAIL", "RCPT", "DATA", "BDAT", "END-OF-MESSAGE"})

#: Columns :func:`build` leaves categorical when given so (they are only compared).
CATEGORICAL_COLUMNS = frozenset({"kind", "action", "stage", "program", "instance"})

#: How far apart a postscreen verdict and the smtpd ``connect`` it hands over may be.
HANDOFF_SECONDS = 120
#: How long after an smtpd line a policy line may still belong to it.
POLICY_SLACK_SECONDS = 5


@dataclass
class Sessions:
    """Events with their connection ids, and the tables built from them.

    Attributes:
        events: All events sorted by time (stable), with extra columns ``seq`` (position in
            the input), ``conn`` (connection id, -1 when none), ``attempt`` (message attempt
            id for rejects, -1 otherwise), ``layer_rank`` (evaluation order of ``layer``).
        connections: One row per connection: ``conn``, ``host``, ``client_ip``,
            ``client_name``, ``start``, ``end``, ``via_postscreen``, ``ps_verdict``,
            ``ps_dropped``, ``smtpd`` (an smtpd session took part), ``messages``,
            ``rejects``, ``first_layer``, ``first_restriction``, ``fate``.
        attempts: One row per message attempt: ``attempt``, ``conn``, ``sender``,
            ``start``, ``layer``, ``restriction``, ``recipients``, ``rejects``,
            ``temporary`` (every reject was 4xx), ``queued`` (got a queue id).
        messages: One row per accepted message: ``queue_id``, ``ts``, ``sender``,
            ``size``, ``nrcpt``, ``conn``, ``client_ip``, ``client_name``, ``host``.
        deliveries: One row per delivery line joined with its message: ``queue_id``,
            ``ts``, ``recipient``, ``action``, ``sender``, ``client_ip``, ``msg_ts``.
        order: Layers in evaluation order.
        rejects: The ``reject`` events, once :meth:`reject_events` was called.

    """

    events: pd.DataFrame
    connections: pd.DataFrame
    attempts: pd.DataFrame
    messages: pd.DataFrame
    deliveries: pd.DataFrame
    order: list[str]
    rejects: pd.DataFrame | None = None

    def reject_events(self) -> pd.DataFrame:
        """The ``reject`` events (cached)."""
        if self.rejects is None:
            self.rejects = self.events.loc[self.events["kind"] == "reject"]
        return self.rejects


def restriction_label(frame: pd.DataFrame) -> pd.Series:
    """The restriction, or ``(rule id)`` when the line names none.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"restriction": ["x", None], "rule": ["a", "b.c"]})
        >>> restriction_label(frame).tolist()
        ['x', '(b.c)']

    """
    import pandas as pd

    named = frame["restriction"].astype("object")
    fallback = "(" + frame["rule"].astype("object").fillna("?").astype(str) + ")"
    return pd.Series(named.where(named.notna(), fallback), index=frame.index, dtype="object")


def _endswith(values: pd.Series, suffix: str) -> pd.Series:
    """``values.str.endswith(suffix)`` (missing: False), tested once per distinct value."""
    hits = [v for v in values.dropna().unique() if isinstance(v, str) and v.endswith(suffix)]
    return values.isin(hits)


def _empty_frame(dtypes: Mapping[str, str]) -> pd.DataFrame:
    """An empty table with these columns and dtypes."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def _empty_like_messages() -> pd.DataFrame:
    return _empty_frame(
        {
            "queue_id": "object",
            "ts": "datetime64[us, UTC]",
            "sender": "object",
            "size": "float64",
            "nrcpt": "float64",
            "conn": "int64",
            "client_ip": "object",
            "client_name": "object",
            "host": "object",
        }
    )


def normalise(df: pd.DataFrame, keep: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Plain dtypes whatever the source, so comparisons never meet ``pd.NA``.

    Nullable integers become float64 (NA -> NaN), categoricals object (but those of
    ``keep``, which are only compared: codes compare much faster than objects).
    ``mailreject.load()`` returns ``Int16``/``Int32``/``Int64`` columns and, on request,
    categoricals; the parser's Arrow batches give float64 and strings.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"smtp_code": pd.array([550, None], dtype="Int16")})
        >>> normalise(frame)["smtp_code"].dtype
        dtype('float64')

    """
    import pandas as pd

    out = df
    for col in df.columns:
        dtype = df[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if col in keep:
                continue
            converted = df[col].astype("object")
        elif pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
            converted = df[col].astype("float64")
        elif isinstance(dtype, pd.BooleanDtype):
            converted = df[col].astype("object")
        else:
            continue
        if out is df:
            out = df.copy(deep=False)  # copy-on-write: new columns leave df alone
        out[col] = converted
    return out


def build(df: pd.DataFrame, order: list[str] | None = None) -> Sessions:
    r"""Rebuilds sessions, connections, attempts and accepted messages.

    Args:
        df: Events (the schema's columns; extra columns are kept).
        order: Layers in evaluation order (default ``schema.LAYERS``).

    Returns:
        The linked events and per-noun tables.

    Example:
        >>> import pandas as pd
        >>> from mailreject.analysis import events_from_text
        >>> ev = events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
        ...     "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from "
        ...     "a.example[192.0.2.1]: "
        ...     "554 5.7.1 <x@y.example>: Relay access denied; from=<s@a.example> to=<x@y.example> "
        ...     "proto=ESMTP helo=<a.example>\n"
        ...     "Nov  3 00:31:12 mx1 postfix/smtpd[7]: disconnect from a.example[192.0.2.1]\n")
        >>> s = build(ev)
        >>> len(s.connections), s.connections.loc[0, "first_layer"], len(s.attempts)
        (1, 'recipient', 1)

    """
    import numpy as np
    import pandas as pd

    order = list(order or LAYERS)
    ev = normalise(df.reset_index(drop=True), keep=CATEGORICAL_COLUMNS)
    if ev is df:
        ev = df.reset_index(drop=True)  # a new frame over the same data: ours to extend
    ev["seq"] = np.arange(len(ev), dtype="int64")
    if not ev["ts"].is_monotonic_increasing:  # mailreject.load() gives them sorted already
        ev = ev.sort_values("ts", kind="stable").reset_index(drop=True)
    rank = {layer: i for i, layer in enumerate(order)}
    codes, uniques = pd.factorize(ev["layer"])  # few distinct layers: look each up once
    ranks = np.array([rank.get(u, len(order)) for u in uniques] + [len(order)], dtype="int64")
    ev["layer_rank"] = ranks[codes]  # code -1 (missing) takes the last entry
    ev["conn"] = -1
    kind = ev["kind"]
    action = ev["action"]
    smtpd_prog = _endswith(ev["program"], "smtpd")
    postscreen_prog = _endswith(ev["program"], "postscreen")

    # ---- smtpd sessions: (host, pid), a new one at each connect
    smtpd_mask = (
        smtpd_prog
        & ev["pid"].notna()
        & kind.isin(["connect", "disconnect", "reject", "reject_warning", "queue"])
    )
    sm = ev.loc[smtpd_mask, ["host", "pid", "ts", "seq"]].copy()
    sm["is_connect"] = kind[smtpd_mask].isin(["connect"]).astype("int64")
    sm = sm.sort_values(["host", "pid", "ts", "seq"], kind="stable")
    sm["n"] = sm.groupby(["host", "pid"], sort=False, dropna=False)["is_connect"].cumsum()
    ev["smtpd_sid"] = -1
    if len(sm):
        ev.loc[sm.index, "smtpd_sid"] = sm.groupby(
            ["host", "pid", "n"], sort=True, dropna=False
        ).ngroup()

    # ---- postscreen sessions: (host, client_ip, client_port), a new one at each CONNECT
    ps_mask = postscreen_prog & ev["client_port"].notna() & kind.isin(["postscreen", "reject"])
    ps = ev.loc[ps_mask, ["host", "client_ip", "client_port", "ts", "seq"]].copy()
    ps["is_connect"] = action[ps_mask].isin(["CONNECT"]).astype("int64")
    ps = ps.sort_values(["host", "client_ip", "client_port", "ts", "seq"], kind="stable")
    ps["n"] = ps.groupby(["host", "client_ip", "client_port"], sort=False, dropna=False)[
        "is_connect"
    ].cumsum()
    ev["ps_sid"] = -1
    if len(ps):
        ev.loc[ps.index, "ps_sid"] = ps.groupby(
            ["host", "client_ip", "client_port", "n"], sort=True, dropna=False
        ).ngroup()

    ps_table = _postscreen_sessions(ev)
    sm_table = _smtpd_sessions(ev)

    # ---- hand-off: an smtpd connect right after a postscreen session that was not dropped
    sm_table["ps_sid"] = -1
    if len(ps_table) and len(sm_table):
        cand = ps_table.loc[~ps_table["ps_dropped"], ["ps_sid", "host", "client_ip", "start"]]
        cand = cand.dropna(subset=["client_ip"]).sort_values("start", kind="stable")
        left = sm_table.loc[
            sm_table["plain_smtpd"] & sm_table["client_ip"].notna(),
            ["smtpd_sid", "host", "client_ip", "start"],
        ]
        left = left.sort_values("start", kind="stable")
        if len(cand) and len(left):
            cand = cand.assign(
                host=cand["host"].astype("object"), client_ip=cand["client_ip"].astype("object")
            )
            left = left.assign(
                host=left["host"].astype("object"), client_ip=left["client_ip"].astype("object")
            )
            linked = pd.merge_asof(
                left,
                cand,
                on="start",
                by=["host", "client_ip"],
                direction="backward",
                tolerance=pd.Timedelta(seconds=HANDOFF_SECONDS),
            )
            linked = linked.dropna(subset=["ps_sid"]).drop_duplicates("ps_sid", keep="first")
            sm_table.loc[sm_table["smtpd_sid"].isin(linked["smtpd_sid"]), "ps_sid"] = sm_table[
                "smtpd_sid"
            ].map(dict(zip(linked["smtpd_sid"], linked["ps_sid"].astype("int64"), strict=True)))
    sm_table["ps_sid"] = sm_table["ps_sid"].fillna(-1).astype("int64")

    # ---- connection ids: postscreen sessions first, then smtpd sessions without one
    n_ps = len(ps_table)
    ps_table["conn"] = np.arange(n_ps, dtype="int64")
    unlinked = sm_table["ps_sid"] < 0
    sm_table["conn"] = -1
    sm_table.loc[unlinked, "conn"] = n_ps + np.arange(int(unlinked.sum()), dtype="int64")
    sm_table.loc[~unlinked, "conn"] = sm_table.loc[~unlinked, "ps_sid"].map(
        dict(zip(ps_table["ps_sid"], ps_table["conn"], strict=True))
    )
    sm_table["conn"] = sm_table["conn"].astype("int64")

    ev["conn"] = -1
    conn = ev["conn"].to_numpy(dtype="int64", copy=True)
    for sid_col, table in (("ps_sid", ps_table), ("smtpd_sid", sm_table)):
        sids = ev[sid_col].to_numpy(dtype="int64")
        has = sids >= 0
        if has.any():  # session id -> connection id, through a lookup array
            lut = np.full(int(sids.max()) + 1, -1, dtype="int64")
            lut[table[sid_col].to_numpy(dtype="int64")] = table["conn"].to_numpy(dtype="int64")
            conn[has] = lut[sids[has]]
    ev["conn"] = conn

    _link_by_queue_id(ev)
    _link_policy_lines(ev, sm_table, ps_table)
    ev["conn"] = ev["conn"].astype("int64")

    messages = _messages(ev)
    deliveries = _deliveries(ev, messages)
    attempts = _attempts(ev, messages)
    connections = _connections(ev, ps_table, sm_table, messages, order)
    return Sessions(ev, connections, attempts, messages, deliveries, order)


def _postscreen_sessions(ev: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    sub = ev.loc[
        ev["ps_sid"] >= 0,
        ["ps_sid", "host", "client_ip", "ts", "kind", "action", "restriction", "rule", "seq"],
    ]
    if not len(sub):
        return _empty_frame(
            {
                "ps_sid": "int64",
                "host": "object",
                "client_ip": "object",
                "start": "datetime64[us, UTC]",
                "end": "datetime64[us, UTC]",
                "ps_verdict": "object",
                "ps_passed": "bool",
                "ps_dropped": "bool",
                "ps_reason": "object",
            }
        )
    g = sub.groupby("ps_sid", sort=True)
    table = g.agg(
        host=("host", "first"),
        client_ip=("client_ip", "first"),
        start=("ts", "min"),
        end=("ts", "max"),
    )
    action = sub["action"].astype("object").fillna("")
    is_reject = sub["kind"] == "reject"
    passed = action.isin(PASS_ACTIONS).groupby(sub["ps_sid"]).any()
    ended = (action.isin(END_ACTIONS) | is_reject).groupby(sub["ps_sid"]).any()
    # a session that passed and then got a reject (deep protocol tests: "450 4.3.2 Service
    # currently unavailable" after PASS NEW) still ended inside postscreen.
    table["ps_passed"] = passed
    table["ps_dropped"] = ended
    # the verdict: the first reject or test failure, else the pass, else "no verdict"
    decisive = sub.loc[
        is_reject | (~action.isin(NEUTRAL_ACTIONS) & ~action.isin(PASS_ACTIONS) & (action != ""))
    ]
    first = decisive.sort_values(["ps_sid", "ts", "seq"], kind="stable").drop_duplicates("ps_sid")
    label = restriction_label(first)
    label = label.where(
        ~(first["restriction"].isna() & first["action"].notna()), first["action"].astype("object")
    )
    reason = pd.Series(label.to_numpy(), index=first["ps_sid"].to_numpy(), dtype="object")
    table["ps_reason"] = reason
    pass_action = (
        sub.loc[action.isin(PASS_ACTIONS)]
        .drop_duplicates("ps_sid")
        .set_index("ps_sid")["action"]
        .astype("object")
    )
    verdict = pd.Series("no verdict", index=table.index, dtype="object")
    verdict.loc[pass_action.index] = pass_action
    end_action = (
        sub.loc[action.isin({"HANGUP", "BLACKLISTED", "DENYLISTED"})]
        .drop_duplicates("ps_sid")
        .set_index("ps_sid")["action"]
    )
    verdict.loc[end_action.index] = end_action.astype("object")
    rejected = sub.loc[is_reject].drop_duplicates("ps_sid")["ps_sid"]
    verdict.loc[rejected.to_numpy()] = "rejected"
    only_disconnect = table["ps_dropped"] & (verdict == "no verdict")
    verdict.loc[only_disconnect] = "DISCONNECT"
    table["ps_verdict"] = verdict
    return table.reset_index()


def _smtpd_sessions(ev: pd.DataFrame) -> pd.DataFrame:

    sub = ev.loc[
        ev["smtpd_sid"] >= 0,
        ["smtpd_sid", "host", "client_ip", "client_name", "ts", "kind", "program", "instance"],
    ]
    if not len(sub):
        return _empty_frame(
            {
                "smtpd_sid": "int64",
                "host": "object",
                "client_ip": "object",
                "client_name": "object",
                "start": "datetime64[us, UTC]",
                "end": "datetime64[us, UTC]",
                "program": "object",
                "plain_smtpd": "bool",
            }
        )
    g = sub.groupby("smtpd_sid", sort=True)
    table = g.agg(
        host=("host", "first"),
        client_ip=("client_ip", "first"),
        client_name=("client_name", "first"),
        start=("ts", "min"),
        end=("ts", "max"),
        program=("program", "first"),
        instance=("instance", "first"),
    )
    instance = table["instance"].astype("object").fillna("")
    table["plain_smtpd"] = ~instance.str.contains("/", regex=False)
    return table.drop(columns=["instance"]).reset_index()


def _link_by_queue_id(ev: pd.DataFrame) -> None:
    """Gives lines with a queue id (cleanup rejects, qmgr, deliveries) their smtpd connection."""
    import pandas as pd

    anchors = ev.loc[
        (ev["kind"] == "queue") & (ev["smtpd_sid"] >= 0) & ev["queue_id"].notna(),
        ["ts", "queue_id", "conn"],
    ]
    todo = ev.loc[(ev["conn"] < 0) & ev["queue_id"].notna(), ["ts", "queue_id"]]
    if not len(anchors) or not len(todo):
        return
    anchors = anchors.assign(queue_id=anchors["queue_id"].astype("object")).sort_values(
        "ts", kind="stable"
    )
    left = todo.assign(queue_id=todo["queue_id"].astype("object"), idx=todo.index).sort_values(
        "ts", kind="stable"
    )
    linked = pd.merge_asof(
        left, anchors, on="ts", by="queue_id", direction="backward", tolerance=pd.Timedelta(days=7)
    )
    linked = linked.dropna(subset=["conn"])
    ev.loc[linked["idx"].to_numpy(), "conn"] = linked["conn"].astype("int64").to_numpy()


def _link_policy_lines(ev: pd.DataFrame, sm_table: pd.DataFrame, ps_table: pd.DataFrame) -> None:
    """Links policy and dnsblog lines to a connection.

    postgrey/policyd-spf lines go to the smtpd session of that client open at the time;
    dnsblog lines to the postscreen session of that client.
    """
    import pandas as pd

    for kinds, table in ((("greylist", "spf"), sm_table), (("dnsbl",), ps_table)):
        todo = ev.loc[
            (ev["conn"] < 0) & ev["kind"].isin(kinds) & ev["client_ip"].notna(),
            ["ts", "host", "client_ip"],
        ]
        if not len(todo) or not len(table):
            continue
        right = (
            table[["host", "client_ip", "start", "end", "conn"]].dropna(subset=["client_ip"]).copy()
        )
        right["host"] = right["host"].astype("object")
        right["client_ip"] = right["client_ip"].astype("object")
        right = right.rename(columns={"start": "ts"}).sort_values("ts", kind="stable")
        left = todo.assign(idx=todo.index)
        left["host"] = left["host"].astype("object")
        left["client_ip"] = left["client_ip"].astype("object")
        left = left.sort_values("ts", kind="stable")
        linked = pd.merge_asof(left, right, on="ts", by=["host", "client_ip"], direction="backward")
        slack = pd.Timedelta(seconds=POLICY_SLACK_SECONDS if kinds[0] != "dnsbl" else 60)
        linked = linked.dropna(subset=["conn"])
        linked = linked.loc[linked["ts"] <= linked["end"] + slack]
        ev.loc[linked["idx"].to_numpy(), "conn"] = linked["conn"].astype("int64").to_numpy()


def _messages(ev: pd.DataFrame) -> pd.DataFrame:
    """Accepted messages: qmgr ``(queue active)`` lines, with the smtpd connection."""
    import pandas as pd

    qmgr = ev.loc[(ev["kind"] == "queue") & ev["size"].notna() & ev["queue_id"].notna()]
    if not len(qmgr):
        return _empty_like_messages()
    msgs = qmgr[["queue_id", "ts", "sender", "size", "nrcpt", "host", "conn"]].copy()
    msgs["queue_id"] = msgs["queue_id"].astype("object")
    msgs["sender"] = msgs["sender"].astype("object")
    msgs["host"] = msgs["host"].astype("object")
    # the smtpd "QID: client=" line gives the client of a message
    anchors = ev.loc[
        (ev["kind"] == "queue") & ev["size"].isna() & ev["queue_id"].notna(),
        ["ts", "queue_id", "client_ip", "client_name"],
    ].copy()
    anchors["queue_id"] = anchors["queue_id"].astype("object")
    anchors = anchors.sort_values("ts", kind="stable")
    msgs = msgs.sort_values("ts", kind="stable")
    if len(anchors):
        msgs = pd.merge_asof(
            msgs,
            anchors,
            on="ts",
            by="queue_id",
            direction="backward",
            tolerance=pd.Timedelta(days=7),
        )
    else:
        msgs["client_ip"] = None
        msgs["client_name"] = None
    msgs["client_ip"] = msgs["client_ip"].astype("object")
    msgs["client_name"] = msgs["client_name"].astype("object")
    return msgs.reset_index(drop=True)


def _deliveries(ev: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    deliv = ev.loc[
        (ev["kind"] == "delivery") & ev["queue_id"].notna(),
        ["ts", "queue_id", "recipient", "action"],
    ].copy()
    deliv["queue_id"] = deliv["queue_id"].astype("object")
    deliv["recipient"] = deliv["recipient"].astype("object")
    deliv["action"] = deliv["action"].astype("object")
    cols = ["ts", "queue_id", "sender", "client_ip", "client_name", "conn"]
    if not len(deliv) or not len(messages):
        for col in cols[2:]:
            deliv[col] = pd.Series(dtype="object") if col != "conn" else pd.Series(dtype="int64")
        deliv["msg_ts"] = pd.Series(dtype="datetime64[us, UTC]")
        return deliv.reset_index(drop=True)
    right = (
        messages[cols]
        .rename(columns={"ts": "msg_ts"})
        .assign(ts=lambda f: f["msg_ts"])
        .sort_values("ts", kind="stable")
    )
    out = pd.merge_asof(
        deliv.sort_values("ts", kind="stable"),
        right,
        on="ts",
        by="queue_id",
        direction="backward",
        tolerance=pd.Timedelta(days=7),
    )
    return out.reset_index(drop=True)


def _attempts(ev: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    """Groups rejects of one connection into message attempts (runs of the same sender)."""
    import numpy as np
    import pandas as pd

    ev["attempt"] = -1
    stage = ev["stage"].astype("object").fillna("")
    mask = (
        (ev["kind"] == "reject")
        & (ev["conn"] >= 0)
        & (ev["sender"].notna() | stage.isin(MESSAGE_STAGES))
    )
    rej = ev.loc[
        mask,
        [
            "conn",
            "ts",
            "seq",
            "sender",
            "recipient",
            "layer",
            "layer_rank",
            "restriction",
            "rule",
            "smtp_code",
            "queue_id",
        ],
    ]
    cols = {
        "attempt": "int64",
        "conn": "int64",
        "sender": "object",
        "start": "datetime64[us, UTC]",
        "layer": "object",
        "restriction": "object",
        "recipients": "int64",
        "rejects": "int64",
        "temporary": "bool",
        "queued": "bool",
    }
    if not len(rej):
        return _empty_frame(cols)
    rej = rej.sort_values(["conn", "ts", "seq"], kind="stable")
    sender = rej["sender"].astype("object").fillna("\x00")
    new = (rej["conn"] != rej["conn"].shift()) | (sender != sender.shift())
    rej["attempt"] = np.cumsum(new.to_numpy()) - 1
    ev.loc[rej.index, "attempt"] = rej["attempt"].to_numpy()
    rej["label"] = restriction_label(rej)
    rej["temp"] = (rej["smtp_code"] >= 400) & (rej["smtp_code"] < 500)
    g = rej.groupby("attempt", sort=True)
    first = g.head(1).set_index("attempt")
    table = pd.DataFrame(
        {
            "conn": first["conn"].astype("int64"),
            "sender": first["sender"].astype("object"),
            "start": first["ts"],
            "layer": first["layer"].astype("object"),
            "restriction": first["label"],
            "recipients": g["recipient"].nunique(),
            "rejects": g.size(),
            "temporary": g["temp"].all(),
            "had_queue_id": g["queue_id"].count() > 0,
        }
    )
    if len(messages):
        accepted = set(
            zip(messages["conn"].astype("int64"), messages["sender"].fillna("\x00"), strict=True)
        )
        keys = zip(table["conn"], table["sender"].fillna("\x00"), strict=True)
        table["queued"] = table["had_queue_id"] | pd.Series(
            [k in accepted for k in keys], index=table.index, dtype="bool"
        )
    else:
        table["queued"] = table["had_queue_id"]
    return table.drop(columns=["had_queue_id"]).reset_index()


def _connections(
    ev: pd.DataFrame,
    ps_table: pd.DataFrame,
    sm_table: pd.DataFrame,
    messages: pd.DataFrame,
    order: list[str],
) -> pd.DataFrame:
    import pandas as pd

    ps_part = ps_table.assign(via_postscreen=True)[
        [
            "conn",
            "host",
            "client_ip",
            "start",
            "end",
            "via_postscreen",
            "ps_verdict",
            "ps_dropped",
            "ps_reason",
        ]
    ]
    sm_rows = sm_table.loc[
        sm_table["ps_sid"] < 0, ["conn", "host", "client_ip", "client_name", "start", "end"]
    ].assign(via_postscreen=False)
    conns = (
        pd.concat([ps_part.assign(client_name=None), sm_rows], ignore_index=True)
        if len(ps_part) or len(sm_rows)
        else None
    )
    if conns is None:
        cols = {
            "conn": "int64",
            "host": "object",
            "client_ip": "object",
            "client_name": "object",
            "start": "datetime64[us, UTC]",
            "end": "datetime64[us, UTC]",
            "via_postscreen": "bool",
            "ps_verdict": "object",
            "ps_dropped": "bool",
            "smtpd": "bool",
            "messages": "int64",
            "rejects": "int64",
            "first_layer": "object",
            "first_restriction": "object",
            "fate": "object",
        }
        return _empty_frame(cols)
    conns = conns.set_index("conn").sort_index()
    for col in ("host", "client_ip", "client_name", "ps_verdict", "ps_reason"):
        conns[col] = conns[col].astype("object")
    conns["ps_dropped"] = conns["ps_dropped"].astype("object").fillna(False).astype("bool")
    # smtpd part of connections that went through postscreen
    linked = sm_table.loc[sm_table["ps_sid"] >= 0]
    conns["smtpd"] = ~conns["via_postscreen"]
    if len(linked):
        conns.loc[linked["conn"].to_numpy(), "smtpd"] = True
        conns.loc[linked["conn"].to_numpy(), "client_name"] = (
            linked["client_name"].astype("object").to_numpy()
        )
        # (tz-aware datetimes stay datetime64: to_numpy() would make Timestamp objects)
        cur = conns.loc[linked["conn"].to_numpy(), "end"]
        end = pd.Series(linked["end"].array, index=cur.index)
        conns.loc[cur.index, "end"] = cur.where(cur >= end, end)
    msg_count = (
        messages.loc[messages["conn"] >= 0].groupby("conn").size()
        if len(messages)
        else pd.Series(dtype="int64")
    )
    conns["messages"] = msg_count.reindex(conns.index).fillna(0).astype("int64")
    rej = ev.loc[(ev["kind"] == "reject") & (ev["conn"] >= 0)]
    conns["rejects"] = rej.groupby("conn").size().reindex(conns.index).fillna(0).astype("int64")
    # the first reject in time (ties: evaluation order) decides the first layer
    first = (
        rej.sort_values(["conn", "ts", "layer_rank", "seq"], kind="stable")
        .drop_duplicates("conn")
        .set_index("conn")
    )
    conns["first_layer"] = first["layer"].astype("object").reindex(conns.index)
    conns["first_restriction"] = (
        restriction_label(first).reindex(conns.index) if len(first) else None
    )
    conns["first_restriction"] = conns["first_restriction"].astype("object")
    # postscreen drops without a reject line (HANGUP, PREGREET then DISCONNECT, ...)
    silent_drop = conns["ps_dropped"] & conns["first_layer"].isna() & ~conns["smtpd"]
    conns.loc[silent_drop, "first_layer"] = "postscreen"
    conns.loc[silent_drop, "first_restriction"] = conns.loc[silent_drop, "ps_reason"].fillna(
        "DISCONNECT"
    )
    fate = pd.Series("no decision", index=conns.index, dtype="object")
    fate[conns["first_layer"].notna()] = "stopped"
    fate[(conns["messages"] > 0) & conns["first_layer"].notna()] = "accepted after a reject"
    fate[(conns["messages"] > 0) & conns["first_layer"].isna()] = "accepted"
    conns["fate"] = fate
    conns = conns.drop(columns=["ps_reason"])
    return conns.reset_index()
