"""nn depends on autograd_core (and numpy, tqdm, the standard library) only, never viz.

PyTorch is optional: only nn.torch_modules imports it, and ``import nn`` does not.
"""

import ast
import pathlib
import subprocess
import sys

import nn

ALLOWED_THIRD_PARTY = {"numpy", "tqdm", "autograd_core"}
OPTIONAL = {"torch_modules.py": {"torch"}}  # loaded by nn.to_torch / nn.from_torch only


def _imported_roots(path: pathlib.Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_nn_imports_only_the_engine_numpy_tqdm_and_the_standard_library():
    package = pathlib.Path(nn.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        foreign = {
            root for root in _imported_roots(path)
            if root not in ALLOWED_THIRD_PARTY and root not in sys.stdlib_module_names
            and root != "nn" and root not in OPTIONAL.get(path.name, set())
        }
        assert not foreign, f"{path.name} imports {sorted(foreign)}"
        assert "viz" not in _imported_roots(path)


def test_import_nn_does_not_load_torch():
    code = ("import sys, nn; nn.MLP(2, [2, 1], seed=0); "
            "print('torch' in sys.modules, 'nn.torch_modules' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "False"]
