"""mailreject: what your Postfix anti-spam defences actually do.

``import mailreject`` is cheap: :func:`load` and :func:`dataset` (which need pandas and
pyarrow) and ``__version__`` are looked up on first use.

Example:
    >>> import mailreject
    >>> df = mailreject.load(since="2026-11-01", kinds=["reject"])  # doctest: +SKIP

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailreject.api import dataset, load

__all__ = ["__version__", "dataset", "load"]


def __getattr__(name: str) -> Any:
    if name in ("load", "dataset"):
        from mailreject import api

        return getattr(api, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mailreject")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'mailreject' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
