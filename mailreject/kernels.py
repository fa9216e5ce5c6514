"""Vectorised building blocks of the analyses: integer codes, per-group counts, top-N order.

The analyses group hundreds of thousands of reject lines (and millions of postscreen lines)
by a few keys; pandas ``groupby`` over strings, ``nunique`` and frame copies cost seconds
there. These helpers work on integer codes (one per row, -1 for missing) with numpy, and
each is checked against the plain pandas definition in ``tests/test_analysis_kernels.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mailreject.sessions import Sessions

__all__ = [
    "codes",
    "combination_codes",
    "first_in_group",
    "group_nunique",
    "ip_codes",
    "kind_rows",
    "labels",
    "mask",
    "reject_groups",
    "reject_table",
    "reject_values",
    "take",
    "top_order",
    "values_per_group",
]

#: Event columns no analysis reads from the reject events: left out of their table.
UNREAD_REJECT_COLUMNS = frozenset(
    {"host", "program", "instance", "pid", "kind", "stage", "client_port", "queue_id"}
    | {"size", "nrcpt", "delay", "smtpd_sid", "ps_sid", "dsn", "proto"}
)

#: The columns a restriction label (:func:`mailreject.frames._label`) is made of.
LABEL_COLUMNS = ["restriction", "rule", "layer", "rbl_zone"]


def codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A signed integer code per value (-1 for missing) and the values the codes stand for.

    Categoricals give their codes for free (``uniques`` are then the categories, which may
    include values that do not occur); other columns are factorized (``uniques`` in order
    of first appearance).

    Example:
        >>> import pandas as pd
        >>> c, u = codes(pd.Series(["b", None, "a", "b"]))
        >>> c.tolist(), u.tolist()
        ([0, -1, 1, 0], ['b', 'a'])

    """
    import numpy as np
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.asarray(values.cat.categories, dtype=object)
        return values.cat.codes.to_numpy(), cats  # int8 or int16: small and fast to compare
    found, uniques = pd.factorize(values)
    return found.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def mask(condition: pd.Series) -> np.ndarray:
    """A boolean condition as a numpy mask; missing (``pd.NA`` of nullable dtypes) is False.

    That is how ``.loc[condition]`` takes it.

    Example:
        >>> import pandas as pd
        >>> mask(pd.Series(["a", None], dtype="string") == "a").tolist()
        [True, False]

    """
    found: np.ndarray = condition.to_numpy(dtype=bool, na_value=False)
    return found


