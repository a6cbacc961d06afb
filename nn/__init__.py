"""nn: neurons, layers, models, losses, optimisers and data, built from autograd_core Values.

Everything is made of the engine's scalar ``Value`` nodes, so any model's loss can be
drawn, stepped through and gradient-checked like a hand-written expression. Layers
show their weights as arrays (see :mod:`nn.layers` for the public shape), and
``to_torch`` / ``from_torch`` move a model to PyTorch and back with the same numbers.

Example:
    >>> import nn
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> score = model([0.5, -1.0])[0]        # a list, even for one output
    >>> loss = nn.hinge_loss(score, 1)
    >>> loss.backward()
"""

from . import (
    data,
    initializers,
    layers,
    losses,
    models,
    module,
    optim,
    regularizers,
    torch_bridge,
    training,
)
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
    REDUCTIONS,
    TARGET_KINDS,
    Loss,
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
from .optim import SGD, Adam, AdamW, LinearDecay, LRScheduler, Optimizer, StepDecay
from .regularizers import elastic_net, l1, l2, max_norm_, weight_parameters
from .torch_bridge import from_torch, to_torch
from .training import (
    ENGINES,
    BatchResult,
    History,
    accuracy,
    evaluate,
    fit,
    predict,
    predict_proba,
    predict_scores,
    probabilities,
    register_engine,
)

# The package's public names are its modules' public names: each module's __all__ is
# the one list (a test checks that every name there is importable from here).
_PUBLIC_MODULES = (module, layers, initializers, losses, optim, regularizers, models, data,
                   training, torch_bridge)
__all__ = [name for public in _PUBLIC_MODULES for name in public.__all__]
