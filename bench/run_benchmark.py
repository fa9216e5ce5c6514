#!/usr/bin/env python3
"""Side-by-side benchmark: grep, pflogsumm and mailreject on one synthetic log.

Generates a large realistic Postfix log with ``mailreject.generator`` (classic
syslog timestamps), a ``.gz`` copy and an RFC 3339 variant, then runs each
command as a child process and measures wall seconds, lines/s and the peak
RSS of the child (``os.wait4`` rusage, i.e. the largest resident set of the
child or of any descendant it waited for).  Prints a Markdown table and
writes the same figures as JSON.

Commands that are missing or fail are reported as such; the script never
installs anything (``apt-get install pflogsumm`` is suggested when the
``pflogsumm`` command is absent).

Usage::

    python bench/run_benchmark.py                       # 5,000,000 lines, everything
    python bench/run_benchmark.py --lines 1000000 --only grep,pflogsumm
    python bench/run_benchmark.py --keep /tmp/bench --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mailreject.generator import generate  # noqa: E402

# Benchmark names, in run order, with the letter used in the brief.
BENCHES: dict[str, str] = {
    "grep": "a",
    "pflogsumm": "b",
    "parse": "c",
    "parse-1core": "c",
    "parse-gz": "d",
    "parse-rfc3339": "e",
    "parse-jobs2": "f",
    "ingest": "g",
    "ingest-incremental": "g",
    "startup": "h",
}
APPEND_LINES = 1_000
SEED = 1
GNU_TIME: str | None = None  # set in main() unless --no-gnu-time


@dataclass
class Result:
    """One measured command."""

    name: str
    command: str
    input: str
    lines: int | None
    seconds: float | None = None
    lines_per_s: float | None = None
    peak_rss_mb: float | None = None
    vs_pflogsumm: float | None = None
    vs_one_core: float | None = None
    cpu_seconds: float | None = None
    status: str = "ok"
    exit_code: int | None = None
    note: str = ""
    runs: list[float] = field(default_factory=list)


@dataclass
class Measurement:
    """Outcome of one child process."""

    seconds: float
    exit_code: int
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool
    rss_upper_bound: bool = False
    cpu_seconds: float | None = None


def gnu_time() -> str | None:
    """Path of GNU time (``/usr/bin/time``) if present; it measures peak RSS exactly."""
    exe = "/usr/bin/time"
    if not os.access(exe, os.X_OK):
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if "GNU" in (out.stdout + out.stderr) else None


def _vm_hwm_kb(pid: int | str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run_child(
    argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None
) -> Measurement:
    """Run ``argv``; measure wall time and the child's peak RSS.

    With GNU time the child is started as ``time -f %M -o FILE argv``: the
    figure is the child's own ``ru_maxrss``.  Without it, ``os.wait4`` gives
    ``ru_maxrss``, which on Linux can never be lower than this (Python)
    process' own high-water mark at spawn time (the kernel carries it over
    ``vfork``/``exec``); below that floor the child's ``VmHWM`` sampled from
    ``/proc`` every 10 ms is used instead.
    """
    timer_exe = GNU_TIME
    with tempfile.TemporaryDirectory() as td:
        rss_file = Path(td) / "rss"
        full = [timer_exe, "-f", "%M", "-o", str(rss_file), *argv] if timer_exe else list(argv)
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # reset our own high-water mark
        floor_kb = _vm_hwm_kb("self") or 0
        out = open(Path(td) / "out", "w+b")  # noqa: SIM115
        err = open(Path(td) / "err", "w+b")  # noqa: SIM115
        with out, err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                full,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            timed_out = threading.Event()
            done = threading.Event()
            sampled = [0]

            def kill() -> None:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)

            def sample() -> None:
                while not done.wait(0.01):
                    kb = _vm_hwm_kb(proc.pid)
                    if kb is not None and kb > sampled[0]:
                        sampled[0] = kb

            timer = threading.Timer(timeout, kill)
            timer.start()
            sampler = None if timer_exe else threading.Thread(target=sample, daemon=True)
            if sampler is not None:
                sampler.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                done.set()
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap again
            if sampler is not None:
                sampler.join()
            peak_kb: float = usage.ru_maxrss  # KiB on Linux
            upper = False
            if timer_exe:
                lines = rss_file.read_text().split() if rss_file.exists() else []
                if lines and lines[-1].isdigit():
                    peak_kb = int(lines[-1])
            elif peak_kb <= floor_kb * 1.02:
                if sampled[0]:
                    peak_kb = sampled[0]
                else:
                    upper = True
            out.seek(0)
            err.seek(0)
            return Measurement(
                seconds=seconds,
                exit_code=proc.returncode,
                peak_rss_mb=peak_kb / 1024.0,
                stdout=out.read(1 << 16).decode("utf-8", "replace"),
                stderr=err.read(1 << 16).decode("utf-8", "replace"),
                timed_out=timed_out.is_set(),
                rss_upper_bound=upper,
                cpu_seconds=usage.ru_utime + usage.ru_stime,
            )


def mailreject_argv(override: str | None) -> list[str]:
    """How to start the ``mailreject`` CLI."""
    if override:
        return shlex.split(override)
    exe = shutil.which("mailreject")
    if exe:
        return [exe]
    # Not installed as a console script: emulate it from the source tree.
    return [sys.executable, "-c", "import sys; from mailreject.cli import main; sys.exit(main())"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.setdefault("LC_ALL", "C")
    return env


def gzip_copy(src: Path, dst: Path) -> None:
    tool = shutil.which("pigz") or shutil.which("gzip")
    if tool:
        with open(dst, "wb") as fh:
            subprocess.run([tool, "-c", "-6", str(src)], stdout=fh, check=True)
        return
    with open(src, "rb") as fi, gzip.open(dst, "wb", compresslevel=6) as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)


@dataclass
class Inputs:
    classic: Path
    gz: Path
    rfc3339: Path
    lines: int
    last_ts: str
    generate_seconds: float


def make_inputs(workdir: Path, lines: int, need: set[str]) -> Inputs:
    """Generate (or reuse, with --keep) the input logs."""
    meta_file = workdir / "inputs.json"
    classic = workdir / "mail.log"
    gz = workdir / "mail.log.gz"
    rfc = workdir / "mail-rfc3339.log"
    meta: dict[str, object] = {}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("requested_lines") != lines or meta.get("seed") != SEED:
            meta = {}
    gen_seconds = float(meta.get("generate_seconds", 0.0))  # type: ignore[arg-type]
    if not meta or not classic.exists():
        t0 = time.perf_counter()
        with open(classic, "wb", buffering=1 << 20) as fh:
            truth = generate(fh, lines=lines, seed=SEED, style="classic")
        gen_seconds = time.perf_counter() - t0
        meta = {
            "requested_lines": lines,
            "seed": SEED,
            "lines": truth.lines,
            "last_ts": truth.last_ts,
            "generate_seconds": gen_seconds,
        }
        meta_file.write_text(json.dumps(meta, indent=2))
        for stale in (gz, rfc):
            stale.unlink(missing_ok=True)
        print(
            f"generated {truth.lines:,} lines ({classic.stat().st_size / 1e6:,.0f} MB) in "
            f"{gen_seconds:.1f} s = {truth.lines / gen_seconds:,.0f} lines/s",
            file=sys.stderr,
        )
    if "parse-gz" in need and not gz.exists():
        gzip_copy(classic, gz)
    if "parse-rfc3339" in need and not rfc.exists():
        with open(rfc, "wb", buffering=1 << 20) as fh:
            generate(fh, lines=lines, seed=SEED, style="rfc3339")
    return Inputs(
        classic=classic,
        gz=gz,
        rfc3339=rfc,
        lines=int(meta["lines"]),  # type: ignore[call-overload]
        last_ts=str(meta["last_ts"]),
        generate_seconds=gen_seconds,
    )


def append_lines(path: Path, last_ts: str, seed: int) -> tuple[int, str]:
    """Append about APPEND_LINES lines that continue the log in time."""
    start = datetime.fromisoformat(last_ts) + timedelta(seconds=1)
    tmp = path.with_suffix(".append")
    with open(tmp, "wb") as fh:
        truth = generate(fh, lines=APPEND_LINES, seed=seed, style="classic", start=start)
    with open(path, "ab") as fo, open(tmp, "rb") as fi:
        shutil.copyfileobj(fi, fo)
    tmp.unlink()
    return truth.lines, truth.last_ts


@dataclass
class Grower:
    """Before each incremental run: append new lines to the growing log."""

    path: Path
    last_ts: str
    result: Result
    seed: int = 1000

    def __call__(self, _run: int) -> None:
        added, self.last_ts = append_lines(self.path, self.last_ts, self.seed)
        self.seed += 1
        self.result.lines = added


def measure(
    res: Result,
    argv: Sequence[str],
    *,
    repeat: int,
    timeout: float,
    env: dict[str, str],
    before: Callable[[int], None] | None = None,
) -> None:
    """Run ``argv`` ``repeat`` times (best wall time wins) and fill ``res``."""
    best: Measurement | None = None
    for i in range(repeat):
        if before is not None:
            before(i)
        m = run_child(argv, timeout=timeout, env=env)
        res.runs.append(round(m.seconds, 4))
        # grep -c exits 1 when nothing matched: still a valid measurement
        grep_no_match = m.exit_code == 1 and res.name == "grep"
        if m.timed_out or (m.exit_code != 0 and not grep_no_match):
            res.status = "timeout" if m.timed_out else "failed"
            res.exit_code = m.exit_code
            res.note = last_words(m.stderr) or last_words(m.stdout)
            res.seconds = m.seconds
            return
        if best is None or m.seconds < best.seconds:
            best = m
    assert best is not None
    res.seconds = best.seconds
    res.exit_code = best.exit_code
    res.peak_rss_mb = best.peak_rss_mb
    res.cpu_seconds = best.cpu_seconds
    if res.lines:
        res.lines_per_s = res.lines / best.seconds
    notes = []
    if res.name == "grep":
        notes.append(f"count={best.stdout.strip()}")
    if best.rss_upper_bound:
        notes.append("RSS is an upper bound (too short to sample)")
    res.note = "; ".join(notes)


def last_words(text: str) -> str:
    """Last meaningful line of an error output (skips rich box drawing)."""
    for line in reversed(text.splitlines()):
        line = line.strip().strip("│╭╮╰╯─ ")
        if line.startswith("Command exited with non-zero status"):
            continue
        if any(ch.isalnum() for ch in line):
            return line[:200]
    return ""


def fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def markdown(results: list[Result]) -> str:
    head = (
        "| command | input | seconds | lines/s | peak RSS MB | ratio vs pflogsumm "
        "| vs one core | status |"
    )
    rows = [head, "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ratio = "n/a" if r.vs_pflogsumm is None else f"{r.vs_pflogsumm:.2f}"
        scaling = "n/a" if r.vs_one_core is None else f"{r.vs_one_core:.2f}"
        status = r.status if not r.note else f"{r.status}: {r.note}"
        status = status.replace("|", "\\|")
        rows.append(
            f"| `{r.command}` | {r.input} | {fmt(r.seconds if r.status == 'ok' else None, '.2f')} "
            f"| {fmt(r.lines_per_s, ',.0f')} "
            f"| {fmt(r.peak_rss_mb, '.1f')} | {ratio} | {scaling} | {status} |"
        )
    return "\n".join(rows)


def parse_only(text: str | None) -> list[str]:
    if not text:
        return list(BENCHES)
    by_letter: dict[str, list[str]] = {}
    for name, letter in BENCHES.items():
        by_letter.setdefault(letter, []).append(name)
    out: list[str] = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if item in BENCHES:
            out.append(item)
        elif item in by_letter:
            out.extend(by_letter[item])
        else:
            raise SystemExit(f"unknown benchmark {item!r}; choose from {', '.join(BENCHES)}")
    return [n for n in BENCHES if n in out]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=5_000_000, help="log size (default 5,000,000)")
    ap.add_argument(
        "--keep", type=Path, help="work in DIR and keep inputs/outputs (reused next time)"
    )
    ap.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHES)} (or letters a-h)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per command, best wall time wins")
    ap.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds before a command is killed"
    )
    ap.add_argument(
        "--json",
        type=Path,
        help="results file (default: DIR/results.json or ./benchmark-results.json)",
    )
    ap.add_argument(
        "--mailreject", help="command that starts the CLI (default: `mailreject` on PATH)"
    )
    ap.add_argument(
        "--no-gnu-time",
        action="store_true",
        help="measure RSS with os.wait4 even if GNU time exists",
    )
    args = ap.parse_args(argv)
    if args.lines < 1 or args.repeat < 1:
        ap.error("--lines and --repeat must be >= 1")
    selected = parse_only(args.only)
    global GNU_TIME
    GNU_TIME = None if args.no_gnu_time else gnu_time()

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.keep:
        workdir = args.keep
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mailreject-bench-")
        workdir = Path(tmp.name)
    json_path = args.json or (
        workdir / "results.json" if args.keep else Path("benchmark-results.json")
    )
    env = child_env()
    mr = mailreject_argv(args.mailreject)
    mr_shown = args.mailreject or "mailreject"

    try:
        inputs = make_inputs(workdir, args.lines, set(selected))
        n = inputs.lines
        results: list[Result] = []
        out_dir = workdir / "out"
        out_dir.mkdir(exist_ok=True)
        for name in selected:
            if name == "grep":
                r = Result(name, "grep -cF 'NOQUEUE: reject' FILE", "classic", n)
                measure(
                    r,
                    ["grep", "-cF", "NOQUEUE: reject", str(inputs.classic)],
                    repeat=args.repeat,
                    timeout=args.timeout,
                    env=env,
                )
            elif name == "pflogsumm":
                r = Result(name, "pflogsumm FILE >/dev/null", "classic", n)
                exe = shutil.which("pflogsumm")
                if exe is None:
                    r.status = "n/a"
                    r.note = "pflogsumm not installed (apt-get install pflogsumm)"
                    print("hint: apt-get install pflogsumm", file=sys.stderr)
                else:
                    measure(
                        r,
                        [exe, str(inputs.classic)],
                        repeat=args.repeat,
                        timeout=args.timeout,
                        env=env,
                    )
            elif name == "parse-1core":
                # The target is per core: the same parse held to CPU 0 (its encoder thread
                # included), in the same run as pflogsumm.
                out = out_dir / f"{name}.parquet"
                r = Result(
                    name,
                    f"taskset -c 0 {mr_shown} parse FILE --format parquet -o OUT.parquet",
                    "classic",
                    n,
                )
                taskset = shutil.which("taskset")
                if taskset is None:
                    r.status = "n/a"
                    r.note = "taskset not installed (util-linux): one-core run skipped"
                else:
                    argv_ = [taskset, "-c", "0", *mr, "parse", str(inputs.classic)]
                    argv_ += ["--format", "parquet", "-o", str(out)]
                    measure(r, argv_, repeat=args.repeat, timeout=args.timeout, env=env)
                    if r.status == "ok" and r.cpu_seconds is not None:
                        r.note = f"CPU {r.cpu_seconds:.2f} s (user + system)"
            elif name in ("parse", "parse-gz", "parse-rfc3339", "parse-jobs2"):
                src = {"parse-gz": inputs.gz, "parse-rfc3339": inputs.rfc3339}.get(
                    name, inputs.classic
                )
                label = {"parse-gz": "classic .gz", "parse-rfc3339": "rfc3339"}.get(name, "classic")
                jobs = ["--jobs", "2"] if name == "parse-jobs2" else []
                out = out_dir / f"{name}.parquet"
                shown_jobs = "--jobs 2 " if jobs else ""
                r = Result(
                    name,
                    f"{mr_shown} parse {shown_jobs}FILE --format parquet -o OUT.parquet",
                    label,
                    n,
                )
                argv_ = [*mr, "parse", *jobs, str(src), "--format", "parquet", "-o", str(out)]
                measure(r, argv_, repeat=args.repeat, timeout=args.timeout, env=env)
            elif name == "ingest":
                store = out_dir / "store"
                r = Result(name, f"{mr_shown} ingest FILE --store DIR (fresh)", "classic", n)

                def fresh(_i: int, store: Path = store) -> None:
                    shutil.rmtree(store, ignore_errors=True)

                measure(
                    r, [*mr, "ingest", str(inputs.classic), "--store", str(store)],
                    repeat=args.repeat, timeout=args.timeout, env=env, before=fresh,
                )  # fmt: skip
            elif name == "ingest-incremental":
                store = out_dir / "store-incr"
                grow = out_dir / "mail-growing.log"
                r = Result(
                    name,
                    f"{mr_shown} ingest FILE --store DIR (+{APPEND_LINES:,} lines)",
                    "classic +append",
                    APPEND_LINES,
                )
                shutil.rmtree(store, ignore_errors=True)
                shutil.copyfile(inputs.classic, grow)
                base = run_child(
                    [*mr, "ingest", str(grow), "--store", str(store)], timeout=args.timeout, env=env
                )
                if base.exit_code != 0 or base.timed_out:
                    r.status = "failed"
                    r.exit_code = base.exit_code
                    r.note = "initial ingest failed: " + last_words(base.stderr)
                else:
                    grow_log = Grower(grow, inputs.last_ts, r)
                    measure(
                        r, [*mr, "ingest", str(grow), "--store", str(store)],
                        repeat=args.repeat, timeout=args.timeout, env=env, before=grow_log,
                    )  # fmt: skip
                    if r.lines and r.seconds:
                        r.lines_per_s = r.lines / r.seconds
                    r.note = (
                        r.note + " " if r.note else ""
                    ) + f"initial ingest {base.seconds:.1f} s"
                grow.unlink(missing_ok=True)
            else:  # startup
                r = Result(name, f"{mr_shown} --help", "-", None)
                measure(
                    r, [*mr, "--help"], repeat=max(args.repeat, 3), timeout=args.timeout, env=env
                )
            results.append(r)
            print(f"{r.name}: {r.status} {fmt(r.seconds, '.2f')} s", file=sys.stderr)

        ref = next((r for r in results if r.name == "pflogsumm" and r.status == "ok"), None)
        one = next((r for r in results if r.name == "parse-1core" and r.status == "ok"), None)
        for r in results:
            if ref is not None and ref.lines_per_s and r.lines_per_s and r.status == "ok":
                r.vs_pflogsumm = r.lines_per_s / ref.lines_per_s
            # Scaling: the classic-input parses against the same parse on one core.
            if (
                one is not None
                and one.lines_per_s
                and r.name in ("parse", "parse-1core", "parse-jobs2")
                and r.lines_per_s
                and r.status == "ok"
            ):
                r.vs_one_core = r.lines_per_s / one.lines_per_s
        table = markdown(results)
        print(f"\n{n:,}-line log (generated at {n / inputs.generate_seconds:,.0f} lines/s), "
              f"best of {args.repeat}, {os.cpu_count()} CPUs\n")  # fmt: skip
        print(table)
        report = {
            "lines": n,
            "requested_lines": args.lines,
            "repeat": args.repeat,
            "generator_seconds": inputs.generate_seconds,
            "generator_lines_per_s": n / inputs.generate_seconds
            if inputs.generate_seconds
            else None,
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "ratio_definition": "lines/s of the command divided by lines/s of pflogsumm",
            "scaling_definition": "lines/s of the parse divided by lines/s of parse-1core",
            "results": [asdict(r) for r in results],
            "markdown": table,
        }
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nresults written to {json_path}", file=sys.stderr)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
