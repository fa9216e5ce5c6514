"""Who and what: top offenders, DNSBL zones, SPF, postscreen verdicts, reject_warning.

Functions take events or built :class:`~mailreject.sessions.Sessions`; they are re-exported
by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailreject.frames import (
    UNKNOWN_USER_RESTRICTIONS,
    Events,
    _by_count,
    _empty,
    _labelled,
    _most_common,
    _nets,
    _rejects,
    _sessions,
    events_from_text,  # noqa: F401  (used by the doctests)
)
from mailreject.sessions import _endswith

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mailreject.sessions import Sessions


def _top(frame: pd.DataFrame, key: pd.Series, name: str, n: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = [name, "rejects", "clients", "connections", "layers", "first_seen", "last_seen"]
    codes, uniques = pd.factorize(key)  # missing: -1
    if not len(uniques):
        return _empty(cols)
    counts = pd.DataFrame(
        {
            "_key": np.asarray(uniques, dtype=object),
            "rejects": np.bincount(codes[codes >= 0], minlength=len(uniques)),
            "_code": np.arange(len(uniques)),
        }
    )
    counts = counts.sort_values(["rejects", "_key"], ascending=[False, True], kind="stable").head(n)
    # only the rows of the top keys are looked at again
    rows = np.flatnonzero(np.isin(codes, counts["_code"].to_numpy()))
    frame = frame[["client_ip", "conn", "layer", "ts"]].iloc[rows]
    frame = frame.assign(_key=np.asarray(uniques, dtype=object)[codes[rows]])
    g = frame.groupby("_key", sort=False)
    out = pd.DataFrame(
        {
            "rejects": g.size(),
            "clients": g["client_ip"].nunique(),
            "connections": frame.loc[frame["conn"] >= 0].groupby("_key")["conn"].nunique(),
            "layers": g["layer"].agg(lambda x: ", ".join(_by_count(x.dropna().tolist()))),
            "first_seen": g["ts"].min(),
            "last_seen": g["ts"].max(),
        }
    ).reindex(counts["_key"])
    out["connections"] = out["connections"].fillna(0).astype("int64")
    out.index.name = name
    return out.reset_index()[cols]


def top_clients(events: Events, n: int = 20) -> pd.DataFrame:
    """Client IPs with the most rejects.

    Columns: ``client_ip``, ``client_name`` (most frequent name), ``rejects``,
    ``clients`` (1), ``connections``, ``layers``, ``first_seen``, ``last_seen``,
    ``accepted_messages``.

    Example:
        >>> top_clients(events_from_text("")).empty
        True

    """
    s = _sessions(events)
    rej = _rejects(s)
    out = _top(rej, rej["client_ip"], "client_ip", n)
    if len(out):
        names = (
            rej.loc[rej["client_ip"].isin(out["client_ip"])]
            .groupby("client_ip")["client_name"]
            .agg(_most_common)
        )
        out.insert(1, "client_name", out["client_ip"].map(names))
        good = s.messages.dropna(subset=["client_ip"]).groupby("client_ip").size()
        out["accepted_messages"] = out["client_ip"].map(good).fillna(0).astype("int64")
    else:
        out.insert(1, "client_name", [])
        out["accepted_messages"] = []
    return out


def top_networks(events: Events, n: int = 20) -> pd.DataFrame:
    """/24 (IPv4) and /48 (IPv6) networks with the most rejects.

    Example:
        >>> list(top_networks(events_from_text("")).columns)[:2]
        ['network', 'rejects']

    """
    s = _sessions(events)
    rej = _rejects(s)
    return _top(rej, _nets(rej["client_ip"], 24, 48), "network", n)


def top_names(events: Events, n: int = 20) -> pd.DataFrame:
    """Client reverse names with the most rejects (``unknown`` included).

    Example:
        >>> list(top_names(events_from_text("")).columns)
        ['client_name', 'rejects', 'clients', 'connections', 'layers', 'first_seen', 'last_seen']

    """
    rej = _rejects(_sessions(events))
    return _top(rej, rej["client_name"], "client_name", n)


def top_helos(events: Events, n: int = 20) -> pd.DataFrame:
    r"""HELO names with the most rejects.

    Example:
        >>> ev = events_from_text(
        ...     "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example"
        ...     "[192.0.2.1]: 554 5.7.1 <x@y.example>: Relay access denied; from=<s@a.example> "
        ...     "to=<x@y.example> proto=ESMTP helo=<a.example>\n")
        >>> top_helos(ev)[["helo", "rejects", "clients"]].values.tolist()
        [['a.example', 1, 1]]

    """
    rej = _rejects(_sessions(events))
    return _top(rej, rej["helo"], "helo", n)


def top_sender_domains(events: Events, n: int = 20) -> pd.DataFrame:
    r"""Sender domains with the most rejects (``<>`` for the null sender).

    Example:
        >>> ev = events_from_text(
        ...     "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example"
        ...     "[192.0.2.1]: 550 5.1.1 <x@example.com>: Recipient address rejected: User unknown; "
        ...     "from=<> to=<x@example.com> proto=ESMTP helo=<a.example>\n")
        >>> top_sender_domains(ev)[["sender_domain", "rejects"]].values.tolist()
        [['<>', 1]]

    """
    import numpy as np
    import pandas as pd

    rej = _rejects(_sessions(events))
    codes, uniques = pd.factorize(rej["sender"])
    domains = np.append(_domains(np.asarray(uniques, dtype=object)), np.nan)  # code -1: NaN
    return _top(rej, pd.Series(domains[codes], index=rej.index), "sender_domain", n)


def _domains(addresses: np.ndarray) -> np.ndarray:
    """``address.rpartition("@")[2].lower()`` of each address (``<>`` for the empty one).

    Done in Arrow for ASCII addresses, in Python for the others (whose lower case
    Python defines).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(addresses, type=pa.string())
    ascii_only = pc.string_is_ascii(values).to_numpy(zero_copy_only=False)
    lowered = pc.ascii_lower(pc.replace_substring_regex(values, r"^.*@", ""))
    out: np.ndarray = lowered.to_numpy(zero_copy_only=False).astype(object)
    for i in np.flatnonzero(~ascii_only):
        out[i] = addresses[i].rpartition("@")[2].lower()
    out[addresses == ""] = "<>"
    return out


