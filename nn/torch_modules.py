"""PyTorch modules for nn's blocks that ``torch.nn`` has no class for.

``nn.to_torch`` builds dense layers from ``torch.nn.Linear`` and torch's own activation
modules; a residual connection, a highway layer, a dense block and the positional
encoding have no ``torch.nn`` counterpart, so they are these small modules. Each
computes what its nn block computes, in the same order of operations, so float64
outputs agree to the last few bits. ``nn.from_torch`` reads them back.

This module imports ``torch``; ``import nn`` never loads it (``nn.to_torch`` does, on
first use).
"""

from __future__ import annotations

import math

import torch

__all__ = ["Residual", "Highway", "DenseBlock", "PositionalEncoding"]


class Residual(torch.nn.Module):
    """``x + module(x)`` (nn's :class:`~nn.layers.Residual`).

    Args:
        module: the wrapped module; it must return as many features as it takes.
    """

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The skip connection's sum."""
        return self.module(x) + x


class Highway(torch.nn.Module):
    """``t * h(x) + (1 - t) * x`` with ``t = gate(x)`` (nn's :class:`~nn.layers.Highway`).

    Args:
        transform: ``h``, a ``size -> size`` module (Linear and an activation).
        gate: ``t``, a ``size -> size`` module ending in a sigmoid.
    """

    def __init__(self, transform: torch.nn.Module, gate: torch.nn.Module) -> None:
        super().__init__()
        self.transform = transform
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate between the transformed input and the input itself."""
        gates = self.gate(x)
        return gates * self.transform(x) + (1 - gates) * x


class DenseBlock(torch.nn.Module):
    """Each layer sees the input and every earlier layer's output, concatenated.

    nn's :class:`~nn.layers.DenseBlock`: returns the input followed by every layer's
    output along the last dimension.

    Args:
        layers: the layers in order; layer ``i`` takes ``nin + i * growth`` features.
    """

    def __init__(self, layers: list[torch.nn.Module]) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The input and every layer's output, concatenated."""
        features = x
        for layer in self.layers:
            features = torch.cat([features, layer(features)], dim=-1)
        return features


class PositionalEncoding(torch.nn.Module):
    """Fourier features ``sin(2^k pi p), cos(2^k pi p)`` of each coordinate ``p``.

    nn's :class:`~nn.layers.PositionalEncoding`: the raw inputs first (with
    ``include_input``), then for each ``k`` the sine and cosine of every coordinate,
    coordinate by coordinate.

    Args:
        num_frequencies: how many ``k``, from 0.
        include_input: whether the raw inputs come first.
    """

    def __init__(self, num_frequencies: int, include_input: bool = True) -> None:
        super().__init__()
        self.num_frequencies = int(num_frequencies)
        self.include_input = bool(include_input)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The encoded features along the last dimension."""
        features = [x] if self.include_input else []
        for k in range(self.num_frequencies):
            angle = x * ((2.0 ** k) * math.pi)
            pairs = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)
            features.append(pairs.flatten(start_dim=-2))
        return torch.cat(features, dim=-1)

    def extra_repr(self) -> str:
        return f"num_frequencies={self.num_frequencies}, include_input={self.include_input}"
