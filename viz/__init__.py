"""viz: pictures of computation graphs, backward passes, networks and training."""

from .graph import GraphStats, draw_graph, graph_stats, to_svg

__all__ = ["draw_graph", "to_svg", "graph_stats", "GraphStats"]
