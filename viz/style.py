"""How pictures look: named themes and the few knobs behind them.

A :class:`Style` holds a font, a font size, a line width, a palette (a colour per role:
node fills, borders, edges, text, deltas, positive and negative weights), whether lines
are told apart by dashes as well as colour, and whether labels are written as maths
(``w1`` as w₁, ``delta`` as δ). :func:`draw_graph`, the step-through and
:func:`draw_network` all read the same style.

One style can be set for a whole notebook or talk with :func:`set_style`, or for a few
pictures with ``with use_style(...)``; a ``style=`` argument overrides both for one
picture. Themes: ``"default"``, ``"print"`` (monochrome), ``"colourblind"``
(Okabe and Ito's palette), ``"dark"`` (light on a dark slide) and ``"projector"``
(large type, thick lines).
"""

from __future__ import annotations

import contextvars
import numbers
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "Style",
    "THEMES",
    "ROLES",
    "Themes",
    "KNOBS",
    "set_style",
    "get_style",
    "use_style",
    "resolve_style",
    "math_label",
]

#: Roles a palette gives a colour to.
ROLES = (
    "background", "text", "leaf", "op", "highlight", "sender", "receiver", "border",
    "fan_out", "edge", "edge_backward", "edge_active", "edge_sent", "edge_waiting", "delta",
    "positive", "negative", "input", "hidden", "output",
)

_DEFAULT_PALETTE = {
    "background": "#ffffff",
    "text": "#000000",
    "leaf": "#eef3fb",
    "op": "#ffffff",
    "highlight": "#fff2a8",
    "sender": "#ffd7b0",
    "receiver": "#c9f0c9",
    "border": "#333333",
    "fan_out": "#7a1fa2",
    "edge": "#555555",
    "edge_backward": "#b03030",
    "edge_active": "#e06000",
    "edge_sent": "#b03030",
    "edge_waiting": "#bbbbbb",
    "delta": "#b03030",
    "positive": "#2b6cb0",
    "negative": "#e07b00",
    "input": "#e8e8e8",
    "hidden": "#ffffff",
    "output": "#fdf3d8",
}

# Print: black, white and greys only; roles that colour alone would tell apart also get
# dashes (see Style.dashes).
_PRINT_PALETTE = {
    "background": "#ffffff",
    "text": "#000000",
    "leaf": "#eeeeee",
    "op": "#ffffff",
    "highlight": "#d0d0d0",
    "sender": "#bbbbbb",
    "receiver": "#e4e4e4",
    "border": "#000000",
    "fan_out": "#000000",
    "edge": "#000000",
    "edge_backward": "#000000",
    "edge_active": "#000000",
    "edge_sent": "#333333",
    "edge_waiting": "#999999",
    "delta": "#000000",
    "positive": "#000000",
    "negative": "#666666",
    "input": "#e4e4e4",
    "hidden": "#ffffff",
    "output": "#cccccc",
}

# Okabe and Ito's palette, told apart with every common colour-vision deficiency:
# blue #0072B2, vermillion #D55E00, orange #E69F00, sky blue #56B4E9,
# bluish green #009E73, yellow #F0E442, reddish purple #CC79A7.
_COLOURBLIND_PALETTE = {
    **_DEFAULT_PALETTE,
    "leaf": "#d6ebf7",
    "highlight": "#f7f0a6",
    "sender": "#f5cf80",
    "receiver": "#a9dccd",
    "fan_out": "#cc79a7",
    "edge_backward": "#d55e00",
    "edge_active": "#e69f00",
    "edge_sent": "#d55e00",
    "edge_waiting": "#bbbbbb",
    "delta": "#b34f00",
    "positive": "#0072b2",
    "negative": "#e69f00",
    "output": "#f7f0a6",
}

_DARK_PALETTE = {
    "background": "#1b1f27",
    "text": "#f2f2f2",
    "leaf": "#24364d",
    "op": "#2b2f38",
    "highlight": "#5c5320",
    "sender": "#7a4a1c",
    "receiver": "#245a36",
    "border": "#c8c8c8",
    "fan_out": "#d29bf0",
    "edge": "#b8b8b8",
    "edge_backward": "#ff8a80",
    "edge_active": "#ffb74d",
    "edge_sent": "#ff8a80",
    "edge_waiting": "#5a5f69",
    "delta": "#ff9e94",
    "positive": "#64b5f6",
    "negative": "#ffb74d",
    "input": "#3a3f4a",
    "hidden": "#2b2f38",
    "output": "#5c5320",
}

