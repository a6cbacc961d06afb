"""Trace and replay: the batched numpy replay equals the eager engine, sample by sample."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd_core import Value
from autograd_core.functional import log_softmax, vsum
from autograd_core.strategies import expressions
from autograd_core.trace import Trace, TraceError, trace


def close(replayed, eager, *, rel=1e-12, scale=1.0):
    """Equal to 1e-12 relative, or to 1e-12 of the problem's scale near zero."""
    replayed, eager = np.asarray(replayed, float), np.asarray(eager, float)
    return np.allclose(replayed, eager, rtol=rel, atol=rel * scale)


def eager_value_and_grad(fn, rows, params, reduction="mean"):
    """The reference: one eager graph per sample, gradients summed or averaged."""
    for p in params:
        p.grad = 0.0
    outputs = [fn([Value(float(v)) for v in row]) for row in rows]
    total = vsum(outputs)
    loss = total / len(outputs) if reduction == "mean" else total
    loss.backward()
    return loss.data, np.array([p.grad for p in params]), [o.data for o in outputs]


# ---------------------------------------------------------------------------
# Random expressions from the shipped strategies


@settings(max_examples=60)
@given(
    expression=expressions(num_inputs=3, max_depth=4, max_ops=8),
    seed=st.integers(0, 2**32 - 1),
    reduction=st.sampled_from(["mean", "sum"]),
)
def test_replay_equals_eager_on_random_expressions(expression, seed, reduction):
    rng = np.random.default_rng(seed)
    # x0 is a parameter; x1 and x2 are the per-sample inputs.
    param = Value(float(rng.uniform(-1.5, 1.5)))
    batch = rng.uniform(-1.5, 1.5, size=(6, 2))

    def fn(x):
        return expression(param, x[0], x[1])

    try:
        loss, grads, values = eager_value_and_grad(fn, batch, [param], reduction)
    except (ValueError, ArithmeticError):
        assume(False)  # outside an op's domain or overflowing: nothing to compare
    assume(all(math.isfinite(v) for v in [loss, *grads, *values]))
    assume(max(abs(v) for v in [*values, *grads]) < 1e8)

    traced = trace(fn, batch[0], params=[param])
    scale = max(1.0, *map(abs, values))
    assert close(traced.forward(batch)[:, 0], values, scale=scale)
    replayed_loss, replayed_grads = traced.value_and_grad(batch, reduction=reduction)
    assert close(replayed_loss, loss, scale=scale)
    assert close(replayed_grads, grads, rel=1e-10, scale=max(1.0, *map(abs, grads)))


# ---------------------------------------------------------------------------
# MLP losses (built from primitives, as nn's neurons are: one sum node per neuron)


def make_mlp(sizes, rng, activation="relu"):
    layers = []
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        weights = [[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)]
        layers.append((weights, [Value(rng.uniform(-0.5, 0.5)) for _ in range(nout)]))
    params = [p for W, b in layers for row, bias in zip(W, b) for p in (*row, bias)]

    def model(x):
        for index, (W, b) in enumerate(layers):
            x = [vsum([w * xi for w, xi in zip(row, x)] + [bias]) for row, bias in zip(W, b)]
            if index < len(layers) - 1:
                x = [getattr(v, activation)() for v in x]
        return x

    return model, params


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_replay_equals_eager_on_max_margin_mlp_loss(activation):
    rng = np.random.default_rng(3)
    model, params = make_mlp([2, 8, 8, 1], rng, activation)
    batch = np.c_[rng.normal(size=(40, 2)), rng.choice([-1.0, 1.0], size=40)]

    def loss(v):
        return (1 + -v[2] * model(v[:2])[0]).relu()

    eager_loss, eager_grads, eager_values = eager_value_and_grad(loss, batch, params)
    traced = trace(loss, batch[0], params=params)
    assert close(traced.forward(batch)[:, 0], eager_values)
    replayed_loss, replayed_grads = traced.value_and_grad(batch)
    assert close(replayed_loss, eager_loss)
    assert close(replayed_grads, eager_grads, scale=np.abs(eager_grads).max())
    assert np.abs(eager_grads).max() > 0.01  # the comparison is not of zeros


