"""Exit statuses and the domain errors that map to them.

Library code raises these; only ``cli.py`` turns them into an exit status and a one-line
message. Messages never quote log content: log lines are written by strangers.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What the ``mailreject`` command exits with (documented in the README)."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    NO_INPUT = 3
    PARTIAL = 4
    STORE_BUSY = 5
    INTERRUPTED = 130


class MailrejectError(Exception):
    """A failure the user can act on; ``str(error)`` is one line, ``hint`` optional."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(MailrejectError):
    """An option value that cannot be used (bad zone, bad date, bad rule file)."""

    exit_status = ExitStatus.USAGE


class NoInputError(MailrejectError):
    """An input that cannot be opened or read."""

    exit_status = ExitStatus.NO_INPUT
