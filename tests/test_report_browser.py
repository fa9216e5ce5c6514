"""The report in a real browser: charts render, no console errors, payloads stay inert.

Needs headless Chromium + chromedriver (Debian: ``apt-get install chromium
chromium-driver``) and selenium; skipped with a reason otherwise.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailreject import analysis as A
from mailreject import report as R

DATA = Path(__file__).parent / "data" / "analysis"
SAMPLE = Path(__file__).parents[1] / "sample_logs" / "mail.log"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
)
if not Path(CHROMEDRIVER).exists() or CHROMIUM is None:
    pytest.skip(
        "chromium/chromedriver not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1800",
    ):
        options.add_argument(arg)
    if CHROMIUM:
        options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as error:  # pragma: no cover - environment problem
        pytest.skip(f"cannot start headless chromium: {error.msg}")
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _open(driver: Any, path: Path) -> list[dict[str, Any]]:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + 20
    script = (
        "var divs = document.querySelectorAll('.plotly-graph-div');"
        "return divs.length > 0 && Array.prototype.every.call(divs, function (d) { return d.querySelector('svg.main-svg') !== null; });"
    )
    while time.monotonic() < deadline and not driver.execute_script(script):
        time.sleep(0.1)
    return list(driver.get_log("browser"))


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    a = A.analyse(A.events_from_files([SAMPLE], year=2026, tz="UTC"))
    return R.write_report(a, tmp_path_factory.mktemp("r") / "sample.html")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    a = A.analyse(
        A.events_from_files([DATA / "hostile.log", DATA / "small.log"], year=2026, tz="UTC")
    )
    return R.write_report(a, tmp_path_factory.mktemp("r") / "hostile.html")


def test_every_chart_renders_without_console_errors(driver: Any, sample_report: Path) -> None:
    logs = _open(driver, sample_report)
    ids = driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('.plotly-graph-div'), function (d) { return d.id; });"
    )
    assert ids == list(R.CHART_IDS)
    missing = driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('.plotly-graph-div'),"
        " function (d) { return d.querySelector('svg') === null; }).map(function (d) { return d.id; });"
    )
    assert missing == []
    errors = [entry for entry in logs if entry.get("level") in ("SEVERE", "ERROR")]
    assert errors == []


def test_tables_sort(driver: Any, sample_report: Path) -> None:
    _open(driver, sample_report)
    first = driver.execute_script(
        "var t = document.getElementById('table-restrictions');"
        "var th = t.tHead.rows[0].cells[2]; th.click(); th.click();"  # events, descending
        "return Array.prototype.map.call(t.tBodies[0].rows, function (r) { return Number(r.cells[2].getAttribute('data-v')); });"
    )
    assert first == sorted(first, reverse=True)


def test_injected_payload_does_not_execute(driver: Any, hostile_report: Path) -> None:
    logs = _open(driver, hostile_report)
    assert driver.execute_script("return typeof window.__pwned;") == "undefined"
    # the hostile HELO is shown as text
    text = driver.execute_script("return document.body.innerText;")
    assert "<script>window.__pwned=1</script>" in text
    # hovering a chart must not run anything either: plotly renders labels as text
    assert (
        driver.execute_script("return document.querySelectorAll('img[src=x], svg[onload]').length;")
        == 0
    )
    errors = [entry for entry in logs if entry.get("level") in ("SEVERE", "ERROR")]
    assert errors == []
