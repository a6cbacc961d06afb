"""The examples in viz's docstrings run, and every public name has a docstring."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import viz

MODULES = ["viz.graph", "viz.formula", "viz.steps", "viz.network", "viz.plots", "viz._render",
           "viz.cli", "viz.demo"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", viz.__all__)
def test_public_names_have_docstrings(name):
    obj = getattr(viz, name)
    assert inspect.getdoc(obj), name
