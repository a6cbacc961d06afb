"""Regularisers: penalties added to the loss (l1, l2, elastic net) and a weight projection.

The penalties take a ``Module`` (all its parameters, biases included, as micrograd's
demo does) or an explicit list of Values (use ``weight_parameters(model)`` to leave
the biases out). Each returns one Value whose gradient adds to the data loss's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from autograd_core import Value, apply_op

from ._checks import check_real
from .layers import Neuron
from .module import Module

__all__ = ["l1", "l2", "elastic_net", "max_norm_", "weight_parameters"]


def weight_parameters(module: Module) -> list[Value]:
    """The weights of every neuron in ``module``, without the biases."""
    return [w for _, sub in module.named_modules() if isinstance(sub, Neuron) for w in sub.w]


def _values(params: Module | Iterable[Value], name: str) -> list[Value]:
    items = params.parameters() if isinstance(params, Module) else list(params)
    if not items:
        raise ValueError(f"{name}: no parameters to regularise")
    for item in items:
        if not isinstance(item, Value):
            raise TypeError(f"{name}: expected Values; got {item!r}")
    return items


def _strength(alpha: float, name: str) -> float:
    return check_real(alpha, "alpha", owner=name)


def l1(params: Module | Iterable[Value], alpha: float = 1.0) -> Value:
    """Lasso penalty ``alpha * sum_i |w_i|``; pushes small weights to exactly 0.

    Example:
        >>> l1([Value(-2.0), Value(0.5)], alpha=0.1).data
        0.25
    """
    strength = _strength(alpha, "l1")
    return apply_op("sum", *[abs(w) for w in _values(params, "l1")]) * strength


def l2(params: Module | Iterable[Value], alpha: float = 1.0) -> Value:
    """Ridge penalty ``alpha * sum_i w_i^2`` (weight decay); shrinks all weights evenly.

    Example:
        >>> round(l2([Value(-2.0), Value(0.5)], alpha=0.1).data, 6)
        0.425
    """
    strength = _strength(alpha, "l2")
    return apply_op("sum", *[w * w for w in _values(params, "l2")]) * strength


def elastic_net(params: Module | Iterable[Value], alpha: float = 1.0, beta: float = 0.5
                ) -> Value:
    """``alpha * (beta * sum |w| + (1 - beta) * sum w^2)``: beta = 1 is l1, beta = 0 is l2.

    Example:
        >>> round(elastic_net([Value(-2.0), Value(0.5)], alpha=0.1, beta=0.5).data, 6)
        0.3375
    """
    check_real(beta, "beta", high=1.0, high_open=False, owner="elastic_net")
    strength = _strength(alpha, "elastic_net")
    values = _values(params, "elastic_net")
    return l1(values, strength * beta) + l2(values, strength * (1.0 - beta))


def max_norm_(module: Module, max_norm: float) -> int:
    """Project each neuron's weight vector onto the ball ``||w|| <= max_norm``, in place.

    Call it after ``optimizer.step()`` (max-norm regularisation). Biases are left
    alone. Returns how many neurons were rescaled.

    Example:
        >>> from nn import Neuron
        >>> n = Neuron(2, seed=0); n.w[0].data, n.w[1].data = 3.0, 4.0
        >>> max_norm_(n, 1.0), [round(w.data, 6) for w in n.w]
        (1, [0.6, 0.8])
    """
    check_real(max_norm, "max_norm", low_open=True, owner="max_norm_")
    if not isinstance(module, Module):
        raise TypeError(f"max_norm_ takes a Module; got {module!r}")
    rescaled = 0
    for _, sub in module.named_modules():
        if not isinstance(sub, Neuron):
            continue
        norm = math.sqrt(sum(w.data * w.data for w in sub.w))
        if norm > max_norm:
            scale = max_norm / norm
            for w in sub.w:
                w.data *= scale
            rescaled += 1
    return rescaled
