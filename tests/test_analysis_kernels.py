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
from mailreject.frames import (
    _by_count,
    _most_common_of,
    _nets,
    _network,
    _pair_keys,
    _per_group,
    _zone_label,
)
from mailreject.kernels import (
    LABEL_COLUMNS,
    combination_codes,
    first_in_group,
    group_nunique,
    labels,
    take,
    top_order,
    values_per_group,
)
from mailreject.layers import _codes_per_group, _first_rejects
from mailreject.legit import _most_common_named, _sender_recipient_keys, _triplet_keys
from mailreject.segments import Segments, sorted_codes
from mailreject.sessions import _at, _take, per_combination
from mailreject.who import _both, _domains, _layers_by_count, _mapped, _unique_clients


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
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
    for pick, last in ((seg.first, False), (seg.last, True)):
        wanted = [-1] * seg.count
        for position in range(size):  # rows are in time order: keep the first (last) hit
            session = int(seg.ids[position])
            if session >= 0 and mask[position] and (last or wanted[session] < 0):
                wanted[session] = position
        assert pick(mask).tolist() == wanted
        assert pick(np.ones(size, dtype=bool)).tolist() == [
            max(p for p in range(size) if seg.ids[p] == s)
            if last
            else min(p for p in range(size) if seg.ids[p] == s)
            for s in range(seg.count)
        ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "c", "ab"])), max_size=40))
def test_sorted_codes_follow_sorted_values_missing_last(values: list[str | None]) -> None:
    codes = sorted_codes(pd.Series(values, dtype="object"))
    present = sorted({v for v in values if v is not None})
    rank = {v: i for i, v in enumerate(present)}
    assert codes.tolist() == [rank[v] if v is not None else len(present) for v in values]
    as_category = pd.Series(values, dtype="category")
    assert sorted_codes(as_category).tolist() == codes.tolist()
    # categories no value uses (a store's dictionary covers more days than are read)
    unseen = as_category.cat.set_categories(sorted({*present, "aa", "bb", "zz"}))
    assert sorted_codes(unseen).tolist() == codes.tolist()
    reversed_categories = as_category.cat.set_categories(sorted({*present, "zz"}, reverse=True))
    assert sorted_codes(reversed_categories).tolist() == codes.tolist()


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


CODES = st.lists(st.integers(-1, 4), max_size=40)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_group_nunique_equals_groupby_nunique(data: st.DataObject) -> None:
    count = data.draw(st.sampled_from([5, 70]))  # bits per group, or hashed pairs
    groups = data.draw(st.lists(st.integers(-1, count - 1), max_size=40))
    values = data.draw(st.lists(st.integers(-1, 6), min_size=len(groups), max_size=len(groups)))
    frame = pd.DataFrame({"g": groups, "v": values})
    frame = frame.loc[(frame["g"] >= 0) & (frame["v"] >= 0)]
    want = frame.groupby("g")["v"].nunique().reindex(range(count), fill_value=0)
    got = group_nunique(np.array(groups, dtype=np.int64), np.array(values, dtype=np.int64), count)
    assert got.tolist() == want.tolist()


@settings(max_examples=100, deadline=None)
@given(CODES)
def test_first_in_group_equals_drop_duplicates(groups: list[int]) -> None:
    series = pd.Series(groups)
    firsts = series.loc[series >= 0].drop_duplicates()
    want = pd.Series(firsts.index, index=firsts.to_numpy()).reindex(range(5), fill_value=-1)
    assert first_in_group(np.array(groups, dtype=np.int64), 5).tolist() == want.tolist()


LABEL_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["reject_rbl_client", "check_policy_service", None]),
        st.sampled_from(["r.a", "r.b", None]),
        st.sampled_from(["rbl", "greylist", "helo", None]),
        st.sampled_from(["zen.example", "b.example", None]),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(LABEL_ROWS, st.booleans())
