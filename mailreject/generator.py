r"""Deterministic generator of realistic Postfix logs with a ground truth.

The generator simulates a hardened inbound MX (postscreen with DNSBL
weights and deep protocol tests, smtpd restrictions of every layer,
policyd-spf, postgrey, header/body checks, an rspamd-style milter) plus the
legitimate mail that flows through it (queueing, LMTP/virtual/SMTP
delivery, bounces), authenticated submission, and noise from other
programs (dovecot, CRON) and from Postfix itself (TLS, warnings, anvil).
Line shapes follow ``shared/postfix-log-formats.md`` (Postfix 3.7 with
``compatibility_level = 3.6``, postgrey 1.37, spf-engine 2.9).

Everything is driven by one seeded :class:`random.Random`, so the same
arguments always give the same bytes.  Lines are rendered with f-strings,
queued with their (integer microsecond) timestamp, put in order by a stable
sort every few thousand lines and written in large batches, which keeps the
generator at about 300,000 lines per second (5 million lines in ~17 s).

Every line is emitted together with the index of a :class:`LineSpec` in
:data:`SPECS`.  The spec is the single place that says what the line *is*
for a parser (program, event kind, layer, restriction, action); the
:class:`GroundTruth` is nothing but the per-spec line counts aggregated, so
it cannot disagree with the text.

Event kinds (the contract the parser follows):

* ``reject``: smtpd/postscreen/cleanup ``reject:`` and ``milter-reject:``;
* ``reject_warning``: ``reject_warning:`` lines;
* ``postscreen``: every postscreen line other than its reject lines;
* ``dnsbl``: dnsblog ``addr ... listed by domain ...`` lines;
* ``greylist``: postgrey ``action=`` lines;
* ``spf``: policyd-spf result lines;
* ``connect`` / ``disconnect``: smtpd ``connect from`` / ``disconnect from``;
* ``queue``: smtpd ``QID: client=`` and qmgr ``(queue active)`` lines;
* ``delivery``: ``QID: to=<..>, ... status=...`` lines of smtp/lmtp/virtual;
* anything else is no event ("noise": the parser counts it as unparsed).

Example:
    >>> import io
    >>> buf = io.BytesIO()
    >>> truth = generate(buf, lines=1000, seed=7)
    >>> truth.lines == buf.getvalue().count(b"\n")
    True

"""

from __future__ import annotations

import argparse
import base64
import bisect
import functools
import heapq
import json
import math
import operator
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import BinaryIO, Literal

__all__ = [
    "SPECS",
    "GroundTruth",
    "LineSpec",
    "Style",
    "generate",
    "main",
]

Style = Literal["classic", "rfc3339"]

DEFAULT_START = datetime(2026, 11, 1, tzinfo=timezone.utc)

# --------------------------------------------------------------------------
# Line specifications: the one place that classifies generated lines.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineSpec:
    """What a generated line is, as a parser must see it.

    Attributes:
        name: Short identifier of the line shape (for debugging and tests).
        program: Syslog tag as written (``postfix/smtpd``, ``postgrey``).
        kind: Event kind, or ``None`` when the line is no event (noise).
        layer: Anti-spam layer (rejects, reject warnings, postscreen,
            greylist and spf events), else ``None``.
        restriction: postconf(5) spelling of what decided, or ``None``.
        action: Postscreen verdict, greylist/pass, SPF result or delivery
            status, else ``None``.
        zone: DNS list zone named by the line, else ``None``.

    """

    name: str
    program: str
    kind: str | None = None
    layer: str | None = None
    restriction: str | None = None
    action: str | None = None
    zone: str | None = None


SPECS: list[LineSpec] = []


def _spec(
    name: str,
    program: str,
    kind: str | None = None,
    layer: str | None = None,
    restriction: str | None = None,
    action: str | None = None,
    zone: str | None = None,
) -> int:
    SPECS.append(LineSpec(name, program, kind, layer, restriction, action, zone))
    return len(SPECS) - 1


_P_PSCREEN = "postfix/postscreen"
_P_DNSBLOG = "postfix/dnsblog"
_P_SMTPD = "postfix/smtpd"
_P_SUBMISSION = "postfix/submission/smtpd"
_P_CLEANUP = "postfix/cleanup"
_P_QMGR = "postfix/qmgr"
_P_LMTP = "postfix/lmtp"
_P_VIRTUAL = "postfix/virtual"
_P_SMTP = "postfix/smtp"
_P_BOUNCE = "postfix/bounce"
_P_ANVIL = "postfix/anvil"
_P_POSTGREY = "postgrey"
_P_SPF = "policyd-spf"
_P_DOVECOT = "dovecot"
_P_CRON = "CRON"

_ZEN = "zen.spamhaus.org"
_BARRACUDA = "b.barracudacentral.org"
_SPAMCOP = "bl.spamcop.net"
_DNSWL = "list.dnswl.org"
_DBL = "dbl.spamhaus.org"

_PS = "postscreen"

# postscreen verdicts (kind postscreen)
PS_CONNECT = _spec("ps.connect", _P_PSCREEN, _PS, _PS, None, "CONNECT")
PS_PASS_NEW = _spec("ps.pass_new", _P_PSCREEN, _PS, _PS, None, "PASS NEW")
PS_PASS_OLD = _spec("ps.pass_old", _P_PSCREEN, _PS, _PS, None, "PASS OLD")
PS_PREGREET = _spec("ps.pregreet", _P_PSCREEN, _PS, _PS, "postscreen_greet_action", "PREGREET")
PS_DNSBL = _spec("ps.dnsbl_rank", _P_PSCREEN, _PS, _PS, "postscreen_dnsbl_action", "DNSBL")
PS_HANGUP = _spec("ps.hangup", _P_PSCREEN, _PS, _PS, None, "HANGUP")
PS_PIPELINING = _spec(
    "ps.pipelining", _P_PSCREEN, _PS, _PS, "postscreen_pipelining_action", "COMMAND PIPELINING"
)
PS_NON_SMTP = _spec(
    "ps.non_smtp", _P_PSCREEN, _PS, _PS, "postscreen_non_smtp_command_action", "NON-SMTP COMMAND"
)
PS_BARE_NEWLINE = _spec(
    "ps.bare_newline", _P_PSCREEN, _PS, _PS, "postscreen_bare_newline_action", "BARE NEWLINE"
)
PS_TIME_LIMIT = _spec(
    "ps.time_limit", _P_PSCREEN, _PS, _PS, "postscreen_command_time_limit", "COMMAND TIME LIMIT"
)
PS_ALLOWLISTED = _spec(
    "ps.allowlisted", _P_PSCREEN, _PS, _PS, "postscreen_access_list", "ALLOWLISTED"
)
PS_DENYLISTED = _spec("ps.denylisted", _P_PSCREEN, _PS, _PS, "postscreen_access_list", "DENYLISTED")
PS_DISCONNECT = _spec("ps.disconnect", _P_PSCREEN, _PS, _PS, None, "DISCONNECT")
# postscreen rejects (kind reject, layer postscreen)
PS_REJ_PENDING = _spec("ps.reject.pending", _P_PSCREEN, "reject", _PS)
PS_REJ_DNSBL_ZEN = _spec(
    "ps.reject.dnsbl_zen", _P_PSCREEN, "reject", _PS, "postscreen_dnsbl_action", zone=_ZEN
)
PS_REJ_DNSBL_BARRACUDA = _spec(
    "ps.reject.dnsbl_barracuda",
    _P_PSCREEN,
    "reject",
    _PS,
    "postscreen_dnsbl_action",
    zone=_BARRACUDA,
)
PS_REJ_DNSBL_SPAMCOP = _spec(
    "ps.reject.dnsbl_spamcop", _P_PSCREEN, "reject", _PS, "postscreen_dnsbl_action", zone=_SPAMCOP
)
PS_REJ_PROTOCOL = _spec("ps.reject.protocol", _P_PSCREEN, "reject", _PS)
PS_REJ_DENYLIST = _spec(
    "ps.reject.denylist", _P_PSCREEN, "reject", _PS, "postscreen_denylist_action"
)
PS_REJ_TOO_MANY = _spec(
    "ps.reject.too_many", _P_PSCREEN, "reject", _PS, "postscreen_client_connection_count_limit"
)
# dnsblog
DNSBL_ZEN = _spec("dnsblog.zen", _P_DNSBLOG, "dnsbl", _PS, zone=_ZEN)
DNSBL_BARRACUDA = _spec("dnsblog.barracuda", _P_DNSBLOG, "dnsbl", _PS, zone=_BARRACUDA)
DNSBL_SPAMCOP = _spec("dnsblog.spamcop", _P_DNSBLOG, "dnsbl", _PS, zone=_SPAMCOP)
DNSBL_DNSWL = _spec("dnsblog.dnswl", _P_DNSBLOG, "dnsbl", _PS, zone=_DNSWL)