def test_replay_equals_eager_on_cross_entropy_mlp():
    rng = np.random.default_rng(5)
    model, params = make_mlp([5, 6, 4], rng)
    X = rng.normal(size=(12, 5))
    labels = rng.integers(0, 4, size=12)
    batch = np.c_[X, np.eye(4)[labels]]  # one-hot targets as inputs

    def loss(v):
        log_probs = log_softmax(model(v[:5]))
        return -vsum([t * lp for t, lp in zip(v[5:], log_probs)])

    eager_loss, eager_grads, _ = eager_value_and_grad(loss, batch, params, "sum")
    traced = trace(loss, batch[0], params=params)
    replayed_loss, replayed_grads = traced.value_and_grad(batch, reduction="sum")
    assert close(replayed_loss, eager_loss)
    assert close(replayed_grads, eager_grads, scale=np.abs(eager_grads).max())


def test_l2_penalty_inside_and_beside_the_per_sample_loss_equals_eager():
    # The penalty's sum of parameter products is computed once per call (it is the
    # same for every sample); its parameters then also feed the dense layers, so
    # their gradients are added, not written.
    rng = np.random.default_rng(13)
    model, params = make_mlp([2, 6, 6, 1], rng)
    batch = np.c_[rng.normal(size=(15, 2)), rng.choice([-1.0, 1.0], size=15)]

    def penalty():
        return 1e-2 * vsum([p * p for p in params])

    def loss(v):
        return (1 + -v[2] * model(v[:2])[0]).relu() + penalty()

    eager_loss, eager_grads, _ = eager_value_and_grad(loss, batch, params)
    traced = trace(loss, batch[0], params=params)
    replayed_loss, replayed_grads = traced.value_and_grad(batch)
    assert close(replayed_loss, eager_loss)
    assert close(replayed_grads, eager_grads, scale=np.abs(eager_grads).max())
    penalty_alone = trace(lambda _: penalty(), [], params=params)
    value, grads = penalty_alone.value_and_grad(np.empty((1, 0)))
    assert close(value, 1e-2 * sum(p.data**2 for p in params))
    assert close(grads, [2e-2 * p.data for p in params])


def test_tied_and_permuted_weights_equal_eager():
    # Parameter indices that are not evenly spaced (gathered, not viewed), a weight
    # shared by two neurons (its gradient comes from two places), and a node that
    # feeds two groups (its delta is added from both).
    rng = np.random.default_rng(17)
    shared = Value(0.7)
    weights = [Value(float(v)) for v in rng.uniform(-1, 1, size=5)]
    params = [weights[3], shared, weights[0], weights[4], weights[1], weights[2]]

    def fn(x):
        h1 = (weights[0] * x[0] + shared * x[1]).tanh()
        h2 = vsum([shared * x[0], weights[1] * x[1], weights[2]]).tanh()
        return vsum([weights[3] * h1, weights[4] * h2, h1 * h2])

    batch = rng.normal(size=(7, 2))
    eager_loss, eager_grads, _ = eager_value_and_grad(fn, batch, params, "sum")
    traced = trace(fn, batch[0], params=params)
    replayed_loss, replayed_grads = traced.value_and_grad(batch, reduction="sum")
    assert close(replayed_loss, eager_loss)
    assert close(replayed_grads, eager_grads, scale=np.abs(eager_grads).max())


def test_results_are_not_changed_by_later_calls():
    rng = np.random.default_rng(19)
    model, params = make_mlp([2, 4, 1], rng)
    traced = trace(lambda v: model(v)[0], [0.0, 0.0], params=params)
    theta = np.array([p.data for p in params])
    first_batch, second_batch = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    loss, grads = traced.value_and_grad(first_batch, param_values=theta)
    kept = grads.copy()
    outputs = traced.forward(first_batch, param_values=theta)
    kept_outputs = outputs.copy()
    traced.value_and_grad(second_batch, param_values=theta * 2.0)
    traced.forward(second_batch, param_values=theta * 2.0)
    assert np.array_equal(grads, kept) and np.array_equal(outputs, kept_outputs)
    assert np.array_equal(traced.value_and_grad(first_batch, param_values=theta)[1], kept)


