"""The event schema: the column contract that reports, notebooks and users' queries share.

The Rust parser builds batches with exactly these columns (a test holds the two together);
columns are only ever added, never renamed. See "The event schema" in the README.
"""

from __future__ import annotations

from typing import Final

#: Schema version written into every Parquet file's metadata.
SCHEMA_VERSION: Final = "1"

#: (name, Arrow type, meaning), in column order.
COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("ts", "timestamp[us, tz=UTC]", "event time"),
    ("host", "string", "syslog host"),
    ("program", "string", "syslog tag as written, e.g. postfix-out/smtpd"),
    ("instance", "string", "the syslog_name part, e.g. postfix-out, postfix/submission"),
    ("pid", "int32", "process id; null when the line has none"),
    ("kind", "string", "what the line is: one of KINDS"),
    ("layer", "string", "for decisions: the defence layer, one of LAYERS"),
    ("restriction", "string", "the restriction or parameter that decided (postconf(5) spelling)"),
    ("action", "string", "postscreen verdict, greylist/pass, SPF result, delivery status"),
    ("stage", "string", "SMTP stage: CONNECT, HELO (EHLO too), MAIL, RCPT, DATA, END-OF-MESSAGE"),
    ("smtp_code", "int16", "SMTP reply code, e.g. 450"),
    ("dsn", "string", "enhanced status code, e.g. 4.7.1"),
    ("client_name", "string", "client host name as logged; 'unknown' when not verified"),
    ("client_ip", "string", "client address (IPv6 as written)"),
    ("client_port", "int32", "client port where logged"),
    ("helo", "string", "HELO/EHLO argument"),
    ("sender", "string", "envelope sender; '' for the null sender <>"),
    ("recipient", "string", "envelope recipient"),
    ("proto", "string", "SMTP or ESMTP"),
    ("rbl_zone", "string", "the DNSBL/RHSBL zone"),
    ("queue_id", "string", "queue id; null for NOQUEUE"),
    ("size", "int64", "message size from qmgr"),
    ("nrcpt", "int32", "number of recipients from qmgr"),
    ("delay", "double", "seconds: greylist delay=, delivery delay=, postscreen test time"),
    ("detail", "string", "the reply text or the rest of the line"),
    ("rule", "string", "id of the rule that produced the event"),
    ("source", "string", "input the event came from"),
    ("line_no", "int64", "1-based line number in the source"),
)

COLUMN_NAMES: Final = tuple(name for name, _, _ in COLUMNS)

KINDS: Final = (
    "reject",
    "reject_warning",
    "postscreen",
    "dnsbl",
    "greylist",
    "spf",
    "connect",
    "disconnect",
    "queue",
    "delivery",
)

#: Defence layers in the evaluation order of a typical hardened server.
LAYERS: Final = (
    "postscreen",
    "client",
    "helo",
    "sender",
    "recipient",
    "rbl",
    "spf",
    "greylist",
    "data",
    "content",
    "other",
)
