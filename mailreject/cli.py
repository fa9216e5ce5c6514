"""The ``mailreject`` command: parses options, calls the library, maps errors to exit codes.

Heavy modules (pandas, pyarrow, plotly) are imported inside the commands so that
``mailreject --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from mailreject.status import ExitStatus, MailrejectError

app = typer.Typer(
    name="mailreject",
    help="What your Postfix anti-spam defences actually do.",
    no_args_is_help=True,
    # Plain click output: a wrong option is an "Error: ..." line under the usage line,
    # not a drawn box, and cron mail or a log file reads it as written.
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

# ---------------------------------------------------------------- shared options
FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="Log files (plain, .gz, .bz2, .xz; rotated sets in any order); - for stdin.",
        show_default=False,
    ),
]
YearOpt = Annotated[
    int | None,
    typer.Option(
        "--year",
        help="Year of the first year-less timestamp (default: from each file's modification time).",
    ),
]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz", help="Zone of year-less timestamps, e.g. Europe/Berlin (default: the system's)."
    ),
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        help="Extra rule file (TOML); may be repeated. Takes priority over built-in rules.",
    ),
]
InputOpt = Annotated[
    str, typer.Option("--input", help="auto, syslog or journal-json (journalctl -o json).")
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Threads parsing in parallel.")]


def _err(message: str) -> None:
    sys.stderr.write(f"mailreject: {message}\n")


def _cannot_write(path: Path | None, error: OSError) -> MailrejectError:
    """The one-line error for an output file that cannot be written."""
    from mailreject.status import UsageError

    return UsageError(f"cannot write {path}: {error.strerror or error}")


def handle_errors(func: F) -> F:
    """Turns domain errors into one line on stderr and the matching exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MailrejectError as error:
            _err(f"error: {error}")
            if error.hint:
                _err(f"hint: {error.hint}")
            raise typer.Exit(int(error.exit_status)) from None
        except KeyboardInterrupt:
            _err("interrupted")
            raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
        except BrokenPipeError:
            # `mailreject parse ... | head`: the reader has gone, which is not an error.
            sys.stderr.close()
            raise typer.Exit(int(ExitStatus.SUCCESS)) from None

    return wrapper  # type: ignore[return-value]


def _options(
    year: int | None, tz: str | None, rules: list[Path] | None, input_format: str, jobs: int = 1
) -> Any:
    from mailreject.parsing import InputFormat, ParseOptions
    from mailreject.status import UsageError

    if input_format not in ("auto", "syslog", "journal-json"):
        raise UsageError(f"--input must be auto, syslog or journal-json, not {input_format!r}")
    return ParseOptions(
        year=year,
        tz=tz,
        rules=tuple(rules or ()),
        input_format=cast(InputFormat, input_format),
        jobs=jobs,
    )


class _Progress:
    """A live line on stderr when it is a terminal: bytes, lines/s, events, or the phase."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self._phases: list[tuple[str, float]] = []  # description, start (perf_counter)

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("reading", total=None)
        return self

    def update(self, done: int, summary: Any) -> None:
        if self._progress is None:
            return
        rate = summary.lines / summary.seconds if summary.seconds else 0
        self._progress.update(
            self._task,
            description=(
                f"{done / 1e6:,.1f} MB, {summary.lines:,} lines, "
                f"{summary.events:,} events {rate:,.0f} lines/s"
            ),
        )

    def phase(self, description: str) -> None:
        """Shows what a long command is doing now (reading, linking sessions, writing)."""
        self._phases.append((description, time.perf_counter()))
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def timings(self) -> str:
        """How long each phase took so far: ``reading the store 8.6 s; linking ...``."""
        ends = [start for _, start in self._phases[1:]] + [time.perf_counter()]
        return "; ".join(
            f"{name} {end - start:.1f} s"
            for (name, start), end in zip(self._phases, ends[: len(self._phases)], strict=True)
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


@app.command()
@handle_errors
def parse(
    files: FilesArg,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv, table or parquet.")
    ] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of stdout (required for parquet)."
        ),
    ] = None,
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    jobs: JobsOpt = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Turn logs into typed events on stdout (never into the store)."""
    from mailreject.formats import make_writer
    from mailreject.parsing import ParseRun
    from mailreject.status import UsageError

    if output_format not in ("jsonl", "csv", "table", "parquet"):
        raise UsageError(f"--format must be jsonl, csv, table or parquet, not {output_format!r}")
    if output_format == "parquet" and output is None:
        raise UsageError(
            "--format parquet needs -o FILE",
            hint="e.g. mailreject parse mail.log --format parquet -o events.parquet",
        )
    options = _options(year, tz, rules, input_format, jobs)
    progress = _Progress(enabled=not quiet)
    run = ParseRun(files, options, on_progress=progress.update)
    text_out = None
    try:
        if output_format != "parquet":
            text_out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
        writer = make_writer(output_format, text_out, output)  # type: ignore[arg-type]
    except OSError as error:
        raise _cannot_write(output, error) from error
    with progress:
        try:
            for batch in run.batches():
                writer.write(batch)
        finally:
            writer.close()
            if output and text_out is not None:
                text_out.close()
    if not quiet:
        _err(run.summary.one_line())


