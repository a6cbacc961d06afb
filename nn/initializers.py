"""Weight initialisation schemes and seeded random generators.

Every layer draws its weights from a ``numpy.random.Generator``. Pass ``seed=`` for a
reproducible model or ``rng=`` to share one generator across several modules (a
model built twice from the same seed has the same weights).

Schemes (``fan_in`` = inputs of a neuron, ``fan_out`` = neurons in its layer):

========== ======================================================== =================
name       weights drawn from                                       suits
========== ======================================================== =================
uniform    U(-1, 1), as micrograd                                   small demos
xavier     U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot)      tanh, sigmoid
he         N(0, 2 / fan_in) (Kaiming)                               relu, leaky_relu
zeros      0                                                        linear models
========== ======================================================== =================

Biases start at 0 in every scheme (as micrograd and the lecture's examples).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_seed

__all__ = ["INIT_SCHEMES", "make_rng", "init_weights"]

#: The weight initialisations :func:`init_weights` knows, by name.
INIT_SCHEMES = ("uniform", "xavier", "he", "zeros")


def make_rng(seed: int | None = None, rng: np.random.Generator | None = None
             ) -> np.random.Generator:
    """The generator a module draws from: ``rng`` if given, else one seeded by ``seed``.

    Raises:
        ValueError: when both are given (which one should win is ambiguous).
        TypeError: when ``rng`` is not a ``numpy.random.Generator``.
    """
    if rng is not None:
        if seed is not None:
            raise ValueError(f"give seed= or rng=, not both (seed={seed!r}, rng={rng!r})")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {rng!r}")
        return rng
    return np.random.default_rng(check_seed(seed))


def check_init(init: str) -> str:
    """Return ``init`` if it names a scheme, else raise a ValueError listing them."""
    if init not in INIT_SCHEMES:
        raise ValueError(f"unknown init {init!r}; known schemes: {list(INIT_SCHEMES)}")
    return init


def init_weights(init: str, fan_in: int, fan_out: int, rng: np.random.Generator
                 ) -> list[float]:
    """``fan_in`` initial weights for one neuron, drawn with scheme ``init``.

    Example:
        >>> w = init_weights("xavier", 3, 2, np.random.default_rng(0))
        >>> len(w), all(abs(x) <= (6 / 5) ** 0.5 for x in w)
        (3, True)
    """
    check_init(init)
    if init == "uniform":
        draws = rng.uniform(-1.0, 1.0, size=fan_in)
    elif init == "xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        draws = rng.uniform(-bound, bound, size=fan_in)
    elif init == "he":
        draws = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=fan_in)
    else:
        draws = np.zeros(fan_in)
    return [float(x) for x in draws]
