"""The step-through page: one SVG, small frame records, and the script that applies them.

The page ships the graph's picture once, as an ``<img>`` holding frame 0: where a
notebook front end strips scripts (an untrusted notebook), that picture and a one-line
hint are what the reader sees. Where scripts run, the script decodes the same picture
into inline SVG and applies each frame's record (texts to change, nodes and edges to
highlight), so the page grows with the graph, not with the graph times the frames.

Everything the page embeds as data goes through :func:`script_json`.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
import warnings
from typing import Any

__all__ = [
    "script_json", "page_fragment", "page_document", "picture_fragment", "warn_if_large",
    "WARN_BYTES",
]

#: An output larger than this (in bytes) makes a notebook slow to save and open: warn.
WARN_BYTES = 4_000_000

_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
           "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script>`` and HTML attributes.

    ``<``, ``>``, ``&`` and the line separators U+2028/U+2029 are written as ``\\u``
    escapes, so a hostile label (``</script>``, ``<!--``) cannot end the script early.

    Example:
        >>> script_json({"a": "</script><!--"})
        '{"a": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _UNSAFE[m.group(0)], text)


def warn_if_large(html_text: str, what: str) -> str:
    """Warn (once per call) when one output passes :data:`WARN_BYTES`; return it unchanged."""
    size = len(html_text.encode("utf-8"))
    if size > WARN_BYTES:
        warnings.warn(
            f"{what} is {size / 1e6:.1f} MB of output; the notebook will be slow to save and "
            "open (collapse='neurons' or focus=... draws less)",
            stacklevel=3,
        )
    return html_text


_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
_FONT = re.compile(r' font-family="[^"]*"')


def compact_svg(svg: str) -> str:
    """Graphviz SVG without comments, its prologue and the per-text font attribute."""
    body = svg[svg.index("<svg"):]
    body = _COMMENT.sub("", body)
    body = _FONT.sub("", body)
    return body.replace("<svg ", '<svg font-family="Helvetica,Arial,sans-serif" ', 1)


_CSS = """
#ROOT { --bpl-fg: var(--jp-content-font-color1, var(--vscode-editor-foreground, #1b1b1b));
  --bpl-bg: var(--jp-layout-color2, var(--vscode-editorWidget-background, #f4f4ee));
  --bpl-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #e06000));
  --bpl-good: #1e7e34; --bpl-bad: #c0392b;
  font-family: var(--jp-ui-font-family, var(--vscode-font-family, Helvetica, Arial, sans-serif));
  color: var(--bpl-fg); outline: none; }
#ROOT .bpl-hint { font-size: 0.9em; font-style: italic; margin: 0.2em 0; }
#ROOT .bpl-bar { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: center; margin: 0.4em 0; }
#ROOT .bpl-slider { flex: 1; min-width: 8em; max-width: 28em; }
#ROOT .bpl-caption, #ROOT .bpl-quiz, #ROOT .bpl-explain { padding: 0.4em 0.6em;
  background: var(--bpl-bg); color: var(--bpl-fg); border-left: 4px solid var(--bpl-accent);
  font-size: 0.95em; margin: 0.2em 0; }
