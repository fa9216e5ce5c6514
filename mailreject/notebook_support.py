"""Helpers for the notebooks in ``notebooks/``: find the store, or build a demo one.

:func:`find_store` looks where the CLI looks (``$MAILREJECT_STORE``, else the XDG data
dir). When nothing has been ingested there yet, it builds a demo store from the sample
logs of a source checkout (``sample_logs/``) in a temporary directory, so the notebooks
run anywhere; the configured store is never written to.

Example:
    >>> from mailreject.notebook_support import find_store
    >>> store, is_sample = find_store()  # doctest: +SKIP
    store /home/me/.local/share/mailreject: 1,204,311 events, 2026-10-01 .. 2026-11-28

"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mailreject.store import Store, StoreNotFoundError, resolve_store_path

__all__ = [
    "SAMPLE_FILES",
    "SAMPLE_HOST",
    "SAMPLE_POSTCONF",
    "SAMPLE_TZ",
    "SAMPLE_YEAR",
    "find_sample_logs",
    "find_store",
    "sample_store",
    "store_events",
]

#: The sample logs a demo store holds: mx1 (Nov 3-4 2026), mx2 (Nov 5), mx4 (Nov 6).
#: ``rotated/`` (mx3, Dec 2025 - Jan 2026) is left out: it would stretch the time axis.
SAMPLE_FILES = ("mail.log", "mail-rfc3339.log", "journal.json")
#: Year and zone of the samples' year-less timestamps (``--year 2026 --tz UTC``).
SAMPLE_YEAR = 2026
SAMPLE_TZ = "UTC"
#: The host :data:`SAMPLE_POSTCONF` belongs to.
SAMPLE_HOST = "mx1"

#: ``postconf -n`` (restriction part) of mx1 after its Nov 4 reload, as described in
#: ``sample_logs/README.md``. Two entries never fire in the sample, on purpose:
#: ``check_sender_mx_access`` and ``reject_multi_recipient_bounce``.
SAMPLE_POSTCONF = """\
compatibility_level = 3.6
smtpd_delay_reject = yes
smtpd_helo_required = yes
postscreen_access_list = permit_mynetworks, cidr:/etc/postfix/postscreen_access.cidr
postscreen_greet_action = enforce
postscreen_dnsbl_action = enforce
postscreen_dnsbl_sites = zen.spamhaus.org=127.0.0.[2..8]*3 b.barracudacentral.org*2
    bl.spamcop.net list.dnswl.org=127.0.[0..255].[1..3]*-2
postscreen_dnsbl_threshold = 3
postscreen_dnsbl_allowlist_threshold = -1
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
smtpd_client_restrictions = permit_mynetworks, permit_sasl_authenticated,
    check_client_access hash:/etc/postfix/client_access,
    reject_unknown_reverse_client_hostname, reject_unknown_client_hostname,
    reject_unauth_pipelining
smtpd_helo_restrictions = permit_mynetworks, permit_sasl_authenticated,
    check_helo_access hash:/etc/postfix/helo_access, reject_invalid_helo_hostname,
    reject_non_fqdn_helo_hostname, reject_unknown_helo_hostname,
    reject_rhsbl_helo dbl.spamhaus.org
smtpd_sender_restrictions = permit_mynetworks, reject_sender_login_mismatch,
    permit_sasl_authenticated, check_sender_access hash:/etc/postfix/sender_access,
    check_sender_mx_access cidr:/etc/postfix/bogus_mx.cidr, reject_non_fqdn_sender,
    reject_unknown_sender_domain, reject_unlisted_sender,
    reject_rhsbl_sender dbl.spamhaus.org
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
    reject_unauth_destination
smtpd_recipient_restrictions = reject_non_fqdn_recipient,
    reject_unknown_recipient_domain, reject_unlisted_recipient,
    reject_rbl_client zen.spamhaus.org=127.0.0.[2..11],
    reject_rbl_client b.barracudacentral.org, reject_rbl_client rbl.example.net,
    warn_if_reject reject_rbl_client bl.spamcop.net,
    reject_rhsbl_client dbl.spamhaus.org, reject_rhsbl_reverse_client dbl.spamhaus.org,
    reject_unverified_sender,
    check_policy_service unix:private/policyd-spf,
    check_policy_service inet:127.0.0.1:10023
