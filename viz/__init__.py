"""viz: pictures of computation graphs, backward passes, networks and training.

Build, then render: drawing functions return a ``graphviz.Digraph`` (or an object with
``frames`` / ``save_html``); writing files is the caller's choice.
"""

from .formula import Formula, FormulaError, parse_formula
from .graph import GraphStats, draw_graph, graph_stats, to_svg
from .steps import StepThrough, step_through

__all__ = [
    "draw_graph",
    "to_svg",
    "graph_stats",
    "GraphStats",
    "StepThrough",
    "step_through",
    "parse_formula",
    "Formula",
    "FormulaError",
]
