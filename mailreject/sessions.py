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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mailreject.schema import LAYERS
from mailreject.segments import Segments, sorted_codes

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

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

T = TypeVar("T")

#: postscreen actions meaning the client was handed to (or allowed through to) smtpd.
PASS_ACTIONS = frozenset({"PASS NEW", "PASS OLD", "WHITELISTED", "ALLOWLISTED"})
#: postscreen actions meaning the connection ended inside postscreen.
END_ACTIONS = frozenset({"DISCONNECT", "HANGUP", "BLACKLISTED", "DENYLISTED"})
#: postscreen actions that are not a verdict on their own.
NEUTRAL_ACTIONS = frozenset({"CONNECT", "DISCONNECT"})
#: Stages at which a reject is part of a message attempt.
MESSAGE_STAGES = frozenset({"MAIL", "RCPT", "DATA", "BDAT", "END-OF-MESSAGE"})

#: Columns :func:`build` leaves categorical when given so: the analysis only compares,
#: groups and picks them, and codes are faster and far smaller than Python strings.
CATEGORICAL_COLUMNS = frozenset(
    {"kind", "action", "stage", "program", "instance", "host", "layer", "restriction"}
    | {"rbl_zone", "rule", "source", "dsn", "proto"}
)

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
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def reject_events(self) -> pd.DataFrame:
        """The ``reject`` events (cached)."""
        if self.rejects is None:
            self.rejects = self.events.loc[self.events["kind"] == "reject"]
        return self.rejects

    def cached(self, name: str, make: Callable[[Sessions], T]) -> T:
        """``make(self)``, computed once: for intermediate tables several analyses share."""
        if name not in self.memo:
            self.memo[name] = make(self)
        value: T = self.memo[name]
        return value


def restriction_label(frame: pd.DataFrame) -> pd.Series:
    """The restriction, or ``(rule id)`` when the line names none.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"restriction": ["x", None], "rule": ["a", "b.c"]})
        >>> restriction_label(frame).tolist()
        ['x', '(b.c)']

    """
    return per_combination(frame, ["restriction", "rule"], _restriction_label)