@app.command()
@handle_errors
def explain(
    line: Annotated[str, typer.Argument(help="One log line (quote it).")],
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the event a line becomes and the rule that decided it."""
    from mailreject.explanation import explain as explain_line
    from mailreject.formats import terminal_safe

    result = explain_line(line, _options(year, tz, rules, input_format))
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    if result.event is None:
        sys.stdout.write(f"no event: {result.reason}\n")
        return
    width = max(len(k) for k in result.fields)
    for key, value in result.fields.items():
        sys.stdout.write(f"{key.ljust(width)}  {terminal_safe(str(value))}\n")
    if result.rule is not None:
        sys.stdout.write(
            f"\nrule {result.rule.id} ({result.rule.file}, shape {result.rule.shape})\n"
        )
        if result.rule.match:
            sys.stdout.write(f"  match: {result.rule.match}\n")
        if result.rule.description:
            sys.stdout.write(f"  {result.rule.description}\n")


@app.command()
@handle_errors
def unmatched(
    files: FilesArg,
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    limit: Annotated[int, typer.Option("--limit", "-n", help="Groups to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List reject lines no specific rule explains, grouped by text, to write rules for."""
    from mailreject.formats import terminal_safe
    from mailreject.parsing import ParseRun
    from mailreject.unmatched import group_unmatched, unmatched_rule_ids

    run = ParseRun(files, _options(year, tz, rules, input_format))
    groups = group_unmatched(run.batches(), unmatched_rule_ids(run.parser.rules()))
    if as_json:
        sys.stdout.write(
            json.dumps([g.__dict__ for g in groups[:limit]], ensure_ascii=False, indent=2) + "\n"
        )
        return
    if not groups:
        sys.stdout.write("every reject line was explained by a specific rule\n")
        return
    for g in groups[:limit]:
        sys.stdout.write(f"{g.count:>8}  {g.program}/{g.layer}  {terminal_safe(g.text)}\n")
        sys.stdout.write(f"{'':>8}  e.g. {g.example_source}: {terminal_safe(g.example)}\n")
    if len(groups) > limit:
        sys.stdout.write(f"... {len(groups) - limit} more groups (--limit)\n")


# ---------------------------------------------------------------- the store
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store directory (default: $MAILREJECT_STORE, else $XDG_DATA_HOME/mailreject).",
        show_default=False,
    ),
]
WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait for another writer (ingest/compact/prune); 0 fails at once.",
    ),
]


def _print_failures(failures: list[str]) -> None:
    for message in failures:
        _err(f"error: {message}")


@app.command()
@handle_errors
def ingest(
    files: FilesArg,
    store: StoreOpt = None,
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    jobs: JobsOpt = 1,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-F",
            help="Keep reading as files grow and rotate; SIGINT/SIGTERM stores what was read.",
        ),
    ] = False,
    flush_interval: Annotated[
        float,
        typer.Option(
            "--flush-interval", min=0.05, help="--follow: commit at least this often (seconds)."
        ),
    ] = 5.0,
    poll_interval: Annotated[
        float,
        typer.Option(
            "--poll-interval",
            min=0.01,
            help="--follow: look for growth and rotation this often (seconds).",
        ),
    ] = 0.5,
    wait: WaitOpt = 0.0,
    allow_duplicates: Annotated[
        bool,
        typer.Option(
            "--allow-duplicates",
            help="Accept mail.err/mail.warn/mail.info (on Debian they repeat lines of mail.log).",
        ),
    ] = False,
    compact_after: Annotated[
        int,
        typer.Option(
            "--compact-after",
            min=0,
            help="Compact a day written to once it has more files than this (0: never).",
        ),
    ] = 32,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
    flush_mb: Annotated[float, typer.Option("--flush-mb", min=0.001, hidden=True)] = 64.0,
    block_kb: Annotated[int, typer.Option("--block-kb", min=1, hidden=True)] = 1024,
) -> None:
    """Store the new events of logs in the store (incremental; safe to run from cron)."""
    import dataclasses

    from mailreject.ingest import IngestSettings
    from mailreject.ingest import ingest as ingest_files

    options = dataclasses.replace(
        _options(year, tz, rules, input_format, jobs), block_size=block_kb << 10
    )
    settings = IngestSettings(
        allow_duplicates=allow_duplicates,
        wait=wait,
        flush_bytes=int(flush_mb * (1 << 20)),
        flush_interval=flush_interval,
        poll_interval=poll_interval,
        compact_after=compact_after,
    )
    if follow:
        report = _follow(files, options, store, settings)
    else:
        progress = _Progress(enabled=not quiet)
        with progress:
            report = ingest_files(files, options, store, settings, on_progress=progress.update)
    _print_failures(report.failures)
    if not quiet:
        _err(report.one_line())
    if report.failures:
        raise typer.Exit(int(report.exit_status))


