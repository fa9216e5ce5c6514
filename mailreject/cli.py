"""The ``mailreject`` command: parses options, calls the library, maps errors to exit codes.

Heavy modules (pandas, pyarrow, plotly) are imported inside the commands so that
``mailreject --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from mailreject.status import ExitStatus, MailrejectError

app = typer.Typer(
    name="mailreject",
    help="What your Postfix anti-spam defences actually do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

# ---------------------------------------------------------------- shared options
FilesArg = Annotated[
    list[str],
    typer.Argument(help="Log files (plain, .gz, .bz2, .xz; rotated sets in any order); - for stdin.", show_default=False),
]
YearOpt = Annotated[Optional[int], typer.Option("--year", help="Year of the first year-less timestamp (default: from each file's modification time).")]
TzOpt = Annotated[Optional[str], typer.Option("--tz", help="Zone of year-less timestamps, e.g. Europe/Berlin (default: the system's).")]
RulesOpt = Annotated[Optional[list[Path]], typer.Option("--rules", help="Extra rule file (TOML); may be repeated. Takes priority over built-in rules.")]
InputOpt = Annotated[str, typer.Option("--input", help="auto, syslog or journal-json (journalctl -o json).")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Threads parsing in parallel.")]


def _err(message: str) -> None:
    sys.stderr.write(f"mailreject: {message}\n")


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


def _options(year: int | None, tz: str | None, rules: list[Path] | None, input_format: str, jobs: int = 1) -> Any:
    from mailreject.parsing import ParseOptions
    from mailreject.status import UsageError

    if input_format not in ("auto", "syslog", "journal-json"):
        raise UsageError(f"--input must be auto, syslog or journal-json, not {input_format!r}")
    return ParseOptions(year=year, tz=tz, rules=tuple(rules or ()), input_format=input_format, jobs=jobs)  # type: ignore[arg-type]


class _Progress:
    """A live line on stderr when it is a terminal: bytes, lines/s, events."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

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
            description=f"{done / 1e6:,.1f} MB, {summary.lines:,} lines, {summary.events:,} events {rate:,.0f} lines/s",
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


@app.command()
@handle_errors
def parse(
    files: FilesArg,
    output_format: Annotated[str, typer.Option("--format", "-f", help="jsonl, csv, table or parquet.")] = "jsonl",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout (required for parquet).")] = None,
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
        raise UsageError("--format parquet needs -o FILE", hint="e.g. mailreject parse mail.log --format parquet -o events.parquet")
    options = _options(year, tz, rules, input_format, jobs)
    progress = _Progress(enabled=not quiet)
    run = ParseRun(files, options, on_progress=progress.update)
    text_out = None
    try:
        if output_format != "parquet":
            text_out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
        writer = make_writer(output_format, text_out, output)  # type: ignore[arg-type]
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from error
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
        sys.stdout.write(f"\nrule {result.rule.id} ({result.rule.file}, shape {result.rule.shape})\n")
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
        sys.stdout.write(json.dumps([g.__dict__ for g in groups[:limit]], ensure_ascii=False, indent=2) + "\n")
        return
    if not groups:
        sys.stdout.write("every reject line was explained by a specific rule\n")
        return
    for g in groups[:limit]:
        sys.stdout.write(f"{g.count:>8}  {g.program}/{g.layer}  {terminal_safe(g.text)}\n")
        sys.stdout.write(f"{'':>8}  e.g. {g.example_source}: {terminal_safe(g.example)}\n")
    if len(groups) > limit:
        sys.stdout.write(f"... {len(groups) - limit} more groups (--limit)\n")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
