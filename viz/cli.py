"""Command line: ``python -m viz graph "tanh(w*x + b)" --at x=0.5 w=-3 b=2 --out graph.svg``.

Errors in what the user typed are one line on stderr and exit code 2; the formula is
parsed into a whitelist (see :mod:`viz.formula`) and never evaluated as Python.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from ._render import atomic_write
from .export import FORMATS, SLIDE_FORMATS, format_of, render, save_slides
from .formula import FUNCTIONS, FormulaError, parse_formula
from .graph import DIRECTIONS, draw_graph
from .style import THEMES, resolve_style

__all__ = ["main", "UsageError"]

PROG = "python -m viz"


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit
        raise UsageError(message)


def _functions_help() -> str:
    lines = ["functions a formula may call (with their derivative rules):"]
    lines += [f"  {spec.doc}" for spec in FUNCTIONS.values()]
    lines += [
        "",
        "operators: + - * / ** and unary minus; numbers; variable names (given with --at).",
        "Nothing else is accepted (no attributes, subscripts, strings, lambdas...).",
        "",
        "examples:",
        f'  {PROG} graph "tanh(w*x + b)" --at x=0.5 w=-3 b=2 --out graph.svg',
        f'  {PROG} graph "sigmoid(w*x + b)" --at x=2 w=0.5 b=-0.3 --backward --out back.svg',
        f'  {PROG} graph "x*y + x" --at x=3 y=-1 --steps steps.html',
        f'  {PROG} graph "tanh(w*x + b)" --at x=0.5 w=-3 b=2 --theme print --out graph.pdf',
        f'  {PROG} graph "x*y + x" --at x=3 y=-1 --slides steps.pdf   (or .tex, .png)',
    ]
    return "\n".join(lines)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Pictures of computation graphs and of the backward pass.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_functions_help(),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    graph = commands.add_parser(
        "graph",
        help="draw the graph of a formula at a point",
        description="Draw the computation graph of FORMULA at the point given by --at.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_functions_help(),
    )
    graph.add_argument("formula", metavar="FORMULA", help='e.g. "tanh(w*x + b)"')
    graph.add_argument(
        "--at", nargs="+", default=[], metavar="NAME=VALUE",
        help="the value of every variable, e.g. --at x=0.5 w=-3 b=2",
    )
    graph.add_argument(
        "--out", metavar="PATH",
        help="write the picture here, in the format its suffix names: .svg, .pdf, .png, "
        ".dot (default: SVG on stdout)",
    )
    graph.add_argument(
        "--format", choices=FORMATS, default=None,
        help="svg, pdf, png or dot; must agree with --out's suffix (default: the suffix)",
    )
    graph.add_argument(
        "--dpi", type=float, default=None,
        help="PNG resolution in dots per inch (default 96; for --out and --slides .png)",
    )
    graph.add_argument(
        "--theme", choices=tuple(THEMES), default="default",
        help="how the picture looks: " + ", ".join(THEMES),
    )
    graph.add_argument(
        "--math-labels", action="store_true",
        help="write names as maths: w1 as w₁, delta as δ",
    )
    graph.add_argument(
        "--backward", action="store_true",
        help="show deltas, local derivatives and messages (the backward pass)",
    )
    graph.add_argument("--steps", metavar="PATH", help="also write a step-through HTML page")
    graph.add_argument(
        "--slides", metavar="PATH",
        help="also write the step-through as slides: .pdf (a page per frame), .tex (a "
        "Beamer snippet and its PDF), or numbered .png, .svg, .dot files",
    )
    graph.add_argument("--precision", type=int, default=4, help="digits after the point")
    graph.add_argument("--direction", choices=DIRECTIONS, default="LR", help="layout direction")
    demo = commands.add_parser("demo", help="train the moons MLP and write pictures to a folder")
    demo.add_argument("--out", default="out", metavar="DIR", help="output folder (default: out)")
    demo.add_argument("--steps", type=int, default=100, help="training steps (default: 100)")
    return parser


def _parse_point(assignments: Sequence[str]) -> dict[str, float]:
    point: dict[str, float] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--at expects NAME=VALUE, e.g. x=0.5; got {item!r}")
        if name in point:
            raise UsageError(f"--at gives {name!r} twice")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"--at {name}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise UsageError(f"--at {name}: the value must be finite; got {text!r}")
        point[name] = value
    return point


def _graph(args: argparse.Namespace) -> int:
    formula = parse_formula(args.formula)
    point = _parse_point(args.at)
    missing = [name for name in formula.names if name not in point]
    if missing:
        given = " ".join(f"{name}=..." for name in missing)
        raise UsageError(f"no value for {', '.join(map(repr, missing))}; add --at {given}")
    root = formula.build(point)
    # Every file name and option is checked before anything is drawn or written.
    if args.out:
        fmt = format_of(args.out, args.format)
    else:
        fmt = args.format or "svg"
        if fmt in ("png", "pdf"):
            raise UsageError(f"--format {fmt} needs --out PATH ({fmt.upper()} is binary)")
    slides_format = format_of(args.slides, None, SLIDE_FORMATS) if args.slides else None
    if args.dpi is not None and fmt != "png" and slides_format != "png":
        raise UsageError(f"--dpi applies to PNG only; got --dpi {args.dpi:g} without a .png")
    style = resolve_style(args.theme, math_labels=args.math_labels)
    mode = "backward" if args.backward else "forward"
    digraph = draw_graph(
        root, mode=mode, precision=args.precision, direction=args.direction, style=style
    )
    output = render(digraph, fmt, dpi=args.dpi if fmt == "png" else None)
    steps = None
    if args.steps or args.slides:
        from .steps import StepThrough
        from .style import use_style

        with use_style(style):
            steps = StepThrough(root, precision=args.precision, direction=args.direction)
    if args.slides:
        dpi = args.dpi if slides_format == "png" else None
        for path in save_slides(steps, args.slides, dpi=dpi):
            print(f"wrote {path}", file=sys.stderr)
    if args.steps:
        print(f"wrote {steps.save_html(args.steps)}", file=sys.stderr)
    if args.out:
        print(f"wrote {atomic_write(args.out, output)}", file=sys.stderr)
    else:
        sys.stdout.write(output.decode("utf-8"))
        sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    0 on success, 2 for bad input (one line on stderr), 1 if rendering fails.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command == "graph":
            return _graph(args)
        if args.command == "demo":
            from .demo import run_demo

            run_demo(out_dir=args.out, steps=args.steps)
            return 0
        parser.print_help()
        return 2
    except SystemExit as done:  # --help
        return int(done.code or 0)
    except (UsageError, FormulaError, ValueError, TypeError) as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as error:
        print(f"{PROG}: failed: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