#ROOT .bpl-caption { min-height: 2.6em; }
#ROOT .bpl-quiz input { width: 9em; }
#ROOT .bpl-verdict.bpl-right { color: var(--bpl-good); font-weight: bold; }
#ROOT .bpl-verdict.bpl-wrong { color: var(--bpl-bad); font-weight: bold; }
#ROOT .bpl-view { background: #ffffff; }
#ROOT g.node { cursor: pointer; }
#ROOT g.bpl-sender polygon:not([fill="none"]) { fill: #ffd7b0; }
#ROOT g.bpl-receiver polygon:not([fill="none"]) { fill: #c9f0c9; }
#ROOT g.bpl-picked polygon[fill="none"] { stroke: #1f5fbf; stroke-width: 3; }
#ROOT g.bpl-sent path, #ROOT g.bpl-sent polygon { stroke: #b03030; }
#ROOT g.bpl-sent polygon { fill: #b03030; }
#ROOT g.bpl-sent text { fill: #b03030; }
#ROOT g.bpl-active path { stroke: #e06000; stroke-width: 2.5; }
#ROOT g.bpl-active polygon { stroke: #e06000; fill: #e06000; }
#ROOT g.bpl-active text { fill: #e06000; font-weight: bold; }
"""

# Shared by every page: the picture arrives as an <img> of SVG (what a reader sees where
# scripts are stripped); with scripts, it becomes inline SVG (tooltips, clicks, styling)
# with element ids made unique on the page. Returns the node and edge groups by id.
_INLINE = r"""
function inlinePicture(root, view) {
  var picture = view.querySelector("img");
  var binary = atob(picture.getAttribute("src").split(",")[1]);
  var bytes = new Uint8Array(binary.length);
  for (var b = 0; b < binary.length; b++) { bytes[b] = binary.charCodeAt(b); }
  var parsed = new DOMParser().parseFromString(new TextDecoder("utf-8").decode(bytes),
                                               "image/svg+xml");
  var svg = document.importNode(parsed.documentElement, true);
  var byId = {};
  Array.prototype.forEach.call(svg.querySelectorAll("g.node, g.edge"), function (g) {
    byId[g.id] = g;
  });
  Array.prototype.forEach.call(svg.querySelectorAll("[id]"), function (el) {
    el.id = root.id + "-" + el.id;
  });
  view.replaceChild(svg, picture);
  root.setAttribute("data-ready", "1");
  return byId;
}
function zoomToggle(root, button) {
  button.addEventListener("click", function () {
    var fit = root.classList.toggle("bpl-fit");
    button.textContent = fit ? "Zoom 100%" : "Fit width";
  });
}
"""

_SCRIPT = r"""
(function () {
""" + _INLINE + r"""
  var root = document.getElementById(ROOT_ID);
  if (!root || root.getAttribute("data-ready")) { return; }
  var data = JSON.parse(root.querySelector("script.bpl-data").textContent);
  var view = root.querySelector(".bpl-view");
  var byId = inlinePicture(root, view);
  var hint = root.querySelector(".bpl-hint");
  if (hint) { hint.parentNode.removeChild(hint); }
  root.querySelector(".bpl-ui").innerHTML = CONTROLS;

  function slotOf(group, prefix) {
    var found = null;
    if (!group) { return null; }
    Array.prototype.forEach.call(group.querySelectorAll("text"), function (t) {
      if (t.textContent.indexOf(prefix) === 0) { found = t; }
    });
    return found;
  }
  var nodes = data.nodes.map(function (k) { return byId[k]; });
  var edges = data.edges.map(function (k) { return byId[k]; });
  var nodeSlots = nodes.map(function (g) { return slotOf(g, data.slot); });
  var edgeSlots = edges.map(function (g) { return slotOf(g, "msg"); });
  // Centre the texts that change (Graphviz anchors them at their start): read, then write.
  var slots = nodeSlots.concat(edgeSlots).filter(function (t) { return t; });
  var centres = slots.map(function (t) {
    return parseFloat(t.getAttribute("x")) + t.getComputedTextLength() / 2;
  });
  slots.forEach(function (t, i) {
    t.setAttribute("x", centres[i].toFixed(2));
    t.setAttribute("text-anchor", "middle");
  });
  var frames = data.frames;
  var last = frames.length - 1;
  var slider = root.querySelector(".bpl-slider");
  var caption = root.querySelector(".bpl-caption");
  var counter = root.querySelector(".bpl-counter");
  var explain = root.querySelector(".bpl-explain");
  var quizBox = root.querySelector(".bpl-quiz");
  var answer = root.querySelector(".bpl-answer");
  var verdict = root.querySelector(".bpl-verdict");
  var scoreText = root.querySelector(".bpl-score");
  var playButton = root.querySelector(".bpl-play");
  var current = 0;
  var marked = [];
  var answered = {};
  var score = [0, 0];
  var picked = -1;

  // A frame record: [sender, receiver, [active edges], node, node text, old node text,
  //                  edge, edge text, old edge text, caption, quiz answer, question].
  // Texts change in place (the text node's data), which is cheaper than replacing it.
  function setText(slot, text) {
    if (slot && slot.firstChild.data !== text) { slot.firstChild.data = text; }
  }
  function apply(f, forward) {
    var r = frames[f];
    if (r[3] >= 0) { setText(nodeSlots[r[3]], forward ? r[4] : r[5]); }
    if (r[6] >= 0 && edges[r[6]]) {
      setText(edgeSlots[r[6]], forward ? r[7] : r[8]);
      edges[r[6]].classList.toggle("bpl-sent", forward);
    }
  }
  function hidden(f) { return data.quiz && f > 0 && frames[f][10] !== null && !answered[f]; }
  function mark(el, cls) { if (el) { el.classList.add(cls); marked.push([el, cls]); } }
  function show(index) {
    var start = performance.now();
    index = Math.max(0, Math.min(last, index));
    apply(current, true);
    while (current < index) { current += 1; apply(current, true); }
    while (current > index) { apply(current, false); current -= 1; }
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    var r = frames[index];
    if (r[0] >= 0) { mark(nodes[r[0]], "bpl-sender"); }
    if (r[1] >= 0) { mark(nodes[r[1]], "bpl-receiver"); }
    r[2].forEach(function (e) { mark(edges[e], "bpl-active"); });
    var secret = hidden(index);
    if (secret) {
      if (r[3] >= 0) { setText(nodeSlots[r[3]], r[5]); }
      if (r[6] >= 0) { setText(edgeSlots[r[6]], r[8]); }
    } else {
      apply(index, true);
    }
    caption.textContent = secret ? r[11] : r[9];
    if (quizBox) {
      quizBox.hidden = !secret;
      if (secret) {
        answer.value = "";
        verdict.textContent = "";
        verdict.className = "bpl-verdict";
      }
    }
    slider.value = String(index);
    counter.textContent = index + " / " + last;
    root.setAttribute("data-current", String(index));
    if (picked >= 0) { explainNode(picked); }
    root.setAttribute("data-ms", (performance.now() - start).toFixed(2));
  }
  function check() {
    var r = frames[current];
    var text = answer.value.trim().replace(/\u2212/g, "-");
    var given = parseFloat(text);
    if (!hidden(current) || text === "" || isNaN(given)) { return; }
    var truth = r[10];
    var ok = Math.abs(given - truth) <= Math.max(data.tol[0] * Math.abs(truth), data.tol[1]);
    answered[current] = true;
    score[1] += 1;
    if (ok) { score[0] += 1; }
    scoreText.textContent = "score " + score[0] + " / " + score[1];
    show(current);
    quizBox.hidden = false;
    verdict.className = "bpl-verdict " + (ok ? "bpl-right" : "bpl-wrong");
    verdict.textContent = ok ? "Right." : "Not quite (you typed " + text + "). " + r[9];
    root.setAttribute("data-score", score[0] + "/" + score[1]);
  }
  function explainNode(i) {
    var lines = data.explain[String(i)] || [];
    var known = lines.filter(function (x) { return x[0] <= current && !hidden(x[0]); });
    var name = data.names[i];
    var text;
    if (data.slot === "data") {
      text = known.length ? known[known.length - 1][1] : name + " is not computed yet.";
    } else if (i === data.rootIndex) {
      text = "δ(" + name + ") = 1: it is the output.";
    } else if (!known.length) {
      text = "δ(" + name + ") is not known yet: it is the sum of the messages from the "
        + data.uses[i] + " node(s) that use " + name + ", and none has arrived.";
    } else {
      text = "δ(" + name + ") = " + known.map(function (x) { return x[1]; }).join(" + ")
        + " = " + known.map(function (x) { return x[2]; }).join(" + ")
        + " = " + known[known.length - 1][3]
        + (known.length < lines.length ? "  (" + (lines.length - known.length)
           + " more message(s) to come)" : "");
    }
    explain.textContent = text;
    explain.hidden = false;
  }
  nodes.forEach(function (g, i) {
    if (!g) { return; }
    g.addEventListener("click", function () {
      nodes.forEach(function (other) { if (other) { other.classList.remove("bpl-picked"); } });
      picked = i;
      g.classList.add("bpl-picked");
      explainNode(i);
    });
  });
  var timer = null;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    playButton.textContent = "Play";
  }
  playButton.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (current >= last) { show(0); }
    playButton.textContent = "Pause";
    timer = setInterval(function () {
      if (current >= last || hidden(current)) { stop(); return; }
      show(current + 1);
      if (current >= last || hidden(current)) { stop(); }
    }, data.interval);
  });
  function by(step) { return function () { stop(); show(current + step); }; }
  root.querySelector(".bpl-prev").addEventListener("click", by(-1));
  root.querySelector(".bpl-next").addEventListener("click", by(1));
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  zoomToggle(root, root.querySelector(".bpl-zoom"));
  if (quizBox) {
    root.querySelector(".bpl-check").addEventListener("click", check);
    answer.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { check(); event.preventDefault(); }
      event.stopPropagation();
    });
  }
  var keys = KEY_TARGET;
  keys.addEventListener("keydown", function (event) {
    if (event.target === slider || event.target === answer) { return; }
    if (event.key === "ArrowRight") { stop(); show(current + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { stop(); show(current - 1); event.preventDefault(); }
  });
  show(0);
})();
"""


def page_fragment(
    *, svg: str, data: dict, first_caption: str, title: str, quiz: bool, tolerance_text: str,
    standalone: bool,
) -> str:
    """The step-through as an HTML fragment with a fresh element id."""
    root_id = f"bpl-steps-{uuid.uuid4().hex[:12]}"
    last = len(data["frames"]) - 1
    quiz_html = ""
    if quiz:
        quiz_html = (
            '<div class="bpl-quiz" hidden><label>Your value: <input type="text" '
            'class="bpl-answer" inputmode="decimal" aria-label="your value"></label> '
            '<button type="button" class="bpl-check">Check</button> '
            f'<span class="bpl-verdict" aria-live="polite"></span> '
            f'<small>({_text(tolerance_text)})</small></div>'
        )
    script = _SCRIPT.replace("ROOT_ID", json.dumps(root_id)).replace(
        "KEY_TARGET", "document" if standalone else "root"
    )
    # The controls are built by the script: where scripts are stripped, no dead buttons
    # show (a notebook's sanitizer also drops ``hidden`` attributes and ``<style>``).
    controls = f"""<div class="bpl-bar">
