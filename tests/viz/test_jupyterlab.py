"""The step-through and graph pictures in a real JupyterLab, driven in Chromium.

A JupyterLab server runs on 127.0.0.1 (a free port, a fixed token, its settings and
data in a temporary folder) for this module and is stopped at the end. Notebook 06
runs in it, with one extra cell that shows a step-through twice; the same notebook,
run outside JupyterLab (so not trusted by it), shows the fallback picture and hint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_backprop_chain_rule.ipynb"
TOKEN = "step-through-test"
TWICE = "display(steps)\ndisplay(steps)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _notebook_with_twice() -> dict:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    notebook["cells"].append({
        "cell_type": "code", "id": "twice", "metadata": {}, "execution_count": None,
        "outputs": [], "source": TWICE,
    })
    return notebook


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server; yields (base url, folder it serves)."""
    lab_binary = Path(sys.executable).with_name("jupyter-lab")
    if not lab_binary.exists():
        if os.environ.get("CI"):
            pytest.fail("jupyterlab is required in CI (the browser extra installs it)")
        pytest.skip("jupyterlab is not installed")
    folder = tmp_path_factory.mktemp("lab")
    served = folder / "served"
    served.mkdir()
    settings = folder / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the page (no virtual scrolling), so outputs can be found and clicked.
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (served / "trusted.ipynb").write_text(json.dumps(_notebook_with_twice()), "utf-8")
    port = _free_port()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(folder / "config"),
        JUPYTER_DATA_DIR=str(folder / "data"),
        JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(folder / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [
        str(lab_binary), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={TOKEN}", "--expose-app-in-browser",
        f"--ServerApp.root_dir={served}", "--LabApp.news_url=", "--allow-root",
    ]
    log = open(folder / "lab.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n"
                                + (folder / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, served
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(folder / "data", ignore_errors=True)


def _open(browser, base: str, name: str):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/lab/tree/{name}?token={TOKEN}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.content", timeout=120_000)
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                  " await w.context.ready; await w.sessionContext.ready; }")
    return context, page


def _last_cell_steps(page):
    return page.locator(".jp-Notebook .jp-Cell").last.locator(".bpl-steps")


def _contrast(page, locator) -> tuple[float, float]:
    """WCAG contrast of an element's text on its background, and that background's
    relative luminance."""
    return locator.evaluate("""el => {
        const parse = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = rgb => { const [r, g, b] = rgb.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const s = getComputedStyle(el);
        const a = lum(parse(s.color)), b = lum(parse(s.backgroundColor));
        return [(Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), b]; }""")


def test_notebook_06_runs_in_jupyterlab_and_two_copies_step_on_their_own(lab, browser):
    base, _ = lab
    context, page = _open(browser, base, "trusted.ipynb")
    try:
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        copies = _last_cell_steps(page)
        page.wait_for_function(
            "() => { const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');"
            " return cells[cells.length - 1].querySelectorAll('.bpl-steps[data-ready]')"
            ".length === 2; }", timeout=300_000,
        )
        errors = page.locator(".jp-OutputArea-output[data-mime-type*='error']")
        assert errors.count() == 0, errors.first.inner_text()
        first, second = copies.nth(0), copies.nth(1)
        assert first.get_attribute("id") != second.get_attribute("id")
        captions = [first.locator(".bpl-caption").inner_text()]
        second.locator(".bpl-next").click()
        second.locator(".bpl-next").click()
        first.locator(".bpl-next").click()
        assert first.get_attribute("data-current") == "1"
        assert second.get_attribute("data-current") == "2"
        assert first.locator(".bpl-counter").inner_text().startswith("1 / ")
        assert second.locator(".bpl-caption").inner_text().startswith("Message 2 of ")
        assert first.locator(".bpl-caption").inner_text().startswith("Message 1 of ")
        assert captions[0].startswith("Start: δ(L) = 1")
        # Both pictures are inline SVG fitted to the output area.
        for copy in (first, second):
            svg_box = copy.locator(".bpl-view svg").bounding_box()
            area = copy.bounding_box()
            assert svg_box["width"] <= area["width"] + 1
        # draw_graph shows as inline SVG (tooltips live), not as an <img> or a repr.
        graphs = page.locator(".bpl-graph[data-ready] .bpl-view svg")
        assert graphs.count() >= 2
        assert page.locator(".jp-OutputArea-output pre", has_text="graphviz.graphs").count() == 0
        # The quiz: a wrong answer shows the derivation, a right one (the product of the
        # two numbers the question gives) scores.
        quiz = page.locator(".bpl-steps[data-ready]", has=page.locator(".bpl-answer"))
        assert quiz.count() == 1
        quiz.locator(".bpl-next").click()
        quiz.locator(".bpl-answer").fill("12345")
        quiz.locator(".bpl-check").click()
        assert quiz.locator(".bpl-verdict").inner_text().startswith("Not quite")
        assert "Running sum" in quiz.locator(".bpl-verdict").inner_text()
        quiz.locator(".bpl-next").click()
        question = quiz.locator(".bpl-caption").inner_text()
        factors = re.search(r"= (\S+) and local derivative (\S+):", question)
        quiz.locator(".bpl-answer").fill(repr(float(factors[1]) * float(factors[2])))
        quiz.locator(".bpl-answer").press("Enter")
        assert quiz.locator(".bpl-verdict").inner_text() == "Right."
        assert quiz.locator(".bpl-score").inner_text() == "score 1 / 2"
        light, _ = _contrast(page, first.locator(".bpl-caption"))
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                      " {theme: 'JupyterLab Dark'})")
        page.wait_for_function("() => document.body.getAttribute('data-jp-theme-light')"
                               " === 'false'", timeout=60_000)
        page.wait_for_timeout(500)
        dark, background = _contrast(page, first.locator(".bpl-caption"))
        print(f"\ncaption contrast in JupyterLab: light theme {light:.1f}:1, "
              f"dark theme {dark:.1f}:1 (background luminance {background:.3f})")
        assert light >= 4.5 and dark >= 4.5
        assert background < 0.2  # the caption follows the dark theme
    finally:
        context.close()


def test_an_untrusted_notebook_shows_the_first_frame_and_a_hint(lab, browser):
    import nbformat
    from nbclient import NotebookClient

    base, served = lab
    notebook = nbformat.reads(json.dumps(_notebook_with_twice()), as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(served)}}).execute()
    nbformat.write(notebook, served / "untrusted.ipynb")
    context, page = _open(browser, base, "untrusted.ipynb")
    try:
        page.wait_for_function(
            "() => { const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');"
            " return cells.length && cells[cells.length - 1].querySelectorAll('.bpl-steps img')"
            ".length === 2; }", timeout=120_000,
        )
        copies = _last_cell_steps(page)
        for index in range(2):
            copy = copies.nth(index)
            assert "run the cell or trust the notebook to step through" in copy.inner_text()
            image = copy.locator(".bpl-view img")
            assert image.evaluate("img => img.complete && img.naturalWidth") > 100
            assert image.bounding_box()["width"] <= copy.bounding_box()["width"] + 1
            assert copy.locator("button").count() == 0  # no dead buttons
            assert copy.get_attribute("data-ready") is None
        # The page stays small: the fallback is one picture, not a wall of text.
        assert copies.nth(0).bounding_box()["height"] < 600
        # draw_graph cells show their picture, not the object's repr.
        assert page.locator(".bpl-graph img").count() >= 2
        assert page.locator(".jp-OutputArea-output pre", has_text="graphviz.graphs").count() == 0
    finally:
        context.close()
