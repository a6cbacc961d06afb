"""Files for slides and papers: a figure as SVG, PDF, PNG or dot, a step-through as slides.

The format follows the file's suffix (``graph.pdf`` is a PDF); a suffix or format not
in :data:`FORMATS` is refused, with the list, before anything is written. PDF is
vector with the fonts embedded (Graphviz's cairo output), PNG is rendered at the
chosen DPI and records it, so slide software places it at its true size.

A step-through becomes slides with :func:`save_slides`: one multi-page PDF (a page per
frame), numbered PNG/SVG/dot files, or a LaTeX Beamer snippet (``.tex``) that shows the
frames as overlays of one slide. Every frame is drawn on the same pinned layout, so
nothing moves between slides and every page has the same size.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphviz

from autograd_core import Value

from ._pdf import merge_pdfs
from ._render import DEFAULT_TIMEOUT, atomic_write, atomic_write_all, run_graphviz

__all__ = [
    "FORMATS",
    "SLIDE_FORMATS",
    "render",
    "save",
    "save_slides",
    "slide_digraphs",
    "beamer_snippet",
    "format_of",
]

#: Formats :func:`render` and :func:`save` write (and the suffixes that ask for them).
FORMATS = ("svg", "pdf", "png", "dot")
#: Formats :func:`save_slides` writes: a multi-page PDF, numbered files, or Beamer.
SLIDE_FORMATS = ("pdf", "png", "svg", "dot", "tex")
#: DPI Graphviz uses for PNG when none is given.
DEFAULT_DPI = 96.0
_DPI_RANGE = (10.0, 1200.0)
#: Most pixels a PNG may have (a 300 dpi slide has about 9 million); more takes minutes
#: and gigabytes, and cairo cannot draw a side longer than 32,767 pixels at all.
MAX_PIXELS = 100_000_000
_MAX_SIDE = 32_767
_BB = re.compile(r'\bbb="?([-\d.e]+),([-\d.e]+),([-\d.e]+),([-\d.e]+)')
_SUFFIXES = {"svg": "svg", "pdf": "pdf", "png": "png", "dot": "dot", "gv": "dot", "tex": "tex"}


def format_of(path: str | os.PathLike, fmt: str | None = None,
              allowed: tuple[str, ...] = FORMATS) -> str:
    """The format to write ``path`` in: its suffix's, which ``fmt`` (if given) must match.

    ``.gv`` is a dot file too. Without a suffix, ``fmt`` decides.

    Raises:
        ValueError: the suffix or ``fmt`` is not one of ``allowed``, they disagree, or
            there is neither.

    Example:
        >>> format_of("graph.PDF"), format_of("graph", "png")
        ('pdf', 'png')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path; got {path!r}")
    if fmt is not None and (not isinstance(fmt, str) or fmt.lower() not in allowed):
        raise ValueError(f"unknown format {fmt!r}; formats are {list(allowed)}")
    suffix = Path(path).suffix.lower().lstrip(".")
    allowed_suffixes = [f".{s}" for s, f in _SUFFIXES.items() if f in allowed]
    if not suffix:
        if fmt is None:
            raise ValueError(
                f"{os.fspath(path)!r} has no suffix to tell the format; use one of "
                f"{allowed_suffixes} (or give the format)"
            )
        return fmt.lower()
    by_suffix = _SUFFIXES.get(suffix)
    if by_suffix is None or by_suffix not in allowed:
        raise ValueError(
            f"unknown suffix {'.' + suffix!r} in {os.fspath(path)!r}; suffixes are "
            f"{allowed_suffixes}"
        )
    if fmt is not None and fmt.lower() != by_suffix:
        raise ValueError(
            f"format {fmt!r} does not match the suffix of {os.fspath(path)!r} ({by_suffix}); "
            "a file must be what its name says"
        )
    return by_suffix


