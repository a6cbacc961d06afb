"""The formula whitelist and the command line: renders good formulas, rejects bad ones."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viz.cli import main
from viz.formula import FUNCTIONS, FormulaError, parse_formula

from .helpers import node_texts, parse_svg, svg_groups

REPO = Path(__file__).resolve().parents[2]


# -- parse_formula -----------------------------------------------------------------


def test_formula_evaluates_like_the_maths():
    formula = parse_formula("tanh(w*x + b)")
    assert formula.names == ("w", "x", "b")
    assert formula.evaluate(x=0.5, w=-3, b=2) == pytest.approx(math.tanh(0.5), abs=1e-15)
    cases = {
        "-x**2 + 3": -4 + 3,
        "2**-x": 2 ** -2,
        "x / (1 + exp(-x))": 2 / (1 + math.exp(-2)),
        "sigmoid(x) * (1 - sigmoid(x))": (1 / (1 + math.exp(-2))) * (1 - 1 / (1 + math.exp(-2))),
        "leaky_relu(-x, 0.1) + relu(x) + abs(-x)": -0.2 + 2 + 2,
        "max(x, 3) + sum(x, x, 1) + sqrt(x) + log(x)": 3 + 5 + math.sqrt(2) + math.log(2),
        "sin(x)**2 + cos(x)**2": 1.0,
        "softplus(x) - log(1 + exp(x))": 0.0,
        "+x - -x": 4.0,
    }
    for text, expected in cases.items():
        assert parse_formula(text).evaluate(x=2.0) == pytest.approx(expected, abs=1e-12), text


def test_formula_builds_one_labelled_leaf_per_variable():
    root = parse_formula("x*x + x**2").build(x=3.0)
    assert root.data == 18.0
    root.backward()
    (x,) = [p for p in root.parents[0].parents if p.label == "x"][:1]
    assert x.grad == 12.0
    # A constant exponent records op "pow"; a variable one "powv".
    assert root.parents[1].op == "pow" and parse_formula("2**x").build(x=1).op == "powv"


def test_deep_but_parseable_formulas_build_iteratively():
    nested = "(" * 150 + "x" + ")" * 150
    assert parse_formula(nested).evaluate(x=1.5) == 1.5
    chain = "+".join(["x"] * 2000)
    assert parse_formula(chain).evaluate(x=1.0) == 2000.0
    unary = "-" * 1001 + "x"
    assert parse_formula(unary).evaluate(x=2.0) == -2.0


def test_evaluation_errors_are_formula_errors():
    with pytest.raises(FormulaError, match="log"):
        parse_formula("log(x)").evaluate(x=-1.0)
    with pytest.raises(FormulaError, match="no value for variable 'y'"):
        parse_formula("x + y").evaluate(x=1.0)
    with pytest.raises(FormulaError, match="unknown variable 'z'"):
        parse_formula("x").evaluate(x=1.0, z=2.0)
    with pytest.raises(FormulaError, match="True"):
        parse_formula("x").evaluate(x=True)
    with pytest.raises(TypeError, match="b'x'"):
        parse_formula(b"x")


def test_every_function_is_documented_in_help(capsys):
    assert main(["graph", "--help"]) == 0
    out = capsys.readouterr().out
    for name, spec in FUNCTIONS.items():
        assert spec.signature in out, name


# -- the command line --------------------------------------------------------------


def test_cli_renders_a_formula(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    code = main(["graph", "tanh(w*x + b)", "--at", "x=0.5", "w=-3", "b=2", "--out", str(out)])
    assert code == 0
    svg = out.read_text()
    parse_svg(svg)
    assert len(svg_groups(svg, "node")) == 6 and len(svg_groups(svg, "edge")) == 5
    texts = "\n".join(node_texts(svg).values())
    assert f"data {math.tanh(0.5):.4f}" in texts and "δ" not in texts


def test_cli_backward_steps_and_formats(tmp_path, capsys):
    args = ["graph", "x*y + x", "--at", "x=3", "y=-1", "--precision", "2"]
    assert main([*args, "--backward", "--out", str(tmp_path / "b.svg"),
                 "--steps", str(tmp_path / "steps.html")]) == 0
    texts = node_texts((tmp_path / "b.svg").read_text())
    x_text = next(t for t in texts.values() if t.startswith("x"))
    assert "δ 0.00  Σ2" in x_text  # d(xy + x)/dx = y + 1 = 0, summed from two messages
    page = (tmp_path / "steps.html").read_text()
    data = page.split('<script type="application/json" class="bpl-data">')[1]
    frames = json.loads(data.split("</script>")[0])["frames"]
    assert len(frames) == 5  # 4 messages + the start
    assert main([*args, "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main([*args, "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph computation_graph {")


BAD_FORMULAS = [
    ("__import__('os').system('x')", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("().__class__", "attribute access"),
    ("lambda: 0", "lambda"),
    ("9**9**9**9", "not finite"),
    ("(" * 500 + "x" + ")" * 500, "nested"),
    ("x.real", "attribute access"),
    ("x[0]", "subscripts"),
    ("[x for x in y]", "comprehensions"),
    ("x if y else x", "if"),
    ("x < y", "comparisons"),
    ("x and y", "'and'"),
    ("f'{x}'", "f-strings"),
    ("'text'", "'text'"),
    ("x // y", "'//'"),
    ("x % 2", "'%'"),
    ("~x", "'~'"),
    ("(x := 1)", "':='"),
    ("open('f')", "unknown function 'open'"),
    ("exp(x, y)", "takes 1 argument"),
    ("exp(x=1)", "keyword"),
    ("exp", "is a function"),
    ("1j", "real numbers"),
    ("True", "real numbers"),
    ("x; y", "syntax error"),
    ("x = 1", "syntax error"),
    ("_x", "'_x'"),
    ("tanh(*x)", "unpacking"),
    ("tanh(x)(y)", "only functions can be called"),
    ("", "empty"),
    ("1" * 400, "too large"),
    ("x" + "**x" * 3000, "nested too deeply"),
    ("x" + "+x" * 2400, "more than"),
    ("log(x - x)", "log"),
    ("leaky_relu(x, y)", "slope must be a number"),
    ("exp(exp(exp(exp(x + 10))))", "not finite"),
]


def _point_for(formula: str) -> list[str]:
    """--at and values for exactly the formula's variables (x if it does not parse)."""
    try:
        names = parse_formula(formula).names
    except FormulaError:
        names = ("x",)
    if not names:
        return []
    return ["--at", *(f"{name}={index + 1}" for index, name in enumerate(names))]


