#!/usr/bin/env python3
"""Write a log file with one 5 MiB line between valid Postfix lines.

    python3 tests/data/bad_input/make_huge_line.py OUTPUT [--size BYTES]

The file is not committed (too big); tests generate it into a tmp dir.
Layout (all lines newline-terminated, 5 lines in total):

    1-2  valid postfix/smtpd lines
    3    a syslog-prefixed postfix/cleanup line whose total length, without
         the newline, is exactly --size bytes (default 5 MiB = 5242880)
    4-5  valid postfix lines

So 4 valid Postfix lines and 1 over-long line.  Output is deterministic.
"""

import argparse

BEFORE = [
    "Nov  3 10:00:01 mx1 postfix/smtpd[4711]: connect from mx.partner.example[198.51.100.25]",
    "Nov  3 10:00:02 mx1 postfix/smtpd[4711]: 3C1F5A0B7E: client=mx.partner.example[198.51.100.25]",
]
PREFIX = "Nov  3 10:00:02 mx1 postfix/cleanup[4720]: 3C1F5A0B7E: warning: header X-Junk: "
AFTER = [
    "Nov  3 10:00:03 mx1 postfix/qmgr[1206]: 3C1F5A0B7E: removed",
    "Nov  3 10:00:03 mx1 postfix/smtpd[4711]: disconnect from "
    "mx.partner.example[198.51.100.25] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
    "commands=5",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument(
        "--size",
        type=int,
        default=5 * 1024 * 1024,
        help="length of the huge line in bytes, newline excluded",
    )
    a = ap.parse_args()
    if a.size < len(PREFIX):
        ap.error(f"--size must be at least {len(PREFIX)}")
    pattern = b"0123456789abcdef" * 64
    need = a.size - len(PREFIX)
    body = (pattern * (need // len(pattern) + 1))[:need]
    with open(a.output, "wb") as f:
        for line in BEFORE:
            f.write(line.encode() + b"\n")
        f.write(PREFIX.encode() + body + b"\n")
        for line in AFTER:
            f.write(line.encode() + b"\n")


if __name__ == "__main__":
    main()
