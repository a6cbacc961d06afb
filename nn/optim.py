"""Optimisers (SGD, Adam, AdamW) and learning-rate schedules.

An optimiser holds a list of parameters (``Value`` leaves) and the learning rate.
Its maths is one array function, :meth:`Optimizer.update`: it takes the parameters'
values and their gradients as float64 arrays and updates the values in place. Both of
``fit``'s engines use it: ``step()`` (the eager engine, or a hand-written loop) reads
each parameter's ``data`` and ``grad`` into arrays, calls ``update`` and writes the
values back; ``fit(engine="trace")`` keeps the values in one array for the whole run
and calls ``update`` on it directly.

The update rules follow PyTorch's ``torch.optim.SGD``, ``torch.optim.Adam`` (weight
decay as an L2 term added to the gradient) and ``torch.optim.AdamW`` (weight decay
applied to the parameter itself, decoupled from the moments), operation for operation,
so that trajectories can be compared one to one (the tests do, 20 steps in float64).
Adam and AdamW are one function, :func:`adam_update`, that differs only in its
``decoupled`` flag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_core import Value

from ._checks import check_bool, check_int, check_real, check_real_pair
from ._values import read_data, read_grads, uninterrupted, write_data
from .module import Module

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LRScheduler", "LinearDecay", "StepDecay"]


def _check_number(owner: str, name: str, value: Any, **interval: Any) -> float:
    return check_real(value, name, owner=owner, **interval)


def _collect(params: Iterable[Value] | Module, owner: str) -> list[Value]:
    items = params.parameters() if isinstance(params, Module) else list(params)
    if not items:
        raise ValueError(f"{owner}: got an empty parameter list")
    seen: dict[Value, None] = {}
    for item in items:
        if not isinstance(item, Value):
            raise TypeError(f"{owner}: parameters must be Values; got {item!r}")
        seen.setdefault(item, None)
    return list(seen)


class Optimizer:
    """Base class: holds ``params`` and ``lr``; subclasses define ``_update``.

    ``steps`` counts the updates made so far.
    """

    def __init__(self, params: Iterable[Value] | Module, lr: float) -> None:
        name = type(self).__name__
        self.params = _collect(params, name)
        self.lr = _check_number(name, "lr", lr)
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate (schedules set it between steps)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if type(value) is float and 0.0 <= value < math.inf:
            self._lr = value  # the common case, set by a schedule every epoch
        else:
            self._lr = _check_number(type(self).__name__, "lr", value)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (gradients accumulate otherwise)."""
        for param in self.params:
            param.grad = 0.0

    def step(self) -> None:
        """Apply one update from the parameters' current gradients.

        Reads every parameter's ``data`` and ``grad``, calls :meth:`update` on them and
        writes the new values back.

        Raises:
            ValueError: a gradient or a new value is NaN or infinite (no parameter is
                changed).
        """
        grads = read_grads(self.params)
        theta = read_data(self.params)
        steps = self.steps
        try:
            self.update(theta, grads)
        finally:
            if self.steps != steps:  # taken, even if Ctrl-C came: the Values follow
                write_data(self.params, theta)

    def update(self, theta: np.ndarray, grads: np.ndarray) -> None:
        """One step on arrays: ``theta`` (the parameters' values, in ``params`` order) in place.

        The optimiser's state (momentum buffers, moments, ``steps``) advances with it,
        so calling ``update`` on arrays or ``step`` on the Values continue each other.
        ``theta`` is assigned once, at the end: an interrupt (Ctrl-C) leaves it either
        before or after the whole step.

        Args:
            theta: float64 array of shape ``[len(params)]``, updated in place.
            grads: float64 array of the same shape (not modified).

        Raises:
            TypeError: the arrays are not float64 numpy arrays.
            ValueError: a shape differs from ``[len(params)]``, a gradient is NaN or
                infinite, or a new value would be: all or nothing, the values and the
                optimiser's state are then left as they were.
        """
        name = type(self).__name__
        expected = (len(self.params),)
        for label, array in (("theta", theta), ("grads", grads)):
            if not isinstance(array, np.ndarray) or array.dtype != np.float64:
                raise TypeError(f"{name}.update: {label} must be a float64 numpy array; "
                                f"got {array!r}")
            if array.shape != expected:
                raise ValueError(f"{name}.update: {label} must have shape {expected}; "
                                 f"got {array.shape}")
        # A finite sum means every term is finite (NaN and inf carry into a sum); only
        # when it is not (or overflows) are the terms looked at one by one.
        if not math.isfinite(np.add.reduce(grads)):
            finite = np.isfinite(grads)
            if not finite.all():
                index = int(np.flatnonzero(~finite)[0])
                raise ValueError(f"{name}: parameter {index} has a non-finite gradient "
                                 f"{float(grads[index])!r}; lower the learning rate?")
        new_theta, state = self._update(theta, grads)
        if not math.isfinite(np.add.reduce(new_theta)):
            finite = np.isfinite(new_theta)
            if not finite.all():
                index = int(np.flatnonzero(~finite)[0])
                raise ValueError(
                    f"{name}: this step would set parameter {index} to "
                    f"{float(new_theta[index])!r} (it is {float(theta[index])!r}); no parameter "
                    "was changed; lower the learning rate?")
        steps = self.steps + 1

        def commit() -> None:  # idempotent, so values and state always agree
            theta[...] = new_theta
            for attribute, value in state.items():
                setattr(self, attribute, value)
            self.steps = steps

        uninterrupted(commit)

    def _update(self, theta: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, dict]:
        """The new values (a new array) and the new state attributes, from this step."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    With ``g = grad + weight_decay * p``: the buffer is ``b = g`` on the first step and
    ``b = momentum * b + g`` after; the step is ``p -= lr * b`` (or
    ``p -= lr * (g + momentum * b)`` with Nesterov), as ``torch.optim.SGD``.

    Attributes:
        buffers: the momentum buffer (an array aligned with ``params``), or None
            before the first step and without momentum.

    Example:
        >>> w = Value(1.0); w.grad = 0.5
        >>> SGD([w], lr=0.1).step(); round(w.data, 10)
        0.95
    """

    def __init__(self, params: Iterable[Value] | Module, lr: float = 0.01, *,
                 momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _check_number("SGD", "momentum", momentum, high=1.0)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay)
        nesterov = check_bool(nesterov, "nesterov", owner="SGD")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)
        self.buffers: np.ndarray | None = None

    def _update(self, theta: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, dict]:
        g = grads
        if self.weight_decay:
            g = g + self.weight_decay * theta
        state = {}
        if self.momentum:
            buffers = g.copy() if self.buffers is None else self.momentum * self.buffers + g
            state["buffers"] = buffers
            g = g + self.momentum * buffers if self.nesterov else buffers
        return theta - self.lr * g, state

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")


