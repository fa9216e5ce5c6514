"""Cost to legitimate mail: delays from 4xx rejects, greylisting, possible false positives.

Functions take events or built :class:`~mailreject.sessions.Sessions`; they are re-exported
by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailreject.frames import (
    Events,
    _by_count,
    _empty,
    _label,
    _labelled,
    _most_common_of,
    _nets,
    _pair_keys,
    _per_group,
    _rejects,
    _sessions,
    events_from_text,  # noqa: F401  (used by the doctests)
)
from mailreject.kernels import codes, first_in_group, kind_rows, mask

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
    rej = _rejects(s)
    temp = rej.loc[
        (rej["smtp_code"] >= 400)
        & (rej["smtp_code"] < 500)
        & rej["sender"].notna()
        & rej["recipient"].notna(),
        ["ts", "seq", "sender", "recipient", "client_ip", *_LABEL_COLUMNS],
    ]
    acc = s.deliveries.dropna(subset=["sender", "recipient", "msg_ts"])
    if not len(temp) or not len(acc):
        return _empty(cols)
    left = temp[
        [
            "ts",
            "seq",
            "sender",
            "recipient",
            "client_ip",
            "layer",
            "restriction",
            "rule",
            "rbl_zone",
        ]
    ].copy()
    left["label"] = _label(temp)
    right = acc[["msg_ts", "queue_id", "sender", "recipient", "client_ip"]].copy()
    left["key"], right["key"] = _pair_keys(
        [left["sender"], right["sender"]], [left["recipient"], right["recipient"]]
    )
    right = right.rename(columns={"client_ip": "acc_ip"}).drop(columns=["sender", "recipient"])
    right = (
        right.drop_duplicates(["key", "queue_id"])
        .assign(ts=lambda f: f["msg_ts"])
        .sort_values("ts", kind="stable")
    )
    left = left.sort_values("ts", kind="stable")
    m = pd.merge_asof(
        left,
        right,
        on="ts",
        by="key",
        direction="forward",
        tolerance=pd.Timedelta(days=7),
        allow_exact_matches=False,
    )
    m = m.dropna(subset=["msg_ts"]).sort_values(["key", "queue_id", "ts", "seq"], kind="stable")
    if not len(m):
        return _empty(cols)
    g = m.groupby(["key", "queue_id"], sort=False)
    first = g.head(1).set_index(["key", "queue_id"])
    out = pd.DataFrame(
        {
            "sender": first["sender"].astype("object"),
            "recipient": first["recipient"].astype("object"),
            "client_ip": first["client_ip"].astype("object"),
            "layer": first["layer"].astype("object"),
            "restriction": first["label"],
            "first_reject": first["ts"],
            "accepted_at": first["msg_ts"],
            "rejects": g.size(),
            "same_client": (
                first["client_ip"].astype("object") == first["acc_ip"].astype("object")
            ),
        }
    )
    out["delay_s"] = (out["accepted_at"] - out["first_reject"]).dt.total_seconds()
    return (
        out.reset_index(drop=True)
        .sort_values(["first_reject", "sender", "recipient"], kind="stable")[cols]
        .reset_index(drop=True)
    )


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
    rej = _rejects(s)
    temp = rej.loc[
        (rej["smtp_code"] >= 400) & (rej["smtp_code"] < 500),
        ["sender", "recipient", *_LABEL_COLUMNS],
    ]
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
    if not len(temp):
        return _empty(cols)
    temp = _labelled(temp)
    base = temp.groupby(["layer", "label"]).size().rename("temporary_rejects").to_frame()
    if len(d):
        key, done = _pair_keys(
            [temp["sender"].astype("object").fillna(""), d["sender"]],
            [temp["recipient"].astype("object").fillna(""), d["recipient"]],
        )
        matched = pd.Series(np.isin(key, done), index=temp.index)
        dd = d.assign(layer=d["layer"].fillna("other")).groupby(["layer", "restriction"])
        base["delayed"] = dd.size()
        base["senders"] = dd["sender"].nunique()
        base["median_delay_s"] = dd["delay_s"].median()
        base["p90_delay_s"] = dd["delay_s"].quantile(0.9)
        base["max_delay_s"] = dd["delay_s"].max()
    else:
        matched = pd.Series(False, index=temp.index)
        for col in ("delayed", "senders", "median_delay_s", "p90_delay_s", "max_delay_s"):
            base[col] = float("nan")
    base["never_accepted"] = (~matched).groupby([temp["layer"], temp["label"]]).sum()
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
    ps = kind_rows(s, "greylist")
    action = ev["action"].iloc[ps]
    grey = ps[mask(action == "greylist")]
    if not len(grey):
        rej = kind_rows(s, "reject")
        grey = rej[mask(ev["layer"].iloc[rej] == "greylist")]
    if not len(grey):
        return _empty(cols)
    passes = ps[mask(action == "pass")]
    rows = np.concatenate([grey, passes])  # the triplets' lines, greylistings first
    key, net = _triplet_keys(ev, rows)
    # triplets in order of their first greylisting (events are in time order)
    found, distinct = pd.factorize(key[: len(grey)])
    found = found.astype(np.int64)
    count = len(distinct)
    triplet_of_key = np.full(int(key.max()) + 1, -1, dtype=np.int64)
    triplet_of_key[distinct] = np.arange(count)

    def first_valid(values: np.ndarray) -> np.ndarray:
        return first_in_group(np.where(values, found, -1), count)

    first = first_in_group(found, count)
    ts = ev["ts"].iloc[rows].reset_index(drop=True)
    ip = ev["client_ip"].iloc[grey]
    sender = ev["sender"].iloc[grey[first]].astype("object").fillna("")
    recipient = ev["recipient"].iloc[grey[first]].astype("object").fillna("")
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
    first_pass = first_in_group(np.where(later, pass_of, -1), count)
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


def _triplet_keys(ev: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A code per (client network, sender, recipient) of the events at ``rows``, and networks.

    Missing senders and recipients are the empty string; a missing network is one with the
    empty string too (as ``fillna("")`` makes them).

    Returns:
        The triplet codes and the network of each row (object, NaN when the address is).

    """
    import numpy as np
    import pandas as pd

    ip, ips = codes(ev["client_ip"].iloc[rows])
    nets = np.append(_nets(pd.Series(ips, dtype="object"), 24, 64).to_numpy(dtype=object), np.nan)
    net = nets[ip]  # code -1: the NaN at the end
    net_code = pd.factorize(pd.Series(nets, dtype="object").fillna(""))[0][ip]
    key = net_code.astype(np.int64)
    for column in ("sender", "recipient"):
        found, uniques = _filled_codes(ev[column].iloc[rows])
        key = pd.factorize(key * (len(uniques) + 1) + found)[0].astype(np.int64)
    return key, net


