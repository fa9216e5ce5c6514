"""Runs the installed ``mailreject`` command in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys
import tempfile


def mailreject_cmd(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m mailreject ARGS`` from outside the checkout, so the installed package
    (with its compiled extension) is imported rather than the source tree."""
    with tempfile.TemporaryDirectory() as elsewhere:
        return subprocess.run(
            [sys.executable, "-m", "mailreject", *args],
            input=stdin,
            capture_output=True,
            timeout=120,
            cwd=elsewhere,
        )
