"""The docstring examples of the public API run as doctests, against a fixture store.

Covered: the ``mailreject`` package docstring, :mod:`mailreject.api` (``load``,
``dataset``), and every function and class in ``mailreject.analysis.__all__`` (wherever it
is defined: ``frames``, ``layers``, ``legit``, ``who``, ``sessions``), plus
:mod:`mailreject.notebook_support`. Each docstring is one test, named after the object.

What an example may rely on:

* ``$MAILREJECT_STORE`` is a store holding ``sample_logs/mail.log`` ingested with
  ``--year 2026 --tz UTC`` (mx1, 2026-11-03 .. 2026-11-04; the figures in
  ``sample_logs/README.md`` hold: 67 reject and 7 reject_warning events), so
  ``mailreject.load()`` and ``mailreject.dataset()`` need no ``store=``. The same path is
  the global ``STORE`` (a ``str``) for examples that pass it explicitly;
* the working directory is the repository root (``"sample_logs/mail.log"`` opens);
* the globals of the object's own module (as ``python -m doctest`` gives);
* options ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``, and pandas' default display options.

An object without examples passes; a broken example fails with doctest's report. Only
``load``, ``dataset`` and ``analyse`` must have at least one example that runs (not
``+SKIP``): they are what the README and the notebooks point users to.
"""

from __future__ import annotations

import copy
import doctest
import inspect
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import mailreject
from mailreject import analysis, api, notebook_support
from mailreject.ingest import ingest
from mailreject.parsing import ParseOptions

ROOT = Path(__file__).resolve().parent.parent
MAIL_LOG = ROOT / "sample_logs" / "mail.log"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: Entry points whose docstrings must show a runnable example.
REQUIRED = ("mailreject.api.load", "mailreject.api.dataset", "mailreject.analysis.analyse")


def _objects() -> Iterator[tuple[str, object, types.ModuleType]]:
    """(test name, object, module whose globals it sees) for every public object."""
    yield "mailreject", mailreject, mailreject
    yield "mailreject.api", api, api
    for name in api.__all__:
        yield f"mailreject.api.{name}", getattr(api, name), api
    yield "mailreject.analysis", analysis, analysis
    for name in analysis.__all__:
        obj = getattr(analysis, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f"mailreject.analysis.{name}", obj, sys.modules[obj.__module__]
    yield "mailreject.notebook_support", notebook_support, notebook_support
    for name in notebook_support.__all__:
        obj = getattr(notebook_support, name)
        if inspect.isfunction(obj):
            yield f"mailreject.notebook_support.{name}", obj, notebook_support


def _doctests() -> dict[str, doctest.DocTest]:
    members = doctest.DocTestFinder(exclude_empty=True)
    docstring_only = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    found: dict[str, doctest.DocTest] = {}
    for name, obj, module in _objects():
        finder = docstring_only if isinstance(obj, types.ModuleType) else members
        for test in finder.find(obj, name, module=module):  # globs: the module's
            if test.examples:
                found.setdefault(test.name, test)
    return found


DOCTESTS = _doctests()


def _runnable(test: doctest.DocTest) -> list[doctest.Example]:
    return [ex for ex in test.examples if not ex.options.get(doctest.SKIP, False)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doctest") / "store"
    ingest([str(MAIL_LOG)], ParseOptions(year=2026, tz="UTC"), path)
    return path


@pytest.mark.parametrize("name", sorted(DOCTESTS))
def test_docstring_examples(name: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test = copy.copy(DOCTESTS[name])
    if not _runnable(test):
        pytest.skip("every example is +SKIP")
    test.globs = {**test.globs, "STORE": str(store)}
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MAILREJECT_STORE", str(store))
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    if runner.run(test, out=report.append, clear_globs=True).failed:
        pytest.fail(f"broken docstring example in {name}:\n" + "".join(report), pytrace=False)


@pytest.mark.parametrize("name", REQUIRED)
def test_entry_points_have_runnable_examples(name: str) -> None:
    test = DOCTESTS.get(name)
    assert test is not None and _runnable(test), (
        f"{name} needs a docstring example that runs (not +SKIP) against the fixture store "
        "described in tests/test_doctests.py"
    )