def adam_update(theta: np.ndarray, grads: np.ndarray, first: np.ndarray,
                second: np.ndarray, step: int, *, lr: float, betas: tuple[float, float],
                eps: float, weight_decay: float, decoupled: bool,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam (``decoupled=False``) or AdamW (``True``) step on float64 arrays.

    Returns the new parameters and the new first and second moments (new arrays; the
    arguments are not modified). ``step`` counts from 1. The operations are PyTorch's,
    in its order: with ``decoupled`` the parameters first shrink,
    ``p = p (1 - lr wd)``; without it the gradient gets the L2 term, ``g = g + wd p``.
    Then ``m = m + (1 - b1)(g - m)``, ``v = b2 v + (1 - b2) g g`` and
    ``p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """
    beta1, beta2 = betas
    if weight_decay:
        if decoupled:
            theta = theta * (1.0 - lr * weight_decay)
        else:
            grads = grads + weight_decay * theta
    first = first + (1.0 - beta1) * (grads - first)
    second = second * beta2 + (1.0 - beta2) * grads * grads
    step_size = lr / (1.0 - beta1 ** step)
    denominator = np.sqrt(second) / (1.0 - beta2 ** step) ** 0.5 + eps
    return theta - step_size * first / denominator, first, second


class Adam(Optimizer):
    """Adam, with weight decay as an L2 penalty's gradient (as ``torch.optim.Adam``).

    Per parameter, at step t: ``g = grad + weight_decay * p``;
    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with the bias corrections
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``. For weight decay that is
    not scaled by the adaptive step, use :class:`AdamW`.

    Before this followed PyTorch, ``Adam(weight_decay=...)`` decayed the weights
    decoupled, as ``AdamW`` now does.

    Attributes:
        first_moments, second_moments: ``m`` and ``v``, arrays aligned with ``params``.

    Example:
        >>> w = Value(1.0); w.grad = 0.5
        >>> Adam([w], lr=0.1).step(); round(w.data, 6)  # first step moves by ~lr
        0.9
    """

    _decoupled = False

    def __init__(self, params: Iterable[Value] | Module, lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        self.betas = check_real_pair(betas, "betas", owner=name, high=1.0)
        self.eps = _check_number(name, "eps", eps, low_open=True)
        self.weight_decay = _check_number(name, "weight_decay", weight_decay)
        self.first_moments = np.zeros(len(self.params))
        self.second_moments = np.zeros(len(self.params))

    def _update(self, theta: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, dict]:
        """The new values and moments of one step (see :func:`adam_update`)."""
        new_theta, first, second = adam_update(
            theta, grads, self.first_moments, self.second_moments, self.steps + 1,
            lr=self.lr, betas=self.betas, eps=self.eps, weight_decay=self.weight_decay,
            decoupled=self._decoupled)
        return new_theta, {"first_moments": first, "second_moments": second}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


class AdamW(Adam):
    """Adam with decoupled weight decay (as ``torch.optim.AdamW``, the same default 0.01).

    Each step first shrinks every parameter, ``p *= 1 - lr * weight_decay``, then takes
    Adam's step from the plain gradient: the decay is not divided by ``sqrt(v_hat)``,
    so every weight decays at the same rate (Loshchilov and Hutter).

    Example:
        >>> w = Value(1.0); w.grad = 0.0
        >>> AdamW([w], lr=0.1, weight_decay=0.5).step(); round(w.data, 6)
        0.95
    """

    _decoupled = True

    def __init__(self, params: Iterable[Value] | Module, lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class LRScheduler:
    """Sets ``optimizer.lr`` from a step count; call ``step()`` once per epoch (or step).

    ``lr_at(k)`` is the rate for step ``k``; construction applies ``lr_at(0)``.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} takes an Optimizer; got {optimizer!r}")
        self.optimizer = optimizer
        self.count = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, k: int) -> float:
        """The learning rate after ``k`` calls of ``step``."""
        raise NotImplementedError

    def step(self) -> float:
        """Advance one step and set the optimiser's learning rate; returns it."""
        self.count += 1
        self.optimizer.lr = self.lr_at(self.count)
        return self.optimizer.lr