_FONT_NAME = re.compile(r"[A-Za-z0-9 ._-]{1,64}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Style:
    """The look of a picture.

    Attributes:
        name: the theme it came from (for messages only).
        font: a font family name Graphviz asks the system for (``"Helvetica"``).
        font_size: node text size in points (edge labels are one point smaller).
        line_width: multiplies every line's width (borders, edges, connections).
        palette: a ``#rrggbb`` colour for each role in :data:`ROLES`; roles not given
            keep the default theme's colour.
        dashes: tell roles apart by line style as well as colour (waiting messages and
            negative weights dashed), for print and for readers who cannot tell the
            colours apart.
        math_labels: write names as maths: ``w1`` as w₁, ``x_12`` as x₁₂, ``delta`` as
            δ. Tooltips keep the plain name, for screen readers and search.

    Example:
        >>> Style(font_size=16).edge_font_size
        15.0
    """

    name: str = "custom"
    font: str = "Helvetica"
    font_size: float = 10.0
    line_width: float = 1.0
    palette: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(_DEFAULT_PALETTE))
    dashes: bool = False
    math_labels: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str; got {self.name!r}")
        if not isinstance(self.font, str) or not _FONT_NAME.fullmatch(self.font):
            raise ValueError(
                f"font must be a font family name (letters, digits, space, . _ -); "
                f"got {self.font!r}"
            )
        for knob, low, high in (("font_size", 4.0, 72.0), ("line_width", 0.1, 10.0)):
            value = getattr(self, knob)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{knob} must be a number; got {value!r}")
            if not low <= value <= high:  # also refuses NaN
                raise ValueError(f"{knob} must be from {low:g} to {high:g}; got {value!r}")
            object.__setattr__(self, knob, float(value))
        for knob in ("dashes", "math_labels"):
            if type(getattr(self, knob)) is not bool:
                raise TypeError(f"{knob} must be True or False; got {getattr(self, knob)!r}")
        if not isinstance(self.palette, Mapping):
            raise TypeError(f"palette must be a mapping role -> '#rrggbb'; got {self.palette!r}")
        palette = dict(_DEFAULT_PALETTE)
        for role, colour in self.palette.items():
            if role not in ROLES:
                raise ValueError(f"palette: unknown role {role!r}; roles are {list(ROLES)}")
            if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
                raise ValueError(f"palette[{role!r}] must be '#rrggbb'; got {colour!r}")
            palette[role] = colour.lower()
        object.__setattr__(self, "palette", MappingProxyType(palette))

    @property
    def edge_font_size(self) -> float:
        """Edge label size: one point below the node text."""
        return self.font_size - 1.0

    @property
    def scale(self) -> float:
        """Text size relative to the default 10 pt (label boxes grow with it)."""
        return self.font_size / 10.0

    def width(self, base: float) -> str:
        """A line width ``base`` scaled by :attr:`line_width`, as Graphviz wants it."""
        return f"{base * self.line_width:.3g}"

    def label(self, text: str) -> str:
        """``text`` as shown: as maths when :attr:`math_labels` is on, else unchanged."""
        return math_label(text) if self.math_labels else text

    def replace(self, **knobs: object) -> Style:
        """A copy with some knobs changed; ``palette`` entries are merged, not replaced."""
        _check_knobs(knobs)
        if "palette" in knobs:
            palette = knobs["palette"]
            if not isinstance(palette, Mapping):
                raise TypeError(f"palette must be a mapping role -> '#rrggbb'; got {palette!r}")
            knobs["palette"] = {**self.palette, **palette}
        return replace(self, **knobs)


#: Knobs :func:`set_style`, :func:`use_style` and :meth:`Style.replace` accept.
KNOBS = ("font", "font_size", "line_width", "palette", "dashes", "math_labels")

class Themes(Mapping[str, Style]):
    """The named themes, read-only: ``THEMES["dark"]``, ``list(THEMES)``.

    ``default``; ``print`` (black, white and greys, with dashes); ``colourblind``
    (Okabe and Ito's palette); ``dark`` (light lines and text on a dark slide);
    ``projector`` (16 pt text, lines twice as thick).
    """

    def __init__(self, *styles: Style) -> None:
        self._styles = {style.name: style for style in styles}

    def __getitem__(self, name: str) -> Style:
        return self._styles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._styles)

    def __len__(self) -> int:
        return len(self._styles)

    def __repr__(self) -> str:
        return f"Themes({list(self._styles)})"


