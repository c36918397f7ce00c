"""The pages of `make run`, opened in headless Chromium from disk (file://) with no network.

Run with `make check-pages` (after `make run`): each page of build/html/ must

- make no request to the network (anything but file: and data: URLs; the browser
  sends http(s) to a closed local port, and every request is recorded),
- load every file it refers to (MathJax and its fonts from build/html/mathjax/),
- show its formulas typeset by MathJax: no TeX left in the text, no MathJax error,
  as many typeset formulas as the notebook has math in its Markdown,
- show no widget repr (``interactive(children=...``),
- show every image (loaded, with a width).

The index must link every notebook's page with a relative link.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools import chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "html"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
#: Math in Markdown, as MathJax's tex2jax finds it: $$...$$, \[...\], \(...\), $...$.
TEX = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|(?<![\\$])\$[^$\s][^$]*?(?<![\\\s])\$", re.S)
#: Left-over TeX in the visible text of Markdown cells.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\$[^$\s][^$\n]*\$|\\(?:frac|log|sum|text|times|mathbf|operatorname)\b")
#: Requests that do not leave the machine. MathJax probes font loading with an about:blank font.
LOCAL = ("file:", "data:", "about:blank")

WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax) { done("no MathJax"); return; }
MathJax.Hub.Register.StartupHook("End", () => done("typeset"));
"""


def tex_in_markdown(path: Path) -> int:
    """How many formulas the notebook's Markdown cells hold."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not math
    return len(TEX.findall(text))


@pytest.fixture(scope="module")
def browser():
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE / 'index.html'} is missing: run `make run` first")
    with chromium.chromium(offline=True) as driver:
        driver.get("about:blank")
        chromium.network_events(driver)  # drop the browser's own start-up requests
        driver.get_log("browser")
        yield driver


def open_page(driver, page: Path) -> tuple[list[dict], list[dict]]:
    """Open a page, wait for MathJax; returns its network events and console messages."""
    driver.get(page.as_uri())
    state = driver.execute_async_script(WAIT_FOR_MATHJAX)
    assert state in ("typeset", "no MathJax")
    return chromium.network_events(driver), driver.get_log("browser")


def check_loads(events: list[dict], console: list[dict]) -> list[str]:
    problems = [f"network request: {url}" for url in chromium.requests(events) if not url.startswith(LOCAL)]
    problems += [f"failed to load: {f}" for f in chromium.failed_loads(events) if not f.startswith("about:blank")]
    problems += [
        f"console: {m['message'][:200]}"
        for m in console
        if m["level"] == "SEVERE" and "about:blank" not in m["message"]
    ]
    return problems


def test_every_notebook_has_a_page():
    pages = {p.stem for p in SITE.glob("[0-9][0-9]-*.html")}
    assert pages == {p.stem for p in NOTEBOOKS}, "run `make run` to rebuild the pages"


def test_index_links_every_page(browser):
    events, console = open_page(browser, SITE / "index.html")
    assert check_loads(events, console) == []
    assert browser.title and browser.find_element("tag name", "h1").text == browser.title
    links = browser.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
    assert links == [f"{p.stem}.html" for p in NOTEBOOKS], "one relative link per notebook, in order"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_renders_offline(browser, notebook):
    page = SITE / f"{notebook.stem}.html"
    assert page.exists(), "run `make run` first"
    events, console = open_page(browser, page)
    problems = check_loads(events, console)

    markdown_text = browser.execute_script(
        "return Array.from(document.querySelectorAll('.jp-MarkdownOutput')).map(e => e.innerText).join('\\n')"
    )
    problems += [f"untypeset math: {m!r}" for m in RAW_TEX.findall(markdown_text)[:5]]
    typeset = browser.execute_script("return document.querySelectorAll('.jp-MarkdownOutput .MathJax').length")
    expected = tex_in_markdown(notebook)
    if typeset < expected:
        problems.append(f"{typeset} formulas typeset, the notebook has {expected}")
    errors = browser.execute_script("return document.querySelectorAll('.MathJax .merror, .MathJax .noError').length")
    if errors:
        problems.append(f"{errors} MathJax errors")

    body = browser.execute_script("return document.body.innerText")
    if "interactive(children=" in body:
        problems.append("a widget repr is shown: interactive(children=...")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete && i.naturalWidth, (i.alt || i.src).slice(0, 60)])"
    )
    problems += [f"image not shown: {name}" for width, name in images if not width]
    assert problems == []