# smtpd session context
SMTPD_CONNECT = _spec("smtpd.connect", _P_SMTPD, "connect")
SMTPD_DISCONNECT = _spec("smtpd.disconnect", _P_SMTPD, "disconnect")
SMTPD_CLIENT = _spec("smtpd.client", _P_SMTPD, "queue")
SMTPD_TLS = _spec("smtpd.tls", _P_SMTPD)
SMTPD_WARN_RESOLVE = _spec("smtpd.warning.resolve", _P_SMTPD)
SMTPD_LOST = _spec("smtpd.lost_connection", _P_SMTPD)
SMTPD_TIMEOUT = _spec("smtpd.timeout", _P_SMTPD)
SMTPD_TOO_MANY_ERRORS = _spec("smtpd.too_many_errors", _P_SMTPD)
SMTPD_PIPELINING_INFO = _spec("smtpd.improper_pipelining", _P_SMTPD)
SMTPD_SSL_ERROR = _spec("smtpd.ssl_accept_error", _P_SMTPD)
SMTPD_TLS_WARNING = _spec("smtpd.warning.tls_library", _P_SMTPD)
# smtpd rejects
R_HELO_NON_FQDN = _spec(
    "smtpd.reject.helo_non_fqdn", _P_SMTPD, "reject", "helo", "reject_non_fqdn_helo_hostname"
)
R_HELO_INVALID = _spec(
    "smtpd.reject.helo_invalid", _P_SMTPD, "reject", "helo", "reject_invalid_helo_hostname"
)
R_HELO_ACCESS = _spec("smtpd.reject.helo_access", _P_SMTPD, "reject", "helo", "check_helo_access")
R_CLIENT_UNKNOWN = _spec(
    "smtpd.reject.client_unknown", _P_SMTPD, "reject", "client", "reject_unknown_client_hostname"
)
R_CLIENT_ACCESS = _spec(
    "smtpd.reject.client_access", _P_SMTPD, "reject", "client", "check_client_access"
)
R_RBL_ZEN = _spec("smtpd.reject.rbl_zen", _P_SMTPD, "reject", "rbl", "reject_rbl_client", zone=_ZEN)
R_RBL_BARRACUDA = _spec(
    "smtpd.reject.rbl_barracuda", _P_SMTPD, "reject", "rbl", "reject_rbl_client", zone=_BARRACUDA
)
R_RBL_SPAMCOP = _spec(
    "smtpd.reject.rbl_spamcop", _P_SMTPD, "reject", "rbl", "reject_rbl_client", zone=_SPAMCOP
)
R_RHSBL_SENDER = _spec(
    "smtpd.reject.rhsbl_sender", _P_SMTPD, "reject", "rbl", "reject_rhsbl_sender", zone=_DBL
)
R_SENDER_UNKNOWN = _spec(
    "smtpd.reject.sender_unknown_domain",
    _P_SMTPD,
    "reject",
    "sender",
    "reject_unknown_sender_domain",
)
R_SENDER_NON_FQDN = _spec(
    "smtpd.reject.sender_non_fqdn", _P_SMTPD, "reject", "sender", "reject_non_fqdn_sender"
)
R_SENDER_ACCESS = _spec(
    "smtpd.reject.sender_access", _P_SMTPD, "reject", "sender", "check_sender_access"
)
R_RELAY = _spec("smtpd.reject.relay", _P_SMTPD, "reject", "recipient", "reject_unauth_destination")
R_UNLISTED = _spec(
    "smtpd.reject.unlisted", _P_SMTPD, "reject", "recipient", "reject_unlisted_recipient"
)
R_RCPT_NON_FQDN = _spec(
    "smtpd.reject.rcpt_non_fqdn", _P_SMTPD, "reject", "recipient", "reject_non_fqdn_recipient"
)
R_SPF_FAIL = _spec("smtpd.reject.spf_fail", _P_SMTPD, "reject", "spf", "check_policy_service")
R_SPF_PERMERROR = _spec(
    "smtpd.reject.spf_permerror", _P_SMTPD, "reject", "spf", "check_policy_service"
)
R_SPF_TEMPERROR = _spec(
    "smtpd.reject.spf_temperror", _P_SMTPD, "reject", "spf", "check_policy_service"
)
R_GREYLIST = _spec("smtpd.reject.greylist", _P_SMTPD, "reject", "greylist", "check_policy_service")
R_DATA_PIPELINING = _spec(
    "smtpd.reject.data_pipelining", _P_SMTPD, "reject", "data", "reject_unauth_pipelining"
)
R_SIZE = _spec("smtpd.reject.size", _P_SMTPD, "reject", "other", "message_size_limit")
W_HELO_UNKNOWN = _spec(
    "smtpd.reject_warning.helo_unknown",
    _P_SMTPD,
    "reject_warning",
    "helo",
    "reject_unknown_helo_hostname",
)
W_CLIENT_REVERSE = _spec(
    "smtpd.reject_warning.client_reverse",
    _P_SMTPD,
    "reject_warning",
    "client",
    "reject_unknown_reverse_client_hostname",
)
# cleanup
C_MESSAGE_ID = _spec("cleanup.message_id", _P_CLEANUP)
C_HEADER_REJECT = _spec("cleanup.reject.header", _P_CLEANUP, "reject", "content", "header_checks")
# A MIME header (Content-Type ...) is matched by mime_header_checks, which
# defaults to $header_checks; the log line ("reject: header ...") is the same,
# so a parser can only say header_checks.
C_MIME_REJECT = _spec(
    "cleanup.reject.mime_header", _P_CLEANUP, "reject", "content", "header_checks"
)
C_BODY_REJECT = _spec("cleanup.reject.body", _P_CLEANUP, "reject", "content", "body_checks")
C_MILTER_REJECT = _spec("cleanup.milter_reject", _P_CLEANUP, "reject", "content", "smtpd_milters")
# qmgr
Q_ACTIVE = _spec("qmgr.active", _P_QMGR, "queue")
Q_REMOVED = _spec("qmgr.removed", _P_QMGR)
# delivery agents
D_LMTP_SENT = _spec("lmtp.sent", _P_LMTP, "delivery", action="sent")
D_VIRTUAL_SENT = _spec("virtual.sent", _P_VIRTUAL, "delivery", action="sent")
D_SMTP_SENT = _spec("smtp.sent", _P_SMTP, "delivery", action="sent")
D_SMTP_BOUNCED = _spec("smtp.bounced", _P_SMTP, "delivery", action="bounced")
SMTP_TLS = _spec("smtp.tls", _P_SMTP)
B_NDR = _spec("bounce.ndr", _P_BOUNCE)
# postgrey
_GL = "greylist"
G_NEW = _spec("postgrey.greylist_new", _P_POSTGREY, _GL, _GL, "check_policy_service", "greylist")
G_EARLY = _spec(
    "postgrey.greylist_early", _P_POSTGREY, _GL, _GL, "check_policy_service", "greylist"
)
G_PASS_DELAY = _spec("postgrey.pass_retry", _P_POSTGREY, _GL, _GL, "check_policy_service", "pass")
G_PASS_TRIPLET = _spec(
    "postgrey.pass_triplet", _P_POSTGREY, _GL, _GL, "check_policy_service", "pass"
)
G_PASS_WHITELIST = _spec(
    "postgrey.pass_whitelist", _P_POSTGREY, _GL, _GL, "check_policy_service", "pass"
)
G_PASS_AWL = _spec("postgrey.pass_awl", _P_POSTGREY, _GL, _GL, "check_policy_service", "pass")
G_WHITELISTED = _spec("postgrey.whitelisted", _P_POSTGREY)
# policyd-spf
SPF_PASS = _spec("spf.pass", _P_SPF, "spf", "spf", "check_policy_service", "pass")
SPF_SOFTFAIL = _spec("spf.softfail", _P_SPF, "spf", "spf", "check_policy_service", "softfail")
SPF_NEUTRAL = _spec("spf.neutral", _P_SPF, "spf", "spf", "check_policy_service", "neutral")
SPF_NONE = _spec("spf.none", _P_SPF, "spf", "spf", "check_policy_service", "none")
SPF_FAIL = _spec("spf.fail", _P_SPF, "spf", "spf", "check_policy_service", "fail")
SPF_PERMERROR = _spec("spf.permerror", _P_SPF, "spf", "spf", "check_policy_service", "permerror")
SPF_TEMPERROR = _spec("spf.temperror", _P_SPF, "spf", "spf", "check_policy_service", "temperror")
# submission service (instance postfix/submission)
SUB_CONNECT = _spec("submission.connect", _P_SUBMISSION, "connect")
SUB_DISCONNECT = _spec("submission.disconnect", _P_SUBMISSION, "disconnect")
SUB_CLIENT = _spec("submission.client", _P_SUBMISSION, "queue")
SUB_TLS = _spec("submission.tls", _P_SUBMISSION)
SUB_SASL_FAIL = _spec("submission.sasl_failed", _P_SUBMISSION)
SUB_LOST = _spec("submission.lost_connection", _P_SUBMISSION)
# other noise
A_STATS = _spec("anvil.statistics", _P_ANVIL)
DOV_LOGIN = _spec("dovecot.imap_login", _P_DOVECOT)
DOV_LOGOUT = _spec("dovecot.imap_logout", _P_DOVECOT)
DOV_AUTH_FAIL = _spec("dovecot.auth_failed", _P_DOVECOT)
DOV_LMTP_SAVED = _spec("dovecot.lmtp_saved", _P_DOVECOT)
CRON_CMD = _spec("cron.cmd", _P_CRON)
CRON_PAM_OPEN = _spec("cron.pam_open", _P_CRON)
CRON_PAM_CLOSE = _spec("cron.pam_close", _P_CRON)

_PROGRAMS: list[str] = [s.program for s in SPECS]
_PS_REJ_DNSBL_BY_ZONE = {
    _ZEN: PS_REJ_DNSBL_ZEN,
    _BARRACUDA: PS_REJ_DNSBL_BARRACUDA,
    _SPAMCOP: PS_REJ_DNSBL_SPAMCOP,
}
_SPF_WORD = {SPF_PASS: "Pass", SPF_SOFTFAIL: "Softfail", SPF_NONE: "None", SPF_NEUTRAL: "Neutral"}

# --------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------


