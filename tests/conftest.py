"""Fixtures shared by the analysis, summary and report tests: the logs of tests/data/analysis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from mailreject.analysis import Analysis

ANALYSIS_DATA = Path(__file__).parent / "data" / "analysis"


def _events(name: str) -> pd.DataFrame:
    from mailreject.analysis import events_from_files

    return events_from_files([ANALYSIS_DATA / name], year=2026, tz="UTC")


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """small.log, hand-counted (see tests/test_analysis.py)."""
    return _events("small.log")


@pytest.fixture(scope="module")
def small_analysis(small: pd.DataFrame) -> Analysis:
    from mailreject.analysis import analyse

    return analyse(small)


@pytest.fixture(scope="module")
def hostile_analysis() -> Analysis:
    """hostile.log: HTML, script and terminal payloads in every log-derived field."""
    from mailreject.analysis import analyse

    return analyse(_events("hostile.log"))
