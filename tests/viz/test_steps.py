"""The backward step-through: frames, captions and the HTML page in a real browser."""

from __future__ import annotations

import warnings

import pytest

from autograd_core import Value, backward_steps
from viz import StepThrough, step_through

from .helpers import SVG, neuron_graph, node_boxes, node_texts, parse_svg, svg_groups


def _fan_out_graph():
    a, b = Value(2.0, "a"), Value(-1.5, "b")
    c = a * b
    c.label = "c"
    d = (c + a).tanh() * c
    d.label = "d"
    return d


GRAPHS = {"neuron": lambda: neuron_graph()[0], "fan_out": _fan_out_graph}


def _names(root: Value, steps: StepThrough) -> dict[Value, str]:
    return {node: steps.names[key] for node, key in steps.view.key_of.items()}


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_one_frame_per_message_plus_the_start(graph):
    root = GRAPHS[graph]()
    steps = StepThrough(root)
    messages = list(backward_steps(root))
    assert len(steps.frames) == len(steps.captions) == len(steps) == len(messages) + 1
    for frame in steps.frames:
        parse_svg(frame)
        assert len(svg_groups(frame, "node")) == len(steps.view.nodes)


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_captions_match_the_message_log(graph):
    root = GRAPHS[graph]()
    steps = StepThrough(root, precision=3)
    names = _names(root, steps)
    assert steps.captions[0].startswith(f"Start: δ({names[root]}) = 1")
    running: dict[Value, list[float]] = {}
    for index, message in enumerate(backward_steps(root), start=1):
        caption = steps.captions[index]
        sender, receiver = names[message.sender], names[message.receiver]
        running.setdefault(message.receiver, []).append(message.contribution)
        assert caption.startswith(f"Message {index} of {len(steps.messages)}: ")
        assert f"{sender} → {receiver}" in caption
        assert (
            f"{message.sender_delta:.3f} × {message.local_grad:.3f} = "
            f"{message.contribution:.3f}" in caption
        )
        terms = " + ".join(f"{t:.3f}" for t in running[message.receiver])
        assert f"Running sum δ({receiver}) = {terms}" in caption
        assert caption.endswith(f"{message.receiver_delta:.3f}.")


def test_frames_share_one_layout_and_highlight_sender_and_receiver():
    root = _fan_out_graph()
    steps = StepThrough(root, precision=3)
    frames = steps.frames
    boxes = [node_boxes(frame) for frame in frames]
    assert all(b == boxes[0] for b in boxes)
    names = _names(root, steps)
    key_of = steps.view.key_of
    for index, message in enumerate(steps.messages, start=1):
        fills = {
            key: {p.get("fill") for p in group.iter(f"{SVG}polygon")}
            for key, group in svg_groups(frames[index], "node").items()
        }
        assert "#ffd7b0" in fills[key_of[message.sender]]
        assert "#c9f0c9" in fills[key_of[message.receiver]]
        assert sum("#c9f0c9" in f for f in fills.values()) == 1
        text = node_texts(frames[index])[key_of[message.receiver]]
        assert f"δ {message.receiver_delta:.3f}" in text, names[message.receiver]


def test_last_frame_shows_the_engine_gradients():
    root = _fan_out_graph()
    steps = StepThrough(root, precision=4)
    root.backward()
    texts = node_texts(steps.frames[-1])
    for node, key in steps.view.key_of.items():
        assert f"δ {node.grad:.4f}" in texts[key]
    # A node not yet reached shows a question mark in the first frame.
    first = node_texts(steps.frames[0])
    assert sum("δ ?" in t for t in first.values()) == len(steps.view.nodes) - 1


def test_html_is_self_contained(tmp_path):
    steps = step_through(neuron_graph()[0])
    path = steps.save_html(tmp_path / "steps.html")
    page = path.read_text()
    # One picture (as an image, the fallback the script turns into inline SVG).
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/svg+xml;base64,") == 1
    assert "<?xml" not in page and "<link" not in page
    assert page.count(" src=") == 1
    assert all(
        chunk.startswith("www.w3.org/") for chunk in page.replace("https://", "http://").split(
            "http://")[1:]
    )
    fragment = steps._repr_html_()
    assert "<html" not in fragment and fragment.count("data:image/svg+xml;base64,") == 1


def test_step_through_refuses_non_values():
    with pytest.raises(TypeError, match="'x'"):
        StepThrough("x")
    with pytest.raises(ValueError, match="precision"):
        StepThrough(Value(1.0) * 2, precision=-2)


# -- the page in headless Chromium (the browser fixture is in conftest.py) ------------


