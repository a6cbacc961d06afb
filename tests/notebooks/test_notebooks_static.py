"""Static checks of the lecture notebooks (executing them is nbmake's job in `make test`).

They hold the notebooks to the project's rules: outputs are not committed, the files are
numbered in lecture order, every notebook imports the library and never redefines a public
name of it, states its maths in markdown and checks its facts with asserts.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import autograd_core
import autograd_core.functional
import nn
import viz

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PACKAGES = ("autograd_core", "nn", "viz")
PUBLIC_NAMES = {
    name
    for module in (autograd_core, autograd_core.functional, nn, viz)
    for name in getattr(module, "__all__", ())
}


def _cells(path: Path, kind: str) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == kind]


def _code_tree(path: Path) -> ast.Module:
    """All code cells as one module; IPython magics (``%matplotlib``) are dropped."""
    lines = []
    for source in _cells(path, "code"):
        lines += [line for line in source.splitlines() if not line.lstrip().startswith("%")]
    return ast.parse("\n".join(lines), filename=str(path))


def test_there_are_notebooks_numbered_in_lecture_order() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert len(names) >= 8, names
    for index, name in enumerate(names, start=1):
        assert re.fullmatch(rf"{index:02d}_[a-z0-9_]+\.ipynb", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_not_committed(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has outputs"
            assert cell["execution_count"] is None, f"{path.name}: a cell has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_the_library_and_never_redefines_it(path: Path) -> None:
    tree = _code_tree(path)
    imported = set()
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
    assert imported & set(PACKAGES), f"{path.name} imports none of {PACKAGES}"
    clashes = sorted(defined & PUBLIC_NAMES)
    assert not clashes, f"{path.name} redefines library names {clashes}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_states_maths_and_checks_facts(path: Path) -> None:
    markdown = "\n".join(_cells(path, "markdown"))
    assert markdown.lstrip().startswith("# "), f"{path.name} has no title"
    assert "$" in markdown, f"{path.name} has no LaTeX in its markdown"
    asserts = [node for node in ast.walk(_code_tree(path)) if isinstance(node, ast.Assert)]
    assert len(asserts) >= 3, f"{path.name} checks only {len(asserts)} facts"


def test_the_guard_catches_a_redefinition(tmp_path: Path) -> None:
    """The redefinition check is not vacuous: a notebook defining ``softmax`` fails it."""
    cell = {"cell_type": "code", "source": "import autograd_core\ndef softmax(xs):\n    pass\n",
            "metadata": {}, "outputs": [], "execution_count": None}
    bad = tmp_path / "01_bad.ipynb"
    bad.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                               "nbformat_minor": 5}), encoding="utf-8")
    with pytest.raises(AssertionError, match="softmax"):
        test_imports_the_library_and_never_redefines_it(bad)
