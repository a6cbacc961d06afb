"""viz reads nn models through nn's public shape only (read from viz's source).

A private name of nn (``Layer._forward``, ``_output_activation``, an attribute such as
``neuron._activation_fn``) can change with any release of nn; a picture built on one
would break silently. These tests read nn's syntax tree for every private name it
defines or uses (functions, classes, attributes, module constants), then viz's: any
``x._name`` attribute with such a name, any ``from nn... import _name`` and any
``getattr(x, "_name")`` of one fails. The network pictures and plots must also not reach
into nn's insides by their public-but-structural names (neurons, ``.w``, ``.b``): they
read ``dense_layers()``, ``weight``, ``bias``, ``activation`` and ``forward_values``.
"""

import ast
import pathlib

import pytest

import nn
import viz

FILES = sorted(pathlib.Path(viz.__file__).parent.glob("*.py"))
NN_FILES = sorted(pathlib.Path(nn.__file__).parent.glob("*.py"))
# The insides of nn's layers, which the public shape replaces.
STRUCTURAL = {"neurons", "w", "b", "modules", "linear", "_forward", "_activation_fn"}
SHAPE_READERS = {"network.py", "plots.py"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _names_of(tree: ast.AST) -> set[str]:
    """Every name a module defines or reads: functions, classes, attributes, variables."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # getattr(self, "_x") and the like
    return names


NN_PRIVATE = {name for path in NN_FILES
              for name in _names_of(ast.parse(path.read_text(encoding="utf-8")))
              if _private(name) and name.isidentifier()}


def _violations(source: str, structural: bool) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in NN_PRIVATE and owner not in ("self", "cls"):
                found.append(f"line {node.lineno}: .{node.attr}")
            if structural and node.attr in STRUCTURAL:
                found.append(f"line {node.lineno}: .{node.attr} (nn's insides)")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "nn" or node.module.startswith("nn.")):
            found += [f"line {node.lineno}: from {node.module} import {alias.name}"
                      for alias in node.names if _private(alias.name)]
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"line {node.lineno}: from {node.module}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            name = node.args[1].value
            if name in NN_PRIVATE or (structural and name in STRUCTURAL):
                found.append(f"line {node.lineno}: {node.func.id}(..., {name!r})")
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_viz_touches_no_private_name(path):
    source = path.read_text(encoding="utf-8")
    assert _violations(source, path.name in SHAPE_READERS) == []


def test_the_checker_catches_each_kind_of_access():
    bad = (
        "layer._forward(xs)\n"
        "from nn.training import _output_activation\n"
        "getattr(model, '_state_entries')\n"
        "model.layers[0].neurons[0].w\n"
    )
    found = _violations(bad, structural=True)
    # _forward (nn's old private forward), the import, getattr, .neurons, .w
    assert sorted(line.split(":")[0] for line in found) == [
        "line 1", "line 2", "line 3", "line 4", "line 4"], found
    assert _violations("self._cache\nformat_number(1.0)\nx.__class__\nfigure._viz_own\n",
                       True) == []
    assert _violations("model._chain_parts()\n", False) == ["line 1: ._chain_parts"]


def test_the_files_read_are_viz_itself_and_nn():
    names = {path.name for path in FILES}
    assert SHAPE_READERS <= names and "graph.py" in names
    assert {"_output", "_activation_fn", "_output_activation", "_chain_parts",
            "_state_entries"} <= NN_PRIVATE
