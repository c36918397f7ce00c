"""tools/notebooks.py and tools/kernel_env.py: kernels, thread defaults, stored metadata, pages, stale files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tools import kernel_env
from tools import notebooks as tool

WIDGET_STATE, WIDGET_VIEW = tool.WIDGET_STATE, tool.WIDGET_VIEW


def test_thread_defaults_fill_in_only_what_is_not_set():
    env = {"OPENBLAS_NUM_THREADS": "4"}
    assert kernel_env.set_thread_defaults(env) == {
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "4",
        "MKL_NUM_THREADS": "1",
    }
    assert env["OPENBLAS_NUM_THREADS"] == "4"


@pytest.mark.end_to_end
def test_pytest_sets_the_thread_defaults_for_the_kernels_it_starts():
    """nbval's kernels get one thread each from the root conftest.py (and none without it)."""
    folder = Path(tool.BUILD) / f"thread-check-{os.getpid()}"  # under the root, so that its conftest.py applies
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": tool.KERNELSPEC})
    names = list(kernel_env.THREAD_DEFAULTS)
    cell = nbformat.v4.new_code_cell(f"import os\nprint([os.environ.get(n) for n in {names}])")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="['1', '1', '1']\n")]
    nb.cells = [cell]
    nbformat.write(nb, folder / "threads.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in kernel_env.THREAD_DEFAULTS}
    command = [sys.executable, "-m", "pytest", str(folder / "threads.ipynb"), "-q", "-p", "no:cacheprovider"]
    try:
        with_conftest = subprocess.run(command, env=env, cwd=tool.ROOT, capture_output=True, text=True)
        without = subprocess.run([*command, "--noconftest"], env=env, cwd=tool.ROOT, capture_output=True, text=True)
    finally:
        shutil.rmtree(folder)
    assert with_conftest.returncode == 0, with_conftest.stdout[-2000:]
    assert without.returncode != 0 and "[None, None, None]" in without.stdout, "without conftest.py: no defaults"


def test_python3_kernel_is_this_python(tmp_path):
    spec = tool.ThisPythonKernels(kernel_dirs=[str(tmp_path)]).get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    assert spec.display_name == tool.KERNELSPEC["display_name"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """A small notebook, executed by the tool: a printed value, a widget, a solution cell."""
    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = tool.KERNELSPEC
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 1 · A test\n\nMath: $r \\times r$ and\n\n$$J = \\sum_i x_i^2$$"),
        nbformat.v4.new_code_cell("import os\nprint(os.environ['OMP_NUM_THREADS'])"),
        nbformat.v4.new_code_cell("import helpers\nhelpers.widgets.explore(lambda k: None, k=[1, 2])"),
        nbformat.v4.new_code_cell("print('the answer:', 6 * 7)"),
        nbformat.v4.new_markdown_cell("**Answer.**\n\nSix times seven."),
        nbformat.v4.new_markdown_cell("See [notebook 2](02-next.ipynb#part)."),
    ]
    nb.cells[3].metadata = {"tags": ["solution"], "jupyter": {"source_hidden": True, "outputs_hidden": True}}
    nb.cells[4].metadata = {"tags": ["solution"], "jupyter": {"source_hidden": True}}
    path = folder / "01-test.ipynb"
    nbformat.write(nb, path)
    return path, tool.clean(tool.execute(path), path.name)


@pytest.mark.end_to_end
def test_execute_uses_the_thread_defaults(executed):
    _, nb = executed
    assert nb.cells[1].outputs[0].text == os.environ["OMP_NUM_THREADS"] + "\n"


@pytest.mark.end_to_end
def test_clean_keeps_what_jupyterlab_compares_and_the_widget_state(executed):
    path, nb = executed
    from ipykernel.ipkernel import IPythonKernel

    assert set(nb.metadata) == {"kernelspec", "language_info", "widgets"}
    assert nb.metadata.language_info == IPythonKernel.language_info
    state = nb.metadata.widgets[WIDGET_STATE]["state"]
    view = next(o for o in nb.cells[2].outputs if WIDGET_VIEW in o.get("data", {}))
    assert view.data[WIDGET_VIEW]["model_id"] in state
    assert sorted(state) == sorted(tool.model_ids(path.name, len(state)))
    assert view.data["text/plain"].startswith("[Controls k: run this notebook in JupyterLab")
    text = nbformat.writes(nb)
    for model in re.findall(r"IPY_MODEL_([0-9a-f]+)", text):
        assert model in state, "every reference between widgets is renumbered"


@pytest.mark.end_to_end
def test_page_is_offline_and_folds_solutions(executed):
    path, nb = executed
    html = tool.page(nb, path.stem)
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(?:https?:)?//""", html), "loads from outside"
    assert 'src="mathjax/MathJax.js?config=' in html
    assert "require.min.js" not in html and "unpkg" not in html
    assert "<title>1 · A test</title>" in html
    assert "[Controls k: run this notebook in JupyterLab" in html
    assert "interactive(children=" not in html
    folded = re.search(r'<details class="solution"><summary>Solution</summary>(.*?)</details>', html, re.S)
    assert folded, "a solution cell is folded"
    assert "the answer:" in folded.group(1) and "42" in folded.group(1), "with its input and output"
    assert "Six times seven." in folded.group(1), "and its worked answer, in the same fold"
    assert html.count('<details class="solution">') == 1 and html.count("</details>") == 1
    assert html.count("the answer:") == 2, "and nowhere else (its source and its output)"
    assert 'href="02-next.html#part"' in html, "links between notebooks point at their pages"


@pytest.mark.end_to_end
def test_a_widget_repr_becomes_a_note_on_the_page(executed):
    path, nb = executed
    nb = nbformat.from_dict(nb)
    view = next(o for o in nb.cells[2].outputs if WIDGET_VIEW in o.get("data", {}))
    view.data["text/plain"] = "interactive(children=(Dropdown(description='k', ..."
    html = tool.page(nb, path.stem)
    assert "interactive(children=" not in html and tool.WIDGET_NOTE in html


def test_build_removes_stale_pages_and_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "BUILD", tmp_path)
    for name in ("html/01-a.html", "html/02-b.html", "figures/01-old.png", "figures/02-keep.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    tool.remove_stale([tmp_path / "01-a.ipynb"], every=False)
    assert sorted(p.name for p in tmp_path.rglob("*.*")) == ["02-b.html", "02-keep.png"]
    tool.remove_stale([], every=True)
    assert list(tmp_path.rglob("*.*")) == []


def test_gallery_refuses_figures_older_than_their_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "BUILD", tmp_path / "build")
    monkeypatch.setattr(tool, "GALLERY", tmp_path / "gallery")
    (tmp_path / "build" / "figures").mkdir(parents=True)
    for name in tool.GALLERY_FIGURES:
        (tmp_path / "build" / "figures" / f"{name}.png").write_bytes(b"png")
    assert tool.stale_figures() == []
    assert tool.gallery() == 0
    old = time.time() - 10 * 365 * 86400
    os.utime(tmp_path / "build" / "figures" / "05-dendrogram.png", (old, old))
    assert tool.stale_figures() == ["05-dendrogram"]
    assert tool.gallery() == 1
