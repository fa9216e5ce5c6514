"""Shared helpers of the analysis modules: reading events, sessions, labels, networks.

Public helpers (:func:`events_from_files`, :func:`events_from_text`, :func:`human_bytes`)
are re-exported by :mod:`mailreject.analysis`.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from mailreject.schema import COLUMN_NAMES
from mailreject.sessions import Sessions, _empty_frame, build, restriction_label
from mailreject.status import UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mailreject.parsing import ParseOptions

Events = Union["pd.DataFrame", Sessions]
TimeLike = Union[str, datetime, "pd.Timestamp", None]

UNKNOWN_USER_RESTRICTIONS = frozenset({"reject_unlisted_recipient", "reject_unverified_recipient"})

#: Columns the analysis reads from the store. Not ``date`` (Python objects: costly) nor
#: ``dsn`` and ``proto``, which no analysis uses. Low-cardinality strings are loaded as
#: categoricals (:func:`mailreject.sessions.normalise` makes them plain objects again).
ANALYSIS_COLUMNS = tuple(c for c in COLUMN_NAMES if c not in ("dsn", "proto"))


def _sessions(events: Events, order: list[str] | None = None) -> Sessions:
    if isinstance(events, Sessions):
        return events
    return build(events, order)


def _empty(cols: Sequence[str]) -> pd.DataFrame:
    """An empty table with these (object) columns."""
    return _empty_frame(dict.fromkeys(cols, "object"))


def _timestamp(value: TimeLike, name: str) -> pd.Timestamp | None:
    import pandas as pd

    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise UsageError(
            f"{name} is not a date: {value!r}", hint="use e.g. 2026-11-03 or 2026-11-03T14:00"
        ) from error
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _network(ip: Any, v4: int, v6: int) -> Any:
    if not isinstance(ip, str):
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = v4 if addr.version == 4 else v6
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
#: A dotted IPv4 address as :func:`_network_fast` takes it: ASCII digits, no leading zeros.
_PLAIN_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def _network_fast(ip: Any, v4: int, v6: int) -> Any:
    """:func:`_network`, without :mod:`ipaddress` for plain dotted IPv4 addresses."""
    if v4 == 24 and isinstance(ip, str) and _PLAIN_V4.fullmatch(ip):
        return f"{ip.rpartition('.')[0]}.0/24"  # canonical octets: the first three as written
    if isinstance(ip, str) and len(ip) <= 15 and ip.count(".") == 3:
        parts = ip.split(".")
        if all(
            p.isdigit() and p.isascii() and (p == "0" or p[0] != "0") and int(p) < 256
            for p in parts
        ):
            value = 0
            for p in parts:
                value = value * 256 + int(p)
            value &= (0xFFFFFFFF << (32 - v4)) & 0xFFFFFFFF
            octets = ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))
            return f"{octets}/{v4}"
    return _network(ip, v4, v6)


def _nets(ips: pd.Series, v4: int, v6: int) -> pd.Series:
    """The network of each address (missing: NaN), computed once per distinct address."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(ips)
    names = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    nets = np.full(len(names) + 1, np.nan, dtype=object)  # the last entry: code -1
    plain = np.zeros(len(names), dtype=bool)
    if v4 == 24 and len(names):  # the common case, in Arrow: the first three octets as written
        plain = names.str.fullmatch(_PLAIN_V4.pattern).to_numpy(dtype=bool)
        nets[:-1][plain] = (
            names[plain].str.replace(r"\.[0-9]+$", ".0/24", regex=True).to_numpy(dtype=object)
        )
    for i in np.flatnonzero(~plain):
        nets[i] = _network_fast(names.iat[int(i)], v4, v6)
    return pd.Series(nets[codes], index=ips.index, dtype="object")


def _label(frame: pd.DataFrame) -> pd.Series:
    """Restriction label; DNSBL restrictions of the rbl layer get their zone.

    Computed once per distinct combination of the label's columns (:func:`kernels.labels`).
    """
    from mailreject.kernels import labels

    return labels(frame)