def _check_dpi(dpi: float | None, fmt: str) -> float | None:
    if dpi is None:
        return None
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"dpi must be a number; got {dpi!r}")
    low, high = _DPI_RANGE
    if not low <= dpi <= high:  # refuses NaN and inf too
        raise ValueError(f"dpi must be from {low:g} to {high:g}; got {dpi!r}")
    if fmt not in ("png", "tex"):
        raise ValueError(f"dpi applies to PNG only (vector formats have no pixels); got {fmt!r}")
    return float(dpi)


def _digraph_of(figure: Any, draw_options: dict[str, Any]) -> graphviz.Digraph:
    if isinstance(figure, Value):
        from .graph import draw_graph

        return draw_graph(figure, **draw_options)
    if isinstance(figure, (graphviz.Digraph, graphviz.Graph)):
        if draw_options:
            raise TypeError(
                f"drawing options {sorted(draw_options)} apply to a root Value, not a Digraph"
            )
        return figure
    raise TypeError(
        f"expected a root Value or a graphviz.Digraph (from draw_graph, draw_network or "
        f"a step-through); got {figure!r}"
    )


# A graph whose layout is pinned from an earlier dot run (see viz.frames.compute_layout) holds
# its bounding box as a graph attribute; neato -n2 draws it without laying it out again.
_PINNED = re.compile(r"^\s*(?:graph\s*)?\[?\s*bb=", re.MULTILINE)


def _engine_args(digraph: graphviz.Digraph) -> tuple[str, tuple[str, ...]]:
    if getattr(digraph, "_viz_pinned", False) or (
        digraph.engine == "neato" and _PINNED.search(digraph.source)
    ):
        return "neato", ("-n2",)
    return digraph.engine, ()


def render(figure: Any, format: str = "svg", *, dpi: float | None = None,
           **draw_options: Any) -> bytes:
    """A figure's file contents in ``format`` (``"svg"``, ``"pdf"``, ``"png"`` or ``"dot"``).

    Args:
        figure: a ``graphviz.Digraph`` (from :func:`viz.draw_graph`,
            :func:`viz.draw_network`, a step-through's frame) or a root ``Value``,
            drawn with ``draw_options`` (``mode=``, ``style=``, ...).
        format: one of :data:`FORMATS`.
        dpi: PNG resolution (default 96); the PNG records it (its ``pHYs`` chunk).

    Raises:
        ValueError: an unknown format, or ``dpi`` out of range or not for PNG.
        RuntimeError: Graphviz is missing or fails.
    """
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise ValueError(f"unknown format {format!r}; formats are {list(FORMATS)}")
    fmt = format.lower()
    chosen_dpi = _check_dpi(dpi, fmt)
    digraph = _digraph_of(figure, draw_options)
    return _render_checked(digraph, fmt, chosen_dpi)


def _render_checked(digraph: graphviz.Digraph, fmt: str, dpi: float | None) -> bytes:
    return _render_many([digraph], fmt, dpi)[0]


def _render_many(
    digraphs: list[graphviz.Digraph], fmt: str, dpi: float | None
) -> list[bytes]:
    """Each Digraph's file contents in ``fmt``, from one Graphviz run when they are drawn
    the same way (the frames of a step-through), else one run each."""
    if fmt == "dot":
        return [d.source.encode("utf-8") for d in digraphs]
    how = {_engine_args(d) for d in digraphs}
    if len(how) > 1:
        return [_render_batch([d], fmt, dpi)[0] for d in digraphs]
    return _render_batch(digraphs, fmt, dpi)


