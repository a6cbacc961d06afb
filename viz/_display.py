"""How a drawn graph shows itself in a notebook: a ``graphviz.Digraph`` that displays as
scaled, zoomable inline SVG (with hover tooltips), and an image where scripts are stripped."""

from __future__ import annotations

import re

import graphviz

from ._page import picture_fragment, warn_if_large

__all__ = ["GraphPicture"]

# Body lines of a Digraph: "\tn0 [label=...]" is a node, "\tn0 -> n1 [...]" an edge.
_EDGE = re.compile(r"\t\S+ -> \S+(?: \[|$)")
_NODE = re.compile(r"\t(?!(?:graph|node|edge) \[)\S+(?: \[|$)")


class GraphPicture(graphviz.Digraph):
    """A ``graphviz.Digraph`` (use it as one: ``.source``, ``.pipe()``, ``.render()``)
    that a notebook shows as SVG fitted to the output's width, with a zoom toggle and
    the nodes' tooltips.

    Example:
        >>> picture = GraphPicture("g")
        >>> picture.node("a")
        >>> isinstance(picture, graphviz.Digraph), repr(picture)
        (True, '<GraphPicture g: 1 nodes, 0 edges>')
    """

    def __repr__(self) -> str:
        nodes = sum(1 for line in self.body if _NODE.match(line))
        edges = sum(1 for line in self.body if _EDGE.match(line))
        return f"<GraphPicture {self.name}: {nodes} nodes, {edges} edges>"

    def _repr_html_(self) -> str:
        from .export import render  # a pinned frame is drawn at its positions (neato -n2)

        svg = render(self, "svg").decode("utf-8")
        html = picture_fragment(svg, f"computation graph {self.name}")
        return warn_if_large(html, repr(self))

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict[str, str]:
        """HTML (chosen by JupyterLab, VS Code and Colab) and a text fallback."""
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}