def top_recipients(events: Events, n: int = 20) -> pd.DataFrame:
    """Rejected recipients (lower case): who is targeted.

    Example:
        >>> top_recipients(events_from_text("")).empty
        True

    """
    rej = _rejects(_sessions(events))
    return _top(rej, rej["recipient"].astype("object").str.lower(), "recipient", n)


def dictionary_attacks(events: Events, n: int = 20) -> pd.DataFrame:
    """Clients trying unknown recipients (``User unknown`` rejects), most addresses first.

    Columns: ``client_ip``, ``client_name``, ``unknown_recipients`` (distinct),
    ``rejects``, ``connections``, ``first_seen``, ``last_seen``.

    Example:
        >>> dictionary_attacks(events_from_text("")).empty
        True

    """
    import pandas as pd

    rej = _rejects(_sessions(events))
    cols = [
        "client_ip",
        "client_name",
        "unknown_recipients",
        "rejects",
        "connections",
        "first_seen",
        "last_seen",
    ]
    detail = rej["detail"].astype("object").fillna("")
    unk = rej.loc[
        (
            rej["restriction"].isin(UNKNOWN_USER_RESTRICTIONS)
            | detail.str.contains("User unknown", regex=False)
        )
        & rej["client_ip"].notna(),
        ["client_ip", "client_name", "recipient", "conn", "ts"],
    ]
    if not len(unk):
        return _empty(cols)
    ranked = (
        unk.assign(r=unk["recipient"].astype("object").str.lower())
        .groupby("client_ip")["r"]
        .nunique()
    )
    ranked_frame = ranked.rename_axis("client_ip").reset_index(name="n")
    keep = ranked_frame.sort_values(
        ["n", "client_ip"], ascending=[False, True], kind="stable"
    ).head(n)["client_ip"]
    unk = unk.loc[unk["client_ip"].isin(keep)]
    g = unk.groupby("client_ip", sort=False)
    out = pd.DataFrame(
        {
            "client_name": g["client_name"].agg(_most_common),
            "unknown_recipients": g["recipient"].agg(
                lambda r: r.astype("object").str.lower().nunique()
            ),
            "rejects": g.size(),
            "connections": g["conn"].agg(lambda c: c[c >= 0].nunique()),
            "first_seen": g["ts"].min(),
            "last_seen": g["ts"].max(),
        }
    )
    out.index.name = "client_ip"
    out = out.reset_index().sort_values(
        ["unknown_recipients", "rejects", "client_ip"],
        ascending=[False, False, True],
        kind="stable",
    )
    return out.head(n)[cols].reset_index(drop=True)


