"""The course site's own directives: pages generated from the code, not hand lists.

``api-package``
    The reference of one package: its docstring, a table of every name in its
    ``__all__``, then each name's documentation, and the same for the public names of
    its public submodules that the package itself does not export (``trace``,
    ``strategies``, ...). A public name without a docstring is a build warning, which
    ``make docs`` turns into an error.

``rule-table``
    One section per rule of ``autograd_core.rules.RULES``: its forward as a formula
    with a worked example, its rule text (``Rule.text``), whether its local
    derivatives are constant or it has kinks, and the example's graph drawn forward and
    backward. A rule added to the table appears here without editing the docs.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

# The longest value shown beside a constant; longer ones (tables of functions) are not.
MAX_VALUE_REPR = 70


# -- API pages -------------------------------------------------------------------


def public_submodules(package: types.ModuleType) -> list[types.ModuleType]:
    """The package's submodules whose dotted names have no part starting with ``_``."""
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found.append(importlib.import_module(info.name))
    return found


def api_sections(package_name: str) -> list[tuple[types.ModuleType, list[str]]]:
    """``(module, names)`` for the package's ``__all__`` and each submodule's extras.

    A submodule that the package exports as a name (``autograd_core.functional``)
    gets a section of its own; a submodule appears only if it has public names that
    are not already documented under the package.
    """
    package = importlib.import_module(package_name)
    exported = [name for name in package.__all__]
    own = [n for n in exported if not isinstance(getattr(package, n), types.ModuleType)]
    sections = [(package, own)]
    documented = {id(getattr(package, n)) for n in own}
    for module in public_submodules(package):
        names = [
            n for n in getattr(module, "__all__", ())
            if id(getattr(module, n)) not in documented
            and not isinstance(getattr(module, n), types.ModuleType)
        ]
        if names:
            sections.append((module, names))
            documented.update(id(getattr(module, n)) for n in names)
    return sections


def data_doc(module: types.ModuleType, name: str) -> str:
    """The ``#:`` comment (or docstring after the assignment) of a module constant.

    A constant re-exported by a package is documented where it is assigned, so the
    package's submodules are searched for the assignment of the same object.
    """
    value = getattr(module, name)
    candidates = [module]
    if hasattr(module, "__path__"):
        candidates += [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(module.__path__, module.__name__ + ".")
            if not info.name.endswith(".__main__")
        ]
    for candidate in candidates:
        if getattr(candidate, name, None) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(candidate.__name__).find_attr_docs()
        except Exception:  # a compiled module has no source to read
            continue
        lines = docs.get(("", name))
        if lines:
            return "\n".join(lines).strip()
    return ""


def _entry(module: types.ModuleType, name: str, warn) -> list[str]:
    """reStructuredText documenting ``module.name`` (a class, function or constant)."""
    obj = getattr(module, name)
    full = f"{module.__name__}.{name}"
    if inspect.isclass(obj):
        if not inspect.getdoc(obj):
            warn(f"public class {full} has no docstring")
        directive = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        lines = [f".. {directive}:: {full}", "   :members:", "   :show-inheritance:"]
        fields = getattr(obj, "_fields", ())
        if fields:  # a NamedTuple: its fields are listed by the docstring's Attributes
            lines.append(f"   :exclude-members: {', '.join(fields)}")
        return lines + [""]
    if callable(obj):
        if not inspect.getdoc(obj):
            warn(f"public function {full} has no docstring")
        return [f".. autofunction:: {full}", ""]
    doc = data_doc(module, name)
    if not doc:
        warn(f"public constant {full} has no doc comment (#: above its assignment)")
    lines = [f".. py:data:: {name}", f"   :type: {type(obj).__name__}"]
    shown = repr(obj)
    if len(shown) <= MAX_VALUE_REPR and " at 0x" not in shown:
        lines.append(f"   :value: {shown}")
    lines.append("")
    lines += ["   " + line for line in doc.splitlines()]
    return lines + [""]


def kind_of(obj: object) -> str:
    if inspect.isclass(obj):
        return "Exceptions" if issubclass(obj, BaseException) else "Classes"
    return "Functions" if callable(obj) else "Constants"


def summary(obj: object, doc: str = "") -> str:
    """The first paragraph of a docstring, on one line (the table's second column)."""
    text = doc or inspect.getdoc(obj) or ""
    return " ".join(text.split("\n\n", 1)[0].split())


