"""The course site: built by ``make docs``, served on 127.0.0.1, clicked through in Chromium.

One crawl visits every page reachable from the start page and checks, on each, that
every internal link resolves (the file is served and its ``#fragment`` exists), that no
request leaves 127.0.0.1, that the console shows no error, and that maths is typeset.
Further tests use the crawl's pages: the lecture's step-through, the generated API
and rules pages, and the gallery.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

import autograd_core
import nn
import viz
from autograd_core.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "docs"
STEPS_PAGE = "lecture/06_backprop_chain_rule.html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site() -> Path:
    """The site as ``make docs`` builds it (incrementally: fast when it is up to date)."""
    result = subprocess.run(["make", "-s", "docs"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"make docs failed:\n{result.stdout}\n{result.stderr}"
    assert (SITE / "index.html").is_file()
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(site):
    """An HTTP server on 127.0.0.1 (a free port) serving the built site."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # the browser extra installs it
        pytest.fail(f"playwright is needed (make setup installs it): {error}")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is needed (make setup installs it as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visitor:
    """One browser context whose every request is checked: only the site's own host."""

    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str):
        page = self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"{url}: console error: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"{url}: uncaught: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{url}: {r.url} failed"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(
            f"{url}: {r.url} answered {r.status}"))
        page.goto(url, wait_until="load")
        return page


def _wait_for_maths(page) -> None:
    """Wait until MathJax has typeset the page (when it has maths to typeset)."""
    if page.locator(".math").count():
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")


@pytest.fixture(scope="module")
def crawl(browser, server):
    """Visit every page linked from the start page; return what each page showed."""
    visitor = Visitor(browser, server)
    pages: dict[str, dict] = {}
    links: list[tuple[str, str]] = []  # (page, link target)
    queue = [server + "index.html", server + "search.html?q=backward"]
    while queue:
        url = queue.pop(0)
        if url in pages:
            continue
        page = visitor.open(url)
        _wait_for_maths(page)
        pages[url] = page.evaluate("""() => ({
            ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
            hrefs: Array.from(document.querySelectorAll('a[href]'), a => a.href),
            text: document.body.innerText,
            typeset: document.querySelectorAll('mjx-container').length,
            maths: document.querySelectorAll('.math').length,
        })""")
        for href in pages[url]["hrefs"]:
            if not href.startswith(server):
                continue
            links.append((url, href))
            target = urldefrag(href).url
            if target.endswith(".html") and target not in pages and target not in queue:
                queue.append(target)
        page.close()
    visitor.context.close()
    return {"pages": pages, "links": links, "visitor": visitor, "base": server}


def test_every_page_of_the_site_is_reached(crawl, site):
    reached = {urlsplit(url).path.lstrip("/") for url in crawl["pages"]}
    built = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for name in ["index.html", "getting-started.html", "rules.html", "gallery.html",
                 "api/autograd_core.html", "api/nn.html", "api/viz.html", STEPS_PAGE]:
        assert name in reached
    lecture = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(lecture) == 9
    for notebook in lecture:
        assert "lecture/" + notebook.replace(".ipynb", ".html") in reached
    assert reached <= built


def test_every_internal_link_resolves(crawl):
    pages = crawl["pages"]
    broken = []
    for source, href in crawl["links"]:
        target, fragment = urldefrag(href)
        if target in pages:
            if fragment and fragment not in pages[target]["ids"]:
                broken.append(f"{source} -> {href}: no element with id {fragment!r}")
            continue
        try:
            with urllib.request.urlopen(target) as response:
                assert response.status == 200
        except (urllib.error.URLError, AssertionError) as error:
            broken.append(f"{source} -> {href}: {error}")
    assert len(crawl["links"]) > 100
    assert broken == []


def test_no_request_leaves_the_host_and_nothing_fails(crawl):
    visitor = crawl["visitor"]
    assert visitor.outside == []
    assert visitor.failed == []
    assert visitor.errors == []


