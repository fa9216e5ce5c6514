"""End to end on the bundled sample logs: figures hand-counted in sample_logs/README.md."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from mailreject._parsers import event_schema
from mailreject.parsing import ParseOptions, ParseRun

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"

# file -> (lines, {layer: rejects}, {layer: reject_warnings}, connects, disconnects, delivery lines)
EXPECTED = {
    "mail.log": (
        1154,
        {
            "postscreen": 10,
            "client": 5,
            "rbl": 7,
            "helo": 5,
            "sender": 7,
            "recipient": 10,
            "spf": 6,
            "greylist": 7,
            "data": 1,
            "content": 3,
            "other": 6,
        },
        {"client": 5, "rbl": 2},
        97,
        97,
        43,
    ),
    "mail-rfc3339.log": (
        286,
        {
            "postscreen": 3,
            "client": 2,
            "rbl": 1,
            "helo": 1,
            "sender": 2,
            "recipient": 2,
            "spf": 1,
            "greylist": 1,
        },
        {},
        25,
        25,
        18,
    ),
    "rotated/mail.log.2.gz": (
        167,
        {"client": 6, "rbl": 5, "recipient": 3, "spf": 2, "greylist": 1},
        {},
        28,
        28,
        11,
    ),
    "rotated/mail.log.1": (
        138,
        {"client": 3, "rbl": 4, "recipient": 1, "spf": 2, "greylist": 3},
        {},
        22,
        21,
        7,
    ),
    "rotated/mail.log": (
        157,
        {"client": 2, "rbl": 4, "recipient": 4, "spf": 2, "greylist": 2},
        {},
        23,
        24,
        11,
    ),
    "journal.json": (43, {"postscreen": 2, "helo": 1, "rbl": 1, "greylist": 1}, {}, 5, 5, 1),
    "sqlgrey.log": (26, {"greylist": 2}, {}, 4, 4, 2),
}


def _parse(*names: str, **options: object) -> tuple[pa.Table, ParseRun]:
    opts = ParseOptions(tz="UTC", **options)  # type: ignore[arg-type]
    run = ParseRun([str(SAMPLES / n) for n in names], opts)
    table = pa.Table.from_batches(list(run.batches()), schema=event_schema())
    return table, run


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_figures(name: str) -> None:
    lines, rejects, warnings, connects, disconnects, deliveries = EXPECTED[name]
    table, run = _parse(name)
    rows = table.to_pylist()
    summary = run.summary
    assert summary.lines == lines
    assert summary.events + sum(summary.unparsed.values()) + sum(summary.skipped.values()) == lines
    assert not summary.skipped
    kinds = Counter(r["kind"] for r in rows)
    assert Counter(r["layer"] for r in rows if r["kind"] == "reject") == rejects
    assert Counter(r["layer"] for r in rows if r["kind"] == "reject_warning") == warnings
    assert (kinds["connect"], kinds["disconnect"], kinds["delivery"]) == (
        connects,
        disconnects,
        deliveries,
    )
    for row in rows:
        assert row["ts"] is not None
        assert row["source"].endswith(name.split("/")[-1])


def test_sqlgrey_decisions_and_a_debug_echo() -> None:
    table, run = _parse("sqlgrey.log", year=2026)
    rows = table.to_pylist()
    grey = [(r["action"], r["detail"]) for r in rows if r["kind"] == "greylist"]
    assert grey == [
        ("greylist", "new"),
        ("greylist", "early reconnect"),
        ("pass", "reconnect ok"),
        ("pass", "from awl match"),
    ]
    # The debug_peer_list echo of the 450 reply is not a second reject.
    assert sum(r["kind"] == "reject" for r in rows) == 2
    assert run.summary.unparsed["postfix/smtpd"] == 1
    assert run.summary.unparsed["sqlgrey"] == 2


def test_bounce_quoting_a_remote_reject_is_a_delivery() -> None:
    table, _ = _parse("mail.log", year=2026)
    rows = [
        r for r in table.to_pylist() if r["detail"] and "Recipient address rejected" in r["detail"]
    ]
    bounced = [r for r in rows if r["kind"] == "delivery"]
    assert bounced and all(
        r["action"] in ("bounced", "deferred", "undeliverable", "sent") for r in bounced
    )


def test_rotated_set_is_read_oldest_first_across_new_year() -> None:
    table, run = _parse(
        "rotated/mail.log", "rotated/mail.log.1", "rotated/mail.log.2.gz", year=2025
    )
    assert [s.name.rsplit("/", 1)[-1] for s in run.summary.sources] == [
        "mail.log.2.gz",
        "mail.log.1",
        "mail.log",
    ]
    ts = table.column("ts").to_pylist()
    assert ts == sorted(ts), "events must come out in time order across the rotation"
    assert ts[0].year == 2025 and ts[-1].year == 2026
    years = {(t.month, t.year) for t in ts}
    assert (12, 2025) in years and (1, 2026) in years and (12, 2026) not in years


def test_rotated_set_without_year_uses_modification_times(tmp_path: Path) -> None:
    import os
    import shutil

    for name, stamp in (
        ("mail.log.2.gz", "2025-12-31T06:25:03"),
        ("mail.log.1", "2026-01-01T06:25:02"),
        ("mail.log", "2026-01-02T12:00:00"),
    ):
        target = tmp_path / name
        shutil.copy(SAMPLES / "rotated" / name, target)
        from datetime import datetime, timezone

        t = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()
        os.utime(target, (t, t))
    run = ParseRun(
        [str(tmp_path / n) for n in ("mail.log", "mail.log.1", "mail.log.2.gz")],
        ParseOptions(tz="UTC"),
    )
    ts = [t for b in run.batches() for t in b.column("ts").to_pylist()]
    assert ts[0].year == 2025 and ts[-1].year == 2026
    assert ts == sorted(ts)
    assert "modification time" in run.summary.one_line()


def test_all_timestamp_framings_agree() -> None:
    table, _ = _parse("mail-rfc3339.log")
    ts = table.column("ts").to_pylist()
    assert all(t.year == 2026 and t.month == 11 and t.day == 5 for t in ts)


def test_journal_byte_array_message_is_kept() -> None:
    table, _ = _parse("journal.json")
    helo = [r for r in table.to_pylist() if r["kind"] == "reject" and r["layer"] == "helo"]
    assert len(helo) == 1
    assert helo[0]["restriction"] == "reject_invalid_helo_hostname"
    assert "\ufffd" in helo[0]["helo"]


def test_parallel_parse_equals_sequential() -> None:
    one, _ = _parse("mail.log", year=2026)
    two, _ = _parse("mail.log", year=2026, jobs=3, block_size=4096)
    assert one.to_pylist() == two.to_pylist()