def test_parameter_array_updated_in_place_or_strided_is_read_afresh():
    # A training loop passes the same array every step and updates it in place; the
    # replay must see the new values, also when the array is a strided view.
    rng = np.random.default_rng(23)
    model, params = make_mlp([2, 3, 1], rng)
    traced = trace(lambda v: model(v)[0], [0.0, 0.0], params=params)
    batch = rng.normal(size=(4, 2))
    theta = np.array([p.data for p in params])
    storage = np.zeros(2 * len(params))
    strided = storage[::2]
    for _ in range(3):
        strided[:] = theta
        loss, grads = traced.value_and_grad(batch, param_values=theta)
        strided_loss, strided_grads = traced.value_and_grad(batch, param_values=strided)
        for p, value in zip(params, theta.tolist()):
            p.data = value
        eager_loss, eager_grads, _ = eager_value_and_grad(lambda v: model(v)[0], batch, params)
        assert close(loss, eager_loss) and close(strided_loss, eager_loss)
        assert close(grads, eager_grads) and close(strided_grads, eager_grads)
        theta -= 0.5 * grads  # in place, as the benchmark's loop does


def test_backward_adds_into_grad_like_eager_backward():
    rng = np.random.default_rng(7)
    model, params = make_mlp([3, 4, 1], rng)
    batch = rng.normal(size=(10, 3))
    _, eager_grads, _ = eager_value_and_grad(lambda v: model(v)[0], batch, params)
    traced = trace(lambda v: model(v)[0], batch[0], params=params)
    for p in params:
        p.grad = 0.5
    traced.backward(batch)
    assert close([p.grad for p in params], eager_grads + 0.5)


def test_without_fusion_the_rules_give_the_same_results():
    rng = np.random.default_rng(11)
    model, params = make_mlp([2, 5, 1], rng, "tanh")
    batch = rng.normal(size=(9, 2))
    fused = trace(lambda v: model(v)[0], batch[0], params=params)
    plain = trace(lambda v: model(v)[0], batch[0], params=params, fuse=False)
    assert fused.fused and not plain.fused
    assert len(plain._groups) > len(fused._groups)  # products replayed as mul groups
    assert close(plain.forward(batch), fused.forward(batch))
    assert close(plain.value_and_grad(batch)[1], fused.value_and_grad(batch)[1])


def test_shared_inputs_and_repeated_parents_add_up():
    a = Value(1.5)
    # x0 feeds many nodes of one group; a * a and x0 * x0 repeat a parent in one node.
    traced = trace(lambda x: vsum([a * x[0], x[0] * x[0], a * a, x[0].tanh()]), [0.0], [a])
    xs = np.array([[-1.0], [0.5], [2.0]])
    loss, (grad,) = traced.value_and_grad(xs, reduction="sum")
    assert math.isclose(loss, sum(1.5 * x + x * x + 2.25 + math.tanh(x) for x in (-1, 0.5, 2)))
    assert math.isclose(grad, (-1.0 + 0.5 + 2.0) + 3 * 2 * 1.5)


def test_parameters_are_read_at_each_call_or_given_as_an_array():
    w = Value(2.0)
    traced = trace(lambda x: w * x[0], [1.0], params=[w])
    assert traced.forward([[3.0]])[0, 0] == 6.0
    w.data = -1.0
    assert traced.forward([[3.0]])[0, 0] == -3.0
    assert traced.forward([[3.0]], param_values=[10.0])[0, 0] == 30.0


