"""Analysis against hand-counted logs and the generator's ground truth."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from mailreject import analysis as A
from mailreject.generator import generate
from mailreject.postconf import parse_postconf, read_postconf
from mailreject.sessions import build
from mailreject.status import ExitStatus, UsageError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, object]:
    path = tmp_path_factory.mktemp("gen") / "mail.log"
    buf = io.BytesIO()
    truth = generate(buf, lines=50_000, seed=11)
    path.write_bytes(buf.getvalue())
    return A.events_from_files([path], year=2026, tz="UTC"), truth


# ----------------------------------------------------------------- hand-counted small.log
# 10 postscreen sessions + 1 submission session = 11 connections:
#  C1 PREGREET+DISCONNECT (silent postscreen drop)   C2 postscreen DNSBL reject (zen)
#  C3 accepted AAAA (10000 B) + a reject_warning      C4 3 unknown users, 2 senders
#  C5 smtpd[101] reused: 2 rbl rejects, one sender    C6 greylisted (postgrey new)
#  C7 same /24 passes (postgrey delay=600), BBBB (30000 B)
#  C8 greylisted, never came back                     C9 client of C3: 554 sender reject
#  submission CCCC (50000 B)                          C10 header_checks reject (queue id)


def test_connections_and_pid_reuse(small: pd.DataFrame) -> None:
    s = build(small)
    conns = s.connections
    assert len(conns) == 11
    assert int(conns["via_postscreen"].sum()) == 10
    # smtpd[101] served two connections (C3 and C5)
    ev = s.events
    pid101 = ev.loc[(ev["pid"] == 101) & (ev["kind"] == "connect"), "conn"]
    assert pid101.nunique() == 2
    fate = conns["fate"].value_counts().to_dict()
    assert fate == {"stopped": 8, "accepted": 3}


def test_first_layers(small_analysis: A.Analysis) -> None:
    fl = small_analysis.first_layers.set_index("layer")["connections"].to_dict()
    assert fl["postscreen"] == 2
    assert fl["recipient"] == 1
    assert fl["rbl"] == 1
    assert fl["greylist"] == 2
    assert fl["sender"] == 1
    assert fl["content"] == 1
    assert fl["accepted"] == 3
    assert fl["no decision"] == 0
    # funnel ends with the accepted connections
    assert int(small_analysis.first_layers.set_index("layer").loc["other", "remaining"]) == 3


def test_layers_and_attempts(small_analysis: A.Analysis) -> None:
    t = small_analysis.layers.set_index("layer")
    assert list(t.index) == list(A.LAYERS)
    assert t.loc["recipient", "events"] == 3
    assert t.loc["recipient", "attempts"] == 2  # x@ and y@spam.example
    assert t.loc["recipient", "recipients"] == 3
    assert t.loc["recipient", "sessions"] == 1
    assert t.loc["rbl", "events"] == 2
    assert t.loc["rbl", "attempts"] == 1
    assert t.loc["greylist", "temporary"] == 2
    assert t.loc["greylist", "clients"] == 2
    assert t.loc["postscreen", "stopped"] == 2
    assert t.loc["recipient", "share"] == pytest.approx(1 / 11)
    assert small_analysis.kpis["rejects"] == 10
    assert small_analysis.kpis["rejected_attempts"] == 8


def test_queue_load(small_analysis: A.Analysis) -> None:
    ql = small_analysis.queue_load.set_index("layer")
    # the header_checks reject had a queue id: not "kept out of the queue"
    assert ql.loc["content", "attempts"] == 0
    assert ql.loc["total", "attempts"] == 7
    assert ql.loc["total", "recipients"] == 9
    assert ql.loc["total", "temporary"] == 2
    assert ql.loc["total", "smtpd_not_started"] == 2
    # median accepted size = median(10000, 30000, 50000)
    assert ql.loc["total", "est_bytes"] == 7 * 30000
    assert small_analysis.accepted == {
        "messages": 3,
        "recipients": 3,
        "bytes": 90000,
        "median_size": 30000.0,
        "inbound_messages": 3,
    }


def test_greylisting_and_delays(small_analysis: A.Analysis) -> None:
    g = small_analysis.greylisting.set_index("recipient")
    assert g.loc["carol@example.com", "outcome"] == "passed"
    assert g.loc["carol@example.com", "delay_s"] == 600
    assert g.loc["carol@example.com", "delay_source"] == "postgrey delay="
    assert g.loc["dave@example.com", "outcome"] == "never came back"
    assert small_analysis.greylist_summary["passed"] == 1
    d = small_analysis.delayed
    assert len(d) == 1
    # 450 at 10:40:01, accepted (qmgr) at 10:50:03
    assert d.loc[0, "delay_s"] == 602
    assert not d.loc[0, "same_client"]
    ds = small_analysis.delayed_summary.set_index(["layer", "restriction"])
    assert ds.loc[("greylist", "check_policy_service"), "delayed"] == 1
    assert ds.loc[("greylist", "check_policy_service"), "never_accepted"] == 1


def test_greylisted_triplet_passes_on_a_later_acceptance_without_a_pass_line() -> None:
    # no postgrey pass line: the retry is seen as the message accepted 20 minutes later
    ev = A.events_from_text(
        "Nov  3 08:05:00 mx1 postgrey[870]: action=greylist, reason=new, client_name=a.example,"
        " client_address=198.51.100.201, sender=, recipient=anna@example.com\n"
        "Nov  3 08:05:00 mx1 postgrey[870]: action=greylist, reason=new, client_name=a.example,"
        " client_address=198.51.100.201, sender=x@a.example, recipient=bob@example.com\n"
        "Nov  3 08:25:00 mx1 postfix/qmgr[9]: 4F2A1: from=<>, size=900, nrcpt=1 (queue active)\n"
        "Nov  3 08:25:01 mx1 postfix/local[10]: 4F2A1: to=<anna@example.com>, relay=local,"
        " delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)\n"
    )
    g = A.greylisting(ev).set_index("recipient")
    assert g.loc["anna@example.com", "outcome"] == "passed"
    assert g.loc["anna@example.com", "delay_s"] == 1200
    assert g.loc["anna@example.com", "delay_source"] == "timestamps"
    assert g.loc["bob@example.com", "outcome"] == "never came back"


def test_false_positives_dnsbl_who(small_analysis: A.Analysis) -> None:
    fp = small_analysis.false_positives
    assert fp["client_ip"].tolist() == ["198.51.100.20"]
    assert fp.loc[0, "accepted_messages"] == 1
    z = small_analysis.dnsbl_zones.set_index("zone")
    assert z.loc["zen.spamhaus.org", "clients"] == 2
    assert z.loc["zen.spamhaus.org", "unique_clients"] == 1  # 192.0.2.11 is on barracuda too
    assert z.loc["b.barracudacentral.org", "unique_clients"] == 0
    o = small_analysis.dnsbl_overlap.set_index(["zone_a", "zone_b"])
    assert o.loc[("b.barracudacentral.org", "zen.spamhaus.org"), "share_of_a"] == 1.0
    assert o.loc[("zen.spamhaus.org", "b.barracudacentral.org"), "share_of_a"] == 0.5
    da = small_analysis.top["dictionary_attacks"]
    assert da.loc[0, "client_ip"] == "198.51.100.21"
    assert da.loc[0, "unknown_recipients"] == 3
    assert small_analysis.top["clients"].loc[0, "client_ip"] == "198.51.100.21"
    nets = small_analysis.top["networks"].set_index("network")
    assert nets.loc["198.51.100.0/24", "clients"] == 5
    rw = small_analysis.reject_warnings
    assert rw.loc[0, "clients_delivered"] == 1
    pv = small_analysis.postscreen.set_index("verdict")["sessions"].to_dict()
    assert pv == {"PASS OLD": 8, "DISCONNECT": 1, "rejected": 1}


def test_insights_mention_figures(small_analysis: A.Analysis) -> None:
    text = "\n".join(small_analysis.insights)
    assert "check_policy_service (greylist) delayed 1 legitimate sender" in text
    assert "1 came back and passed" in text
    assert "possible false positives" in text


def test_timeseries_hourly(small_analysis: A.Analysis) -> None:
    assert small_analysis.freq == "hour"
    ts = small_analysis.timeseries
    assert int(ts["events"].sum()) == small_analysis.kpis["rejects"]
    assert ts["bucket"].nunique() == 2  # 10:00 and 11:00
    assert A.choose_freq(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-05")) == "day"


# ----------------------------------------------------------------- configuration

POSTCONF = """\
smtpd_client_restrictions = permit_mynetworks,
    reject_unknown_reverse_client_hostname
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_invalid_helo_hostname
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
    reject_rbl_client zen.spamhaus.org=127.0.0.[2..11],
    reject_rbl_client bl.spamcop.net,
    check_sender_access hash:/etc/postfix/sender_access,
    reject_unlisted_recipient,
    check_policy_service inet:127.0.0.1:10023