@pytest.mark.parametrize(("formula", "fragment"), BAD_FORMULAS, ids=range(len(BAD_FORMULAS)))
def test_cli_rejects_bad_formulas_in_one_line(formula, fragment, capsys, tmp_path):
    start = time.perf_counter()
    out = tmp_path / "never.svg"
    code = main(["graph", formula, *_point_for(formula), "--out", str(out)])
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    assert code == 2
    assert elapsed < 1.0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m viz: error: ")
    assert fragment in lines[0] and "Traceback" not in captured.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        (["x=0.5"], "no value for 'w', 'b'"),
        (["x=0.5", "w=abc", "b=1"], "'abc' is not a number"),
        (["x=0.5", "w=nan", "b=1"], "finite"),
        (["x", "w=1", "b=1"], "NAME=VALUE"),
        (["x=1", "x=2", "w=1", "b=1"], "twice"),
        (["x=1", "w=1", "b=1", "z=3"], "unknown variable 'z'"),
    ],
)
def test_cli_rejects_bad_points(at, fragment, capsys):
    assert main(["graph", "tanh(w*x + b)", "--at", *at]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_cli_usage_errors_are_one_line(capsys):
    assert main(["graph", "x", "--at", "x=1", "--format", "gif"]) == 2
    assert main(["graph", "x", "--at", "x=1", "--format", "png"]) == 2
    assert main(["paint"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("python -m viz: error: ") for line in err)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viz", *args], cwd=REPO, capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_real_process_renders_to_stdout():
    done = _run("graph", "tanh(w*x + b)", "--at", "x=0.5", "w=-3", "b=2")
    assert done.returncode == 0, done.stderr
    assert len(svg_groups(done.stdout, "node")) == 6


def test_real_process_rejects_import_with_exit_code_2():
    done = _run("graph", "__import__('os').system('echo pwned')", "--at", "x=1")
    assert done.returncode == 2
    assert "pwned" not in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(("formula", "where"), [
    ("x+(y", " at column 3"),
    ("   x+(y", " at column 6"),  # columns count the user's text, spaces included
    ("x*", ""),                   # Python knows no column here: none is claimed
])
def test_a_syntax_error_names_the_column_of_the_users_text(formula, where):
    with pytest.raises(FormulaError) as refused:
        parse_formula(formula)
    message = str(refused.value)
    assert message.startswith("syntax error")
    assert "column 0" not in message
    assert message.endswith(where) if where else "column" not in message
