"""Optimisers' first steps against hand-computed numbers; schedules; validation."""

import math

import pytest

import nn
from autograd_core import Value


def _quadratic_steps(optimizer_factory, steps, start=1.0):
    """Minimise L(w) = w^2 (gradient 2w) and return w after each step."""
    w = Value(start)
    optimizer = optimizer_factory([w])
    trace = []
    for _ in range(steps):
        optimizer.zero_grad()
        (w * w).backward()
        optimizer.step()
        trace.append(w.data)
    return trace


def test_sgd_plain():
    # w <- w - 0.1 * 2w = 0.8 w
    assert _quadratic_steps(lambda p: nn.SGD(p, lr=0.1), 3) == pytest.approx(
        [0.8, 0.64, 0.512])


def test_sgd_momentum_by_hand():
    # step 1: g = 2, b = 2, w = 1 - 0.2 = 0.8
    # step 2: g = 1.6, b = 0.9 * 2 + 1.6 = 3.4, w = 0.8 - 0.34 = 0.46
    # step 3: g = 0.92, b = 0.9 * 3.4 + 0.92 = 3.98, w = 0.46 - 0.398 = 0.062
    trace = _quadratic_steps(lambda p: nn.SGD(p, lr=0.1, momentum=0.9), 3)
    assert trace == pytest.approx([0.8, 0.46, 0.062])


def test_sgd_nesterov_by_hand():
    # step 1: g = 2, b = 2, update g + 0.9 b = 3.8, w = 1 - 0.38 = 0.62
    # step 2: g = 1.24, b = 1.8 + 1.24 = 3.04, update 1.24 + 2.736 = 3.976, w = 0.2224
    trace = _quadratic_steps(lambda p: nn.SGD(p, lr=0.1, momentum=0.9, nesterov=True), 2)
    assert trace == pytest.approx([0.62, 0.2224])


def test_sgd_weight_decay_by_hand():
    # g = 2w + 0.5 w = 2.5 w; w <- w - 0.1 * 2.5 w = 0.75 w
    trace = _quadratic_steps(lambda p: nn.SGD(p, lr=0.1, weight_decay=0.5), 2)
    assert trace == pytest.approx([0.75, 0.5625])


def test_adam_first_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    trace = _quadratic_steps(lambda p: nn.Adam(p, lr=lr, betas=(b1, b2), eps=eps), 2)
    # step 1: g = 2, m = 0.2, v = 0.004, m_hat = 2, v_hat = 4, w = 1 - 0.1 * 2 / (2 + eps)
    w1 = 1 - lr * 2 / (2 + eps)
    assert trace[0] == pytest.approx(w1, abs=1e-12)
    g = 2 * w1
    m = b1 * 0.2 + (1 - b1) * g
    v = b2 * 0.004 + (1 - b2) * g * g
    w2 = w1 - lr * (m / (1 - b1**2)) / (math.sqrt(v / (1 - b2**2)) + eps)
    assert trace[1] == pytest.approx(w2, abs=1e-12)


def test_adamw_decouples_weight_decay():
    # Zero gradient: only the decay acts, w <- w - lr * wd * w, and the moments stay 0.
    w = Value(2.0)
    optimizer = nn.AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = 0.0
    optimizer.step()
    assert w.data == pytest.approx(2.0 * (1 - 0.05))
    assert optimizer.first_moments.tolist() == [0.0]
    # With a gradient, decay applies to the weight before the Adam step.
    w = Value(1.0)
    optimizer = nn.AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = 3.0
    optimizer.step()
    assert w.data == pytest.approx(1.0 * (1 - 0.05) - 0.1 * 3.0 / (3.0 + 1e-8))


def test_adam_weight_decay_is_an_l2_gradient():
    # Zero gradient: the L2 term wd * w is the gradient, so the first step moves by ~lr
    # (Adam's step is scale-free), not by lr * wd * w as AdamW's decay would.
    w = Value(2.0)
    optimizer = nn.Adam([w], lr=0.1, weight_decay=0.5)
    w.grad = 0.0
    optimizer.step()
    assert w.data == pytest.approx(2.0 - 0.1 * 1.0 / (1.0 + 1e-8), abs=1e-12)
    assert optimizer.first_moments.tolist() == pytest.approx([0.1])  # (1 - b1) * 1.0
    # With a gradient: g = 3 + 0.5 * 1 = 3.5 enters both moments.
    w = Value(1.0)
    optimizer = nn.Adam([w], lr=0.1, weight_decay=0.5)
    w.grad = 3.0
    optimizer.step()
    assert optimizer.second_moments.tolist() == pytest.approx([0.001 * 3.5 ** 2])
    assert w.data == pytest.approx(1.0 - 0.1 * 3.5 / (3.5 + 1e-8), abs=1e-12)


def test_optimisers_take_modules_and_zero_grad():
    model = nn.MLP(2, [2, 1], seed=0)
    optimizer = nn.SGD(model, lr=0.1)
    assert optimizer.params == model.parameters()
    model([1.0, 1.0])[0].backward()
    optimizer.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize(
    "make, setting",
    [
        (lambda p: nn.SGD(p, lr=-0.1), "lr"),
        (lambda p: nn.SGD(p, lr=float("nan")), "lr"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=1.5), "momentum"),
        (lambda p: nn.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda p: nn.SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: nn.Adam(p, lr=-1), "lr"),
        (lambda p: nn.Adam(p, betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda p: nn.Adam(p, eps=0.0), "eps"),
        (lambda p: nn.Adam(p, weight_decay=-0.1), "weight_decay"),
    ],
)
def test_bad_settings_name_the_setting(make, setting):
    with pytest.raises(ValueError, match=setting):
        make([Value(1.0)])


def test_linear_decay_matches_micrograd_schedule():
    optimizer = nn.SGD([Value(0.0)], lr=1.0)
    schedule = nn.LinearDecay(optimizer, start=1.0, end=0.1, total_steps=100)
    seen = [optimizer.lr]
    for _ in range(99):
        schedule.step()
        seen.append(optimizer.lr)
    assert seen == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)])


def test_step_decay():
    optimizer = nn.SGD([Value(0.0)], lr=0.2)
    schedule = nn.StepDecay(optimizer, step_size=2, gamma=0.5)
    seen = [optimizer.lr] + [schedule.step() for _ in range(5)]
    assert seen == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05, 0.05])


def test_non_finite_gradient_is_reported():
    w = Value(1.0)
    w.grad = float("inf")
    with pytest.raises(ValueError, match="non-finite gradient"):
        nn.SGD([w], lr=0.1).step()


def test_update_works_on_arrays_like_step_on_values():
    import numpy as np

    params = [Value(1.0), Value(-2.0)]
    grads = np.array([2.0**1023, 2.0**1023])  # finite, though their sum overflows
    optimizer = nn.SGD(params, lr=2.0**-1023)
    theta = np.array([1.0, -2.0])
    optimizer.update(theta, grads)
    assert theta.tolist() == [0.0, -3.0] and optimizer.steps == 1
    with pytest.raises(ValueError, match=r"parameter 1 has a non-finite gradient nan"):
        optimizer.update(theta, np.array([0.0, float("nan")]))
    assert theta.tolist() == [0.0, -3.0] and optimizer.steps == 1
    with pytest.raises(TypeError, match="float64 numpy array"):
        optimizer.update([0.0, 1.0], grads)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        optimizer.update(np.zeros(3), np.zeros(3))