def test_kinked_ops_choose_their_branch_per_sample():
    traced = trace(lambda x: x[0].relu() + abs(x[1]), [1.0, 1.0])
    out = traced.forward([[1.0, -2.0], [-1.0, 3.0]])[:, 0]
    assert out.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------------
# What is frozen at trace time, and errors


def branching(x):
    return x[0] * 2 if x[0] > 0 else x[0] * 3


def test_branching_on_a_traced_value_is_refused_with_the_line():
    with pytest.raises(TraceError, match=r"\(>: Value\('x\[0\]'.*> 0\) at .*test_trace.py:\d+"):
        trace(branching, [1.0])
    assert (Value(2.0) > 1.0) is True  # outside a trace, comparisons just compare


def test_strict_is_deprecated_and_the_trace_refuses_anyway():
    for strict in (True, False):
        with pytest.warns(DeprecationWarning, match="strict"), pytest.raises(TraceError):
            trace(branching, [1.0], strict=strict)


def test_comparing_constants_while_tracing_is_fine():
    c = Value(3.0)  # neither an input nor a parameter: a constant of the trace
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = trace(lambda x: x[0] * (c if c > 1 else 1.0), [1.0])
    assert traced.forward([[2.0]])[0, 0] == 6.0


def test_comparing_a_parameter_is_refused_since_the_replay_changes_it():
    w = Value(3.0)
    with pytest.raises(TraceError, match=r"\(>: Value\(data=3"):
        trace(lambda x: x[0] * (w if w > 1 else 1.0), [1.0], params=[w])


@pytest.mark.parametrize(
    "batch, message",
    [([[1.0, 2.0, 3.0]], r"shape \[batch_size, 2\].*\(1, 3\)"), ([1.0, 2.0], r"\(2,\)")],
)
def test_bad_batch_shapes_are_refused(batch, message):
    traced = trace(lambda x: x[0] * x[1], [1.0, 1.0])
    with pytest.raises(ValueError, match=message):
        traced.forward(batch)


def test_value_and_grad_needs_one_output_and_a_known_reduction():
    two = trace(lambda x: [x[0] * 2, x[0] * 3], [1.0])
    assert two.forward([[1.0]]).tolist() == [[2.0, 3.0]]
    with pytest.raises(ValueError, match="one output"):
        two.value_and_grad([[1.0]])
    one = trace(lambda x: x[0] * 2, [1.0])
    with pytest.raises(ValueError, match="'median'"):
        one.value_and_grad([[1.0]], reduction="median")


def test_bad_arguments_to_trace():
    with pytest.raises(TypeError, match="callable"):
        trace(3, [1.0])
    with pytest.raises(TypeError, match="params must be Values"):
        trace(lambda x: x[0], [1.0], params=[1.0])
    with pytest.raises(TypeError, match="must return Values"):
        trace(lambda x: [x[0], 2.0], [1.0])
    w = Value(1.0)
    with pytest.raises(ValueError, match="twice"):
        trace(lambda x: x[0] * w, [1.0], params=[w, w])


def test_repr_names_the_sizes():
    w = Value(1.0)
    traced = trace(lambda x: (x[0] * w).tanh(), [0.5], params=[w])
    assert isinstance(traced, Trace)
    assert repr(traced).startswith("Trace(inputs=1, params=1, outputs=1, nodes=4")


def test_replays_in_threads_and_of_copies_give_the_same_numbers():
    import copy
    import pickle
    import threading

    from autograd_core import Value
    from autograd_core.trace import trace

    rng = np.random.default_rng(0)
    weights = [Value(float(w)) for w in rng.normal(size=6)]

    def fn(x):
        hidden = [(weights[2 * k] * x[0] + weights[2 * k + 1] * x[1]).tanh() for k in range(3)]
        return hidden[0] * hidden[1] + hidden[2]

    traced = trace(fn, [0.1, 0.2], weights)
    batches = [rng.normal(size=(size, 2)) for size in (5, 7, 5, 9)]
    expected = [traced.value_and_grad(b) for b in batches]
    results: dict[int, list] = {}

    def run(worker: int) -> None:
        results[worker] = [traced.value_and_grad(b) for b in batches * 50]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcomes in results.values():
        for (loss, grads), (want_loss, want_grads) in zip(outcomes, expected * 50):
            assert loss == want_loss
            np.testing.assert_array_equal(grads, want_grads)
    for twin in (copy.deepcopy(traced), pickle.loads(pickle.dumps(traced))):
        loss, grads = twin.value_and_grad(batches[0], param_values=[w.data for w in weights])
        assert loss == expected[0][0]
        np.testing.assert_array_equal(grads, expected[0][1])


