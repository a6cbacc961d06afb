"""Every example in nn's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import nn

MODULES = ["nn", *sorted(info.name for info in pkgutil.iter_modules(nn.__path__, "nn."))]


def test_every_module_is_listed():
    assert "nn.layers" in MODULES and "nn.training" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
