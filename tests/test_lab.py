"""The stored notebooks as a student sees them in JupyterLab (headless Chromium, `make check-pages`).

A JupyterLab server runs on a copy of notebooks/ with its own, empty Jupyter
config and data folders (no trusted notebooks, no workspace). For each notebook:

1. Opened untouched (and so not trusted): the kernel starts, JupyterLab fills in
   ``kernelspec`` and ``language_info``, and the notebook must stay unmodified; no
   output may show a widget repr (``interactive(children=...``) or a widget error.
2. Saved, closed and opened again: the same.
3. Trusted (``jupyter trust``, as after running it) and opened again: the controls
   show, from the widget state stored in the notebook, and still no error.

Exercises: on opening, no number that only a solution prints (or its worked answer states) and no
sentence of a worked answer is visible. JupyterLab hides each part of a solution behind its own
placeholder: one click on the solution's code shows the code, one on its output placeholder the
output, one on the worked answer's the explanation. Each handout (``make handout``) opens clean,
with its empty answer cells in view.
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

import nbformat
import pytest

from tests.test_handout import numbers, role, texts
from tools import chromium
from tools import notebooks as tool

pytestmark = [pytest.mark.browser, pytest.mark.stored_notebooks]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
TOKEN = "check-lab"

OPEN = """
const [path, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute("docmanager:open", {path, factory: "Notebook"});
  await panel.context.ready;
  await panel.sessionContext.ready;
  const info = await panel.sessionContext.session.kernel.info;
  // JupyterLab copies the kernel's language_info into the notebook once the kernel is up.
  const canon = o => JSON.stringify(o, (k, v) =>
      v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v);
  const wanted = canon(info.language_info);
  for (let i = 0; i < 100 && canon(panel.model.getMetadata("language_info")) !== wanted; i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  await new Promise(r => setTimeout(r, 1000));  // widget manager: restore from the kernel and the notebook
  window.checkedPanel = panel;
  return {ok: true};
})().then(done, e => done({error: String(e)}));
"""

STATE = """
const panel = window.checkedPanel;
const tab = document.querySelector(".lm-TabBar-tab.jp-mod-current");
return {
  dirty: panel.model.dirty,
  tab_dirty: tab ? tab.classList.contains("jp-mod-dirty") : null,
  text: panel.content.node.innerText,
  controls: panel.content.node.querySelectorAll(".widget-interact").length,
  widget_texts: panel.content.widgets.filter(cell => cell.model.type === "code" && cell.model.outputs.toJSON().some(
      o => o.data && o.data["application/vnd.jupyter.widget-view+json"])).map(cell => cell.outputArea.node.innerText),
  widget_views: panel.model.cells.length && Array.from(panel.model.cells).reduce((n, cell) =>
      n + (cell.type === "code" ? cell.outputs.toJSON().filter(
          o => o.data && o.data["application/vnd.jupyter.widget-view+json"]).length : 0), 0),
};
"""

SAVE = """
const done = arguments[arguments.length - 1];
window.checkedPanel.context.save().then(() => done(true), e => done(String(e)));
"""

CLOSE = """
const done = arguments[arguments.length - 1];
const panel = window.checkedPanel;
panel.sessionContext.shutdown().then(() => { panel.model.dirty = false; panel.dispose(); done(true); },
                                     e => done(String(e)));
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks; yields (url, folder, environment)."""
    problem = chromium.missing()
    if problem:
        pytest.fail(problem)
    base = tmp_path_factory.mktemp("lab")
    folder = base / "notebooks"
    folder.mkdir()
    for path in NOTEBOOKS:
        shutil.copyfile(path, folder / path.name)
    (folder / "handout").mkdir()
    for path in NOTEBOOKS:
        nbformat.write(tool.handout(nbformat.read(path, as_version=4)), folder / "handout" / path.name)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(base / name.lower())
    # Render every cell, not only those in view (JupyterLab's default windowing), so that
    # the page text holds every output.
    settings = base / "jupyter_config_dir" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = free_port()
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    command += [f"--port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={folder}"]
    command += ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
    command += ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(base / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=1)
                break
            except OSError:
                assert server.poll() is None, (base / "lab.log").read_text()
                time.sleep(0.5)
        yield url, folder, env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    url, _, _ = lab
    with chromium.chromium(offline=True) as driver:
        driver.set_script_timeout(120)
        driver.get(f"{url}/lab?token={TOKEN}")
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "(function wait() { window.jupyterapp ? window.jupyterapp.restored.then(() => done(true))"
            " : setTimeout(wait, 100); })();"
        )
        yield driver


def open_notebook(driver, name: str) -> dict:
    result = driver.execute_async_script(OPEN, name)
    assert result == {"ok": True}, result
    return driver.execute_script(STATE)


def close_notebook(driver) -> None:
    assert driver.execute_async_script(CLOSE) is True


def problems(state: dict) -> list[str]:
    found = []
    if state["dirty"] or state["tab_dirty"]:
        found.append("marked modified without a change")
    if "interactive(children=" in state["text"]:
        found.append("a widget repr is shown")
    if "model not found" in state["text"] or "Error displaying widget" in state["text"]:
        found.append("a widget error is shown")
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_clean(browser, lab, notebook):
    _, folder, env = lab
    stored = (folder / notebook.name).read_bytes()

    state = open_notebook(browser, notebook.name)
    assert problems(state) == [], "opened untouched"
    close_notebook(browser)
    assert (folder / notebook.name).read_bytes() == stored, "the file changed without a save"

    open_notebook(browser, notebook.name)
    assert browser.execute_async_script(SAVE) is True
    close_notebook(browser)
    state = open_notebook(browser, notebook.name)
    assert problems(state) == [], "saved and opened again"
    close_notebook(browser)

    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(folder / notebook.name)], env=env, check=True)
    state = open_notebook(browser, notebook.name)
    assert problems(state) == [], "trusted and opened again"
    assert state["controls"] == state["widget_views"], "every control shows, from the stored widget state"
    close_notebook(browser)
    saved = json.loads((folder / notebook.name).read_text())
    assert saved["metadata"] == json.loads(stored)["metadata"], "saving changed the notebook's metadata"


VISIBLE_TEXT = "return window.checkedPanel.content.node.innerText"
#: The placeholders (a hidden cell's input or output) now shown in the cells with these indices.
PLACEHOLDERS = """
return arguments[0].flatMap(i => Array.from(
    window.checkedPanel.content.widgets[i].node.querySelectorAll(".jp-Placeholder-content")
).filter(e => e.offsetParent !== null));
"""


def solution_only(nb) -> tuple[set[str], list[str]]:
    """Numbers that only the solutions print or state, and the sentences of the worked answers."""
    lesson = "\n".join([t for c in nb.cells if role(c) == "lesson" for t in texts(c)])
    lesson += "\n".join(c.source for c in nb.cells if role(c) == "check")
    answers = [c for c in nb.cells if role(c) in ("answer", "solution")]
    found = set().union(*(numbers(t) for c in answers for t in texts(c)[1 if c.cell_type == "code" else 0 :]))
    sentences = [
        s.strip()
        for c in answers
        if c.cell_type == "markdown" and "solution" in c.metadata.get("tags", [])  # worked answers, not notes
        for s in re.split(r"(?<=[.:;])\s+", c.source.removeprefix("**Answer.**"))
        if len(s.strip()) > 30
    ]
    return found - numbers(lesson), sentences


def plain(markdown: str) -> str:
    """The start of a Markdown sentence as JupyterLab renders it: no emphasis or code marks, up to any math."""
    return markdown.replace("*", "").replace("`", "").split("$")[0][:60].strip()


def shown(number: str, text: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(number)}(?![\w])", text) is not None


def open_part(browser, cells, placeholder) -> bool:
    """Click a placeholder and wait until it is gone; a click while JupyterLab is still settling (just after
    another notebook was closed) can miss, so one part may take up to three tries. Returns whether it opened."""
    label = placeholder.text
    for _ in range(3):
        placeholder.click()
        for _ in range(20):
            time.sleep(0.1)
            now = browser.execute_script(PLACEHOLDERS, cells)
            if label not in [p.text for p in now]:
                return True
        placeholder = next((p for p in now if p.text == label), placeholder)
    return False


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_stay_hidden_until_asked(browser, notebook):
    nb = nbformat.read(notebook, as_version=4)
    hidden_numbers, sentences = solution_only(nb)
    assert hidden_numbers, "the solutions print numbers"
    open_notebook(browser, notebook.name)
    text = browser.execute_script(VISIBLE_TEXT)
    assert sorted(n for n in hidden_numbers if shown(n, text)) == [], "a number only a solution prints is visible"
    assert [s for s in sentences if len(plain(s)) > 15 and plain(s) in text] == [], "an answer is visible"

    # Exercise 1: one click on each placeholder (code, then its output, then the worked answer).
    first = next(i for i, c in enumerate(nb.cells) if role(c) == "solution")
    cells = [first] + ([first + 1] if role(nb.cells[first + 1]) == "answer" else [])
    clicks = 0
    while placeholders := browser.execute_script(PLACEHOLDERS, cells):
        clicks += 1
        assert clicks <= 3, "more than three hidden parts (code, output, worked answer)"
        assert open_part(browser, cells, placeholders[0]), f"hidden part {placeholders[0].text[:40]!r} does not open"
    text = browser.execute_script(VISIBLE_TEXT)
    printed = next(o.text for o in nb.cells[first].outputs if o.output_type == "stream").splitlines()[0]
    assert "# Solution to exercise 1" in text and printed.strip() in text, "the solution's code and output show"
    if len(cells) == 2:
        assert plain(nb.cells[first + 1].source.splitlines()[2]) in text, "the worked answer shows"
    close_notebook(browser)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_handout_opens_clean_with_its_answer_cells_in_view(browser, notebook):
    state = open_notebook(browser, f"handout/{notebook.name}")
    assert problems(state) == [], "the handout opened untouched"
    assert state["text"].count("# YOUR CODE HERE") == sum(
        role(c) == "solution" for c in nbformat.read(notebook, as_version=4).cells
    ), "every answer cell shows"
    close_notebook(browser)
