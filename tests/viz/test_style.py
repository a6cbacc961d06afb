"""Themes and style knobs, the same on draw_graph, step-throughs and draw_network."""

from __future__ import annotations

import math
import re
import threading

import pytest

from autograd_core import Value
from viz import (
    THEMES,
    StepThrough,
    Style,
    draw_graph,
    draw_network,
    get_style,
    math_label,
    set_style,
    to_svg,
    use_style,
)

from .helpers import SVG, ContractMLP, neuron_graph, node_texts, parse_svg, svg_groups

COLOUR = re.compile(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"')


@pytest.fixture(autouse=True)
def _default_style():
    set_style("default")
    yield
    set_style("default")


def _network():
    return ContractMLP(
        [[[0.5, -1.0], [2.0, 0.25]], [[1.0, -0.5]]], [[0.1, -0.2], [0.3]], ["tanh", "linear"]
    )


def _background(svg: str) -> str:
    root = parse_svg(svg)
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    return graph.find(f"{SVG}polygon").get("fill")


def _font_sizes(svg: str) -> set[float]:
    return {float(t.get("font-size")) for t in parse_svg(svg).iter(f"{SVG}text")}


def _edge_widths(svg: str) -> list[float]:
    widths = []
    for group in svg_groups(svg, "edge").values():
        path = next(group.iter(f"{SVG}path"))
        widths.append(float(path.get("stroke-width", "1")))
    return widths


def _pictures(style: str) -> list[str]:
    """The same graph as draw_graph draws it, a step-through frame, and a network."""
    root, _ = neuron_graph()
    return [
        to_svg(draw_graph(root, mode="backward", style=style)),
        _frame(root, style),
        to_svg(draw_network(_network(), style=style)),
    ]


def _frame(root: Value, style) -> str:
    with use_style(style):
        return StepThrough(root).frames[2]


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_every_theme_reaches_all_three_kinds_of_picture(theme):
    style = THEMES[theme]
    for svg in _pictures(theme):
        assert _background(svg) == style.palette["background"]
        text_colours = {t.get("fill") for t in parse_svg(svg).iter(f"{SVG}text")}
        assert style.palette["text"] in text_colours
        # Text at the theme's size (edge labels one point smaller, network titles at it).
        assert max(_font_sizes(svg)) == pytest.approx(style.font_size)
        colours = {c.lower() for c in COLOUR.findall(svg)}
        assert colours <= set(style.palette.values()) | {"#000000"}, colours - set(
            style.palette.values()
        )


def test_print_theme_is_grey_and_dashed():
    root, _ = neuron_graph()
    for svg in _pictures("print"):
        for colour in COLOUR.findall(svg):
            r, g, b = (colour[i:i + 2] for i in (1, 3, 5))
            assert r == g == b, colour
    frame = _frame(root, "print")
    assert "stroke-dasharray" in frame  # messages still waiting are dashed
    network = to_svg(draw_network(_network(), style="print"))
    dashed = [g for g in svg_groups(network, "edge").values()
              if next(g.iter(f"{SVG}path")).get("stroke-dasharray")]
    assert len(dashed) == 2  # the two negative weights
    assert "stroke-dasharray" not in to_svg(draw_network(_network()))


def test_colourblind_network_uses_okabe_ito_blue_and_orange():
    network = to_svg(draw_network(_network(), style="colourblind"))
    strokes = {next(g.iter(f"{SVG}path")).get("stroke")
               for g in svg_groups(network, "edge").values()}
    assert strokes == {"#0072b2", "#e69f00"}


def test_projector_theme_scales_text_lines_and_boxes():
    root, _ = neuron_graph()
    plain = to_svg(draw_graph(root, mode="backward"))
    big = to_svg(draw_graph(root, mode="backward", style="projector"))
    assert max(_font_sizes(plain)) == 10 and max(_font_sizes(big)) == 16
    assert min(_edge_widths(big)) == pytest.approx(2 * min(_edge_widths(plain)))
    width = float(parse_svg(plain).get("width").removesuffix("pt"))
    big_width = float(parse_svg(big).get("width").removesuffix("pt"))
    assert big_width > 1.4 * width  # the boxes grew with the text, so it still fits
    knobbed = to_svg(draw_graph(root, style=Style(font="Courier", font_size=12, line_width=3)))
    assert "Courier" in knobbed and max(_font_sizes(knobbed)) == 12
    assert max(_edge_widths(knobbed)) == pytest.approx(3)


def test_set_style_for_a_whole_talk_and_use_style_for_a_block():
    root, _ = neuron_graph()
    dark = THEMES["dark"].palette["background"]
    set_style("dark", font_size=14)
    assert _background(to_svg(draw_graph(root))) == dark
    assert _background(StepThrough(root).frames[0]) == dark
    assert _background(to_svg(draw_network(_network()))) == dark
    with use_style("print") as printed:
        assert get_style() is printed
        assert _background(to_svg(draw_graph(root))) == "#ffffff"
        # An explicit style beats both.
        assert max(_font_sizes(to_svg(draw_graph(root, style="projector")))) == 16
    assert get_style().name == "dark" and get_style().font_size == 14
    set_style()
    assert get_style() is THEMES["default"]


def test_use_style_in_one_thread_leaves_the_others_alone():
    seen: dict[str, str] = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        with use_style("dark"):
            seen["worker"] = get_style().name
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(10)
    seen["main"] = get_style().name
    release.set()
    thread.join()
    assert seen == {"worker": "dark", "main": "default"}


@pytest.mark.parametrize(
    ("knobs", "error", "fragment"),
    [
        ({"font_size": math.nan}, ValueError, "font_size must be from 4 to 72"),
        ({"font_size": 1e9}, ValueError, "font_size must be from"),
        ({"font_size": "12"}, TypeError, "must be a number"),
        ({"line_width": 0}, ValueError, "line_width must be from"),
        ({"font": 'Helvetica" fontcolor="red'}, ValueError, "font family name"),
        ({"palette": {"text": "red"}}, ValueError, "'#rrggbb'"),
        ({"palette": {"sparkle": "#ffffff"}}, ValueError, "unknown role 'sparkle'"),
        ({"palette": ["#ffffff"]}, TypeError, "mapping"),
        ({"math_labels": 1}, TypeError, "True or False"),
        ({"sparkle": True}, TypeError, "unknown style knob"),
    ],
)
def test_bad_knobs_are_refused_with_what_is_allowed(knobs, error, fragment):
    with pytest.raises(error, match=re.escape(fragment)):
        set_style("default", **knobs)
    assert get_style() is THEMES["default"]


def test_unknown_theme_lists_the_themes():
    root, _ = neuron_graph()
    with pytest.raises(ValueError, match=r"themes are \['default', 'print'"):
        draw_graph(root, style="neon")
    with pytest.raises(TypeError, match="theme name"):
        draw_network(_network(), style=3)


def test_a_palette_is_merged_over_the_default():
    style = Style(palette={"background": "#ABCDEF"})
    assert style.palette["background"] == "#abcdef"
    assert style.palette["text"] == THEMES["default"].palette["text"]
    with pytest.raises(TypeError):
        style.palette["text"] = "#ffffff"  # read-only: a theme cannot be changed by accident


# -- labels as maths ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "maths"),
    [
        ("w1", "w₁"), ("w12", "w₁₂"), ("x_3", "x₃"), ("delta", "δ"), ("Delta", "Δ"),
        ("delta_o", "δₒ"), ("W_ij", "Wᵢⱼ"), ("lambda2", "λ₂"), ("x_q", "x_q"),
        ("wx", "wx"), ("beta + eta", "β + η"), ("loss", "loss"), ("abc1def", "abc1def"),
        ("", ""), ("1w", "1w"), ("x__1", "x__1"),
    ],
)
def test_math_label(plain, maths):
    assert math_label(plain) == maths