def api_rst(package_name: str, warn) -> list[str]:
    """The reference of one package as reStructuredText lines."""
    package = importlib.import_module(package_name)
    lines: list[str] = []
    for index, (module, names) in enumerate(api_sections(package_name)):
        automodule = [f".. automodule:: {module.__name__}", "   :no-members:"]
        if index:
            title = f"``{module.__name__}``"
            lines += [title, "-" * len(title), ""]
            # autograd_core.gradcheck is both a module and the function the package
            # exports; the function keeps the name for cross-references.
            if module.__name__.rsplit(".", 1)[1] in package.__all__ and not isinstance(
                getattr(package, module.__name__.rsplit(".", 1)[1]), types.ModuleType
            ):
                automodule.append("   :no-index:")
        lines += [*automodule, "", f".. currentmodule:: {module.__name__}", "",
                  ".. list-table::", "   :class: api-summary", ""]
        for name in names:
            obj = getattr(module, name)
            doc = data_doc(module, name) if kind_of(obj) == "Constants" else ""
            lines += [f"   * - :py:obj:`{name}`", f"     - {summary(obj, doc)}"]
        lines.append("")
        for kind in ("Classes", "Exceptions", "Functions", "Constants"):
            chosen = [n for n in names if kind_of(getattr(module, n)) == kind]
            if not chosen:
                continue
            lines += [f".. rubric:: {kind}", ""]
            for name in chosen:
                lines += _entry(module, name, warn)
    return lines


class ApiPackage(SphinxDirective):
    """``.. api-package:: autograd_core``: the generated reference of one package."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        location = self.get_location()

        def warn(message: str) -> None:
            logger.warning(message, location=location)

        self.env.note_dependency(__file__)
        for module, _ in api_sections(name):
            if module.__file__:
                self.env.note_dependency(module.__file__)
        container = nodes.section()
        container.document = self.state.document
        content = StringList(api_rst(name, warn), source=f"<api of {name}>")
        nested_parse_with_titles(self.state, content, container)
        return container.children


# -- the rules page -------------------------------------------------------------

# Example inputs, tried in order until the rule accepts one: distinct, non-zero and away
# from every kink; the first is inside the domains of log, sqrt, x ** y and x / y, the
# second inside (0, 1) (probabilities), the third has a negative entry. Constants
# (attrs) by parameter name; others get 2.0.
EXAMPLE_INPUTS = ((1.5, 0.5, 2.0), (0.25, 0.75, 0.5), (-0.5, 1.5, 0.75))
EXAMPLE_ATTRS = {"exponent": 3.0, "slope": 0.1}
DEFAULT_ATTR = 2.0


def rule_example(rule):
    """``(inputs, attrs, output)`` of a small worked example of ``rule``, after backward.

    Raises:
        ValueError: when none of :data:`EXAMPLE_INPUTS` is in the rule's domain.
    """
    import math

    from autograd_core import Value, apply_op

    count = rule.arity if rule.arity >= 0 else 3
    if rule.arity < 0 or count > 3:
        names = [f"x{i + 1}" for i in range(count)]
    else:
        names = ["x", "y", "z"][:count]
    attrs = _example_attrs(rule, count)
    problems = []
    for candidate in EXAMPLE_INPUTS:
        inputs = [Value(candidate[i % len(candidate)], name) for i, name in enumerate(names)]
        try:
            output = apply_op(rule.name, *inputs, attrs=attrs)
            output.backward()
        except (ValueError, ArithmeticError) as error:
            problems.append(f"{candidate[:count]}: {error}")
            continue
        if all(math.isfinite(v) for v in (output.data, *(x.grad for x in inputs))):
            output.label = "out"
            return inputs, attrs, output
        problems.append(f"{candidate[:count]}: not finite")
    raise ValueError(f"rule {rule.name!r}: no example input works ({'; '.join(problems)})")


def _example_attrs(rule, count: int) -> tuple:
    """The rule's constants for the example: its first sample, else its defaults."""
    samples = getattr(rule, "samples", ())
    if samples:
        return tuple(samples[0])
    names = getattr(rule, "params", None)
    if names is None:  # a table without params: read them off the local function
        names = _attr_names(rule, count)
    defaults = tuple(getattr(rule, "defaults", ()))
    given = (None,) * (len(names) - len(defaults)) + defaults
    return tuple(
        value if value is not None else EXAMPLE_ATTRS.get(name, DEFAULT_ATTR)
        for name, value in zip(names, given)
    )