def _zone_label(frame: pd.DataFrame) -> pd.Series:
    label = restriction_label(frame)
    zone = frame["rbl_zone"].astype("object")
    with_zone = (frame["layer"] == "rbl") & zone.notna()
    return label.where(~with_zone, label + " " + zone.fillna(""))


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``label`` (see :func:`_label`) and ``layer`` (missing: ``other``)."""
    return frame.assign(label=_label(frame), layer=frame["layer"].astype("object").fillna("other"))


def _recipient_keys(frame: pd.DataFrame) -> pd.Series:
    """Distinct rejected recipients are counted per connection (unlinked lines alone).

    Returns:
        One integer per (connection, recipient): equal keys, same pair.

    """
    import pandas as pd

    conn = frame["conn"].where(frame["conn"] >= 0, -frame["seq"] - 1)
    return pd.Series(_pair_keys([conn], [frame["recipient"]])[0], index=frame.index)


def _pair_keys(first: Sequence[pd.Series], second: Sequence[pd.Series]) -> list[np.ndarray]:
    """One integer per distinct (first, second) value pair, consistent across the parts.

    ``first[i]`` and ``second[i]`` are aligned columns of part ``i`` (e.g. the senders and
    recipients of two tables to join); missing values are values of their own.
    """
    import numpy as np
    import pandas as pd

    a = pd.factorize(pd.concat(list(first), ignore_index=True), use_na_sentinel=False)[0]
    b, distinct = pd.factorize(pd.concat(list(second), ignore_index=True), use_na_sentinel=False)
    keys = a.astype(np.int64) * (len(distinct) + 1) + b
    bounds = np.cumsum([0, *(len(part) for part in first)])
    return [keys[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def _by_count(values: Iterable[Any]) -> list[Any]:
    """Distinct values, most frequent first (ties: first seen), like ``value_counts().index``."""
    counts = Counter(values)
    return sorted(counts, key=lambda v: -counts[v])


def _most_common(values: pd.Series) -> Any:
    return _most_common_of(values.dropna().tolist())


def _most_common_of(vals: list[Any]) -> Any:
    """The most frequent value, a name before ``unknown``; None for no values."""
    if not vals:
        return None
    named = [v for v in vals if v != "unknown"]
    return _by_count(named or vals)[0]


def _per_group(
    keys: pd.Series, values: pd.Series, summarise: Callable[[list[Any]], Any]
) -> pd.Series:
    """``summarise`` of each key's non-missing values (in row order), indexed by key.

    ``groupby(keys)[values].agg(f)`` calls ``f`` through pandas once per group, which
    costs more than the work itself for many small groups; this is one pass in Python.
    """
    import pandas as pd

    groups: dict[Any, list[Any]] = {}
    for key, value in zip(keys.tolist(), values.tolist(), strict=True):
        if key is None or key != key:  # missing keys form no group, as in groupby
            continue
        bucket = groups.setdefault(key, [])
        if value is not None and value == value:
            bucket.append(value)
    return pd.Series([summarise(v) for v in groups.values()], index=list(groups), dtype="object")


def _iso(value: Any) -> str | None:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(pd.Timestamp(value).isoformat())


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "n/a"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def human_bytes(n: float | None) -> str:
    """1536 -> ``1.5 KiB``.

    Example:
        >>> human_bytes(1536)
        '1.5 KiB'

    """
    if n is None or n != n:
        return "n/a"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def events_from_files(
    paths: Sequence[str | Path], *, year: int | None = None, tz: str | None = None
) -> pd.DataFrame:
    """Parses log files into an events DataFrame (a convenience for notebooks and tests).

    Args:
        paths: Log files.
        year: Year of year-less timestamps (default: from the files' modification time).
        tz: Zone of year-less timestamps (default: the system's).

    Returns:
        One row per event, the schema's columns.

    Example:
        >>> ev = events_from_files(["sample_logs/mail.log"], year=2026, tz="UTC")  # doctest: +SKIP

    """
    from mailreject.parsing import ParseOptions

    return load_events([str(p) for p in paths], ParseOptions(year=year, tz=tz))[0]


def load_events(
    files: Sequence[str] | None,
    options: ParseOptions | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    store: Path | None = None,
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Events to analyse: parsed from log files, or read from the store when none are given.

    From the store only the days of ``since``..``until`` are read (a superset of the period;
    the analysis cuts it exactly).

    Args:
        files: Log files ("-" for stdin); None or empty reads the store.
        options: How to read the files.
        since: Start of the period, for the store's partition pruning.
        until: End of the period.
        store: Store directory (default: as for the CLI).

    Returns:
        The events and the parse summary (None when read from the store).

    Raises:
        UsageError: A date that cannot be read.

    """
    from mailreject.status import UsageError

    if not files:
        try:
            return _load_store(since or None, until or None, store), None
        except ValueError as error:
            raise UsageError(str(error)) from error
    import pyarrow as pa

    from mailreject._parsers import event_schema
    from mailreject.parsing import ParseOptions, ParseRun

    run = ParseRun(list(files), options or ParseOptions())
    table = pa.Table.from_batches(list(run.batches()), schema=event_schema())
    return table.to_pandas(), run.summary.to_dict()


def _load_store(since: str | None, until: str | None, store: Path | None) -> pd.DataFrame:
    """The store's events of ``since..until`` for the analysis.

    Low-cardinality strings come as categoricals with sorted categories (read as Parquet
    dictionaries), integers as float64 (what :func:`mailreject.sessions.normalise` would
    make of them), other strings as Arrow-backed strings that share the Arrow buffers.

    Days are read one at a time, so a sorted copy (when a day's files are out of order) is
    one day's size. Days are UTC dates of ``ts``, so the days' sorted events one after
    another are sorted as a whole (events without a time, which the analysis drops, come at
    the end of their day instead of at the very end).
    """
    import pyarrow as pa

    from mailreject import api

    start, end = api._bound(since, "since"), api._bound(until, "until")
    first, last = api._day_range(start, end)
    target = api._open(store)
    days = sorted({f.day for f in target.data_files(target.read_state(), first, last)})
    cats = [c for c in api.CATEGORY_COLUMNS if c in ANALYSIS_COLUMNS]
    tables = []
    for i, day in enumerate(days or [None]):
        lo = start if i == 0 and start is not None else day
        hi = end if i == len(days) - 1 and end is not None else day
        tables.append(
            api._read_table(lo, hi, columns=ANALYSIS_COLUMNS, store=store, dictionaries=cats)
        )
    table = pa.concat_tables(tables)
    del tables
    integers = [f.name for f in table.schema if pa.types.is_integer(f.type)]
    # self_destruct frees each Arrow column once converted; split_blocks keeps numeric
    # columns apart instead of copying them into one 2-D block
    frame: pd.DataFrame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    for name in integers:  # float64 already where the column has a null (one copy, not two)
        if frame[name].dtype != "float64":
            frame[name] = frame[name].astype("float64")
    for name in cats:  # sorted categories, as astype("category") of the whole column
        column = frame[name]
        categories = column.cat.categories.astype("str")
        if (
            not categories.is_monotonic_increasing
            or categories.dtype != column.cat.categories.dtype
        ):
            frame[name] = column.cat.set_categories(categories.sort_values(), rename=False)
    return frame


def events_from_text(text: str, *, year: int = 2026, tz: str = "UTC") -> pd.DataFrame:
    r"""Parses log lines given as text into an events DataFrame.

    Args:
        text: Log lines.
        year: Year of year-less timestamps.
        tz: Zone of year-less timestamps.

    Returns:
        One row per event.

    Example:
        >>> ev = events_from_text(
        ...     "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n")
        >>> ev.loc[0, "kind"], ev.loc[0, "client_ip"]
        ('connect', '192.0.2.1')

    """
    import pyarrow as pa

    from mailreject._parsers import event_schema
    from mailreject.parsing import ParseOptions, parse_text

    batch, _ = parse_text(text, ParseOptions(year=year, tz=tz))
    frame: pd.DataFrame = pa.Table.from_batches([batch], schema=event_schema()).to_pandas()
    return frame
