"""A brand-new primitive, registered in this one place: ``atan``.

Nothing else in the project names it; ``test_rule_table`` checks that every part of the
engine, nn and viz picks it up from the table.
"""

from __future__ import annotations

import math

import numpy as np

from autograd_core import RULES, Rule, register


def _atan_local(x, out):
    """d atan(x)/dx = 1 / (1 + x^2)"""
    return (1.0 / (1.0 + x * x),)


def atan_rule() -> Rule:
    """Register ``atan`` once per process and return its rule."""
    if "atan" not in RULES:
        register("atan", 1, math.atan, np.arctan, _atan_local)
    return RULES["atan"]


def eager_numbers() -> list[float]:
    """Values and gradients of a graph using atan, as floats (compared across stores)."""
    from autograd_core import Value

    atan_rule()
    x, w = Value(0.7), Value(-1.3)
    y = (x * w).atan() * x.atan() + (x + 2.0).atan()
    y.backward()
    return [y.data, x.grad, w.grad, *(n.data for n in (x * w, (x * w).atan()))]


if __name__ == "__main__":
    print(repr([float(v).hex() for v in eager_numbers()]))