<button type="button" class="bpl-prev" aria-label="previous step">&#9664; Previous</button>
<input type="range" class="bpl-slider" min="0" max="{last}" value="0" step="1" aria-label="step">
<button type="button" class="bpl-next" aria-label="next step">Next &#9654;</button>
<button type="button" class="bpl-play">Play</button>
<span class="bpl-counter">0 / {last}</span>
<button type="button" class="bpl-zoom">Zoom 100%</button>
{'<span class="bpl-score">score 0 / 0</span>' if quiz else ''}
</div>
<div class="bpl-caption" aria-live="polite">{_text(first_caption)}</div>
{quiz_html}
<div class="bpl-explain" hidden></div>"""
    script = script.replace("CONTROLS", script_json(controls))
    return f"""<div class="bpl-steps bpl-fit" id="{root_id}" tabindex="0">
<style>{(_CSS + _PICTURE_CSS).replace("#ROOT", "#" + root_id)}</style>
<p class="bpl-hint">{_text(title)}: run the cell or trust the notebook to step through.</p>
<div class="bpl-ui"></div>
<div class="bpl-view">{_picture_img(svg, title + ", first frame")}</div>
<script type="application/json" class="bpl-data">{script_json(data)}</script>
<script>{script}</script>
</div>"""


def _picture_img(svg: str, alt: str) -> str:
    """The picture as an image (scaled to the width by an inline style, which notebook
    sanitizers keep)."""
    data = base64.b64encode(compact_svg(svg).encode("utf-8")).decode("ascii")
    return (
        f'<img alt="{_text(alt)}" style="max-width: 100%; height: auto"\n'
        f' src="data:image/svg+xml;base64,{data}">'
    )


_PICTURE_CSS = """
#ROOT .bpl-view { overflow: auto; max-height: 85vh; }
#ROOT .bpl-view > svg, #ROOT .bpl-view > img { display: block; }
#ROOT.bpl-fit .bpl-view > svg { max-width: 100%; height: auto; }
#ROOT:not(.bpl-fit) .bpl-view > img { max-width: none !important; }
#ROOT button { font-size: 0.85em; }
"""

_PICTURE_SCRIPT = r"""
(function () {
""" + _INLINE + r"""
  var root = document.getElementById(ROOT_ID);
  if (!root || root.getAttribute("data-ready")) { return; }
  inlinePicture(root, root.querySelector(".bpl-view"));
  var button = document.createElement("button");
  button.type = "button";
  button.className = "bpl-zoom";
  button.textContent = "Zoom 100%";
  root.insertBefore(button, root.firstChild);
  zoomToggle(root, button);
})();
"""


def picture_fragment(svg: str, alt: str) -> str:
    """A Graphviz SVG for a notebook: scaled to the width with a zoom toggle, hover
    tooltips and ids unique on the page; an image where scripts are stripped."""
    root_id = f"bpl-graph-{uuid.uuid4().hex[:12]}"
    script = _PICTURE_SCRIPT.replace("ROOT_ID", json.dumps(root_id))
    return f"""<div class="bpl-graph bpl-fit" id="{root_id}">
<style>{_PICTURE_CSS.replace("#ROOT", "#" + root_id)}</style>
<div class="bpl-view">{_picture_img(svg, alt)}</div>
<script>{script}</script>
</div>"""


def page_document(fragment: str, heading: str) -> str:
    """A whole HTML page around a fragment (no network access needed)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_text(heading)}</title>
</head>
<body>
<h1 style="font-family: Helvetica, Arial, sans-serif; font-size: 1.2em">{_text(heading)}</h1>
{fragment}
</body>
</html>
"""


def _text(text: str) -> str:
    import html

    return html.escape(text, quote=True)