def _render_batch(
    digraphs: list[graphviz.Digraph], fmt: str, dpi: float | None
) -> list[bytes]:
    """Digraphs drawn the same way (engine and arguments), in one Graphviz run."""
    engine, args = _engine_args(digraphs[0])
    source = "\n".join(d.source for d in digraphs)
    if fmt == "png":
        dpi = DEFAULT_DPI if dpi is None else dpi
        if not args:
            # Lay out once (positions written into the source) to learn the size, then
            # draw the pixels from those positions: no second layout.
            source = run_graphviz(source, "dot", engine=engine).decode("utf-8")
            engine, args = "neato", ("-n2",)
        _check_pixels(source, dpi)
        args = (*args, f"-Gdpi={dpi:g}")
    if fmt == "pdf":
        args = (*args, "-Gmargin=0")  # the PDF device's default 1/2 inch margin: none
    timeout = DEFAULT_TIMEOUT * max(1.0, len(digraphs) / 20)
    output = run_graphviz(source, fmt, engine=engine, extra_args=args, timeout=timeout)
    parts = _split(output, fmt)
    if len(parts) != len(digraphs):
        raise RuntimeError(f"Graphviz returned {len(parts)} pictures for {len(digraphs)} graphs")
    if fmt == "png":
        return [_with_dpi(part, dpi) for part in parts]
    if fmt == "pdf":
        return [merge_pdfs([part]) for part in parts]  # the same bytes for the same picture
    return parts


def _split(output: bytes, fmt: str) -> list[bytes]:
    """Graphviz's output for several graphs, one document each."""
    if fmt == "svg":
        return [b"<?xml" + part for part in output.split(b"<?xml")[1:]]
    if fmt == "pdf":
        return [part for part in re.split(rb"(?<=%%EOF\n)(?=%PDF-)", output) if part]
    parts, position = [], 0
    while position < len(output):  # PNG: chunk by chunk to each IEND
        start = position
        if not output.startswith(b"\x89PNG\r\n\x1a\n", position):
            raise RuntimeError("Graphviz did not return a PNG")
        position += 8
        while True:
            (length,) = struct.unpack(">I", output[position:position + 4])
            kind = output[position + 4:position + 8]
            position += 12 + length
            if kind == b"IEND" or position >= len(output):
                break
        parts.append(output[start:position])
    return parts


def _check_pixels(laid_out: str, dpi: float) -> None:
    """Refuse a PNG too large to draw, before drawing it (the layout says its size)."""
    box = _BB.search(laid_out)
    if box is None:
        raise RuntimeError("Graphviz's layout has no bounding box")
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    margin = 8.0  # Graphviz pads the picture by 4 points on each side
    width, height = ((x1 - x0 + margin) * dpi / 72, (y1 - y0 + margin) * dpi / 72)
    if width * height > MAX_PIXELS or max(width, height) > _MAX_SIDE:
        fit = dpi * min(
            math.sqrt(MAX_PIXELS / (width * height)), _MAX_SIDE / max(width, height)
        )
        raise ValueError(
            f"at {dpi:g} dpi the picture would be {width:.0f} x {height:.0f} pixels, more "
            f"than PNG output allows here ({MAX_PIXELS:,} pixels, {_MAX_SIDE:,} a side); "
            f"use dpi={max(int(fit), 1)} or less, or write PDF or SVG (vector, any size)"
        )


def save(figure: Any, path: str | os.PathLike, *, format: str | None = None,
         dpi: float | None = None, **draw_options: Any) -> Path:
    """Write a figure to ``path`` in the format its suffix names; return the path.

    ``save(draw_graph(o), "graph.pdf")``, ``save(o, "graph.png", dpi=300,
    mode="backward", style="print")``. The suffix (``.svg``, ``.pdf``, ``.png``,
    ``.dot``/``.gv``) decides; ``format``, if given, must agree with it. The file is
    written atomically, and nothing is written when the suffix, format or figure is
    refused.

    Raises:
        ValueError: the suffix or format is not one of :data:`FORMATS` (the message
            lists them), or they disagree.
    """
    fmt = format_of(path, format)
    data = render(figure, fmt, dpi=dpi, **draw_options)
    return atomic_write(path, data)