def test_combinations_and_labels_equal_groupby_and_label(
    rows: list[tuple[str | None, ...]], categorical: bool
) -> None:
    frame = pd.DataFrame(rows, columns=LABEL_COLUMNS, dtype="object")
    if categorical:
        frame = frame.astype("category")
    found, first = combination_codes(frame, LABEL_COLUMNS)
    ngroup = frame.groupby(LABEL_COLUMNS, dropna=False, observed=True, sort=False).ngroup()
    assert found.tolist() == ngroup.tolist()
    assert first.tolist() == ngroup.drop_duplicates().index.tolist()
    assert labels(frame).tolist() == _zone_label(frame).tolist()  # the label of every row


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.text(alphabet="ab.1", max_size=4)), max_size=40))
def test_top_order_equals_sort_values_head(rows: list[tuple[int, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["count", "name"]).drop_duplicates("name")
    frame = frame.reset_index(drop=True)
    names = frame["name"].to_numpy(dtype=object)
    for n in (0, 1, 3, 50):
        want = frame.sort_values(["count", "name"], ascending=[False, True], kind="stable")
        got = top_order(frame["count"].to_numpy(), names, n)
        assert got.tolist() == want.index[:n].tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, 3), st.integers(0, 3), st.integers(0, 2), st.booleans()),
        max_size=40,
    )
)
def test_first_rejects_equal_sort_and_drop_duplicates(
    rows: list[tuple[int, int, int, bool]],
) -> None:
    base = pd.Timestamp("2026-11-01", tz="UTC")
    ts = [base + pd.Timedelta(seconds=r[1]) if not r[3] else pd.NaT for r in rows]
    rej = pd.DataFrame(
        {
            "conn": [r[0] for r in rows],
            "ts": pd.Series(ts, dtype="datetime64[us, UTC]"),
            "layer_rank": [r[2] for r in rows],
        }
    )
    rej = rej.sort_values("ts", kind="stable").reset_index(drop=True)  # as Sessions events
    rej["seq"] = np.random.default_rng(len(rows)).permutation(len(rej))
    rej = rej.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    want = (
        rej.loc[rej["conn"] >= 0]
        .sort_values(["conn", "ts", "layer_rank", "seq"], kind="stable")
        .drop_duplicates("conn")
    )
    assert _first_rejects(rej).tolist() == want.index.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([450.0, 550.0, 554.0, np.nan]))))
def test_codes_per_group_equal_groupby_join(rows: list[tuple[int, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["g", "code"])
    want = (
        frame.groupby("g")["code"]
        .agg(lambda c: ", ".join(str(int(x)) for x in sorted(c.dropna().unique())))
        .reindex(range(4), fill_value="")
    )
    got = _codes_per_group(frame["g"].to_numpy(), frame["code"].to_numpy(dtype="float64"), 4)
    assert got.tolist() == want.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["192.0.2.1", "192.0.2.9", "198.51.100.1", "2001:db8::1", "", None]),
            st.sampled_from(["a@x", "", None]),
            st.sampled_from(["b@y", "c@y", "", None]),
        ),
        max_size=30,
    )
)
def test_triplet_keys_equal_the_pair_key_definition(rows: list[tuple[str | None, ...]]) -> None:
    ev = pd.DataFrame(rows, columns=["client_ip", "sender", "recipient"], dtype="str")
    at = np.arange(len(ev))
    key, net = _triplet_keys(ev, at)
    found, ips = pd.factorize(ev["client_ip"])
    coded_key, coded_net = _triplet_keys(ev, at, (found.astype(np.int32), ips))
    assert pd.factorize(coded_key)[0].tolist() == pd.factorize(key)[0].tolist()
    assert [None if n != n else n for n in coded_net] == [None if n != n else n for n in net]
    want_net = _nets(ev["client_ip"], 24, 64)
    assert [None if n != n else n for n in net] == [None if n != n else n for n in want_net]
    first = _pair_keys([want_net.fillna("")], [ev["sender"].astype("object").fillna("")])[0]
    want = _pair_keys([pd.Series(first)], [ev["recipient"].astype("object").fillna("")])[0]
    assert pd.factorize(key)[0].tolist() == pd.factorize(want)[0].tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "", None]), st.sampled_from(["b", "c", None]))),
    st.lists(st.tuples(st.sampled_from(["a", "d", ""]), st.sampled_from(["b", "", "e"]))),
)
def test_sender_recipient_keys_equal_the_pair_key_definition(
    accepted: list[tuple[str | None, ...]], wanted: list[tuple[str, ...]]
) -> None:
    acc = pd.DataFrame(accepted, columns=["sender", "recipient"], dtype="str")
    want = pd.DataFrame(wanted, columns=["sender", "recipient"], dtype="object")
    acc_key, want_key = _sender_recipient_keys(acc, want)
    plain = _pair_keys(
        [acc["sender"].astype("object").fillna(""), want["sender"]],
        [acc["recipient"].astype("object").fillna(""), want["recipient"]],
    )
    for i, j in np.ndindex(len(acc), len(want)):
        assert (acc_key[i] == want_key[j]) == (plain[0][i] == plain[1][j])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), max_size=40),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.sets(st.integers(0, 6)),
)
def test_dnsbl_counts_equal_the_set_definitions(
    listed: list[tuple[int, int]], allow: list[bool], caught: set[int]
) -> None:
    pairs = sorted(set(listed))
    zone_of = np.array([p[0] for p in pairs], dtype=np.int64)
    ip_of = np.array([p[1] for p in pairs], dtype=np.int64)
    sets = {z: {ip for zz, ip in pairs if zz == z} for z in range(4)}
    blocking = {z: ips for z, ips in sets.items() if not allow[z]}
    caught_mask = np.array([ip in caught for ip in range(7)], dtype=bool)
    unique, union = _unique_clients(zone_of, ip_of, np.array(allow), caught_mask)
    assert union == len(set().union(*blocking.values()))
    for z, ips in sets.items():
        others = set().union(*(v for k, v in blocking.items() if k != z))
        assert unique[z] == (0 if allow[z] else len(ips - others - caught))
    both = _both(zone_of, ip_of, 4)
    for a, b in np.ndindex(4, 4):
        assert both[a, b] == len(sets[a] & sets[b])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["rbl", "helo", "client", None])),
        max_size=40,
    ),
    st.booleans(),
)
def test_layers_by_count_equal_by_count_join(
    rows: list[tuple[int, str | None]], categorical: bool
) -> None:
    frame = pd.DataFrame(rows, columns=["g", "layer"]).astype({"layer": "object"})
    layer = frame["layer"].astype("category") if categorical else frame["layer"]
    got = _layers_by_count(frame["g"].to_numpy(dtype=np.int64), layer, 4)
    want = [
        ", ".join(_by_count(frame.loc[frame["g"] == g, "layer"].dropna().tolist()))
        for g in range(4)
    ]
    assert got == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["A@X.example", "b@x.EXAMPLE", "", "c@y", None]), max_size=30))
