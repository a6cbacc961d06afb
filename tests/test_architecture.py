"""The project's structural rules, read from the sources with ``ast``.

* Dependencies point one way: autograd_core imports neither nn nor viz; nn does not
  import viz (viz may import both).
* No ``assert`` statement in the package sources (asserts vanish under ``python -O``
  and are no way to refuse user input).
* No function calls itself by name (traversals are iterative, so depth is never
  limited by the interpreter's recursion limit).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autograd_core", "nn", "viz")
FORBIDDEN = {"autograd_core": {"nn", "viz"}, "nn": {"viz"}, "viz": set()}


def package_sources():
    sources = []
    for package in PACKAGES:
        directory = ROOT / package
        if directory.is_dir():
            sources.extend((package, path) for path in sorted(directory.rglob("*.py")))
    return sources


SOURCES = package_sources()
IDS = [str(path.relative_to(ROOT)) for _, path in SOURCES]


def parse(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_packages(tree):
    """Top-level names of every absolute import anywhere in the module (also inside functions)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return names


def self_calls(tree):
    """(function name, line) for each call of a function to its own name in its body.

    A function calls itself by its bare name; a method (defined in a class body) by
    ``self.name`` or ``cls.name``; in a method, a bare name is a module-level function.
    """
    methods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods.update(id(item) for item in node.body
                           if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        name, is_method = function.name, id(function) in methods
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if is_method:
                calls_itself = (isinstance(callee, ast.Attribute) and callee.attr == name
                                and isinstance(callee.value, ast.Name)
                                and callee.value.id in ("self", "cls"))
            else:
                calls_itself = isinstance(callee, ast.Name) and callee.id == name
            if calls_itself:
                found.append((name, node.lineno))
    return found


def test_the_engine_package_is_there():
    assert any(package == "autograd_core" for package, _ in SOURCES)
    assert len(SOURCES) >= 5


@pytest.mark.parametrize(("package", "path"), SOURCES, ids=IDS)
def test_dependencies_point_one_way(package, path):
    bad = [name for name in imported_packages(parse(path)) if name in FORBIDDEN[package]]
    assert not bad, f"{path.relative_to(ROOT)} ({package}) imports {bad}"


@pytest.mark.parametrize(("package", "path"), SOURCES, ids=IDS)
def test_no_assert_statements(package, path):
    lines = [node.lineno for node in ast.walk(parse(path)) if isinstance(node, ast.Assert)]
    assert not lines, f"{path.relative_to(ROOT)}: assert on lines {lines}"


@pytest.mark.parametrize(("package", "path"), SOURCES, ids=IDS)
def test_no_function_calls_itself(package, path):
    calls = self_calls(parse(path))
    assert not calls, f"{path.relative_to(ROOT)}: recursive calls {calls}"


# The checks themselves must be able to fail.
BAD_MODULE = '''
import viz.graph
from nn import Module

def walk(node):
    assert node is not None
    return [walk(p) for p in node.parents]

class Tree:
    def depth(self):
        return 1 + self.depth()

    def fit(self):
        return fit(self)  # the module-level fit: not recursion
'''


def test_the_checks_find_what_they_look_for():
    tree = ast.parse(BAD_MODULE)
    assert imported_packages(tree) == ["viz", "nn"]
    assert sum(isinstance(node, ast.Assert) for node in ast.walk(tree)) == 1
    assert self_calls(tree) == [("walk", 7), ("depth", 11)]
