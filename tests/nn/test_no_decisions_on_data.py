"""No library code in nn or autograd_core.functional reads ``.data`` to decide a
differentiable computation.

A numerically careful form that needs the data (a logsumexp's shift, a clamped log)
is a rule of the engine that chooses per sample on every backend; a ``.data`` read in
library code would be frozen by a trace and skipped by create_graph. This test reads
the source of every module of ``nn`` and ``autograd_core.functional`` and lists each
load of an attribute named ``data``. Every one must be in ``ALLOWED`` below, keyed by
module and function, with the reason it is not on a differentiable path. A new read
fails the test until it is either removed or justified here.
"""

import ast
import pathlib

import autograd_core.functional
import nn

NN_DIR = pathlib.Path(nn.__file__).parent
SOURCES = sorted(NN_DIR.glob("*.py")) + [pathlib.Path(autograd_core.functional.__file__)]

ALLOWED = {
    ("_values", "read_data"): "copies parameter values into a numpy array for the "
    "optimiser's update, outside any graph",
    ("_values", "read_grads"): "copies gradients (a Value grad after create_graph) into a "
    "numpy array for the update, outside any graph",
    ("layers", "_read_array"): "exports a layer's weights as a numpy array (the public "
    "shape of a layer), not a graph",
    ("module", "Module.state_dict"): "serialises parameter values; no graph is built",
    ("regularizers", "max_norm_"): "a projection of the parameters after a step, outside "
    "any graph (its docstring says so)",
    ("training", "_data"): "reads model outputs and losses as numbers for the history "
    "and the metrics, after the graph is built; nothing is differentiated through it",
    ("training", "_eager_batch"): "reports the batch loss as a number after backward",
    ("training", "_traced_batch"): "adds the regulariser's value to the reported loss "
    "after backward",
}


def data_reads(path):
    """(function qualname, line) of every load of ``<expr>.data`` in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    reads = []
    stack = [(tree, "")]
    while stack:
        node, scope = stack.pop()
        for child in ast.iter_child_nodes(node):
            child_scope = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                child_scope = f"{scope}.{child.name}" if scope else child.name
            if (isinstance(child, ast.Attribute) and child.attr == "data"
                    and isinstance(child.ctx, ast.Load)):
                reads.append((scope, child.lineno))
            stack.append((child, child_scope))
    return reads


def test_every_data_read_in_library_code_is_justified():
    unexplained = []
    seen = set()
    for path in SOURCES:
        module = path.stem
        for scope, line in data_reads(path):
            key = (module, scope)
            seen.add(key)
            if key not in ALLOWED:
                unexplained.append(f"{path.name}:{line} in {scope or '<module>'}")
    assert not unexplained, (
        "library code reads .data (a decision a trace freezes and create_graph skips); "
        "make it a rule, or justify it in ALLOWED: " + ", ".join(unexplained))
    stale = sorted(set(ALLOWED) - seen)
    assert not stale, f"ALLOWED lists functions that no longer read .data: {stale}"


def test_the_losses_and_functional_read_no_data_at_all():
    for path in SOURCES:
        if path.stem in ("losses", "functional", "regularizers"):
            reads = [(s, line) for s, line in data_reads(path) if s != "max_norm_"]
            assert reads == [], (path.name, reads)


def test_the_scan_finds_a_data_read(tmp_path):
    """The checker is not vacuous: it sees reads in nested functions and methods."""
    source = tmp_path / "sample.py"
    source.write_text(
        "def shift(xs):\n"
        "    return max(x.data for x in xs)\n"
        "class Loss:\n"
        "    def __call__(self, p):\n"
        "        def inner():\n"
        "            return p.data\n"
        "        p.data = 1.0\n"
        "        return inner\n"
    )
    assert sorted(data_reads(source)) == [("Loss.__call__.inner", 6), ("shift", 2)]
