"""A trace never returns a silently wrong number: the replay equals eager, or refuses.

Hypothesis draws a differentiable expression (``autograd_core.strategies``) or one of
nn's losses, traces it at one moderate point, and replays it at points up to
|x| = 1000 in both tails. At every point the replay must give the eager engine's
value and gradients, or refuse (``DomainError`` or ``TraceError``) exactly where the
eager engine has no number (it raises, or gives NaN). It may never return NaN, and
never a different finite number.

"Equal" allows for rounding only. The replay runs the same rules on numpy arrays:
numpy's exp, log, sin, ... may differ from Python's math module in the last bit, and a
fused sum of products (a matrix product) adds in another order. Each such difference
is a few ulps of some intermediate value, so the test allows a relative 1e-9, plus an
absolute floor of 1e-9 times the largest magnitude among the sample's intermediate
values and backward messages: a rounding error of that size can survive a later
cancellation (``a - b`` with ``a ~ b``) as an absolute, not a relative, error. Both
margins are seven orders of magnitude above the double-precision rounding they cover
and many orders below any real disagreement (a frozen branch, a frozen shift or a NaN
differ by O(1) of the scale).

A point where some op is ill-conditioned is the one exception: when an op's relative
condition number |x f'(x) / f(x)| times the double rounding 2^-53 exceeds 1e-9 (sin of
e^40: a last-bit difference in e^40 moves its sine by O(1)), no two correct
implementations agree to 1e-9, because the double inputs do not determine the result
to that precision. There the test requires both engines to give finite numbers (or the
same infinity) and counts the point, instead of comparing digits that do not exist.

Gradients are compared at every point, also within that floor of a kink (relu at 0,
a max tie, the clamp of bce), where rounding could in principle put eager and replay
on different sides of it: both apply the same conventions to the same inputs, and in
the drawn examples (about a tenth of them have such a point, as the Hypothesis
statistics show) they never do.
"""

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import nn
from autograd_core import RULES, DomainError, Value, backward_steps, grad, topological_order
from autograd_core.functional import log_softmax
from autograd_core.strategies import expressions
from autograd_core.trace import TraceError, trace

REL = 1e-9
FLOOR = 1e-9  # times the sample's largest intermediate magnitude (see the docstring)
EXAMPLES = 1000

TAILS = [-1000.0, -745.5, -100.0, -40.0, -1.0, -1e-300, 0.0, 1e-300, 1.0, 40.0, 100.0,
         745.5, 1000.0]
coordinate = st.one_of(st.sampled_from(TAILS), st.floats(-1000.0, 1000.0))
moderate = st.floats(-2.0, 2.0)

REFUSALS = (DomainError, TraceError)


class EagerHasNoNumber(Exception):
    """The eager engine raises or gives NaN at this point."""


def eager(build, point, params):
    """Value, gradients, scale and kink closeness of the eager graph at ``point``."""
    inputs = [Value(x) for x in point]
    try:
        out = build(inputs)
        grads = grad(out, params) if params else []
    except (ValueError, ArithmeticError) as error:
        raise EagerHasNoNumber(repr(error)) from None
    if math.isnan(out.data) or any(math.isnan(g) for g in grads):
        raise EagerHasNoNumber("NaN")
    magnitudes = [abs(node.data) for node in topological_order(out)]
    magnitudes += [abs(m.contribution) for m in backward_steps(out)]
    finite = [m for m in magnitudes if math.isfinite(m)]
    scale = max(finite, default=0.0)
    return out.data, grads, scale, near_a_kink(out, scale), ill_conditioned(out)


def ill_conditioned(out):
    """Whether an op's relative condition number makes 1e-9 agreement meaningless."""
    for node in topological_order(out):
        if len(node.parents) != 1 or not node.local_grads:
            continue
        x, local = node.parents[0].data, float(node.local_grads[0])
        condition = abs(x * local) / max(abs(node.data), 1e-300)
        if math.isfinite(condition) and condition * 2.0**-53 > REL:
            return True
    return False


