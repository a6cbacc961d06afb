"""exp, tanh and log for micrograd 0.1.0, in micrograd's own closure style.

micrograd ships + * ** relu; the benchmark workloads also need exp, tanh and log.
They are added to micrograd's ``Value`` here, for the benchmark only, written the
way micrograd writes its ops (a result node plus a ``_backward`` closure), so that
its timings are the ones its design gives.
"""

from __future__ import annotations

import math

from micrograd.engine import Value


def _exp(self: Value) -> Value:
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward() -> None:
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def _tanh(self: Value) -> Value:
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward() -> None:
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def _log(self: Value) -> Value:
    out = Value(math.log(self.data), (self,), "log")

    def _backward() -> None:
        self.grad += (1.0 / self.data) * out.grad

    out._backward = _backward
    return out


Value.exp = _exp
Value.tanh = _tanh
Value.log = _log

__all__ = ["Value"]