def take(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """``column.iloc[rows]`` with a new index; Arrow strings are taken chunk by chunk.

    pyarrow concatenates a chunked string column whole for every take (see
    :func:`mailreject.sessions._at`); events read from the store have hundreds of chunks.

    Example:
        >>> import numpy as np
        >>> import pandas as pd
        >>> take(pd.Series(["a", "b", "c"], dtype="str"), np.array([2, 0])).tolist()
        ['c', 'a']

    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mailreject.sessions import _at

    if not isinstance(column.array, pd.arrays.ArrowStringArray):
        return column.iloc[rows].reset_index(drop=True)
    if len(rows) > 1 and (np.diff(rows) < 0).any():
        return _at(column, rows)
    # rows in order (kind_rows, subsets of them): each chunk's rows, one after another
    array = column.array.__arrow_array__()
    bounds = np.cumsum([0, *(len(chunk) for chunk in array.chunks)])
    edges = np.searchsorted(rows, bounds)
    parts = [
        array.chunk(i).take(pa.array(rows[edges[i] : edges[i + 1]] - bounds[i]))
        for i in np.flatnonzero(np.diff(edges))
    ]
    joined = pa.concat_arrays(parts) if parts else pa.array([], type=array.type)
    return pd.Series(pd.array(pa.chunked_array([joined], type=array.type), dtype=column.dtype))


def combination_codes(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A code per row for the combination of the columns' values, and each one's first row.

    Missing is a value of its own; combinations are numbered in order of first appearance,
    like ``groupby(columns, dropna=False, sort=False).ngroup()``.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"a": ["x", "y", "x", None], "b": [1, 1, 1, 2]})
        >>> found, first = combination_codes(frame, ["a", "b"])
        >>> found.tolist(), first.tolist()
        ([0, 1, 0, 2], [0, 1, 3])

    """
    import numpy as np
    import pandas as pd

    key = np.zeros(len(frame), dtype=np.int64)
    bound = 1
    for column in columns:
        found, uniques = codes(frame[column])
        width = len(uniques) + 1
        if bound * width >= 2**62:  # renumber densely before the product could overflow
            key = pd.factorize(key)[0].astype(np.int64)
            bound = int(key.max()) + 1 if len(key) else 1
        key = key * width + found.astype(np.int64) + 1
        bound *= width
    numbered, distinct = pd.factorize(key)
    numbered = numbered.astype(np.int64, copy=False)
    return numbered, first_in_group(numbered, len(distinct))


def labels(frame: pd.DataFrame) -> pd.Series:
    """:func:`mailreject.frames._label` of each row, computed once per combination.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"restriction": ["reject_rbl_client", None],
        ...     "rule": ["a", "b.c"], "layer": ["rbl", "helo"], "rbl_zone": ["z.example", None]})
        >>> labels(frame).tolist()
        ['reject_rbl_client z.example', '(b.c)']

    """
    import pandas as pd

    from mailreject.frames import _zone_label

    found, first = combination_codes(frame, LABEL_COLUMNS)
    distinct = _zone_label(frame[LABEL_COLUMNS].iloc[first]).to_numpy(dtype=object)
    return pd.Series(distinct[found], index=frame.index, dtype="object")


def group_nunique(groups: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Distinct values per group: ``groupby(groups)[values].nunique()`` for integer codes.

    Args:
        groups: Group code of each row (-1: the row is in no group).
        values: Value code of each row (-1: missing, not counted).
        count: Number of groups.

    Returns:
        ``count`` integers (0 for groups without a value).

    Example:
        >>> import numpy as np
        >>> group_nunique(np.array([0, 0, 1, 0, -1]), np.array([5, 5, 2, 7, 1]), 3).tolist()
        [2, 1, 0]

    """
    import numpy as np
    import pandas as pd

    ok = (groups >= 0) & (values >= 0)
    if not ok.any():
        return np.zeros(count, dtype=np.int64)
    value = values[ok].astype(np.intp)
    group = groups[ok].astype(np.int64)
    span = int(value.max()) + 1
    if count <= 64 and span <= 4 * len(value) + 1024:
        # few groups: one bit per group for each value, no hashing of (group, value) pairs
        bits = np.zeros(span, dtype=np.uint64)
        np.bitwise_or.at(bits, value, np.left_shift(np.uint64(1), group.astype(np.uint64)))
        used = bits[bits != 0]
        return np.array(
            [np.count_nonzero(used & np.uint64(1 << g)) for g in range(count)], dtype=np.int64
        )
    distinct = pd.unique(group * span + value)
    return np.bincount(distinct // span, minlength=count).astype(np.int64)


def first_in_group(groups: np.ndarray, count: int) -> np.ndarray:
    """Position of the first row of each group (-1 for groups without rows).

    Example:
        >>> import numpy as np
        >>> first_in_group(np.array([1, -1, 1, 0, 0]), 3).tolist()
        [3, 0, -1]

    """
    import numpy as np

    rows = np.flatnonzero(groups >= 0)
    out = np.full(count, len(groups), dtype=np.int64)
    np.minimum.at(out, groups[rows].astype(np.intp), rows)
    out[out == len(groups)] = -1
    return out


def values_per_group(
    groups: np.ndarray, values: pd.Series, count: int, *, by_count: bool
) -> list[list[Any]]:
    """The distinct non-missing values of each group, most frequent first or in order seen.

    ``by_count``: most frequent first, ties in order of first appearance (as
    :func:`mailreject.frames._by_count`); else in order of first appearance (as
    ``dict.fromkeys``).

    Example:
        >>> import numpy as np
        >>> import pandas as pd
        >>> values = pd.Series(["a", "b", "b", None, "c"])
        >>> values_per_group(np.array([0, 0, 0, 0, 1]), values, 2, by_count=True)
        [['b', 'a'], ['c']]

    """
    import numpy as np
    import pandas as pd

    found, names = codes(values)
    ok = (found >= 0) & (groups >= 0)
    width = len(names) + 1
    pairs = pd.DataFrame(
        {"pair": groups[ok].astype(np.int64) * width + found[ok], "at": np.flatnonzero(ok)}
    )
    per_pair = pairs.groupby("pair", sort=False)["at"].agg(["size", "min"])
    group = per_pair.index.to_numpy() // width
    value = per_pair.index.to_numpy() % width
    if by_count:
        order = np.lexsort((per_pair["min"].to_numpy(), -per_pair["size"].to_numpy(), group))
    else:
        order = np.lexsort((per_pair["min"].to_numpy(), group))
    out: list[list[Any]] = [[] for _ in range(count)]
    for g, v in zip(group[order].tolist(), value[order].tolist(), strict=True):
        out[g].append(names[v])
    return out


def top_order(counts: np.ndarray, names: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` entries with the highest count, ties by name (ascending).

    The first ``n`` of ``sort_values(["count", "name"], ascending=[False, True])``, but only
    the entries that can make the cut are sorted.

    Args:
        counts: An integer per entry.
        names: Distinct strings, one per entry.
        n: How many to keep.

    Returns:
        Up to ``n`` positions, in order.

    Example:
        >>> import numpy as np
        >>> top_order(np.array([1, 3, 3, 2]), np.array(["a", "d", "c", "b"], dtype=object), 3)
        array([2, 1, 3])

    """
    import numpy as np
    import pandas as pd

    if n <= 0 or not len(counts):
        return np.empty(0, dtype=np.int64)
    if n < len(counts):  # nothing below the n-th highest count can make the cut
        cut = np.partition(counts, len(counts) - n)[len(counts) - n]
        candidates = np.flatnonzero(counts >= cut)
    else:
        candidates = np.arange(len(counts))
    frame = pd.DataFrame({"count": counts[candidates], "name": names[candidates]})
    frame = frame.sort_values(["count", "name"], ascending=[False, True], kind="stable")
    out: np.ndarray = candidates[frame.index.to_numpy()[:n]]
    return out


def kind_rows(s: Sessions, kind: str) -> np.ndarray:
    r"""Positions of the events of one ``kind``, in event order (cached per kind).

    Example:
        >>> from mailreject.analysis import build, events_from_text
        >>> s = build(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"))
        >>> kind_rows(s, "connect").tolist(), kind_rows(s, "reject").tolist()
        ([0], [])

    """
    import numpy as np

    table: dict[str, np.ndarray] = s.cached("kind_rows", lambda _: {})
    if kind not in table:
        found, names = s.cached("kind_codes", lambda s: codes(s.events["kind"]))
        code = np.flatnonzero(names == kind)
        table[kind] = np.flatnonzero(found == code[0]) if len(code) else np.empty(0, dtype=np.int64)
    return table[kind]


def ip_codes(s: Sessions) -> tuple[np.ndarray, Any]:
    r"""Codes (int32, -1: missing) of every event's client IP, and the distinct IPs (cached).

    IPs are hashed once per analysis; the distinct IPs stay in the column's storage (Arrow
    strings are not boxed into Python strings).

    Example:
        >>> from mailreject.analysis import build, events_from_text
        >>> s = build(events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"))
        >>> found, ips = ip_codes(s)
        >>> found.tolist(), list(ips)
        ([0], ['192.0.2.1'])

    """
    return s.cached("ip_codes", _make_ip_codes)


def _make_ip_codes(s: Sessions) -> tuple[np.ndarray, Any]:
    import numpy as np
    import pandas as pd

    found, uniques = pd.factorize(s.events["client_ip"])
    return found.astype(np.int32), uniques


def positions(s: Sessions, frame: pd.DataFrame) -> np.ndarray:
    """Positions in ``s.events`` of the rows of ``frame`` (a selection of the events)."""
    import numpy as np
    import pandas as pd

    index = s.events.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame.index.to_numpy(dtype=np.int64)
    return index.get_indexer(frame.index).astype(np.int64)


def reject_table(s: Sessions) -> pd.DataFrame:
    """The reject events, with the columns the analyses read (cached).

    ``s.reject_events()`` when it was made already; else the event columns but
    :data:`UNREAD_REJECT_COLUMNS`, taken column by column (Arrow strings chunk by chunk,
    see :func:`take`): a whole-frame selection copies every column and concatenates
    each chunked string column of the events whole. Same rows, values, dtypes and index
    as ``s.reject_events()``.
    """
    if s.rejects is not None:
        return s.rejects
    return s.cached("reject_table", _make_reject_table)


def _make_reject_table(s: Sessions) -> pd.DataFrame:
    import pandas as pd

    ev = s.events
    rows = kind_rows(s, "reject")
    columns = {
        name: take(ev[name], rows).array for name in ev.columns if name not in UNREAD_REJECT_COLUMNS
    }
    return pd.DataFrame(columns, index=ev.index[rows])


def reject_groups(s: Sessions) -> tuple[np.ndarray, pd.DataFrame]:
    """The (layer, restriction label) group of each reject event (cached).

    Returns:
        A group code per row of :func:`reject_table` and one row per group (in order of
        first appearance): ``layer`` (missing: ``other``) and ``label`` (see
        :func:`mailreject.frames._label`).

    """
    return s.cached("reject_groups", _make_reject_groups)


def _make_reject_groups(s: Sessions) -> tuple[np.ndarray, pd.DataFrame]:
    import numpy as np
    import pandas as pd

    from mailreject.frames import _zone_label

    rej = reject_table(s)
    found, first = combination_codes(rej, LABEL_COLUMNS)
    combos = rej[LABEL_COLUMNS].iloc[first]
    label = _zone_label(combos).to_numpy(dtype=object)
    layer = combos["layer"].astype("object").fillna("other").to_numpy(dtype=object)
    pairs = pd.MultiIndex.from_arrays([layer, label])
    group_of_combo, _ = pd.factorize(pairs)  # combos in order of first appearance: so are groups
    group_of_combo = group_of_combo.astype(np.int64)
    groups = group_of_combo[found]
    firsts = first_in_group(group_of_combo, int(group_of_combo.max()) + 1 if len(first) else 0)
    table = pd.DataFrame(
        {"layer": layer[firsts], "label": label[firsts]}, index=np.arange(len(firsts))
    )
    return groups, table


def reject_values(s: Sessions) -> dict[str, np.ndarray]:
    """Integer codes of what reject counts count, one per reject event (-1: not counted).

    ``conn`` (connection), ``attempt``, ``recipient`` (a distinct (connection, recipient)
    pair; lines of no connection count alone), ``client`` (client IP) and ``temporary``
    (booleans: a 4xx reply). Cached: the layer and restriction tables share them.
    """
    return s.cached("reject_values", _make_reject_values)


def _make_reject_values(s: Sessions) -> dict[str, np.ndarray]:
    import numpy as np
    import pandas as pd

    rej = reject_table(s)
    conn = rej["conn"].to_numpy(dtype=np.int64)
    attempt = rej["attempt"].to_numpy(dtype=np.int64)
    recipient, _ = codes(rej["recipient"])
    # a connection, or the line alone (-seq - 1) when it belongs to none
    owner = np.where(conn >= 0, conn, -rej["seq"].to_numpy(dtype=np.int64) - 1)
    owner_code = pd.factorize(owner)[0].astype(np.int64)
    pair = pd.factorize(owner_code * (int(recipient.max(initial=-1)) + 2) + recipient + 1)[0]
    code = rej["smtp_code"].to_numpy(dtype="float64")
    return {
        "conn": np.where(conn >= 0, conn, -1),
        "attempt": np.where(attempt >= 0, attempt, -1),
        "recipient": np.where(recipient >= 0, pair, -1).astype(np.int64),
        "client": ip_codes(s)[0][positions(s, rej)].astype(np.int64),
        "temporary": (code >= 400) & (code < 500),
    }
