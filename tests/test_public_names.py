"""Each package's ``__all__`` is derived from its modules' lists, and nothing drifts.

A name a module lists must be importable from the package; a public name the package
imports must be in a module's list (so ``from nn import *`` is the whole API).
"""

import importlib
import types

import pytest

PACKAGES = ["autograd_core", "nn"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_name_is_importable(name):
    package = importlib.import_module(name)
    assert len(package.__all__) == len(set(package.__all__)), "a name is listed twice"
    missing = [item for item in package.__all__ if not hasattr(package, item)]
    assert missing == []


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_import_is_listed(name):
    package = importlib.import_module(name)
    public = [item for item in vars(package) if not item.startswith("_")
              and not isinstance(getattr(package, item), types.ModuleType)]
    assert sorted(set(public) - set(package.__all__)) == []


def test_the_names_that_had_drifted_are_exported():
    import autograd_core
    from autograd_core.gradcheck import NonDifferentiableWarning

    assert autograd_core.NonDifferentiableWarning is NonDifferentiableWarning
    assert "apply_op" in autograd_core.engine.__all__ and "apply_op" in autograd_core.__all__


def test_star_import_gives_exactly_the_list():
    for name in PACKAGES:
        space: dict = {}
        exec(f"from {name} import *", space)
        assert sorted(k for k in space if k != "__builtins__") == sorted(
            importlib.import_module(name).__all__)
