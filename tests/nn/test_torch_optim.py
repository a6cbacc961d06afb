"""Adam and AdamW against PyTorch's, step by step, in float64.

First the optimisers alone: both sides get the same gradients (a fixed function of the
current parameters), so only the update arithmetic is compared. Then whole training
runs: an MLP in nn and the same MLP moved with nn.to_torch, each computing its own
loss and gradients, 20 steps each.
"""

import numpy as np
import pytest
import torch

import nn
from autograd_core import Value

from .torch_helpers import grad_arrays

STEPS = 20
SETTINGS = [
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0)),
    ("Adam", dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.3)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)),
    ("AdamW", dict(lr=0.01)),  # both default weight_decay to 0.01
]


def _gradient(params: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return matrix @ params + np.sin(3 * params)


@pytest.mark.parametrize("name, options", SETTINGS)
def test_same_gradients_give_the_same_trajectory(name, options):
    rng = np.random.default_rng(len(name) + len(options))
    start = rng.normal(size=9)
    matrix = rng.normal(size=(9, 9))
    ours = [Value(float(x)) for x in start]
    optimizer = getattr(nn, name)(ours, **options)
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    reference = getattr(torch.optim, name)([theirs], **options)
    for _ in range(STEPS):
        for param, g in zip(ours, _gradient(np.array([p.data for p in ours]), matrix)):
            param.grad = float(g)
        optimizer.step()
        theirs.grad = torch.from_numpy(_gradient(theirs.detach().numpy(), matrix))
        reference.step()
        np.testing.assert_allclose([p.data for p in ours], theirs.detach().numpy(),
                                   rtol=1e-13, atol=1e-15)
    # The two settings differ where they should: 20 steps move the parameters.
    assert not np.allclose([p.data for p in ours], start)


def test_adam_and_adamw_differ_with_weight_decay():
    finals = []
    for name in ("Adam", "AdamW"):
        w = Value(2.0)
        optimizer = getattr(nn, name)([w], lr=0.1, weight_decay=0.5)
        for _ in range(3):
            w.grad = 4.0
            optimizer.step()
        finals.append(w.data)
    assert abs(finals[0] - finals[1]) > 1e-3


@pytest.mark.parametrize("name, options", SETTINGS)
def test_training_an_mlp_follows_pytorch_for_20_steps(name, options):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(12, 3))
    y = np.sin(X).sum(axis=1, keepdims=True)
    model = nn.MLP(3, [5, 4, 1], activation="tanh", seed=3)
    module = nn.to_torch(model)
    optimizer = getattr(nn, name)(model, **options)
    reference = getattr(torch.optim, name)(module.parameters(), **options)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = nn.mse_loss([model(row) for row in X], y.tolist())
        loss.backward()
        optimizer.step()
        reference.zero_grad()
        their_loss = torch.nn.functional.mse_loss(module(inputs), targets)
        their_loss.backward()
        reference.step()
        assert loss.data == pytest.approx(their_loss.item(), rel=1e-12)
        for ours, theirs in zip(model.state_dict().values(), module.parameters()):
            np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-11, atol=1e-13)
    assert len(grad_arrays(model)) == len(list(module.parameters()))