#: The named themes.
THEMES = Themes(
    Style(name="default"),
    Style(name="print", palette=_PRINT_PALETTE, dashes=True),
    Style(name="colourblind", palette=_COLOURBLIND_PALETTE),
    Style(name="dark", palette=_DARK_PALETTE),
    Style(name="projector", font_size=16.0, line_width=2.0),
)


def _check_knobs(knobs: Mapping[str, object]) -> None:
    unknown = sorted(set(knobs) - set(KNOBS))
    if unknown:
        raise TypeError(f"unknown style knob(s) {unknown}; knobs are {list(KNOBS)}")


def resolve_style(style: str | Style | None = None, **knobs: object) -> Style:
    """The style a picture uses: a theme name, a :class:`Style`, or ``None`` (the current
    one, see :func:`set_style`), with ``knobs`` changed.

    Raises:
        ValueError: an unknown theme name (the message lists the themes).
        TypeError: ``style`` is of another type, or a knob is unknown.
    """
    if style is None:
        base = get_style()
    elif isinstance(style, Style):
        base = style
    elif isinstance(style, str):
        if style not in THEMES:
            raise ValueError(f"unknown theme {style!r}; themes are {list(THEMES)}")
        base = THEMES[style]
    else:
        raise TypeError(
            f"style must be a theme name, a viz.Style or None; got {style!r}"
        )
    return base.replace(**knobs) if knobs else base


# The style set for the whole session, and one set for a `with use_style(...)` block
# (per thread and per task, so a block never changes another thread's pictures).
_session_style = THEMES["default"]
_session_lock = threading.Lock()
_block_style: contextvars.ContextVar[Style | None] = contextvars.ContextVar(
    "viz_block_style", default=None
)


def get_style() -> Style:
    """The style pictures use when they are given none."""
    block = _block_style.get()
    return block if block is not None else _session_style


def set_style(style: str | Style | None = "default", **knobs: object) -> Style:
    """Set the style of every later picture (a notebook's or a talk's); return it.

    Example:
        >>> set_style("projector", math_labels=True).font_size
        16.0
        >>> _ = set_style("default")
    """
    global _session_style
    chosen = resolve_style("default" if style is None else style, **knobs)
    with _session_lock:
        _session_style = chosen
    return chosen


@contextmanager
def use_style(style: str | Style | None = None, **knobs: object) -> Iterator[Style]:
    """Use a style for the pictures drawn inside a ``with`` block.

    Example:
        >>> with use_style("dark") as dark:
        ...     get_style() is dark
        True
    """
    chosen = resolve_style(style, **knobs)
    token = _block_style.set(chosen)
    try:
        yield chosen
    finally:
        _block_style.reset(token)


# ---------------------------------------------------------------------------
# Names as maths.

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_SUBSCRIPT = str.maketrans(
    "0123456789aehijklmnoprstuvx",
    "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ",
)
_SUBSCRIPTABLE = frozenset("0123456789aehijklmnoprstuvx")
# A name: a base (letters), then digits, or "_" and a subscript (the whole rest).
_NAME = re.compile(r"([A-Za-z]+)(?:(\d+)|_([A-Za-z0-9]+))?")
_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]+(?:\d+|_[A-Za-z0-9]+)?(?![A-Za-z0-9_])")


def math_label(text: str) -> str:
    """Write the names in ``text`` as maths: Greek letters and subscripts.

    ``w1`` -> w₁, ``x_12`` -> x₁₂, ``delta`` -> δ, ``delta_o`` -> δₒ, ``W_ij`` -> Wᵢⱼ;
    a subscript Unicode cannot write (``x_q``) is left as typed, and so is every other
    character.

    Example:
        >>> math_label("w1"), math_label("delta_o"), math_label("x_12 + b"), math_label("x_q")
        ('w₁', 'δₒ', 'x₁₂ + b', 'x_q')
    """
    if not isinstance(text, str):
        raise TypeError(f"math_label takes a str; got {text!r}")
    return _WORD.sub(_math_word, text)


def _math_word(match: re.Match[str]) -> str:
    word = match.group(0)
    parts = _NAME.fullmatch(word)
    if parts is None:  # pragma: no cover - _WORD matches only what _NAME does
        return word
    base, digits, sub = parts.groups()
    base = _GREEK.get(base, base)
    if digits is not None:
        return base + digits.translate(_SUBSCRIPT)
    if sub is not None:
        if set(sub) <= _SUBSCRIPTABLE:
            return base + sub.translate(_SUBSCRIPT)
        return base + "_" + sub
    return base
