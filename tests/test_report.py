"""The HTML report: deterministic, plotly.js once, every hostile string escaped."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import typer
from typer.testing import CliRunner

from mailreject import analysis as A
from mailreject import report as R
from mailreject.cli import app as cli_app

DATA = Path(__file__).parent / "data" / "analysis"

PAYLOADS = (
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "</script><script>",
    "<svg onload",
    '"><svg',
)


@pytest.fixture(scope="module")
def inline_page(small_analysis: A.Analysis) -> str:
    return R.render_report(small_analysis)


def test_deterministic(small_analysis: A.Analysis, inline_page: str) -> None:
    assert R.render_report(small_analysis) == inline_page
    assert "Generated" not in inline_page
    stamped = R.render_report(small_analysis, plotlyjs="cdn", generated_at="2026-11-04 06:00 UTC")
    assert "Generated 2026-11-04 06:00 UTC" in stamped


def test_plotly_js_embedded_once(inline_page: str) -> None:
    js = R.plotly_js()
    head = js[:300]
    assert inline_page.count(head) == 1
    assert len(inline_page) < len(js) + 600_000
    # one script element per chart + plotly.js + the table sorter
    charts = [cid for cid in R.CHART_IDS if f'id="{cid}"' in inline_page]
    assert len(charts) == len(R.CHART_IDS) - 1  # small.log has no SPF lines
    assert inline_page.count("<script") == len(charts) + 2


def test_stable_ids_and_order(inline_page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', inline_page)
    assert len(ids) == len(set(ids))
    for i in ids:
        assert re.fullmatch(r"[a-z0-9-]+", i), i
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", i)
    sections = [
        "quality",
        "funnel",
        "queue-load",
        "over-time",
        "restrictions",
        "cost",
        "greylisting",
        "dnsbl",
        "who",
        "spf-postscreen",
        "insights",
    ]
    positions = [inline_page.index(f'id="{s}"') for s in sections]
    assert positions == sorted(positions)
    assert inline_page.count('class="how"') >= len(R.CHART_IDS) - 1
    assert "<details>" in inline_page
    assert 'class="sortable"' in inline_page
    assert "prefers-color-scheme: dark" in inline_page


def test_layer_colours_consistent(inline_page: str) -> None:
    for layer in ("postscreen", "greylist", "recipient"):
        assert R.LAYER_COLOURS[layer] in inline_page


def test_hostile_strings_escaped(hostile_analysis: A.Analysis) -> None:
    page = R.render_report(hostile_analysis, plotlyjs="cdn")
    for payload in PAYLOADS:
        assert payload not in page, payload
    # the data is there, escaped, in tables ...
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in page
    # ... and in the plotly JSON (the zone name on the DNSBL charts)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example" in page
    charts = sum(1 for cid in R.CHART_IDS if f'id="{cid}"' in page)
    assert page.count("<script") == charts + 2
    assert "Content-Security-Policy" in page


def test_plotly_json_cannot_close_script() -> None:
    fig = go.Figure(
        go.Bar(
            x=["</script><script>alert(1)</script>", "a\u2028b\u2029"],
            y=[1, 2],
            hovertext=["<img src=x onerror=alert(1)>", "&"],
        )
    )
    html = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id="x")
    body = html.split("<script", 1)[1]
    assert body.count("</script>") == 1
    assert "alert(1)</script>" not in html
    assert "<img" not in html
    assert "\u2028" not in html and "\u2029" not in html
    assert (
        R.script_json({"a": "</script>\u2028&"}) == '{"a": "\\u003c/script\\u003e\\u2028\\u0026"}'
    )
    with pytest.raises(ValueError):
        R.check_script_safe("<script></script><script>", 1)


def test_cdn_and_directory_modes(small_analysis: A.Analysis, tmp_path: Path) -> None:
    cdn = R.render_report(small_analysis, plotlyjs="cdn")
    assert 'src="https://cdn.plot.ly/plotly-' in cdn
    assert len(cdn) < 1_000_000
    out = R.write_report(small_analysis, tmp_path / "r" / "report.html", plotlyjs="directory")
    assert (out.parent / R.PLOTLY_FILE).stat().st_size > 1_000_000
    assert 'src="plotly.min.js"' in out.read_text()
    with pytest.raises(ValueError):
        R.render_report(small_analysis, plotlyjs="nope")  # type: ignore[arg-type]


def test_empty_sections_render(tmp_path: Path) -> None:
    ev = A.events_from_text(
        "Nov  3 00:31:10 mx1 postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
    )
    page = R.render_report(A.analyse(ev), plotlyjs="cdn")
    assert "Nothing in this period." in page
    assert 'id="chart-funnel"' in page


def _app() -> typer.Typer:
    return cli_app


def test_report_command_default_period(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    lines = (DATA / "small.log").read_text().splitlines()
    late = "Nov 20 09:00:00 mx1 postfix/smtpd[999]: connect from late.example[192.0.2.250]"
    log.write_text("\n".join([*lines, late]) + "\n")
    out = tmp_path / "report.html"
    runner = CliRunner()
    result = runner.invoke(
        _app(),
        ["report", str(log), "--year", "2026", "--tz", "UTC", "-o", str(out), "--plotlyjs", "cdn"],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Period: 2026-11-13 09:00 to 2026-11-20 09:00 UTC" in page
    result = runner.invoke(
        _app(),
        [
            "report",
            str(log),
            "--year",
            "2026",
            "--tz",
            "UTC",
            "-o",
            str(out),
            "--plotlyjs",
            "cdn",
            "--since",
            "2026-11-01",
        ],
    )
    assert result.exit_code == 0
    assert "Period: 2026-11-01 00:00" in out.read_text()
    assert "linking" not in result.stderr
    verbose = runner.invoke(
        _app(), ["report", str(log), "--year", "2026", "--tz", "UTC", "-o", str(out), "-v"]
    )
    assert verbose.exit_code == 0, verbose.output
    assert f"; writing {out} " in verbose.stderr
    assert verbose.stderr.index("analysing") < verbose.stderr.index("wrote")


def test_report_command_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = runner.invoke(
        _app(), ["report", str(empty), "--year", "2026", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 1
    assert "no events in the input" in result.stderr
    result = runner.invoke(_app(), ["report", str(DATA / "small.log"), "--plotlyjs", "web"])
    assert result.exit_code == 2
    result = runner.invoke(
        _app(),
        [
            "report",
            str(DATA / "small.log"),
            "--year",
            "2026",
            "--tz",
            "UTC",
            "--host",
            "mx7",
            "-o",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 1
    assert "host" in result.stderr
