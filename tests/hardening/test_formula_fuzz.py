"""Fuzzing the formula parser: random text and random syntax trees, forbidden ones included.

For every input, ``parse_formula`` (then ``evaluate`` and ``draw_graph`` of what it
accepts) either succeeds or raises its own documented error (``FormulaError``; a
``ValueError`` naming ``max_nodes`` from ``draw_graph``), never anything else; it
never evaluates Python (a tripwire builtin called by many generated formulas must
never fire, and ``eval``/``exec``/``compile`` are made to raise while the parser
runs); it never hangs (each example is timed). For generated trees, a whitelist
checker written independently here predicts exactly which ones are accepted, and
where the formula and a plain-float evaluation of its syntax tree both give a
number, they give the same one.

CI runs 2,000 examples per test. For a longer run set ``FUZZ_EXAMPLES``, e.g.
``FUZZ_EXAMPLES=100000 python -m pytest tests/hardening/test_formula_fuzz.py``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
import os
import time

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from viz import FormulaError, draw_graph, graph_stats, parse_formula
from viz.formula import FUNCTIONS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
SECONDS_PER_EXAMPLE = 2.0

# -- the tripwire and the ban on evaluation -------------------------------------------------

TRIPWIRE = "fire"
_fired: list[tuple] = []


def _fire(*args, **kwargs):
    _fired.append(args)
    return 1.0


class EvaluationAttempted(BaseException):
    """Raised by the patched eval/exec/compile; a BaseException so nothing swallows it."""


_real_compile = builtins.compile


def _compile_only_to_ast(source, filename, mode, flags=0, *args, **kwargs):
    # ast.parse calls compile with PyCF_ONLY_AST: that builds a tree, it runs nothing.
    if flags & ast.PyCF_ONLY_AST:
        return _real_compile(source, filename, mode, flags, *args, **kwargs)
    raise EvaluationAttempted(f"compile({source!r})")


def _refuse(name):
    def refuse(*args, **kwargs):
        raise EvaluationAttempted(f"{name}{args!r}")
    return refuse


@contextlib.contextmanager
def no_python_evaluation():
    """While inside: ``fire()`` records a call; eval, exec and compile-to-code raise."""
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    builtins.eval = _refuse("eval")
    builtins.exec = _refuse("exec")
    builtins.compile = _compile_only_to_ast
    setattr(builtins, TRIPWIRE, _fire)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(builtins, name, function)
        delattr(builtins, TRIPWIRE)


POINT = 0.75  # every variable's value


def parse_evaluate_draw(text: str):
    """The whole path a typed formula takes.

    Returns the Formula or the FormulaError, and the value (None if not evaluated).
    """
    start = time.perf_counter()
    value = None
    with no_python_evaluation():
        try:
            formula = parse_formula(text)
        except FormulaError as error:
            result = error
        else:
            result = formula
            try:
                root = formula.build({name: POINT for name in formula.names})
            except FormulaError:
                pass
            else:
                assert math.isfinite(root.data)
                value = root.data
                try:
                    digraph = draw_graph(root, mode="backward")
                except ValueError as error:
                    assert "max_nodes" in str(error)
                else:
                    assert digraph.source.count("<TABLE") >= graph_stats(root).nodes
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS_PER_EXAMPLE, f"{elapsed:.2f} s for {text!r}"
    assert not _fired, f"the tripwire fired: Python evaluated {text!r}"
    return result, value


# -- random text ------------------------------------------------------------------------------

TOKENS = [
    "x", "y", "w", "b", "0", "1", "2.5", "9", "1e308", "1e400", "10" * 20, "+", "-", "*", "/",
    "**", "//", "%", "@", "(", ")", ",", ".", "[", "]", ":", "=", ":=", "'", '"', " ", "\n",
    "lambda", "for", "in", "if", "else", "not", "and", "import", "yield", "await", "__class__",
    "__import__", "__builtins__", "_x", TRIPWIRE, "eval", "exec", "os", "system", "÷", "√", "ｘ",
    "\u202e", "\x00", "🔥", *FUNCTIONS,
]
texts = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="xyzwb0123456789.+-*/()_,[]'\" eE:;=<>!@%&|^~\\\nlambdtnhsigmoxpfire",
            max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
    st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
)


@pytest.mark.filterwarnings("error")  # any warning on the way fails the example
@settings(max_examples=EXAMPLES)
@given(texts)
@example(f"{TRIPWIRE}()")
@example(f"__import__('builtins').{TRIPWIRE}()")
@example(f"[{TRIPWIRE}() for i in (1, 2)]")
@example(f"(lambda: {TRIPWIRE}())()")
@example(f"x.__class__.__init__.__globals__['{TRIPWIRE}']()")
def test_random_text_is_a_formula_or_a_formula_error(text):
    result, _ = parse_evaluate_draw(text)
    assert isinstance(result, (FormulaError, type(parse_formula("x"))))


# -- random syntax trees ----------------------------------------------------------------------

# A tree is drawn as a flat list of (kind, argument) instructions and built with a stack,
# which is much faster to draw and shrink than a recursive strategy. Kinds 0-99 are
# weighted: mostly whitelisted constructs, so that a forbidden one deep inside a valid
# formula is the typical refusal, and a fair share of trees is accepted.
NAMES = [TRIPWIRE, "_x", "__import__", "__builtins__", "eval", "open", "exp", "tanh", "max",
         "sum", "leaky_relu"]
CONSTANTS = [10**400, float("inf"), float("nan"), True, None, "os", b"x", 1j, Ellipsis, 1e308]
CALLEES = [TRIPWIRE, "eval", "__import__", "getattr", "print", "range"]
BINARY = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow]
FORBIDDEN_BINARY = [ast.FloorDiv, ast.Mod, ast.MatMult, ast.BitOr, ast.LShift]
UNARY = [ast.Not, ast.Invert, ast.UAdd]
ATTRIBUTES = ["__class__", "__globals__", "real", TRIPWIRE, "system"]
FUNCTION_NAMES = list(FUNCTIONS)


def _load(name):
    return ast.Name(name, ast.Load())


def _comprehension(iterable):
    return [ast.comprehension(target=ast.Name("i", ast.Store()), iter=iterable, ifs=[],
                              is_async=0)]


_NO_ARGUMENTS = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])

# (number of children, builder(argument, children)) for each forbidden construct.
FORBIDDEN = [
    (2, lambda a, c: ast.BinOp(c[0], FORBIDDEN_BINARY[a % 5](), c[1])),
    (1, lambda a, c: ast.UnaryOp(UNARY[a % 3](), c[0])),
    (1, lambda a, c: ast.Call(_load(CALLEES[a % len(CALLEES)]), c, [])),
    (1, lambda a, c: ast.Call(ast.Attribute(c[0], ATTRIBUTES[a % 5], ast.Load()), [], [])),
    (1, lambda a, c: ast.Attribute(c[0], ATTRIBUTES[a % 5], ast.Load())),
    (2, lambda a, c: ast.Subscript(c[0], c[1], ast.Load())),
    (1, lambda a, c: ast.Lambda(_NO_ARGUMENTS, c[0])),
    (2, lambda a, c: ast.ListComp(c[0], _comprehension(c[1]))),
    (2, lambda a, c: ast.Call(_load("sum"), [ast.GeneratorExp(c[0], _comprehension(c[1]))],
                              [])),
    (2, lambda a, c: ast.Compare(c[0], [ast.Lt()], [c[1]])),
    (2, lambda a, c: ast.BoolOp(ast.And(), c)),
    (3, lambda a, c: ast.IfExp(*c)),
    (2, lambda a, c: ast.Tuple(c, ast.Load())),
    (1, lambda a, c: ast.List(c, ast.Load())),
    (2, lambda a, c: ast.Dict([c[0]], [c[1]])),
    (1, lambda a, c: ast.NamedExpr(ast.Name("z", ast.Store()), c[0])),
    (1, lambda a, c: ast.Call(_load("max"), [ast.Starred(c[0], ast.Load())], [])),
    (2, lambda a, c: ast.Call(_load("exp"), [c[0]], [ast.keyword("x", c[1])])),
    (2, lambda a, c: ast.Call(_load("leaky_relu"), c, [])),  # a slope that is not a number
    (1, lambda a, c: ast.JoinedStr([ast.FormattedValue(c[0], -1, None)])),
    (1, lambda a, c: ast.Await(c[0])),
    (1, lambda a, c: ast.Yield(c[0])),
]


def _leaf(argument):
    if argument % 3:
        return ast.Constant(round(argument / 97 - 5, 3))
    return _load("xyw"[argument // 3 % 3])


def build_tree(instructions):
    """Build one expression from (kind, argument) pairs with a stack (see above)."""
    stack = []

    def pop(count):
        children = [stack.pop() if stack else _leaf(argument) for _ in range(count)]
        return children[::-1]

    for kind, argument in instructions:
        if kind < 30:
            stack.append(_leaf(argument))
        elif kind < 32:
            pool = NAMES if argument % 2 else CONSTANTS
            item = pool[argument // 2 % len(pool)]
            stack.append(_load(item) if pool is NAMES else ast.Constant(item))
        elif kind < 55:
            left, right = pop(2)
            stack.append(ast.BinOp(left, BINARY[argument % 5](), right))
        elif kind < 63:
            stack.append(ast.UnaryOp(ast.USub(), *pop(1)))
        elif kind < 92:
            spec = FUNCTIONS[FUNCTION_NAMES[argument % len(FUNCTION_NAMES)]]
            # Usually a valid number of arguments, sometimes 0 to 3 whatever the function.
            count = spec.min_args if argument % 7 else argument // 7 % 4
            args = pop(count)
            if spec.name == "leaky_relu" and count == 2 and argument % 2:
                args[1] = ast.Constant(0.1)
            stack.append(ast.Call(_load(spec.name), args, []))
        else:
            arity, make = FORBIDDEN[argument % len(FORBIDDEN)]
            stack.append(make(argument // len(FORBIDDEN), pop(arity)))
    tree = stack[0] if stack else _load("x")
    for other in stack[1:]:
        tree = ast.BinOp(tree, ast.Add(), other)
    return tree


trees = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 2**16)), min_size=1,
                 max_size=40).map(build_tree)

_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
                  ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def _is_number(node) -> bool:
    """A real, finite literal, optionally signed (what a slope may be)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and _finite_literal(node.value)