smtpd_data_restrictions = reject_unauth_pipelining
header_checks = regexp:/etc/postfix/header_checks
postscreen_dnsbl_sites = zen.spamhaus.org*3 b.barracudacentral.org*2
"""


def test_postconf_order_and_never_fired(small: pd.DataFrame, tmp_path: Path) -> None:
    cfg = parse_postconf(POSTCONF)
    assert cfg.layer_order()[:5] == ["postscreen", "client", "helo", "recipient", "rbl"]
    labels = [r.label for r in cfg.restrictions]
    assert "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]" in labels
    assert next(r for r in cfg.restrictions if r.name == "check_policy_service").layer == "greylist"
    path = tmp_path / "postconf.txt"
    path.write_text(POSTCONF)
    a = A.analyse(small, postconf=path)
    assert a.order_basis == f"from {path}"
    assert a.order[:5] == ["postscreen", "client", "helo", "recipient", "rbl"]
    silent = set(a.never_fired["restriction"])
    # reject_warning of the reverse-hostname check is not a reject: the restriction never fired
    assert silent == {
        "reject_unknown_reverse_client_hostname",
        "reject_invalid_helo_hostname",
        "reject_unauth_destination",
        "reject_rbl_client bl.spamcop.net",
        "reject_unauth_pipelining",
    }
    assert any("never fired in" in s for s in a.insights)
    r = a.restrictions.set_index("restriction")
    assert r.loc["reject_rbl_client zen.spamhaus.org", "position"] >= 0


def test_custom_rbl_reply_counts_for_its_zone() -> None:
    """A custom rbl_reply_maps text names no restriction, only the zone (sample_logs/mail.log)."""
    ev = A.events_from_files([SAMPLES / "mail.log"], year=2026, tz="UTC")
    custom = ev.loc[ev["rbl_zone"] == "rbl.example.net"]
    assert custom["restriction"].isna().all() and (custom["layer"] == "rbl").all()
    cfg = parse_postconf(
        "smtpd_recipient_restrictions = reject_rbl_client rbl.example.net,\n"
        "    reject_rbl_client unused.example.net\n"
    )
    a = A.analyse(ev, postconf=cfg)
    assert list(a.never_fired["restriction"]) == ["reject_rbl_client unused.example.net"]
    r = a.restrictions.set_index("restriction")
    assert r.loc["(smtpd.rbl.custom_reply) rbl.example.net", "position"] == 0
    # the same with nullable dtypes (mailreject.load()), whose missing restriction is pd.NA
    nullable = A.analyse(ev.convert_dtypes(), postconf=cfg)
    assert nullable.never_fired.equals(a.never_fired)
    assert nullable.restrictions["position"].tolist() == a.restrictions["position"].tolist()


def test_postconf_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        read_postconf(tmp_path / "missing")
    empty = tmp_path / "main.cf"
    empty.write_text("myhostname = mx\n")
    with pytest.raises(UsageError, match="no smtpd"):
        read_postconf(empty)


# ----------------------------------------------------------------- edge cases


def test_phases_are_announced_as_they_start(small: pd.DataFrame) -> None:
    phases: list[str] = []
    a = A.analyse(small, on_phase=phases.append)
    assert phases == [
        f"linking {len(A.select(small)):,} events into sessions",
        "analysing 11 connections",
    ]
    assert a.kpis["connections"] == 11


def test_empty_input_raises_no_data() -> None:
    with pytest.raises(A.NoDataError, match="no events in the input") as info:
        A.analyse(A.events_from_text(""))
    assert info.value.exit_status == ExitStatus.ERROR


def test_one_event() -> None:
    ev = A.events_from_text(
        "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
    )
    a = A.analyse(ev)
    assert a.kpis["connections"] == 1
    assert a.kpis["rejects"] == 0
    assert a.insights[0] == "1 connections; no rejects in this period."
    assert a.queue_load.iloc[-1]["attempts"] == 0
    for name, frame in a.tables().items():
        assert isinstance(frame, pd.DataFrame), name


def test_one_reject_without_session() -> None:
    ev = A.events_from_text(
        "Nov  3 00:31:11 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example[192.0.2.1]: "
        "554 5.7.1 <x@y.example>: Relay access denied; from=<s@a.example> to=<x@y.example> proto=ESMTP helo=<a.example>\n"
    )
    a = A.analyse(ev)
    assert a.kpis["rejects"] == 1
    assert a.layers.set_index("layer").loc["recipient", "events"] == 1


def test_no_data_in_period(small: pd.DataFrame) -> None:
    with pytest.raises(A.NoDataError, match="no events between") as info:
        A.analyse(small, since="2027-01-01", until="2027-01-02")
    assert "2026-11-03" in (info.value.hint or "")
    with pytest.raises(A.NoDataError, match="host"):
        A.analyse(small, host="mx9")
    with pytest.raises(UsageError):
        A.analyse(small, since="yesterday-ish")
    with pytest.raises(UsageError):
        A.analyse(small, since="2026-11-04", until="2026-11-03")


def test_period_filter(small: pd.DataFrame) -> None:
    a = A.analyse(small, since="2026-11-03T10:30:00", until="2026-11-03T11:00:00")
    assert a.kpis["rejects"] == 3  # two rbl + one greylist
    assert a.period_start == pd.Timestamp("2026-11-03T10:30:00Z")
    assert A.default_since(small) == "2026-10-27T11:30:02+00:00"


def test_quality(small: pd.DataFrame) -> None:
    q = {
        "lines": 70,
        "events": 62,
        "unparsed_by_program": {"postfix/cleanup": 1},
        "assumptions": ["small.log: year 2026 (--year), zone UTC"],
        "sources": [{"name": "small.log"}],
    }
    a = A.analyse(small, quality=q)
    assert a.quality["lines"] == 70
    assert a.quality["sources"] == ["small.log"]
    assert a.quality["unparsed_by_program"] == {"postfix/cleanup": 1}
    assert a.quality["first_event"].startswith("2026-11-03T10:00:00")


def test_store_dtypes(small: pd.DataFrame, small_analysis: A.Analysis) -> None:
    """mailreject.load() gives nullable integers and, on request, categoricals."""
    nullable = small.astype(
        {
            "smtp_code": "Int16",
            "pid": "Int32",
            "client_port": "Int32",
            "size": "Int64",
            "nrcpt": "Int32",
        }
    )
    for col in ("kind", "layer", "restriction", "host", "program"):
        nullable[col] = nullable[col].astype("category")
    a = A.analyse(nullable)
    assert a.kpis == small_analysis.kpis
    assert a.layers.equals(small_analysis.layers)
    assert a.queue_load.equals(small_analysis.queue_load)
    assert A.analyse(small.convert_dtypes()).kpis == small_analysis.kpis


def test_individual_functions_accept_events(small: pd.DataFrame) -> None:
    assert A.layers(small).set_index("layer").loc["rbl", "events"] == 2
    assert len(A.first_layers(small)) == len(A.LAYERS) + 2
    assert A.queue_load(small).iloc[-1]["attempts"] == 7
    assert len(A.greylisting(small)) == 2
    assert len(A.dnsbl_zones(small)) == 2
    assert A.top_clients(small, 1)["client_ip"].tolist() == ["198.51.100.21"]


# ----------------------------------------------------------------- ground truth (generator)


def test_against_generator_truth(generated: tuple[pd.DataFrame, object]) -> None:
    ev, truth = generated
    a = A.analyse(ev)
    layers = {k: int(v) for k, v in zip(a.layers["layer"], a.layers["events"], strict=True) if v}
    assert layers == truth.rejects_by_layer  # type: ignore[attr-defined]
    by_name = (
        a.restrictions.assign(name=a.restrictions["name"].fillna("null"))
        .groupby("name")["events"]
        .sum()
    )
    assert {k: int(v) for k, v in by_name.items()} == truth.rejects_by_restriction  # type: ignore[attr-defined]
    zones = a.dnsbl_zones.set_index("zone")
    for zone, n in truth.rejects_by_rbl_zone.items():  # type: ignore[attr-defined]
        assert zones.loc[zone, "smtpd_rejects"] + zones.loc[zone, "postscreen_rejects"] == n
    for zone, n in truth.dnsbl_by_zone.items():  # type: ignore[attr-defined]
        assert zones.loc[zone, "dnsblog_listings"] == n
    assert a.accepted["messages"] == truth.messages_accepted  # type: ignore[attr-defined]
    assert a.accepted["bytes"] == truth.accepted_bytes  # type: ignore[attr-defined]
    assert int(a.postscreen["sessions"].sum()) == truth.postscreen_by_action["CONNECT"]  # type: ignore[attr-defined]
    warnings = dict(zip(a.reject_warnings["restriction"], a.reject_warnings["events"], strict=True))
    assert warnings == truth.reject_warnings_by_restriction  # type: ignore[attr-defined]
    passed = a.greylist_summary["passed_with_postgrey_delay"]
    assert 0.97 * truth.greylist_retries_passed <= passed <= truth.greylist_retries_passed  # type: ignore[attr-defined]
    # every connection is accounted for exactly once in the funnel
    assert int(a.first_layers["connections"].sum()) == a.kpis["connections"]
    total = a.queue_load.iloc[-1]
    assert total["attempts"] == a.queue_load.iloc[:-1]["attempts"].sum()
    assert 0 < total["attempts"] <= a.kpis["rejected_attempts"]


def test_data_quality_counts_unmatched_rejects_as_the_parser_does() -> None:
    """Fallback rules and class-only rules (a local text) both count, as in 'parse'."""
    ev = A.events_from_files(
        [Path(__file__).parent.parent / "sample_logs" / "mail.log"], year=2026, tz="UTC"
    )
    assert A.data_quality(ev)["unmatched_rejects"] == 6
