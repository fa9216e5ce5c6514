"""Reading the restriction order from ``postconf -n`` output.

Postfix evaluates ``smtpd_client_restrictions``, ``smtpd_helo_restrictions``,
``smtpd_sender_restrictions``, ``smtpd_relay_restrictions``,
``smtpd_recipient_restrictions``, ``smtpd_data_restrictions`` and
``smtpd_end_of_data_restrictions`` in that order, each list from left to right
(postscreen runs before all of them). This module turns that text into an ordered list of
:class:`Restriction` entries, each mapped to a defence layer (``schema.LAYERS``), so the
analysis can order layers and restrictions as the server really evaluates them and list
the configured restrictions that never fired.

Without a configuration the analysis uses :data:`mailreject.schema.LAYERS`, the order of a
typical hardened server, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mailreject.schema import LAYERS
from mailreject.status import UsageError

#: smtpd restriction lists in the order Postfix evaluates them.
RESTRICTION_LISTS: tuple[str, ...] = (
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions",
)

#: Parameters that configure a content check (layer ``content``) when set.
CONTENT_PARAMETERS: tuple[str, ...] = (
    "header_checks",
    "mime_header_checks",
    "nested_header_checks",
    "body_checks",
    "smtpd_milters",
)

#: postscreen parameters that enable a test, with the restriction name events carry.
POSTSCREEN_PARAMETERS: dict[str, str] = {
    "postscreen_access_list": "postscreen_access_list",
    "postscreen_greet_action": "postscreen_greet_action",
    "postscreen_dnsbl_action": "postscreen_dnsbl_action",
    "postscreen_pipelining_enable": "postscreen_pipelining_action",
    "postscreen_non_smtp_command_enable": "postscreen_non_smtp_command_action",
    "postscreen_bare_newline_enable": "postscreen_bare_newline_action",
}

_LAYER_OF: dict[str, str] = {}
for _layer, _names in {
    "client": (
        "check_client_access check_reverse_client_access check_client_a_access "
        "check_client_mx_access check_client_ns_access check_ccert_access "
        "check_reverse_client_a_access check_reverse_client_mx_access "
        "check_reverse_client_ns_access reject_unknown_client_hostname reject_unknown_client "
        "reject_unknown_reverse_client_hostname reject_unauth_pipelining reject_plaintext_session"
    ),
    "rbl": (
        "reject_rbl_client reject_rhsbl_client reject_rhsbl_reverse_client reject_rhsbl_sender "
        "reject_rhsbl_helo reject_rhsbl_recipient"
    ),
    "helo": (
        "check_helo_access check_helo_a_access check_helo_mx_access check_helo_ns_access "
        "reject_invalid_helo_hostname reject_non_fqdn_helo_hostname reject_unknown_helo_hostname "
        "reject_invalid_hostname reject_non_fqdn_hostname reject_unknown_hostname"
    ),
    "sender": (
        "check_sender_access check_sender_a_access check_sender_mx_access check_sender_ns_access "
        "reject_non_fqdn_sender reject_unknown_sender_domain reject_sender_login_mismatch "
        "reject_authenticated_sender_login_mismatch reject_known_sender_login_mismatch "
        "reject_unauthenticated_sender_login_mismatch reject_unlisted_sender "
        "reject_unverified_sender"
    ),
    "recipient": (
        "check_recipient_access check_recipient_a_access check_recipient_mx_access "
        "check_recipient_ns_access reject_unauth_destination defer_unauth_destination "
        "reject_unknown_recipient_domain reject_non_fqdn_recipient reject_unlisted_recipient "
        "reject_unverified_recipient"
    ),
    "data": "reject_multi_recipient_bounce",
}.items():
    for _name in _names.split():
        _LAYER_OF[_name] = _layer

#: Restrictions that take one argument (a table, a zone or a policy service address).
_TAKES_ARG = frozenset(
    [n for n in _LAYER_OF if n.startswith(("check_", "reject_rbl", "reject_rhsbl"))]
    + ["check_policy_service", "permit_dnswl_client", "permit_rhswl_client", "check_sasl_access"]
)

#: List entries that never reject anything.
_NEVER_REJECTS = re.compile(r"^(permit\b|permit_|warn_if_reject$|sleep$|defer_if_|reject$|defer$)")


@dataclass(frozen=True)
class Restriction:
    """One configured restriction, in evaluation order.

    Attributes:
        position: 0-based position over all lists in evaluation order.
        source: The parameter it was read from, e.g. ``smtpd_recipient_restrictions``.
        name: The restriction as postconf(5) spells it, e.g. ``reject_rbl_client``.
        arg: Its argument (zone, table, policy address) or None.
        layer: The defence layer its rejects belong to.
        warn_only: True when preceded by ``warn_if_reject`` (logs ``reject_warning``).

    """

    position: int
    source: str
    name: str
    arg: str | None
    layer: str
    warn_only: bool = False

    @property
    def label(self) -> str:
        """Name and argument as written, e.g. ``reject_rbl_client zen.spamhaus.org``."""
        text = f"{self.name} {self.arg}" if self.arg else self.name
        return f"warn_if_reject {text}" if self.warn_only else text

    @property
    def zone(self) -> str | None:
        """The DNS list zone without a ``=127.0.0.x`` filter, for DNSBL restrictions."""
        if self.arg and self.name.startswith(("reject_rbl", "reject_rhsbl", "permit_dnswl")):
            return self.arg.split("=", 1)[0]
        return None


@dataclass
class PostfixConfig:
    """What the analysis needs from ``postconf -n``.

    Attributes:
        restrictions: Configured restrictions in evaluation order.
        parameters: Every ``name = value`` read.
        source: Where the text came from (file name), for the report.

    """

    restrictions: list[Restriction] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    source: str = "postconf -n"

    def layer_order(self) -> list[str]:
        """Layers in the order this server evaluates them.

        postscreen always comes first; then layers in the order their first restriction
        appears; layers not configured keep their place from ``schema.LAYERS`` after them.

        Example:
            >>> cfg = parse_postconf("smtpd_recipient_restrictions = reject_unauth_destination, "
            ...                      "reject_rbl_client zen.spamhaus.org")
            >>> cfg.layer_order()[:3]
            ['postscreen', 'recipient', 'rbl']

        """
        order = ["postscreen"]
        for entry in self.restrictions:
            if (
                entry.layer not in order
                and entry.layer in LAYERS
                and entry.layer not in ("data", "content", "other")
            ):
                order.append(entry.layer)
        order += [layer for layer in LAYERS if layer not in order]
        return order


def _layer_for(name: str, arg: str | None, source: str) -> str:
    if source in ("smtpd_data_restrictions", "smtpd_end_of_data_restrictions"):
        return "data"
    if name == "check_policy_service":
        text = (arg or "").lower()
        if "spf" in text:
            return "spf"
        if "grey" in text or "gray" in text or text.endswith(":10023") or ":10023" in text:
            return "greylist"
        return "other"
    return _LAYER_OF.get(name, "other")


def _parameters(text: str) -> dict[str, str]:
    """``name = value`` pairs; continuation lines (leading white space) are joined."""
    params: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            current = None if not raw[:1].isspace() else current
            continue
        if raw[:1].isspace() and current is not None:
            params[current] += " " + line.strip()
            continue
        name, sep, value = line.partition("=")
        if not sep:
            current = None
            continue
        current = name.strip()
        params[current] = value.strip()
    return params


def _items(value: str) -> list[str]:
    return [token for token in re.split(r"[\s,]+", value) if token]


def parse_postconf(text: str, *, source: str = "postconf -n") -> PostfixConfig:
    r"""Reads restriction lists and content checks from ``postconf -n`` output.

    Args:
        text: The output of ``postconf -n`` (or a main.cf).
        source: A name for where it came from.

    Returns:
        The configured restrictions in evaluation order.

    Example:
        >>> cfg = parse_postconf(
        ...     "smtpd_client_restrictions = permit_mynetworks,\n"
        ...     "    reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]\n"
        ...     "smtpd_helo_restrictions = warn_if_reject reject_unknown_helo_hostname\n")
        >>> for r in cfg.restrictions:
        ...     print(r.label)
        reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]
        warn_if_reject reject_unknown_helo_hostname
        >>> cfg.restrictions[0].zone
        'zen.spamhaus.org'

    """
    params = _parameters(text)
    entries: list[Restriction] = []

    def add(src: str, name: str, arg: str | None, layer: str, warn: bool = False) -> None:
        entries.append(Restriction(len(entries), src, name, arg, layer, warn))

    for key, restriction in POSTSCREEN_PARAMETERS.items():
        value = params.get(key, "")
        if value and value.lower() not in ("ignore", "no", "permit"):
            add(key, restriction, None, "postscreen")
    for zone in _items(params.get("postscreen_dnsbl_sites", "")):
        add("postscreen_dnsbl_sites", "postscreen_dnsbl_sites", zone.split("*", 1)[0], "postscreen")
    for src in RESTRICTION_LISTS:
        tokens = _items(params.get(src, ""))
        i, warn = 0, False
        while i < len(tokens):
            name = tokens[i]
            arg = None
            if name in _TAKES_ARG and i + 1 < len(tokens):
                arg = tokens[i + 1]
                i += 1
            i += 1
            if name == "warn_if_reject":
                warn = True
                continue
            if _NEVER_REJECTS.match(name) or "/" in name or ":" in name:
                # permit_*, bare reject/defer, and restriction-class names or tables given
                # without a check_ prefix: nothing a restriction-level count can describe.
                warn = False
                continue
            add(src, name, arg, _layer_for(name, arg, src), warn)
            warn = False
    for key in CONTENT_PARAMETERS:
        if params.get(key):
            add(key, key, params[key], "content")
    return PostfixConfig(entries, params, source)


def read_postconf(path: Path | str) -> PostfixConfig:
    """Reads ``postconf -n`` output from a file.

    Args:
        path: File holding ``postconf -n`` output.

    Returns:
        The parsed configuration.

    Raises:
        UsageError: When the file cannot be read or holds no restriction list.

    Example:
        >>> read_postconf("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        mailreject.status.UsageError: cannot read /nonexistent

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from error
    config = parse_postconf(text, source=str(path))
    if not any(name in config.parameters for name in RESTRICTION_LISTS):
        raise UsageError(
            f"{path} holds no smtpd_*_restrictions",
            hint="save the output of 'postconf -n' (not 'postconf -d') and pass that file",
        )
    return config


def configured_labels(entries: Iterable[Restriction]) -> list[str]:
    """Labels of entries, in order (a helper for reports)."""
    return [entry.label for entry in entries]
