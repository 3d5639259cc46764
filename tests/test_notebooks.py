"""The notebooks are stored clean: no outputs, a parameters cell first, imports only from ircreds.

Running them is nbval's job (``pytest --nbval-lax notebooks/``); these checks keep what is committed
reviewable and safe to re-run.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WALKTHROUGH = [
    "01_load_evidence.ipynb",
    "02_find_the_session.ipynb",
    "03_trace_the_calls.ipynb",
    "04_scope_the_lineage.ipynb",
    "05_contain.ipynb",
    "06_verify_and_report.ipynb",
    "exercise.ipynb",
]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code_cells(path: Path) -> list[dict]:
    return [c for c in _cells(path) if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_walkthrough_notebook_exists() -> None:
    assert sorted(p.name for p in NOTEBOOKS) == sorted(WALKTHROUGH)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    dirty = [i for i, c in enumerate(_code_cells(path)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} keep outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_its_title_then_a_parameters_cell(path: Path) -> None:
    title, first = _cells(path)[:2]
    assert title["cell_type"] == "markdown", path.name
    assert _source(title).startswith("# "), path.name
    assert first["cell_type"] == "code", path.name
    assert "parameters" in first.get("metadata", {}).get("tags", []), path.name
    # the parameters cell only assigns values (papermill replaces it), it computes nothing
    tree = ast.parse(_source(first))
    assert tree.body, path.name
    assert all(isinstance(node, ast.Assign) for node in tree.body), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_ircreds_and_the_standard_library(path: Path) -> None:
    imported: set[str] = set()
    for cell in _code_cells(path):
        for node in ast.walk(ast.parse(_source(cell))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    foreign = sorted(m for m in imported if m != "ircreds" and m not in sys.stdlib_module_names)
    assert not foreign, f"{path.name} imports {foreign}: move that code into the ircreds package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_the_samples_relative_to_itself(path: Path) -> None:
    # nbval runs each notebook with its own folder as the working directory
    params = _source(_code_cells(path)[0])
    assert "data/samples" not in params or "../data/samples/walkthrough" in params, path.name


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[0].isdigit()], ids=lambda p: p.name)
def test_checked_cells_assert_and_stay_silent(path: Path) -> None:
    # nbval compares a NBVAL_CHECK_OUTPUT cell with its stored (empty) output: the cell must print nothing
    # and carry its own asserts against the answer key, so drift fails the run.
    checked = [_source(c) for c in _code_cells(path) if "NBVAL_CHECK_OUTPUT" in _source(c)]
    for src in checked:
        tree = ast.parse(src)
        assert any(isinstance(n, ast.Assert) for n in ast.walk(tree)), src
        calls = [
            n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        ]
        assert "print" not in calls, src
        assert not isinstance(tree.body[-1], ast.Expr), f"the last line would display a value: {src}"


# the walkthrough sample's own names and keys: they may appear only in the parameters cell (the default
# paths) and in hidden answer-key cells; every fact about a case is generated from the case
SAMPLE_KEY = json.loads((NOTEBOOKS[0].parent.parent / "data/samples/walkthrough/answer_key.json").read_text())
SAMPLE_NAMES = (
    "DevUser",
    "ExampleRole",
    "DataPipelineRole",
    "backup-svc",
    "111122223333",
    SAMPLE_KEY["leaked_access_key_id"],
    *SAMPLE_KEY["chained_access_key_ids"],
    *SAMPLE_KEY["minted_access_key_ids"],
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_prose_and_code_name_nothing_of_the_sample(path: Path) -> None:
    leaks = []
    for i, cell in enumerate(_cells(path)):
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "answer-key" in tags or "sample" in tags:
            continue
        leaks += [(i, name) for name in SAMPLE_NAMES if name.lower() in _source(cell).lower()]
    assert not leaks, f"{path.name}: cells name the sample: {leaks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_answer_key_cells_are_hidden_and_silent(path: Path) -> None:
    for cell in _code_cells(path):
        source = _source(cell)
        if "answer_key[" in source and "assert" in source:
            assert "answer-key" in cell["metadata"].get("tags", []), source[:80]
            assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, source[:80]
            assert "print(" not in source, source[:80]