def is_allowlist(zone: str) -> bool:
    """Heuristic: zones that list good senders (dnswl, ...), not spam sources.

    Example:
        >>> is_allowlist("list.dnswl.org"), is_allowlist("zen.spamhaus.org")
        (True, False)

    """
    z = zone.lower()
    return any(word in z for word in ("dnswl", "whitelist", "allowlist", "swl.", "wl.mailspike"))


def _dnsbl_sets(s: Sessions) -> tuple[dict[str, set[str]], pd.DataFrame]:
    return s.cached("dnsbl_sets", _make_dnsbl_sets)


def _make_dnsbl_sets(s: Sessions) -> tuple[dict[str, set[str]], pd.DataFrame]:
    ev = s.events
    hits = ev.loc[
        ev["rbl_zone"].notna() & ev["client_ip"].notna() & ev["kind"].isin(["reject", "dnsbl"]),
        ["kind", "layer", "restriction", "rbl_zone", "client_ip", "program"],
    ].copy()
    hits["rbl_zone"] = hits["rbl_zone"].astype("object")
    hits["client_ip"] = hits["client_ip"].astype("object")
    hits["by_postscreen"] = _endswith(hits["program"], "postscreen")
    sets: dict[str, set[str]] = {
        str(zone): set(grp["client_ip"]) for zone, grp in hits.groupby("rbl_zone")
    }
    return sets, hits


