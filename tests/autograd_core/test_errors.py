"""Every bad input gets its stated error, with a message that shows the problem."""

import math
import re

import numpy as np
import pytest

from autograd_core import (
    DomainError,
    Value,
    apply_op,
    backward_steps,
    grad,
    topological_order,
)
from autograd_core import functional as F

x = Value(2.0)

CASES = [
    # (description, call, error type, text the message must contain)
    ("str data", lambda: Value("1.5"), TypeError, "'1.5'"),
    ("None data", lambda: Value(None), TypeError, "None"),
    ("list data", lambda: Value([1.0]), TypeError, "[1.0]"),
    ("complex data", lambda: Value(1 + 2j), TypeError, "(1+2j)"),
    ("numpy complex data", lambda: Value(np.complex128(1)), TypeError, "must be real"),
    ("bool data", lambda: Value(True), TypeError, "True"),
    ("numpy bool data", lambda: Value(np.bool_(False)), TypeError, "False"),
    ("a Value as data", lambda: Value(Value(1.0)), TypeError, "Value("),
    ("NaN data", lambda: Value(float("nan")), ValueError, "NaN"),
    ("numpy NaN data", lambda: Value(np.float64("nan")), ValueError, "NaN"),
    ("int too large", lambda: Value(10**400), ValueError, "too large"),
    ("longdouble too large", lambda: Value(np.longdouble("-1e400")), ValueError, "too large"),
    ("label not a str", lambda: Value(1.0, label=3), TypeError, "label must be a str; got 3"),
    ("log(0)", lambda: Value(0.0).log(), DomainError, "log: input must be positive, got 0.0"),
    ("log(-1)", lambda: Value(-1.0).log(), DomainError, "log: input must be positive, got -1.0"),
    ("sqrt(-1)", lambda: Value(-1.0).sqrt(), DomainError, "non-negative, got -1.0"),
    ("0 ** -1", lambda: Value(0.0) ** -1, DomainError, "0 cannot be raised to a negative power"),
    ("(-8) ** (1/3)", lambda: Value(-8.0) ** (1 / 3), DomainError, "needs an integer exponent"),
    ("negative base, Value exponent", lambda: Value(-2.0) ** x, DomainError, "got base -2.0"),
    ("number base <= 0, Value exponent", lambda: 0 ** x, DomainError, "got base 0.0"),
    ("Value / 0", lambda: x / 0, DomainError, "div: division by zero"),
    ("Value / Value(0)", lambda: x / Value(0.0), DomainError, "division by zero"),
    ("number / Value(0)", lambda: 1 / Value(0.0), DomainError, "division by zero"),
    ("sin(inf)", lambda: Value(math.inf).sin(), DomainError, "sin: input must be finite"),
    ("Value + str", lambda: x + "a", TypeError, "'a'"),
    ("None * Value", lambda: None * x, TypeError, "None"),
    ("Value + array", lambda: x + np.ones(3), TypeError, "numpy array of shape (3,)"),
    ("str exponent", lambda: x ** "2", TypeError, "'2'"),
    ("str slope", lambda: x.leaky_relu("0.1"), TypeError, "'0.1'"),
    ("comparison with str", lambda: x < "3", TypeError, "'3'"),
    ("str gradient", lambda: (x * 1).backward("1"), TypeError, "'1'"),
    ("NaN gradient", lambda: (x * 1).backward(float("nan")), ValueError, "NaN"),
    ("unknown op", lambda: apply_op("erf", x), NotImplementedError, "no rule for op 'erf'"),
    ("op name not a str", lambda: apply_op(len, x), TypeError, "op name must be a str"),
    ("wrong arity", lambda: apply_op("add", x), ValueError, "takes 2 inputs, got 1"),
    ("empty variadic op", lambda: apply_op("sum"), ValueError, "at least one input"),
    ("topological_order of a number", lambda: topological_order(3.0), TypeError, "3.0"),
    ("backward_steps of None", lambda: backward_steps(None), TypeError, "None"),
    ("grad of a number", lambda: grad(3.0, [x]), TypeError, "3.0"),
    ("grad wrt a number", lambda: grad(x * 2, [1.0]), TypeError, "1.0"),
    ("softmax of a str", lambda: F.softmax("abc"), TypeError, "'abc'"),
    ("softmax of a number", lambda: F.softmax(3.0), TypeError, "3.0"),
    ("log_softmax of a Value", lambda: F.log_softmax(x), TypeError, "Value("),
    ("softmax of strs", lambda: F.softmax(["a", "b"]), TypeError, "'a'"),
    ("softmax of []", lambda: F.softmax([]), ValueError, "empty"),
    ("logsumexp of []", lambda: F.logsumexp([]), ValueError, "empty"),
    ("logsumexp with NaN", lambda: F.logsumexp([1.0, math.nan]), ValueError, "NaN"),
    ("vsum of []", lambda: F.vsum([]), ValueError, "empty"),
    ("mean of []", lambda: F.mean([]), ValueError, "empty"),
    ("vsum with None", lambda: F.vsum([1.0, None]), TypeError, "None"),
    ("dot length mismatch", lambda: F.dot([1, 2], [3]), ValueError, "lengths differ (2 and 1)"),
    ("dot of a number", lambda: F.dot(1.0, [1.0]), TypeError, "1.0"),
    ("dot with None", lambda: F.dot([None], [1.0]), TypeError, "dot: each element must be"),
    ("mean with a str", lambda: F.mean([1.0, "2"]), TypeError, "'2'"),
    ("wta of strs", lambda: F.wta(["a"]), TypeError, "'a'"),
    ("wta of None", lambda: F.wta([None]), TypeError, "None"),
    ("wta of []", lambda: F.wta([]), ValueError, "empty"),
    ("maximum of []", lambda: F.maximum([]), ValueError, "empty"),
    ("maximum of a dict", lambda: F.maximum({"a": 1}), TypeError, "'a'"),
]


@pytest.mark.parametrize(("call", "error", "text"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_gets_the_stated_error(call, error, text):
    with pytest.raises(error, match=re.escape(text)):
        call()


def test_domain_errors_are_value_errors():
    assert issubclass(DomainError, ValueError)
    with pytest.raises(ValueError):
        Value(-1.0).log()


def test_a_failed_op_leaves_its_inputs_unchanged():
    y = Value(-1.0, "y")
    with pytest.raises(DomainError):
        y.sqrt()
    assert (y.data, y.grad, y.op, y.parents) == (-1.0, 0.0, "", ())
