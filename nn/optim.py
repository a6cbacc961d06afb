"""Optimisers (SGD, Adam/AdamW) and learning-rate schedules.

An optimiser holds a list of parameters (``Value`` leaves) and updates their
``data`` from their ``grad``; it never builds graph nodes. The update rules follow
PyTorch's ``torch.optim.SGD`` and ``torch.optim.AdamW`` so that numbers can be
compared one to one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from autograd_core import Value

from ._checks import check_bool, check_int, check_real, check_real_pair
from .module import Module

__all__ = ["Optimizer", "SGD", "Adam", "LRScheduler", "LinearDecay", "StepDecay"]


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
    """Base class: holds ``params`` and ``lr``; subclasses define ``step``."""

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
        self._lr = _check_number(type(self).__name__, "lr", value)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (gradients accumulate otherwise)."""
        for param in self.params:
            param.grad = 0.0

    def step(self) -> None:
        """Apply one update from the current gradients."""
        raise NotImplementedError

    def _commit(self, values: list[float]) -> None:
        """Write every parameter's new value, or none: a step that would make one of them
        NaN or infinite is refused with every parameter (and the optimiser's state) as it
        was before the step."""
        for index, value in enumerate(values):
            if not math.isfinite(value):
                raise ValueError(
                    f"{type(self).__name__}: this step would set parameter {index} to {value!r} "
                    f"(it is {self.params[index].data!r}); no parameter was changed; lower "
                    "the learning rate?")
        for param, value in zip(self.params, values):
            param.data = value

    def _gradients(self) -> list[float]:
        grads = []
        for index, param in enumerate(self.params):
            g = param.grad
            if isinstance(g, Value):  # left by backward(create_graph=True)
                g = g.data
            if not math.isfinite(g):
                raise ValueError(f"{type(self).__name__}: parameter {index} has a "
                                 f"non-finite gradient {g!r}; lower the learning rate?")
            grads.append(float(g))
        return grads


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    With ``g = grad + weight_decay * p``: the buffer is ``b = g`` on the first step and
    ``b = momentum * b + g`` after; the step is ``p -= lr * b`` (or
    ``p -= lr * (g + momentum * b)`` with Nesterov), as ``torch.optim.SGD``.

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
        self.buffers: list[float] | None = None

    def step(self) -> None:
        grads = self._gradients()
        if self.weight_decay:
            grads = [g + self.weight_decay * p.data for g, p in zip(grads, self.params)]
        buffers = self.buffers
        if self.momentum:
            if buffers is None:
                buffers = list(grads)
            else:
                buffers = [self.momentum * b + g for b, g in zip(buffers, grads)]
            if self.nesterov:
                grads = [g + self.momentum * b for g, b in zip(grads, buffers)]
            else:
                grads = list(buffers)
        self._commit([param.data - self.lr * g for param, g in zip(self.params, grads)])
        self.buffers = buffers
        self.steps += 1

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")


class Adam(Optimizer):
    """Adam with decoupled weight decay (AdamW when ``weight_decay > 0``).

    Per parameter, at step t: ``p -= lr * weight_decay * p``; ``m = b1 m + (1 - b1) g``;
    ``v = b2 v + (1 - b2) g^2``; ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with the
    bias corrections ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

    Example:
        >>> w = Value(1.0); w.grad = 0.5
        >>> Adam([w], lr=0.1).step(); round(w.data, 6)  # first step moves by ~lr
        0.9
    """

    def __init__(self, params: Iterable[Value] | Module, lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.betas = check_real_pair(betas, "betas", owner="Adam", high=1.0)
        self.eps = _check_number("Adam", "eps", eps, low_open=True)
        self.weight_decay = _check_number("Adam", "weight_decay", weight_decay)
        self.first_moments = [0.0] * len(self.params)
        self.second_moments = [0.0] * len(self.params)

    def step(self) -> None:
        grads = self._gradients()
        beta1, beta2 = self.betas
        steps = self.steps + 1
        correction1 = 1.0 - beta1 ** steps
        correction2 = 1.0 - beta2 ** steps
        first = [beta1 * m + (1.0 - beta1) * g for m, g in zip(self.first_moments, grads)]
        second = [beta2 * v + (1.0 - beta2) * g * g for v, g in zip(self.second_moments, grads)]
        values = []
        for param, m, v in zip(self.params, first, second):
            p = param.data
            if self.weight_decay:
                p -= self.lr * self.weight_decay * p
            values.append(p - self.lr * (m / correction1) / (math.sqrt(v / correction2) + self.eps))
        self._commit(values)
        self.first_moments, self.second_moments, self.steps = first, second, steps

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


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
