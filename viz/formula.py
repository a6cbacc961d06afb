"""Typed formulas such as ``tanh(w*x + b)``, parsed into a whitelist and built as Values.

Python's :mod:`ast` only parses the text; nothing is ever evaluated by Python (no
``eval``, ``exec`` or ``compile`` of user text). The tree is checked node by node against
a whitelist (numbers, variable names, ``+ - * / **``, unary minus and calls of the
engine's functions) and turned into a small postfix program, walking the tree with an
explicit stack, so deeply nested input cannot overflow the interpreter's stack.

Example:
    >>> formula = parse_formula("tanh(w*x + b)")
    >>> formula.names
    ('w', 'x', 'b')
    >>> round(formula.evaluate(x=0.5, w=-3, b=2), 6)
    0.462117
"""

from __future__ import annotations

import ast
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from autograd_core import RULES, Rule, Value, apply_op

__all__ = ["parse_formula", "Formula", "FormulaError", "FUNCTIONS", "MAX_LENGTH", "MAX_NODES"]

#: Longest formula accepted, in characters.
MAX_LENGTH = 10_000
#: Most syntax-tree nodes a formula may have.
MAX_NODES = 4_000


class FormulaError(ValueError):
    """A formula that is not in the whitelist, or cannot be evaluated at the given point."""


@dataclass(frozen=True)
class FunctionSpec:
    """A function a formula may call: its arity and how it builds the node."""

    name: str
    min_args: int
    max_args: int
    signature: str
    build: Callable[..., Value]
    rule: str

    @property
    def doc(self) -> str:
        """One line for ``--help``: the signature and the derivative rule."""
        return f"{self.signature:<22} {RULES[self.rule].text}"


def _call_rule(rule: Rule) -> Callable[..., Value]:
    """Apply a rule as a formula calls it: inputs first, then its attributes (numbers)."""
    arity = rule.arity

    def build(*args: Any) -> Value:
        inputs = args if arity == -1 else args[:arity]
        attrs = () if arity == -1 else args[arity:]
        if rule.method is not None:
            return getattr(inputs[0], rule.method)(*inputs[1:], *attrs)
        missing = rule.defaults[len(rule.defaults) - (len(rule.params) - len(attrs)):]
        return apply_op(rule.name, *inputs, attrs=(*attrs, *missing))

    return build


def _spec(rule: Rule) -> FunctionSpec:
    """A rule as a formula function: its signature from its arity and params."""
    if rule.arity == -1:
        return FunctionSpec(rule.name, 1, MAX_NODES, f"{rule.name}(x1, x2, ...)",
                            _call_rule(rule), rule.name)
    inputs = ["x", "y", "z"][:rule.arity] if rule.arity <= 3 else [
        f"x{i + 1}" for i in range(rule.arity)]
    required = len(rule.params) - len(rule.defaults)
    text = ", ".join(inputs + list(rule.params[:required]))
    for param in rule.params[required:]:
        text += f"[, {param}]"
    return FunctionSpec(rule.name, rule.arity + required, rule.arity + len(rule.params),
                        f"{rule.name}({text})", _call_rule(rule), rule.name)


class _Functions(Mapping[str, FunctionSpec]):
    """The functions a formula may call, read from the rule table at every use.

    Every rule a formula cannot write as an operator is a function: those with a
    ``Value`` method (``tanh``, ``abs``, ``leaky_relu``) and those with neither method
    nor operator (``max``, ``sum``); a rule registered later appears at once.
    """

    def __init__(self) -> None:
        self._made: tuple[tuple, dict[str, FunctionSpec]] = ((), {})

    def _specs(self) -> dict[str, FunctionSpec]:
        table = tuple(map(id, RULES.values()))  # made again only when a rule changes
        if table != self._made[0]:
            self._made = (table, {name: _spec(rule) for name, rule in RULES.items()
                                  if rule.method is not None or rule.operator is None})
        return self._made[1]

    def __getitem__(self, name: str) -> FunctionSpec:
        return self._specs()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs())

    def __len__(self) -> int:
        return len(self._specs())

    def __contains__(self, name: object) -> bool:
        return name in self._specs()

    def get(self, name: str, default: Any = None) -> Any:
        return self._specs().get(name, default)


#: Every function a formula may call, by name (a live view of the rule table).
FUNCTIONS: Mapping[str, FunctionSpec] = _Functions()

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY_OPS = {ast.USub: "-", ast.UAdd: "+"}
_DESCRIBE = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "'... if ... else ...'",
    ast.Tuple: "tuples",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment (':=')",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}
def _allowed() -> str:
    return "numbers, variable names, + - * / **, unary minus and calls of " + ", ".join(
        FUNCTIONS)


def _where(node: ast.AST) -> str:
    column = getattr(node, "col_offset", None)
    return f" at column {column + 1}" if column is not None else ""


