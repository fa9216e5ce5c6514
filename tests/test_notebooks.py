"""The notebooks run top to bottom against a store built from sample_logs/, and are stored clean.

Executing them needs the ``notebooks`` tools (nbformat, nbclient, ipykernel); without them
those tests are skipped. DuckDB is optional: the explore notebook skips its DuckDB part
without it, and so does the check of that part here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import mailreject
from mailreject import analysis as A
from mailreject.ingest import ingest
from mailreject.notebook_support import (
    SAMPLE_FILES,
    SAMPLE_HOST,
    SAMPLE_POSTCONF,
    find_store,
    sample_store,
    store_events,
)
from mailreject.parsing import ParseOptions
from mailreject.store import StoreNotFoundError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SAMPLES = ROOT / "sample_logs"
NAMES = ["explore.ipynb", "tune-restrictions.ipynb"]
#: Seconds a cell may run (the whole of both notebooks takes about 10 s).
CELL_TIMEOUT = 120
#: Reject lines in mail.log + mail-rfc3339.log + journal.json (sample_logs/README.md).
SAMPLE_REJECTS = 67 + 13 + 5
#: Strips outputs, execution counts and editor metadata (notebooks/README.md).
CLEAN = (
    "jupyter nbconvert --clear-output --ClearMetadataPreprocessor.enabled=True "
    "--ClearMetadataPreprocessor.preserve_cell_metadata_mask=tags "
    "--ClearMetadataPreprocessor.preserve_nb_metadata_mask=kernelspec --inplace notebooks/*.ipynb"
)
#: What the notebooks may import from mailreject.
PUBLIC_MODULES = {
    "mailreject",
    "mailreject.analysis",
    "mailreject.notebook_support",
    "mailreject.sessions",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample logs ingested as ``mailreject ingest --year 2026 --tz UTC`` would."""
    path = tmp_path_factory.mktemp("notebooks") / "store"
    ingest([str(SAMPLES / n) for n in SAMPLE_FILES], ParseOptions(year=2026, tz="UTC"), path)
    return path


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Path) -> str:
    """A kernel spec for this interpreter, and the environment the kernel inherits."""
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "mailreject-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "mailreject tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MAILREJECT_STORE", str(store))
    return "mailreject-test"


def read(name: str) -> Any:
    import nbformat

    return nbformat.read(NOTEBOOKS / name, as_version=4)


def inject(nb: Any, source: str) -> None:
    """Adds a cell after the one tagged ``parameters`` (as papermill does)."""
    from nbformat.v4 import new_code_cell

    index = next(
        i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    cell = new_code_cell(source)
    cell.id = "injected-parameters"
    nb.cells.insert(index + 1, cell)


def execute(nb: Any, kernel: str) -> Any:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in errors if o.output_type == "error"]
    return nb


def stdout(nb: Any) -> str:
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def line(text: str, prefix: str) -> str:
    found = [x for x in text.splitlines() if x.startswith(prefix)]
    assert len(found) == 1, f"expected one line starting with {prefix!r} in:\n{text}"
    return found[0][len(prefix) :].strip()


