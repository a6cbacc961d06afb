"""Step-through helpers: what a frame changes, and a layout pinned once for all frames.

Used by :mod:`viz.steps`; :func:`viz.graph.layout_digraph` draws a frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import graphviz

from ._render import run_graphviz

__all__ = ["FrameState", "compute_layout"]


@dataclass
class FrameState:
    """What one step-through frame changes: shown deltas, sent messages, roles."""

    deltas: dict[str, float | None]
    sent: dict[str, float]
    sender: str | None = None
    receiver: str | None = None
    active_edge: str | None = None


def compute_layout(digraph: graphviz.Digraph) -> dict[str, dict[str, str]]:
    """Lay a Digraph out once with dot; return the positions to pin, by node/edge id.

    Feeding them back through ``layout_digraph(..., pinned=...)`` and rendering with
    ``neato -n2`` draws any number of variants (frames) without laying out again.
    """
    layout = json.loads(run_graphviz(digraph.source, "json", engine="dot"))
    pinned: dict[str, dict[str, str]] = {"graph": {"bb": layout["bb"]}}
    for item in layout.get("objects", []):
        pinned[item.get("id", item["name"])] = {"pos": item["pos"] + "!"}
    for item in layout.get("edges", []):
        position = {"pos": item["pos"]}
        if "lp" in item:
            position["lp"] = item["lp"]
        pinned[item["id"]] = position
    return pinned
