"""Who and what: top offenders, DNSBL zones, SPF, postscreen verdicts, reject_warning.

Functions take events or built :class:`~mailreject.sessions.Sessions`; they are re-exported
by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailreject.frames import (
    UNKNOWN_USER_RESTRICTIONS,
    Events,
    _empty,
    _labelled,
    _most_common,
    _nets,
    _sessions,
    events_from_text,  # noqa: F401  (used by the doctests)
)
from mailreject.kernels import (
    codes,
    first_in_group,
    group_nunique,
    ip_codes,
    kind_rows,
    mask,
    positions,
    reject_groups,
    reject_table,
    reject_values,
    top_order,
    values_per_group,
)
from mailreject.sessions import _endswith

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import pandas as pd

    from mailreject.sessions import Sessions


def _top(s: Sessions, found: np.ndarray, names: Any, name: str, n: int) -> pd.DataFrame:
    """The ``n`` keys with the most rejects, ties by key, and what their rejects were.

    Args:
        s: Built sessions.
        found: Key code of each reject event (-1: no key).
        names: The key of each code (distinct strings, an array or Arrow-backed array).
        name: Name of the key column.
        n: Rows to keep.

    """
    import numpy as np
    import pandas as pd

    cols = [name, "rejects", "clients", "connections", "layers", "first_seen", "last_seen"]
    counts = np.bincount(found[found >= 0], minlength=len(names))
    if not counts.any():
        return _empty(cols)
    top = top_order(counts, names, n)
    top = top[counts[top] > 0]  # keys that occur (categories may list others)
    # only the rows of the top keys are looked at again
    place = np.full(len(names) + 1, -1, dtype=np.int64)  # the last entry: code -1
    place[top] = np.arange(len(top))
    group = place[found]
    rows = np.flatnonzero(group >= 0)
    group = group[rows]
    count = len(top)
    rej = reject_table(s)
    values = reject_values(s)
    ts = rej["ts"].iloc[rows].reset_index(drop=True).groupby(group)
    out = pd.DataFrame(
        {
            "rejects": counts[top],
            "clients": group_nunique(group, values["client"][rows], count),
            "connections": group_nunique(group, values["conn"][rows], count),
            "layers": _layers_by_count(group, rej["layer"].iloc[rows], count),
            "first_seen": ts.min().array,
            "last_seen": ts.max().array,
        },
        index=pd.Index(names[top].tolist(), name=name),
    )
    return out.reset_index()[cols]


def _layers_by_count(group: np.ndarray, layer: pd.Series, count: int) -> list[str]:
    """Per group, its layers most frequent first (ties: first seen), joined by ", "."""
    per_group = values_per_group(group, layer, count, by_count=True)
    return [", ".join(str(v) for v in values) for values in per_group]


def _reject_codes(s: Sessions, column: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~mailreject.kernels.codes` of a column of the reject events (cached)."""
    return s.cached(f"reject_codes.{column}", lambda s: codes(reject_table(s)[column]))