@pytest.mark.browser
def test_page_steps_forward_and_back_in_chromium(browser, tmp_path):
    root = _fan_out_graph()
    steps = StepThrough(root, precision=3)
    path = steps.save_html(tmp_path / "steps.html")
    last = len(steps) - 1
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())

    def shown() -> int:
        index = int(page.get_attribute(".bpl-steps", "data-current"))
        assert page.inner_text(".bpl-caption") == steps.captions[index]
        assert page.input_value(".bpl-slider") == str(index)
        assert page.locator(".bpl-view svg").count() == 1
        return index

    assert shown() == 0
    page.click(".bpl-next")
    page.click(".bpl-next")
    assert shown() == 2
    page.click(".bpl-prev")
    assert shown() == 1
    page.click(".bpl-prev")
    page.click(".bpl-prev")  # stays at the start
    assert shown() == 0
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert shown() == 3
    page.keyboard.press("ArrowLeft")
    assert shown() == 2
    # The slider: drag to the far right end, then step it with the keyboard.
    box = page.locator(".bpl-slider").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    assert shown() == last
    page.focus(".bpl-slider")
    page.keyboard.press("ArrowLeft")
    assert shown() == last - 1
    page.keyboard.press("Home")
    assert shown() == 0
    page.click(".bpl-next")
    for _ in range(last + 3):
        page.keyboard.press("ArrowRight")
    assert shown() == last
    assert page.inner_text(".bpl-counter") == f"{last} / {last}"
    assert requests == [path.as_uri()]
    page.close()


def test_frames_fall_back_to_dot_with_the_same_layout(monkeypatch):
    import viz.steps

    root = _fan_out_graph()
    pinned = StepThrough(root).frames

    def no_json(*args, **kwargs):
        raise RuntimeError("this Graphviz cannot write json")

    monkeypatch.setattr(viz.steps, "compute_layout", no_json)
    fallback = StepThrough(root).frames
    assert len(fallback) == len(pinned)
    boxes = [node_boxes(frame) for frame in fallback]
    assert all(b == boxes[0] for b in boxes)
    assert [node_texts(f) for f in fallback] == [node_texts(f) for f in pinned]


def test_frame_digraph_draws_any_frame_on_the_pages_layout():
    from viz import to_svg

    root = _fan_out_graph()
    steps = StepThrough(root, precision=3)
    picture = node_boxes(steps._picture())
    for k in (0, 2, len(steps) - 1):
        digraph = steps.frame_digraph(k)
        assert digraph.engine == "neato"
        svg = to_svg(digraph)
        assert svg == digraph.pipe(format="svg", neato_no_op=2).decode("utf-8")
        assert node_boxes(svg) == picture
        assert node_texts(svg) == node_texts(steps.frames[k])
    last = node_texts(steps.frame_digraph(len(steps) - 1).pipe(format="svg", neato_no_op=2)
                      .decode("utf-8"))
    root.backward()
    for node, key in steps.view.key_of.items():
        assert f"δ {node.grad:.3f}" in last[key]
    with pytest.raises(IndexError, match="frames are 0 to"):
        steps.frame_digraph(len(steps))
    with pytest.raises(TypeError, match="'1'"):
        steps.frame_digraph("1")


def test_text_repr_and_option_errors():
    root = neuron_graph()[0]
    assert repr(StepThrough(root)) == "StepThrough(5 messages from o)"
    assert repr(StepThrough(root, mode="forward")) == "StepThrough(forward, 3 steps to o)"
    for options, error, match in [
        ({"mode": "sideways"}, ValueError, "mode must be one of"),
        ({"collapse": "layers"}, ValueError, "collapse must be one of"),
        ({"focus": 3.0}, TypeError, "focus takes a Value"),
        ({"focus": Value(1.0)}, ValueError, "not in the graph"),
        ({"quiz": "yes"}, TypeError, "quiz must be True or False"),
        ({"tolerance": float("nan")}, ValueError, "tolerance"),
        ({"layout_timeout": 0}, ValueError, "layout_timeout"),
        ({"mode": "forward", "collapse": "neurons"}, ValueError, "backward"),
    ]:
        with pytest.raises(error, match=match):
            StepThrough(root, **options)


def test_layout_time_limit_is_stated(monkeypatch):
    import viz.steps

    def slow(*args, **kwargs):
        raise RuntimeError("Graphviz dot took longer than 0.01 s; draw fewer nodes")

    monkeypatch.setattr(viz.steps, "run_graphviz", slow)
    steps = StepThrough(neuron_graph()[0], layout_timeout=0.01)
    with pytest.raises(RuntimeError, match="layout_timeout=0.01 s"):
        steps.to_html()


def test_an_output_of_several_megabytes_warns(monkeypatch):
    import viz._page

    steps = StepThrough(neuron_graph()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = steps._repr_html_()
    monkeypatch.setattr(viz._page, "WARN_BYTES", len(small.encode("utf-8")) - 1)
    with pytest.warns(UserWarning, match=r"StepThrough\(5 messages from o\) is 0.0 MB"):
        steps._repr_html_()
    from viz import draw_graph

    with pytest.warns(UserWarning, match="GraphPicture computation_graph"):
        monkeypatch.setattr(viz._page, "WARN_BYTES", 10)
        draw_graph(neuron_graph()[0])._repr_html_()
