"""Property tests: invariances of the losses and of the state round trip."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Value

finite = st.floats(min_value=-20, max_value=20, allow_nan=False)
logit_lists = st.lists(finite, min_size=2, max_size=6)


@settings(max_examples=60)
@given(logits=logit_lists, shift=finite, data=st.data())
def test_cross_entropy_ignores_a_common_shift_and_its_gradient_sums_to_zero(logits, shift,
                                                                            data):
    target = data.draw(st.integers(0, len(logits) - 1))
    values = [Value(z) for z in logits]
    loss = nn.cross_entropy(values, target)
    loss.backward()
    shifted = nn.cross_entropy([z + shift for z in logits], target)
    assert math.isclose(loss.data, shifted.data, rel_tol=1e-9, abs_tol=1e-9)
    assert loss.data >= 0
    assert abs(sum(v.grad for v in values)) < 1e-9  # softmax minus one-hot sums to 0


@settings(max_examples=60)
@given(scores=st.lists(finite, min_size=1, max_size=8), data=st.data())
def test_sum_reduction_is_n_times_the_mean(scores, data):
    signs = data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(scores),
                               max_size=len(scores)))
    bits = [(s + 1) // 2 for s in signs]
    for loss, targets in ((nn.hinge_loss, signs), (nn.perceptron_loss, signs),
                          (nn.binary_cross_entropy_with_logits, bits),
                          (nn.mse_loss, [float(b) for b in bits])):
        total = loss(scores, targets, reduction="sum").data
        mean = loss(scores, targets, reduction="mean").data
        parts = [v.data for v in loss(scores, targets, reduction="none")]
        assert math.isclose(total, len(scores) * mean, rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(total, math.fsum(parts), rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=25, deadline=None)
@given(nin=st.integers(1, 4), widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seeds=st.tuples(st.integers(0, 1000), st.integers(0, 1000)))
def test_state_round_trip_reproduces_the_model(nin, widths, seeds):
    source = nn.MLP(nin, widths, activation="tanh", seed=seeds[0])
    target = nn.MLP(nin, widths, activation="tanh", seed=seeds[1])
    target.load_state_dict(source.state_dict())
    x = np.linspace(-1, 1, nin)
    assert [v.data for v in target(x)] == [v.data for v in source(x)]
    assert sum(a.size for a in source.state_dict().values()) == source.num_parameters()