def _number(node: ast.Constant) -> float:
    value = node.value
    if type(value) not in (int, float):
        raise FormulaError(
            f"{value!r}{_where(node)} is not allowed: constants must be real numbers "
            f"(allowed: {_allowed()})"
        )
    try:
        number = float(value)
    except OverflowError:
        raise FormulaError(f"the number{_where(node)} is too large for a float") from None
    if not math.isfinite(number):
        raise FormulaError(f"the number{_where(node)} is not finite")
    return number


def _constant_operand(node: ast.AST) -> tuple[float, str] | None:
    """A literal number, possibly with unary minus, as (value, text); else None."""
    sign = 1.0
    prefix = ""
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
        if isinstance(node.op, ast.USub):
            sign, prefix = -1.0, "-"
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = _number(node)
        return sign * value, f"{prefix}{value:g}"
    return None


@dataclass(frozen=True)
class Formula:
    """A parsed formula: a postfix program over the whitelisted operations.

    Attributes:
        text: the formula as typed.
        names: the variables, in order of first appearance.
        program: postfix instructions (tuples); built by :func:`parse_formula`.
    """

    text: str
    names: tuple[str, ...]
    program: tuple[tuple, ...]

    def build(self, values: Mapping[str, Any] | None = None, **more: Any) -> Value:
        """Build the graph at a point: one labelled leaf per variable; returns the root.

        Raises:
            FormulaError: a variable without a value, an unknown variable, a value that
                is not a real number, or a result outside an op's domain or not finite.
        """
        point = {**(values or {}), **more}
        for name in point:
            if name not in self.names:
                used = ", ".join(self.names) or "no variables"
                raise FormulaError(f"unknown variable {name!r} (the formula uses: {used})")
        leaves: dict[str, Value] = {}
        for name in self.names:
            if name not in point:
                raise FormulaError(f"no value for variable {name!r}")
            raw = point[name]
            if isinstance(raw, bool) or not isinstance(raw, (numbers.Real, Value)):
                raise FormulaError(f"the value of {name!r} must be a real number; got {raw!r}")
            number = float(raw)
            if not math.isfinite(number):
                raise FormulaError(f"the value of {name!r} must be finite; got {raw!r}")
            leaves[name] = Value(number, name)
        stack: list[Value] = []
        for instruction in self.program:
            kind = instruction[0]
            try:
                if kind == "var":
                    stack.append(leaves[instruction[1]])
                    continue
                if kind == "const":
                    stack.append(Value(instruction[1], instruction[2]))
                    continue
                if kind == "neg":
                    result = -stack.pop()
                elif kind == "pow_const":
                    result = stack.pop() ** instruction[1]
                elif kind == "binary":
                    right = stack.pop()
                    left = stack.pop()
                    result = _apply_binary(instruction[1], left, right)
                else:  # "call": the inputs from the stack, then the constant attributes
                    count = instruction[2]
                    args = stack[len(stack) - count :]
                    del stack[len(stack) - count :]
                    result = FUNCTIONS[instruction[1]].build(*args, *instruction[3])
            except FormulaError:
                raise
            except (ValueError, OverflowError, ZeroDivisionError) as error:
                raise FormulaError(f"cannot evaluate at this point: {error}") from None
            if not math.isfinite(result.data):
                raise FormulaError(
                    f"the result of {instruction[-1]} is not finite ({result.data}); "
                    "huge powers such as 9**9**9 overflow a float"
                )
            stack.append(result)
        return stack[0]

    def evaluate(self, values: Mapping[str, Any] | None = None, **more: Any) -> float:
        """The formula's value at a point (a float)."""
        return self.build(values, **more).data


def _apply_binary(symbol: str, left: Value, right: Value) -> Value:
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left - right
    if symbol == "*":
        return left * right
    if symbol == "/":
        return left / right
    return left**right


def _syntax_place(text: str, error: SyntaxError) -> str:
    """Where Python's parser stopped, in the user's text (which was parsed stripped)."""
    if not error.offset:  # Python gives no column for some errors ("x*"): claim none
        return ""
    prefix = text[:len(text) - len(text.lstrip())]
    line = (error.lineno or 1) + prefix.count("\n")
    column = error.offset
    if error.lineno in (None, 1):
        column += len(prefix) - prefix.rfind("\n") - 1  # the stripped start of the line
    return f" at column {column}" if line == 1 else f" at line {line} column {column}"


def parse_formula(text: str) -> Formula:
    """Parse ``text`` into a :class:`Formula`, allowing only the whitelist.

    Allowed: numbers, variable names (not starting with ``_``), ``+ - * / **``, unary
    minus and plus, and calls of the functions in :data:`FUNCTIONS`.

    Raises:
        TypeError: ``text`` is not a str.
        FormulaError: anything else (with the reason and the column).

    Example:
        >>> parse_formula("x ** 2 + 1").evaluate(x=3)
        10.0
        >>> parse_formula("__import__('os')")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        viz.formula.FormulaError: unknown function '__import__' at column 1 (allowed: ...
    """
    if not isinstance(text, str):
        raise TypeError(f"a formula must be a str; got {text!r} ({type(text).__name__})")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; at most {MAX_LENGTH}")
    if not text.strip():
        raise FormulaError("the formula is empty")
    try:
        # Python warns about some texts it parses ("1if": an invalid decimal literal); the
        # formula's own error says what is wrong, so the warning would only be noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"syntax error: {error.msg}{_syntax_place(text, error)}") from None
    except (RecursionError, MemoryError):
        raise FormulaError("the formula is nested too deeply to parse") from None
    except ValueError as error:
        raise FormulaError(f"cannot parse the formula: {error}") from None
    return _compile(text, tree.body)


