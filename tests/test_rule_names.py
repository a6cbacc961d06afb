"""The rule table is the only list of op names.

Every module of the packages other than ``autograd_core/rules.py`` reads op names from
:data:`autograd_core.RULES` (a rule's method, operator, params, positive inputs,
branch...) instead of keeping its own list: a literal list, tuple, set or dict naming
two or more ops fails this test, and so does any op name or ``enum`` in the compiled
node store's C source. A new rule then needs no edit outside its ``register`` call.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograd_core import RULES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autograd_core", "nn", "viz")
TABLE = ROOT / "autograd_core" / "rules.py"
SOURCES = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
           if path != TABLE]


def op_name_collections(source: str, names: set[str]) -> list[tuple[int, list[str]]]:
    """(line, op names) of each literal collection naming two or more ops."""
    found = []
    tree = ast.parse(source)
    # A module's ``__all__`` lists its public functions, some of which are named after
    # the rule they call (``functional.logsumexp``): that is no list of op names.
    exports = {id(assign.value) for assign in ast.walk(tree) if isinstance(assign, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in assign.targets)}
    for node in ast.walk(tree):
        if id(node) in exports:
            continue
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        else:
            continue
        named = [item.value for item in items
                 if isinstance(item, ast.Constant) and item.value in names]
        if len(named) >= 2:
            found.append((node.lineno, named))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_module_keeps_its_own_list_of_op_names(path):
    found = op_name_collections(path.read_text(encoding="utf-8"), set(RULES))
    assert not found, f"{path.relative_to(ROOT)} lists op names (read RULES instead): {found}"


def test_the_compiled_store_knows_no_op_name():
    source = (ROOT / "autograd_core" / "_fastnode.c").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)  # comments may explain
    literals = set(re.findall(r'"([^"\\]*)"', code))
    assert not literals & set(RULES), sorted(literals & set(RULES))
    assert not re.search(r"\benum\b", code)


def test_the_check_itself_finds_a_list_of_op_names():
    names = {"add", "mul", "tanh"}
    assert op_name_collections('OPS = ("add", "mul")\n', names) == [(1, ["add", "mul"])]
    assert op_name_collections('__all__ = ["add", "mul"]\n', names) == []
    assert op_name_collections('if op in {"tanh": 1, "add": 2}: pass\n', names)
    assert not op_name_collections('RULES["add"]; x = ("add", "label")\n', names)
    assert not op_name_collections('x = ("addition", "multiply")\n', names)
