"""Rows of the trace's value and delta arrays: index sets and adding into them.

Used by the replay (:mod:`autograd_core.trace`) and its fusion
(:mod:`autograd_core.fusion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Scatter", "index_of"]


def index_of(rows: Sequence[int]) -> slice | np.ndarray:
    """Rows as a slice when they are consecutive (a view, no copy), else an index array."""
    rows = list(rows)
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return np.asarray(rows, dtype=np.intp)


class Scatter:
    """Adds rows of contributions into ``target[rows]``, where rows may repeat.

    ``exclusive`` (set once the whole trace is compiled) says that no other scatter
    writes these rows and no row repeats: the rows, zero until then, are then
    assigned rather than added to.
    """

    def __init__(self, rows: Sequence[int]) -> None:
        rows_array = np.asarray(rows, dtype=np.intp)
        self.targets = rows_array
        self.exclusive = False
        if len(np.unique(rows_array)) == len(rows_array):
            self.rows = index_of(rows_array.tolist())
            self.order = None
            return
        # Sort the contributions by target row, then add each run of equal rows.
        self.order = np.argsort(rows_array, kind="stable")
        sorted_rows = rows_array[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        self.rows = index_of(sorted_rows[self.starts].tolist())

    def destination(self, target: np.ndarray) -> np.ndarray | None:
        """The rows to write the contributions into directly (``out=``), if allowed."""
        if self.exclusive and type(self.rows) is slice:
            return target[self.rows]
        return None

    def add(self, target: np.ndarray, contributions: Any) -> None:
        if self.order is not None:
            contributions = np.add.reduceat(contributions[self.order], self.starts, axis=0)
        if self.exclusive:
            target[self.rows] = contributions
        elif type(self.rows) is slice:
            rows = target[self.rows]  # a view: added in place, no copy back
            rows += contributions
        else:
            target[self.rows] += contributions