def near_a_kink(out, scale):
    """Whether some kinked op's input is within the rounding floor of its kink."""
    slack = FLOOR * scale
    for node in topological_order(out):
        rule = RULES.get(node.op)
        if rule is None or rule.branch is None:
            continue
        data = [p.data for p in node.parents]
        if node.op == "max" and abs(data[0] - data[1]) <= slack:
            return True
        if node.op in ("relu", "leaky_relu", "abs") and abs(data[0]) <= slack:
            return True
        if node.op == "bce" and (abs(data[0] - math.exp(-100)) <= slack
                                 or abs(1 - data[0] - math.exp(-100)) <= slack):
            return True
    return False


def agree(replayed, expected, scale, what):
    if math.isinf(expected) or math.isinf(replayed):
        assert replayed == expected, (what, replayed, expected)
        return
    assert math.isfinite(replayed), (what, replayed, expected)
    assert abs(replayed - expected) <= REL * abs(expected) + FLOOR * scale, (
        what, replayed, expected, scale)


def check_replay(build, example, points, num_params):
    """Trace ``build`` at ``example``; at each point the replay equals eager or refuses."""
    params = [Value(1.0, label=f"w{i}") for i in range(num_params)]

    def fn(xs):
        return build(xs, params)

    traced = trace(fn, example, params=params)
    outcomes = {"equal": 0, "refused": 0}
    for point in points:
        try:
            value, grads, scale, kinked, ill = eager(lambda xs: build(xs, params), point, params)
        except EagerHasNoNumber:
            with pytest.raises(REFUSALS):
                traced.value_and_grad([point], reduction="sum")
            event("a point where eager has no number: the replay refused")
            outcomes["refused"] += 1
            continue
        replayed_value, replayed_grads = traced.value_and_grad([point], reduction="sum")
        assert traced.forward([point])[0, 0] == replayed_value
        if ill:
            for r, e in [(replayed_value, value), *zip(replayed_grads.tolist(), grads)]:
                assert math.isfinite(r) == math.isfinite(e) and (math.isfinite(r) or r == e)
            event("an ill-conditioned point: both finite, digits beyond the inputs' not compared")
            outcomes["equal"] += 1
            continue
        agree(replayed_value, value, scale, ("value", point))
        for index, (r, e) in enumerate(zip(replayed_grads.tolist(), grads)):
            agree(r, e, scale, ("gradient", index, point))
        if kinked:
            event("a point within rounding of a kink (gradients compared all the same)")
        event("a point where the replay equals eager")
        outcomes["equal"] += 1
    return outcomes


# ---------------------------------------------------------------------------
# Drawn expressions: every op of the strategies, inputs scaled by parameters.


@st.composite
def expression_cases(draw):
    expression = draw(expressions(num_inputs=2, max_depth=4, max_ops=6))
    example = draw(st.tuples(moderate, moderate))
    points = draw(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=6))
    return expression, example, points


def expression_builder(expression):
    def build(xs, params):
        return expression(params[0] * xs[0], params[1] * xs[1])

    return build


# ---------------------------------------------------------------------------
# Every nn loss, on a linear model of the inputs; labels are graph inputs where the
# loss takes one score (so the replay varies them), a fixed class index otherwise.

ONE_SCORE = {
    "mse_loss": (nn.mse_loss, st.floats(-1000.0, 1000.0)),
    "binary_cross_entropy": (nn.binary_cross_entropy, st.sampled_from([0.0, 1.0])),
    "binary_cross_entropy_with_logits": (nn.binary_cross_entropy_with_logits,
                                         st.sampled_from([0.0, 1.0])),
    "hinge_loss": (nn.hinge_loss, st.sampled_from([-1.0, 1.0])),
    "perceptron_loss": (nn.perceptron_loss, st.sampled_from([-1.0, 1.0])),
}
INDEX = {
    "cross_entropy": nn.cross_entropy,
    "nll_loss": lambda scores, k: nn.nll_loss(log_softmax(scores), k),
    "multiclass_hinge_loss": nn.multiclass_hinge_loss,
}
REGULARIZERS = {"none": None, "l1": nn.l1, "l2": nn.l2, "elastic_net": nn.elastic_net}


