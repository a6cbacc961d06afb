"""The step-through page survives any label: clicked through in Chromium with hostile labels.

A label is user text that lands in three places of the page: the SVG picture (escaped by
Graphviz, then base64), the first caption (escaped as HTML) and the frame records inside
the page's data script. Inside a ``<script>`` element, ``</script`` ends the element and
``<!--`` followed by ``<script`` makes the parser skip the real ``</script>``: either stops
the buttons.
"""

from __future__ import annotations

import json

import pytest

from autograd_core import Value
from viz import StepThrough
from viz._page import script_json as _script_literal

HOSTILE_LABELS = [
    "<!--<script>",
    "</script><script>window.hijacked = 1</script>",
    "<!--",
    "-->",
    "</SCRIPT >",
    "<script>",
    "x\u2028y\u2029z",
    "<img src=x onerror='window.hijacked = 2'>",
    "]]><![CDATA[",
    "&lt;&amp;\"'`",
    "\\u003c/script\\u003e",
    "</div></div><button class='bpl-next'>",
    "${window.hijacked = 3}",
]


def _hostile_graph() -> Value:
    leaves = [Value(1.0 + index / 8, label) for index, label in enumerate(HOSTILE_LABELS)]
    root = leaves[0]
    for leaf in leaves[1:]:
        root = root * leaf
    root.label = "--><!--<script>"
    return root


@pytest.mark.parametrize("text", HOSTILE_LABELS + [["</script>", {"<!--": "\u2028"}]])
def test_script_literals_hold_no_markup_and_mean_the_same_text(text):
    literal = _script_literal(text)
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in literal
    assert json.loads(literal) == text


@pytest.mark.browser
@pytest.mark.parametrize("standalone", [True, False], ids=["page", "fragment"])
def test_the_page_steps_through_hostile_labels_in_chromium(browser, tmp_path, standalone):
    steps = StepThrough(_hostile_graph(), precision=3)
    last = len(steps) - 1
    assert last == 2 * (len(HOSTILE_LABELS) - 1)
    document = steps.to_html(standalone=standalone)
    if not standalone:
        document = f"<!DOCTYPE html><html><body>{document}</body></html>"
    path = tmp_path / "steps.html"
    path.write_text(document, encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog {dialog.message}"))
    page.goto(path.as_uri())
    # The data script and the page's script; the picture is inline SVG, the controls live.
    assert page.locator("script").count() == 2
    assert page.locator("img").count() == 0 and page.locator(".bpl-view svg").count() == 1
    assert page.locator("button").count() == 4

    def shown() -> int:
        index = int(page.get_attribute(".bpl-steps", "data-current"))
        assert page.text_content(".bpl-caption") == steps.captions[index]
        assert page.input_value(".bpl-slider") == str(index)
        assert page.inner_text(".bpl-counter") == f"{index} / {last}"
        return index

    assert shown() == 0
    for index in range(1, last + 1):
        page.click(".bpl-next")
        assert shown() == index
    page.click(".bpl-next")  # stays at the end
    assert shown() == last
    for index in range(last - 1, -1, -1):
        page.keyboard.press("ArrowLeft")
        assert shown() == index
    # Every caption reached the page character for character, and every label is in the
    # pictures as text (Graphviz escaped it).
    captions = page.evaluate(
        "(last) => { const c = []; const next = document.querySelector('.bpl-next');"
        " for (let i = 0; i <= last; i++) { c.push(document.querySelector('.bpl-caption')"
        ".textContent); next.click(); } return c; }", last)
    assert captions == steps.captions
    svg_text = page.evaluate(
        "() => Array.from(document.querySelectorAll('.bpl-view svg text'))"
        ".map(t => t.textContent).join('\\n')")
    for label in HOSTILE_LABELS:
        assert label in svg_text
    assert page.evaluate("() => window.hijacked") is None
    assert errors == []
    page.close()
