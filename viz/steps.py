"""Step through the backward (or forward) pass one message at a time.

Frame 0 is the start (delta = 1 at the output); frame k shows message k of the
engine's :func:`autograd_core.backward_steps`: the sender and receiver are filled,
the edge is drawn thick, and the caption spells out the chain rule, the message
``delta(sender) x local derivative`` and the receiver's running sum.

The graph is laid out and drawn once. A frame is a small record (which nodes and
edge to highlight, which number to reveal, the caption) that the page's script
applies to that one picture, so a page grows with the graph, not with the graph
times the number of frames: the 711-node loss of an MLP(2, [16, 16, 1]) on one
sample, 980 messages, makes a page of about 2 MB. :meth:`StepThrough.frame_digraph`
draws any frame as a whole picture on the same layout (for slides and print).

Limits: the layout is one run of Graphviz's ``dot``, stopped after
``layout_timeout`` seconds (:data:`LAYOUT_TIMEOUT` by default); graphs of more than
:data:`MAX_STEP_NODES` nodes are refused without trying (``dot`` needs minutes).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

import graphviz

from autograd_core import Value, backward_steps, topological_order

from ._page import page_document, page_fragment, warn_if_large
from ._render import atomic_write, format_number, run_graphviz
from .collapse import _consumers, _find_neurons, _hidden_parameters, _kinds
from .frames import FrameState, compute_layout
from .graph import (
    COLLAPSE_MODES,
    DrawOptions,
    _delta_text,
    build_view,
    layout_digraph,
    validate_options,
    view_sizes,
)
from .view import GraphView, symbol_of

__all__ = [
    "StepThrough",
    "step_through",
    "LAYOUT_TIMEOUT",
    "MAX_STEP_NODES",
    "STEP_MODES",
    "MAX_MESSAGES",
]

#: Seconds the one layout of a step-through may take (``dot`` lays out the 711-node
#: MLP loss in about a second on one core); past it the step-through stops and says so.
LAYOUT_TIMEOUT = 30.0
#: Graphs with more nodes are refused at once: their layout would take minutes.
MAX_STEP_NODES = 5_000
#: Kept for compatibility: a step-through no longer limits the number of messages.
MAX_MESSAGES = None
#: What a step-through steps through: messages backward, or values forward.
STEP_MODES = ("backward", "forward")


@dataclass(frozen=True)
class _Frame:
    """One frame: what to highlight, which number to reveal, what to say and ask."""

    caption: str
    sender: str | None = None
    receiver: str | None = None
    active: tuple[str, ...] = ()
    node: str | None = None
    node_value: float | None = None
    edge: str | None = None
    edge_value: float | None = None
    answer: float | None = None
    question: str = ""


class StepThrough:
    """The backward (or forward) pass of ``root`` as frames on one picture.

    Args:
        root: the output node (its delta is 1).
        precision: digits after the decimal point.
        direction: ``"LR"`` or ``"TB"`` (as in :func:`viz.draw_graph`).
        mode: ``"backward"`` (a frame per message) or ``"forward"`` (a frame per
            computed node, in topological order).
        collapse: ``None`` or ``"neurons"``: draw each neuron as one node, with a frame
            per message between drawn nodes and one per neuron for what it sends to its
            own weights and bias (backward only).
        focus: a Value of the graph (a parameter): draw only the paths from the output
            to it and the messages along them, i.e. how its gradient is assembled.
        quiz: hide each message's value until the student types it; the page checks the
            answer (within ``tolerance``), shows the derivation and keeps a score.
        tolerance: relative tolerance of a quiz answer (an answer within half a unit
            of the last shown digit is also accepted).
        layout_timeout: seconds the layout may take before the step-through gives up.

    Attributes:
        messages: the engine's messages, in sending order.
        captions: one caption per frame.
        names: the display name of each node key (label, else ``n<i>``).

    Example:
        >>> x = Value(2.0, "x")
        >>> steps = StepThrough(x * x)
        >>> len(steps), steps.captions[0]
        (3, 'Start: δ(n1) = 1 at the output n1 (*); 2 messages to send.')
        >>> steps
        StepThrough(2 messages from n1)
    """

    def __init__(
        self,
        root: Value,
        *,
        precision: int = 4,
        direction: str = "LR",
        mode: str = "backward",
        collapse: str | None = None,
        focus: Value | None = None,
        quiz: bool = False,
        tolerance: float = 0.01,
        layout_timeout: float = LAYOUT_TIMEOUT,
    ) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"StepThrough takes the root Value; got {root!r}")
        validate_options(precision=precision, direction=direction, show_values=True)
        _check_choices(mode, collapse, focus, quiz, tolerance, layout_timeout)
        self.root = root
        self.mode = mode
        self.quiz = quiz
        self.tolerance = float(tolerance)
        self.layout_timeout = float(layout_timeout)
        self.options = DrawOptions(precision, direction, True, ())
        # Counted before the view is built, so a huge graph is refused in about a second.
        order = topological_order(root)
        if len(order) > MAX_STEP_NODES:
            raise ValueError(
                f"the graph has {len(order)} nodes, more than {MAX_STEP_NODES}; laying it "
                "out would take minutes: step through a smaller graph, or pass "
                "collapse='neurons' or focus=<a parameter>"
            )
        if focus is not None and focus not in set(order):
            raise ValueError(f"focus: {focus!r} is not in the graph below the root")
        self.view: GraphView = build_view(root, collapse=collapse)
        self.messages = list(backward_steps(root))
        self.names = {node.key: node.name for node in self.view.nodes}
        self._nodes = {node.key: node for node in self.view.nodes}
        self._root_key = self.view.key_of[root]
        if focus is not None:
            self._focus(order, focus)
        self._explain: dict[str, list[list]] = {}
        if mode == "forward":
            self._frames = self._forward_frames(order)
        elif collapse == "neurons":
            self._frames = self._neuron_frames(order)
        else:
            self._frames = self._backward_frames(focus)
        self.captions = [frame.caption for frame in self._frames]
        self._sizes = view_sizes(self.view, self.options, extra_node_text=self._extra_texts())
        self._svg: str | None = None
        self._pinned: dict | None = None
        self._rendered: list[str] | None = None

    # -- frames ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._frames)

    def __repr__(self) -> str:
        count = len(self._frames) - 1
        name = self.names[self._root_key]
        if self.mode == "forward":
            return f"StepThrough(forward, {count} steps to {name})"
        plural = "message" if count == 1 else "messages"
        return f"StepThrough({count} {plural} from {name})"

    def _fmt(self, x: float) -> str:
        return format_number(x, self.options.precision)

    def _focus(self, order: list[Value], focus: Value) -> None:
        """Keep the nodes on a path from the root down to ``focus`` (and their edges)."""
        consumers = _consumers(order)
        keep = {focus: None}
        stack = [focus]
        while stack:
            for user in consumers[stack.pop()]:
                if user not in keep:
                    keep[user] = None
                    stack.append(user)
        keys = {self.view.key_of[node] for node in keep}
        self.view = dataclasses.replace(
            self.view,
            nodes=[n for n in self.view.nodes if n.key in keys],
            edges=[e for e in self.view.edges if e.tail in keys and e.head in keys],
        )
        self._focus_keys = keys
        self._focus_name = self.names[self.view.key_of[focus]]

    def _start_caption(self, count: int) -> str:
        name = self.names[self._root_key]
        plural = "message" if count == 1 else "messages"
        text = (
            f"Start: δ({name}) = 1 at the output {name} ({self._nodes[self._root_key].symbol}); "
            f"{count} {plural} to send."
        )
        if hasattr(self, "_focus_keys"):
            text += f" Only the paths from {name} to {self._focus_name} are drawn."
        return text

    def _message_frame(
        self, index: int, count: int, message, sender: str, receiver: str, edge: str | None,
        terms: dict[str, list[float]], via: str,
    ) -> _Frame:
        fmt = self._fmt
        s_name, r_name = self.names[sender], self.names[receiver]
        running_terms = terms.setdefault(receiver, [])
        running_terms.append(message.contribution)
        running = " + ".join(fmt(t) for t in running_terms)
        if len(running_terms) > 1:
            running += f" = {fmt(message.receiver_delta)}"
        caption = (
            f"Message {index} of {count}: {s_name} → {r_name}. "
            f"{via} = {fmt(message.sender_delta)} × "
            f"{fmt(message.local_grad)} = {fmt(message.contribution)}. "
            f"Running sum δ({r_name}) = {running}."
        )
        question = (
            f"Message {index} of {count}: {s_name} → {r_name}. {via} with "
            f"δ({s_name}) = {fmt(message.sender_delta)} and local derivative "
            f"{fmt(message.local_grad)}: what message does {s_name} send?"
        )
        self._explain.setdefault(receiver, []).append([
            index, via, f"{fmt(message.sender_delta)}×{fmt(message.local_grad)}",
            fmt(message.receiver_delta),
        ])
        return _Frame(
            caption, sender, receiver, (edge,) if edge else (), receiver,
            message.receiver_delta, edge, message.contribution, message.contribution, question,
        )

    def _backward_frames(self, focus: Value | None) -> list[_Frame]:
        key_of = self.view.key_of
        keys = getattr(self, "_focus_keys", None)
        chosen = [
            m for m in self.messages
            if keys is None or (key_of[m.sender] in keys and key_of[m.receiver] in keys)
        ]
        frames = [_Frame(self._start_caption(len(chosen)), sender=self._root_key)]
        terms: dict[str, list[float]] = {}
        for index, message in enumerate(chosen, start=1):
            sender, receiver = key_of[message.sender], key_of[message.receiver]
            edge = self.view.edge_key_of[(sender, message.parent_index)]
            s_name, r_name = self.names[sender], self.names[receiver]
            via = f"δ({s_name}) × ∂{s_name}/∂{r_name}"
            frames.append(self._message_frame(
                index, len(chosen), message, sender, receiver, edge, terms, via
            ))
        return frames

    def _neuron_frames(self, order: list[Value]) -> list[_Frame]:
        """A frame per message between drawn nodes, and one per neuron for its weights."""
        uses = {node: 0 for node in order}
        for node in order:
            for parent in node.parents:
                uses[parent] += 1
        kinds = _kinds()
        neuron_of = _find_neurons(order, uses, kinds)
        hidden = _hidden_parameters(order, neuron_of)
        key_of = self.view.key_of

        def group(node: Value) -> str | None:
            return None if node in hidden else key_of[neuron_of.get(node, node)]

        pair_key = {
            (e.tail, e.head): e.key for e in self.view.edges if e.local_grad is None
        }
        crossing = []
        inside: dict[str, list] = {}
        sequence: list[tuple[str, object]] = []
        for message in self.messages:
            source, target = group(message.sender), group(message.receiver)
            if source is None:
                continue  # among parameters that are not drawn (a penalty's terms)
            if target is not None and target != source:
                crossing.append(message)
                sequence.append(("cross", message))
            else:
                if source not in inside:
                    sequence.append(("inside", source))
                inside.setdefault(source, []).append(message)
        count = len(sequence)
        frames = [_Frame(self._start_caption(count), sender=self._root_key)]
        frames[0] = dataclasses.replace(
            frames[0], caption=frames[0].caption.replace("messages to send", "neuron-level steps")
            .replace("message to send", "neuron-level step")
        )
        terms: dict[str, list[float]] = {}
        for index, (kind, item) in enumerate(sequence, start=1):
            if kind == "cross":
                message = item
                source, target = group(message.sender), group(message.receiver)
                if key_of[message.sender] == source:
                    edge = self.view.edge_key_of.get((source, message.parent_index))
                    via = f"δ({self.names[source]}) × ∂{self.names[source]}/∂{self.names[target]}"
                else:
                    edge = pair_key.get((target, source))
                    via = f"δ(Σ of {self.names[source]}) × its weight"
                frames.append(self._message_frame(
                    index, count, message, source, target, edge, terms, via
                ))
            else:
                frames.append(
                    self._inside_frame(index, count, item, inside[item], hidden, kinds.sums)
                )
        return frames

    def _inside_frame(self, index: int, count: int, key: str, messages: list,
                      hidden: dict, sum_ops) -> _Frame:
        fmt = self._fmt
        name = self.names[key]
        at_sum = next((m for m in messages if m.receiver.op in sum_ops), None)
        delta_sum = at_sum.receiver_delta if at_sum is not None else messages[0].sender_delta
        to_params = [m for m in messages if m.receiver in hidden or not m.receiver.parents]
        listed = ", ".join(fmt(m.contribution) for m in to_params[:8])
        more = f", ... ({len(to_params)} in all)" if len(to_params) > 8 else ""
        caption = (
            f"Step {index} of {count}: inside neuron {name}, δ at its weighted sum = "
            f"{fmt(delta_sum)}; it sends δ × input to each weight and δ to its bias: "
            f"{listed}{more}."
        )
        if at_sum is not None and at_sum.sender is not at_sum.receiver and at_sum.sender.op:
            question = (
                f"Step {index} of {count}: inside neuron {name}, δ({name}) = "
                f"{fmt(at_sum.sender_delta)} and its activation's derivative is "
                f"{fmt(at_sum.local_grad)}: what is δ at its weighted sum?"
            )
        else:
            question = f"Step {index} of {count}: what is δ at neuron {name}'s weighted sum?"
        return _Frame(caption, sender=key, answer=delta_sum, question=question)

    def _forward_frames(self, order: list[Value]) -> list[_Frame]:
        fmt = self._fmt
        key_of = self.view.key_of
        computed = [node for node in order if node.parents]
        count = len(computed)
        inputs = len(order) - count
        frames = [_Frame(
            f"Start: the {inputs} inputs, parameters and constants are known; {count} nodes "
            "to compute in topological order (every node after its inputs)."
        )]
        for node in order:
            if not node.parents:
                name = self.names[key_of[node]]
                self._explain[key_of[node]] = [
                    [0, f"{name} = {fmt(node.data)}: an input, a parameter or a constant."]
                ]
        for index, node in enumerate(computed, start=1):
            key = key_of[node]
            name = self.names[key]
            symbol = symbol_of(node)
            parents = [self.names[key_of[p]] for p in node.parents]
            values = [fmt(p.data) for p in node.parents]
            if len(parents) == 2 and symbol in ("+", "-", "*", "/"):
                formula = f"{parents[0]} {symbol} {parents[1]} = {values[0]} {symbol} {values[1]}"
            else:
                formula = f"{symbol}({', '.join(parents)}) = {symbol}({', '.join(values)})"
            caption = f"Step {index} of {count}: {name} = {formula} = {fmt(node.data)}."
            question = (
                f"Step {index} of {count}: {name} = "
                f"{formula.split(' = ')[0]} with "
                + ", ".join(f"{p} = {v}" for p, v in zip(parents, values))
                + f": what is {name}?"
            )
            edges = tuple(
                self.view.edge_key_of[(key, i)] for i in range(len(node.parents))
                if (key, i) in self.view.edge_key_of
            )
            self._explain[key] = [[index, caption]]
            frames.append(_Frame(
                caption, receiver=key, active=edges, node=key, node_value=node.data,
                answer=node.data, question=question,
            ))
        return frames

    # -- texts and pictures ----------------------------------------------------------

    def _node_text(self, key: str, value: float | None) -> str:
        node = self._nodes[key]
        if self.mode == "forward":
            return "data ?" if value is None else f"data {self._fmt(value)}"
        return _delta_text(node, value, self.options)

    def _edge_text(self, value: float | None) -> str:
        return "msg ?" if value is None else f"msg {self._fmt(value)}"

    def _extra_texts(self) -> dict[str, list[str]]:
        extra: dict[str, list[str]] = {}
        for frame in self._frames:
            if frame.node is not None:
                extra.setdefault(frame.node, []).append(
                    self._node_text(frame.node, frame.node_value)
                )
        return extra

    def _state(self, k: int) -> tuple[dict[str, float | None], dict[str, float]]:
        """Node numbers and sent messages after frame ``k``."""
        shown: dict[str, float | None] = {}
        if self.mode == "backward":
            shown[self._root_key] = 1.0
        else:
            shown = {n.key: n.value for n in self.view.nodes if n.is_leaf}
        sent: dict[str, float] = {}
        for frame in self._frames[1: k + 1]:
            if frame.node is not None:
                shown[frame.node] = frame.node_value
            if frame.edge is not None:
                sent[frame.edge] = frame.edge_value
        return shown, sent

    def _digraph(self, k: int | None, pinned: dict | None) -> graphviz.Digraph:
        """Frame ``k`` drawn fully; ``None`` draws the page's neutral base picture."""
        shown, sent = self._state(0 if k is None else k)
        frame = self._frames[0 if k is None else k]
        if self.mode == "forward":
            view = dataclasses.replace(self.view, nodes=[
                n if n.key in shown else dataclasses.replace(n, value=math.nan)
                for n in self.view.nodes
            ])
            highlight = (frame.node,) if k is not None and frame.node else ()
            options = dataclasses.replace(self.options, highlight=highlight)
            digraph = layout_digraph(
                view, mode="forward", options=options, sizes=self._sizes, pinned=pinned
            )
            digraph.body[:] = [line.replace(">data nan<", ">data ?<") for line in digraph.body]
        else:
            state = FrameState(shown, sent)
            if k is not None:
                state = FrameState(
                    shown, sent, frame.sender, frame.receiver,
                    frame.active[0] if frame.active else None,
                )
            digraph = layout_digraph(
                self.view, mode="backward", options=self.options, sizes=self._sizes,
                frame=state, pinned=pinned,
            )
        if pinned:
            digraph.engine = "neato"
        return digraph

    def _layout(self) -> dict | None:
        if self._pinned is None:
            try:
                self._pinned = compute_layout(self._digraph(None, None))
            except RuntimeError:
                self._pinned = {}
        return self._pinned or None

    def frame_digraph(self, k: int) -> graphviz.Digraph:
        """Frame ``k`` as a whole picture, its nodes pinned to the step-through's layout.

        Every frame drawn this way has the same node positions (the page's), so frames
        can be pages of a PDF or slides. Render with :func:`viz.to_svg` or
        ``digraph.pipe(format="svg", neato_no_op=2)`` (the engine is ``neato``, which
        keeps the pinned positions; where Graphviz cannot write its layout as JSON the
        Digraph is a plain ``dot`` one with the same fixed-size labels, hence the same
        layout).

        Raises:
            TypeError: ``k`` is not an int.
            IndexError: ``k`` is not a frame number (``0 <= k < len(self)``).
        """
        if type(k) is not int:
            raise TypeError(f"frame_digraph takes a frame number (int); got {k!r}")
        if not 0 <= k < len(self._frames):
            raise IndexError(f"frame {k!r} does not exist; frames are 0 to {len(self) - 1}")
        return self._digraph(k, self._layout())

    @property
    def frames(self) -> list[str]:
        """Every frame as a whole SVG (one Graphviz run; for slides and tests).

        The page does not need these: it draws one picture and applies each frame to it.
        """
        if self._rendered is None:
            pinned = self._layout()
            sources = [self._digraph(k, pinned).source for k in range(len(self._frames))]
            if pinned:
                output = run_graphviz(
                    "\n".join(sources), "svg", engine="neato", extra_args=("-n2",),
                    timeout=self.layout_timeout * 4,
                )
            else:
                output = run_graphviz("\n".join(sources), "svg", timeout=self.layout_timeout * 4)
            parts = ["<?xml" + part for part in output.decode("utf-8").split("<?xml")[1:]]
            if len(parts) != len(sources):
                raise RuntimeError(
                    f"Graphviz returned {len(parts)} frames for {len(sources)} graphs"
                )
            self._rendered = parts
        return list(self._rendered)

    def _picture(self) -> str:
        """The page's one picture: the layout with frame 0's numbers, no highlight."""
        if self._svg is None:
            source = self._digraph(None, None).source
            try:
                svg = run_graphviz(source, "svg", timeout=self.layout_timeout)
            except RuntimeError as error:
                if "took longer" not in str(error):
                    raise
                raise RuntimeError(
                    f"laying out the {len(self.view.nodes)}-node graph took longer than "
                    f"layout_timeout={self.layout_timeout:g} s; pass collapse='neurons' or "
                    "focus=<a parameter>, or a larger layout_timeout"
                ) from None
            self._svg = svg.decode("utf-8")
        return self._svg

    # -- HTML ------------------------------------------------------------------

    def _page_data(self) -> dict:
        nodes = [n.key for n in self.view.nodes]
        edges = [e.key for e in self.view.edges]
        node_index = {k: i for i, k in enumerate(nodes)}
        edge_index = {k: i for i, k in enumerate(edges)}
        shown, _ = self._state(0)
        now_node = {k: self._node_text(k, shown.get(k)) for k in nodes}
        now_edge: dict[str, str] = {k: self._edge_text(None) for k in edges}
        records = []
        for frame in self._frames:
            node, edge = node_index.get(frame.node, -1), edge_index.get(frame.edge, -1)
            node_new = node_old = edge_new = edge_old = ""
            if node >= 0:
                node_old = now_node[frame.node]
                node_new = now_node[frame.node] = self._node_text(frame.node, frame.node_value)
            if edge >= 0:
                edge_old = now_edge[frame.edge]
                edge_new = now_edge[frame.edge] = self._edge_text(frame.edge_value)
            records.append([
                node_index.get(frame.sender, -1), node_index.get(frame.receiver, -1),
                [edge_index[e] for e in frame.active if e in edge_index],
                node, node_new, node_old, edge, edge_new, edge_old, frame.caption,
                _finite(frame.answer) if self.quiz else None, frame.question,
            ])
        return {
            "nodes": nodes,
            "edges": edges,
            "names": [self.names[k] for k in nodes],
            "uses": [self._nodes[k].fan_out for k in nodes],
            "rootIndex": node_index.get(self._root_key, -1),
            "slot": "data" if self.mode == "forward" else "δ",
            "frames": records,
            "explain": {str(node_index[k]): v for k, v in self._explain.items() if k in node_index},
            "quiz": self.quiz,
            "tol": [self.tolerance, 0.5 * 10.0 ** (-self.options.precision)],
            "interval": 700,
        }

    def tolerance_text(self) -> str:
        """How close a quiz answer must be, in words."""
        return (
            f"accepted within {self.tolerance:.2%} of the value or "
            f"±{0.5 * 10.0 ** (-self.options.precision):g}"
        )

    def to_html(self, *, standalone: bool = True) -> str:
        """The step-through as HTML: a whole page, or a fragment for a notebook.

        Self-contained (inline picture, CSS and script; no network access): Previous /
        Next / Play, a slider, the arrow keys, a caption, fit-to-width with a zoom toggle,
        a click on a node explains its number, and in quiz mode an answer box. Where
        scripts do not run, the first frame shows as a picture with a one-line hint.
        Every call gives the fragment a fresh element id, so one step-through can be
        shown several times on a page.
        """
        title = (
            "Forward pass, step by step" if self.mode == "forward"
            else "Backward pass, message by message"
        )
        fragment = page_fragment(
            svg=self._picture(), data=self._page_data(), first_caption=self.captions[0],
            title=title, quiz=self.quiz, tolerance_text=self.tolerance_text(),
            standalone=standalone,
        )
        return fragment if not standalone else page_document(fragment, title)

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write the self-contained page to ``path`` (atomically); return the path."""
        return atomic_write(path, self.to_html(standalone=True))

    def _repr_html_(self) -> str:
        return warn_if_large(self.to_html(standalone=False), repr(self))


def step_through(root: Value, **options) -> StepThrough:
    """Shorthand for :class:`StepThrough` (``step_through(loss).save_html("steps.html")``)."""
    return StepThrough(root, **options)


def _finite(x: float | None) -> float | str | None:
    if x is None or math.isfinite(x):
        return x
    return None


def _check_choices(mode, collapse, focus, quiz, tolerance, layout_timeout) -> None:
    if mode not in STEP_MODES:
        raise ValueError(f"mode must be one of {list(STEP_MODES)}; got {mode!r}")
    if collapse not in COLLAPSE_MODES:
        raise ValueError(f"collapse must be one of {list(COLLAPSE_MODES)}; got {collapse!r}")
    if focus is not None and not isinstance(focus, Value):
        raise TypeError(f"focus takes a Value of the graph (a parameter); got {focus!r}")
    if mode == "forward" and (collapse is not None or focus is not None):
        raise ValueError(
            "collapse and focus apply to the backward step-through; "
            f"got mode='forward' with collapse={collapse!r}, focus={focus!r}"
        )
    if collapse is not None and focus is not None:
        raise ValueError(
            f"pass collapse or focus, not both; got collapse={collapse!r} and focus={focus!r}"
        )
    if type(quiz) is not bool:
        raise TypeError(f"quiz must be True or False; got {quiz!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
        0 <= tolerance <= 1
    ):
        raise ValueError(f"tolerance must be a number from 0 to 1; got {tolerance!r}")
    if isinstance(layout_timeout, bool) or not isinstance(layout_timeout, (int, float)) or not (
        0 < layout_timeout <= 3600
    ):
        raise ValueError(f"layout_timeout must be seconds in (0, 3600]; got {layout_timeout!r}")
