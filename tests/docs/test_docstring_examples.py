"""Every example in the packages' docstrings runs and prints what it shows, and every
public name the API pages list has documentation.

The modules are found by walking the packages, not listed by hand, so a module that is
added or split is covered at once; the public names are the ones the API pages are
generated from (each package's ``__all__`` and its public submodules' extras).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import pytest

PACKAGES = ("autograd_core", "nn", "viz")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import course  # noqa: E402  (the site's generator of the API pages)


def _modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        names += [
            info.name for info in pkgutil.walk_packages(package.__path__, package_name + ".")
            if not info.name.endswith(".__main__")  # runs the command line when imported
        ]
    return names


MODULES = _modules()


def test_the_walk_finds_every_module():
    for name in ["autograd_core.rules", "autograd_core.trace", "nn.layers", "nn.training",
                 "viz.steps", "viz._render"]:
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0


def test_every_package_has_examples():
    for package_name in PACKAGES:
        attempted = sum(
            doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS,
                            report=False).attempted
            for name in MODULES if name.split(".")[0] == package_name
        )
        assert attempted >= 10, package_name


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_public_name_is_documented(package_name):
    sections = course.api_sections(package_name)
    count = 0
    for module, names in sections:
        for name in names:
            obj = getattr(module, name)
            if course.kind_of(obj) == "Constants":
                assert course.data_doc(module, name), f"{module.__name__}.{name}"
            else:
                assert inspect.getdoc(obj), f"{module.__name__}.{name}"
            count += 1
    package = importlib.import_module(package_name)
    assert count >= len(package.__all__) - sum(
        inspect.ismodule(getattr(package, n)) for n in package.__all__)