@st.composite
def loss_cases(draw):
    regularizer = REGULARIZERS[draw(st.sampled_from(sorted(REGULARIZERS)))]
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(ONE_SCORE)))
        loss, labels = ONE_SCORE[name]
        # bce takes a probability: a sigmoid of the score, or the raw input itself
        # (then points outside [0, 1] must be refused, as eager refuses them).
        squash = name == "binary_cross_entropy" and draw(st.booleans())
        raw = name == "binary_cross_entropy" and not squash

        def build(xs, params):
            score = xs[0] if raw else params[0] * xs[0] + params[1]
            if squash:
                score = score.sigmoid()
            total = loss(score, xs[1])
            return total if regularizer is None else total + regularizer(params)

        example = [draw(st.floats(0.05, 0.95)) if raw else draw(moderate), draw(labels)]
        points = draw(st.lists(st.tuples(coordinate, labels), min_size=1, max_size=6))
        return name, build, example, [list(p) for p in points], 2
    name = draw(st.sampled_from(sorted(INDEX)))
    loss = INDEX[name]
    classes = draw(st.integers(2, 4))
    k = draw(st.integers(0, classes - 1))

    def build(xs, params):
        scores = [params[j] * xs[j] + params[classes + j] for j in range(classes)]
        total = loss(scores, k)
        return total if regularizer is None else total + regularizer(params)

    example = draw(st.lists(moderate, min_size=classes, max_size=classes))
    points = draw(st.lists(st.lists(coordinate, min_size=classes, max_size=classes),
                           min_size=1, max_size=6))
    return name, build, example, points, 2 * classes


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

@SETTINGS
@given(expression_cases())
def test_replayed_expressions_equal_eager_or_refuse(case):
    expression, example, points = case
    build = expression_builder(expression)
    try:
        trace(lambda xs: build(xs, [Value(1.0), Value(1.0)]), list(example))
    except (ValueError, ArithmeticError):
        return  # the example itself is outside a domain: nothing was traced
    check_replay(build, list(example), [list(p) for p in points], 2)


@SETTINGS
@given(loss_cases())
def test_replayed_losses_equal_eager_or_refuse(case):
    name, build, example, points, num_params = case
    check_replay(build, example, points, num_params)


def test_the_example_count_is_at_least_a_thousand():
    for test in (test_replayed_expressions_equal_eager_or_refuse,
                 test_replayed_losses_equal_eager_or_refuse):
        assert test._hypothesis_internal_use_settings.max_examples >= 1000


def test_a_frozen_shift_is_refused_at_trace_time():
    """The old cross-entropy, whose logsumexp shift was read from .data, is refused."""
    def frozen_shift_cross_entropy(scores, k):
        shift = max(s.data for s in scores)
        total = sum(((s - shift).exp() for s in scores), Value(0.0)).log() + shift
        return total - scores[k]

    w = [Value(1.0), Value(1.0)]
    with pytest.raises(TraceError, match="different graph"):
        trace(lambda xs: frozen_shift_cross_entropy([w[0] * xs[0], w[1] * xs[1]], 0),
              [0.5, -0.5], params=w)


def test_a_probability_outside_zero_one_is_refused_by_the_replay_as_by_eager():
    traced = trace(lambda xs: nn.binary_cross_entropy(xs[0], xs[1]), [0.5, 1.0])
    assert traced.forward([[0.25, 1.0]])[0, 0] == pytest.approx(math.log(4), rel=1e-15)
    with pytest.raises(DomainError, match="1.5 is not a probability"):
        traced.forward([[0.25, 1.0], [1.5, 1.0]])
    with pytest.raises(DomainError, match="1.5 is not a probability"):
        nn.binary_cross_entropy(Value(1.5), 1)
