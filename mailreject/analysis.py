"""What the anti-spam defences did: tidy pandas DataFrames from an events DataFrame.

Every public function takes the events (the columns of :mod:`mailreject.schema`, e.g. from
``mailreject.load()`` or :func:`events_from_files`) or an already built
:class:`~mailreject.sessions.Sessions` (from :func:`build`, to link the events once for many
calls), and returns a DataFrame; :func:`analyse` runs them all over one period and returns an
:class:`Analysis`. Reports only draw these tables.

The functions live by noun and are all re-exported here: :mod:`mailreject.layers` (layers,
restrictions, the funnel, queue load), :mod:`mailreject.legit` (cost to legitimate mail),
:mod:`mailreject.who` (top offenders, DNSBL zones, SPF, postscreen, reject_warning),
:mod:`mailreject.frames` (reading events) and :mod:`mailreject.sessions` (:func:`build`).

Definitions (see ``docs/summary-json.md`` for every column):

* a *connection* is a postscreen session plus the smtpd session it handed over to, or an
  smtpd session no postscreen saw; shares are relative to all connections;
* a *message attempt* is a run of rejects in one connection with the same sender;
* the *first layer* of a connection is the layer of its first reject in time (ties broken
  by evaluation order); postscreen sessions that ended without a reject line (HANGUP,
  PREGREET then DISCONNECT) count as stopped by postscreen.

Example:
    >>> ev = events_from_files(["sample_logs/mail.log"], year=2026, tz="UTC")  # doctest: +SKIP
    >>> a = analyse(ev)                                                       # doctest: +SKIP
    >>> a.layers[["layer", "events", "sessions"]]                             # doctest: +SKIP

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailreject.frames import (
    UNKNOWN_USER_RESTRICTIONS,
    Events,
    TimeLike,
    _duration,
    _iso,
    _timestamp,
    events_from_files,
    events_from_text,
    human_bytes,
)
from mailreject.kernels import ip_codes, positions, reject_table
from mailreject.layers import (
    accepted,
    choose_freq,
    first_layers,
    layers,
    never_fired,
    queue_load,
    restrictions,
    timeseries,
)
from mailreject.legit import (
    delayed,
    delayed_summary,
    false_positives,
    greylist_summary,
    greylisting,
)
from mailreject.postconf import PostfixConfig, parse_postconf, read_postconf
from mailreject.schema import LAYERS
from mailreject.sessions import Sessions, build
from mailreject.status import MailrejectError, UsageError
from mailreject.unmatched import builtin_unmatched_rule_ids
from mailreject.who import (
    dictionary_attacks,
    dnsbl_overlap,
    dnsbl_zones,
    is_allowlist,
    postscreen_actions,
    postscreen_verdicts,
    reject_warnings,
    samples,
    spf_results,
    top_clients,
    top_helos,
    top_names,
    top_networks,
    top_recipients,
    top_sender_domains,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ASSUMED_ORDER",
    "LAYERS",
    "METHODS",
    "UNKNOWN_USER_RESTRICTIONS",
    "Analysis",
    "Events",
    "NoDataError",
    "Sessions",
    "TimeLike",
    "accepted",
    "analyse",
    "build",
    "choose_freq",
    "data_quality",
    "default_since",
    "delayed",
    "delayed_summary",
    "dictionary_attacks",
    "dnsbl_overlap",
    "dnsbl_zones",
    "events_from_files",
    "events_from_text",
    "false_positives",
    "first_layers",
    "greylist_summary",
    "greylisting",
    "human_bytes",
    "insights",
    "is_allowlist",
    "layers",
    "never_fired",
    "postscreen_actions",
    "postscreen_verdicts",
    "queue_load",
    "reject_warnings",
    "restrictions",
    "samples",
    "select",
    "spf_results",
    "timeseries",
    "top_clients",
    "top_helos",
    "top_names",
    "top_networks",
    "top_recipients",
    "top_sender_domains",
]


#: How the order of layers is known when no configuration is given.
ASSUMED_ORDER = (
    "typical hardened order assumed (pass --postconf FILE with 'postconf -n' output to use yours)"
)

#: Methods printed beside figures.
METHODS: Mapping[str, str] = {
    "queue_load": (
        "Rejected message attempts (runs of rejects in one connection with the same sender) "
        "whose sender never got a queue id in that connection, and their distinct rejected "
        "recipients, counted at the layer of the attempt's first reject. Estimated bytes = "
        "attempts x median size= of accepted messages (qmgr). smtpd processes not started = "
        "postscreen sessions that ended inside postscreen (DISCONNECT, HANGUP, reject) "
        "without a hand-off to smtpd."
    ),
    "delayed": (
        "A 4xx reject counts as a delay, not a block, when a message with the same sender "
        "and recipient was accepted later in the period (qmgr queue active + delivery line); "
        "the delay runs from the first such 4xx to the acceptance."
    ),
    "greylisting": (
        "Triplets are (client /24 for IPv4 or /64 for IPv6, sender, recipient). The delay "
        "is postgrey's delay= when logged, else the time from the first greylisting to the "
        "pass or acceptance. 'never came back' includes triplets greylisted near the end "
        "of the period. These outcomes need not agree with the 'delayed' figures: a delay "
        "is a 4xx reject of any layer followed by an accepted message, per sender and "
        "recipient, while a triplet also includes the client network and passes on "
        "postgrey's pass line (or, without one, a later acceptance)."
    ),
    "false_positives": (
        "Clients that got a permanent (5xx) reject and also had a message accepted in the "
        "period; recipient-typo rejects of legitimate senders appear here too."
    ),
    "dnsbl": (
        "Hits per zone from smtpd reject lines that name the zone and postscreen dnsblog "
        "listings. A zone's unique clients were listed by no other zone and rejected by no "
        "other layer or postscreen test."
    ),
}


class NoDataError(MailrejectError):
    """No events to analyse (empty input, or none in the period or for the host)."""


@dataclass
class Analysis:
    """Everything a summary or report shows, as DataFrames and small dicts.

    Attributes:
        period_start: First instant covered (``since`` or the first event).
        period_end: Last instant covered (``until`` or the last event).
        host: Host filter, or None for all hosts.
        order: Layers in evaluation order.
        order_basis: Where the order comes from (the postconf file or the assumption).
        kpis: Headline figures (connections, rejects, accepted messages, ...).
        quality: Data quality: sources, time range, lines, events, unparsed by program.
        layers: One row per layer (see :func:`layers`).
        restrictions: One row per restriction (see :func:`restrictions`).
        first_layers: The funnel (see :func:`first_layers`).
        timeseries: Rejects per time bucket and layer (see :func:`timeseries`).
        freq: ``hour`` or ``day``.
        queue_load: Per layer and total (see :func:`queue_load`).
        accepted: What was accepted: messages, recipients, bytes, median size.
        delayed: One row per delayed acceptance (see :func:`delayed`).
        delayed_summary: Delays per restriction (see :func:`delayed_summary`).
        greylisting: One row per triplet (see :func:`greylisting`).
        greylist_summary: Outcome counts and delay percentiles.
        false_positives: See :func:`false_positives`.
        dnsbl_zones: See :func:`dnsbl_zones`.
        dnsbl_overlap: See :func:`dnsbl_overlap`.
        top: Top-N tables by name: clients, networks, names, helos, sender_domains,
            recipients, dictionary_attacks.
        spf: See :func:`spf_results`.
        postscreen: See :func:`postscreen_verdicts`.
        postscreen_actions: See :func:`postscreen_actions`.
        reject_warnings: See :func:`reject_warnings`.
        never_fired: Configured restrictions without a single event (empty without config).
        samples: Up to 3 sample events per restriction.
        insights: Short sentences.
        methods: How figures were computed, by section.

    """

    period_start: pd.Timestamp
    period_end: pd.Timestamp
    host: str | None
    order: list[str]
    order_basis: str
    kpis: dict[str, Any]
    quality: dict[str, Any]
    layers: pd.DataFrame
    restrictions: pd.DataFrame
    first_layers: pd.DataFrame
    timeseries: pd.DataFrame
    freq: str
    queue_load: pd.DataFrame
    accepted: dict[str, Any]
    delayed: pd.DataFrame
    delayed_summary: pd.DataFrame
    greylisting: pd.DataFrame
    greylist_summary: dict[str, Any]
    false_positives: pd.DataFrame
    dnsbl_zones: pd.DataFrame
    dnsbl_overlap: pd.DataFrame
    top: dict[str, pd.DataFrame]
    spf: pd.DataFrame
    postscreen: pd.DataFrame
    postscreen_actions: pd.DataFrame
    reject_warnings: pd.DataFrame
    never_fired: pd.DataFrame
    samples: pd.DataFrame
    insights: list[str] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=lambda: dict(METHODS))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every DataFrame by name (top tables as ``top.<name>``), in report order."""
        out = {
            "layers": self.layers,
            "first_layers": self.first_layers,
            "queue_load": self.queue_load,
            "timeseries": self.timeseries,
            "restrictions": self.restrictions,
            "delayed_summary": self.delayed_summary,
            "delayed": self.delayed,
            "false_positives": self.false_positives,
            "greylisting": self.greylisting,
            "dnsbl_zones": self.dnsbl_zones,
            "dnsbl_overlap": self.dnsbl_overlap,
        }
        out.update({f"top.{k}": v for k, v in self.top.items()})
        out.update(
            {
                "spf": self.spf,
                "postscreen": self.postscreen,
                "postscreen_actions": self.postscreen_actions,
                "reject_warnings": self.reject_warnings,
                "never_fired": self.never_fired,
                "samples": self.samples,
            }
        )
        return out