def _with_dpi(png: bytes, dpi: float) -> bytes:
    """The PNG with a ``pHYs`` chunk saying ``dpi`` (as pixels per metre)."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        raise RuntimeError("Graphviz did not return a PNG")
    per_metre = round(dpi / 0.0254)
    body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body))
    after_header = 8 + 8 + 13 + 4
    return png[:after_header] + chunk + png[after_header:]


# ---------------------------------------------------------------------------
# Step-throughs as slides.


def slide_digraphs(steps: Any) -> list[graphviz.Digraph]:
    """Every frame of a step-through as a Digraph, each on the shared pinned layout."""
    from .steps import StepThrough

    if not isinstance(steps, StepThrough):
        raise TypeError(f"expected a viz.StepThrough; got {steps!r}")
    frame_digraph: Callable[[int], graphviz.Digraph] | None = getattr(
        steps, "frame_digraph", None
    )
    if frame_digraph is not None:
        return [frame_digraph(k) for k in range(len(steps))]
    return _pinned_frames(steps)


def _pinned_frames(steps: Any) -> list[graphviz.Digraph]:
    """The frames of a step-through that has no ``frame_digraph``: its frame states drawn
    on one layout computed once (as its own pictures are)."""
    from .frames import compute_layout
    from .graph import layout_digraph, view_sizes

    options, states = steps.options, steps._states
    extra: dict[str, list[str]] = {}
    for state in states:
        for key, delta in state.deltas.items():
            if delta is not None:
                extra.setdefault(key, []).append(f"δ {steps._fmt(delta)}  Σ00")
    sizes = view_sizes(steps.view, options, extra_node_text=extra)

    def frame(state: Any, pinned: dict[str, dict[str, str]] | None = None) -> graphviz.Digraph:
        return layout_digraph(
            steps.view, mode="backward", options=options, sizes=sizes, frame=state,
            pinned=pinned,
        )

    pinned = compute_layout(frame(states[0]))
    digraphs = [frame(state, pinned) for state in states]
    for digraph in digraphs:
        digraph.engine = "neato"
    return digraphs


def _numbered(path: Path, count: int) -> list[Path]:
    width = max(2, len(str(count)))
    return [path.with_name(f"{path.stem}-{k:0{width}d}{path.suffix}") for k in range(count)]


def save_slides(steps: Any, path: str | os.PathLike, *, format: str | None = None,
                dpi: float | None = None, captions: bool = True,
                title: str | None = None) -> list[Path]:
    """Write a step-through's frames as slides; return the files written.

    By ``path``'s suffix:

    - ``.pdf``: one PDF, a page per frame, all pages one size (vector, fonts embedded);
    - ``.png``, ``.svg``, ``.dot``: numbered files ``name-00.png``, ``name-01.png``, ...;
    - ``.tex``: a Beamer snippet (``\\input`` it in a presentation) that shows the
      frames as overlays ``<1>``, ``<2>``, ... of one slide, with the captions, and
      next to it ``name-frames.pdf`` holding the pages it includes.

    Args:
        steps: a :class:`viz.StepThrough` (backward or forward, any level of detail).
        path: where to write (see above).
        format: must agree with the suffix if given.
        dpi: PNG resolution.
        captions: put each frame's caption under it (Beamer only).
        title: the Beamer slide's title (default: from the step-through).

    Raises:
        ValueError: an unknown suffix or format (nothing is written).
    """
    fmt = format_of(path, format, SLIDE_FORMATS)
    chosen_dpi = _check_dpi(dpi, fmt)
    if type(captions) is not bool:
        raise TypeError(f"captions must be True or False; got {captions!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None; got {title!r}")
    target = Path(path)
    if fmt == "tex":
        graphics = target.with_name(f"{target.stem}-frames.pdf")
        snippet = beamer_snippet(steps, graphics.name, captions=captions, title=title)
        pdf = _slides_pdf(steps)
        return atomic_write_all([(graphics, pdf), (target, snippet)])
    if fmt == "pdf":
        return [atomic_write(target, _slides_pdf(steps))]
    digraphs = slide_digraphs(steps)
    files = _numbered(target, len(digraphs))
    blobs = _render_many(digraphs, fmt, chosen_dpi)
    return atomic_write_all(list(zip(files, blobs)))


def _slides_pdf(steps: Any) -> bytes:
    return merge_pdfs(_render_many(slide_digraphs(steps), "pdf", None))


def beamer_snippet(steps: Any, graphics: str, *, captions: bool = True,
                   title: str | None = None, width: str = r"\linewidth",
                   height: str = r"0.72\textheight") -> str:
    r"""A Beamer frame showing the step-through's frames as overlays of one slide.

    ``graphics`` is the multi-page PDF of the frames (see :func:`save_slides`), as the
    presentation's ``\includegraphics`` will find it. Captions are written as LaTeX
    (Greek letters, subscripts, ×, → and ∂ as maths), so pdflatex compiles the snippet
    without Unicode set-up.

    Example:
        >>> from viz import StepThrough
        >>> x = Value(2.0, "x")
        >>> print(beamer_snippet(StepThrough(x * x), "steps.pdf").count("includegraphics<"))
        3
    """
    if not isinstance(graphics, str) or not re.fullmatch(r"[A-Za-z0-9._/-]+", graphics):
        raise ValueError(
            "graphics must be a file name of letters, digits, '.', '_', '-' and '/' "
            f"(LaTeX reads others differently); got {graphics!r}"
        )
    for name, length in (("width", width), ("height", height)):
        if not isinstance(length, str) or not re.fullmatch(r"[0-9.]*\\?[A-Za-z]+", length):
            raise ValueError(
                f"{name} must be a TeX length such as '0.8\\textwidth'; got {length!r}"
            )
    count = len(steps)
    heading = title if title is not None else _default_title(steps)
    lines = [
        f"% {count} frames of a step-through, one overlay each; the pictures are the",
        f"% pages of {graphics}. Beamer loads graphicx; \\input this file in a presentation.",
        f"\\begin{{frame}}{{{_latex_text(heading)}}}",
        "  \\centering",
    ]
    for k in range(count):
        lines.append(
            f"  \\includegraphics<{k + 1}>[page={k + 1},width={width},height={height},"
            f"keepaspectratio]{{{graphics}}}%"
        )
    texts = list(getattr(steps, "captions", []) or [])
    if captions and len(texts) == count:
        lines.append("  \\par\\smallskip")
        lines.append("  {\\footnotesize")
        for k, caption in enumerate(texts):
            lines.append(f"  \\only<{k + 1}>{{{_latex_text(caption)}}}%")
        lines.append("  }")
    lines.append("\\end{frame}")
    return "\n".join(lines) + "\n"


def _default_title(steps: Any) -> str:
    kind = getattr(steps, "mode", None)
    if isinstance(kind, str) and kind.lower().startswith("forward"):
        return "Forward pass, step by step"
    return "Backward pass, step by step"


# Unicode the captions use, as LaTeX for pdflatex (inputenc knows none of these).
_LATEX_SYMBOLS = {
    "×": r"$\times$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "∂": r"$\partial$",
    "·": r"$\cdot$", "−": r"$-$", "≈": r"$\approx$", "…": r"\ldots{}", "Σ": r"$\Sigma$",
    "∑": r"$\sum$", "√": r"$\surd$", "≤": r"$\leq$", "≥": r"$\geq$", "∞": r"$\infty$",
    "–": "--", "—": "---", "\u00a0": "~", "²": r"$^2$", "³": r"$^3$",
}
_GREEK_NAMES = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu",
    "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon",
    "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Φ": "Phi", "Ψ": "Psi",
    "Ω": "Omega",
}
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "0123456789aehijklmnoprstuvx"))
_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
}


def _latex_text(text: str) -> str:
    """Plain text as LaTeX text: specials escaped, known symbols as maths, others '?'."""
    out: list[str] = []
    for char in text:
        if char in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[char])
        elif char in _LATEX_SYMBOLS:
            out.append(_LATEX_SYMBOLS[char])
        elif char in _GREEK_NAMES:
            out.append(f"$\\{_GREEK_NAMES[char]}$")
        elif char in _SUBSCRIPTS:
            out.append(f"\\textsubscript{{{_SUBSCRIPTS[char]}}}")
        elif char in "\n\r\t":
            out.append(" ")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("?")
    return "".join(out)
