"""Tests of the synthetic log generator and its ground truth.

The checks re-derive every count of the ground truth from the text with
plain regular expressions (an independent, grep-like classifier), so a
generator bug that makes text and truth disagree fails here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mailreject.generator import SPECS, GroundTruth, generate, main

N = 20_000

LINE_RE = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00)"
    r" (?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)
QID = r"[0-9A-F]{10,11}"
REJECT_RE = re.compile(rf"^(?:NOQUEUE|{QID}): (?:reject|milter-reject): ")
WARNING_RE = re.compile(rf"^(?:NOQUEUE|{QID}): reject_warning: ")
DELIVERY_RE = re.compile(rf"^{QID}: to=<[^>]*>, .*status=[a-z]+ ")
REJECTING = {"postfix/smtpd", "postfix/submission/smtpd", "postfix/postscreen", "postfix/cleanup"}
DELIVERY_AGENTS = {
    "postfix/smtp",
    "postfix/lmtp",
    "postfix/virtual",
    "postfix/local",
    "postfix/pipe",
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _gen(seed: int = 1, style: str = "classic", **kw: object) -> tuple[bytes, GroundTruth]:
    buf = io.BytesIO()
    truth = generate(buf, lines=N, seed=seed, style=style, **kw)  # type: ignore[arg-type]
    return buf.getvalue(), truth


@pytest.fixture(scope="module")
def classic() -> tuple[bytes, GroundTruth]:
    return _gen()


@pytest.fixture(scope="module")
def parsed(classic: tuple[bytes, GroundTruth]) -> list[re.Match[str]]:
    text = classic[0].decode("utf-8")
    out = []
    for line in text.splitlines():
        m = LINE_RE.match(line)
        assert m is not None, line
        out.append(m)
    return out


def _kind(prog: str, msg: str) -> str | None:
    """Independent re-implementation of the event-kind contract."""
    if prog in REJECTING and REJECT_RE.match(msg):
        return "reject"
    if WARNING_RE.match(msg):
        return "reject_warning"
    if prog == "postfix/postscreen":
        return "postscreen"
    if prog == "postfix/dnsblog" and re.match(r"^addr \S+ listed by domain \S+ as ", msg):
        return "dnsbl"
    if prog == "postgrey" and re.match(rf"^(?:{QID}: )?action=", msg):
        return "greylist"
    if prog == "policyd-spf":
        return "spf"
    if prog.endswith("/smtpd"):
        if msg.startswith("connect from "):
            return "connect"
        if msg.startswith("disconnect from "):
            return "disconnect"
        if re.match(rf"^{QID}: client=", msg):
            return "queue"
    if prog == "postfix/qmgr" and msg.endswith(" (queue active)"):
        return "queue"
    if prog in DELIVERY_AGENTS and DELIVERY_RE.match(msg):
        return "delivery"
    return None


def test_deterministic_across_processes() -> None:
    """No dependence on hash randomisation: other PYTHONHASHSEED, same bytes."""
    code = (
        "import hashlib, io, sys; from mailreject.generator import generate; "
        "b = io.BytesIO(); generate(b, lines=3000, seed=9); "
        "sys.stdout.write(hashlib.sha256(b.getvalue()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout)
    buf = io.BytesIO()
    generate(buf, lines=3000, seed=9)
    digests.add(hashlib.sha256(buf.getvalue()).hexdigest())
    assert len(digests) == 1


def test_deterministic_same_seed() -> None:
    a, ta = _gen(seed=5)
    b, tb = _gen(seed=5)
    assert a == b
    assert ta == tb


def test_different_seed_differs(classic: tuple[bytes, GroundTruth]) -> None:
    other, _ = _gen(seed=2)
    assert other != classic[0]


def test_size_respected(classic: tuple[bytes, GroundTruth]) -> None:
    data, truth = classic
    n = data.count(b"\n")
    assert truth.lines == n
    assert N <= n <= N * 1.02
    assert data.endswith(b"\n")
    small = io.BytesIO()
    assert 1 <= generate(small, lines=1).lines <= 40


def test_events_by_kind_match_text(
    classic: tuple[bytes, GroundTruth], parsed: list[re.Match[str]]
) -> None:
    truth = classic[1]
    kinds = Counter(_kind(m["prog"], m["msg"]) for m in parsed)
    none = kinds.pop(None, 0)
    assert dict(kinds) == truth.events_by_kind
    assert truth.noise_lines == none == truth.lines - truth.events
    assert set(truth.events_by_kind) == {
        "reject", "reject_warning", "postscreen", "dnsbl", "greylist", "spf",
        "connect", "disconnect", "queue", "delivery",
    }  # fmt: skip
    assert sum(truth.rejects_by_layer.values()) == truth.events_by_kind["reject"]
    assert sum(truth.rejects_by_restriction.values()) == truth.events_by_kind["reject"]


def test_lines_by_program(classic: tuple[bytes, GroundTruth], parsed: list[re.Match[str]]) -> None:
    truth = classic[1]
    assert dict(Counter(m["prog"] for m in parsed)) == truth.lines_by_program
    for prog in ("dovecot", "CRON", "postfix/anvil", "postfix/submission/smtpd"):
        assert truth.lines_by_program.get(prog, 0) > 0, prog
    assert truth.noise_by_program["dovecot"] == truth.lines_by_program["dovecot"]


def test_grep_counts(classic: tuple[bytes, GroundTruth]) -> None:
    data, truth = classic
    text = data.decode()
    lines = text.splitlines()

    def count(pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for line in lines if rx.search(line))

    rr = truth.rejects_by_restriction
    smtpd_rej = r"postfix/smtpd\[\d+\]: NOQUEUE: reject: "
    assert count(r": NOQUEUE: reject: ") == truth.events_by_kind["reject"] - (
        rr.get("header_checks", 0)
        + rr.get("mime_header_checks", 0)
        + rr.get("body_checks", 0)
        + rr.get("smtpd_milters", 0)
        + rr.get("reject_unauth_pipelining", 0)
    )
    assert count(r": NOQUEUE: reject_warning: ") == truth.events_by_kind["reject_warning"]
    assert count(smtpd_rej + r".*: Relay access denied;") == rr["reject_unauth_destination"]
    assert (
        count(r" 450 4\.7\.25 Client host rejected: cannot find your hostname, \[")
        == rr["reject_unknown_client_hostname"]
    )
    assert (
        count(r"Helo command rejected: need fully-qualified hostname;")
        == rr["reject_non_fqdn_helo_hostname"]
    )
    assert count(smtpd_rej + r".*Client host \[[^]]+\] blocked using ") == rr["reject_rbl_client"]
    unknown_user = r" 550 5\.1\.1 <[^>]+>: Recipient address rejected: User unknown"
    assert count(smtpd_rej + ".*" + unknown_user) == rr["reject_unlisted_recipient"]
    # a bounced delivery quoting a remote "Recipient address rejected" is no local reject
    assert count(unknown_user) == rr["reject_unlisted_recipient"] + count(
        r"status=bounced \(host .* said: 550 5\.1\.1 "
    )
    assert (
        count(r": Recipient address rejected: Greylisted, see http")
        == (truth.rejects_by_layer["greylist"])
    )
    assert (
        count(smtpd_rej + r".*Recipient address rejected: Message (rejected|deferred) due to: SPF")
        == (truth.rejects_by_layer["spf"])
    )
    assert (
        count(r": reject: DATA from .* 503 5\.5\.0 <DATA>: Data command rejected")
        == rr["reject_unauth_pipelining"]
    )
    assert count(r"postfix/cleanup\[\d+\]: \w+: reject: header ") == rr["header_checks"]
    assert count(r"postfix/cleanup\[\d+\]: \w+: reject: body ") == rr.get("body_checks", 0)
    assert (
        count(r"postfix/cleanup\[\d+\]: \w+: milter-reject: END-OF-MESSAGE ") == rr["smtpd_milters"]
    )
    assert (
        count(r"postfix/postscreen\[\d+\]: NOQUEUE: reject: ")
        == truth.rejects_by_layer["postscreen"]
    )
    for zone, n in truth.rejects_by_rbl_zone.items():
        assert count(rf": NOQUEUE: reject: .* blocked using {re.escape(zone)}[;,] ") == n, zone
    # postscreen verdicts
    for action, n in truth.postscreen_by_action.items():
        assert count(rf"postfix/postscreen\[\d+\]: {re.escape(action)} ") == n, action
    # dnsblog per zone
    for zone, n in truth.dnsbl_by_zone.items():
        assert count(rf"dnsblog\[\d+\]: addr \S+ listed by domain {re.escape(zone)} as ") == n
    # greylisting
    assert count(r"postgrey\[\d+\]: (\w+: )?action=pass, reason=triplet found, delay=\d+,") == (
        truth.greylist_retries_passed
    )
    assert truth.greylist_retries_passed > 0
    assert truth.greylist_by_action["greylist"] == count(
        r"postgrey\[\d+\]: (\w+: )?action=greylist, "
    )
    # accepted mail
    sizes = [
        int(m.group(1)) for m in re.finditer(r", size=(\d+), nrcpt=\d+ \(queue active\)", text)
    ]
    assert len(sizes) == truth.messages_accepted > 0
    assert sum(sizes) == truth.accepted_bytes
    assert count(r", status=sent \(") == truth.deliveries_by_status["sent"]


def test_reject_catalogue_is_covered(classic: tuple[bytes, GroundTruth]) -> None:
    truth = classic[1]
    for restriction in (
        "reject_non_fqdn_helo_hostname",
        "reject_unknown_client_hostname",
        "reject_rbl_client",
        "reject_unauth_destination",
        "reject_unlisted_recipient",
        "check_policy_service",
        "reject_unauth_pipelining",
        "header_checks",
        "reject_unknown_sender_domain",
        "postscreen_dnsbl_action",
    ):
        assert truth.rejects_by_restriction.get(restriction, 0) > 0, restriction
    for layer in ("postscreen", "client", "rbl", "helo", "sender", "recipient", "spf", "greylist"):
        assert truth.rejects_by_layer.get(layer, 0) > 0, layer
    for action in ("CONNECT", "PASS NEW", "PASS OLD", "PREGREET", "DNSBL", "HANGUP", "DISCONNECT"):
        assert truth.postscreen_by_action.get(action, 0) > 0, action
    # every spec name is unique
    assert len({s.name for s in SPECS}) == len(SPECS)


def _classic_key(ts: str) -> tuple[int, int, str]:
    return MONTHS.index(ts[:3]), int(ts[4:6]), ts[7:]


def test_timestamps_monotonic_classic(parsed: list[re.Match[str]]) -> None:
    keys = [_classic_key(m["ts"]) for m in parsed]
    assert keys == sorted(keys)
    assert parsed[0]["ts"].startswith("Nov  1 ")


def test_classic_two_digit_day_and_rollover() -> None:
    buf = io.BytesIO()
    start = datetime(2026, 11, 9, 23, 40, tzinfo=timezone.utc)
    generate(buf, lines=N, seed=3, start=start)
    stamps = [line[:15] for line in buf.getvalue().decode().splitlines()]
    assert stamps[0].startswith("Nov  9 23:4")
    assert any(s.startswith("Nov 10 ") for s in stamps)
    keys = [_classic_key(s) for s in stamps]
    assert keys == sorted(keys)


def test_rfc3339_style(classic: tuple[bytes, GroundTruth]) -> None:
    data, truth = _gen(style="rfc3339")
    lines = data.decode().splitlines()
    rx = re.compile(r"^2026-11-01T\d\d:\d\d:\d\d\.\d{6}\+00:00 mx1 ")
    assert all(rx.match(line) for line in lines[:100])
    stamps = [line.split(" ", 1)[0] for line in lines]
    assert stamps == sorted(stamps)
    assert all(LINE_RE.match(line) for line in lines)
    # same content as the classic rendering, only the timestamps differ
    classic_bodies = [line[16:] for line in classic[0].decode().splitlines()]
    assert [line.split(" ", 1)[1] for line in lines] == classic_bodies
    assert truth.style == "rfc3339"
    assert truth.events_by_kind == classic[1].events_by_kind
    # the second fields agree too
    assert [s[11:19] for s in stamps[:500]] == [
        line[7:15] for line in classic[0].decode().splitlines()[:500]
    ]


def test_queue_ids_unique(classic: tuple[bytes, GroundTruth]) -> None:
    text = classic[0].decode()
    qids = re.findall(r"\]: ([0-9A-F]+): (?:client=|sender non-delivery notification)", text)
    created = re.findall(r"postfix/(?:smtpd|submission/smtpd)\[\d+\]: ([0-9A-F]+): client=", text)
    ndr = re.findall(r"sender non-delivery notification: ([0-9A-F]+)$", text, re.M)
    assert qids
    assert len(set(created + ndr)) == len(created) + len(ndr)
    assert {len(q) for q in created} <= {10, 11}
    assert {len(q) for q in created} == {10, 11}


def test_smtpd_pids_consistent(parsed: list[re.Match[str]]) -> None:
    """A smtpd process serves one client at a time: connect/disconnect alternate."""
    open_by_pid: dict[tuple[str, str], str] = {}
    sessions = 0
    for m in parsed:
        if not m["prog"].endswith("/smtpd"):
            continue
        key = (m["prog"], m["pid"])
        msg = m["msg"]
        if msg.startswith("connect from "):
            assert key not in open_by_pid, m.group(0)
            open_by_pid[key] = msg.split(" ", 2)[2]
            sessions += 1
        elif msg.startswith("disconnect from "):
            client = msg.split(" ", 3)[2]
            assert open_by_pid.pop(key) == client, m.group(0)
        elif msg.startswith("warning: hostname "):
            # smtpd_peer.c warns while looking up the client, before "connect from"
            assert key not in open_by_pid, m.group(0)
        else:
            assert key in open_by_pid, m.group(0)
            assert open_by_pid[key] in msg or "TLS library problem" in msg, m.group(0)
    assert not open_by_pid
    assert sessions > 100


def test_greylist_retries_follow_greylisting(parsed: list[re.Match[str]]) -> None:
    seen: set[str] = set()
    retries = 0
    for m in parsed:
        if m["prog"] != "postgrey":
            continue
        msg = m["msg"]
        triplet = re.search(r"client_address=\S+ sender=\S+ recipient=\S+", msg.replace(",", ""))
        if triplet is None:
            continue
        if "action=greylist" in msg:
            seen.add(triplet.group(0))
        elif "reason=triplet found, delay=" in msg:
            assert triplet.group(0) in seen, msg
            delay = int(re.search(r"delay=(\d+)", msg).group(1))  # type: ignore[union-attr]
            assert delay >= 300
            retries += 1
    assert retries > 0


def test_multiple_hosts() -> None:
    data, truth = _gen(seed=4, hosts=3)
    hosts = {LINE_RE.match(line)["host"] for line in data.decode().splitlines()[:2000]}  # type: ignore[index]
    assert hosts == {"mx1", "mx2", "mx3"}
    assert truth.hosts == ["mx1", "mx2", "mx3"]


def test_to_json_roundtrip(classic: tuple[bytes, GroundTruth]) -> None:
    truth = classic[1]
    d = json.loads(truth.to_json())
    assert d["lines"] == truth.lines
    assert d["rejects_by_restriction"] == truth.rejects_by_restriction
    assert GroundTruth(**d) == truth


def test_cli(tmp_path: Path, classic: tuple[bytes, GroundTruth]) -> None:
    out = tmp_path / "mail.log"
    truth_file = tmp_path / "truth.json"
    assert main(["--lines", str(N), "--seed", "1", "-o", str(out), "--truth", str(truth_file)]) == 0
    assert out.read_bytes() == classic[0]
    assert json.loads(truth_file.read_text()) == json.loads(classic[1].to_json())


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        generate(io.BytesIO(), lines=0)
    with pytest.raises(ValueError):
        generate(io.BytesIO(), lines=10, style="iso")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        generate(io.BytesIO(), lines=10, hosts=0)