def _attr_names(rule, count: int) -> list[str]:
    """The names of a rule's constants: its local function's parameters after ``out``."""
    parameters = list(inspect.signature(rule.local).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return []
    return [p.name for p in parameters[count + 1:]]


def rule_formula(rule, names: list[str], attrs: tuple) -> str:
    """The forward as a formula: ``x + y``, ``-x``, ``x ** 3``, ``|x|``, ``tanh(x)``."""
    symbol = rule.symbol
    if not any(c.isalnum() for c in symbol):  # an operator: + - * / **
        if rule.arity == 2 and not attrs:
            return f"{names[0]} {symbol} {names[1]}"
        if rule.arity == 1 and len(attrs) == 1:
            return f"{names[0]} {symbol} {attrs[0]:g}"
        if rule.arity == 1 and not attrs:
            return f"{symbol}{names[0]}"
    if rule.arity == 1 and not attrs and re.fullmatch(r"\W*x\W*", symbol):  # |x|
        return symbol.replace("x", names[0])
    arguments = ", ".join([*names, *(f"{a:g}" for a in attrs)])
    return f"{rule.name}({arguments})"


class RuleTable(SphinxDirective):
    """``.. rule-table::``: every rule of the table, with its pictures."""

    def run(self) -> list[nodes.Node]:
        import viz
        from autograd_core import rules

        self.env.note_dependency(__file__)
        self.env.note_dependency(rules.__file__)
        folder = Path(self.env.srcdir) / "_generated" / "rules"
        folder.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        for rule in rules.RULES.values():
            try:
                inputs, attrs, output = rule_example(rule)
            except ValueError as error:
                logger.warning(str(error), location=self.get_location())
                continue
            names = [v.label for v in inputs]
            formula = rule_formula(rule, names, attrs)
            at = ", ".join(f"{v.label} = {v.data:g}" for v in inputs)
            grads = ", ".join(f"∂out/∂{v.label} = {v.grad:.4g}" for v in inputs)
            pictures = {}
            for mode in ("forward", "backward"):
                path = folder / f"{_file_name(rule.name)}-{mode}.svg"
                _write_if_changed(path, viz.to_svg(output, mode=mode, precision=3))
                pictures[mode] = "/" + path.relative_to(self.env.srcdir).as_posix()
            title = f"``{rule.name}``"
            notes = []
            if rule.constant_local:
                notes.append("Its local derivatives are constants, shared by every node.")
            if rule.branch is not None:
                notes.append("It has kinks: where its piece changes, gradient checks report "
                             "a non-differentiable point instead of a failure.")
            doc = getattr(rule, "doc", "") or ""
            method = getattr(rule, "method", None)
            calls = []
            if method:
                arguments = ", ".join([*names[1:], *(f"{v:g}" for v in attrs)])
                calls.append(f"``{names[0]}.{method}({arguments})``")
            slot = getattr(rule, "operator", None)
            if slot:  # x + y, -x, x ** 2; a named slot is a builtin: abs(x)
                operator_form = formula if not any(c.isalnum() for c in rule.symbol) else (
                    f"{slot}({', '.join(names)})")
                calls.append(f"``{operator_form}``")
            calls.append(f"``apply_op({rule.name!r}, ...)``")
            lines += [
                title, "-" * len(title), "",
                *([doc, ""] if doc else []),
                f"Forward: ``out = {formula}``. "
                f"{'Takes any number of inputs. ' if rule.arity < 0 else ''}"
                f"Symbol in pictures: ``{rule.symbol}``.", "",
                f"Rule: ``{rule.text}``", "",
                f"Called as {', or '.join(calls)}.", "",
                *([" ".join(notes), ""] if notes else []),
                f"Example at {at}: out = {output.data:.4g}; backward: {grads}.", "",
                ".. list-table::", "   :class: rule-pictures", "",
                f"   * - .. image:: {pictures['forward']}",
                f"          :alt: the graph of {formula}, forward",
                f"     - .. image:: {pictures['backward']}",
                f"          :alt: the graph of {formula}, backward",
                "   * - forward: values", "     - backward: deltas and messages", "",
            ]
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="<rule table>"),
                                 container)
        return container.children


def _file_name(name: str) -> str:
    """A file name for any rule name: its safe characters and, if some were not, a hash."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if safe != name:
        safe += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return safe


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# -- rebuilds -------------------------------------------------------------------

PACKAGES = ("autograd_core", "nn", "viz")


def note_code_dependencies(app, docname: str, source: list[str]) -> None:
    """Make every page depend on the packages' code, so a change re-executes the pages."""
    root = Path(app.srcdir).parent
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".c", ".csv", ".txt"):
                app.env.note_dependency(str(path))


def setup(app):
    app.connect("source-read", note_code_dependencies)
    app.add_directive("api-package", ApiPackage)
    app.add_directive("rule-table", RuleTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