# ----------------------------------------------------------------- quality, KPIs, insights


def data_quality(events: pd.DataFrame, quality: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the figures rest on: sources, time range, lines, events, unparsed lines.

    Args:
        events: Events of the period analysed.
        quality: A ``ParseSummary.to_dict()``-like mapping (``lines``, ``events``,
            ``unparsed_by_program``, ``skipped_by_reason``, ``assumptions``, ``sources``,
            ``first_event``, ``last_event``, ``unmatched_rejects``), if known.

    Returns:
        A JSON-ready dict; unknown values are None.

    Example:
        >>> data_quality(events_from_text(""))["events"]
        0

    """
    q = dict(quality or {})
    sources_in = q.get("sources")
    if sources_in:
        names = [src["name"] if isinstance(src, Mapping) else str(src) for src in sources_in]
    else:
        names = sorted({str(v) for v in events["source"].dropna().unique()}) if len(events) else []
    first = events["ts"].min() if len(events) else None
    last = events["ts"].max() if len(events) else None
    unmatched = (
        int(
            (
                (events["kind"] == "reject")
                & events["rule"].isin(list(builtin_unmatched_rule_ids()))
            ).sum()
        )
        if len(events)
        else 0
    )
    return {
        "sources": names,
        "first_event": _iso(first),
        "last_event": _iso(last),
        "input_first_event": q.get("first_event"),
        "input_last_event": q.get("last_event"),
        "lines": q.get("lines"),
        "input_events": q.get("events"),
        "events": len(events),
        "unparsed_by_program": dict(q.get("unparsed_by_program") or {}),
        "skipped_by_reason": dict(q.get("skipped_by_reason") or {}),
        "unmatched_rejects": unmatched,
        "assumptions": list(q.get("assumptions") or []),
    }


_SHARED_NAMES = ("check_policy_service", "smtpd_milters")


def _say(restriction: str, layer: Any) -> str:
    """A restriction label readable in a sentence (shared names get their layer)."""
    if restriction.startswith("("):
        return f"{layer} {restriction}"
    if restriction in _SHARED_NAMES:
        return f"{restriction} ({layer})"
    return restriction


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _n(count: Any, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{count} {word}" if count == 1 else f"{count} {plural}"


def insights(a: Analysis) -> list[str]:
    r"""Short sentences about what matters in an analysis.

    Example:
        >>> insights(analyse(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n")))[0]
        '1 connections; no rejects in this period.'

    """
    out: list[str] = []
    k = a.kpis
    conns = k["connections"]
    if not k["rejects"]:
        out.append(f"{conns} connections; no rejects in this period.")
    else:
        stopped = a.first_layers.loc[~a.first_layers["layer"].isin(["accepted", "no decision"])]
        top = stopped.sort_values("stopped", ascending=False, kind="stable").iloc[0]
        if top["stopped"]:
            out.append(
                f"{top['layer']} stopped {top['stopped']} of {conns} connections "
                f"({top['stopped'] / max(conns, 1):.0%}) before any later layer ran."
            )
    total = a.queue_load.iloc[-1]
    if total["attempts"] or total["smtpd_not_started"]:
        bytes_part = (
            f" (~{human_bytes(total['est_bytes'])})"
            if total["est_bytes"] == total["est_bytes"]
            else ""
        )
        out.append(
            f"Rejecting before the queue kept {total['attempts']} message attempts{bytes_part} and "
            f"{total['recipients']} recipients out; postscreen spared "
            f"{total['smtpd_not_started']} smtpd processes."
        )
    zones = a.dnsbl_zones.loc[~a.dnsbl_zones["allowlist"]] if len(a.dnsbl_zones) else a.dnsbl_zones
    if len(zones) > 1:
        lead = zones.iloc[0]
        for row in zones.iloc[1:6].itertuples():
            name = str(row.restriction or "DNSBL").split(",")[0]
            if row.unique_clients:
                out.append(
                    f"{name} {row.zone} added {row.unique_share:.0%} beyond {lead['zone']}: "
                    f"{_n(row.unique_clients, 'client')} no other list or layer caught."
                )
            else:
                out.append(
                    f"{name} {row.zone} caught no client that another list or layer "
                    "did not already catch."
                )
    for row in a.delayed_summary.itertuples():
        if row.delayed:
            out.append(
                f"{_say(str(row.restriction), row.layer)} delayed "
                f"{_n(row.senders, 'legitimate sender')} ({_n(row.delayed, 'delivery')}) "
                f"by a median of {_duration(_float(row.median_delay_s))}."
            )
    g = a.greylist_summary
    if g["triplets"]:
        out.append(
            f"Greylisting: {g['triplets']} triplets; {g['passed']} came back and passed "
            f"(median delay {_duration(g['median_delay_s'])}), "
            f"{g['never_came_back']} never came back."
        )
    if len(a.false_positives):
        out.append(
            f"{len(a.false_positives)} clients got a permanent reject but also delivered mail "
            "(possible false positives); see the list."
        )
    for row in a.reject_warnings.itertuples():
        out.append(
            f"warn_if_reject {row.restriction} would have blocked {_n(row.clients, 'client')}; "
            f"{row.clients_delivered} of them also delivered accepted mail."
        )
    days = max((a.period_end - a.period_start).total_seconds() / 86400, 0)
    span = f"{days:.0f} days" if days >= 1.5 else f"{days * 24:.0f} hours"
    for row in a.never_fired.itertuples():
        out.append(f"restriction {row.restriction} never fired in {span}.")
    da = a.top.get("dictionary_attacks")
    if da is not None and len(da) and da.iloc[0]["unknown_recipients"] >= 5:
        out.append(
            f"{da.iloc[0]['client_ip']} tried {da.iloc[0]['unknown_recipients']} "
            "unknown recipients (dictionary attack)."
        )
    if a.quality.get("unmatched_rejects"):
        out.append(
            f"{a.quality['unmatched_rejects']} reject lines matched no specific rule "
            "(see 'mailreject unmatched')."
        )
    return out


# --------------------------------------------------------------------------- entry point


def _distinct(found: np.ndarray) -> int:
    """Distinct values among integer codes (-1: missing, not counted)."""
    import numpy as np

    seen = np.zeros(int(found.max(initial=-1)) + 1, dtype=bool)
    seen[found[found >= 0]] = True
    return int(seen.sum())


def _config(postconf: PostfixConfig | str | Path | None) -> PostfixConfig | None:
    if postconf is None or isinstance(postconf, PostfixConfig):
        return postconf
    if isinstance(postconf, str) and "\n" in postconf:
        return parse_postconf(postconf)
    return read_postconf(postconf)


def select(
    events: pd.DataFrame, *, since: TimeLike = None, until: TimeLike = None, host: str | None = None
) -> pd.DataFrame:
    """Events of one period (``since`` inclusive, ``until`` exclusive) and host.

    Raises:
        NoDataError: When nothing is left (empty input, or nothing in the period).

    Example:
        >>> select(events_from_text(""))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        mailreject.analysis.NoDataError: no events in the input

    """
    if events is None or not len(events):
        raise NoDataError(
            "no events in the input",
            hint="check the file names, or 'mailreject parse FILE' to see what is read",
        )
    start, end = _timestamp(since, "--since"), _timestamp(until, "--until")
    if start is not None and end is not None and end <= start:
        raise UsageError("--until must be after --since")
    mask = events["ts"].notna()
    if start is not None:
        mask &= events["ts"] >= start
    if end is not None:
        mask &= events["ts"] < end
    if host:
        mask &= events["host"] == host
    # the whole input (the store read for just this period): no copy of every column
    out = events.copy(deep=False) if mask.all() else events.loc[mask]
    if not len(out):
        first, last = _iso(events["ts"].min()), _iso(events["ts"].max())
        where = f" for host {host!r}" if host else ""
        hosts = sorted(events["host"].dropna().astype(str).unique())[:10]
        raise NoDataError(
            f"no events between {_iso(start) or 'the start'} and {_iso(end) or 'the end'}{where}",
            hint=f"the input covers {first} to {last}; hosts: {', '.join(hosts)}",
        )
    return out


def default_since(
    events: pd.DataFrame, *, until: TimeLike = None, host: str | None = None, days: int = 7
) -> str | None:
    r"""The start of the default report period: ``days`` days before the newest event.

    The newest event is taken before ``until`` and of ``host`` when given.

    Example:
        >>> line = "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a[192.0.2.1]\n"
        >>> default_since(events_from_text(line))
        '2026-10-27T00:31:10+00:00'

    """
    import pandas as pd

    ts = events["ts"]
    mask = ts.notna()
    end = _timestamp(until, "--until")
    if end is not None:
        mask &= ts < end
    if host:
        mask &= events["host"] == host
    if not mask.any():
        return None
    newest = ts[mask].max()
    return str((newest - pd.Timedelta(days=days)).isoformat())


def analyse(
    df: pd.DataFrame,
    *,
    since: TimeLike = None,
    until: TimeLike = None,
    host: str | None = None,
    postconf: PostfixConfig | str | Path | None = None,
    quality: Mapping[str, Any] | None = None,
    top_n: int = 20,
    on_phase: Callable[[str], None] | None = None,
) -> Analysis:
    r"""Runs every analysis over one period.

    Args:
        df: Events.
        since: First instant (inclusive); None for the first event.
        until: End (exclusive); None for after the last event.
        host: Only this syslog host.
        postconf: ``postconf -n`` output (a file path, its text, or a parsed config) to
            order layers as the server does and list silent restrictions.
        quality: ``ParseSummary.to_dict()`` of the parse run, for the data-quality strip.
        top_n: Rows of the top-N tables.
        on_phase: Called with a short description as each phase starts (linking the
            events into sessions, then the analyses), e.g. to show progress.

    Returns:
        The :class:`Analysis`.

    Raises:
        NoDataError: When there is nothing to analyse.
        UsageError: For a bad date or postconf file.

    Example:
        >>> a = analyse(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"))
        >>> a.kpis["connections"], a.order_basis.startswith("typical")
        (1, True)

    """
    import pandas as pd

    config = _config(postconf)
    events = select(df, since=since, until=until, host=host)
    order = config.layer_order() if config else list(LAYERS)
    if on_phase is not None:
        on_phase(f"linking {len(events):,} events into sessions")
    s = build(events, order)
    if on_phase is not None:
        on_phase(f"analysing {len(s.connections):,} connections")
    start = _timestamp(since, "--since") or events["ts"].min()
    end = _timestamp(until, "--until") or events["ts"].max()
    freq = choose_freq(start, end)
    acc = accepted(s)
    delays = delayed(s)
    grey = greylisting(s)
    conns = s.connections
    rej = reject_table(s)
    top = {
        "clients": top_clients(s, top_n),
        "networks": top_networks(s, top_n),
        "names": top_names(s, top_n),
        "helos": top_helos(s, top_n),
        "sender_domains": top_sender_domains(s, top_n),
        "recipients": top_recipients(s, top_n),
        "dictionary_attacks": dictionary_attacks(s, top_n),
    }
    stopped = int(conns["first_layer"].notna().sum()) if len(conns) else 0
    kpis = {
        "connections": len(conns),
        "postscreen_sessions": int(conns["via_postscreen"].sum()) if len(conns) else 0,
        "smtpd_sessions": int(conns["smtpd"].sum()) if len(conns) else 0,
        "stopped_connections": stopped,
        "stopped_share": stopped / len(conns) if len(conns) else 0.0,
        "rejects": len(rej),
        "reject_warnings": int((s.events["kind"] == "reject_warning").sum()),
        "rejected_attempts": len(s.attempts),
        "accepted_messages": acc["messages"],
        "accepted_bytes": acc["bytes"],
        "client_ips": _distinct(ip_codes(s)[0]),
        "rejected_client_ips": _distinct(ip_codes(s)[0][positions(s, rej)]),
    }
    a = Analysis(
        period_start=pd.Timestamp(start),
        period_end=pd.Timestamp(end),
        host=host,
        order=order,
        order_basis=f"from {config.source}" if config else ASSUMED_ORDER,
        kpis=kpis,
        quality=data_quality(events, quality),
        layers=layers(s, order=order),
        restrictions=restrictions(s, order=order, config=config),
        first_layers=first_layers(s, order=order),
        timeseries=timeseries(s, freq=freq),
        freq=freq,
        queue_load=queue_load(s, order=order),
        accepted=acc,
        delayed=delays,
        delayed_summary=delayed_summary(s, delays),
        greylisting=grey,
        greylist_summary=greylist_summary(grey),
        false_positives=false_positives(s),
        dnsbl_zones=dnsbl_zones(s),
        dnsbl_overlap=dnsbl_overlap(s),
        top=top,
        spf=spf_results(s),
        postscreen=postscreen_verdicts(s),
        postscreen_actions=postscreen_actions(s),
        reject_warnings=reject_warnings(s),
        never_fired=never_fired(s, config),
        samples=samples(s),
    )
    a.insights = insights(a)
    return a