def plotly_outputs(nb: Any) -> int:
    return sum(
        "application/vnd.plotly.v1+json" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


# ---------------------------------------------------------------------------- execution


def test_explore_runs_and_counts_what_the_api_counts(kernel_env: str, store: Path) -> None:
    nb = execute(read("explore.ipynb"), kernel_env)
    out = stdout(nb)
    assert f"store {store}:" in out  # the configured store, not a demo one
    events = mailreject.load(store=store)
    rejects = mailreject.load(kinds=["reject"], store=store)
    assert len(rejects) == SAMPLE_REJECTS
    assert line(out, "reject events:") == f"{len(rejects):,}"
    assert out.startswith(f"store {store}: {len(events):,} events")
    if importlib.util.find_spec("duckdb"):
        assert line(out, "reject events (DuckDB, whole store):") == f"{len(rejects):,}"
    else:
        assert "DuckDB is not installed" in out
    a = A.analyse(events)
    for sentence in a.insights:
        assert f"- {sentence}\n" in out
    client = a.top["clients"].iloc[0]["client_ip"]
    count = int((events["client_ip"] == client).sum())
    assert f"{client}: {count} events\n" in out
    assert plotly_outputs(nb) >= 2  # the funnel and the layer over time


def test_tune_restrictions_answers_from_the_analysis(
    kernel_env: str, store: Path, tmp_path: Path
) -> None:
    postconf = tmp_path / "postconf.txt"
    postconf.write_text(SAMPLE_POSTCONF, encoding="utf-8")
    nb = read("tune-restrictions.ipynb")
    inject(nb, f"POSTCONF = {str(postconf)!r}\nHOST = {SAMPLE_HOST!r}")
    out = stdout(execute(nb, kernel_env))
    a = A.analyse(mailreject.load(store=store), host=SAMPLE_HOST, postconf=postconf)
    assert line(out, "layer order:") == f"from {postconf}"
    silent = line(out, "never fired:").split("; ")
    assert silent == list(a.never_fired["restriction"])
    assert "check_sender_mx_access cidr:/etc/postfix/bogus_mx.cidr" in silent
    assert "reject_multi_recipient_bounce" in silent
    for row in a.dnsbl_zones.loc[~a.dnsbl_zones["allowlist"].astype(bool)].itertuples():
        assert f"{row.zone}: {row.clients} client(s), {row.unique_clients} caught" in out
    trial = a.reject_warnings.set_index("restriction")
    # sample_logs/README.md: 5 reverse-hostname warnings (5 clients), 2 spamcop (1 client)
    assert trial.loc["reject_unknown_reverse_client_hostname", "clients"] == 5
    for name, row in trial.iterrows():
        said = line(out, f"warn_if_reject {name}: would have blocked")
        assert said.startswith(f"{row['clients']} client(s) ({row['events']} events)")
        assert f"{row['clients_delivered']} of them also delivered" in said
    g = a.greylist_summary
    assert f"greylisting: {g['triplets']} triplets, {g['passed']} came back" in out
    assert plotly_outputs(nb) >= 2  # the DNSBL overlap and the delays


# ---------------------------------------------------------------------------- stored form


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stored_without_outputs(name: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = read(name)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    text = (NOTEBOOKS / name).read_text(encoding="utf-8")
    assert text.endswith("}\n") and len(text) < 32_000, f"{name} is not clean: {CLEAN}"
    assert set(nb.metadata) == {"kernelspec"}, f"{name} has stray metadata: {CLEAN}"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        assert set(cell.metadata) <= {"tags"}, f"{name} cell {cell.id} has metadata: {CLEAN}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {cell.id} has outputs: {CLEAN}"
            assert cell.execution_count is None, f"{name} cell {cell.id} was run: {CLEAN}"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_use_only_the_public_api(name: str) -> None:
    pytest.importorskip("nbformat")
    code = "\n".join(c.source for c in read(name).cells if c.cell_type == "code")
    modules = set(re.findall(r"^\s*(?:from|import)\s+(mailreject[\w.]*)", code, re.M))
    assert modules <= PUBLIC_MODULES
    assert not re.search(r"\b(?:mailreject|analysis|notebook_support)\._", code)
    assert "find_store()" in code  # the store is found as the CLI finds it


# ---------------------------------------------------------------------------- finding the store


def test_find_store_uses_the_configured_store(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAILREJECT_STORE", str(store))
    assert find_store() == (store, False)
    events, first, last = store_events(store)
    assert events == len(mailreject.load(store=store))
    assert (first, last) == ("2026-11-03", "2026-11-06")
    assert capsys.readouterr().out == f"store {store}: {events:,} events, {first} .. {last}\n"


def test_find_store_builds_a_demo_store_elsewhere(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILREJECT_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    empty = tmp_path / "xdg" / "mailreject"
    empty.mkdir(parents=True)  # a store directory with nothing ingested yet
    demo, is_sample = find_store(verbose=False)
    assert is_sample and not demo.is_relative_to(tmp_path)
    assert list(empty.iterdir()) == []  # the configured store was not written to
    assert store_events(demo) == store_events(store)
    assert find_store(verbose=False) == (demo, True)  # built once per process
    assert sample_store(demo).samefile(demo)  # ingesting again adds nothing
    assert store_events(demo) == store_events(store)
    with pytest.raises(StoreNotFoundError, match="no events in"):
        find_store(empty, sample=False)