def test_returned_arrays_are_not_changed_by_later_calls():
    from autograd_core import Value
    from autograd_core.trace import trace

    w = Value(2.0)
    traced = trace(lambda x: (w * x[0]).relu(), [1.0], [w])
    outputs, grads = traced.outputs_and_grad(np.array([[1.0], [-1.0]]))
    kept = outputs.copy(), grads.copy()
    traced.outputs_and_grad(np.array([[5.0], [6.0]]))
    traced.forward(np.array([[7.0], [8.0]]))
    np.testing.assert_array_equal(outputs, kept[0])
    np.testing.assert_array_equal(grads, kept[1])
    assert outputs.ravel().tolist() == [2.0, 0.0] and grads.tolist() == [0.5]


# ---------------------------------------------------------------------------
# How the replay saves numpy calls: the same numbers


def test_a_layer_whose_weights_and_bias_are_one_block_is_one_matrix_product():
    # make_mlp orders each neuron's weights, then its bias: a layer fed by the rows of
    # the layer before has [W | b] as one block, and a row of ones follows its inputs.
    rng = np.random.default_rng(29)
    model, params = make_mlp([2, 5, 4, 1], rng)
    batch = rng.normal(size=(11, 2))

    def fn(v):
        return model(v)[0]

    traced = trace(fn, batch[0], params=params)
    folded = [group for group in traced._groups if getattr(group, "fold", None) is not None]
    assert len(folded) == 2  # the first layer reads the inputs: no row of ones there
    eager_loss, eager_grads, eager_values = eager_value_and_grad(fn, batch, params)
    assert close(traced.forward(batch)[:, 0], eager_values)
    loss, grads = traced.value_and_grad(batch)
    assert close(loss, eager_loss)
    assert close(grads, eager_grads, scale=np.abs(eager_grads).max())
    plain = trace(fn, batch[0], params=params, fuse=False)
    assert close(plain.value_and_grad(batch)[1], grads, scale=np.abs(grads).max())


def test_outputs_differentiated_in_turn_each_get_their_own_gradient():
    # One plan serves every call: the seed of one output must not stay for the next,
    # also when that output feeds the other.
    w = Value(0.5)

    def fn(x):
        h = (w * x[0]).tanh()
        return [h * h + w, h]

    batch = np.array([[0.3], [-1.2], [2.0]])
    traced = trace(fn, [1.0], params=[w])
    for differentiate in (1, 0, 1, 0, 0):
        _, grads = traced.outputs_and_grad(batch, differentiate=differentiate)
        _, eager_grads, _ = eager_value_and_grad(lambda x, d=differentiate: fn(x)[d], batch, [w])
        assert close(grads, eager_grads)


def test_relu_written_in_place_is_its_array_form_bit_for_bit():
    from autograd_core.rules import RULES

    relu = RULES["relu"]
    x = np.array([-math.inf, -2.0, -0.0, 0.0, 5e-324, 3.0, math.inf, math.nan])
    out = np.full(x.shape, 7.0)
    assert relu.forward_array(x, out=out) is out
    expected = relu.forward_array(x)
    eager = [relu.forward(float(v)) for v in x]
    for values in (out, expected):
        assert values.tolist() == eager  # NaN gives 0, as eagerly (NaN > 0 is false)
        assert not np.signbit(values).any()  # -0.0 gives 0.0, as eagerly
