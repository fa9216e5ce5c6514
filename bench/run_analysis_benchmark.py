#!/usr/bin/env python3
"""Analysis benchmark: ``summary`` and ``report`` over a store of 10+ million events.

Generates a log with ``mailreject.generator`` (16,000,000 lines by default: a month of a
busy MX, about 12.5 million events), ingests it into a fresh store, then runs each
analysis command over the whole period as a child process and measures wall seconds
(best of ``--repeat``), the child's peak RSS and, for reports, the file size. The figures
are printed beside the targets (summary <= 10 s, report <= 20 s, peak RSS <= 2 GB, report
<= 6 MB with plotly.js inline) and written as JSON, with the time of each phase (reading
the store, linking sessions, the analyses, rendering) as the commands' ``--verbose`` tells.

Usage::

    python bench/run_analysis_benchmark.py                          # 16M lines, ~30 days
    python bench/run_analysis_benchmark.py --keep /tmp/abench --repeat 2
    python bench/run_analysis_benchmark.py --lines 1000000          # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_benchmark as rb  # the child runner and its RSS measurement

TARGETS = {"summary": 10.0, "report": 20.0}
RSS_TARGET_MB = 2048.0
REPORT_TARGET_BYTES = 6 * 1024 * 1024


@dataclass
class Row:
    """One measured analysis command."""

    name: str
    command: str
    seconds: float | None = None
    peak_rss_mb: float | None = None
    output_bytes: int | None = None
    target_s: float | None = None
    status: str = "ok"
    note: str = ""
    phases: dict[str, float] | None = None  # of the best run, from ``--verbose``


def prepare(workdir: Path, lines: int, cli: list[str], timeout: float) -> dict[str, object]:
    """Generates the log and ingests it (both reused under ``--keep``); returns store status."""
    log = workdir / f"mail-{lines}.log"
    store = workdir / f"store-{lines}"
    if not log.exists():
        started = time.perf_counter()
        gen = [sys.executable, "-m", "mailreject.generator", "--lines", str(lines)]
        m = rb.run_child([*gen, "--seed", str(rb.SEED), "-o", str(log)], timeout=timeout)
        if m.exit_code:
            raise SystemExit(f"generator failed: {rb.last_words(m.stderr)}")
        print(f"generated {log} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not (store / "events").exists():
        argv = [*cli, "ingest", str(log), "--store", str(store), "--year", "2026", "--tz", "UTC"]
        m = rb.run_child([*argv, "-q"], timeout=timeout, env=rb.child_env())
        if m.exit_code:
            raise SystemExit(f"ingest failed: {rb.last_words(m.stderr)}")
        print(f"ingested in {m.seconds:.1f} s, peak {m.peak_rss_mb:.0f} MB", file=sys.stderr)
    m = rb.run_child([*cli, "status", "--store", str(store), "--json"], timeout=timeout)
    status: dict[str, object] = json.loads(m.stdout)
    status["log"] = str(log)
    return status


#: One phase in ``--verbose`` output: ``linking 12,553,465 events into sessions 15.2 s``.
PHASE = re.compile(r"(?:mailreject: )?(?P<name>[a-z]+)[^;]*? (?P<seconds>[0-9.]+) s(?:;|$)")


def phases(stderr: str) -> dict[str, float] | None:
    """Seconds per phase from the ``--verbose`` line (``reading``, ``linking`` ...)."""
    for line in stderr.splitlines():
        if line.startswith("mailreject: reading "):
            return {m["name"]: float(m["seconds"]) for m in PHASE.finditer(line.replace("; ", ";"))}
    return None


def commands(store: str, since: str, until: str, out: Path) -> list[tuple[str, list[str]]]:
    """The measured commands: name and arguments after the CLI."""
    period = ["--store", store, "--since", since, "--until", until, "--verbose"]
    return [
        ("summary", ["summary", *period, "-o", str(out / "summary.txt")]),
        ("summary", ["summary", *period, "--format", "json", "-o", str(out / "summary.json")]),
        ("report", ["report", *period, "-o", str(out / "report.html")]),
        ("report", ["report", *period, "--plotlyjs", "cdn", "-o", str(out / "report-cdn.html")]),
    ]


def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    cli = rb.mailreject_argv(args.mailreject)
    status = prepare(workdir, args.lines, cli, args.timeout)
    first = date.fromisoformat(str(status["first_event"])[:10])
    last = date.fromisoformat(str(status["last_event"])[:10])
    since, until = first.isoformat(), (last + timedelta(days=1)).isoformat()
    rows = []
    for name, argv in commands(str(status["store"]), since, until, workdir):
        row = Row(name, " ".join(["mailreject", *argv]), target_s=TARGETS[name])
        best = None
        for _ in range(args.repeat):
            m = rb.run_child([*cli, *argv], timeout=args.timeout, env=rb.child_env())
            if m.exit_code or m.timed_out:
                row.status = "timeout" if m.timed_out else "failed"
                row.note = rb.last_words(m.stderr)
                break
            if best is None or m.seconds < best.seconds:
                best = m
        if best is not None and row.status == "ok":
            row.seconds, row.peak_rss_mb = best.seconds, best.peak_rss_mb
            row.phases = phases(best.stderr)
            output = Path(argv[argv.index("-o") + 1])
            row.output_bytes = output.stat().st_size if output.exists() else None
        rows.append(row)
    return {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "store": {k: status[k] for k in ("events", "partitions", "first_event", "last_event")},
        "lines": args.lines,
        "period": [since, until],
        "rows": [asdict(r) for r in rows],
    }


def verdict(row: dict[str, object]) -> str:
    """Which targets a row meets."""
    if row["status"] != "ok":
        return f"{row['status']}: {row['note']}"
    misses = []
    if float(row["seconds"]) > float(row["target_s"]):  # type: ignore[arg-type]
        misses.append(f"time > {row['target_s']:.0f} s")
    if float(row["peak_rss_mb"]) > RSS_TARGET_MB:  # type: ignore[arg-type]
        misses.append("RSS > 2 GB")
    inline = row["name"] == "report" and "--plotlyjs" not in str(row["command"])
    if inline and int(row["output_bytes"] or 0) > REPORT_TARGET_BYTES:  # type: ignore[call-overload]
        misses.append("file > 6 MB")
    return "meets the targets" if not misses else "misses: " + ", ".join(misses)


def markdown(result: dict[str, object]) -> str:
    store = result["store"]
    assert isinstance(store, dict)
    head = (
        f"{store['events']:,} events, {store['partitions']} days "
        f"({store['first_event']} .. {store['last_event']})\n\n"
        "| command | seconds | peak RSS MB | output bytes | phases (s) | verdict |\n"
        "|---|---:|---:|---:|---|---|\n"
    )
    rows = result["rows"]
    assert isinstance(rows, list)
    body = "".join(
        f"| `{r['command']}` | {rb.fmt(r['seconds'], '.2f')} | {rb.fmt(r['peak_rss_mb'], '.0f')}"
        f" | {rb.fmt(r['output_bytes'], ',')} | {_phase_text(r.get('phases'))} | {verdict(r)} |\n"
        for r in rows
    )
    return head + body


def _phase_text(times: dict[str, float] | None) -> str:
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in (times or {}).items()) or "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=16_000_000, help="log size (default 16M)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep everything")
    ap.add_argument("--repeat", type=int, default=1, help="runs per command, best time wins")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--mailreject", help="how to start the CLI (default: mailreject on PATH)")
    args = ap.parse_args(argv)
    rb.GNU_TIME = rb.gnu_time()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="mailreject-abench-") as td:
            result = run(args, Path(td))
    print(markdown(result))
    target = args.json or (args.keep / "analysis-results.json" if args.keep else None)
    if target:
        target.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
