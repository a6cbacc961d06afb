"""Running Graphviz: one place that calls the binaries, with a timeout and clear errors."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

from nn.files import atomic_write_all as _atomic_write_all

__all__ = ["run_graphviz", "format_number", "atomic_write", "FORMATS"]

#: Output formats the command line and :func:`viz.render` accept (see viz.export).
FORMATS = ("svg", "pdf", "png", "dot")

#: Seconds a Graphviz run may take before it is stopped (a layout that hangs is a bug).
DEFAULT_TIMEOUT = 60.0


def run_graphviz(
    source: str,
    fmt: str = "svg",
    *,
    engine: str = "dot",
    extra_args: tuple[str, ...] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Lay out and render Graphviz ``source`` with the given engine; return the output.

    Raises:
        ValueError: ``fmt`` is not one Graphviz can write here.
        RuntimeError: the binary is missing, fails, or takes longer than ``timeout``.
    """
    if fmt not in ("svg", "pdf", "png", "json", "dot", "xdot", "plain"):
        raise ValueError(f"unknown format: {fmt!r} (must be one of {list(FORMATS)})")
    binary = shutil.which(engine)
    command = [binary, f"-T{fmt}", *extra_args]
    if binary is None and shutil.which("dot") is not None:
        # Some Graphviz builds ship only `dot`; it runs the other layouts with -K.
        binary = shutil.which("dot")
        command = [binary, f"-K{engine}", f"-T{fmt}", *extra_args]
    if binary is None:
        raise RuntimeError(
            f"Graphviz's {engine!r} program was not found on PATH; install Graphviz "
            "(for example `apt-get install graphviz`) to render pictures"
        )
    try:
        done = subprocess.run(
            command,
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"Graphviz {engine} took longer than {timeout:g} s; draw fewer nodes "
            "(collapse='neurons' or a smaller graph)"
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"Graphviz {engine} failed: {' '.join(message)[:500]}")
    return done.stdout


def format_number(x: float, precision: int) -> str:
    """A number with ``precision`` digits after the point (scientific when very large/small).

    Example:
        >>> format_number(0.5, 3), format_number(123456.0, 2), format_number(-0.0, 2)
        ('0.500', '1.23e+05', '0.00')
    """
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return f"{0.0:.{precision}f}"
    magnitude = abs(x)
    if magnitude >= 1e5 or magnitude < 0.5 * 10.0 ** (-precision):
        return f"{x:.{precision}e}"
    return f"{x:.{precision}f}"


LONGEST_NAME = 80  # characters of a label drawn; a longer one is cut in the middle


def shown_name(label: str) -> str:
    """A label as the pictures draw it: every character visible, at most one line's length.

    Control characters (which Graphviz refuses; tabs and line breaks too) and lone
    surrogates (which cannot be written as UTF-8) are shown as their Python escapes
    (``\\x1b``, ``\\ud800``); a label longer than :data:`LONGEST_NAME` keeps its start
    and end around a ``…``.
    """
    chars = [ascii(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cs") else ch
             for ch in label]
    text = "".join(chars)
    if len(text) > LONGEST_NAME:
        text = f"{text[:LONGEST_NAME - 21]}…{text[-20:]}"
    return text


def atomic_write(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` to ``path`` all at once, creating the folder if needed.

    See ``nn.files.atomic_write``: a failure leaves no half file and no temporary.
    """
    return atomic_write_all([(path, data)])[0]


def atomic_write_all(files: list[tuple[str | os.PathLike, Any]]) -> list[Path]:
    """Write several files all at once, creating their folders if needed.

    See ``nn.files.atomic_write_all``: every file is written, or none (a folder in
    the way of any of them is refused before anything is written).
    """
    for path, _ in files:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _atomic_write_all(files)
