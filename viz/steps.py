"""Step through the backward pass one message at a time.

Frame 0 is the start (delta = 1 at the output); frame k shows message k of the
engine's :func:`autograd_core.backward_steps`: the sender and receiver are filled,
the edge is drawn thick, and the caption spells out the chain rule, the message
``delta(sender) x local derivative`` and the receiver's running sum. The layout is
computed once; all frames are rendered from it in a single Graphviz run, so they do
not jump and rendering stays fast.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

from autograd_core import Value, backward_steps, topological_order

from ._render import atomic_write, format_number, run_graphviz
from .graph import (
    MAX_NODES,
    DrawOptions,
    FrameState,
    GraphView,
    build_view,
    compute_layout,
    layout_digraph,
    validate_options,
    view_sizes,
)

__all__ = ["StepThrough", "step_through", "MAX_MESSAGES"]

#: Most messages (frames - 1) a step-through renders; more would not be stepped through.
MAX_MESSAGES = 400


# Characters that must not appear raw inside an inline <script>: "<" and ">" ("</script",
# "<!--" and "<script" change how the HTML parser reads the element), "&" (for pages read
# as XHTML) and U+2028/2029 (line terminators to older JavaScript parsers). JSON leaves
# them only inside strings, where the \\uXXXX escape means the same character.
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                   "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _script_literal(value: object) -> str:
    """``value`` as JSON that is safe to place inside an inline ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False)
    return "".join(_SCRIPT_ESCAPES.get(character, character) for character in text)


