"""Rows split into sessions by key and start marker, with per-session reductions in numpy.

The session builder works on millions of events; pandas ``groupby`` over string keys costs
seconds there. :class:`Segments` sorts row positions once (by integer key codes, then time)
so that every session is a contiguous run, and answers "first row of each session where
..." questions with a few vectorised numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Segments", "sorted_codes"]


def sorted_codes(values: pd.Series) -> np.ndarray:
    """Integer codes in the sorted order of the values, missing values last.

    Codes order like ``groupby(sort=True, dropna=False)`` orders its groups.

    Example:
        >>> import pandas as pd
        >>> sorted_codes(pd.Series(["b", None, "a"])).tolist()
        [1, 2, 0]

    """
    import numpy as np
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        if values.cat.categories.is_monotonic_increasing:  # rank the categories seen
            codes = values.cat.codes.to_numpy()
            seen = np.zeros(len(values.cat.categories) + 1, dtype=bool)
            seen[codes] = True  # code -1 (missing) marks the extra last entry
            rank = np.cumsum(seen[:-1]).astype(np.int64) - 1
            ranked = np.append(rank, int(seen[:-1].sum()))  # missing: after every value
            return ranked[codes]
        values = values.astype("object")  # codes would follow the categories' order
    codes, uniques = pd.factorize(values, sort=True)
    out = codes.astype(np.int64, copy=False)
    out[out < 0] = len(uniques)
    return out


@dataclass
class Segments:
    """Sessions of some rows: each row's session id, and the rows grouped by session.

    Attributes:
        ids: Session id of each row of the full table (-1 for rows outside every session).
        rows: Positions of the member rows, grouped by session, in time order within one.
        sid: Session id of each entry of ``rows`` (non-decreasing).
        count: Number of sessions.

    """

    ids: np.ndarray
    rows: np.ndarray
    sid: np.ndarray
    count: int

    @classmethod
    def split(
        cls, size: int, members: np.ndarray, keys: list[np.ndarray], starts: np.ndarray
    ) -> Segments:
        """Groups ``members`` (positions in time order) by ``keys``, a new session at ``starts``.

        Sessions are numbered in the sorted order of their keys, then in time order, like
        ``groupby(keys + [cumsum(starts)], sort=True).ngroup()``.

        Args:
            size: Rows of the full table.
            members: Positions of the rows that take part, in time order.
            keys: One integer or float array per key, aligned with ``members``.
            starts: Booleans aligned with ``members``: the row opens a new session.

        Example:
            >>> import numpy as np
            >>> seg = Segments.split(
            ...     5, np.array([0, 1, 3, 4]), [np.array([7, 5, 7, 5])],
            ...     np.array([True, True, False, True]))
            >>> seg.ids.tolist()
            [2, 0, -1, 2, 1]

        """
        import numpy as np

        order = np.argsort(_combined(keys, len(members)), kind="stable")
        rows = members[order]
        new = starts[order].astype(bool)
        if len(rows):
            new[0] = True
            for key in keys:
                k = key[order]
                new[1:] |= k[1:] != k[:-1]
        sid = np.cumsum(new, dtype=np.int64) - 1
        ids = np.full(size, -1, dtype=np.int64)
        ids[rows] = sid
        return cls(ids, rows, sid, int(sid[-1]) + 1 if len(sid) else 0)

    def first(self, mask: np.ndarray) -> np.ndarray:
        """Per session, the position of its first row where ``mask`` (full table) holds, or -1."""
        return self._pick(mask, last=False)

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Per session, the position of its last row where ``mask`` holds, or -1."""
        return self._pick(mask, last=True)

    def any(self, mask: np.ndarray) -> np.ndarray:
        """Per session, whether ``mask`` holds for one of its rows."""
        return self.first(mask) >= 0

    def _pick(self, mask: np.ndarray, *, last: bool) -> np.ndarray:
        import numpy as np

        out = np.full(self.count, -1, dtype=np.int64)
        member = mask[self.rows]
        if member.all():  # the common case (a column never missing): no rows to gather
            seg, rows = self.sid, self.rows
        else:
            hits = np.flatnonzero(member)
            seg, rows = self.sid[hits], self.rows[hits]
        if not len(seg):
            return out
        change = seg[1:] != seg[:-1]
        edge = np.r_[change, True] if last else np.r_[True, change]
        out[seg[edge]] = rows[edge]
        return out


def _combined(keys: list[np.ndarray], size: int) -> np.ndarray:
    """One int64 array ordering like ``keys`` (first key most significant), when it fits.

    Sorting one integer array is several times faster than ``np.lexsort`` over a few; keys
    that are not small non-negative integers fall back to ranks from ``np.lexsort``.
    """
    import numpy as np

    combined = np.zeros(size, dtype=np.int64)
    span = 1
    for key in keys:
        k = np.asarray(key)
        if len(k) and (k.min() < 0 or not np.array_equal(k, np.floor(k))):
            return _ranks(keys, size)
        top = int(k.max()) + 1 if len(k) else 1
        if span * top >= 2**62:
            return _ranks(keys, size)
        combined = combined * top + k.astype(np.int64)
        span *= top
    return combined


def _ranks(keys: list[np.ndarray], size: int) -> np.ndarray:
    import numpy as np

    order = np.lexsort(keys[::-1]) if keys else np.arange(size)
    ranks = np.empty(size, dtype=np.int64)
    ranks[order] = np.arange(size, dtype=np.int64)
    return ranks
