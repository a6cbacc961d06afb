"""nn: neurons, layers, models, losses, optimisers and data, built from autograd_core Values.

Everything is made of the engine's scalar ``Value`` nodes, so any model's loss can be
drawn, stepped through and gradient-checked like a hand-written expression.

Example:
    >>> import nn
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> score = model([0.5, -1.0])[0]        # a list, even for one output
    >>> loss = nn.hinge_loss(score, 1)
    >>> loss.backward()
"""

from .initializers import INIT_SCHEMES, init_weights, make_rng
from .layers import (
    ACTIVATIONS,
    MLP,
    DenseBlock,
    Highway,
    Layer,
    Neuron,
    PositionalEncoding,
    Residual,
    Sequential,
)
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
    multiclass_hinge_loss,
    nll_loss,
    perceptron_loss,
)
from .module import Module
from .optim import SGD, Adam, LinearDecay, LRScheduler, Optimizer, StepDecay

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "Sequential",
    "Residual",
    "Highway",
    "DenseBlock",
    "PositionalEncoding",
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "init_weights",
    "make_rng",
    "mse_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge_loss",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "Optimizer",
    "SGD",
    "Adam",
    "LRScheduler",
    "LinearDecay",
    "StepDecay",
]
