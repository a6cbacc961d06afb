"""viz: pictures of computation graphs, backward passes, networks and training.

Build, then render: drawing functions return a ``graphviz.Digraph`` (or an object with
``frames`` / ``save_html``), plots return a matplotlib ``Figure``; writing files is the
caller's choice.
"""

from .export import beamer_snippet, render, save, save_slides
from .formula import Formula, FormulaError, parse_formula
from .graph import GraphStats, draw_graph, graph_stats, to_svg
from .network import draw_network
from .steps import StepThrough, step_through
from .style import THEMES, Style, get_style, math_label, set_style, use_style

# The plots need matplotlib, slow to import; load them on first use so the command
# line and the graph pictures start quickly.
_PLOTS = (
    "plot_decision_boundary",
    "plot_activations",
    "plot_history",
    "plot_weights",
    "decision_grid",
    "predict_classes",
    "model_scores",
)


def __getattr__(name: str):
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'viz' has no attribute {name!r}")

__all__ = [
    "draw_graph",
    "to_svg",
    "graph_stats",
    "GraphStats",
    "StepThrough",
    "step_through",
    "draw_network",
    "save",
    "render",
    "save_slides",
    "beamer_snippet",
    "Style",
    "THEMES",
    "set_style",
    "get_style",
    "use_style",
    "math_label",
    "plot_decision_boundary",
    "plot_activations",
    "plot_history",
    "plot_weights",
    "decision_grid",
    "predict_classes",
    "model_scores",
    "parse_formula",
    "Formula",
    "FormulaError",
]
