"""Cost to legitimate mail: delays from 4xx rejects, greylisting, possible false positives.

Functions take events or built :class:`~mailreject.sessions.Sessions`; they are re-exported
by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailreject import kernels
from mailreject.frames import (
    Events,
    _empty,
    _nets,
    _sessions,
    events_from_text,  # noqa: F401  (used by the doctests)
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The columns :func:`~mailreject.frames._label` reads.
_LABEL_COLUMNS = ("layer", "restriction", "rule", "rbl_zone")


def delayed(events: Events) -> pd.DataFrame:
    r"""4xx rejects followed by the acceptance of the same sender -> recipient (delays).

    Columns: ``sender``, ``recipient``, ``client_ip``, ``layer``, ``restriction`` (of the
    first 4xx), ``first_reject``, ``accepted_at``, ``delay_s``, ``rejects`` (4xx lines
    before the acceptance), ``same_client`` (the accepted message came from the same IP).

    Args:
        events: Events or built sessions.

    Returns:
        One row per delayed (message, recipient).

    Example:
        >>> ev = events_from_text(
        ...     "Nov  3 10:00:00 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example"
        ...     "[192.0.2.1]: 450 4.7.1 <b@example.com>: Recipient address rejected: Greylisted; "
        ...     "from=<a@a.example> to=<b@example.com> proto=ESMTP helo=<a.example>\n"
        ...     "Nov  3 10:10:00 mx1 postfix/qmgr[9]: 4F2A1: from=<a@a.example>, size=900, "
        ...     "nrcpt=1 (queue active)\n"
        ...     "Nov  3 10:10:01 mx1 postfix/local[10]: 4F2A1: to=<b@example.com>, relay=local, "
        ...     "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)\n")
        >>> delayed(ev)[["layer", "restriction", "delay_s"]].values.tolist()
        [['greylist', 'check_policy_service', 600.0]]

    """
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    cols = [
        "sender",
        "recipient",
        "client_ip",
        "layer",
        "restriction",
        "first_reject",
        "accepted_at",
        "delay_s",
        "rejects",
        "same_client",
    ]
    rej = kernels.reject_table(s)
    code = rej["smtp_code"].to_numpy(dtype="float64")
    rows = np.flatnonzero(
        (code >= 400)
        & (code < 500)
        & rej["sender"].notna().to_numpy()
        & rej["recipient"].notna().to_numpy()
    )
    acc = s.deliveries.dropna(subset=["sender", "recipient", "msg_ts"])
    if not len(rows) or not len(acc):
        return _empty(cols)
    temp = rej[["ts", "sender", "recipient", "client_ip", "layer"]].iloc[rows]
    acc_key, temp_key = _sender_recipient_keys(acc, temp)
    # an acceptance counts once per (sender, recipient) and queue id; only acceptances of
    # pairs that got a 4xx can match
    wanted = np.flatnonzero(np.isin(acc_key, temp_key))
    queue = np.full(len(acc), -1, dtype=np.int64)
    queue[wanted] = kernels.codes(acc["queue_id"].iloc[wanted])[0]
    keep = np.zeros(len(acc), dtype=bool)
    keep[wanted] = (
        ~pd.Series(acc_key[wanted] * (int(queue.max(initial=0)) + 2) + queue[wanted] + 1)
        .duplicated()
        .to_numpy()
    )
    right = pd.DataFrame(
        {
            "key": acc_key[keep],
            "ts": acc["msg_ts"].array[keep],
            "acc": np.flatnonzero(keep),
        }
    ).sort_values("ts", kind="stable")
    left = pd.DataFrame({"key": temp_key, "ts": temp["ts"].array, "row": np.arange(len(rows))})
    m = pd.merge_asof(
        left.sort_values("ts", kind="stable"),
        right,
        on="ts",
        by="key",
        direction="forward",
        tolerance=pd.Timedelta(days=7),
        allow_exact_matches=False,
    ).dropna(subset=["acc"])
    if not len(m):
        return _empty(cols)
    # one row per (sender, recipient, queue id): the first 4xx (rows are in (ts, seq) order)
    row = m["row"].to_numpy(dtype=np.int64)
    at = m["acc"].to_numpy(dtype=np.int64)
    pair = pd.factorize(temp_key[row] * (int(queue.max(initial=0)) + 2) + queue[at] + 1)[0]
    order = np.argsort(row, kind="stable")  # back to row order
    row, at, pair = row[order], at[order], pair[order]
    count = int(pair.max()) + 1
    first = kernels.first_in_group(pair, count)
    firsts = rows[row[first]]
    groups, names = kernels.reject_groups(s)
    out = pd.DataFrame(
        {
            "sender": pd.Series(rej["sender"].array.take(firsts), dtype="object"),
            "recipient": pd.Series(rej["recipient"].array.take(firsts), dtype="object"),
            "client_ip": pd.Series(rej["client_ip"].array.take(firsts), dtype="object"),
            "layer": pd.Series(rej["layer"].array.take(firsts), dtype="object"),
            "restriction": pd.Series(
                names["label"].to_numpy(dtype=object)[groups[firsts]], dtype="object"
            ),
            "first_reject": rej["ts"].array.take(firsts),
            "accepted_at": acc["msg_ts"].array.take(at[first]),
            "rejects": np.bincount(pair, minlength=count),
        }
    )
    acc_ip = pd.Series(acc["client_ip"].array.take(at[first]), dtype="object")
    out["same_client"] = out["client_ip"] == acc_ip
    out["delay_s"] = (out["accepted_at"] - out["first_reject"]).dt.total_seconds()
    return out.sort_values(["first_reject", "sender", "recipient"], kind="stable")[
        cols
    ].reset_index(drop=True)


def delayed_summary(events: Events, delays: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per restriction: legitimate mail delayed by 4xx rejects, and 4xx never followed up.

    Columns: ``layer``, ``restriction``, ``delayed`` (accepted later), ``senders``
    (distinct delayed senders), ``median_delay_s``, ``p90_delay_s``, ``max_delay_s``,
    ``temporary_rejects`` (all 4xx lines of that restriction), ``never_accepted`` (4xx
    lines with no later acceptance of that sender and recipient).

    Args:
        events: Events or built sessions.
        delays: The output of :func:`delayed`, if already computed.

    Returns:
        One row per restriction with 4xx rejects.

    Example:
        >>> delayed_summary(events_from_text("")).empty
        True

    """
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    d = delayed(s) if delays is None else delays
    rej = kernels.reject_table(s)
    code = rej["smtp_code"].to_numpy(dtype="float64")
    rows = np.flatnonzero((code >= 400) & (code < 500))
    cols = [
        "layer",
        "restriction",
        "delayed",
        "senders",
        "median_delay_s",
        "p90_delay_s",
        "max_delay_s",
        "temporary_rejects",
        "never_accepted",
    ]
    if not len(rows):
        return _empty(cols)
    groups, names = kernels.reject_groups(s)
    group = groups[rows]
    count = len(names)
    if len(d):
        temp_key, done = _sender_recipient_keys(rej[["sender", "recipient"]].iloc[rows], d)
        matched = np.isin(temp_key, done)
    else:
        matched = np.zeros(len(rows), dtype=bool)
    index = pd.MultiIndex.from_arrays(
        [names["layer"].to_numpy(dtype=object), names["label"].to_numpy(dtype=object)],
        names=["layer", "label"],
    )
    counts = pd.DataFrame(
        {
            "temporary_rejects": np.bincount(group, minlength=count),
            "never_accepted": np.bincount(group[~matched], minlength=count),
        },
        index=index,
    )
    base = counts.loc[counts["temporary_rejects"] > 0, ["temporary_rejects"]].sort_index()
    if len(d):
        dd = d.assign(layer=d["layer"].fillna("other")).groupby(["layer", "restriction"])
        base["delayed"] = dd.size()
        base["senders"] = dd["sender"].nunique()
        base["median_delay_s"] = dd["delay_s"].median()
        base["p90_delay_s"] = dd["delay_s"].quantile(0.9)
        base["max_delay_s"] = dd["delay_s"].max()
    else:
        for col in ("delayed", "senders", "median_delay_s", "p90_delay_s", "max_delay_s"):
            base[col] = float("nan")
    base["never_accepted"] = counts["never_accepted"]
    base[["delayed", "senders"]] = base[["delayed", "senders"]].fillna(0).astype("int64")
    base = base.reset_index().rename(columns={"label": "restriction"})
    return base.sort_values(["delayed", "temporary_rejects"], ascending=False, kind="stable")[
        cols
    ].reset_index(drop=True)