def _follow(files: list[str], options: Any, store: Path | None, settings: Any) -> Any:
    import signal
    import threading

    from mailreject.follow import follow as follow_files

    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return follow_files(files, options, store, settings, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _when(seconds: float | None) -> str:
    from datetime import datetime, timezone

    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@app.command()
@handle_errors
def status(
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what the store holds: time range, events by kind, files, sources read."""
    from mailreject.maintenance import store_status

    info = store_status(store)
    if as_json:
        sys.stdout.write(json.dumps(info.to_dict(), indent=2) + "\n")
        return
    out = sys.stdout.write
    out(f"store       {info.path}\n")
    first, last = info.first_event, info.last_event
    out(f"range       {first or '-'} .. {last or '-'}\n")
    kinds = ", ".join(
        f"{k} {n:,}" for k, n in sorted(info.events_by_kind.items(), key=lambda kv: -kv[1])
    )
    out(f"events      {info.events:,}" + (f" ({kinds})" if kinds else "") + "\n")
    out(f"storage     {info.partitions} days, {info.files} files, {info.bytes / 1e6:,.1f} MB\n")
    out(f"last commit {_when(info.updated)}\n")
    out(f"sources     {len(info.checkpoints)}\n")
    for cp in info.checkpoints:
        from mailreject.formats import terminal_safe

        done = " (complete)" if cp.complete else ""
        out(
            f"  {terminal_safe(cp.name)}  inode {cp.inode if cp.inode is not None else '-'}"
            f"  offset {cp.offset:,}  lines {cp.line_no - 1:,}{done}"
            f"  last ingest {_when(cp.updated)}\n"
        )


@app.command()
@handle_errors
def compact(
    store: StoreOpt = None,
    wait: WaitOpt = 0.0,
) -> None:
    """Merge each day's small files into one (atomically)."""
    from mailreject.maintenance import compact_store

    days, files = compact_store(store, wait=wait)
    _err(f"compacted {days} day(s): merged {files} files")


@app.command()
@handle_errors
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Drop days older than this: 180d, 26w, 1y or a date (2026-05-01).",
            show_default=False,
        ),
    ],
    store: StoreOpt = None,
    wait: WaitOpt = 0.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be dropped.")
    ] = False,
) -> None:
    """Drop whole days older than a cut-off."""
    from mailreject.maintenance import prune_store

    days, files, before = prune_store(store, older_than, wait=wait, dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    span = f" ({days[0]} .. {days[-1]})" if days else ""
    _err(f"{verb} {len(days)} day(s) before {before}{span}, {files} files")


# ---------------------------------------------------------------- analysis and reports
OptionalFilesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Log files (plain, .gz, .bz2, .xz); - for stdin. None: read the store.",
        show_default=False,
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Start of the period (inclusive), e.g. 2026-11-03 or 2026-11-03T14:00 "
        "(UTC unless an offset is given; report: default 7 days before the newest event).",
    ),
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="End of the period (exclusive).")]
HostOpt = Annotated[str | None, typer.Option("--host", help="Only this syslog host.")]
PostconfOpt = Annotated[
    Path | None,
    typer.Option(
        "--postconf",
        help="File with 'postconf -n' output: order layers as your server does and list "
        "restrictions that never fired.",
    ),
]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="Rows in the top-N tables.")]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print how long each phase took, on stderr.")
]


def _release_memory_promptly() -> None:
    """Arrow memory for analysing gigabytes once: freed buffers go back to the OS within 1 s.

    Over a month of 12.5M events (the analysis benchmark's summary): the system allocator
    47 s and 5.1 GB at the peak; jemalloc returning freed pages at once 46 s and 4.8 GB, as
    every new buffer is then faulted in again; jemalloc keeping them for a second 37 s and
    5.1 GB.
    """
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(1000)
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


