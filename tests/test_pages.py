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

#: Wait until MathJax 2 (the version jupyter-server-mathjax ships) has typeset the page: after its
#: start-up ("End" hook), a callback pushed on its own queue runs once every queued typeset is done.
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('script[src*="MathJax.js"]')) { done("no MathJax"); return; }
(function wait() {
  if (!(window.MathJax && MathJax.Hub && MathJax.Hub.Register)) { setTimeout(wait, 50); return; }
  // The hook must not return the queue's callback: MathJax would wait for it, and it for the hook.
  MathJax.Hub.Register.StartupHook("End", () => { MathJax.Hub.Queue(() => done("typeset")); });
})();
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


def test_course_page_describes_every_notebook_and_links_its_page_notebook_and_handout(browser):
    events, console = open_page(browser, SITE / "index.html")
    assert check_loads(events, console) == []
    assert browser.title and browser.find_element("tag name", "h1").text == browser.title
    cards = browser.execute_script(
        """return Array.from(document.querySelectorAll("ol.notebooks > li")).map(li => ({
            id: li.id, title: li.querySelector("h2").innerText, summary: li.querySelector(".summary").innerText,
            time: li.querySelector(".time").innerText,
            image: li.querySelector("img") && li.querySelector("img").complete && li.querySelector("img").naturalWidth,
            links: Array.from(li.querySelectorAll(".links a")).map(a => [a.innerText, a.getAttribute("href")])}))"""
    )
    assert [c["id"] for c in cards] == [p.stem for p in NOTEBOOKS], "one card per notebook, in order"
    for card, path in zip(cards, NOTEBOOKS, strict=True):
        nb = nbformat.read(path, as_version=4)
        course = nb.metadata.get("course", {})
        assert card["summary"] and card["summary"] == course.get("summary"), f"{path.stem}: a line on what you learn"
        minutes = course.get("minutes")
        wanted = rf"About {minutes} minutes to work through \(an estimate\); ran in \d+ s for this build"
        assert re.fullmatch(wanted, card["time"]), f"{path.stem}: the time to work through it: {card['time']!r}"
        assert card["image"], f"{path.stem}: a thumbnail of its key figure shows"
        assert card["links"] == [
            ["page", f"{path.stem}.html"],
            ["notebook", f"notebooks/{path.name}"],
            ["handout", f"handout/{path.name}"],
        ]
        assert all((SITE / href).is_file() for _, href in card["links"]), f"{path.stem}: every link has its file"
    text = browser.execute_script("return document.body.innerText")
    for needed in ("make run", "make test", "make own PHOTOS=", "Teachers"):
        assert needed in text, f"the course page says {needed!r}"
    zip_href = browser.execute_script(
        "return document.querySelector('a[href$=\\'handouts.zip\\']').getAttribute('href')"
    )
    assert (SITE / zip_href).is_file()


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

    nb = nbformat.read(notebook, as_version=4)
    tagged = ["solution" in c.metadata.get("tags", []) for c in nb.cells]
    folds = sum(t and (i == 0 or not tagged[i - 1]) for i, t in enumerate(tagged))  # runs of solution cells
    shown = browser.execute_script("return document.querySelectorAll('details.solution:not([open])').length")
    if shown != folds:
        problems.append(f"{shown} closed 'Solution' folds, the notebook has {folds} solutions")
    outside = browser.execute_script(
        "return Array.from(document.querySelectorAll('.jp-Cell')).filter(c => !c.closest('details.solution'))"
        ".map(c => c.innerText).join('\\n')"
    )
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []) and cell.cell_type == "code":
            printed = [o.text.strip() for o in cell.outputs if o.output_type == "stream"]
            if printed and len(printed[0].splitlines()[0]) >= 20 and printed[0].splitlines()[0] in outside:
                problems.append(f"a solution's output shows outside its fold: {printed[0].splitlines()[0][:60]!r}")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete && i.naturalWidth, (i.alt || i.src).slice(0, 60)])"
    )
    problems += [f"image not shown: {name}" for width, name in images if not width]
    assert problems == []