def greylisting(events: Events) -> pd.DataFrame:
    """Greylisting outcome per triplet (client /24 or /64, sender, recipient).

    Uses postgrey ``action=greylist`` lines when there are any, else smtpd rejects of the
    greylist layer. Columns: ``client_net``, ``client_ip`` (first seen), ``sender``,
    ``recipient``, ``first_greylisted``, ``greylisted`` (times), ``passed_at``, ``delay_s``,
    ``delay_source`` (``postgrey delay=`` or ``timestamps``), ``outcome`` (``passed``,
    ``retried, not passed``, ``never came back``).

    Args:
        events: Events or built sessions.

    Returns:
        One row per greylisted triplet.

    Example:
        >>> greylisting(events_from_text("")).empty
        True

    """
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    ev = s.events
    cols = [
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
    ]
    ps = kernels.kind_rows(s, "greylist")
    action = ev["action"].iloc[ps]
    grey = ps[kernels.mask(action == "greylist")]
    if not len(grey):
        rej = kernels.kind_rows(s, "reject")
        grey = rej[kernels.mask(ev["layer"].iloc[rej] == "greylist")]
    if not len(grey):
        return _empty(cols)
    passes = ps[kernels.mask(action == "pass")]
    rows = np.concatenate([grey, passes])  # the triplets' lines, greylistings first
    key, net = _triplet_keys(ev, rows, kernels.ip_codes(s))
    # triplets in order of their first greylisting (events are in time order)
    found, distinct = pd.factorize(key[: len(grey)])
    found = found.astype(np.int64)
    count = len(distinct)
    triplet_of_key = np.full(int(key.max()) + 1, -1, dtype=np.int64)
    triplet_of_key[distinct] = np.arange(count)

    def first_valid(values: np.ndarray) -> np.ndarray:
        return kernels.first_in_group(np.where(values, found, -1), count)

    first = kernels.first_in_group(found, count)
    ts = ev["ts"].iloc[rows].reset_index(drop=True)
    ip = kernels.take(ev["client_ip"], grey)
    sender = kernels.take(ev["sender"], grey[first]).astype("object").fillna("")
    recipient = kernels.take(ev["recipient"], grey[first]).astype("object").fillna("")
    table = pd.DataFrame(
        {
            "client_net": pd.Series(
                _take(net[: len(grey)], first_valid(~_isna(net[: len(grey)]))), dtype="object"
            ),
            "client_ip": pd.Series(
                _take(ip.array, first_valid(ip.notna().to_numpy())), dtype="object"
            ),
            "sender": pd.Series(sender.to_numpy(dtype=object), dtype="object"),
            "recipient": pd.Series(recipient.to_numpy(dtype=object), dtype="object"),
            "greylisted": np.bincount(found, minlength=count),
        }
    )
    table.insert(4, "first_greylisted", ts.iloc[: len(grey)].groupby(found).min().array)
    # the first postgrey pass of the triplet after its first greylisting
    pass_of = triplet_of_key[key[len(grey) :]]
    pass_ts = ts.iloc[len(grey) :].reset_index(drop=True)
    since = table["first_greylisted"]
    later = (pass_of >= 0) & pass_ts.notna().to_numpy()
    later[later] = since.notna().to_numpy()[pass_of[later]]
    later[later] = pass_ts.array.asi8[later] > since.array.asi8[pass_of[later]]
    first_pass = kernels.first_in_group(np.where(later, pass_of, -1), count)
    has_pass = first_pass >= 0
    table["passed_at"] = pass_ts.array.take(np.where(has_pass, first_pass, -1), allow_fill=True)
    delay = np.append(ev["delay"].iloc[passes].to_numpy(dtype="float64"), np.nan)
    table["pg_delay"] = delay[first_pass]  # -1: the NaN at the end
    # without postgrey pass lines: an accepted message with the same sender and recipient
    acc = s.deliveries.dropna(subset=["msg_ts"])
    if len(acc):
        todo = np.flatnonzero(table["passed_at"].isna().to_numpy())
        if len(todo):
            acc_key, todo_key = _sender_recipient_keys(
                acc, table[["sender", "recipient"]].iloc[todo]
            )
            # the first acceptance strictly after the first greylisting
            left = pd.DataFrame(
                {"k": todo_key, "ts": table["first_greylisted"].array[todo], "row": todo}
            ).sort_values("ts", kind="stable")
            right = pd.DataFrame(
                {"k": acc_key, "ts": acc["msg_ts"].array, "acc_ts": acc["msg_ts"].array}
            ).sort_values("ts", kind="stable")
            m = pd.merge_asof(
                left, right, on="ts", by="k", direction="forward", allow_exact_matches=False
            ).dropna(subset=["acc_ts"])
            if len(m):
                fills = pd.Series(m["acc_ts"].array, index=m["row"].to_numpy())
                table.loc[fills.index, "passed_at"] = fills
    table["delay_s"] = (table["passed_at"] - table["first_greylisted"]).dt.total_seconds()
    has_pg = table["pg_delay"].notna()
    table.loc[has_pg, "delay_s"] = table.loc[has_pg, "pg_delay"]
    table["delay_source"] = None
    table.loc[table["delay_s"].notna(), "delay_source"] = "timestamps"
    table.loc[has_pg, "delay_source"] = "postgrey delay="
    outcome = pd.Series("never came back", index=table.index, dtype="object")
    outcome[table["greylisted"] > 1] = "retried, not passed"
    outcome[table["passed_at"].notna()] = "passed"
    table["outcome"] = outcome
    return table.sort_values("first_greylisted", kind="stable").reset_index(drop=True)[cols]