def _restriction_label(frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    named = frame["restriction"].astype("object")
    fallback = "(" + frame["rule"].astype("object").fillna("?").astype(str) + ")"
    return pd.Series(named.where(named.notna(), fallback), index=frame.index, dtype="object")


def per_combination(
    frame: pd.DataFrame, columns: list[str], compute: Callable[[pd.DataFrame], pd.Series]
) -> pd.Series:
    """``compute(frame[columns])``, evaluated once per distinct combination of the columns.

    For labels made of a few low-cardinality columns: string operations on a handful of
    distinct rows instead of on every event.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"a": ["x", "y", "x"]})
        >>> per_combination(frame, ["a"], lambda f: f["a"] + "!").tolist()
        ['x!', 'y!', 'x!']

    """
    import numpy as np
    import pandas as pd

    if not len(frame):
        return compute(frame[columns])
    codes = frame.groupby(columns, dropna=False, observed=True, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)  # group numbers follow first appearance
    values = compute(frame[columns].iloc[first]).to_numpy(dtype=object)
    return pd.Series(values[codes], index=frame.index, dtype="object")


def _endswith(values: pd.Series, suffix: str) -> pd.Series:
    """``values.str.endswith(suffix)`` (missing: False), tested once per distinct value."""
    import pandas as pd

    hits = {v for v in values.dropna().unique() if isinstance(v, str) and v.endswith(suffix)}
    return pd.Series(_in(values, hits), index=values.index)


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
    ev = df.reset_index(drop=True)  # a new frame over the same data: ours to extend
    ev["seq"] = np.arange(len(ev), dtype="int64")
    if not ev["ts"].is_monotonic_increasing:  # mailreject.load() gives them sorted already
        ev = ev.sort_values("ts", kind="stable").reset_index(drop=True)
    keys = _Keys.of(ev)  # before normalise: codes of categoricals come for free
    ev = normalise(ev, keep=CATEGORICAL_COLUMNS)
    rank = {layer: i for i, layer in enumerate(order)}
    codes, uniques = pd.factorize(ev["layer"])  # few distinct layers: look each up once
    ranks = np.array([rank.get(u, len(order)) for u in uniques] + [len(order)], dtype="int8")
    ev["layer_rank"] = ranks[codes]  # code -1 (missing) takes the last entry
    kind = ev["kind"]
    action = ev["action"]

    # ---- smtpd sessions: (host, pid), a new one at each connect
    smtpd_rows = np.flatnonzero(
        _endswith(ev["program"], "smtpd").to_numpy()
        & _valid(ev["pid"])
        & _in(kind, {"connect", "disconnect", "reject", "reject_warning", "queue"})
    )
    smtpd = Segments.split(
        len(ev),
        smtpd_rows,
        [keys.host[smtpd_rows], ev["pid"].to_numpy(dtype="float64")[smtpd_rows]],
        _in(kind, {"connect"})[smtpd_rows],
    )

    # ---- postscreen sessions: (host, client_ip, client_port), a new one at each CONNECT
    ps_rows = np.flatnonzero(
        _endswith(ev["program"], "postscreen").to_numpy()
        & _valid(ev["client_port"])
        & _in(kind, {"postscreen", "reject"})
    )
    postscreen = Segments.split(
        len(ev),
        ps_rows,
        [
            keys.host[ps_rows],
            keys.ip[ps_rows],
            ev["client_port"].to_numpy(dtype="float64")[ps_rows],
        ],
        _in(action, {"CONNECT"})[ps_rows],
    )

    ps_table = _postscreen_sessions(ev, postscreen, keys)
    sm_table = _smtpd_sessions(ev, smtpd, keys)

    # ---- hand-off: an smtpd connect right after a postscreen session that was not dropped
    ps_of_smtpd = np.full(len(sm_table), -1, dtype="int64")
    cand = ps_table.loc[~ps_table["ps_dropped"] & (ps_table["ip_at"] >= 0)]
    left = sm_table.loc[sm_table["plain_smtpd"] & (sm_table["ip_at"] >= 0)]
    if len(cand) and len(left):
        linked = pd.merge_asof(
            left[["smtpd_sid", "key", "start"]].sort_values("start", kind="stable"),
            cand[["ps_sid", "key", "start"]].sort_values("start", kind="stable"),
            on="start",
            by="key",
            direction="backward",
            tolerance=pd.Timedelta(seconds=HANDOFF_SECONDS),
        )
        linked = linked.dropna(subset=["ps_sid"]).drop_duplicates("ps_sid", keep="first")
        ps_of_smtpd[linked["smtpd_sid"].to_numpy(dtype="int64")] = linked["ps_sid"].to_numpy(
            dtype="int64"
        )
    sm_table["ps_sid"] = ps_of_smtpd

    # ---- connection ids: postscreen sessions first, then smtpd sessions without one
    n_ps = len(ps_table)
    ps_table["conn"] = np.arange(n_ps, dtype="int64")
    unlinked = ps_of_smtpd < 0
    sm_conn = ps_of_smtpd.copy()  # postscreen session id == its connection id
    sm_conn[unlinked] = n_ps + np.arange(int(unlinked.sum()), dtype="int64")
    sm_table["conn"] = sm_conn

    conn = np.full(len(ev), -1, dtype="int64")
    for segments, table_conn in ((postscreen, ps_table["conn"]), (smtpd, sm_table["conn"])):
        has = segments.ids >= 0
        conn[has] = table_conn.to_numpy(dtype="int64")[segments.ids[has]]

    in_smtpd = smtpd.ids >= 0
    del smtpd, postscreen  # the tables hold what is left to use: free the big arrays
    _link_by_queue_id(ev, keys, in_smtpd, conn)
    del in_smtpd
    _link_policy_lines(ev, keys, sm_table, ps_table, conn)
    ev["conn"] = conn  # one column of 8 bytes an event, set once: every copy costs ~0.25 s
    queue = keys.queue
    ip_codes = keys.ip_codes
    del keys

    messages, message_codes = _messages(ev, queue)
    deliveries = _deliveries(ev, queue, messages, message_codes)
    attempts = _attempts(ev, messages, queue)
    del queue
    connections = _connections(ev, ps_table, sm_table, messages, order, ip_codes)
    return Sessions(
        ev, connections, attempts, messages, deliveries, order, memo={"ip_codes": ip_codes}
    )


@dataclass
class _Keys:
    """Integer codes of the columns sessions are keyed on, one entry per event.

    ``host`` and ``ip`` are sorted codes (missing last), combined by :meth:`pair` for joins;
    ``queue`` codes the queue id (-1 when missing).
    """

    host: np.ndarray
    ip: np.ndarray
    queue: np.ndarray
    #: Codes of the addresses with -1 for missing, and the distinct addresses (sorted): what
    #: the analyses key clients on (:func:`mailreject.kernels.ip_codes`), hashed only once.
    ip_codes: tuple[np.ndarray, Any]

    @property
    def has_ip(self) -> np.ndarray:
        """Whether each event names a client address (from the codes: no strings looked at)."""
        return self.ip_codes[0] >= 0

    def pair(self, host_at: np.ndarray, ip_at: np.ndarray) -> np.ndarray:
        """One join key for the host at ``host_at`` and the address at ``ip_at`` (-1: none)."""
        import numpy as np

        both = (host_at >= 0) & (ip_at >= 0)
        out = np.full(len(host_at), -1, dtype="int64")
        span = int(self.ip.max(initial=0)) + 1
        out[both] = self.host[host_at[both]].astype("int64") * span + self.ip[ip_at[both]]
        return out

    @classmethod
    def of(cls, ev: pd.DataFrame) -> _Keys:
        import numpy as np
        import pandas as pd

        # int32 addresses and hosts: they live through the whole build, one entry per event
        host = sorted_codes(ev["host"]).astype("int32")
        addresses = ev["client_ip"]
        if isinstance(addresses.dtype, pd.CategoricalDtype):  # sorted as text, not as categories
            addresses = addresses.astype("object")
        found, ips = pd.factorize(addresses, sort=True)
        ip = found.astype("int32")
        queue = pd.factorize(ev["queue_id"])[0].astype("int64", copy=False)  # missing: -1
        return cls(host, np.where(ip < 0, np.int32(len(ips)), ip), queue, (ip, ips))


def _at(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """The values of ``column`` at ``positions`` (missing where a position is -1)."""
    import numpy as np
    import pandas as pd

    has = positions >= 0
    if not len(column):
        return column.iloc[:0].reindex(range(len(positions)))
    taken = np.where(has, positions, 0)
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        chunks = column.array.__arrow_array__()
        return pd.Series(pd.array(_take(chunks, taken, has), dtype=column.dtype))
    values = column.iloc[taken].reset_index(drop=True)
    return values if has.all() else values.where(has)


def _take(array: pa.ChunkedArray, positions: np.ndarray, valid: np.ndarray) -> pa.ChunkedArray:
    """``array.take(positions)``, null where not ``valid``, taken from each chunk alone.

    pyarrow concatenates a chunked string array whole for every take: ~0.4 s per column of
    12.5M events, read as hundreds of row groups, however few positions are taken.
    """
    import numpy as np
    import pyarrow as pa

    every = bool(valid.all())
    wanted = positions if every else positions[valid]  # the missing ones are not fetched
    bounds = np.cumsum([0, *(len(chunk) for chunk in array.chunks)])
    chunk_of = np.searchsorted(bounds, wanted, side="right") - 1
    in_order = bool(np.all(chunk_of[1:] >= chunk_of[:-1]))
    order = np.arange(len(wanted)) if in_order else np.argsort(chunk_of, kind="stable")
    edges = np.searchsorted(chunk_of[order], np.arange(array.num_chunks + 1))
    parts = [
        array.chunk(i).take(pa.array(wanted[order[edges[i] : edges[i + 1]]] - bounds[i]))
        for i in np.flatnonzero(np.diff(edges))
    ]
    grouped = pa.concat_arrays(parts) if parts else pa.array([], type=array.type)
    if in_order and every:  # already in the positions' order: no second take
        return pa.chunked_array([grouped], type=array.type)
    back = np.zeros(len(positions), dtype=np.int64)  # where each result sits in ``grouped``
    back[np.flatnonzero(valid)[order]] = np.arange(len(order))
    return pa.chunked_array([grouped.take(pa.array(back, mask=~valid))], type=array.type)


def _valid(column: pd.Series) -> np.ndarray:
    return column.notna().to_numpy()


def _in(column: pd.Series, values: frozenset[str] | set[str]) -> np.ndarray:
    """``column.isin(values)`` as booleans; for categoricals, looked up once per category."""
    import numpy as np
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        hit = np.append(column.cat.categories.isin(list(values)), False)  # code -1: missing
        return hit[column.cat.codes.to_numpy()]
    return column.isin(list(values)).to_numpy(dtype=bool)


def _postscreen_sessions(ev: pd.DataFrame, seg: Segments, keys: _Keys) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if not seg.count:
        return _empty_frame(
            {
                "ps_sid": "int64",
                "host": "object",
                "start": "datetime64[us, UTC]",
                "end": "datetime64[us, UTC]",
                "ps_passed": "bool",
                "ps_dropped": "bool",
                "ps_reason": "object",
                "ps_verdict": "object",
                "key": "int64",
                "ip_at": "int64",
            }
        )
    action = ev["action"]
    is_reject = _in(ev["kind"], {"reject"})
    passes = _in(action, PASS_ACTIONS)
    has_action = _valid(action) & ~_in(action, {""})
    host_at, ip_at = seg.first(_valid(ev["host"])), seg.first(keys.has_ip)
    valid_ts = _valid(ev["ts"])
    table = pd.DataFrame(
        {
            "ps_sid": np.arange(seg.count, dtype="int64"),
            "host": _at(ev["host"], host_at),
            "start": _at(ev["ts"], seg.first(valid_ts)),
            "end": _at(ev["ts"], seg.last(valid_ts)),
            # a session that passed and then got a reject (deep protocol tests: "450 4.3.2
            # Service currently unavailable" after PASS NEW) still ended inside postscreen.
            "ps_passed": seg.any(passes),
            "ps_dropped": seg.any(_in(action, END_ACTIONS) | is_reject),
        }
    )
    # the verdict: the first reject or test failure, else the pass, else "no verdict"
    decisive_at = seg.first(is_reject | (~_in(action, NEUTRAL_ACTIONS) & ~passes & has_action))
    decisive = decisive_at >= 0
    first = ev[["restriction", "rule", "action"]].iloc[decisive_at[decisive]]
    label = restriction_label(first)
    label = label.where(
        ~(first["restriction"].isna() & first["action"].notna()), first["action"].astype("object")
    )
    reason = pd.Series(None, index=table.index, dtype="object")
    reason[decisive] = label.to_numpy()
    table["ps_reason"] = reason
    verdict = np.full(seg.count, "no verdict", dtype=object)
    pass_at = seg.first(passes)
    verdict[pass_at >= 0] = action.iloc[pass_at[pass_at >= 0]].to_numpy(dtype=object)
    end_at = seg.first(_in(action, {"HANGUP", "BLACKLISTED", "DENYLISTED"}))
    verdict[end_at >= 0] = action.iloc[end_at[end_at >= 0]].to_numpy(dtype=object)
    verdict[seg.any(is_reject)] = "rejected"
    verdict[table["ps_dropped"].to_numpy() & (verdict == "no verdict")] = "DISCONNECT"
    table["ps_verdict"] = pd.Series(verdict, dtype="object")
    table["key"] = keys.pair(host_at, ip_at)
    table["ip_at"] = ip_at  # where the address is: connections take it from the events
    return table


def _smtpd_sessions(ev: pd.DataFrame, seg: Segments, keys: _Keys) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if not seg.count:
        return _empty_frame(
            {
                "smtpd_sid": "int64",
                "host": "object",
                "start": "datetime64[us, UTC]",
                "end": "datetime64[us, UTC]",
                "plain_smtpd": "bool",
                "key": "int64",
                "ip_at": "int64",
                "name_at": "int64",
            }
        )
    host_at, ip_at = seg.first(_valid(ev["host"])), seg.first(keys.has_ip)
    name_at = seg.first(_valid(ev["client_name"]))
    valid_ts = _valid(ev["ts"])
    instance = _at(ev["instance"], seg.first(_valid(ev["instance"])))
    return pd.DataFrame(
        {
            "smtpd_sid": np.arange(seg.count, dtype="int64"),
            "host": _at(ev["host"], host_at),
            "ip_at": ip_at,
            "name_at": name_at,
            "start": _at(ev["ts"], seg.first(valid_ts)),
            "end": _at(ev["ts"], seg.last(valid_ts)),
            "plain_smtpd": ~per_combination(
                pd.DataFrame({"instance": instance}),
                ["instance"],
                lambda f: f["instance"].astype("object").fillna("").str.contains("/", regex=False),
            ).astype(bool),
            "key": keys.pair(host_at, ip_at),
        }
    )


def _link_by_queue_id(
    ev: pd.DataFrame, keys: _Keys, in_smtpd: np.ndarray, conn: np.ndarray
) -> None:
    """Gives lines with a queue id (cleanup rejects, qmgr, deliveries) their smtpd connection.

    ``in_smtpd`` tells which events belong to an smtpd session; ``conn`` (the connection of
    each event, -1 for none) is updated in place.
    """
    import numpy as np
    import pandas as pd

    anchor_rows = np.flatnonzero(_in(ev["kind"], {"queue"}) & in_smtpd & (keys.queue >= 0))
    todo_rows = np.flatnonzero((conn < 0) & (keys.queue >= 0))
    if not len(anchor_rows) or not len(todo_rows):
        return
    ts = ev["ts"]
    anchors = pd.DataFrame(
        {"ts": _at(ts, anchor_rows), "q": keys.queue[anchor_rows], "conn": conn[anchor_rows]}
    ).sort_values("ts", kind="stable")
    left = pd.DataFrame(
        {"ts": _at(ts, todo_rows), "q": keys.queue[todo_rows], "idx": todo_rows}
    ).sort_values("ts", kind="stable")
    linked = pd.merge_asof(
        left, anchors, on="ts", by="q", direction="backward", tolerance=pd.Timedelta(days=7)
    )
    linked = linked.dropna(subset=["conn"])
    conn[linked["idx"].to_numpy()] = linked["conn"].to_numpy(dtype="int64")


def _link_policy_lines(
    ev: pd.DataFrame,
    keys: _Keys,
    sm_table: pd.DataFrame,
    ps_table: pd.DataFrame,
    conn: np.ndarray,
) -> None:
    """Links policy and dnsblog lines to a connection, in ``conn`` (updated in place).

    postgrey/policyd-spf lines go to the smtpd session of that client open at the time;
    dnsblog lines to the postscreen session of that client.
    """
    import numpy as np
    import pandas as pd

    has_ip = keys.has_ip
    for kinds, table in ((("greylist", "spf"), sm_table), (("dnsbl",), ps_table)):
        rows = np.flatnonzero((conn < 0) & _in(ev["kind"], set(kinds)) & has_ip)
        if not len(rows) or not len(table):
            continue
        right = table.loc[table["ip_at"] >= 0, ["key", "start", "end", "conn"]]
        right = right.rename(columns={"start": "ts"}).sort_values("ts", kind="stable")
        left = pd.DataFrame(
            {"ts": _at(ev["ts"], rows), "key": keys.pair(rows, rows), "idx": rows}
        ).sort_values("ts", kind="stable")
        linked = pd.merge_asof(left, right, on="ts", by="key", direction="backward")
        slack = pd.Timedelta(seconds=POLICY_SLACK_SECONDS if kinds[0] != "dnsbl" else 60)
        linked = linked.dropna(subset=["conn"])
        linked = linked.loc[linked["ts"] <= linked["end"] + slack]
        conn[linked["idx"].to_numpy()] = linked["conn"].to_numpy(dtype="int64")


def _messages(ev: pd.DataFrame, queue: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Accepted messages: qmgr ``(queue active)`` lines, with the smtpd connection.

    Returns:
        The messages and their queue id codes (as in ``queue``, one code per event).

    """
    import numpy as np
    import pandas as pd

    is_queue = _in(ev["kind"], {"queue"})
    has_size = _valid(ev["size"])
    rows = np.flatnonzero(is_queue & has_size & (queue >= 0))
    if not len(rows):
        return _empty_like_messages(), np.empty(0, dtype="int64")
    msgs = pd.DataFrame(
        {
            "queue_id": _at(ev["queue_id"], rows),
            "ts": _at(ev["ts"], rows),
            "sender": _at(ev["sender"], rows),
            "size": _at(ev["size"], rows),
            "nrcpt": _at(ev["nrcpt"], rows),
            "host": _at(ev["host"], rows).astype("object"),
            "conn": _at(ev["conn"], rows),
            "q": queue[rows],
        }
    ).sort_values("ts", kind="stable")
    # the smtpd "QID: client=" line gives the client of a message
    anchor_rows = np.flatnonzero(is_queue & ~has_size & (queue >= 0))
    if len(anchor_rows):
        anchors = pd.DataFrame(
            {
                "ts": _at(ev["ts"], anchor_rows),
                "q": queue[anchor_rows],
                "client_ip": _at(ev["client_ip"], anchor_rows),
                "client_name": _at(ev["client_name"], anchor_rows),
            }
        ).sort_values("ts", kind="stable")
        msgs = pd.merge_asof(
            msgs, anchors, on="ts", by="q", direction="backward", tolerance=pd.Timedelta(days=7)
        )
    else:
        msgs["client_ip"] = None
        msgs["client_name"] = None
    codes = msgs.pop("q").to_numpy(dtype="int64")
    return msgs.reset_index(drop=True), codes


def _deliveries(
    ev: pd.DataFrame, queue: np.ndarray, messages: pd.DataFrame, message_codes: np.ndarray
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rows = np.flatnonzero(_in(ev["kind"], {"delivery"}) & (queue >= 0))
    deliv = pd.DataFrame(
        {
            "ts": _at(ev["ts"], rows),
            "queue_id": _at(ev["queue_id"], rows),
            "recipient": _at(ev["recipient"], rows),
            "action": _at(ev["action"], rows).astype("object"),
        }
    )
    cols = ["ts", "queue_id", "sender", "client_ip", "client_name", "conn"]
    if not len(deliv) or not len(messages):
        for col in cols[2:]:
            deliv[col] = pd.Series(dtype="object") if col != "conn" else pd.Series(dtype="int64")
        deliv["msg_ts"] = pd.Series(dtype="datetime64[us, UTC]")
        return deliv
    right = (
        messages[cols]
        .drop(columns=["queue_id"])
        .rename(columns={"ts": "msg_ts"})
        .assign(ts=lambda f: f["msg_ts"], q=message_codes)
        .sort_values("ts", kind="stable")
    )
    out = pd.merge_asof(
        deliv.assign(q=queue[rows]).sort_values("ts", kind="stable"),
        right,
        on="ts",
        by="q",
        direction="backward",
        tolerance=pd.Timedelta(days=7),
    )
    return out.drop(columns=["q"]).reset_index(drop=True)


def _attempts(ev: pd.DataFrame, messages: pd.DataFrame, queue: np.ndarray) -> pd.DataFrame:
    """Groups rejects of one connection into message attempts (runs of the same sender).

    ``queue`` codes each event's queue id (-1: none).
    """
    import numpy as np
    import pandas as pd

    attempt = np.full(len(ev), -1, dtype="int64")
    mask = (
        _in(ev["kind"], {"reject"})
        & (ev["conn"].to_numpy() >= 0)
        & (_valid(ev["sender"]) | _in(ev["stage"], MESSAGE_STAGES))
    )
    rows = np.flatnonzero(mask)
    # rows are in (ts, seq) order already: a stable sort by connection keeps it within one
    rows = rows[np.argsort(ev["conn"].to_numpy()[rows], kind="stable")]
    names = ["conn", "ts", "seq", "sender", "recipient", "layer", "layer_rank", "restriction"]
    names += ["rule", "smtp_code"]
    rej = pd.DataFrame({name: _at(ev[name], rows).array for name in names}, index=rows)
    rej["has_queue_id"] = queue[rows] >= 0
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
        ev["attempt"] = attempt
        return _empty_frame(cols)
    conn = rej["conn"].to_numpy()
    sender = pd.factorize(rej["sender"])[0]  # missing: -1, a sender of its own
    new = np.r_[True, (conn[1:] != conn[:-1]) | (sender[1:] != sender[:-1])]
    rej["attempt"] = np.cumsum(new) - 1
    attempt[rows] = rej["attempt"].to_numpy()
    ev["attempt"] = attempt
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
            "had_queue_id": g["has_queue_id"].any(),
        }
    )
    if len(messages):
        # (connection, sender) pairs as integers: one code space for both tables' senders
        # (the senders as read, not the table's Python strings: hashed in Arrow)
        senders = pd.factorize(
            pd.concat([messages["sender"], first["sender"]], ignore_index=True),
            use_na_sentinel=False,
        )[0]
        span = len(senders) + 1
        accepted = messages["conn"].to_numpy(dtype="int64") * span + senders[: len(messages)]
        tried = table["conn"].to_numpy(dtype="int64") * span + senders[len(messages) :]
        # a hash lookup: np.isin sorts both sides (~0.4 s on a month of events)
        table["queued"] = table["had_queue_id"] | pd.Series(tried, index=table.index).isin(accepted)
    else:
        table["queued"] = table["had_queue_id"]
    return table.drop(columns=["had_queue_id"]).reset_index()


def _connections(
    ev: pd.DataFrame,
    ps_table: pd.DataFrame,
    sm_table: pd.DataFrame,
    messages: pd.DataFrame,
    order: list[str],
    ip_codes: tuple[np.ndarray, Any],
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    # addresses and names stay positions into the events until the end: Arrow strings
    # taken once, not millions of Python strings
    ps_part = ps_table.assign(via_postscreen=True)[
        [
            "conn",
            "host",
            "ip_at",
            "start",
            "end",
            "via_postscreen",
            "ps_verdict",
            "ps_dropped",
            "ps_reason",
        ]
    ]
    sm_rows = sm_table.loc[
        sm_table["ps_sid"] < 0, ["conn", "host", "ip_at", "name_at", "start", "end"]
    ].assign(via_postscreen=False)
    conns = (
        pd.concat([ps_part.assign(name_at=-1), sm_rows], ignore_index=True)
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
    for col in ("host", "ps_verdict", "ps_reason"):
        conns[col] = conns[col].astype("object")
    conns["ps_dropped"] = conns["ps_dropped"].astype("object").fillna(False).astype("bool")
    # smtpd part of connections that went through postscreen
    linked = sm_table.loc[sm_table["ps_sid"] >= 0]
    conns["smtpd"] = ~conns["via_postscreen"]
    if len(linked):
        conns.loc[linked["conn"].to_numpy(), "smtpd"] = True
        conns.loc[linked["conn"].to_numpy(), "name_at"] = linked["name_at"].to_numpy()
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
    rej = ev.loc[
        (ev["kind"] == "reject") & (ev["conn"] >= 0),
        ["conn", "ts", "layer_rank", "seq", "layer", "restriction", "rule"],
    ]
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
    ip_at = conns["ip_at"].to_numpy(dtype="int64")
    codes, addresses = ip_codes  # each distinct address once, rather than one per event
    found = np.where(ip_at >= 0, codes[np.maximum(ip_at, 0)], -1)
    conns["ip_at"] = pd.Series(addresses.array.take(found, allow_fill=True), index=conns.index)
    conns["name_at"] = _at(ev["client_name"], conns["name_at"].to_numpy(dtype="int64")).set_axis(
        conns.index
    )
    conns = conns.rename(columns={"ip_at": "client_ip", "name_at": "client_name"})
    return conns.reset_index()
