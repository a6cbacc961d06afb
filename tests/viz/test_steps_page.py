"""The step-through page in headless Chromium: size and speed at 711 nodes, the quiz,
node explanations, neuron-level frames, forward frames, focus, the fallback picture,
theme colours and hostile labels."""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import time

import pytest

from autograd_core import Value, backward_steps, topological_order
from viz import StepThrough
from viz._page import script_json

from .helpers import moons_mlp_loss, neuron_graph, neuron_hand_deltas

pytestmark = pytest.mark.browser


def _open(browser, steps: StepThrough, tmp_path, name: str = "steps.html", **context):
    path = steps.save_html(tmp_path / name)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, errors


def _current(page, root: str = ".bpl-steps") -> int:
    return int(page.get_attribute(root, "data-current"))


def _node_text(page, key: str, root: str = ".bpl-steps") -> str:
    """All text of a node of the picture (its id is prefixed with the page element's id)."""
    return page.eval_on_selector(
        root,
        "(r, key) => { const g = r.querySelector(`g.node[id='${r.id}-${key}']`);"
        " return Array.from(g.querySelectorAll('text')).map(t => t.textContent).join('|'); }",
        key,
    )


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def test_711_node_mlp_builds_small_and_switches_frames_fast(browser, tmp_path):
    loss, _ = moons_mlp_loss()
    # 711 nodes (712 with the target as the loss rule's own input leaf): the size.
    nodes = len(topological_order(loss))
    assert 711 <= nodes <= 712, nodes
    # Build time as CPU seconds of this process and of Graphviz (its child): the wall
    # clock of a shared test machine also counts other people's work.
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    steps = StepThrough(loss)
    html = steps.to_html()
    build, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    size = len(html.encode("utf-8"))
    messages = len(list(backward_steps(loss)))
    print(f"\n{nodes} nodes, {messages} messages: built in {cpu:.2f} s of CPU ({build:.2f} s wall),"
          f" page {size / 1e6:.2f} MB")
    assert len(steps) == messages + 1 >= 981
    assert cpu <= 2.0, (cpu, build)
    assert size <= 3_000_000, size

    page, errors = _open(browser, steps, tmp_path)
    assert page.locator(".bpl-view svg g.node").count() == nodes
    # A frame switch, timed in the page from the click to the end of the browser's style
    # and layout work for it (forced by reading a box): 60 Next, then 60 Previous.
    switch = page.evaluate(
        """() => { const root = document.querySelector('.bpl-steps'); const out = [];
        for (const name of ['.bpl-next', '.bpl-prev']) {
          const button = root.querySelector(name);
          for (let i = 0; i < 60; i++) { const t = performance.now(); button.click();
            document.body.getBoundingClientRect(); out.push(performance.now() - t); } }
        return out; }"""
    )
    assert _current(page) == 0
    # The worst case: the slider from the first frame to the last (980 records applied)
    # and back, five times each.
    jumps = page.evaluate(
        """() => { const s = document.querySelector('.bpl-slider'); const out = [];
        for (let i = 0; i < 10; i++) { const t = performance.now();
          s.value = i % 2 ? '0' : s.max; s.dispatchEvent(new Event('input'));
          document.body.getBoundingClientRect(); out.push(performance.now() - t); }
        return out; }"""
    )
    p90 = sorted(switch)[int(0.9 * len(switch))]
    print(
        f"frame switch in Chromium (Next/Previous, with style and layout): median "
        f"{statistics.median(switch):.1f} ms, 90th percentile {p90:.1f} ms, max "
        f"{max(switch):.1f} ms; slider jump over all 980 frames: median "
        f"{statistics.median(jumps):.1f} ms, max {max(jumps):.1f} ms; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    # Medians and a 90th percentile: other programs on a test machine can pause the
    # browser now and then. The slider's jump over every frame is the stated worst case.
    assert statistics.median(switch) <= 50 and p90 <= 50
    assert statistics.median(jumps) <= 500
    assert _current(page) == 0 and not errors
    # The last frame shows the engine's gradients on every parameter node.
    page.evaluate("() => { const s = document.querySelector('.bpl-slider');"
                  " s.value = s.max; s.dispatchEvent(new Event('input')); }")
    loss.backward()
    key_of = steps.view.key_of
    for node in topological_order(loss)[:40]:
        assert f"δ {node.grad:.4f}" in _node_text(page, key_of[node]).replace("\xa0", " ")


def test_page_records_match_the_engine_frame_by_frame(browser, tmp_path):
    root, nodes = neuron_graph()
    steps = StepThrough(root, precision=3)
    page, errors = _open(browser, steps, tmp_path)
    key_of = steps.view.key_of
    hand = neuron_hand_deltas()
    for index, message in enumerate(steps.messages, start=1):
        page.click(".bpl-next")
        assert _current(page) == index
        assert page.inner_text(".bpl-caption") == steps.captions[index]
        receiver = key_of[message.receiver]
        assert f"δ {message.receiver_delta:.3f}" in _node_text(page, receiver)
        classes = page.eval_on_selector(
            ".bpl-steps", "(r, k) => r.querySelector(`g.node[id='${r.id}-${k}']`).className"
            ".baseVal", receiver)
        assert "bpl-receiver" in classes
    for name, delta in hand.items():
        assert f"δ {delta:.3f}" in _node_text(page, key_of[nodes[name]])
    # Back to the start: the deltas are hidden again, except the output's.
    page.keyboard.press("Home")
    page.click(".bpl-steps")
    for _ in range(len(steps)):
        page.keyboard.press("ArrowLeft")
    assert _current(page) == 0
    assert "δ ?" in _node_text(page, key_of[nodes["w"]]).replace("\xa0", " ")
    assert "δ 1.000" in _node_text(page, key_of[root])
    assert not errors


def test_clicking_a_node_explains_its_delta(browser, tmp_path):
    lam = 0.1
    w, x = Value(-0.8, "w"), Value(1.5, "x")
    s = w * x
    s.label = "s"
    r = w * w
    r.label = "R"
    loss = s + lam * r
    loss.label = "L"
    steps = StepThrough(loss, precision=3)
    page, errors = _open(browser, steps, tmp_path)
    key = steps.view.key_of[w]
    page.click(f"g.node[id$='-{key}']")
    assert "not known yet" in page.inner_text(".bpl-explain")
    page.evaluate("() => { const s = document.querySelector('.bpl-slider');"
                  " s.value = s.max; s.dispatchEvent(new Event('input')); }")
    text = page.inner_text(".bpl-explain")
    loss.backward()
    terms = [m for m in backward_steps(loss) if m.receiver is w]
    assert len(terms) == 3  # from s, and twice from R = w * w
    names = [m.sender.label for m in terms]
    assert sorted(names) == ["R", "R", "s"]
    assert text.startswith("δ(w) = " + " + ".join(f"δ({n}) × ∂{n}/∂w" for n in names) + " = ")
    numbers = " + ".join(f"{m.sender_delta:.3f}×{m.local_grad:.3f}" for m in terms)
    assert f" = {numbers} = {w.grad:.3f}" in text
    assert math.isclose(w.grad, 1.5 + 2 * lam * -0.8)
    assert not errors


def _answer(page, value: str) -> str:
    page.fill(".bpl-answer", value)
    page.click(".bpl-check")
    return page.inner_text(".bpl-verdict")


def test_quiz_hides_each_message_checks_answers_and_keeps_score(browser, tmp_path):
    root, nodes = neuron_graph()
    steps = StepThrough(root, precision=4, quiz=True)
    page, errors = _open(browser, steps, tmp_path)
    key_of = steps.view.key_of
    first, second = steps.messages[0], steps.messages[1]
    page.click(".bpl-next")
    # The message is hidden: the question gives its inputs, not its value.
    question = page.inner_text(".bpl-caption")
    assert "what message does o send?" in question
    assert "Running sum" not in question and f"= {first.contribution:.4f}" not in question
    assert "δ ?" in _node_text(page, key_of[first.receiver]).replace("\xa0", " ")
    assert page.is_visible(".bpl-quiz")
    # Right, typed with a small rounding error inside the stated tolerance.
    assert _answer(page, f"{first.contribution * 1.004:.6f}") == "Right."
    assert page.inner_text(".bpl-score") == "score 1 / 1"
    assert f"δ {first.receiver_delta:.4f}" in _node_text(page, key_of[first.receiver])
    assert page.inner_text(".bpl-caption") == steps.captions[1]
    page.click(".bpl-next")
    wrong = _answer(page, f"{second.contribution + 0.5:.4f}")
    assert wrong.startswith("Not quite") and steps.captions[2] in wrong
    assert page.inner_text(".bpl-score") == "score 1 / 2"
    assert page.get_attribute(".bpl-steps", "data-score") == "1/2"
    # Outside the tolerance by a hair is wrong; text that is not a number is ignored.
    index, third = next(
        (i, m) for i, m in enumerate(steps.messages, start=1)
        if abs(m.local_grad) != 1 and abs(m.sender_delta) != 1
    )
    page.evaluate("i => { const s = document.querySelector('.bpl-slider'); s.value = String(i);"
                  " s.dispatchEvent(new Event('input')); }", index)
    assert _current(page) == index
    assert f"{third.contribution:.4f}" not in page.inner_text(".bpl-steps")
    assert _answer(page, "not a number") == ""
    assert page.inner_text(".bpl-score") == "score 1 / 2"
    off = third.contribution + max(0.011 * abs(third.contribution), 1e-3)
    assert _answer(page, f"{off:.6f}").startswith("Not quite")
    assert "1.00% of the value" in page.inner_text(".bpl-quiz")
    assert not errors


def test_neuron_level_frames_on_the_moons_mlp(browser, tmp_path):
    loss, model = moons_mlp_loss()
    steps = StepThrough(loss, collapse="neurons", precision=4)
    neurons = sum(len(layer.neurons) for layer in model.layers)
    inside = [c for c in steps.captions if "inside neuron" in c]
    crossing = [c for c in steps.captions if c.startswith("Message")]
    assert len(inside) == neurons == 33
    # The second layer's neurons read the first layer's 16 outputs, the output neuron the
    # second layer's (the sample's inputs are unnamed numbers: drawn inside the neurons).
    assert 16 * 16 + 16 < len(crossing) < 16 * 16 + 16 + 10
    assert len(steps) == 1 + len(inside) + len(crossing)
    assert len(steps.view.nodes) < 60
    # The frame for a first-layer neuron lists what its two weights and bias receive.
    loss.backward()
    first = model.layers[0].neurons[0]
    frame = next(c for c in inside if f"{first.b.grad:.4f}" in c and
                 f"{first.w[0].grad:.4f}" in c and f"{first.w[1].grad:.4f}" in c)
    assert frame
    page, errors = _open(browser, steps, tmp_path)
    for index in range(1, 40):
        page.click(".bpl-next")
        assert page.inner_text(".bpl-caption") == steps.captions[index]
    assert not errors


def test_forward_step_through_reveals_values_in_topological_order(browser, tmp_path):
    root, nodes = neuron_graph()
    steps = StepThrough(root, mode="forward", precision=3)
    assert repr(steps) == "StepThrough(forward, 3 steps to o)"
    assert steps.captions[1] == "Step 1 of 3: wx = w * x = -3.000 * 0.500 = -1.500."
    page, errors = _open(browser, steps, tmp_path)
    key_of = steps.view.key_of
    assert "data ?" in _node_text(page, key_of[nodes["o"]])
    assert "data 0.500" in _node_text(page, key_of[nodes["x"]])
    page.click(".bpl-play")
    page.wait_for_function("() => document.querySelector('.bpl-steps')"
                           ".getAttribute('data-current') === '3'", timeout=10_000)
    assert page.inner_text(".bpl-play") == "Play"
    assert f"data {nodes['o'].data:.3f}" in _node_text(page, key_of[nodes["o"]])
    assert not errors


def test_focus_keeps_only_the_paths_to_one_parameter():
    loss, model = moons_mlp_loss()
    weight = model.layers[0].neurons[3].w[1]
    steps = StepThrough(loss, focus=weight)
    loss.backward()
    assert steps.captions[-1].endswith(f"{weight.grad:.4f}.")
    name = steps.names[steps.view.key_of[weight]]
    assert f"→ {name}. " in steps.captions[-1]
    # Kept: the weight and every node computed from it, i.e. the paths to the loss.
    order = topological_order(loss)
    below = {weight}
    for node in order:
        if any(p in below for p in node.parents):
            below.add(node)
    kept = {n.key for n in steps.view.nodes}
    assert kept == {steps.view.key_of[n] for n in below}
    inside = [m for m in backward_steps(loss) if m.sender in below and m.receiver in below]
    assert len(steps) == len(inside) + 1 < 100


def test_without_scripts_the_first_frame_shows_as_a_picture_with_a_hint(browser, tmp_path):
    steps = StepThrough(neuron_graph()[0])
    page, _ = _open(browser, steps, tmp_path, java_script_enabled=False)
    assert "run the cell or trust the notebook to step through" in page.inner_text("body")
    image = page.locator(".bpl-view img")
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100
    assert not page.is_visible(".bpl-next") and not page.is_visible(".bpl-caption")


def _contrast(page, selector: str) -> float:
    return page.eval_on_selector(selector, """el => {
        const parse = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = rgb => { const [r, g, b] = rgb.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const s = getComputedStyle(el);
        const a = lum(parse(s.color)), b = lum(parse(s.backgroundColor));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }""")


@pytest.mark.parametrize("theme", ["jupyterlab-dark", "vscode-dark", "vscode-light", "none"])
def test_caption_follows_the_front_ends_theme(browser, tmp_path, theme):
    variables = {
        "jupyterlab-dark": "--jp-content-font-color1: rgba(255,255,255,1);"
                           " --jp-layout-color2: #2c2c2c; color: white; background: #111",
        "vscode-dark": "--vscode-editor-foreground: #cccccc;"
                       " --vscode-editorWidget-background: #252526; color: #ccc;"
                       " background: #1e1e1e",
        "vscode-light": "--vscode-editor-foreground: #3b3b3b;"
                        " --vscode-editorWidget-background: #f8f8f8",
        "none": "color: white; background: #111",
    }[theme]
    steps = StepThrough(neuron_graph()[0])
    html = f'<!DOCTYPE html><html><body style="{variables}">{steps.to_html(standalone=False)}'
    path = tmp_path / "themed.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    ratio = _contrast(page, ".bpl-caption")
    print(f"\ncaption contrast ({theme}): {ratio:.1f}:1")
    assert ratio >= 4.5


def test_showing_one_step_through_twice_gives_two_working_copies(browser, tmp_path):
    steps = StepThrough(neuron_graph()[0])
    first, second = steps._repr_html_(), steps._repr_html_()
    ids = [re.search(r'id="(bpl-steps-[0-9a-f]+)"', h).group(1) for h in (first, second)]
    assert ids[0] != ids[1]
    path = tmp_path / "twice.html"
    path.write_text(f"<!DOCTYPE html><html><body>{first}{second}</body></html>", "utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    page.click(f"#{ids[1]} .bpl-next")
    page.click(f"#{ids[1]} .bpl-next")
    page.click(f"#{ids[0]} .bpl-next")
    assert _current(page, f"#{ids[0]}") == 1 and _current(page, f"#{ids[1]}") == 2
    assert page.inner_text(f"#{ids[1]} .bpl-caption") == steps.captions[2]
    all_ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(all_ids) == len(set(all_ids))


def test_hostile_labels_stay_text(browser, tmp_path):
    hostile = "</script><script>window.pwned=1</script><!--\u2028&amp;"
    a = Value(2.0, hostile)
    b = Value(3.0, "<b>")
    root = a * b
    root.label = "</div>"
    steps = StepThrough(root, quiz=True)
    page, errors = _open(browser, steps, tmp_path)
    assert page.evaluate("() => window.pwned") is None
    page.click(".bpl-next")
    assert hostile in page.inner_text(".bpl-caption")
    assert "</div>" in page.inner_text(".bpl-caption")
    assert not errors
    text = script_json({"label": hostile})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"label": hostile}


def test_draw_graph_displays_as_scaled_zoomable_svg_with_tooltips(browser, tmp_path):
    import graphviz

    from viz import draw_graph, to_svg

    loss, _ = moons_mlp_loss()
    digraph = draw_graph(loss, mode="backward", collapse="neurons")
    assert isinstance(digraph, graphviz.Digraph)
    assert to_svg(digraph).count('class="node"') == len(re.findall(r"\tn\d+ \[", digraph.source))
    assert repr(digraph).startswith("<GraphPicture computation_graph: ")
    bundle = digraph._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    path = tmp_path / "graph.html"
    path.write_text(
        '<!DOCTYPE html><html><body><div style="width: 700px">'
        f"{bundle['text/html']}{digraph._repr_html_()}</div></body></html>", "utf-8"
    )
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(path.as_uri())
    first = page.locator(".bpl-graph").first
    svg = first.locator("svg")
    natural = float(svg.get_attribute("width").rstrip("pt")) * 4 / 3
    assert natural > 700
    assert svg.bounding_box()["width"] <= 700.5
    first.locator(".bpl-zoom").click()
    assert abs(svg.bounding_box()["width"] - natural) < 2
    assert first.locator(".bpl-zoom").inner_text() == "Fit width"
    # Tooltips: the rule text of each node is the title of its link, inside the inline SVG.
    titles = first.evaluate(
        "r => Array.from(r.querySelectorAll('svg a')).map(a => a.getAttribute('xlink:title')"
        " || a.getAttribute('title'))"
    )
    assert any(t and "collapsed" in t for t in titles)
    all_ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(all_ids) == len(set(all_ids))
