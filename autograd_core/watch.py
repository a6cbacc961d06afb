"""Watching a Value being made concrete while a trace records its function.

A trace (:mod:`autograd_core.trace`) records the graph its function builds once and
replays it for every sample and every parameter value. A decision the function takes
in Python on a number (``if x > 0``, ``float(x)``, ``max(xs)``) cannot be replayed:
it would stay the example's. ``Value``'s comparisons and ``float()`` report to the
watchers of the thread that runs them, so a trace can refuse such a decision at the
line that made it.

Watchers are per thread (a trace in one thread never sees another thread's
comparisons), nothing is patched, and one global count of active watchers keeps the
check to a single number when no trace runs anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["watching", "report"]

_state = threading.local()
_lock = threading.Lock()
active = 0
"""How many watchers are active in all threads (0: nothing to report)."""

Watcher = Callable[[str, tuple], None]


class watching:
    """Context manager: ``watcher(what, operands)`` hears every report of this thread.

    ``what`` names the operation (``"<"``, ``"float()"``); ``operands`` are its
    operands. A watcher refuses by raising.
    """

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def __enter__(self) -> watching:
        global active
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self.watcher)
        with _lock:
            active += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global active
        _state.stack.pop()
        with _lock:
            active -= 1


def report(what: str, operands: tuple) -> None:
    """Tell this thread's watchers (innermost first) that ``operands`` are made concrete."""
    for watcher in reversed(getattr(_state, "stack", ())):
        watcher(what, operands)