def _filled_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~mailreject.kernels.codes` of ``values.fillna("")``: missing is the empty string."""
    import numpy as np

    found, uniques = codes(values)
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
        The keys of ``accepted`` and of ``wanted``; -1 for pairs ``accepted`` does not have.

    """
    import numpy as np
    import pandas as pd

    keys = []
    for column in ("sender", "recipient"):
        found, uniques = _filled_codes(accepted[column])
        there = pd.Index(uniques).get_indexer(wanted[column].astype("object").fillna(""))
        keys.append((found, there, len(uniques)))
    (s_acc, s_want, _), (r_acc, r_want, width) = keys
    acc_key = s_acc.astype(np.int64) * width + r_acc
    want_key = np.where((s_want >= 0) & (r_want >= 0), s_want.astype(np.int64) * width + r_want, -1)
    return acc_key, want_key


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
    rej = _rejects(s)
    perm = rej.loc[
        (rej["smtp_code"] >= 500) & rej["client_ip"].notna(),
        ["client_ip", "client_name", "sender", "ts", "detail", *_LABEL_COLUMNS],
    ].copy()
    good = s.messages.dropna(subset=["client_ip"]).groupby("client_ip").size()
    perm = perm.loc[perm["client_ip"].isin(good.index)]
    if not len(perm):
        return _empty(cols)
    perm["label"] = _label(perm)
    g = perm.groupby("client_ip", sort=False)
    out = pd.DataFrame(
        {
            "client_name": _per_group(perm["client_ip"], perm["client_name"], _most_common_of),
            "rejects": g.size(),
            "restrictions": _per_group(
                perm["client_ip"], perm["label"], lambda v: ", ".join(_by_count(v))
            ),
            "layers": _per_group(
                perm["client_ip"], perm["layer"], lambda v: ", ".join(dict.fromkeys(v))
            ),
            "senders": g["sender"].nunique(),
            "first_reject": g["ts"].min(),
            "last_reject": g["ts"].max(),
            "example": g["detail"].first(),
        }
    )
    out["accepted_messages"] = good.reindex(out.index).astype("int64")
    out.index.name = "client_ip"
    return (
        out.reset_index()
        .sort_values(["rejects", "client_ip"], ascending=[False, True], kind="stable")[cols]
        .reset_index(drop=True)
    )
