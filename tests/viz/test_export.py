"""Files for slides: each format is what its suffix says, step-throughs as slides, Beamer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from autograd_core import Value
from viz import StepThrough, beamer_snippet, draw_graph, render, save, save_slides, use_style
from viz._pdf import PDFError, merge_pdfs
from viz.cli import main
from viz.export import FORMATS, _check_pixels

from .helpers import neuron_graph, parse_svg, svg_groups
from .pdfcheck import pdf_fonts_embedded, pdf_pages, png_info

POINT = ["--at", "x=0.5", "w=-3", "b=2"]


def _svg_size_pt(svg: str) -> tuple[float, float]:
    root = parse_svg(svg)
    return tuple(float(root.get(side).removesuffix("pt")) for side in ("width", "height"))


def _fan_out_graph() -> Value:
    a, b = Value(2.0, "a"), Value(-1.5, "b")
    c = a * b
    c.label = "c"
    d = (c + a).tanh() * c
    d.label = "d"
    return d


# -- one figure, every format ------------------------------------------------------


def test_each_format_is_what_its_suffix_says(tmp_path):
    root, _ = neuron_graph()
    digraph = draw_graph(root, mode="backward")
    svg_path = save(digraph, tmp_path / "graph.svg")
    svg = svg_path.read_text()
    assert len(svg_groups(svg, "node")) == 6 and len(svg_groups(svg, "edge")) == 5
    width_pt, height_pt = _svg_size_pt(svg)

    pdf = save(digraph, tmp_path / "graph.pdf").read_bytes()
    [box] = pdf_pages(pdf)
    assert box[:2] == (0, 0)
    assert abs(box[2] - width_pt) <= 1 and abs(box[3] - height_pt) <= 1  # vector, same size
    assert pdf_fonts_embedded(pdf)  # text is a font, embedded, not pixels

    for dpi in (72, 150, 300):
        png = save(digraph, tmp_path / f"graph{dpi}.png", dpi=dpi).read_bytes()
        width, height, recorded = png_info(png)
        assert abs(width - width_pt * dpi / 72) <= 2, (dpi, width, width_pt)
        assert abs(height - height_pt * dpi / 72) <= 2, (dpi, height, height_pt)
        assert recorded == pytest.approx(dpi, abs=0.05)

    for suffix in ("dot", "gv"):
        source = save(digraph, tmp_path / f"graph.{suffix}").read_text()
        assert source == digraph.source
        # A dot file Graphviz reads back into the same picture.
        again = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                               check=True).stdout.decode()
        assert len(svg_groups(again, "node")) == 6

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["graph.svg", "graph.pdf", "graph72.png", "graph150.png", "graph300.png",
         "graph.dot", "graph.gv"]
    )


def test_upper_case_suffix_and_an_agreeing_format(tmp_path):
    root, _ = neuron_graph()
    pdf = save(root, tmp_path / "GRAPH.PDF", format="pdf", style="print").read_bytes()
    assert len(pdf_pages(pdf)) == 1
    assert render(root, "png", dpi=50)[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_picture_gives_the_same_pdf_bytes(tmp_path):
    root, _ = neuron_graph()
    first = render(root, "pdf", mode="backward")
    assert render(root, "pdf", mode="backward") == first


@pytest.mark.parametrize(
    ("name", "options", "fragment"),
    [
        ("graph.jpg", {}, "unknown suffix '.jpg'"),
        ("graph.svgz", {}, "unknown suffix '.svgz'"),
        ("graph.html", {}, "suffixes are ['.svg', '.pdf', '.png', '.dot', '.gv']"),
        ("graph", {}, "no suffix"),
        ("graph.pdf", {"format": "png"}, "does not match"),
        ("graph.pdf", {"format": "gif"}, "formats are ['svg', 'pdf', 'png', 'dot']"),
        ("graph.svg", {"dpi": 300}, "PNG only"),
        ("graph.png", {"dpi": float("nan")}, "dpi must be from"),
        ("graph.png", {"dpi": True}, "dpi must be a number"),
        ("graph.png", {"dpi": 1e9}, "dpi must be from"),
    ],
)
def test_a_wrong_suffix_or_option_is_refused_before_any_file_is_written(
    tmp_path, name, options, fragment
):
    root, _ = neuron_graph()
    with pytest.raises((ValueError, TypeError)) as refused:
        save(root, tmp_path / name, **options)
    assert fragment in str(refused.value)
    with pytest.raises((ValueError, TypeError)):
        save_slides(StepThrough(root), tmp_path / name, **options)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "folder"), [
    ("graph.svg", "graph.svg"),            # the target itself is a folder
    ("slides.tex", "slides.tex"),          # the snippet's name: its frames come first
    ("slides.png", "slides-02.png"),       # the third of the numbered files
])
def test_a_folder_in_the_way_is_refused_before_any_file_is_written(tmp_path, name, folder):
    root, _ = neuron_graph()
    (tmp_path / folder).mkdir()
    write = save_slides if name.startswith("slides") else save
    figure = StepThrough(root) if write is save_slides else root
    with pytest.raises(ValueError, match=re.escape(f"{str(tmp_path / folder)!r} is a folder")):
        write(figure, tmp_path / name)
    assert [path.name for path in tmp_path.iterdir()] == [folder]
    assert list((tmp_path / folder).iterdir()) == []


def test_not_a_figure_is_refused(tmp_path):
    with pytest.raises(TypeError, match="root Value or a graphviz.Digraph"):
        save("tanh(x)", tmp_path / "g.svg")
    with pytest.raises(TypeError, match="apply to a root Value"):
        save(draw_graph(Value(1.0)), tmp_path / "g.svg", mode="backward")
    with pytest.raises(TypeError, match="StepThrough"):
        save_slides(draw_graph(Value(1.0)), tmp_path / "s.pdf")
    assert list(tmp_path.iterdir()) == []
    assert set(FORMATS) == {"svg", "pdf", "png", "dot"}


# -- step-throughs as slides -------------------------------------------------------


@pytest.mark.parametrize("graph", ["neuron", "fan_out"])
def test_step_through_pdf_has_a_page_per_frame_all_one_size(tmp_path, graph):
    root = neuron_graph()[0] if graph == "neuron" else _fan_out_graph()
    steps = StepThrough(root)
    [path] = save_slides(steps, tmp_path / "steps.pdf")
    pdf = path.read_bytes()
    boxes = pdf_pages(pdf)
    assert len(boxes) == len(steps) == len(steps.captions)
    assert len(set(boxes)) == 1, set(boxes)  # one layout: nothing jumps between slides
    assert pdf_fonts_embedded(pdf)


def test_numbered_pngs_share_one_size_and_the_dpi(tmp_path):
    steps = StepThrough(_fan_out_graph())
    paths = save_slides(steps, tmp_path / "frame.png", dpi=120)
    assert [p.name for p in paths] == [f"frame-{k:02d}.png" for k in range(len(steps))]
    infos = {png_info(p.read_bytes()) for p in paths}
    assert len(infos) == 1
    [(_, _, dpi)] = infos
    assert dpi == pytest.approx(120, abs=0.05)
    svgs = save_slides(steps, tmp_path / "frame.svg")
    assert len({_svg_size_pt(p.read_text()) for p in svgs}) == 1


def test_slides_follow_the_style_in_use(tmp_path):
    root, _ = neuron_graph()
    with use_style("dark"):
        steps = StepThrough(root)
    paths = save_slides(steps, tmp_path / "dark.svg")
    for path in paths:
        assert 'fill="#1b1f27"' in path.read_text()


def test_merge_refuses_what_it_cannot_read():
    with pytest.raises(PDFError, match="not a PDF"):
        merge_pdfs([b"<svg/>"])
    with pytest.raises(ValueError, match="at least one"):
        merge_pdfs([])
    one = render(Value(1.0, "x"), "pdf")
    broken = one.replace(b"/Count 1", b"/Count 2", 1)
    with pytest.raises(AssertionError):
        pdf_pages(merge_pdfs([broken]))  # the checker sees a page tree that lies


# -- Beamer ------------------------------------------------------------------------


def _pdflatex() -> str:
    found = shutil.which("pdflatex")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is required in CI (the Makefile set-up installs it)")
        pytest.skip("pdflatex is not installed (make setup installs it when run as root)")
    return found


def test_beamer_snippet_compiles_to_one_page_per_frame(tmp_path):
    pdflatex = _pdflatex()
    # A hostile label: every TeX special character, and maths names in the captions.
    x, w1 = Value(0.5, "x_1"), Value(-3.0, "w1")
    hostile = w1 * x
    hostile.label = "a&b%c$d#e{f}g~h^i\\j<k>|"
    root = hostile.tanh()
    root.label = "delta"
    with use_style("print", math_labels=True):
        steps = StepThrough(root)
    paths = save_slides(steps, tmp_path / "steps.tex")
    assert [p.name for p in paths] == ["steps-frames.pdf", "steps.tex"]
    snippet = paths[1].read_text()
    assert snippet.count("\\includegraphics<") == len(steps)
    assert snippet.count("\\only<") == len(steps)
    # Uncompressed objects, so the page check below can read pdfTeX's page tree.
    (tmp_path / "talk.tex").write_text(
        "\\pdfobjcompresslevel=0\n\\documentclass{beamer}\n"
        "\\begin{document}\n\\input{steps.tex}\n\\end{document}\n"
    )
    done = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "talk.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    log = (tmp_path / "talk.log").read_text(errors="replace")
    assert "Missing character" not in log and "Undefined control sequence" not in log
    boxes = pdf_pages((tmp_path / "talk.pdf").read_bytes())
    assert len(boxes) == len(steps)  # one overlay per frame
    assert f"Output written on talk.pdf ({len(steps)} pages" in log
    assert len(set(boxes)) == 1


def test_beamer_snippet_refuses_file_names_latex_reads_differently():
    steps = StepThrough(Value(2.0, "x") * Value(3.0, "y"))
    for name in ("my steps.pdf", "a%b.pdf", "a\\input.pdf", ""):
        with pytest.raises(ValueError, match="graphics must be"):
            beamer_snippet(steps, name)
    with pytest.raises(ValueError, match="TeX length"):
        beamer_snippet(steps, "s.pdf", width="}\\evil{")
    text = beamer_snippet(steps, "figs/s.pdf", captions=False, title="x & y")
    assert "\\only<" not in text and "{x \\& y}" in text


# -- the command line --------------------------------------------------------------


def test_cli_writes_a_real_pdf(tmp_path, capsys):
    out = tmp_path / "graph.pdf"
    assert main(["graph", "tanh(w*x + b)", *POINT, "--out", str(out)]) == 0
    assert len(pdf_pages(out.read_bytes())) == 1
    png = tmp_path / "graph.png"
    assert main(["graph", "tanh(w*x + b)", *POINT, "--out", str(png), "--dpi", "200",
                 "--theme", "projector", "--math-labels"]) == 0
    assert png_info(png.read_bytes())[2] == pytest.approx(200, abs=0.05)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--out", "g.jpg"], "unknown suffix '.jpg'"),
        (["--out", "g"], "no suffix"),
        (["--out", "g.pdf", "--format", "png"], "does not match"),
        (["--out", "g.svg", "--slides", "s.html"], "suffixes are ['.svg', '.pdf', '.png'"),
        (["--out", "g.svg", "--dpi", "300"], "PNG only"),
        (["--out", "g.png", "--dpi", "0"], "dpi must be from"),
        (["--format", "pdf"], "needs --out"),
        (["--out", "g.svg", "--theme", "neon"], "invalid choice: 'neon'"),
    ],
)
def test_cli_refuses_before_writing_anything(tmp_path, capsys, extra, fragment, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["graph", "tanh(w*x + b)", *POINT, "--steps", "s.html", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_cli_slides(tmp_path, capsys):
    args = ["graph", "x*y + x", "--at", "x=3", "y=-1", "--out", str(tmp_path / "g.svg")]
    assert main([*args, "--slides", str(tmp_path / "s.pdf")]) == 0
    assert len(pdf_pages((tmp_path / "s.pdf").read_bytes())) == 5  # 4 messages + start
    assert main([*args, "--slides", str(tmp_path / "t.tex")]) == 0
    assert (tmp_path / "t-frames.pdf").exists()
    assert re.search(r"\\includegraphics<5>\[page=5,", (tmp_path / "t.tex").read_text())
    assert main([*args, "--slides", str(tmp_path / "p.png"), "--dpi", "60"]) == 0
    assert len(list(tmp_path.glob("p-*.png"))) == 5


def test_a_png_too_large_to_draw_is_refused_before_drawing(tmp_path):
    import time

    from viz import Style

    root, _ = neuron_graph()
    huge = draw_graph(root, mode="backward", style=Style(font_size=72))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"pixels, more than PNG output allows.*use dpi=\d+"):
        save(huge, tmp_path / "huge.png", dpi=1200)
    assert time.perf_counter() - start < 10  # refused from the layout, not after drawing
    assert list(tmp_path.iterdir()) == []
    suggested = int(re.search(r"use dpi=(\d+)", str(_refusal(huge))).group(1))
    # The suggested DPI passes the same check (drawing 100 million pixels takes long).
    laid_out = render(huge, "dot")
    laid_out = subprocess.run(["dot", "-Tdot"], input=laid_out, capture_output=True,
                              check=True).stdout.decode()
    _check_pixels(laid_out, suggested)
    with pytest.raises(ValueError):
        _check_pixels(laid_out, suggested + 2)


def _refusal(digraph) -> ValueError:
    try:
        render(digraph, "png", dpi=1200)
    except ValueError as error:
        return error
    raise AssertionError("not refused")


def test_every_slide_is_drawn_on_the_step_throughs_own_layout():
    from viz import to_svg
    from viz.export import slide_digraphs

    from .helpers import node_boxes

    steps = StepThrough(_fan_out_graph())
    digraphs = slide_digraphs(steps)
    assert len(digraphs) == len(steps)
    page_boxes = node_boxes(steps.frames[0])
    for digraph in digraphs:
        boxes = node_boxes(to_svg(digraph))
        assert boxes.keys() == page_boxes.keys()
        for key, box in boxes.items():
            assert box == pytest.approx(page_boxes[key], abs=0.5), key


def test_pictures_drawn_differently_are_rendered_each_their_own_way():
    from viz.export import _render_many, slide_digraphs

    root, _ = neuron_graph()
    frame = slide_digraphs(StepThrough(root))[1]
    plain = draw_graph(root)
    svgs = _render_many([frame, plain, frame], "svg", None)
    assert [len(svg_groups(s.decode(), "node")) for s in svgs] == [6, 6, 6]
    assert svgs[0] == svgs[2] != svgs[1]
    pngs = _render_many([frame, plain], "png", 50)
    assert all(png_info(p)[2] == pytest.approx(50, abs=0.05) for p in pngs)


@pytest.mark.parametrize(
    "options",
    [{"mode": "forward"}, {"mode": "backward"}, {"focus": "x1"}],
    ids=["forward", "backward", "focus"],
)
def test_every_kind_of_step_through_becomes_slides(tmp_path, options):
    from .helpers import ContractMLP

    model = ContractMLP([[[0.5, -1.0], [2.0, 0.25]], [[1.0, -0.5]]], [[0.1, -0.2], [0.3]],
                        ["tanh", "linear"])
    x1 = Value(0.3, "x1")
    [output] = model([x1, Value(-0.7, "x2")])
    loss = (output - 1.0) ** 2
    if "focus" in options:
        options = {"focus": x1}
    steps = StepThrough(loss, **options)
    [path] = save_slides(steps, tmp_path / "s.pdf")
    boxes = pdf_pages(path.read_bytes())
    assert len(boxes) == len(steps) and len(set(boxes)) == 1
    title = "Forward" if options.get("mode") == "forward" else "Backward"
    assert f"{{{title} pass, step by step}}" in beamer_snippet(steps, "s.pdf")


def test_cli_forward_slides(tmp_path, capsys):
    args = ["graph", "x*y + x", "--at", "x=3", "y=-1", "--out", str(tmp_path / "g.svg")]
    assert main([*args, "--step-mode", "forward", "--slides", str(tmp_path / "f.pdf")]) == 0
    forward = StepThrough(Value(3.0, "x") * Value(-1.0, "y") + Value(3.0, "x"), mode="forward")
    pages = pdf_pages((tmp_path / "f.pdf").read_bytes())
    assert len(pages) == len(forward) != 5  # not the backward pass's 5 frames
