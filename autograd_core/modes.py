"""Modes of the engine: ``no_grad`` and ``detect_anomaly``, and what they do to an op.

Each mode is a per-thread depth. One global count of active mode blocks (in any
thread), kept by the node store (:func:`autograd_core.stores.set_special_modes`),
keeps the hot path of node creation to a single check of one number; when it is not
zero, ops come here (:func:`node_in_mode`) to see what this thread wants.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from contextlib import ContextDecorator
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import stores
from .rules import Rule

if TYPE_CHECKING:
    from .engine import Value

__all__ = [
    "no_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
]

_thread_state = threading.local()
_count_lock = threading.Lock()
_active_blocks = 0


def _change_modes(step: int) -> None:
    global _active_blocks
    with _count_lock:
        _active_blocks += step
        stores.set_special_modes(_active_blocks)


def is_grad_enabled() -> bool:
    """Whether ops in this thread record the graph (False inside ``no_grad``)."""
    return not getattr(_thread_state, "depth", 0)


class no_grad(ContextDecorator):
    """Context manager and decorator: ops inside build no graph; results are leaves.

    It affects only the thread that enters it.

    Example:
        >>> from autograd_core import Value
        >>> with no_grad():
        ...     y = Value(2.0) * 3
        >>> y.op, y.parents
        ('', ())
    """

    def __enter__(self) -> no_grad:
        _thread_state.depth = getattr(_thread_state, "depth", 0) + 1
        _change_modes(1)
        return self

    def __exit__(self, *exc: object) -> None:
        _thread_state.depth -= 1
        _change_modes(-1)


class record_derivatives:
    """Record the derivative graph of ``create_graph`` even inside ``no_grad()``.

    ``create_graph=True`` asks for that graph explicitly; built as leaves (as
    ``no_grad`` makes every op), its derivatives would silently be zero.
    """

    def __init__(self, create_graph: bool) -> None:
        self.active = create_graph and not is_grad_enabled()

    def __enter__(self) -> None:
        if self.active:
            self.depth = _thread_state.depth
            _thread_state.depth = 0

    def __exit__(self, *exc: object) -> None:
        if self.active:
            _thread_state.depth = self.depth


class AnomalyError(FloatingPointError):
    """Inside ``detect_anomaly()``, an op produced NaN or inf.

    A subclass of ``FloatingPointError`` (hence of ``ArithmeticError``).

    Attributes:
        op: the op name (``Value.op``) whose forward or backward went wrong.
        phase: ``"forward"`` or ``"backward"``.
        inputs: the data of the op's inputs.
        location: ``"file:line"`` of the user code that created the node (for
            ``"backward"``, ``None`` if the node was made outside anomaly mode).
        node: for ``"backward"``, the node whose message went wrong (else ``None``).
    """

    def __init__(self, message: str, *, op: str, phase: str, inputs: tuple,
                 location: str | None, node: Value | None = None) -> None:
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.inputs = inputs
        self.location = location
        self.node = node


def is_anomaly_enabled() -> bool:
    """Whether this thread is inside ``detect_anomaly()``."""
    return bool(getattr(_thread_state, "anomaly", 0))


class detect_anomaly(ContextDecorator):
    """Context manager and decorator: stop at the first op that produces NaN or inf.

    Inside it, every op checks its result, and every backward pass (``backward``,
    ``grad``, ``backward_steps``) checks each message it sends; the first non-finite
    number raises :class:`AnomalyError` naming the op, its inputs and the file and
    line of the user code that created the node. It affects only the thread that
    enters it. It is for debugging: nodes created inside it are kept alive (with
    their creation site) until the outermost block ends, and ops run slower.

    Example:
        >>> from autograd_core import Value
        >>> x = Value(0.0)
        >>> with detect_anomaly():
        ...     y = x.sqrt() * 2.0
        ...     y.backward()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        AnomalyError: backward of op 'sqrt' ... produced inf ...
    """

    def __enter__(self) -> detect_anomaly:
        depth = getattr(_thread_state, "anomaly", 0)
        if not depth:
            _thread_state.origins = {}
        _thread_state.anomaly = depth + 1
        _change_modes(1)
        return self

    def __exit__(self, *exc: object) -> None:
        _thread_state.anomaly -= 1
        if not _thread_state.anomaly:
            _thread_state.origins = {}
        _change_modes(-1)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frame() -> FrameType | None:
    """The innermost frame of the calling stack outside this package: the user's code."""
    frame = sys._getframe(1)
    while frame is not None and in_package(frame):
        frame = frame.f_back
    return frame


def in_package(frame: FrameType) -> bool:
    """Whether ``frame`` runs code of this package."""
    return frame.f_code.co_filename.startswith(_PACKAGE_DIR)


def _user_location() -> str:
    """``file:line`` of the innermost caller outside this package."""
    frame = user_frame()
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def node_in_mode(rule: Rule, out: float, parents: tuple, attrs: tuple) -> Value:
    """Node creation while some thread is in ``no_grad`` or ``detect_anomaly``."""
    state = _thread_state
    anomaly = getattr(state, "anomaly", 0)
    if anomaly and not math.isfinite(out):
        inputs = tuple(parent.data for parent in parents)
        location = _user_location()
        raise AnomalyError(
            f"forward of op {rule.name!r} produced {out!r} from inputs {inputs!r} "
            f"(at {location})", op=rule.name, phase="forward", inputs=inputs,
            location=location)
    if getattr(state, "depth", 0):
        return stores.make_node(out, "", (), (), ())
    local_grads = rule.local(*(parent.data for parent in parents), out, *attrs)
    node = stores.make_node(out, rule.name, parents, local_grads, attrs)
    if anomaly:
        state.origins[node] = _user_location()
    return node


def check_message(node: Value, local: Any, delta: Any, total: Any) -> None:
    """In anomaly mode: raise if a backward message made a non-finite delta."""
    value = total if type(total) is float else getattr(total, "data", total)
    if math.isfinite(value):
        return
    inputs = tuple(parent.data for parent in node.parents)
    location = getattr(_thread_state, "origins", {}).get(node)
    where = f"created at {location}" if location else "created outside detect_anomaly()"
    raise AnomalyError(
        f"backward of op {node.op!r} ({where}) produced {value!r}: "
        f"delta {fmt(delta)} x local derivative {fmt(local)}; inputs {inputs!r}",
        op=node.op, phase="backward", inputs=inputs, location=location, node=node)


def fmt(number: Any) -> str:
    """A float in six significant digits; anything else (a Value grad) as its repr."""
    return f"{number:.6g}" if type(number) is float else repr(number)