def test_mapped_codes_equal_factorize_of_the_changed_rows(values: list[str | None]) -> None:
    series = pd.Series(values, dtype="str")
    found, names = pd.factorize(series)

    def lower(a: object) -> pd.Series:
        return pd.Series(a, dtype="object").str.lower()

    got, distinct = _mapped(found, names, lower)
    want_codes, want_names = pd.factorize(series.astype("object").str.lower())
    assert [distinct[c] if c >= 0 else None for c in got] == [
        want_names[c] if c >= 0 else None for c in want_codes
    ]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, 3), st.sampled_from(["x", "unknown", "y", None])), max_size=40
    )
)
def test_values_per_group_equal_by_count_and_first_seen(rows: list[tuple[int, str | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["g", "v"]).astype({"v": "object"})
    groups = frame["g"].to_numpy(dtype=np.int64)
    counted = values_per_group(groups, frame["v"], 4, by_count=True)
    seen = values_per_group(groups, frame["v"], 4, by_count=False)
    for g in range(4):
        values = frame.loc[frame["g"] == g, "v"].dropna().tolist()
        assert counted[g] == _by_count(values)
        assert seen[g] == list(dict.fromkeys(values))
        assert _most_common_named(counted[g]) == _most_common_of(values)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.text(alphabet="ab.", max_size=3)), max_size=5)),
    st.data(),
)
def test_take_equals_iloc_over_chunks(chunks: list[list[str | None]], data: st.DataObject) -> None:
    array = pa.chunked_array(
        [pa.array(c, type=pa.large_string()) for c in chunks], pa.large_string()
    )
    column = pd.Series(pd.array(array, dtype="str"))
    size = len(column)
    rows = data.draw(st.lists(st.integers(0, max(size - 1, 0)), max_size=8 if size else 0))
    if data.draw(st.booleans()):  # in order (kind_rows): chunk by chunk, no reordering
        rows = sorted(rows)
    at = np.array(rows, dtype=np.int64)
    got = take(column, at)
    want = column.iloc[at].reset_index(drop=True)
    assert got.dtype == want.dtype
    assert [None if v != v else v for v in got.tolist()] == [
        None if v != v else v for v in want.tolist()
    ]


def test_reject_table_equals_reject_events_in_the_columns_it_keeps() -> None:
    from pathlib import Path

    from mailreject.analysis import build, events_from_files
    from mailreject.kernels import UNREAD_REJECT_COLUMNS, reject_table

    logs = Path(__file__).resolve().parent.parent / "sample_logs" / "mail.log"
    s = build(events_from_files([logs], year=2026, tz="UTC"))
    got = reject_table(s)
    want = s.reject_events()
    kept = [c for c in want.columns if c not in UNREAD_REJECT_COLUMNS]
    assert list(got.columns) == kept
    pd.testing.assert_frame_equal(got, want[kept], check_exact=True)
    assert reject_table(s) is want  # made already: the same frame


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(
        st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=6), min_size=1, max_size=6
    ),
    picks=st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=30),
)
def test_at_takes_strings_chunk_by_chunk_as_iloc_does(
    chunks: list[list[str | None]], picks: list[tuple[int, bool]]
) -> None:
    array = pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks], pa.large_string())
    if not len(array):
        return
    positions = np.array([p % len(array) for p, _ in picks], dtype=np.int64)
    valid = np.array([v for _, v in picks], dtype=bool)
    expected = array.take(pa.array(positions, mask=~valid)) if len(positions) else array.slice(0, 0)
    assert _take(array, positions, valid).to_pylist() == expected.to_pylist()
    ascending = np.sort(positions)  # the path without a second take
    assert _take(array, ascending, np.ones(len(ascending), bool)).to_pylist() == (
        array.take(pa.array(ascending)).to_pylist() if len(ascending) else []
    )
    column = pd.Series(pd.array(array, dtype="str"))
    at = np.where(valid, positions, -1)
    plain = column.iloc[np.where(at >= 0, at, 0)].reset_index(drop=True).where(at >= 0)
    assert _at(column, at).equals(plain)