def _mapped(
    found: np.ndarray, names: Any, change: Callable[[Any], Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``change(value)`` of each value, computed once per distinct value.

    Values that ``change`` makes missing become code -1.
    """
    import numpy as np
    import pandas as pd

    changed = pd.Series(change(names), dtype="object")
    new, distinct = pd.factorize(changed)
    new = np.append(new, -1)  # code -1 stays -1
    return new[found], np.asarray(distinct, dtype=object)


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
    rej = reject_table(s)
    found, ips = ip_codes(s)
    out = _top(s, found[positions(s, rej)], ips, "client_ip", n)
    if len(out):
        mine = rej.loc[rej["client_ip"].isin(out["client_ip"]), ["client_ip", "client_name"]]
        names = mine.groupby("client_ip")["client_name"].agg(_most_common)
        out.insert(1, "client_name", out["client_ip"].map(names))
        senders = s.messages["client_ip"]
        good = senders.loc[senders.isin(out["client_ip"])].value_counts()
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
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    found, ips = ip_codes(s)
    found = found[positions(s, reject_table(s))]
    present = np.flatnonzero(np.bincount(found[found >= 0], minlength=len(ips)))
    keep = np.full(len(ips) + 1, -1, dtype=np.int64)  # networks of the addresses rejected
    keep[present] = np.arange(len(present))
    nets, names = _mapped(keep[found], ips[present], lambda a: _nets(pd.Series(a), 24, 48))
    return _top(s, nets, names, "network", n)


def top_names(events: Events, n: int = 20) -> pd.DataFrame:
    """Client reverse names with the most rejects (``unknown`` included).

    Example:
        >>> list(top_names(events_from_text("")).columns)
        ['client_name', 'rejects', 'clients', 'connections', 'layers', 'first_seen', 'last_seen']

    """
    s = _sessions(events)
    return _top(s, *_reject_codes(s, "client_name"), "client_name", n)


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
    s = _sessions(events)
    return _top(s, *_reject_codes(s, "helo"), "helo", n)


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
    s = _sessions(events)
    found, domains = _mapped(*_reject_codes(s, "sender"), _domains)
    return _top(s, found, domains, "sender_domain", n)


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
    import pandas as pd

    s = _sessions(events)
    found, lowered = _mapped(
        *_reject_codes(s, "recipient"), lambda a: pd.Series(a, dtype="object").str.lower()
    )
    return _top(s, found, lowered, "recipient", n)


def dictionary_attacks(events: Events, n: int = 20) -> pd.DataFrame:
    """Clients trying unknown recipients (``User unknown`` rejects), most addresses first.

    Columns: ``client_ip``, ``client_name``, ``unknown_recipients`` (distinct),
    ``rejects``, ``connections``, ``first_seen``, ``last_seen``.

    Example:
        >>> dictionary_attacks(events_from_text("")).empty
        True

    """
    import pandas as pd

    rej = reject_table(_sessions(events))
    cols = [
        "client_ip",
        "client_name",
        "unknown_recipients",
        "rejects",
        "connections",
        "first_seen",
        "last_seen",
    ]
    # missing detail: no match (contains on the column's own storage, not on boxed strings)
    unknown = rej["detail"].str.contains("User unknown", regex=False, na=False)
    unk = rej.loc[
        (rej["restriction"].isin(UNKNOWN_USER_RESTRICTIONS) | unknown) & rej["client_ip"].notna(),
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


@dataclass
class _Listings:
    """Client IPs listed per DNS list zone, as codes of :func:`~mailreject.kernels.ip_codes`.

    Attributes:
        zones: Zone names, sorted.
        zone_of: Zone (position in ``zones``) of each distinct (zone, IP) pair.
        ip_of: IP code of each distinct pair.
        smtpd: smtpd reject lines per zone.
        postscreen: postscreen reject lines per zone.
        dnsblog: dnsblog listings per zone.
        names: Restrictions that named each zone, in order of first appearance.

    """

    zones: list[str]
    zone_of: np.ndarray
    ip_of: np.ndarray
    smtpd: np.ndarray
    postscreen: np.ndarray
    dnsblog: np.ndarray
    names: list[list[str]]

    @property
    def clients(self) -> np.ndarray:
        """Distinct client IPs per zone."""
        import numpy as np

        return np.bincount(self.zone_of, minlength=len(self.zones))


def _unique_clients(
    zone_of: np.ndarray, ip_of: np.ndarray, allow: np.ndarray, caught: np.ndarray
) -> tuple[np.ndarray, int]:
    """Per zone, the IPs no other blocking zone lists and no other layer caught; the union.

    Args:
        zone_of: Zone of each distinct (zone, IP) pair.
        ip_of: IP code of each pair.
        allow: Per zone, whether it is an allow list (no unique clients, not in the union).
        caught: Per IP code, whether another layer or postscreen test caught it.

    Returns:
        Unique clients per zone, and the number of IPs any blocking zone lists.

    """
    import numpy as np

    blocking = ~allow[zone_of]
    listed_by = np.bincount(ip_of[blocking], minlength=len(caught))  # blocking zones per IP
    union = int(np.count_nonzero(listed_by))
    unique_pair = blocking & (listed_by[ip_of] == 1) & ~caught[ip_of]
    return np.bincount(zone_of[unique_pair], minlength=len(allow)), union


def _both(zone_of: np.ndarray, ip_of: np.ndarray, count: int) -> np.ndarray:
    """Zones x zones: how many IPs both zones list (the diagonal: each zone's IPs)."""
    import numpy as np
    import pandas as pd

    local, listed = pd.factorize(ip_of)
    # float64 sums of ones are exact; a matrix product is much faster than set operations
    member = np.zeros((len(listed), count), dtype=np.float64)
    member[local, zone_of] = 1.0
    both: np.ndarray = np.rint(member.T @ member).astype(np.int64)
    return both


def _listings(s: Sessions) -> _Listings:
    return s.cached("dnsbl_listings", _make_listings)


def _make_listings(s: Sessions) -> _Listings:
    import numpy as np
    import pandas as pd

    ev = s.events
    rows = np.sort(np.concatenate([kind_rows(s, "reject"), kind_rows(s, "dnsbl")]))
    ip = ip_codes(s)[0][rows]
    keep = ev["rbl_zone"].iloc[rows].notna().to_numpy() & (ip >= 0)
    rows, ip = rows[keep], ip[keep].astype(np.int64)
    found, zone_names = codes(ev["rbl_zone"].iloc[rows])
    present = np.flatnonzero(np.bincount(found, minlength=len(zone_names)))
    order = sorted(present.tolist(), key=lambda i: str(zone_names[i]))  # as groupby sorts
    renumber = np.full(len(zone_names), -1, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    zone = renumber[found]
    count = len(order)
    reject = mask(ev["kind"].iloc[rows] == "reject")
    by_postscreen = _endswith(ev["program"].iloc[rows], "postscreen").to_numpy()
    restriction = ev["restriction"].iloc[rows]
    named = np.flatnonzero(reject & restriction.notna().to_numpy())
    name_code, name_values = codes(restriction.iloc[named])
    width = len(name_values) + 1
    names: list[list[str]] = [[] for _ in range(count)]
    for pair in pd.unique(zone[named] * width + name_code).tolist():  # first appearance
        names[pair // width].append(str(name_values[pair % width]))
    dnsblog = np.bincount(zone[~reject], minlength=count)
    for z in np.flatnonzero(dnsblog):
        names[z].append("postscreen_dnsbl_sites")
    span = int(ip.max(initial=-1)) + 1
    pairs = pd.unique(zone * span + ip)
    return _Listings(
        zones=[str(zone_names[i]) for i in order],
        zone_of=pairs // span if span else pairs,
        ip_of=pairs % span if span else pairs,
        smtpd=np.bincount(zone[reject & ~by_postscreen], minlength=count),
        postscreen=np.bincount(zone[reject & by_postscreen], minlength=count),
        dnsblog=dnsblog,
        names=names,
    )


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
    import numpy as np
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
    listings = _listings(s)
    if not listings.zones:
        return _empty(cols)
    ev = s.events
    found, ips = ip_codes(s)
    # clients another layer or postscreen test caught
    rej = reject_table(s)
    other_rejects = mask(
        rej["rbl_zone"].isna()
        & (rej["layer"] != "rbl")
        & (rej["restriction"] != "postscreen_dnsbl_action")  # missing: not equal
    )
    ps = kind_rows(s, "postscreen")
    action = ev["action"].iloc[ps]
    tests = mask(
        action.notna()
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
    )
    caught = np.zeros(len(ips) + 1, dtype=bool)  # the last entry: code -1 (no address)
    caught[found[positions(s, rej)[other_rejects]]] = True
    caught[found[ps[tests]]] = True
    caught[-1] = False
    allow = np.array([is_allowlist(zone) for zone in listings.zones], dtype=bool)
    unique, union = _unique_clients(listings.zone_of, listings.ip_of, allow, caught)
    clients = listings.clients
    rows = [
        {
            "zone": zone,
            "restriction": ", ".join(dict.fromkeys(listings.names[z])),
            "allowlist": bool(allow[z]),
            "smtpd_rejects": int(listings.smtpd[z]),
            "postscreen_rejects": int(listings.postscreen[z]),
            "dnsblog_listings": int(listings.dnsblog[z]),
            "clients": int(clients[z]),
            "unique_clients": int(unique[z]),
            "unique_share": int(unique[z]) / union if union else 0.0,
        }
        for z, zone in enumerate(listings.zones)
    ]
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
    listings = _listings(s)
    cols = ["zone_a", "zone_b", "clients_a", "clients_b", "both", "share_of_a", "jaccard"]
    clients = listings.clients.tolist()
    count = len(listings.zones)
    # zones x zones: IPs listed by both, from one membership matrix
    both_matrix = _both(listings.zone_of, listings.ip_of, count)
    zones = sorted(range(count), key=lambda z: (-clients[z], listings.zones[z]))
    rows = []
    for a in zones:
        for b in zones:
            both = int(both_matrix[a, b])
            either = clients[a] + clients[b] - both
            rows.append(
                {
                    "zone_a": listings.zones[a],
                    "zone_b": listings.zones[b],
                    "clients_a": clients[a],
                    "clients_b": clients[b],
                    "both": both,
                    "share_of_a": both / clients[a] if clients[a] else 0.0,
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
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    # lower case once per distinct result, then summed: as value_counts of the lowered lines
    found, results = codes(s.events["action"].iloc[kind_rows(s, "spf")])
    per_result = np.bincount(found[found >= 0], minlength=len(results))
    checks = (
        pd.Series(per_result, index=pd.Index(results, dtype="object").str.lower())
        .groupby(level=0, sort=False)
        .sum()
    )
    checks = checks.loc[checks > 0].sort_values(ascending=False, kind="stable")
    rejects = reject_table(s)
    rej = (
        rejects.loc[rejects["layer"] == "spf", "action"]
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
    import numpy as np
    import pandas as pd

    conns = _sessions(events).connections
    ps = conns.loc[conns["via_postscreen"], ["ps_verdict", "smtpd"]] if len(conns) else conns
    if not len(ps):
        return _empty(["verdict", "sessions", "share", "handed_to_smtpd"])
    found, verdicts = codes(ps["ps_verdict"])  # missing verdicts: in no row, as in groupby
    sessions = np.bincount(found[found >= 0], minlength=len(verdicts))
    smtpd = ps["smtpd"].to_numpy(dtype="float64")[found >= 0]
    handed = np.bincount(found[found >= 0], weights=smtpd, minlength=len(verdicts))
    out = pd.DataFrame(
        {"sessions": sessions, "handed_to_smtpd": handed.astype("int64")},
        index=pd.Index(verdicts, dtype="object"),
    )
    out = out.loc[out["sessions"] > 0]
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
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    ev = s.events
    rows = kind_rows(s, "postscreen")
    if not len(rows):
        return _empty(["action", "restriction", "events", "clients"])
    # one group per action name, missing actions under "?" (as fillna("?") then groupby)
    found, actions = codes(ev["action"].iloc[rows])
    names = pd.Index(np.append(actions, "?"), dtype="object")
    merged, distinct = pd.factorize(names)
    groups = merged[found].astype(np.int64)  # code -1: the "?" at the end
    count = len(distinct)
    restriction = ev["restriction"].iloc[rows]
    at = first_in_group(np.where(restriction.notna().to_numpy(), groups, -1), count)
    clients = ip_codes(s)[0][rows]  # integers count faster than strings
    out = pd.DataFrame(
        {
            "restriction": restriction.array.take(at, allow_fill=True),
            "events": np.bincount(groups, minlength=count),
            "clients": group_nunique(groups, clients, count),
        },
        index=pd.Index(distinct, name="action", dtype="object"),
    )
    out = out.loc[out["events"] > 0]
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
    good = set(s.messages["client_ip"].dropna().unique())  # distinct first: fewer to box
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
    import numpy as np
    import pandas as pd

    s = _sessions(events)
    rej = reject_table(s)
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
    if not len(rej):
        return _labelled(rej).assign(restriction=lambda f: f["label"])[cols]
    groups, names = reject_groups(s)
    # the first rows of each group, in row order: groupby(...).head(per_restriction)
    rank = pd.Series(groups).groupby(groups).cumcount().to_numpy()
    rows = np.flatnonzero(rank < per_restriction)
    out = rej[cols[2:]].iloc[rows].reset_index(drop=True)
    for at, (name, column) in enumerate((("layer", "layer"), ("restriction", "label"))):
        values = names[column].to_numpy(dtype=object)[groups[rows]]
        out.insert(at, name, pd.Series(values, dtype="object"))
    return out