def _finite_literal(value) -> bool:
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def within_whitelist(text: str) -> bool:
    """An independent reading of the documented whitelist (see ``parse_formula``)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return False
        if isinstance(node, ast.Constant) and not _finite_literal(node.value):
            return False
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                return False
            spec = FUNCTIONS[node.func.id]
            if node.keywords or not spec.min_args <= len(node.args) <= spec.max_args:
                return False
            if spec.name == "leaky_relu" and len(node.args) == 2 and not _is_number(
                    node.args[1]):
                return False
            called.add(id(node.func))
        if isinstance(node, ast.Name) and id(node) not in called and (
                node.id.startswith("_") or node.id in FUNCTIONS):
            return False
    # Call nodes are visited before their func Name (breadth first), so `called` is
    # complete when a function's name is reached.
    return True


@pytest.mark.filterwarnings("error")
@settings(max_examples=EXAMPLES)
@given(trees)
def test_random_syntax_trees_are_accepted_exactly_when_whitelisted(tree):
    text = ast.unparse(tree)
    result, value = parse_evaluate_draw(text)
    accepted = not isinstance(result, FormulaError)
    event("accepted" if accepted else "refused")
    assert accepted == within_whitelist(text), (text, result)
    if value is not None:
        expected = reference_value(ast.parse(text.strip(), mode="eval").body)
        if expected is not None:  # both computed a number: the same one
            event("value compared")
            assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9), (text, value,
                                                                                 expected)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _logsumexp(xs):
    top = max(xs)
    if math.isinf(top):
        return top
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def _bce(p, t):
    if not 0.0 <= p <= 1.0:
        raise ValueError("not a probability")
    log_p = math.log(p) if p > math.exp(-100.0) else -100.0
    log_q = math.log1p(-p) if 1.0 - p > math.exp(-100.0) else -100.0
    return -(t * log_p + (1.0 - t) * log_q)


REFERENCE_FUNCTIONS = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
    "sigmoid": _sigmoid, "relu": lambda x: max(x, 0.0), "abs": abs, "sin": math.sin,
    "cos": math.cos, "softplus": lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
    "leaky_relu": lambda x, slope=0.01: x if x > 0 else slope * x, "max": max,
    "sum": lambda *xs: sum(xs, 0.0),
    "logsumexp": lambda *xs: _logsumexp(xs),
    "log_sigmoid": lambda x: -_softplus(-x),
    "bce": lambda p, t: _bce(p, t),
    "bce_logits": lambda z, t: (t * _softplus(-z) if t != 0 else 0.0)
    + ((1 - t) * _softplus(z) if t != 1 else 0.0),
}
REFERENCE_BINARY = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
                    ast.Div: float.__truediv__, ast.Pow: math.pow}


def reference_value(node):
    """The formula's value computed with plain floats and ``math`` (None: out of domain).

    A second implementation of the maths, for formulas the whitelist accepts; it never
    touches the engine or the parser's program, only Python's own syntax tree.
    """
    try:
        return _reference(node)
    except (ValueError, OverflowError, ZeroDivisionError):
        return None


def _reference(node):
    if isinstance(node, ast.Constant):
        result = float(node.value)
    elif isinstance(node, ast.Name):
        result = POINT
    elif isinstance(node, ast.UnaryOp):
        operand = _reference(node.operand)
        result = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp):
        result = REFERENCE_BINARY[type(node.op)](_reference(node.left), _reference(node.right))
    else:
        result = REFERENCE_FUNCTIONS[node.func.id](*[_reference(arg) for arg in node.args])
    if not math.isfinite(result):
        raise OverflowError(result)
    return float(result)


# -- the checks themselves can fail -----------------------------------------------------------


def test_the_tripwire_and_the_ban_work():
    with no_python_evaluation():
        try:
            eval(f"{TRIPWIRE}()")  # noqa: S307 - the patched eval must refuse this
        except EvaluationAttempted:
            pass
        else:
            raise AssertionError("eval was not refused")
        assert ast.parse("1 + 2", mode="eval")  # building a tree is still allowed
        getattr(builtins, TRIPWIRE)()
    assert _fired == [()]
    _fired.clear()
    assert not hasattr(builtins, TRIPWIRE) and builtins.eval is not None
    assert eval("1 + 2") == 3  # noqa: S307 - restored afterwards


def test_the_whitelist_checker_knows_both_sides():
    assert within_whitelist("tanh(w*x + b) ** 2 - leaky_relu(x, -0.5) / sum(x, 1, 2)")
    assert within_whitelist("-(-(x))")
    for text in ("x.real", "fire()", "_x", "exp", "exp(x, y)", "max(x)", "leaky_relu(x, y)",
                 "True", "1e400", "'a'", "x // 2", "not x", "[x]", "lambda: x", "x < y"):
        assert not within_whitelist(text), text