class StepThrough:
    """The backward pass of ``root`` as frames: the start plus one per message.

    Args:
        root: the output node (its delta is 1).
        precision: digits after the decimal point.
        direction: ``"LR"`` or ``"TB"`` (as in :func:`viz.draw_graph`).

    Attributes:
        messages: the engine's messages, in sending order.
        captions: one caption per frame (``len(messages) + 1``).
        names: the display name of each node key (label, else ``n<i>``).

    Example:
        >>> x = Value(2.0, "x")
        >>> steps = StepThrough(x * x)
        >>> len(steps), steps.captions[0]
        (3, 'Start: δ(n1) = 1 at the output n1 (*); 2 messages to send.')
    """

    def __init__(self, root: Value, *, precision: int = 4, direction: str = "LR") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"StepThrough takes the root Value; got {root!r}")
        validate_options(precision=precision, direction=direction, show_values=True)
        self.root = root
        self.options = DrawOptions(precision, direction, True, ())
        # Counted before the view is built, so a huge graph is refused in about a second.
        count = len(topological_order(root))
        if count > MAX_NODES:
            raise ValueError(
                f"the graph has {count} nodes, more than {MAX_NODES}; "
                "step through a smaller graph (one neuron, or a small example)"
            )
        self.view: GraphView = build_view(root)
        self.messages = list(backward_steps(root))
        if len(self.messages) > MAX_MESSAGES:
            raise ValueError(
                f"the backward pass sends {len(self.messages)} messages, more than "
                f"{MAX_MESSAGES}; step through a smaller graph"
            )
        self.names = {node.key: node.name for node in self.view.nodes}
        self._states = self._frame_states()
        self.captions = self._captions()
        self._frames: list[str] | None = None

    # -- frames ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.messages) + 1

    def _key(self, node: Value) -> str:
        return self.view.key_of[node]

    def _frame_states(self) -> list[FrameState]:
        deltas: dict[str, float | None] = {self._key(self.root): 1.0}
        sent: dict[str, float] = {}
        states = [FrameState(dict(deltas), dict(sent), sender=self._key(self.root))]
        for message in self.messages:
            sender, receiver = self._key(message.sender), self._key(message.receiver)
            edge = self.view.edge_key_of[(sender, message.parent_index)]
            deltas[receiver] = message.receiver_delta
            sent[edge] = message.contribution
            states.append(FrameState(dict(deltas), dict(sent), sender, receiver, edge))
        return states

    def _captions(self) -> list[str]:
        fmt = self._fmt
        root_key = self._key(self.root)
        root_symbol = next(n.symbol for n in self.view.nodes if n.key == root_key)
        count = len(self.messages)
        plural = "message" if count == 1 else "messages"
        captions = [
            f"Start: δ({self.names[root_key]}) = 1 at the output "
            f"{self.names[root_key]} ({root_symbol}); {count} {plural} to send."
        ]
        received: dict[str, list[float]] = {}
        for index, message in enumerate(self.messages, start=1):
            sender = self.names[self._key(message.sender)]
            receiver = self.names[self._key(message.receiver)]
            terms = received.setdefault(receiver, [])
            terms.append(message.contribution)
            running = " + ".join(fmt(t) for t in terms)
            if len(terms) > 1:
                running += f" = {fmt(message.receiver_delta)}"
            captions.append(
                f"Message {index} of {count}: {sender} → {receiver}. "
                f"δ({sender}) × ∂{sender}/∂{receiver} = {fmt(message.sender_delta)} × "
                f"{fmt(message.local_grad)} = {fmt(message.contribution)}. "
                f"Running sum δ({receiver}) = {running}."
            )
        return captions

    def _fmt(self, x: float) -> str:
        return format_number(x, self.options.precision)

    @property
    def frames(self) -> list[str]:
        """The frames as SVG strings (rendered once, on first use)."""
        if self._frames is None:
            self._frames = self._render()
        return list(self._frames)

    def _render(self) -> list[str]:
        options = self.options
        extra: dict[str, list[str]] = {}
        for state in self._states:
            for key, delta in state.deltas.items():
                if delta is not None:
                    extra.setdefault(key, []).append(f"δ {self._fmt(delta)}  Σ00")
        sizes = view_sizes(self.view, options, extra_node_text=extra)
        first = layout_digraph(
            self.view, mode="backward", options=options, sizes=sizes, frame=self._states[0]
        )
        try:
            pinned = compute_layout(first)
            sources = [
                layout_digraph(
                    self.view, mode="backward", options=options, sizes=sizes, frame=state,
                    pinned=pinned,
                ).source
                for state in self._states
            ]
            output = run_graphviz(
                "\n".join(sources), "svg", engine="neato", extra_args=("-n2",)
            ).decode("utf-8")
        except RuntimeError:
            # A Graphviz without JSON output or neato: lay every frame out with dot.
            # The fixed-size labels still give every frame the same layout.
            sources = [
                layout_digraph(
                    self.view, mode="backward", options=options, sizes=sizes, frame=state
                ).source
                for state in self._states
            ]
            output = run_graphviz("\n".join(sources), "svg").decode("utf-8")
        frames = ["<?xml" + part for part in output.split("<?xml")[1:]]
        if len(frames) != len(sources):
            raise RuntimeError(
                f"Graphviz returned {len(frames)} frames for {len(sources)} graphs"
            )
        return frames

    # -- HTML ------------------------------------------------------------------

    def to_html(self, *, standalone: bool = True) -> str:
        """The step-through as HTML: a whole page, or a fragment for Jupyter.

        The page is self-contained (inline SVG, CSS and script; no network access):
        Previous / Next buttons, a slider, the arrow keys and a caption.
        """
        frames = self.frames
        digest = hashlib.sha1("\n".join(self.captions).encode("utf-8")).hexdigest()[:10]
        container = f"bpl-steps-{digest}"
        blocks = []
        for index, svg in enumerate(frames):
            inline = _inline_svg(svg, f"{container}-f{index}-")
            hidden = "" if index == 0 else " hidden"
            blocks.append(
                f'<div class="bpl-frame" data-frame="{index}"{hidden}>{inline}</div>'
            )
        captions = _script_literal(self.captions)
        last = len(frames) - 1
        fragment = f"""<div class="bpl-steps" id="{container}" tabindex="0">
<style>
#{container} {{ font-family: Helvetica, Arial, sans-serif; outline: none; }}
#{container} .bpl-controls {{ display: flex; gap: 0.6em; align-items: center; margin: 0.4em 0; }}
#{container} .bpl-slider {{ flex: 1; max-width: 28em; }}
#{container} .bpl-caption {{ min-height: 2.6em; padding: 0.4em 0.6em; background: #f6f6f0;
  border-left: 4px solid #e06000; font-size: 0.95em; }}
#{container} .bpl-frame svg {{ max-width: 100%; height: auto; }}
</style>
<div class="bpl-controls">
<button type="button" class="bpl-prev" aria-label="previous step">&#9664; Previous</button>
<input type="range" class="bpl-slider" min="0" max="{last}" value="0" step="1"
 aria-label="step">
<button type="button" class="bpl-next" aria-label="next step">Next &#9654;</button>
<span class="bpl-counter">0 / {last}</span>
</div>
<div class="bpl-caption" aria-live="polite">{html.escape(self.captions[0])}</div>
<div class="bpl-frames">
{chr(10).join(blocks)}
</div>
<script>
(function () {{
  var root = document.getElementById({_script_literal(container)});
  var captions = {captions};
  var frames = root.querySelectorAll(".bpl-frame");
  var slider = root.querySelector(".bpl-slider");
  var caption = root.querySelector(".bpl-caption");
  var counter = root.querySelector(".bpl-counter");
  var current = 0;
  function show(index) {{
    index = Math.max(0, Math.min(frames.length - 1, index));
    frames[current].hidden = true;
    frames[index].hidden = false;
    current = index;
    slider.value = String(index);
    caption.textContent = captions[index];
    counter.textContent = index + " / " + (frames.length - 1);
    root.setAttribute("data-current", String(index));
  }}
  root.querySelector(".bpl-prev").addEventListener("click", function () {{ show(current - 1); }});
  root.querySelector(".bpl-next").addEventListener("click", function () {{ show(current + 1); }});
  slider.addEventListener("input", function () {{ show(parseInt(slider.value, 10)); }});
  var keyTarget = {"document" if standalone else "root"};
  keyTarget.addEventListener("keydown", function (event) {{
    if (event.target === slider) {{ return; }}
    if (event.key === "ArrowRight") {{ show(current + 1); event.preventDefault(); }}
    if (event.key === "ArrowLeft") {{ show(current - 1); event.preventDefault(); }}
  }});
  show(0);
}})();
</script>
</div>"""
        if not standalone:
            return fragment
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backward pass, step by step</title>
</head>
<body>
<h1 style="font-family: Helvetica, Arial, sans-serif; font-size: 1.2em">
Backward pass, message by message</h1>
{fragment}
</body>
</html>
"""

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write the self-contained page to ``path`` (atomically); return the path."""
        return atomic_write(path, self.to_html(standalone=True))

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)


def step_through(root: Value, **options) -> StepThrough:
    """Shorthand for :class:`StepThrough` (``step_through(loss).save_html("steps.html")``)."""
    return StepThrough(root, **options)


_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


def _inline_svg(svg: str, id_prefix: str) -> str:
    """An SVG document as an inline element: no XML prologue, ids unique on the page."""
    body = _PROLOGUE.sub("", svg, count=1)
    return body.replace(' id="', f' id="{id_prefix}')