def _sorted_counts(items: dict[str, int]) -> dict[str, int]:
    return dict(sorted(items.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class GroundTruth:
    """What a generated log contains, computed from the emitted lines.

    Attributes:
        seed: Seed of the run.
        style: Timestamp style (``classic`` or ``rfc3339``).
        hosts: Syslog host names used.
        first_ts: Timestamp of the first line (ISO 8601, UTC).
        last_ts: Timestamp of the last line (ISO 8601, UTC).
        lines: Total number of lines written.
        lines_by_program: Lines per syslog tag as written.
        events: Number of lines that are events (any kind).
        events_by_kind: Events per kind.
        rejects_by_layer: ``reject`` events per layer.
        rejects_by_restriction: ``reject`` events per restriction (``"null"``
            when the line cannot name one).
        reject_warnings_by_restriction: ``reject_warning`` events per restriction.
        rejects_by_rbl_zone: ``reject`` events naming a DNS list zone.
        dnsbl_by_zone: ``dnsbl`` events per zone.
        postscreen_by_action: ``postscreen`` events per verdict.
        greylist_by_action: ``greylist`` events per action.
        spf_by_result: ``spf`` events per SPF result.
        deliveries_by_status: ``delivery`` events per status.
        greylist_retries_passed: postgrey ``reason=triplet found, delay=N``
            lines (a greylisted triplet that came back and passed).
        messages_accepted: qmgr ``(queue active)`` lines.
        accepted_bytes: Sum of ``size=`` over those lines.
        noise_lines: Lines that are no event (``lines - events``).
        noise_by_program: Those lines per syslog tag.
        lines_by_spec: Lines per :class:`LineSpec` name (finest detail).

    """

    seed: int
    style: str
    hosts: list[str]
    first_ts: str
    last_ts: str
    lines: int
    lines_by_program: dict[str, int]
    events: int
    events_by_kind: dict[str, int]
    rejects_by_layer: dict[str, int]
    rejects_by_restriction: dict[str, int]
    reject_warnings_by_restriction: dict[str, int]
    rejects_by_rbl_zone: dict[str, int]
    dnsbl_by_zone: dict[str, int]
    postscreen_by_action: dict[str, int]
    greylist_by_action: dict[str, int]
    spf_by_result: dict[str, int]
    deliveries_by_status: dict[str, int]
    greylist_retries_passed: int
    messages_accepted: int
    accepted_bytes: int
    noise_lines: int
    noise_by_program: dict[str, int]
    lines_by_spec: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_counts(
        cls,
        counts: Sequence[int],
        *,
        seed: int,
        style: str,
        hosts: list[str],
        first_ts: str,
        last_ts: str,
        accepted_bytes: int,
    ) -> GroundTruth:
        """Aggregate per-spec line counts into a ground truth.

        Args:
            counts: Number of emitted lines per index of :data:`SPECS`.
            seed: Seed of the run.
            style: Timestamp style.
            hosts: Host names used.
            first_ts: ISO timestamp of the first line.
            last_ts: ISO timestamp of the last line.
            accepted_bytes: Sum of the sizes of ``(queue active)`` lines.

        Returns:
            The aggregated ground truth.

        """
        by_program: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        rej_layer: dict[str, int] = {}
        rej_restr: dict[str, int] = {}
        warn_restr: dict[str, int] = {}
        rej_zone: dict[str, int] = {}
        dnsbl_zone: dict[str, int] = {}
        ps_action: dict[str, int] = {}
        gl_action: dict[str, int] = {}
        spf_result: dict[str, int] = {}
        delivery: dict[str, int] = {}
        noise_prog: dict[str, int] = {}
        by_spec: dict[str, int] = {}

        def add(d: dict[str, int], key: str | None, n: int) -> None:
            k = "null" if key is None else key
            d[k] = d.get(k, 0) + n

        for spec, n in zip(SPECS, counts, strict=True):
            if n == 0:
                continue
            by_spec[spec.name] = n
            add(by_program, spec.program, n)
            if spec.kind is None:
                add(noise_prog, spec.program, n)
                continue
            add(by_kind, spec.kind, n)
            if spec.kind == "reject":
                add(rej_layer, spec.layer, n)
                add(rej_restr, spec.restriction, n)
                if spec.zone is not None:
                    add(rej_zone, spec.zone, n)
            elif spec.kind == "reject_warning":
                add(warn_restr, spec.restriction, n)
            elif spec.kind == "dnsbl":
                add(dnsbl_zone, spec.zone, n)
            elif spec.kind == "postscreen":
                add(ps_action, spec.action, n)
            elif spec.kind == "greylist":
                add(gl_action, spec.action, n)
            elif spec.kind == "spf":
                add(spf_result, spec.action, n)
            elif spec.kind == "delivery":
                add(delivery, spec.action, n)
        total = sum(counts)
        events = sum(by_kind.values())
        return cls(
            seed=seed,
            style=style,
            hosts=hosts,
            first_ts=first_ts,
            last_ts=last_ts,
            lines=total,
            lines_by_program=_sorted_counts(by_program),
            events=events,
            events_by_kind=_sorted_counts(by_kind),
            rejects_by_layer=_sorted_counts(rej_layer),
            rejects_by_restriction=_sorted_counts(rej_restr),
            reject_warnings_by_restriction=_sorted_counts(warn_restr),
            rejects_by_rbl_zone=_sorted_counts(rej_zone),
            dnsbl_by_zone=_sorted_counts(dnsbl_zone),
            postscreen_by_action=_sorted_counts(ps_action),
            greylist_by_action=_sorted_counts(gl_action),
            spf_by_result=_sorted_counts(spf_result),
            deliveries_by_status=_sorted_counts(delivery),
            greylist_retries_passed=counts[G_PASS_DELAY],
            messages_accepted=counts[Q_ACTIVE],
            accepted_bytes=accepted_bytes,
            noise_lines=total - events,
            noise_by_program=_sorted_counts(noise_prog),
            lines_by_spec=_sorted_counts(by_spec),
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise the ground truth.

        Args:
            indent: JSON indentation (``None`` for one line).

        Returns:
            The JSON text.

        """
        return json.dumps(asdict(self), indent=indent)


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_HOSTED_DOMAINS = ("example.com", "example.org")
_USERS = (
    "info",
    "office",
    "sales",
    "support",
    "billing",
    "john.doe",
    "jane.smith",
    "admin",
    "postmaster",
    "hr",
    "jobs",
    "m.mueller",
    "anna",
    "peter",
    "lisa",
    "tom",
    "k.schmidt",
    "accounts",
    "marketing",
    "press",
    "contact",
    "webmaster",
    "team",
    "ceo",
    "it",
    "frank",
    "sophie",
    "max",
    "laura",
    "paul",
    "nina",
    "lukas",
    "eva",
    "jonas",
    "mia",
    "felix",
    "lena",
    "david",
    "sarah",
    "tim",
    "julia",
    "ben",
    "clara",
    "noah",
    "emma",
)
_UNKNOWN_USERS = (
    "a.smith",
    "bob",
    "carl",
    "dan",
    "ellen",
    "fred",
    "george",
    "hans",
    "ian",
    "jack",
    "kevin",
    "leo",
    "mike",
    "nick",
    "oliver",
    "qa",
    "root",
    "sales1",
    "service",
    "test",
    "user",
    "web",
    "www",
    "xyz",
    "zara",
    "andrew",
    "brian",
    "chris",
    "daniel",
    "eric",
)
_ORG_WORDS = (
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "vandelay",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
    "oscorp",
    "gringotts",
    "monarch",
    "nakatomi",
    "prestige",
    "sterling",
    "bluth",
    "dunder",
    "pied",
    "massive",
    "virtucon",
    "octan",
    "kramerica",
    "lacuna",
    "rekall",
    "veridian",
    "zorg",
    "axiom",
    "primatech",
    "yoyodyne",
    "weyland",
    "tricell",
    "ingen",
    "sirius",
    "encom",
    "gekko",
    "duff",
)
_ORG_TLDS = ("example.net", "example", "test", "example.net", "example")
_SENDER_LOCALS = (
    "noreply",
    "newsletter",
    "info",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "orders",
    "invoices",
    "notifications",
    "support",
    "bounce",
    "news",
    "team",
    "hello",
    "mailer",
)
_SPAM_WORDS = (
    "deals",
    "offers",
    "pharma",
    "casino",
    "loans",
    "crypto",
    "promo",
    "winner",
    "dating",
    "bonus",
    "seo",
    "rx",
    "luxury",
    "replica",
    "invest",
    "prize",
    "cheap",
    "discount",
)
_SPAM_TLDS = ("example", "test", "invalid", "example.net")
_BOT_HELOS_NON_FQDN = (
    "User",
    "localhost",
    "ylmf-pc",
    "WIN-7QK2LS3P1M",
    "DESKTOP-4J8K2L",
    "pc",
    "mail",
    "ADMIN-PC",
)
_BOT_HELOS_INVALID = ("User Name", "<mail>", "host_name", "[::ffff:x]")
_SUBJECT_SPAM = (
    "Your account has been suspended",
    "Re: Invoice from accounting department",
    "You have won $1,000,000!!!",
    "=?UTF-8?B?V2luIGEgZnJlZSBpUGhvbmU=?=",
    "Urgent: verify your mailbox; action required",
    "Cheap meds from our online pharmacy",
    "Bitcoin investment opportunity",
)
_BODY_SPAM = (
    "Click here to claim your prize: http://winner.example/claim?id=8812",
    '<a href="http://pharma.example/buy">BUY NOW</a>',
    "Send your bank details to secure-update@bank.example",
)
_MIME_SPAM = (
    'Content-Type: application/x-msdownload; name="invoice.exe"',
    'Content-Disposition: attachment; filename="document.scr"',
    'Content-Type: application/octet-stream; name="payment_details.js"',
)
_TLS13 = (
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
    "server-signature RSA-PSS (2048 bits) server-digest SHA256"
)
_TLS12 = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
_TLS13_OUT = (
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
    "server-signature ECDSA (P-256) server-digest SHA256"
)

# client classes
_LEGIT = 0
_SNOWSHOE = 1
_BOT = 2


@dataclass(slots=True)
class _Client:
    """A remote SMTP client (immutable identity, mutable reputation)."""

    cls: int
    ip: str
    name: str
    namaddr: str
    helo: str
    domain: str
    senders: tuple[str, ...]
    rcpts: tuple[str, ...]
    spf: int  # spec index of the SPF result line
    dnswl: bool
    pg_whitelist: bool
    awl: int
    tls: bool
    resolve_warning: str


@dataclass(slots=True)
class _Pool:
    """A pool of process ids of one Postfix daemon on one host."""

    free: list[int]
    busy: list[tuple[int, int]]
    uses: dict[int, int]


@dataclass(slots=True)
class _Host:
    """Per-host state: names, process ids and caches."""

    name: str
    fqdn: str
    ip: str
    postscreen_pid: int
    qmgr_pid: int
    anvil_pid: int
    postgrey_pid: int
    smtpd: _Pool
    submission: _Pool
    cleanup: list[int]
    lmtp: list[int]
    virtual: list[int]
    smtp: list[int]
    bounce: list[int]
    dnsblog: list[int]
    spf_of_smtpd: dict[int, int]
    ps_passed: set[str]
    triplets: set[str]
    heads: list[str]


# --------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------


def _fmt_delay(us: int) -> str:
    """Format a duration like Postfix's ``delays=`` fields (2 significant digits)."""
    if us < 10_000:
        return "0"
    if us < 1_000_000:
        s = f"{us / 1e6:.2f}".rstrip("0")
        return s
    if us < 10_000_000:
        s = f"{us / 1e6:.1f}"
        return s[:-2] if s.endswith(".0") else s
    return str(us // 1_000_000)


def _fmt_after(us: int) -> str:
    """Format postscreen's ``after <time>`` value."""
    if us < 1_000_000:
        return f"{max(us, 10_000) / 1e6:.2f}"
    if us < 10_000_000:
        return f"{us / 1e6:.1f}"
    return str(us // 1_000_000)


@functools.lru_cache(maxsize=8192)
def _cmd_stats(stats: tuple[tuple[str, int, int], ...]) -> str:
    """Render smtpd's disconnect counters (``ehlo=1 mail=1 rcpt=0/1 ... commands=3/4``).

    Args:
        stats: ``(command, ok, total)`` in Postfix's table order.

    Returns:
        The counters, starting with a space.

    """
    parts = []
    ok_sum = 0
    tot_sum = 0
    for cmd, ok, tot in stats:
        if tot == 0:
            continue
        ok_sum += ok
        tot_sum += tot
        parts.append(f"{cmd}={ok}" if ok == tot else f"{cmd}={ok}/{tot}")
    if tot_sum == 0:
        parts.append("commands=0/0")
    else:
        parts.append(f"commands={ok_sum}" if ok_sum == tot_sum else f"commands={ok_sum}/{tot_sum}")
    return " " + " ".join(parts)


def _ts_rfc3339(sec: int) -> str:
    tm = time.gmtime(sec)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def _ts_classic(sec: int) -> str:
    tm = time.gmtime(sec)
    return (
        f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


# Relative hourly traffic (UTC), Europe-centred MX.
_DIURNAL = (
    0.45,
    0.40,
    0.38,
    0.36,
    0.38,
    0.45,
    0.65,
    0.90,
    1.15,
    1.30,
    1.35,
    1.35,
    1.30,
    1.30,
    1.35,
    1.35,
    1.30,
    1.20,
    1.05,
    0.95,
    0.85,
    0.75,
    0.62,
    0.52,
)
_MEAN_GAP_US = 1_150_000  # mean gap between new SMTP connections at factor 1.0
_WRITE_BATCH = 65_536  # buffered strings per write
_DRAIN_AT = 20_000  # queued lines that trigger sorting and rendering
_ts_key = operator.itemgetter(0)


class _Generator:
    """The simulation; use :func:`generate`."""

    def __init__(
        self, out: BinaryIO, *, seed: int, style: Style, start_us: int, hosts: int
    ) -> None:
        self.out = out
        self.seed = seed
        self.style = style
        rng = random.Random(seed)
        self.rng = rng
        self.r = rng.random
        self.lines_out: list[tuple[int, str]] = []  # (time in us, line without timestamp)
        self.emitted = 0
        self.pending_seq = 0
        self.counts = [0] * len(SPECS)
        self.accepted_bytes = 0
        self.parts: list[str] = []
        self.cur_sec = -1
        self.prefix = ""
        self.cur_min = -1
        self.min_prefix = ""
        self.first_us = -1
        self.last_us = -1
        self.start_us = start_us
        self.pid_next = 1200 + int(self.r() * 800)
        self.qid_counter10 = 0
        self.qid_counter11 = 0
        self.msgid_counter = 0
        self.pending: list[tuple[int, int, int, tuple[object, ...]]] = []
        self.hosts = [self._make_host(i) for i in range(hosts)]
        self.legit = [self._make_legit(i) for i in range(1500)]
        self.snowshoe = [self._make_snowshoe(i) for i in range(400)]
        self.partners = [self._make_partner(i) for i in range(12)]
        self.bots: list[_Client] = []
        self._preload()

    # ---------------------------------------------------------------- ids

    def _pid(self) -> int:
        self.pid_next += 1 + int(self.r() * 40)
        if self.pid_next > 4_000_000:
            self.pid_next = 1000
        return self.pid_next

    def _qid(self, t: int) -> str:
        """Return a unique short queue id: 5 hex digits of microseconds + inode."""
        usec = t % 1_000_000
        if self.qid_counter10 < (1 << 20) and self.r() < 0.5:
            ino = (self.qid_counter10 * 0x9E3B5 + 0x1D2C3) & 0xFFFFF
            self.qid_counter10 += 1
            return f"{usec:05X}{ino:05X}"
        ino = (self.qid_counter11 * 0x9E3779 + 0x2B7E15) & 0xFFFFFF
        self.qid_counter11 += 1
        if self.qid_counter11 > (1 << 24):
            raise OverflowError("queue id space exhausted")
        return f"{usec:05X}{ino:06X}"

    def _token(self, n: int) -> str:
        """``n`` random base64 characters (dovecot GUIDs, session ids)."""
        return base64.b64encode(self.rng.randbytes(n))[:n].decode("ascii")

    def _alnum(self, n: int) -> str:
        """``n`` random alphanumeric characters."""
        return (
            base64.b64encode(self.rng.randbytes(n))[:n]
            .decode("ascii")
            .replace("+", "x")
            .replace("/", "Q")
        )

    def _msgid(self, domain: str, t: int) -> str:
        self.msgid_counter += 1
        x = self.r()
        if x < 0.4:
            return f"{self.rng.getrandbits(64):016x}.{self.msgid_counter}@{domain}"
        if x < 0.7:
            tm = time.gmtime(t // 1_000_000)
            return (
                f"{tm.tm_year:04d}{tm.tm_mon:02d}{tm.tm_mday:02d}{tm.tm_hour:02d}{tm.tm_min:02d}"
                f"{tm.tm_sec:02d}.{self.rng.getrandbits(32):08X}@mail.{domain}"
            )
        return f"CA+{self._token(20)}@mail.{domain}"

    # ------------------------------------------------------------- setup

    def _make_pool(self) -> _Pool:
        return _Pool(free=[], busy=[], uses={})

    def _make_host(self, i: int) -> _Host:
        name = f"mx{i + 1}"
        return _Host(
            name=name,
            fqdn=f"{name}.example.com",
            ip=f"192.0.2.{i + 1}",
            postscreen_pid=self._pid(),
            qmgr_pid=self._pid(),
            anvil_pid=self._pid(),
            postgrey_pid=900 + int(self.r() * 90),
            smtpd=self._make_pool(),
            submission=self._make_pool(),
            cleanup=[self._pid() for _ in range(3)],
            lmtp=[self._pid() for _ in range(2)],
            virtual=[self._pid() for _ in range(2)],
            smtp=[self._pid() for _ in range(4)],
            bounce=[self._pid()],
            dnsblog=[self._pid() for _ in range(5)],
            spf_of_smtpd={},
            ps_passed=set(),
            triplets=set(),
            heads=[f"{name} {program}" for program in _PROGRAMS],
        )

    def _pick(self, seq: Sequence[str]) -> str:
        return seq[int(self.r() * len(seq))]

    def _pick_user(self) -> str:
        # Zipf-ish: low indices are much more popular.
        i = int(len(_USERS) * self.r() ** 2.2)
        d = _HOSTED_DOMAINS[0] if self.r() < 0.8 else _HOSTED_DOMAINS[1]
        return f"{_USERS[i]}@{d}"

    def _spf_result(self) -> int:
        x = self.r()
        if x < 0.82:
            return SPF_PASS
        if x < 0.88:
            return SPF_SOFTFAIL
        if x < 0.98:
            return SPF_NONE
        return SPF_NEUTRAL

    def _make_legit(self, i: int) -> _Client:
        r = self.r
        org = f"{self._pick(_ORG_WORDS)}{i}.{self._pick(_ORG_TLDS)}"
        x = r()
        if x < 0.25:
            ip = f"198.51.100.{1 + int(r() * 254)}"
        elif x < 0.40:
            ip = f"192.0.2.{10 + int(r() * 245)}"
        elif x < 0.93:
            ip = f"172.{16 + int(r() * 16)}.{int(r() * 256)}.{1 + int(r() * 254)}"
        else:
            ip = f"2001:db8:{int(r() * 0xFFFF):x}::{1 + int(r() * 0xFFF):x}"
        name = f"{self._pick(('mail', 'mx', 'smtp', 'mta', 'out'))}{int(r() * 30)}.{org}"
        helo = name if r() < 0.9 else f"mail.{org}"
        senders = tuple(f"{self._pick(_SENDER_LOCALS)}@{org}" for _ in range(1 + int(r() * 3)))
        rcpts = tuple(self._pick_user() for _ in range(1 + int(r() * 4)))
        return _Client(
            cls=_LEGIT,
            ip=ip,
            name=name,
            namaddr=f"{name}[{ip}]",
            helo=helo,
            domain=org,
            senders=senders,
            rcpts=rcpts,
            spf=self._spf_result(),
            dnswl=r() < 0.3,
            pg_whitelist=r() < 0.15,
            awl=int(r() * 9),
            tls=r() < 0.85,
            resolve_warning="",
        )

    def _make_partner(self, i: int) -> _Client:
        c = self._make_legit(10_000 + i)
        ip = f"198.51.100.{240 + i}"
        c.ip = ip
        c.namaddr = f"{c.name}[{ip}]"
        c.pg_whitelist = True
        return c

    def _make_snowshoe(self, i: int) -> _Client:
        r = self.r
        dom = (
            f"{self._pick(_SPAM_WORDS)}-{self._pick(_SPAM_WORDS)}{i % 37}.{self._pick(_SPAM_TLDS)}"
        )
        if r() < 0.5:
            ip = f"203.0.113.{1 + int(r() * 254)}"
        else:
            ip = f"10.{200 + int(r() * 56)}.{int(r() * 256)}.{1 + int(r() * 254)}"
        name = f"mta{int(r() * 99)}.{dom}"
        spf = SPF_PASS if r() < 0.6 else (SPF_NONE if r() < 0.5 else SPF_SOFTFAIL)
        return _Client(
            cls=_SNOWSHOE,
            ip=ip,
            name=name,
            namaddr=f"{name}[{ip}]",
            helo=name,
            domain=dom,
            senders=(f"{self._pick(_SPAM_WORDS)}@{dom}", f"news@{dom}"),
            rcpts=(),
            spf=spf,
            dnswl=False,
            pg_whitelist=False,
            awl=0,
            tls=r() < 0.5,
            resolve_warning="",
        )

    def _make_bot(self, *, named: bool | None = None) -> _Client:
        """Make a fresh botnet client (dynamic address, bad names)."""
        r = self.r
        a, b, c = int(r() * 256), int(r() * 256), 1 + int(r() * 254)
        ip = f"10.{a}.{b}.{c}"
        ptr = (
            f"{10}-{a}-{b}-{c}.dyn.example.net" if r() < 0.5 else f"host-{c}-{b}.broadband.example"
        )
        if named is None:
            x = r()
            named = x >= 0.62
            warn = 0.38 <= x < 0.62
        else:
            warn = (not named) and r() < 0.4
        name = ptr if named else "unknown"
        x = r()
        if x < 0.45:
            helo = self._pick(_BOT_HELOS_NON_FQDN)
        elif x < 0.65:
            helo = ptr
        elif x < 0.75:
            helo = f"[{ip}]"
        else:
            helo = f"mail.{self._pick(_SPAM_WORDS)}{int(r() * 99)}.{self._pick(_SPAM_TLDS)}"
        dom = f"{self._pick(_SPAM_WORDS)}{int(r() * 500)}.{self._pick(_SPAM_TLDS)}"
        return _Client(
            cls=_BOT,
            ip=ip,
            name=name,
            namaddr=f"{name}[{ip}]",
            helo=helo,
            domain=dom,
            senders=(f"{self._pick(_SENDER_LOCALS)}{int(r() * 999)}@{dom}",),
            rcpts=(),
            spf=SPF_NONE,
            dnswl=False,
            pg_whitelist=False,
            awl=0,
            tls=r() < 0.2,
            resolve_warning=ptr if warn else "",
        )

    def _preload(self) -> None:
        """Give the MX a history: known postscreen clients and greylist triplets."""
        r = self.r
        for host in self.hosts:
            for c in self.legit:
                if r() < 0.8:
                    host.ps_passed.add(c.ip)
                    for s in c.senders:
                        for rc in c.rcpts:
                            if r() < 0.8:
                                host.triplets.add(f"{c.ip}/{s}/{rc}")
            for c in self.snowshoe:
                if r() < 0.6:
                    host.ps_passed.add(c.ip)
            for c in self.partners:
                host.ps_passed.add(c.ip)

    # ----------------------------------------------------------- emission

    def emit(self, t: int, sid: int, host: _Host, pid: int, msg: str) -> None:
        """Queue one line with a process id."""
        self.lines_out.append((t, f"{host.heads[sid]}[{pid}]: {msg}\n"))
        self.counts[sid] += 1

    def emit_nopid(self, t: int, sid: int, host: _Host, msg: str) -> None:
        """Queue one line whose program logs no process id."""
        self.lines_out.append((t, f"{host.heads[sid]}: {msg}\n"))
        self.counts[sid] += 1

    def drain(self, limit: int) -> None:
        """Render and buffer every queued line with a timestamp <= ``limit``.

        Every line generated from now on must have a timestamp >= ``limit``.
        The queue is sorted with a stable sort on the timestamp only, so lines
        with equal timestamps keep the order in which they were generated.
        """
        queue = self.lines_out
        queue.sort(key=_ts_key)
        cut = bisect.bisect_right(queue, limit, key=_ts_key)
        if cut == 0:
            return
        chunk = queue[:cut]
        del queue[:cut]
        self.emitted += cut
        if self.first_us < 0:
            self.first_us = chunk[0][0]
        parts = self.parts
        append = parts.append
        cur_sec = self.cur_sec
        prefix = self.prefix
        cur_min = self.cur_min
        min_prefix = self.min_prefix
        if self.style == "classic":
            for t, text in chunk:
                if t // 1_000_000 != cur_sec:
                    cur_sec = t // 1_000_000
                    if cur_sec // 60 != cur_min:
                        cur_min = cur_sec // 60
                        min_prefix = _ts_classic(cur_min * 60)[:-2]
                    prefix = f"{min_prefix}{cur_sec % 60:02d} "
                append(prefix)
                append(text)
        else:
            for t, text in chunk:
                sec = t // 1_000_000
                if sec != cur_sec:
                    cur_sec = sec
                    if sec // 60 != cur_min:
                        cur_min = sec // 60
                        min_prefix = _ts_rfc3339(cur_min * 60)[:-2]
                    prefix = f"{min_prefix}{sec % 60:02d}"
                append(f"{prefix}.{t - sec * 1_000_000:06d}+00:00 {text}")
        self.cur_min = cur_min
        self.min_prefix = min_prefix
        self.last_us = chunk[-1][0]
        self.cur_sec = cur_sec
        self.prefix = prefix
        if len(parts) >= _WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines."""
        if self.parts:
            self.out.write("".join(self.parts).encode("utf-8"))
            self.parts.clear()

    # ------------------------------------------------------------ pools

    def _acquire(self, host: _Host, pool: _Pool, t: int) -> int:
        busy = pool.busy
        while busy and busy[0][0] <= t:
            _, pid = heapq.heappop(busy)
            if pool.uses[pid] < 100:
                pool.free.append(pid)
            else:
                del pool.uses[pid]
                host.spf_of_smtpd.pop(pid, None)
        if pool.free:
            pid = pool.free.pop()
        else:
            pid = self._pid()
            pool.uses[pid] = 0
        pool.uses[pid] += 1
        return pid

    def _release(self, pool: _Pool, pid: int, t: int) -> None:
        heapq.heappush(pool.busy, (t, pid))

    def _spf_pid(self, host: _Host, smtpd_pid: int) -> int:
        pid = host.spf_of_smtpd.get(smtpd_pid)
        if pid is None:
            pid = self._pid()
            host.spf_of_smtpd[smtpd_pid] = pid
        return pid

    # ------------------------------------------------------------ driver

    def run(self, lines: int) -> GroundTruth:
        """Generate sessions until about ``lines`` lines were produced.

        Args:
            lines: Target number of lines.

        Returns:
            The ground truth of what was written.

        """
        r = self.r
        t_next = self.start_us + int(r() * 2_000_000)
        t_cron = self.start_us + (600 - (self.start_us // 1_000_000) % 600) * 1_000_000
        t_anvil = self.start_us + int((300 + r() * 600) * 1_000_000)
        pending = self.pending
        queue = self.lines_out
        while self.emitted + len(queue) < lines:
            if (
                pending
                and pending[0][0] <= t_next
                and pending[0][0] <= t_cron
                and pending[0][0] <= t_anvil
            ):
                t0, _, what, args = heapq.heappop(pending)
                self._retry(t0, what, args)
            elif t_cron <= t_next and t_cron <= t_anvil:
                self._cron(t_cron)
                t_cron += 600_000_000
            elif t_anvil <= t_next:
                self._anvil(t_anvil)
                t_anvil += int((400 + r() * 500) * 1_000_000)
            else:
                t0 = t_next
                if len(queue) > _DRAIN_AT:
                    # all lines generated from here on are at t0 or later
                    self.drain(t0)
                self._session(t0)
                hour = (t0 // 3_600_000_000) % 24
                gap = -math.log(1.0 - r()) * _MEAN_GAP_US / _DIURNAL[hour]
                t_next = t0 + 1 + int(gap)
        self.drain(1 << 62)
        self.flush()
        return GroundTruth.from_counts(
            self.counts,
            seed=self.seed,
            style=self.style,
            hosts=[h.name for h in self.hosts],
            first_ts=_iso(self.first_us),
            last_ts=_iso(self.last_us),
            accepted_bytes=self.accepted_bytes,
        )

    def _schedule(self, t: int, what: int, args: tuple[object, ...]) -> None:
        self.pending_seq += 1
        heapq.heappush(self.pending, (t, self.pending_seq, what, args))

    def _host(self) -> _Host:
        hosts = self.hosts
        if len(hosts) == 1:
            return hosts[0]
        return hosts[int(self.r() * len(hosts))]

    def _session(self, t: int) -> None:
        x = self.r()
        host = self._host()
        if x < 0.36:
            self._postscreen_bot(t, host)
        elif x < 0.49:
            self._bot_smtpd(t, host)
        elif x < 0.81:
            self._legit_arrival(t, host, self.legit[int(len(self.legit) * self.r() ** 1.6)])
        elif x < 0.88:
            self._snowshoe(t, host)
        elif x < 0.89:
            self._allowlisted(t, host)
        elif x < 0.893:
            self._denylisted(t, host)
        elif x < 0.913:
            self._submission(t, host)
        elif x < 0.93:
            self._sasl_bruteforce(t, host)
        elif x < 0.985:
            self._imap(t, host)
        else:
            self._smtpd_scanner(t, host)

    # pending kinds
    _RETRY_POSTSCREEN = 0
    _RETRY_GREYLIST = 1

    def _retry(self, t: int, what: int, args: tuple[object, ...]) -> None:
        host = args[0]
        client = args[1]
        assert isinstance(host, _Host) and isinstance(client, _Client)
        if what == self._RETRY_POSTSCREEN:
            self._postscreen_pass_old(t, host, client)
        else:
            sender = args[2]
            rcpts = args[3]
            first = args[4]
            assert isinstance(sender, str) and isinstance(rcpts, tuple) and isinstance(first, int)
            self._postscreen_pass_old(t, host, client, sender=sender, rcpts=rcpts, first=first)

    # -------------------------------------------------------- postscreen

    def _ps_connect(self, t: int, host: _Host, c: _Client) -> tuple[str, int]:
        port = 1024 + int(self.r() * 64000)
        ap = f"[{c.ip}]:{port}"
        self.emit(t, PS_CONNECT, host, host.postscreen_pid, f"CONNECT from {ap} to [{host.ip}]:25")
        return ap, t

    def _dnsblog(
        self, t: int, host: _Host, ip: str, listings: Sequence[tuple[int, str, str]]
    ) -> int:
        r = self.r
        for sid, zone, code in listings:
            t += 20_000 + int(r() * 150_000)
            pid = host.dnsblog[int(r() * len(host.dnsblog))]
            self.emit(t, sid, host, pid, f"addr {ip} listed by domain {zone} as {code}")
        return t

    def _bot_listings(self) -> tuple[list[tuple[int, str, str]], int]:
        r = self.r
        out: list[tuple[int, str, str]] = []
        rank = 0
        if r() < 0.75:
            rank += 3
            for code in ("127.0.0.4", "127.0.0.3", "127.0.0.11", "127.0.0.10", "127.0.0.2"):
                if r() < 0.45 or not out:
                    out.append((DNSBL_ZEN, _ZEN, code))
                if r() < 0.4:
                    break
        if r() < 0.55:
            rank += 2
            out.append((DNSBL_BARRACUDA, _BARRACUDA, "127.0.0.2"))
        if r() < 0.35:
            rank += 1
            out.append((DNSBL_SPAMCOP, _SPAMCOP, "127.0.0.2"))
        return out, rank

    def _bot_envelope(self, c: _Client) -> tuple[str, str]:
        r = self.r
        sender = c.senders[0] if r() < 0.9 else ""
        x = r()
        if x < 0.6:
            rcpt = self._pick_user()
        elif x < 0.9:
            rcpt = f"{self._pick(_UNKNOWN_USERS)}@{self._pick(_HOSTED_DOMAINS)}"
        else:
            rcpt = f"{self._pick(_USERS)}@{self._pick(_ORG_WORDS)}.example.net"
        return sender, rcpt

    def _ps_reject(self, t: int, host: _Host, sid: int, ap: str, reply: str, c: _Client) -> None:
        sender, rcpt = self._bot_envelope(c)
        proto = "ESMTP" if self.r() < 0.8 else "SMTP"
        self.emit(
            t,
            sid,
            host,
            host.postscreen_pid,
            f"NOQUEUE: reject: RCPT from {ap}: {reply}; from=<{sender}>, to=<{rcpt}>, "
            f"proto={proto}, helo=<{c.helo}>",
        )

    def _some_bot(self) -> _Client:
        """Return a botnet client; bots come back, so part of them are reused."""
        bots = self.bots
        if len(bots) < 20_000:
            c = self._make_bot()
            bots.append(c)
            return c
        i = int(self.r() * 40_000)
        if i < 20_000:
            return bots[i]
        c = self._make_bot()
        bots[i - 20_000] = c
        return c

    def _postscreen_bot(self, t: int, host: _Host) -> None:
        r = self.r
        c = self._some_bot()
        pid = host.postscreen_pid
        x = r()
        ap, t = self._ps_connect(t, host, c)
        if x < 0.40:
            listings, rank = self._bot_listings()
            if rank < 3:
                listings.append((DNSBL_ZEN, _ZEN, "127.0.0.4"))
                rank += 3
            t0 = t
            t = self._dnsblog(t, host, c.ip, listings)
            t += 200_000 + int(r() * 5_000_000)
            if r() < 0.3:
                greet = f"EHLO {c.helo}\\r\\n"
                self.emit(
                    t,
                    PS_PREGREET,
                    host,
                    pid,
                    f"PREGREET {len(c.helo) + 7} after {_fmt_after(t - t0)} from {ap}: {greet}",
                )
            t += 1000 + int(r() * 20_000)
            self.emit(t, PS_DNSBL, host, pid, f"DNSBL rank {rank} for {ap}")
            t += 300_000 + int(r() * 2_000_000)
            if r() < 0.6:
                # postscreen names the first listing site it heard back from
                zone = listings[0][1]
                self._ps_reject(
                    t,
                    host,
                    _PS_REJ_DNSBL_BY_ZONE[zone],
                    ap,
                    f"550 5.7.1 Service unavailable; client [{c.ip}] blocked using {zone}",
                    c,
                )
            else:
                self.emit(
                    t,
                    PS_HANGUP,
                    host,
                    pid,
                    f"HANGUP after {_fmt_after(t - t0)} from {ap} in tests after SMTP handshake",
                )
        elif x < 0.55:
            t0 = t
            t += 50_000 + int(r() * 3_000_000)
            greet = self._pick(
                ("EHLO User", "HELO localhost", "EHLO ylmf-pc", "QUIT", "\\x16\\x03\\x01")
            )
            n = len(greet.replace("\\x16\\x03\\x01", "xxx")) + 2
            self.emit(
                t,
                PS_PREGREET,
                host,
                pid,
                f"PREGREET {n} after {_fmt_after(t - t0)} from {ap}: {greet}\\r\\n",
            )
            t += 1_000_000 + int(r() * 5_000_000)
            if r() < 0.5:
                self._ps_reject(t, host, PS_REJ_PROTOCOL, ap, "550 5.5.1 Protocol error", c)
            else:
                self.emit(
                    t,
                    PS_HANGUP,
                    host,
                    pid,
                    f"HANGUP after {_fmt_after(t - t0)} from {ap} in tests after SMTP handshake",
                )
        elif x < 0.73:
            t0 = t
            if r() < 0.4:
                listings, _ = self._bot_listings()
                t = self._dnsblog(t, host, c.ip, listings[:1])
            t = t0 + 100_000 + int(r() * 5_500_000)
            self.emit(
                t,
                PS_HANGUP,
                host,
                pid,
                f"HANGUP after {_fmt_after(t - t0)} from {ap} in tests before SMTP handshake",
            )
        elif x < 0.80:
            t += 6_000_000 + int(r() * 300_000)
            sender, rcpt = self._bot_envelope(c)
            self.emit(
                t,
                PS_PIPELINING,
                host,
                pid,
                f"COMMAND PIPELINING from {ap} after EHLO: MAIL FROM:<{sender}>\\r\\nRCPT "
                f"TO:<{rcpt}>\\r\\n",
            )
            t += 10_000 + int(r() * 400_000)
            self._ps_reject(t, host, PS_REJ_PROTOCOL, ap, "550 5.5.1 Protocol error", c)
        elif x < 0.85:
            t += 6_000_000 + int(r() * 300_000)
            cmd = self._pick(
                (
                    "GET / HTTP/1.1",
                    "CONNECT 203.0.113.80:25 HTTP/1.0",
                    "POST /cgi-bin/ HTTP/1.1",
                    "User-Agent: Mozilla/5.0",
                )
            )
            self.emit(t, PS_NON_SMTP, host, pid, f"NON-SMTP COMMAND from {ap} after CONNECT: {cmd}")
        elif x < 0.96:
            t += 6_000_000 + int(r() * 300_000)
            self.emit(t, PS_PASS_NEW, host, pid, f"PASS NEW {ap}")
            t += 300_000 + int(r() * 1_500_000)
            self._ps_reject(
                t, host, PS_REJ_PENDING, ap, "450 4.3.2 Service currently unavailable", c
            )
        elif x < 0.975:
            t += 6_000_000 + int(r() * 300_000)
            sender, _ = self._bot_envelope(c)
            self.emit(
                t, PS_BARE_NEWLINE, host, pid, f"BARE NEWLINE from {ap} after MAIL FROM:<{sender}>"
            )
            t += 10_000 + int(r() * 300_000)
            self._ps_reject(t, host, PS_REJ_PROTOCOL, ap, "550 5.5.1 Protocol error", c)
        elif x < 0.99:
            t += 6_000_000 + int(r() * 300_000)
            self.emit(t, PS_PASS_NEW, host, pid, f"PASS NEW {ap}")
            t += 300_000_000
            self.emit(t, PS_TIME_LIMIT, host, pid, f"COMMAND TIME LIMIT from {ap} after RCPT")
        else:
            t += 1000 + int(r() * 5000)
            self.emit(
                t,
                PS_REJ_TOO_MANY,
                host,
                pid,
                f"NOQUEUE: reject: CONNECT from {ap}: too many connections",
            )
        t += 1000 + int(r() * 300_000)
        self.emit(t, PS_DISCONNECT, host, pid, f"DISCONNECT {ap}")

    def _postscreen_pass_old(
        self,
        t: int,
        host: _Host,
        c: _Client,
        *,
        sender: str | None = None,
        rcpts: tuple[str, ...] | None = None,
        first: int = 0,
    ) -> None:
        ap, t = self._ps_connect(t, host, c)
        t += 500 + int(self.r() * 3000)
        self.emit(t, PS_PASS_OLD, host, host.postscreen_pid, f"PASS OLD {ap}")
        self._smtpd_inbound(
            t + 300 + int(self.r() * 2000), host, c, sender=sender, rcpts=rcpts, first=first
        )

    def _legit_arrival(self, t: int, host: _Host, c: _Client) -> None:
        r = self.r
        pid = host.postscreen_pid
        if c.ip in host.ps_passed:
            self._postscreen_pass_old(t, host, c)
            return
        ap, t0 = self._ps_connect(t, host, c)
        host.ps_passed.add(c.ip)
        if c.dnswl:
            t = self._dnsblog(
                t0, host, c.ip, [(DNSBL_DNSWL, _DNSWL, f"127.0.{int(r() * 10)}.{2 + int(r() * 2)}")]
            )
            t += 1000 + int(r() * 5000)
            self.emit(t, PS_PASS_NEW, host, pid, f"PASS NEW {ap}")
            self._smtpd_inbound(t + 300 + int(r() * 2000), host, c)
            return
        t = t0 + 6_000_000 + int(r() * 200_000)
        self.emit(t, PS_PASS_NEW, host, pid, f"PASS NEW {ap}")
        t += 200_000 + int(r() * 800_000)
        sender = c.senders[int(r() * len(c.senders))]
        rcpt = c.rcpts[0]
        self.emit(
            t,
            PS_REJ_PENDING,
            host,
            pid,
            f"NOQUEUE: reject: RCPT from {ap}: 450 4.3.2 Service currently unavailable; "
            f"from=<{sender}>, to=<{rcpt}>, proto=ESMTP, helo=<{c.helo}>",
        )
        t += 20_000 + int(r() * 200_000)
        self.emit(t, PS_DISCONNECT, host, pid, f"DISCONNECT {ap}")
        self._schedule(t + int((60 + r() * 1500) * 1_000_000), self._RETRY_POSTSCREEN, (host, c))

    def _allowlisted(self, t: int, host: _Host) -> None:
        c = self.partners[int(self.r() * len(self.partners))]
        ap, t = self._ps_connect(t, host, c)
        t += 200 + int(self.r() * 1000)
        self.emit(t, PS_ALLOWLISTED, host, host.postscreen_pid, f"ALLOWLISTED {ap}")
        self._smtpd_inbound(t + 300 + int(self.r() * 2000), host, c)

    def _denylisted(self, t: int, host: _Host) -> None:
        r = self.r
        c = self._make_bot()
        ap, t = self._ps_connect(t, host, c)
        t += 200 + int(r() * 1000)
        pid = host.postscreen_pid
        self.emit(t, PS_DENYLISTED, host, pid, f"DENYLISTED {ap}")
        if r() < 0.5:
            t += 500_000 + int(r() * 2_000_000)
            self._ps_reject(
                t, host, PS_REJ_DENYLIST, ap, "550 5.3.2 Service currently unavailable", c
            )
        t += 1000 + int(r() * 300_000)
        self.emit(t, PS_DISCONNECT, host, pid, f"DISCONNECT {ap}")

    # ------------------------------------------------------------ smtpd

    def _smtpd_open(
        self, t: int, host: _Host, c: _Client, pool: _Pool, connect_sid: int, tls_sid: int
    ) -> tuple[int, int]:
        pid = self._acquire(host, pool, t)
        if c.resolve_warning:
            self.emit(
                t,
                SMTPD_WARN_RESOLVE,
                host,
                pid,
                f"warning: hostname {c.resolve_warning} does not resolve to address {c.ip}"
                + (": Name or service not known" if self.r() < 0.7 else ""),
            )
        self.emit(t, connect_sid, host, pid, f"connect from {c.namaddr}")
        return pid, t

    def _tls(self, t: int, host: _Host, pid: int, sid: int, c: _Client) -> int:
        t += 60_000 + int(self.r() * 250_000)
        suite = _TLS13 if self.r() < 0.8 else _TLS12
        self.emit(
            t, sid, host, pid, f"Anonymous TLS connection established from {c.namaddr}: {suite}"
        )
        return t

    def _disconnect(
        self, t: int, host: _Host, pool: _Pool, pid: int, sid: int, c: _Client, stats: str
    ) -> None:
        self.emit(t, sid, host, pid, f"disconnect from {c.namaddr}{stats}")
        self._release(pool, pid, t)

    def _smtpd_inbound(
        self,
        t: int,
        host: _Host,
        c: _Client,
        *,
        sender: str | None = None,
        rcpts: tuple[str, ...] | None = None,
        first: int = 0,
    ) -> None:
        """Let a client past postscreen talk to smtpd and (usually) deliver mail."""
        r = self.r
        pool = host.smtpd
        pid, t = self._smtpd_open(t, host, c, pool, SMTPD_CONNECT, SMTPD_TLS)
        tls = int(c.tls)
        if tls:
            t = self._tls(t, host, pid, SMTPD_TLS, c)
        if sender is None:
            sender = c.senders[int(r() * len(c.senders))] if r() < 0.97 else ""
        if rcpts is None:
            x = r()
            k = 1 if x < 0.75 else (2 if x < 0.93 else 3)
            pool_rcpts = c.rcpts or (self._pick_user(),)
            picked: list[str] = []
            for _ in range(k):
                rc = pool_rcpts[int(r() * len(pool_rcpts))] if r() < 0.9 else self._pick_user()
                if rc not in picked:
                    picked.append(rc)
            rcpts = tuple(picked)
        helo = c.helo
        trailer_from = f"from=<{sender}>"
        t += 150_000 + int(r() * 500_000)
        # Optional reject_warning (warn_if_reject) before the first RCPT verdict.
        if r() < 0.025:
            if c.name == "unknown" or r() < 0.5:
                self.emit(
                    t,
                    W_CLIENT_REVERSE,
                    host,
                    pid,
                    f"NOQUEUE: reject_warning: RCPT from {c.namaddr}: 450 4.7.1 Client host "
                    "rejected: "
                    f"cannot find your reverse hostname, [{c.ip}]; {trailer_from} to=<{rcpts[0]}> "
                    f"proto=ESMTP helo=<{helo}>",
                )
            else:
                self.emit(
                    t,
                    W_HELO_UNKNOWN,
                    host,
                    pid,
                    f"NOQUEUE: reject_warning: RCPT from {c.namaddr}: 450 4.7.1 <{helo}>: Helo "
                    "command rejected: "
                    f"Host not found; {trailer_from} to=<{rcpts[0]}> proto=ESMTP helo=<{helo}>",
                )
        qid = ""
        accepted: list[str] = []
        greylisted: list[str] = []
        rcpt_total = 0
        spf_logged = False
        spf_pid = self._spf_pid(host, pid)
        for rc in rcpts:
            rcpt_total += 1
            t += 20_000 + int(r() * 120_000)
            # reject_unlisted_recipient: an occasional typo
            if r() < 0.012:
                bad = f"{self._pick(_UNKNOWN_USERS)}@{rc.split('@', 1)[1]}"
                self.emit(
                    t,
                    R_UNLISTED,
                    host,
                    pid,
                    f"NOQUEUE: reject: RCPT from {c.namaddr}: 550 5.1.1 <{bad}>: Recipient address "
                    "rejected: "
                    f"User unknown in virtual mailbox table; {trailer_from} to=<{bad}> proto=ESMTP "
                    f"helo=<{helo}>",
                )
                continue
            # policyd-spf (logged once per transaction)
            if not spf_logged:
                spf_logged = True
                t += 5_000 + int(r() * 80_000)
                if sender:
                    res = c.spf
                    what = f"{_SPF_WORD[res]} (mailfrom) identity=mailfrom"
                else:
                    # null sender: spf-engine reports the HELO identity (explanation in parentheses)
                    res = SPF_NONE
                    what = "None (no SPF record) identity=helo"
                self.emit(
                    t,
                    res,
                    host,
                    spf_pid,
                    f"prepend Received-SPF: {what}; client-ip={c.ip}; helo={helo}; "
                    f"envelope-from={sender or '<>'}; receiver=<UNKNOWN> ",
                )
            # postgrey
            t += 1_000 + int(r() * 20_000)
            rdom = rc.split("@", 1)[1]
            pg_prefix = f"{qid}: " if qid else ""
            pg_tail = f"client_name={c.name}, client_address={c.ip}, " + (
                f"sender={sender}, recipient={rc}" if sender else f"recipient={rc}"
            )
            key = f"{c.ip}/{sender}/{rc}"
            if c.pg_whitelist:
                self.emit(
                    t,
                    G_PASS_WHITELIST,
                    host,
                    host.postgrey_pid,
                    f"{pg_prefix}action=pass, reason=client whitelist, {pg_tail}",
                )
            elif c.awl >= 5:
                self.emit(
                    t,
                    G_PASS_AWL,
                    host,
                    host.postgrey_pid,
                    f"{pg_prefix}action=pass, reason=client AWL, {pg_tail}",
                )
            elif first:
                delay = (t - first) // 1_000_000
                if delay < 300:
                    self.emit(
                        t,
                        G_EARLY,
                        host,
                        host.postgrey_pid,
                        f"{pg_prefix}action=greylist, reason=early-retry ({300 - delay}s missing), "
                        f"{pg_tail}",
                    )
                    greylisted.append(rc)
                    self._greylist_reject(
                        t + 500 + int(r() * 3000), host, pid, c, rc, rdom, trailer_from
                    )
                    continue
                self.emit(
                    t,
                    G_PASS_DELAY,
                    host,
                    host.postgrey_pid,
                    f"{pg_prefix}action=pass, reason=triplet found, delay={delay}, {pg_tail}",
                )
                host.triplets.add(key)
                c.awl += 1
                if c.awl == 5:
                    self.emit(
                        t, G_WHITELISTED, host, host.postgrey_pid, f"whitelisted: {c.namaddr}"
                    )
            elif key in host.triplets:
                self.emit(
                    t,
                    G_PASS_TRIPLET,
                    host,
                    host.postgrey_pid,
                    f"{pg_prefix}action=pass, reason=triplet found, {pg_tail}",
                )
            else:
                self.emit(
                    t,
                    G_NEW,
                    host,
                    host.postgrey_pid,
                    f"{pg_prefix}action=greylist, reason=new, {pg_tail}",
                )
                greylisted.append(rc)
                self._greylist_reject(
                    t + 500 + int(r() * 3000), host, pid, c, rc, rdom, trailer_from
                )
                continue
            t += 500 + int(r() * 3000)
            if not qid:
                qid = self._qid(t)
                self.emit(t, SMTPD_CLIENT, host, pid, f"{qid}: client={c.namaddr}")
            accepted.append(rc)
        if greylisted and c.cls != _BOT:
            if r() < 0.12:
                # too early: postgrey answers reason=early-retry
                retry_at = t + int((60 + r() * 220) * 1_000_000)
            else:
                retry_at = t + int((300 + r() * 900) * 1_000_000)
            if c.cls == _LEGIT or r() < 0.5:
                self._schedule(
                    retry_at, self._RETRY_GREYLIST, (host, c, sender, tuple(greylisted), first or t)
                )
        mail_ok = 1
        stats_rcpt = (len(accepted), rcpt_total)
        if accepted:
            t, data_ok = self._data_phase(t, host, pid, c, qid, sender, accepted)
            t += 30_000 + int(r() * 200_000)
            stats = [
                ("ehlo", 1 + tls, 1 + tls),
                ("starttls", tls, tls),
                ("mail", mail_ok, 1),
                ("rcpt", stats_rcpt[0], stats_rcpt[1]),
                ("data", data_ok, 1),
                ("quit", 1, 1),
            ]
        else:
            t += 20_000 + int(r() * 200_000)
            stats = [
                ("ehlo", 1 + tls, 1 + tls),
                ("starttls", tls, tls),
                ("mail", mail_ok, 1),
                ("rcpt", 0, rcpt_total),
                ("rset", 1, 1),
                ("quit", 1, 1),
            ]
        self._disconnect(t, host, pool, pid, SMTPD_DISCONNECT, c, _cmd_stats(tuple(stats)))

    def _greylist_reject(
        self, t: int, host: _Host, pid: int, c: _Client, rc: str, rdom: str, trailer_from: str
    ) -> None:
        self.emit(
            t,
            R_GREYLIST,
            host,
            pid,
            f"NOQUEUE: reject: RCPT from {c.namaddr}: 450 4.2.0 <{rc}>: Recipient address "
            "rejected: "
            f"Greylisted, see http://postgrey.schweikert.ch/help/{rdom}.html; {trailer_from} "
            f"to=<{rc}> "
            f"proto=ESMTP helo=<{c.helo}>",
        )

    def _size(self) -> int:
        return max(700, min(30_000_000, int(math.exp(self.rng.gauss(9.0, 1.25)))))

    def _data_phase(
        self, t: int, host: _Host, pid: int, c: _Client, qid: str, sender: str, rcpts: list[str]
    ) -> tuple[int, int]:
        """Run DATA of an accepted transaction; return (time, data_ok)."""
        r = self.r
        trailer = f"from=<{sender}> to=<{rcpts[0]}> proto=ESMTP helo=<{c.helo}>"
        cleanup_pid = host.cleanup[int(r() * len(host.cleanup))]
        if c.cls == _SNOWSHOE:
            x = r()
            if x < 0.12:
                t += 2_000 + int(r() * 20_000)
                self.emit(
                    t,
                    SMTPD_PIPELINING_INFO,
                    host,
                    pid,
                    f"improper command pipelining after RCPT from {c.namaddr}: DATA\\r\\n",
                )
                t += 500 + int(r() * 5_000)
                rc_part = f" to=<{rcpts[0]}>" if len(rcpts) == 1 else ""
                self.emit(
                    t,
                    R_DATA_PIPELINING,
                    host,
                    pid,
                    f"{qid}: reject: DATA from {c.namaddr}: 503 5.5.0 <DATA>: Data command "
                    "rejected: "
                    f"Improper use of SMTP command pipelining; from=<{sender}>{rc_part} "
                    f"proto=ESMTP helo=<{c.helo}>",
                )
                return t, 0
            if x < 0.50:
                t += 200_000 + int(r() * 2_000_000)
                y = r()
                if y < 0.55:
                    subj = self._pick(_SUBJECT_SPAM)
                    text = "5.7.1 message content rejected" if r() < 0.6 else "5.7.1 Spam subject"
                    self.emit(
                        t,
                        C_HEADER_REJECT,
                        host,
                        cleanup_pid,
                        f"{qid}: reject: header Subject: {subj} from {c.namaddr}; {trailer}: "
                        f"{text}",
                    )
                elif y < 0.75:
                    self.emit(
                        t,
                        C_MIME_REJECT,
                        host,
                        cleanup_pid,
                        f"{qid}: reject: header {self._pick(_MIME_SPAM)} from {c.namaddr}; "
                        f"{trailer}: "
                        "5.7.1 Attachment type not allowed",
                    )
                elif y < 0.85:
                    self.emit(
                        t,
                        C_BODY_REJECT,
                        host,
                        cleanup_pid,
                        f"{qid}: reject: body {self._pick(_BODY_SPAM)} from {c.namaddr}; "
                        f"{trailer}: "
                        "5.7.1 message content rejected",
                    )
                else:
                    self.emit(
                        t,
                        C_MESSAGE_ID,
                        host,
                        cleanup_pid,
                        f"{qid}: message-id=<{self._msgid(c.domain, t)}>",
                    )
                    t += 100_000 + int(r() * 900_000)
                    self.emit(
                        t,
                        C_MILTER_REJECT,
                        host,
                        cleanup_pid,
                        f"{qid}: milter-reject: END-OF-MESSAGE from {c.namaddr}: 5.7.1 Spam "
                        f"message rejected; {trailer}",
                    )
                return t, 0
        t += 100_000 + int(r() * 800_000)
        msgid = self._msgid(c.domain, t)
        self.emit(t, C_MESSAGE_ID, host, cleanup_pid, f"{qid}: message-id=<{msgid}>")
        t_arrival = t - int(r() * 500_000)
        t += 100_000 + int(r() * 1_500_000)
        self._queue_and_deliver(t, host, qid, sender, rcpts, t_arrival, msgid)
        return t, 1

    def _queue_and_deliver(
        self,
        t: int,
        host: _Host,
        qid: str,
        sender: str,
        rcpts: Sequence[str],
        t_arrival: int,
        msgid: str,
    ) -> None:
        """Qmgr activation, one delivery per recipient, then removal."""
        r = self.r
        size = self._size()
        self.accepted_bytes += size
        t += 1_000 + int(r() * 20_000)
        self.emit(
            t,
            Q_ACTIVE,
            host,
            host.qmgr_pid,
            f"{qid}: from=<{sender}>, size={size}, nrcpt={len(rcpts)} (queue active)",
        )
        t_active = t
        t_end = t
        for rc in rcpts:
            local, dom = rc.split("@", 1)
            b = 1_000 + int(r() * 30_000)
            c_ = int(r() * 20_000)
            d = 5_000 + int(r() * 150_000) + size // 40
            te = t_active + b + c_ + d
            a = t_active - t_arrival
            delays = f"{_fmt_delay(a)}/{_fmt_delay(b)}/{_fmt_delay(c_)}/{_fmt_delay(d)}"
            delay = _fmt_delay(te - t_arrival)
            x = r()
            if dom.endswith(".example.net") or dom.endswith(".test") or dom == "example":
                # outbound mail (submission)
                te = self._deliver_smtp(te, host, qid, rc, "", delays, delay, sender)
            elif x < 0.06:
                fwd = f"{local.replace('.', '')}@{self._pick(_ORG_WORDS)}-mail.example.net"
                te = self._deliver_smtp(te, host, qid, fwd, rc, delays, delay, sender)
            elif dom == "example.org":
                pid = host.virtual[int(r() * len(host.virtual))]
                self.emit(
                    te,
                    D_VIRTUAL_SENT,
                    host,
                    pid,
                    f"{qid}: to=<{rc}>, relay=virtual, delay={delay}, delays={delays}, dsn=2.0.0, "
                    "status=sent (delivered to maildir)",
                )
            else:
                pid = host.lmtp[int(r() * len(host.lmtp))]
                guid = self._token(22)
                self.emit_nopid(
                    te - 2_000,
                    DOV_LMTP_SAVED,
                    host,
                    f"lmtp({rc})<{1000 + int(r() * 60000)}><{guid}>: msgid=<{msgid}>: saved mail "
                    "to INBOX",
                )
                self.emit(
                    te,
                    D_LMTP_SENT,
                    host,
                    pid,
                    f"{qid}: to=<{rc}>, relay={host.fqdn}[private/dovecot-lmtp], delay={delay}, "
                    f"delays={delays}, dsn=2.0.0, status=sent (250 2.0.0 <{rc}> {guid} Saved)",
                )
            t_end = max(t_end, te)
        self.emit(t_end + 200 + int(r() * 2000), Q_REMOVED, host, host.qmgr_pid, f"{qid}: removed")

    def _deliver_smtp(
        self,
        t: int,
        host: _Host,
        qid: str,
        to: str,
        orig_to: str,
        delays: str,
        delay: str,
        sender: str,
    ) -> int:
        r = self.r
        pid = host.smtp[int(r() * len(host.smtp))]
        dom = to.split("@", 1)[1]
        ip = f"203.0.113.{1 + int(r() * 254)}"
        relay = f"mx{int(r() * 3)}.{dom}[{ip}]:25"
        t += 50_000 + int(r() * 400_000)
        if r() < 0.7:
            self.emit(
                t - 40_000,
                SMTP_TLS,
                host,
                pid,
                f"Trusted TLS connection established to {relay}: {_TLS13_OUT}",
            )
        orig = f", orig_to=<{orig_to}>" if orig_to else ""
        if r() < 0.04 and sender:
            self.emit(
                t,
                D_SMTP_BOUNCED,
                host,
                pid,
                f"{qid}: to=<{to}>{orig}, relay={relay}, delay={delay}, delays={delays}, "
                "dsn=5.1.1, "
                f"status=bounced (host {relay[:-3]} said: 550 5.1.1 <{to}>: Recipient address "
                "rejected: "
                "User unknown in local recipient table (in reply to RCPT TO command))",
            )
            t += 2_000 + int(r() * 10_000)
            ndr = self._qid(t)
            self.emit(
                t, B_NDR, host, host.bounce[0], f"{qid}: sender non-delivery notification: {ndr}"
            )
            cpid = host.cleanup[int(r() * len(host.cleanup))]
            self.emit(
                t - 1_000,
                C_MESSAGE_ID,
                host,
                cpid,
                f"{ndr}: message-id=<{self._msgid(host.fqdn, t)}>",
            )
            t2 = t + 1_000 + int(r() * 10_000)
            size = 2_500 + int(r() * 4_000)
            self.accepted_bytes += size
            self.emit(
                t2,
                Q_ACTIVE,
                host,
                host.qmgr_pid,
                f"{ndr}: from=<>, size={size}, nrcpt=1 (queue active)",
            )
            sdom = sender.split("@", 1)[1] if "@" in sender else "example.net"
            rip = f"198.51.100.{1 + int(r() * 254)}"
            t3 = t2 + 200_000 + int(r() * 900_000)
            d = _fmt_delay(t3 - t + 1_000)
            self.emit(
                t3,
                D_SMTP_SENT,
                host,
                host.smtp[int(r() * len(host.smtp))],
                f"{ndr}: to=<{sender}>, relay=mail.{sdom}[{rip}]:25, delay={d}, "
                f"delays=0/0/0.1/{_fmt_delay(t3 - t2)}, "
                f"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self._alnum(12)})",
            )
            self.emit(t3 + 500, Q_REMOVED, host, host.qmgr_pid, f"{ndr}: removed")
            return t
        reply = (
            f"250 2.0.0 OK  {t // 1_000_000} {self._alnum(10).lower()}.{int(r() * 900)} - gsmtp"
            if r() < 0.4
            else f"250 2.0.0 Ok: queued as {self._alnum(12)}"
        )
        self.emit(
            t,
            D_SMTP_SENT,
            host,
            pid,
            f"{qid}: to=<{to}>{orig}, relay={relay}, delay={delay}, delays={delays}, dsn=2.0.0, "
            f"status=sent ({reply})",
        )
        return t

    # --------------------------------------------------- bots at smtpd

    def _bot_smtpd(self, t: int, host: _Host) -> None:
        """Let a botnet client that got past postscreen meet smtpd restrictions."""
        r = self.r
        x = r()
        # choose the verdict first, then a client consistent with it
        c = self._make_bot(named=x >= 0.25)
        ap, t = self._ps_connect(t, host, c)
        t += 500 + int(r() * 3000)
        self.emit(t, PS_PASS_OLD, host, host.postscreen_pid, f"PASS OLD {ap}")
        t += 300 + int(r() * 2000)
        pool = host.smtpd
        pid, t = self._smtpd_open(t, host, c, pool, SMTPD_CONNECT, SMTPD_TLS)
        tls = int(c.tls)
        if tls:
            t = self._tls(t, host, pid, SMTPD_TLS, c)
        sender, rcpt = self._bot_envelope(c)
        helo = c.helo
        if x >= 0.49 and "." not in helo:
            # got past the HELO restrictions, so it sent a plausible name
            helo = c.name if c.name != "unknown" else f"mail.{c.domain}"
        proto = "ESMTP" if r() < 0.85 else "SMTP"
        ehlo = "ehlo" if proto == "ESMTP" else "helo"
        t += 200_000 + int(r() * 900_000)
        nrcpt = 1
        mail_ok, mail_tot = 1, 1
        rcpt_ok = 0

        def rej(sid: int, reply: str, rc: str | None = None, stage: str = "RCPT") -> None:
            to = f" to=<{rc or rcpt}>" if stage == "RCPT" else ""
            self.emit(
                t,
                sid,
                host,
                pid,
                f"NOQUEUE: reject: {stage} from {c.namaddr}: {reply}; from=<{sender}>{to} "
                f"proto={proto} helo=<{helo}>",
            )

        if x < 0.25:
            rej(
                R_CLIENT_UNKNOWN,
                f"450 4.7.25 Client host rejected: cannot find your hostname, [{c.ip}]",
            )
        elif x < 0.27:
            rej(R_CLIENT_ACCESS, f"554 5.7.1 <{c.namaddr}>: Client host rejected: Access denied")
        elif x < 0.42:
            helo = self._pick(_BOT_HELOS_NON_FQDN)
            rej(
                R_HELO_NON_FQDN,
                f"504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname",
            )
        elif x < 0.45:
            helo = self._pick(_BOT_HELOS_INVALID)
            rej(R_HELO_INVALID, f"501 5.5.2 <{helo}>: Helo command rejected: Invalid name")
        elif x < 0.49:
            helo = self._pick(("example.com", "mx1.example.com", "192.0.2.1", "example.org"))
            rej(R_HELO_ACCESS, f"554 5.7.1 <{helo}>: Helo command rejected: You are not me")
        elif x < 0.67:
            y = r()
            if y < 0.5:
                zsid, zone = R_RBL_ZEN, _ZEN
                reason = (
                    f"https://www.spamhaus.org/query/ip/{c.ip}"
                    if r() < 0.7
                    else f"Listed by PBL; see https://check.spamhaus.org/query/ip/{c.ip}"
                )
            elif y < 0.8:
                zsid, zone = R_RBL_BARRACUDA, _BARRACUDA
                reason = f"http://www.barracudanetworks.com/reputation/?pr=1&ip={c.ip}"
            else:
                zsid, zone = R_RBL_SPAMCOP, _SPAMCOP
                reason = f"Blocked - see https://www.spamcop.net/bl.shtml?{c.ip}"
            rej(
                zsid,
                f"554 5.7.1 Service unavailable; Client host [{c.ip}] blocked using {zone}; "
                f"{reason}",
            )
        elif x < 0.70:
            dom = sender.split("@", 1)[1] if sender else c.domain
            if not sender:
                sender = f"info@{dom}"
            rej(
                R_RHSBL_SENDER,
                f"554 5.7.1 Service unavailable; Sender address [{sender}] blocked using {_DBL}; "
                f"https://www.spamhaus.org/query/domain/{dom}",
            )
        elif x < 0.75:
            sender = (
                f"{self._pick(_SENDER_LOCALS)}@{self._pick(_SPAM_WORDS)}{int(r() * 9999)}.invalid"
            )
            rej(
                R_SENDER_UNKNOWN, f"450 4.1.8 <{sender}>: Sender address rejected: Domain not found"
            )
        elif x < 0.77:
            sender = self._pick(
                ("root@localhost", "admin@mail", "user@WIN-7QK2LS3P1M", "www-data@server")
            )
            rej(
                R_SENDER_NON_FQDN,
                f"504 5.5.2 <{sender}>: Sender address rejected: need fully-qualified address",
            )
        elif x < 0.80:
            sender = f"{self._pick(_USERS)}@{self._pick(_HOSTED_DOMAINS)}"
            rej(R_SENDER_ACCESS, f"554 5.7.1 <{sender}>: Sender address rejected: Access denied")
        elif x < 0.85:
            rcpt = (
                f"{self._pick(_SENDER_LOCALS)}@{self._pick(_ORG_WORDS)}{int(r() * 99)}.example.net"
            )
            rej(R_RELAY, f"554 5.7.1 <{rcpt}>: Relay access denied")
        elif x < 0.93:
            nrcpt = 1 + int(r() * 6)
            for i in range(nrcpt):
                suffix = "" if i == 0 else str(i)
                rc = f"{self._pick(_UNKNOWN_USERS)}{suffix}@{self._pick(_HOSTED_DOMAINS)}"
                rej(
                    R_UNLISTED,
                    f"550 5.1.1 <{rc}>: Recipient address rejected: User unknown in virtual "
                    "mailbox table",
                    rc,
                )
                t += 50_000 + int(r() * 300_000)
        elif x < 0.935:
            bad = self._pick(("postmaster", "abuse", "info"))
            rej(
                R_RCPT_NON_FQDN,
                f"504 5.5.2 <{bad}>: Recipient address rejected: need fully-qualified address",
                bad,
            )
        elif x < 0.94:
            mail_ok = 0
            rej(R_SIZE, "552 5.3.4 Message size exceeds fixed limit", stage="MAIL")
            nrcpt = 0
        else:
            # greylisted bot: never comes back
            spf_pid = self._spf_pid(host, pid)
            t += 5_000 + int(r() * 50_000)
            self.emit(
                t,
                SPF_NONE,
                host,
                spf_pid,
                f"prepend Received-SPF: None (mailfrom) identity=mailfrom; client-ip={c.ip}; "
                f"helo={helo}; "
                f"envelope-from={sender or '<>'}; receiver=<UNKNOWN> ",
            )
            t += 1_000 + int(r() * 10_000)
            rdom = rcpt.split("@", 1)[1]
            pg = f"client_name={c.name}, client_address={c.ip}, " + (
                f"sender={sender}, recipient={rcpt}" if sender else f"recipient={rcpt}"
            )
            self.emit(t, G_NEW, host, host.postgrey_pid, f"action=greylist, reason=new, {pg}")
            t += 500 + int(r() * 3000)
            rej(
                R_GREYLIST,
                f"450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
                f"http://postgrey.schweikert.ch/help/{rdom}.html",
            )
        t += 30_000 + int(r() * 400_000)
        y = r()
        if y < 0.35:
            self.emit(
                t,
                SMTPD_LOST,
                host,
                pid,
                f"lost connection after {'RCPT' if nrcpt else 'MAIL'} from {c.namaddr}",
            )
            quit_ = 0
        elif y < 0.40 and nrcpt > 3:
            self.emit(
                t, SMTPD_TOO_MANY_ERRORS, host, pid, f"too many errors after RCPT from {c.namaddr}"
            )
            quit_ = 0
        else:
            quit_ = 1
        t += 100 + int(r() * 2000)
        stats = [
            (ehlo, 1 + tls, 1 + tls),
            ("starttls", tls, tls),
            ("mail", mail_ok, mail_tot),
            ("rcpt", rcpt_ok, nrcpt),
            ("quit", quit_, quit_),
        ]
        self._disconnect(t, host, pool, pid, SMTPD_DISCONNECT, c, _cmd_stats(tuple(stats)))

    def _smtpd_scanner(self, t: int, host: _Host) -> None:
        """Port scanners and broken TLS clients: noise only, plus connect/disconnect."""
        r = self.r
        c = self._make_bot()
        ap, t = self._ps_connect(t, host, c)
        t += 500 + int(r() * 3000)
        self.emit(t, PS_PASS_OLD, host, host.postscreen_pid, f"PASS OLD {ap}")
        t += 300 + int(r() * 2000)
        pool = host.smtpd
        pid, t = self._smtpd_open(t, host, c, pool, SMTPD_CONNECT, SMTPD_TLS)
        x = r()
        t += 100_000 + int(r() * 2_000_000)
        if x < 0.35:
            self.emit(
                t, SMTPD_SSL_ERROR, host, pid, f"SSL_accept error from {c.namaddr}: lost connection"
            )
            self.emit(
                t + 100, SMTPD_LOST, host, pid, f"lost connection after STARTTLS from {c.namaddr}"
            )
            stats = [("ehlo", 1, 1), ("starttls", 1, 1)]
        elif x < 0.5:
            self.emit(
                t,
                SMTPD_TLS_WARNING,
                host,
                pid,
                "warning: TLS library problem: error:0A000076:SSL routines::no suitable signature "
                "algorithm:../ssl/t1_lib.c:3330:",
            )
            self.emit(
                t + 100, SMTPD_LOST, host, pid, f"lost connection after STARTTLS from {c.namaddr}"
            )
            stats = [("ehlo", 1, 1), ("starttls", 0, 1)]
        elif x < 0.8:
            self.emit(t, SMTPD_LOST, host, pid, f"lost connection after EHLO from {c.namaddr}")
            stats = [("ehlo", 1, 1)]
        else:
            t += 300_000_000
            self.emit(t, SMTPD_TIMEOUT, host, pid, f"timeout after CONNECT from {c.namaddr}")
            stats = []
        t += 100 + int(r() * 2000)
        self._disconnect(t, host, pool, pid, SMTPD_DISCONNECT, c, _cmd_stats(tuple(stats)))

    def _snowshoe(self, t: int, host: _Host) -> None:
        """Snowshoe spam: clean-looking MTAs caught by rbl/spf/greylist/content."""
        r = self.r
        c = self.snowshoe[int(r() * len(self.snowshoe))]
        rcpt = self._pick_user()
        sender = c.senders[int(r() * len(c.senders))]
        if c.ip not in host.ps_passed:
            ap, t0 = self._ps_connect(t, host, c)
            host.ps_passed.add(c.ip)
            t = t0 + 6_000_000 + int(r() * 200_000)
            self.emit(t, PS_PASS_NEW, host, host.postscreen_pid, f"PASS NEW {ap}")
            t += 200_000 + int(r() * 800_000)
            self.emit(
                t,
                PS_REJ_PENDING,
                host,
                host.postscreen_pid,
                f"NOQUEUE: reject: RCPT from {ap}: 450 4.3.2 Service currently unavailable; "
                f"from=<{sender}>, to=<{rcpt}>, proto=ESMTP, helo=<{c.helo}>",
            )
            t += 20_000 + int(r() * 200_000)
            self.emit(t, PS_DISCONNECT, host, host.postscreen_pid, f"DISCONNECT {ap}")
            if r() < 0.6:
                self._schedule(
                    t + int((120 + r() * 1800) * 1_000_000), self._RETRY_POSTSCREEN, (host, c)
                )
            return
        x = r()
        if x < 0.55:
            # delivered, or content-filtered (decided in the data phase), or greylisted
            self._postscreen_pass_old(t, host, c, sender=sender, rcpts=(rcpt,))
            return
        ap, t = self._ps_connect(t, host, c)
        t += 500 + int(r() * 3000)
        self.emit(t, PS_PASS_OLD, host, host.postscreen_pid, f"PASS OLD {ap}")
        t += 300 + int(r() * 2000)
        pool = host.smtpd
        pid, t = self._smtpd_open(t, host, c, pool, SMTPD_CONNECT, SMTPD_TLS)
        tls = int(c.tls)
        if tls:
            t = self._tls(t, host, pid, SMTPD_TLS, c)
        t += 150_000 + int(r() * 500_000)
        trailer = f"from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{c.helo}>"
        if x < 0.80:
            y = r()
            if y < 0.45:
                zsid, zone, reason = (
                    R_RBL_SPAMCOP,
                    _SPAMCOP,
                    f"Blocked - see https://www.spamcop.net/bl.shtml?{c.ip}",
                )
            elif y < 0.8:
                zsid, zone, reason = (
                    R_RBL_BARRACUDA,
                    _BARRACUDA,
                    f"http://www.barracudanetworks.com/reputation/?pr=1&ip={c.ip}",
                )
            else:
                zsid, zone, reason = R_RBL_ZEN, _ZEN, f"https://www.spamhaus.org/query/ip/{c.ip}"
            self.emit(
                t,
                zsid,
                host,
                pid,
                f"NOQUEUE: reject: RCPT from {c.namaddr}: 554 5.7.1 Service unavailable; "
                f"Client host [{c.ip}] blocked using {zone}; {reason}; {trailer}",
            )
        else:
            spf_pid = self._spf_pid(host, pid)
            y = r()
            url = f"http://www.openspf.net/Why?s=mfrom;id={sender};ip={c.ip};r=<UNKNOWN>"
            t += 5_000 + int(r() * 80_000)
            if y < 0.75:
                msg = f"Message rejected due to: SPF fail - not authorized. Please see {url}"
                self.emit(t, SPF_FAIL, host, spf_pid, f"550 5.7.23 {msg}")
                sid, reply = R_SPF_FAIL, f"550 5.7.23 <{rcpt}>: Recipient address rejected: {msg}"
            elif y < 0.9:
                msg = (
                    "Message rejected due to: SPF Permanent Error: Too many DNS lookups. "
                    f"Please see {url}"
                )
                self.emit(t, SPF_PERMERROR, host, spf_pid, f"550 5.7.24 {msg}")
                sid, reply = (
                    R_SPF_PERMERROR,
                    f"550 5.7.24 <{rcpt}>: Recipient address rejected: {msg}",
                )
            else:
                msg = f"Message deferred due to: SPF Temporary Error: DNS Timeout. Please see {url}"
                self.emit(t, SPF_TEMPERROR, host, spf_pid, f"defer_if_permit 4.7.24 {msg}")
                sid, reply = (
                    R_SPF_TEMPERROR,
                    f"450 4.7.24 <{rcpt}>: Recipient address rejected: {msg}",
                )
            t += 500 + int(r() * 3000)
            self.emit(
                t, sid, host, pid, f"NOQUEUE: reject: RCPT from {c.namaddr}: {reply}; {trailer}"
            )
        t += 30_000 + int(r() * 300_000)
        stats = [
            ("ehlo", 1 + tls, 1 + tls),
            ("starttls", tls, tls),
            ("mail", 1, 1),
            ("rcpt", 0, 1),
            ("quit", 1, 1),
        ]
        self._disconnect(t, host, pool, pid, SMTPD_DISCONNECT, c, _cmd_stats(tuple(stats)))

    # ------------------------------------------------------- submission

    def _user_client(self) -> _Client:
        r = self.r
        if r() < 0.8:
            ip = f"198.51.100.{1 + int(r() * 230)}"
            name = f"dsl-{ip.rsplit('.', 1)[1]}.isp.example.net" if r() < 0.6 else "unknown"
        else:
            ip = f"2001:db8:{int(r() * 0xFFFF):x}:{int(r() * 0xFFFF):x}::{1 + int(r() * 0xFF):x}"
            name = "unknown"
        return _Client(
            cls=_LEGIT,
            ip=ip,
            name=name,
            namaddr=f"{name}[{ip}]",
            helo="[192.168.1.23]",
            domain="example.com",
            senders=(self._pick_user(),),
            rcpts=(),
            spf=SPF_PASS,
            dnswl=False,
            pg_whitelist=True,
            awl=0,
            tls=True,
            resolve_warning="",
        )

    def _submission(self, t: int, host: _Host) -> None:
        r = self.r
        c = self._user_client()
        pool = host.submission
        pid, t = self._smtpd_open(t, host, c, pool, SUB_CONNECT, SUB_TLS)
        t = self._tls(t, host, pid, SUB_TLS, c)
        sender = c.senders[0]
        k = 1 if r() < 0.8 else 2
        rcpts = [
            f"{self._pick(_SENDER_LOCALS)}@{self._pick(_ORG_WORDS)}{int(r() * 1500)}.example.net"
            for _ in range(k)
        ]
        t += 200_000 + int(r() * 600_000)
        qid = self._qid(t)
        self.emit(
            t,
            SUB_CLIENT,
            host,
            pid,
            f"{qid}: client={c.namaddr}, sasl_method=PLAIN, sasl_username={sender}",
        )
        cleanup_pid = host.cleanup[int(r() * len(host.cleanup))]
        t += 100_000 + int(r() * 2_000_000)
        msgid = self._msgid("example.com", t)
        self.emit(t, C_MESSAGE_ID, host, cleanup_pid, f"{qid}: message-id=<{msgid}>")
        t_arrival = t - int(r() * 800_000)
        self._queue_and_deliver(t + 5_000, host, qid, sender, rcpts, t_arrival, msgid)
        t += 50_000 + int(r() * 300_000)
        stats = [
            ("ehlo", 2, 2),
            ("starttls", 1, 1),
            ("auth", 1, 1),
            ("mail", 1, 1),
            ("rcpt", k, k),
            ("data", 1, 1),
            ("quit", 1, 1),
        ]
        self._disconnect(t, host, pool, pid, SUB_DISCONNECT, c, _cmd_stats(tuple(stats)))

    def _sasl_bruteforce(self, t: int, host: _Host) -> None:
        r = self.r
        c = self._make_bot(named=r() < 0.3)
        c.resolve_warning = ""
        pool = host.submission
        pid, t = self._smtpd_open(t, host, c, pool, SUB_CONNECT, SUB_TLS)
        t = self._tls(t, host, pid, SUB_TLS, c)
        n = 1 + int(r() * 3)
        for _ in range(n):
            t += 1_500_000 + int(r() * 2_500_000)
            self.emit(
                t,
                SUB_SASL_FAIL,
                host,
                pid,
                f"warning: {c.namaddr}: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            )
        t += 10_000 + int(r() * 500_000)
        self.emit(t, SUB_LOST, host, pid, f"lost connection after AUTH from {c.namaddr}")
        t += 100 + int(r() * 2000)
        stats = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 0, n)]
        self._disconnect(t, host, pool, pid, SUB_DISCONNECT, c, _cmd_stats(tuple(stats)))

    # ------------------------------------------------------------ noise

    def _imap(self, t: int, host: _Host) -> None:
        r = self.r
        user = self._pick_user()
        ip = f"198.51.100.{1 + int(r() * 230)}"
        sess = self._token(16)
        if r() < 0.06:
            self.emit_nopid(
                t,
                DOV_AUTH_FAIL,
                host,
                "imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): "
                f"user=<{user}>, "
                f"method=PLAIN, rip=10.{int(r() * 256)}.{int(r() * 256)}.{1 + int(r() * 254)}, "
                f"lip={host.ip}, TLS, "
                f"session=<{sess}>",
            )
            return
        mpid = self._pid()
        self.emit_nopid(
            t,
            DOV_LOGIN,
            host,
            f"imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip={host.ip}, "
            f"mpid={mpid}, TLS, session=<{sess}>",
        )
        t += int((1 + r() * 900) * 1_000_000)
        self.emit_nopid(
            t,
            DOV_LOGOUT,
            host,
            f"imap({user})<{mpid}><{sess}>: Logged out in={40 + int(r() * 4000)} "
            f"out={400 + int(r() * 90000)} "
            f"deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0",
        )

    def _cron(self, t: int) -> None:
        r = self.r
        minute = (t // 60_000_000) % 60
        jobs = ["command -v debian-sa1 > /dev/null && debian-sa1 1 1"]
        if minute < 10:
            jobs.append("   cd / && run-parts --report /etc/cron.hourly")
        for host in self.hosts:
            for job in jobs:
                t0 = t + int(r() * 900_000)
                pid = self._pid()
                self.emit(
                    t0,
                    CRON_PAM_OPEN,
                    host,
                    pid,
                    "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
                )
                self.emit(t0 + 3_000, CRON_CMD, host, pid, f"(root) CMD ({job})")
                self.emit(
                    t0 + 60_000 + int(r() * 900_000),
                    CRON_PAM_CLOSE,
                    host,
                    pid,
                    "pam_unix(cron:session): session closed for user root",
                )

    def _anvil(self, t: int) -> None:
        r = self.r
        for host in self.hosts:
            tm = _ts_classic((t - int(r() * 500_000_000)) // 1_000_000)
            ip = f"10.{int(r() * 256)}.{int(r() * 256)}.{1 + int(r() * 254)}"
            self.emit(
                t,
                A_STATS,
                host,
                host.anvil_pid,
                f"statistics: max connection rate {1 + int(r() * 6)}/60s for (smtp:{ip}) at {tm}",
            )
            self.emit(
                t,
                A_STATS,
                host,
                host.anvil_pid,
                f"statistics: max connection count {1 + int(r() * 3)} for (smtp:{ip}) at {tm}",
            )
            self.emit(
                t,
                A_STATS,
                host,
                host.anvil_pid,
                f"statistics: max cache size {2 + int(r() * 40)} at {tm}",
            )


def _iso(us: int) -> str:
    if us < 0:
        return ""
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).isoformat()


def generate(
    out: BinaryIO,
    *,
    lines: int,
    seed: int = 1,
    style: Style = "classic",
    start: datetime = DEFAULT_START,
    hosts: int = 1,
) -> GroundTruth:
    """Write a realistic Postfix log and return what it contains.

    Args:
        out: Binary stream to write to (not closed).
        lines: Approximate number of lines; generation stops once reached,
            after finishing the sessions in progress.
        seed: Seed of the pseudo-random generator; same seed, same bytes.
        style: ``classic`` (``Nov  3 00:00:01 host ...``) or ``rfc3339``
            (``2026-11-03T00:00:01.123456+00:00 host ...``), both in UTC.
        start: Time of the first session (naive values are taken as UTC).
        hosts: Number of MX hosts (``mx1`` ... ``mxN``) sharing the log.

    Returns:
        The ground truth of the written log.

    Raises:
        ValueError: If ``lines`` < 1, ``hosts`` < 1 or ``style`` is unknown.

    """
    if lines < 1:
        raise ValueError("lines must be >= 1")
    if hosts < 1:
        raise ValueError("hosts must be >= 1")
    if style not in ("classic", "rfc3339"):
        raise ValueError(f"unknown style {style!r}")
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    start_us = int(start.timestamp()) * 1_000_000 + start.microsecond
    gen = _Generator(out, seed=seed, style=style, start_us=start_us, hosts=hosts)
    return gen.run(lines)


def _parse_start(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (``python -m mailreject.generator``).

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Process exit status.

    """
    parser = argparse.ArgumentParser(
        prog="python -m mailreject.generator",
        description="Write a deterministic, realistic Postfix log (and its ground truth).",
    )
    parser.add_argument("--lines", type=int, required=True, help="approximate number of lines")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--style", choices=("classic", "rfc3339"), default="classic", help="timestamp style"
    )
    parser.add_argument("--hosts", type=int, default=1, help="number of MX hosts (default 1)")
    parser.add_argument(
        "--start",
        type=_parse_start,
        default=DEFAULT_START,
        help="ISO time of the first line (default 2026-11-01T00:00Z)",
    )
    parser.add_argument("-o", "--output", required=True, help="output file, '-' for stdout")
    parser.add_argument("--truth", help="write the ground truth as JSON to this file")
    args = parser.parse_args(argv)
    if args.lines < 1 or args.hosts < 1:
        parser.error("--lines and --hosts must be >= 1")
    style: Style = "classic" if args.style == "classic" else "rfc3339"
    if args.output == "-":
        truth = generate(
            sys.stdout.buffer,
            lines=args.lines,
            seed=args.seed,
            style=style,
            start=args.start,
            hosts=args.hosts,
        )
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb", buffering=1 << 20) as fh:
            truth = generate(
                fh,
                lines=args.lines,
                seed=args.seed,
                style=style,
                start=args.start,
                hosts=args.hosts,
            )
    if args.truth:
        with open(args.truth, "w", encoding="utf-8") as fh:
            fh.write(truth.to_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