def test_maths_is_typeset_and_no_raw_dollars_remain(crawl):
    pages = crawl["pages"]
    with_maths = [url for url, page in pages.items() if page["maths"]]
    assert crawl["base"] + STEPS_PAGE in with_maths
    assert crawl["base"] + "index.html" in with_maths
    for url in with_maths:
        assert pages[url]["typeset"] >= pages[url]["maths"], url
    for url, page in pages.items():
        assert "$$" not in page["text"], url
        assert "\\frac" not in page["text"], url


def _steps_state(widget) -> tuple[int, str]:
    """The frame a step-through shows (its slider) and its caption."""
    return int(widget.locator("input[type=range]").input_value()), widget.locator(
        ".bpl-caption").inner_text()


def test_the_lecture_step_through_advances_on_next_and_the_arrow_key(browser, server):
    visitor = Visitor(browser, server)
    page = visitor.open(server + STEPS_PAGE)
    widgets = page.locator(".bpl-steps")
    assert widgets.count() >= 2  # the lecture's two examples
    widget = widgets.first
    widget.scroll_into_view_if_needed()
    index, start = _steps_state(widget)
    assert index == 0 and start.startswith("Start")
    widget.get_by_role("button", name=re.compile("next", re.I)).click()
    index, first = _steps_state(widget)
    assert index == 1 and first.startswith("Message 1 ") and first != start
    page.keyboard.press("ArrowRight")  # the clicked button is inside the step-through
    index, second = _steps_state(widget)
    assert index == 2 and second.startswith("Message 2 ")
    page.keyboard.press("ArrowLeft")
    assert _steps_state(widget) == (1, first)
    # The arrow keys belong to the step-through that has the focus, not to the page.
    assert page.url == server + STEPS_PAGE
    assert _steps_state(widgets.nth(1))[0] == 0
    # The slider jumps to the last frame.
    slider = widget.locator("input[type=range]")
    last = int(slider.get_attribute("max"))
    assert last >= 5
    slider.fill(str(last))
    index, caption = _steps_state(widget)
    assert index == last and f"Message {last} of {last}" in caption
    page.close()
    visitor.context.close()
    assert visitor.outside == [] and visitor.errors == [] and visitor.failed == []


def _html(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("package", [autograd_core, nn, viz], ids=lambda p: p.__name__)
def test_the_api_pages_document_every_public_name(site, package):
    text = _html(site, f"api/{package.__name__}.html")
    for name in package.__all__:
        target = f"{package.__name__}.{name}"
        if isinstance(getattr(package, name), type(package)):
            assert f'id="module-{target}"' in text, target
        else:
            assert f'id="{target}"' in text, target


def test_the_rules_page_shows_every_rule_with_its_pictures(site):
    text = _html(site, "rules.html")
    for name, rule in RULES.items():
        section = re.search(
            rf'<section id="{re.escape(name.replace("_", "-"))}">(.*?)</section>', text, re.S
        )
        assert section, name
        body = section.group(1)
        words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        assert "Rule: " + " ".join(rule.text.split()) in words, name
        images = re.findall(r'<img[^>]+src="([^"]+\.svg)"', body)
        assert len(images) == 2, name
        for src in images:
            svg = (site / urljoin("rules.html", src)).read_text(encoding="utf-8")
            assert "<svg" in svg and rule.symbol.replace("&", "&amp;") in svg, (name, src)


def test_the_gallery_shows_a_picture_under_every_code_cell(site):
    text = _html(site, "gallery.html")
    cells = re.split(r'<div class="cell docutils container">', text)[1:]
    assert len(cells) >= 10
    for cell in cells:
        assert re.search(r"<img |<svg |bpl-steps", cell), cell[:300]


def test_getting_started_runs_the_readmes_ten_lines():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    ten_lines = re.search(r"## Ten lines\n\n```python\n(.*?)```", readme, re.S).group(1)
    cells = re.findall(r"```\{code-cell\} python\n(.*?)```", page, re.S)
    assert cells[0] == ten_lines
    assert len(ten_lines.strip().splitlines()) <= 12
