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

from .data import (
    IRIS_CLASSES,
    IRIS_FEATURES,
    LONGLEY_FEATURES,
    load_iris,
    load_longley,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    minibatches,
    standardize,
    train_test_split,
)
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
from .models import LogisticRegression, Perceptron, PerceptronResult, SoftmaxRegression
from .module import Module
from .optim import SGD, Adam, LinearDecay, LRScheduler, Optimizer, StepDecay
from .regularizers import elastic_net, l1, l2, max_norm_, weight_parameters
from .training import (
    ENGINES,
    BatchResult,
    History,
    accuracy,
    evaluate,
    fit,
    predict,
    predict_scores,
    register_engine,
)

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
    "l1",
    "l2",
    "elastic_net",
    "max_norm_",
    "weight_parameters",
    "Perceptron",
    "PerceptronResult",
    "LogisticRegression",
    "SoftmaxRegression",
    "make_xor",
    "make_moons",
    "make_circles",
    "make_spirals",
    "make_blobs",
    "load_iris",
    "load_longley",
    "IRIS_FEATURES",
    "IRIS_CLASSES",
    "LONGLEY_FEATURES",
    "train_test_split",
    "standardize",
    "minibatches",
    "fit",
    "History",
    "BatchResult",
    "evaluate",
    "accuracy",
    "predict",
    "predict_scores",
    "register_engine",
    "ENGINES",
]