def dnsbl_zones(events: Events) -> pd.DataFrame:
    """Hits per DNS list zone (smtpd rbl rejects and postscreen dnsblog listings).

    Columns: ``zone``, ``restriction`` (restrictions that named it), ``smtpd_rejects``,
    ``postscreen_rejects``, ``dnsblog_listings``, ``allowlist`` (the name looks like an allow
    list such as list.dnswl.org: its listings are not spam hits), ``clients`` (distinct client IPs),
    ``unique_clients`` (listed by no other zone and caught by no other layer or postscreen
    test), ``unique_share`` (unique clients / clients of all zones).

    Args:
        events: Events or built sessions.

    Returns:
        One row per zone, most clients first.

    Example:
        >>> dnsbl_zones(events_from_text("")).empty
        True

    """
    import pandas as pd

    s = _sessions(events)
    cols = [
        "zone",
        "restriction",
        "allowlist",
        "smtpd_rejects",
        "postscreen_rejects",
        "dnsblog_listings",
        "clients",
        "unique_clients",
        "unique_share",
    ]
    sets, hits = _dnsbl_sets(s)
    if not sets:
        return _empty(cols)
    ev = s.events
    action = ev["action"]
    other = ev.loc[
        (
            (ev["kind"] == "reject")
            & ev["rbl_zone"].isna()
            & (ev["layer"] != "rbl")
            & (ev["restriction"] != "postscreen_dnsbl_action")  # missing: not equal
        )
        | (
            (ev["kind"] == "postscreen")
            & action.notna()
            & ~action.isin(
                [
                    "",
                    "CONNECT",
                    "DISCONNECT",
                    "HANGUP",
                    "PASS NEW",
                    "PASS OLD",
                    "DNSBL",
                    "WHITELISTED",
                    "ALLOWLISTED",
                ]
            )
        ),
        "client_ip",
    ]
    caught_elsewhere = set(other.dropna().astype("object"))
    blocking = {zone: ips for zone, ips in sets.items() if not is_allowlist(zone)}
    union: set[str] = set().union(*blocking.values())
    rows = []
    zone_hits = hits.groupby("rbl_zone", sort=False)
    for zone, ips in sets.items():
        z = zone_hits.get_group(zone)
        others: set[str] = set().union(*(v for k, v in blocking.items() if k != zone))
        unique: set[str] = set() if is_allowlist(zone) else ips - others - caught_elsewhere
        smtpd = z.loc[(z["kind"] == "reject") & ~z["by_postscreen"]]
        names = z.loc[z["kind"] == "reject", "restriction"].dropna().unique().tolist()
        if (z["kind"] == "dnsbl").any():
            names.append("postscreen_dnsbl_sites")
        rows.append(
            {
                "zone": zone,
                "restriction": ", ".join(dict.fromkeys(names)),
                "allowlist": is_allowlist(zone),
                "smtpd_rejects": len(smtpd),
                "postscreen_rejects": int(
                    ((z["kind"] == "reject") & ~z.index.isin(smtpd.index)).sum()
                ),
                "dnsblog_listings": int((z["kind"] == "dnsbl").sum()),
                "clients": len(ips),
                "unique_clients": len(unique),
                "unique_share": len(unique) / len(union) if union else 0.0,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["clients", "zone"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def dnsbl_overlap(events: Events) -> pd.DataFrame:
    """Pairwise client-IP overlap between zones (diagonal included).

    Columns: ``zone_a``, ``zone_b``, ``clients_a``, ``clients_b``, ``both``, ``share_of_a``
    (both / clients_a), ``jaccard``.

    Example:
        >>> dnsbl_overlap(events_from_text("")).empty
        True

    """
    import pandas as pd

    s = _sessions(events)
    sets, _ = _dnsbl_sets(s)
    cols = ["zone_a", "zone_b", "clients_a", "clients_b", "both", "share_of_a", "jaccard"]
    zones = sorted(sets, key=lambda z: (-len(sets[z]), z))
    rows = []
    for a in zones:
        for b in zones:
            both = len(sets[a] & sets[b])
            either = len(sets[a] | sets[b])
            rows.append(
                {
                    "zone_a": a,
                    "zone_b": b,
                    "clients_a": len(sets[a]),
                    "clients_b": len(sets[b]),
                    "both": both,
                    "share_of_a": both / len(sets[a]) if sets[a] else 0.0,
                    "jaccard": both / either if either else 0.0,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def spf_results(events: Events) -> pd.DataFrame:
    """SPF results from policy daemon lines, and smtpd rejects by SPF result.

    Columns: ``result`` (lower case), ``checks`` (policy daemon lines), ``rejects``.

    Example:
        >>> spf_results(events_from_text("")).empty
        True

    """
    import pandas as pd

    ev = _sessions(events).events
    checks = ev.loc[ev["kind"] == "spf", "action"].astype("object").str.lower().value_counts()
    rej = (
        ev.loc[(ev["kind"] == "reject") & (ev["layer"] == "spf"), "action"]
        .astype("object")
        .fillna("(not named)")
        .str.lower()
        .value_counts()
    )
    keys = list(dict.fromkeys(list(checks.index) + list(rej.index)))
    out = pd.DataFrame({"result": keys})
    out["checks"] = out["result"].map(checks).fillna(0).astype("int64")
    out["rejects"] = out["result"].map(rej).fillna(0).astype("int64")
    return out.sort_values(
        ["checks", "rejects", "result"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


def postscreen_verdicts(events: Events) -> pd.DataFrame:
    """Postscreen sessions by verdict.

    Columns: ``verdict`` (PASS OLD, PASS NEW, rejected, HANGUP, DISCONNECT, ...),
    ``sessions``, ``share``, ``handed_to_smtpd``.

    Example:
        >>> postscreen_verdicts(events_from_text("")).empty
        True

    """
    import pandas as pd

    conns = _sessions(events).connections
    ps = conns.loc[conns["via_postscreen"]] if len(conns) else conns
    if not len(ps):
        return _empty(["verdict", "sessions", "share", "handed_to_smtpd"])
    g = ps.groupby("ps_verdict")
    out = pd.DataFrame({"sessions": g.size(), "handed_to_smtpd": g["smtpd"].sum().astype("int64")})
    out["share"] = out["sessions"] / len(ps)
    out.index.name = "verdict"
    out = out.reset_index().sort_values(
        ["sessions", "verdict"], ascending=[False, True], kind="stable"
    )
    return out[["verdict", "sessions", "share", "handed_to_smtpd"]].reset_index(drop=True)


def postscreen_actions(events: Events) -> pd.DataFrame:
    """Postscreen log lines by action (tests, verdicts), with distinct clients.

    Example:
        >>> postscreen_actions(events_from_text("")).empty
        True

    """
    import pandas as pd

    ev = _sessions(events).events
    ps = ev.loc[ev["kind"] == "postscreen", ["action", "restriction", "client_ip"]]
    if not len(ps):
        return _empty(["action", "restriction", "events", "clients"])
    clients = pd.factorize(ps["client_ip"])[0]  # integers count faster than strings
    ps = ps.assign(client=pd.Series(clients, index=ps.index).where(clients >= 0))
    g = ps.groupby(ps["action"].astype("object").fillna("?"))
    out = pd.DataFrame(
        {
            "restriction": g["restriction"].first(),
            "events": g.size(),
            "clients": g["client"].nunique(),
        }
    )
    out.index.name = "action"
    return (
        out.reset_index()
        .sort_values(["events", "action"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def reject_warnings(events: Events) -> pd.DataFrame:
    """What ``warn_if_reject`` restrictions would have blocked.

    Columns: ``layer``, ``restriction``, ``events``, ``clients``, ``connections``,
    ``clients_delivered`` (of those clients, how many had mail accepted in the period),
    ``recipients``.

    Example:
        >>> reject_warnings(events_from_text("")).empty
        True

    """
    import pandas as pd

    s = _sessions(events)
    ev = s.events
    w = ev.loc[
        ev["kind"] == "reject_warning",
        ["client_ip", "conn", "recipient", "layer", "restriction", "rule", "rbl_zone"],
    ]
    cols = [
        "layer",
        "restriction",
        "events",
        "clients",
        "connections",
        "clients_delivered",
        "recipients",
    ]
    if not len(w):
        return _empty(cols)
    w = _labelled(w)
    good = set(s.messages["client_ip"].dropna())
    g = w.groupby(["layer", "label"], sort=False)
    out = pd.DataFrame(
        {
            "events": g.size(),
            "clients": g["client_ip"].nunique(),
            "connections": g["conn"].agg(lambda c: c[c >= 0].nunique()),
            "clients_delivered": g["client_ip"].agg(lambda c: len(set(c.dropna()) & good)),
            "recipients": g["recipient"].nunique(),
        }
    )
    out = out.reset_index().rename(columns={"label": "restriction"})
    return out.sort_values(["events", "restriction"], ascending=[False, True], kind="stable")[
        cols
    ].reset_index(drop=True)


def samples(events: Events, per_restriction: int = 3) -> pd.DataFrame:
    """Up to ``per_restriction`` example rejects per (layer, restriction), oldest first.

    Columns: ``layer``, ``restriction``, ``ts``, ``client_name``, ``client_ip``, ``helo``,
    ``sender``, ``recipient``, ``smtp_code``, ``detail``, ``source``, ``line_no``.

    Example:
        >>> samples(events_from_text("")).empty
        True

    """
    rej = _labelled(_rejects(_sessions(events)))
    rej["restriction"] = rej["label"]
    cols = [
        "layer",
        "restriction",
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
    ]
    return (
        rej.groupby(["layer", "restriction"], sort=False)
        .head(per_restriction)[cols]
        .reset_index(drop=True)
    )
