"""The examples in the engine's docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = ["engine", "functional", "gradcheck", "rules", "strategies"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"autograd_core.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name != "rules":  # the rule table documents maths, not calls
        assert result.attempted > 0