smtpd_data_restrictions = reject_unauth_pipelining, reject_multi_recipient_bounce
header_checks = regexp:/etc/postfix/header_checks
body_checks = regexp:/etc/postfix/body_checks
smtpd_milters = unix:/run/milter-greylist/milter-greylist.sock, inet:127.0.0.1:11332
message_size_limit = 26214400
"""

_SAMPLE_DIR = "sample_logs"
#: Demo stores built by this process, by sample directory (removed when it exits).
_built: dict[Path, tuple[tempfile.TemporaryDirectory[str], Path]] = {}


def store_events(store: str | os.PathLike[str] | None = None) -> tuple[int, str | None, str | None]:
    """Committed events in a store and its first and last day, from its state file.

    Args:
        store: Store directory (default: ``$MAILREJECT_STORE``, else the XDG data dir).

    Returns:
        ``(events, first day, last day)``; ``(0, None, None)`` when there is no store.

    Raises:
        StoreError: If the store exists but its state cannot be read.

    Example:
        >>> import tempfile
        >>> store_events(Path(tempfile.mkdtemp()) / "none")
        (0, None, None)

    """
    target = Store(resolve_store_path(store))
    if not target.exists():
        return 0, None, None
    days = {day: stats.events for day, stats in target.read_state().partitions.items()}
    filled = sorted(day for day, events in days.items() if events)
    if not filled:
        return 0, None, None
    return sum(days.values()), filled[0], filled[-1]


def find_sample_logs(start: str | os.PathLike[str] | None = None) -> Path:
    """The ``sample_logs/`` directory of a source checkout.

    Looked for next to the package (an editable install), then in ``start`` (default: the
    working directory) and its parents.

    Raises:
        StoreNotFoundError: If there is none (e.g. an installed wheel run elsewhere).

    """
    here = Path(start) if start is not None else Path.cwd()
    candidates = [Path(__file__).resolve().parent.parent / _SAMPLE_DIR]
    candidates += [directory / _SAMPLE_DIR for directory in (here, *here.resolve().parents)]
    for candidate in candidates:
        if all((candidate / name).is_file() for name in SAMPLE_FILES):
            return candidate
    raise StoreNotFoundError(
        "no sample_logs/ directory found for a demo store",
        hint="run the notebook from a mailreject checkout, or 'mailreject ingest' your logs",
    )


def sample_store(
    path: str | os.PathLike[str] | None = None, logs: str | os.PathLike[str] | None = None
) -> Path:
    """Builds a store from the sample logs (``--year 2026 --tz UTC``) and returns its path.

    Args:
        path: Where to build it; default: a temporary directory removed when the process
            exits (built once per process and reused). Ingesting into an existing store
            adds nothing: the samples' checkpoints are already there.
        logs: The ``sample_logs/`` directory (default: :func:`find_sample_logs`).

    Returns:
        The store directory.

    Raises:
        StoreNotFoundError: If the sample logs cannot be found.

    Example:
        >>> store = sample_store()  # doctest: +SKIP
        >>> store_events(store)  # doctest: +SKIP
        (984, '2026-11-03', '2026-11-06')

    """
    from mailreject.ingest import IngestSettings, ingest
    from mailreject.parsing import ParseOptions

    directory = Path(logs) if logs is not None else find_sample_logs()
    directory = directory.resolve()
    if path is None:
        if directory in _built:
            return _built[directory][1]
        tmp = tempfile.TemporaryDirectory(prefix="mailreject-sample-")
        target = Path(tmp.name) / "store"
        _built[directory] = (tmp, target)
    else:
        target = Path(path)
    ingest(
        [str(directory / name) for name in SAMPLE_FILES],
        ParseOptions(year=SAMPLE_YEAR, tz=SAMPLE_TZ),
        target,
        IngestSettings(),
    )
    return target


def find_store(
    store: str | os.PathLike[str] | None = None, *, sample: bool = True, verbose: bool = True
) -> tuple[Path, bool]:
    """The store the CLI would use, or a demo store when that holds no events yet.

    Args:
        store: Store directory (default: ``$MAILREJECT_STORE``, else the XDG data dir,
            as ``mailreject ingest`` resolves it).
        sample: Build a demo store from ``sample_logs/`` when the store is missing or
            empty (it is built elsewhere: the configured store is never written to).
        verbose: Print which store is used and how many events it holds.

    Returns:
        ``(store directory, True if it is the demo store)``.

    Raises:
        StoreNotFoundError: If the store is missing or empty and ``sample`` is false, or
            the sample logs cannot be found.
        StoreError: If the store exists but cannot be read.

    Example:
        >>> store, is_sample = find_store()  # $MAILREJECT_STORE holds sample_logs/mail.log
        store ...: 753 events, 2026-11-03 .. 2026-11-04
        >>> is_sample
        False

    """
    path = resolve_store_path(store)
    events, first, last = store_events(path)
    if events:
        if verbose:
            print(f"store {path}: {events:,} events, {first} .. {last}")
        return path, False
    if not sample:
        raise StoreNotFoundError(
            f"no events in {path}",
            hint="run 'mailreject ingest FILE' first, or pass --store / set MAILREJECT_STORE",
        )
    demo = sample_store()
    if verbose:
        events, first, last = store_events(demo)
        print(
            f"no events in {path} yet: using a demo store built from sample_logs/ "
            f"({events:,} events, {first} .. {last}).\n"
            "Fill yours with 'mailreject ingest /var/log/mail.log' (or set MAILREJECT_STORE)."
        )
    return demo, True