def _analysis(
    files: list[str] | None,
    options: Any,
    *,
    since: str | None,
    until: str | None,
    host: str | None,
    postconf: Path | None,
    store: Path | None,
    top: int,
    progress: _Progress,
    default_period: bool = False,
) -> Any:
    import pyarrow as pa

    from mailreject.analysis import NoDataError, analyse, default_since
    from mailreject.frames import load_events

    _release_memory_promptly()
    progress.phase(f"reading {len(files)} log file(s)" if files else "reading the store")
    events, quality = load_events(files, options, since=since, until=until, store=store)
    pa.default_memory_pool().release_unused()
    if not len(events):
        raise NoDataError(
            "no events in the input",
            hint="check the file names, or 'mailreject parse FILE' to see what is read",
        )
    if default_period and since is None:
        since = default_since(events, until=until, host=host)
    return analyse(
        events,
        since=since,
        until=until,
        host=host,
        postconf=postconf,
        quality=quality,
        top_n=top,
        on_phase=progress.phase,
    )


@app.command()
@handle_errors
def summary(
    files: OptionalFilesArg = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text, markdown or json.")
    ] = "text",
    since: SinceOpt = None,
    until: UntilOpt = None,
    host: HostOpt = None,
    postconf: PostconfOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    store: StoreOpt = None,
    top: TopOpt = 20,
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    jobs: JobsOpt = 1,
    verbose: VerboseOpt = False,
) -> None:
    """What each anti-spam layer did: terminal tables, Markdown or JSON (cron-friendly)."""
    import shutil

    from mailreject.status import UsageError
    from mailreject.summary import render

    if output_format not in ("text", "markdown", "json"):
        raise UsageError(f"--format must be text, markdown or json, not {output_format!r}")
    with _Progress(enabled=True) as progress:
        result = _analysis(
            files,
            _options(year, tz, rules, input_format, jobs),
            since=since,
            until=until,
            host=host,
            postconf=postconf,
            store=store,
            top=top,
            progress=progress,
        )
        progress.phase("rendering")
        terminal = output is None and sys.stdout.isatty()
        width = max(80, shutil.get_terminal_size((120, 40)).columns) if terminal else 120
        text = render(result, output_format, color=terminal, width=width)  # type: ignore[arg-type]
    if verbose:
        _err(progress.timings())
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _cannot_write(output, error) from error


@app.command()
@handle_errors
def report(
    files: OptionalFilesArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    since: SinceOpt = None,
    until: UntilOpt = None,
    host: HostOpt = None,
    postconf: PostconfOpt = None,
    plotlyjs: Annotated[
        str,
        typer.Option(
            "--plotlyjs",
            help="inline (one offline file), cdn, or directory (plotly.min.js next to the report).",
        ),
    ] = "inline",
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "mailreject report",
    generated_at: Annotated[
        str | None,
        typer.Option(
            "--generated-at",
            help="Time stamp to print in the header (none by default, so output is reproducible).",
        ),
    ] = None,
    store: StoreOpt = None,
    top: TopOpt = 20,
    year: YearOpt = None,
    tz: TzOpt = None,
    rules: RulesOpt = None,
    input_format: InputOpt = "auto",
    jobs: JobsOpt = 1,
    verbose: VerboseOpt = False,
) -> None:
    """Write a self-contained HTML report of what the anti-spam layers did."""
    from mailreject.report import write_report
    from mailreject.status import UsageError

    if plotlyjs not in ("inline", "cdn", "directory"):
        raise UsageError(f"--plotlyjs must be inline, cdn or directory, not {plotlyjs!r}")
    with _Progress(enabled=True) as progress:
        result = _analysis(
            files,
            _options(year, tz, rules, input_format, jobs),
            since=since,
            until=until,
            host=host,
            postconf=postconf,
            store=store,
            top=top,
            progress=progress,
            default_period=True,
        )
        progress.phase(f"writing {output}")
        try:
            write_report(result, output, plotlyjs=plotlyjs, generated_at=generated_at, title=title)  # type: ignore[arg-type]
        except OSError as error:
            raise _cannot_write(output, error) from error
    if verbose:
        _err(progress.timings())
    _err(
        f"wrote {output} ({result.kpis['connections']:,} connections, "
        f"{result.kpis['rejects']:,} rejects)"
    )


def main() -> None:
    """Console-script entry point."""
    # The command runs from cron on the mail server itself: give freed memory back to the
    # system promptly instead of keeping it for reuse (Arrow's and the parser's mimalloc
    # otherwise hold on to ~100 MB more at the peak). Both are read when the libraries
    # load, which happens later, inside the commands. The library API keeps the defaults.
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    # numpy asks for transparent huge pages on every large array; where the kernel
    # defragments on such requests (THP "madvise", the Debian default) each fault may
    # compact memory first. Over a month of events the analysis spent 9.5 s in the kernel
    # with them and 6 s without (summary 32 s -> 29 s, same peak).
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    app()


if __name__ == "__main__":
    main()
