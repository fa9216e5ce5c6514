"""The vectorised building blocks of the analysis agree with their plain definitions.

Sessions, labels, networks and domains are computed with integer codes and per-distinct-
value tricks for speed; Hypothesis checks each against the straightforward pandas or
Python version it replaced.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mailreject.api import _is_sorted
from mailreject.frames import _nets, _network, _per_group
from mailreject.segments import Segments, sorted_codes
from mailreject.sessions import per_combination
from mailreject.who import _domains


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_segments_number_sessions_like_groupby_ngroup(data: st.DataObject) -> None:
    size = data.draw(st.integers(0, 60))
    hosts = data.draw(st.lists(st.integers(0, 2), min_size=size, max_size=size))
    pids = data.draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))
    starts = data.draw(st.lists(st.booleans(), min_size=size, max_size=size))
    member = data.draw(st.lists(st.booleans(), min_size=size, max_size=size))
    rows = np.flatnonzero(np.array(member, dtype=bool))
    keys = [np.array(hosts)[rows], np.array(pids, dtype=float)[rows]]
    seg = Segments.split(size, rows, keys, np.array(starts, dtype=bool)[rows])

    frame = pd.DataFrame({"host": keys[0], "pid": keys[1], "start": np.array(starts)[rows]})
    frame["n"] = frame.groupby(["host", "pid"])["start"].cumsum()
    expected = np.full(size, -1)
    if len(rows):
        expected[rows] = frame.groupby(["host", "pid", "n"], sort=True).ngroup().to_numpy()
    assert seg.ids.tolist() == expected.tolist()
    first_member = seg.first(np.ones(size, dtype=bool))
    assert [int(seg.ids[p]) for p in first_member] == list(range(seg.count))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "c", "ab"])), max_size=40))
def test_sorted_codes_follow_sorted_values_missing_last(values: list[str | None]) -> None:
    codes = sorted_codes(pd.Series(values, dtype="object"))
    present = sorted({v for v in values if v is not None})
    rank = {v: i for i, v in enumerate(present)}
    assert codes.tolist() == [rank[v] if v is not None else len(present) for v in values]
    as_category = pd.Series(values, dtype="category")
    assert sorted_codes(as_category).tolist() == codes.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["x", "y", None]), st.sampled_from(["r1", "r2", None])),
        max_size=40,
    )
)
def test_per_combination_equals_the_rowwise_result(rows: list[tuple[str | None, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=["a", "b"], dtype="object")

    def label(f: pd.DataFrame) -> pd.Series:
        return f["a"].fillna("-").astype(str) + "/" + f["b"].fillna("?").astype(str)

    assert per_combination(frame, ["a", "b"], label).tolist() == label(frame).tolist()


ADDRESSES = st.one_of(
    st.from_regex(
        r"\A(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\Z"
    ),
    st.sampled_from(["2001:db8::1", "2001:db8:0:1::5", "unknown", "010.1.2.3", "1.2.3"]),
    st.none(),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(ADDRESSES, max_size=30))
def test_networks_equal_the_ipaddress_definition(ips: list[str | None]) -> None:
    series = pd.Series(ips, dtype="object")
    for v4, v6 in ((24, 64), (24, 48), (16, 48)):
        got = _nets(series, v4, v6).tolist()
        want = [_network(ip, v4, v6) if ip is not None else None for ip in ips]
        assert [None if g != g else g for g in got] == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="aB@.Üİ-", max_size=8), max_size=30))
def test_domains_equal_python_rpartition_lower(addresses: list[str]) -> None:
    values = np.array(addresses, dtype=object)
    want = [a.rpartition("@")[2].lower() if a else "<>" for a in addresses]
    assert _domains(values).tolist() == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", None]), st.sampled_from(["v", "w", None]))))
def test_per_group_equals_groupby_agg(rows: list[tuple[str | None, str | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["k", "v"], dtype="object")
    got = _per_group(frame["k"], frame["v"], lambda v: ",".join(v))
    want = frame.groupby("k", sort=False)["v"].agg(lambda x: ",".join(x.dropna()))
    assert got.to_dict() == want.to_dict()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b"]), st.integers(0, 3))))
def test_is_sorted_agrees_with_sort_by(rows: list[tuple[int, str, int]]) -> None:
    base = datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()
    table = pa.table(
        {
            "ts": pa.array([int((base + r[0]) * 1e6) for r in rows], pa.timestamp("us", "UTC")),
            "source": pa.array([r[1] for r in rows], pa.string()),
            "line_no": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    order = [("ts", "ascending"), ("source", "ascending"), ("line_no", "ascending")]
    assert _is_sorted(table, ["ts", "source", "line_no"]) == table.sort_by(order).equals(table)