def _compile(text: str, body: ast.AST) -> Formula:
    """Check the tree against the whitelist and emit postfix instructions, iteratively."""
    program: list[tuple] = []
    names: dict[str, None] = {}
    stack: list[tuple[ast.AST, bool]] = [(body, False)]
    visited = 0
    while stack:
        node, expanded = stack.pop()
        if not expanded:
            visited += 1
            if visited > MAX_NODES:
                raise FormulaError(f"the formula has more than {MAX_NODES} parts")
        if isinstance(node, ast.Constant):
            value = _number(node)
            program.append(("const", value, f"{value:g}", f"{value:g}"))
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise FormulaError(
                    f"{node.id!r}{_where(node)} is a function; call it, e.g. {node.id}(x)"
                )
            if node.id.startswith("_"):
                raise FormulaError(
                    f"name {node.id!r}{_where(node)} is not allowed: names must not start "
                    "with '_'"
                )
            names.setdefault(node.id, None)
            program.append(("var", node.id))
        elif isinstance(node, ast.UnaryOp):
            symbol = _UNARY_OPS.get(type(node.op))
            if symbol is None:
                raise FormulaError(
                    f"unary operator {_op_text(node.op)!r}{_where(node)} is not allowed "
                    f"(allowed: {_allowed()})"
                )
            constant = _constant_operand(node)
            if constant is not None:
                program.append(("const", constant[0], constant[1], constant[1]))
            elif expanded:
                if symbol == "-":
                    program.append(("neg", f"-(...){_where(node)}"))
            else:
                stack.append((node, True))
                stack.append((node.operand, False))
        elif isinstance(node, ast.BinOp):
            symbol = _BINARY.get(type(node.op))
            if symbol is None:
                raise FormulaError(
                    f"operator {_op_text(node.op)!r}{_where(node)} is not allowed "
                    f"(allowed: {_allowed()})"
                )
            exponent = _constant_operand(node.right) if symbol == "**" else None
            if expanded:
                where = f"'{symbol}'{_where(node)}"
                if exponent is not None:
                    program.append(("pow_const", exponent[0], where))
                else:
                    program.append(("binary", symbol, where))
            else:
                stack.append((node, True))
                if exponent is None:
                    stack.append((node.right, False))
                stack.append((node.left, False))
        elif isinstance(node, ast.Call):
            spec = _check_call(node)
            rule = RULES[spec.rule]
            inputs = node.args if rule.arity == -1 else node.args[:rule.arity]
            if expanded:
                attrs = []
                for param, argument in zip(rule.params, node.args[len(inputs):]):
                    constant = _constant_operand(argument)
                    if constant is None:
                        example = ", ".join(["x"] * rule.arity + [
                            f"{value:g}" for value in (rule.samples or (rule.defaults,))[0]])
                        raise FormulaError(
                            f"{spec.name}(){_where(node)}: the {param} must be a number, "
                            f"e.g. {spec.name}({example})"
                        )
                    attrs.append(constant[0])
                program.append(("call", spec.name, len(inputs), tuple(attrs),
                                f"{spec.name}(){_where(node)}"))
            else:
                stack.append((node, True))
                for argument in reversed(inputs):
                    stack.append((argument, False))
        else:
            what = _DESCRIBE.get(type(node), type(node).__name__)
            raise FormulaError(f"{what}{_where(node)} is not allowed (allowed: {_allowed()})")
    return Formula(text, tuple(names), tuple(program))


def _check_call(node: ast.Call) -> FunctionSpec:
    if not isinstance(node.func, ast.Name):
        what = _DESCRIBE.get(type(node.func), type(node.func).__name__)
        raise FormulaError(
            f"only functions can be called; {what}{_where(node)} is not allowed "
            f"(allowed: {_allowed()})"
        )
    spec = FUNCTIONS.get(node.func.id)
    if spec is None:
        raise FormulaError(
            f"unknown function {node.func.id!r}{_where(node)} (allowed: {', '.join(FUNCTIONS)})"
        )
    if node.keywords:
        raise FormulaError(f"{spec.name}(){_where(node)} takes no keyword arguments")
    count = len(node.args)
    if not spec.min_args <= count <= spec.max_args:
        expected = (
            str(spec.min_args) if spec.min_args == spec.max_args
            else f"{spec.min_args} to {spec.max_args}"
        )
        raise FormulaError(
            f"{spec.name}(){_where(node)} takes {expected} argument(s), got {count}"
        )
    return spec


def _op_text(op: ast.AST) -> str:
    return {
        ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
        ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
        ast.Not: "not", ast.Invert: "~",
    }.get(type(op), type(op).__name__)