class LinearDecay(LRScheduler):
    """``lr = start + (end - start) * min(k, total_steps) / total_steps``.

    micrograd's demo uses ``lr = 1.0 - 0.9 * k / 100``, i.e.
    ``LinearDecay(opt, start=1.0, end=0.1, total_steps=100)``.

    Example:
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> schedule = LinearDecay(opt, start=1.0, end=0.1, total_steps=100)
        >>> [round(schedule.lr_at(k), 3) for k in (0, 50, 99, 200)]
        [1.0, 0.55, 0.109, 0.1]
    """

    def __init__(self, optimizer: Optimizer, *, start: float, end: float,
                 total_steps: int) -> None:
        self.start = _check_number("LinearDecay", "start", start)
        self.end = _check_number("LinearDecay", "end", end)
        self.total_steps = check_int(total_steps, "total_steps", owner="LinearDecay")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        return self.start + (self.end - self.start) * min(k, self.total_steps) / self.total_steps


class StepDecay(LRScheduler):
    """``lr = initial * gamma ** (k // step_size)``: drop by ``gamma`` every ``step_size``.

    Example:
        >>> opt = SGD([Value(0.0)], lr=0.1)
        >>> schedule = StepDecay(opt, step_size=10, gamma=0.5)
        >>> [schedule.lr_at(k) for k in (0, 9, 10, 25)]
        [0.1, 0.1, 0.05, 0.025]
    """

    def __init__(self, optimizer: Optimizer, *, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_int(step_size, "step_size", owner="StepDecay")
        self.gamma = _check_number("StepDecay", "gamma", gamma, low_open=True, high=1.0,
                                   high_open=False)
        self.initial_lr = optimizer.lr if isinstance(optimizer, Optimizer) else 0.0
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        return self.initial_lr * self.gamma ** (k // self.step_size)