def test_math_labels_in_the_picture_plain_text_in_the_tooltip():
    x, w1 = Value(0.5, "x1"), Value(-3.0, "w1")
    out = (w1 * x).tanh()
    out.label = "delta"
    svg = to_svg(draw_graph(out, style=Style(math_labels=True)))
    texts = "\n".join(node_texts(svg).values())
    assert "w₁" in texts and "x₁" in texts and "δ" in texts and "w1" not in texts
    titles = [a.get("{http://www.w3.org/1999/xlink}title")
              for a in parse_svg(svg).iter(f"{SVG}a")]
    assert any(t.startswith("w1: ") for t in titles)
    assert any(t.startswith("delta: ") for t in titles)
    plain = to_svg(draw_graph(out))
    assert "w₁" not in plain and "w1" in "\n".join(node_texts(plain).values())
    network = to_svg(
        draw_network(_network(), input_names=["x1", "x2"], style=Style(math_labels=True))
    )
    assert "x₁" in network and "x₂" in network


def test_math_label_refuses_non_text():
    with pytest.raises(TypeError, match="takes a str"):
        math_label(3)


def test_readme_shows_two_themes_side_by_side():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Figures for slides", 1)[1]
    row = re.search(r"^\| !\[.*\]\((\S+)\) \| !\[.*\]\((\S+)\) \|$", section, re.M)
    assert row is not None
    for path, theme in zip(row.groups(), ("print", "dark")):
        assert path.endswith(f"-{theme}.svg")
        svg = (repo / path).read_text(encoding="utf-8")
        assert _background(svg) == THEMES[theme].palette["background"]
        assert "w₁" in svg  # drawn with --math-labels, as the command beside it says