def _triplet_keys(
    ev: pd.DataFrame, rows: np.ndarray, ip_codes: tuple[np.ndarray, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A code per (client network, sender, recipient) of the events at ``rows``, and networks.

    Missing senders and recipients are the empty string; a missing network is one with the
    empty string too (as ``fillna("")`` makes them). ``ip_codes`` (codes of every event's
    client IP and the distinct IPs, as :func:`~mailreject.kernels.ip_codes`) saves hashing
    the addresses again.

    Returns:
        The triplet codes and the network of each row (object, NaN when the address is).

    """
    import numpy as np
    import pandas as pd

    if ip_codes is None:
        ip, ips = kernels.codes(kernels.take(ev["client_ip"], rows))
    else:  # the addresses of these rows, numbered densely
        found, every = ip_codes
        found = found[rows]
        present = np.flatnonzero(np.bincount(found[found >= 0], minlength=len(every)))
        dense = np.full(len(every) + 1, -1, dtype=np.int64)  # the last entry: code -1
        dense[present] = np.arange(len(present))
        ip, ips = dense[found], np.asarray(every.take(present), dtype=object)
    nets = np.append(_nets(pd.Series(ips, dtype="object"), 24, 64).to_numpy(dtype=object), np.nan)
    net = nets[ip]  # code -1: the NaN at the end
    net_code = pd.factorize(pd.Series(nets, dtype="object").fillna(""))[0][ip]
    key = net_code.astype(np.int64)
    for column in ("sender", "recipient"):
        found, uniques = _filled_codes(kernels.take(ev[column], rows))
        key = pd.factorize(key * (len(uniques) + 1) + found)[0].astype(np.int64)
    return key, net


def _filled_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~mailreject.kernels.codes` of ``values.fillna("")``: missing is the empty string."""
    import numpy as np

    found, uniques = kernels.codes(values)
    missing = found < 0
    if missing.any():
        empty = np.flatnonzero(uniques == "")
        if not len(empty):
            uniques = np.append(uniques, "")
            empty = np.array([len(uniques) - 1])
        found = np.where(missing, empty[0], found)
    return found, uniques


def _sender_recipient_keys(
    accepted: pd.DataFrame, wanted: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """One integer per (sender, recipient) pair of two tables (missing: the empty string).

    Returns:
        The keys of ``accepted`` and of ``wanted``: equal keys, equal pairs.

    """
    import numpy as np
    import pandas as pd

    key = np.zeros(len(accepted) + len(wanted), dtype=np.int64)
    for column in ("sender", "recipient"):
        values = accepted[column]
        # in the accepted column's dtype: Arrow strings are hashed without boxing them
        both = pd.concat([values, wanted[column].astype(values.dtype)], ignore_index=True)
        found, uniques = _filled_codes(both)
        key = key * (len(uniques) + 1) + found
    key = pd.factorize(key)[0].astype(np.int64)
    return key[: len(accepted)], key[len(accepted) :]


def _isna(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    missing: np.ndarray = pd.isna(values)
    return missing


def _take(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]``, NaN where ``at`` is -1."""
    import numpy as np

    out = np.full(len(at), np.nan, dtype=object)
    out[at >= 0] = values[at[at >= 0]]
    return out


def greylist_summary(triplets: pd.DataFrame) -> dict[str, Any]:
    """Outcome counts and delay percentiles of :func:`greylisting`'s table.

    Example:
        >>> greylist_summary(greylisting(events_from_text("")))["triplets"]
        0

    """
    n = len(triplets)
    out: dict[str, Any] = {
        "triplets": n,
        "passed": 0,
        "retried_not_passed": 0,
        "never_came_back": 0,
    }
    if not n:
        out.update(median_delay_s=None, p90_delay_s=None, passed_with_postgrey_delay=0)
        return out
    counts = triplets["outcome"].value_counts()
    out["passed"] = int(counts.get("passed", 0))
    out["retried_not_passed"] = int(counts.get("retried, not passed", 0))
    out["never_came_back"] = int(counts.get("never came back", 0))
    delays = triplets["delay_s"].dropna().astype(float)
    out["median_delay_s"] = float(delays.median()) if len(delays) else None
    out["p90_delay_s"] = float(delays.quantile(0.9)) if len(delays) else None
    out["passed_with_postgrey_delay"] = int((triplets["delay_source"] == "postgrey delay=").sum())
    return out


def false_positives(events: Events) -> pd.DataFrame:
    """Clients with a permanent (5xx) reject that also had mail accepted in the period.

    Columns: ``client_ip``, ``client_name``, ``rejects`` (5xx lines), ``restrictions``
    (labels, most frequent first), ``layers``, ``senders`` (distinct rejected senders),
    ``first_reject``, ``last_reject``, ``accepted_messages``, ``example`` (one reply text).

    Args:
        events: Events or built sessions.

    Returns:
        One row per client, most rejects first.

    Example:
        >>> false_positives(events_from_text("")).empty
        True

    """
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    cols = [
        "client_ip",
        "client_name",
        "rejects",
        "restrictions",
        "layers",
        "senders",
        "first_reject",
        "last_reject",
        "accepted_messages",
        "example",
    ]
    rej = kernels.reject_table(s)
    found = kernels.reject_values(s)["client"]
    code = rej["smtp_code"].to_numpy(dtype="float64")
    rows = np.flatnonzero((code >= 500) & (found >= 0))
    # clients with accepted mail: tested once per distinct address
    senders = s.messages["client_ip"]
    good = senders.loc[senders.notna()].value_counts()
    ips = kernels.ip_codes(s)[1]
    present = np.flatnonzero(np.bincount(found[rows], minlength=len(ips)))
    is_good = np.zeros(len(ips) + 1, dtype=bool)
    is_good[present] = pd.Series(ips.take(present)).isin(good.index).to_numpy()
    rows = rows[is_good[found[rows]]]
    if not len(rows):
        return _empty(cols)
    group, _ = pd.factorize(found[rows])  # clients in order of first appearance
    group = group.astype(np.int64)
    count = int(group.max()) + 1
    perm = rej[["client_ip", "client_name", "sender", "ts", "detail", "layer"]].iloc[rows]
    first = kernels.first_in_group(group, count)
    clients = perm["client_ip"].iloc[first]
    labels = pd.Series(
        kernels.reject_groups(s)[1]["label"].to_numpy(dtype=object)[
            kernels.reject_groups(s)[0][rows]
        ]
    )
    by_ts = perm["ts"].reset_index(drop=True).groupby(group)
    has_detail = perm["detail"].notna().to_numpy()
    out = pd.DataFrame(
        {
            "client_name": [
                _most_common_named(v)
                for v in kernels.values_per_group(group, perm["client_name"], count, by_count=True)
            ],
            "rejects": np.bincount(group, minlength=count),
            "restrictions": [
                ", ".join(v) for v in kernels.values_per_group(group, labels, count, by_count=True)
            ],
            "layers": [
                ", ".join(v)
                for v in kernels.values_per_group(group, perm["layer"], count, by_count=False)
            ],
            "senders": kernels.group_nunique(group, kernels.codes(perm["sender"])[0], count),
            "first_reject": by_ts.min().array,
            "last_reject": by_ts.max().array,
            "example": perm["detail"].array.take(
                kernels.first_in_group(np.where(has_detail, group, -1), count), allow_fill=True
            ),
        },
        index=pd.Index(clients.array, name="client_ip"),
    )
    for col in ("client_name", "restrictions", "layers"):
        out[col] = out[col].astype("object")
    out["accepted_messages"] = good.reindex(out.index).astype("int64")
    return (
        out.reset_index()
        .sort_values(["rejects", "client_ip"], ascending=[False, True], kind="stable")[cols]
        .reset_index(drop=True)
    )


def _most_common_named(by_count: list[Any]) -> Any:
    """:func:`~mailreject.frames._most_common_of` of values already in ``_by_count`` order."""
    named = [v for v in by_count if v != "unknown"]
    return (named or by_count or [None])[0]
