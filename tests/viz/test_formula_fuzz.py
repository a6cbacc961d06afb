"""Property tests: parse_formula never lets anything but FormulaError escape."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from viz.formula import FormulaError, parse_formula

ALPHABET = "xyz019.+-*/()_,[]'\"eE lambdtnhsigmoxp:;=<>!@%&|^~\\\n"


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_any_text_parses_or_is_a_formula_error(text):
    try:
        formula = parse_formula(text)
    except FormulaError:
        return
    point = {name: 0.7 for name in formula.names}
    try:
        value = formula.evaluate(point)
    except FormulaError:
        return
    assert math.isfinite(value)


LEAVES = st.sampled_from(["x", "y", "2", "0.5", "3"])


def _combine(children):
    unary = st.tuples(st.sampled_from(["-", "tanh", "sigmoid", "exp", "sin", "relu"]),
                      children).map(lambda p: f"-({p[1]})" if p[0] == "-" else f"{p[0]}({p[1]})")
    binary = st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(
        lambda t: f"({t[0]}) {t[1]} ({t[2]})")
    return unary | binary


@settings(max_examples=200)
@given(st.recursive(LEAVES, _combine, max_leaves=12),
       st.floats(-2, 2), st.floats(-2, 2))
def test_whitelisted_expressions_match_python_math(text, x, y):
    functions = {
        "tanh": math.tanh, "exp": math.exp, "sin": math.sin,
        "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "relu": lambda v: max(v, 0.0),
    }
    # The reference evaluates the generated (trusted, test-made) text with Python.
    try:
        expected = eval(text, {"__builtins__": {}}, {**functions, "x": x, "y": y})  # noqa: S307
    except OverflowError:
        expected = math.inf
    formula = parse_formula(text)
    point = {name: {"x": x, "y": y}[name] for name in formula.names}
    try:
        value = formula.evaluate(point)
    except FormulaError:
        assert not math.isfinite(expected) or abs(expected) > 1e300
        return
    assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12)
