"""Execute the notebook series: into a static site (``build``) or in place (``execute``).

    python tools/notebooks.py build     # make run: build/html/ (index.html, one page per notebook) and build/figures/
    python tools/notebooks.py execute   # make notebooks: refresh the stored outputs
    python tools/notebooks.py gallery   # make gallery: copy the README's figures to docs/gallery/
    python tools/notebooks.py own FOLDER [K=256 r=8 n_clusters=6]   # make own: notebook 12 on a folder

Each notebook runs top to bottom in a fresh kernel of this Python (``sys.executable``,
whatever other ``python3`` kernels Jupyter knows), from the ``notebooks/`` folder,
with the thread defaults of ``tools/kernel_env.py``.

``build`` leaves the committed notebooks untouched. It first deletes what an earlier
build wrote for these notebooks, then writes ``build/html/NN-*.html`` (one page per
notebook), ``build/html/index.html`` (the series' title and one line per notebook),
``build/html/mathjax/`` (MathJax, copied from the jupyter-server-mathjax package, so
that the pages render their formulas without a network), and
``build/figures/NN-NAME.png`` for every figure of a code cell tagged ``figure:NAME``.
The pages load nothing from outside (``tests/test_pages.py`` checks this in Chromium).

``execute`` writes the notebooks back with only stable metadata: the kernelspec,
the kernel's full ``language_info`` (as JupyterLab would set it, so that opening an
untouched notebook does not mark it modified), and the widget state, with model ids
numbered per notebook, so that JupyterLab shows the controls of an unrun notebook and
re-running changes only what changed. Execution timing is dropped.

Pass notebook paths after the command to run only those.

``own`` runs ``notebooks/12-your-own-photos.ipynb`` on a folder of photos: the
values given (``folder``, and optionally ``K``, ``r``, ``n_clusters``) go into a
cell inserted after the notebook's cell tagged ``parameters`` (the convention of
papermill), and the executed notebook and its page go to ``build/own/``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(ROOT))
from tools.kernel_env import set_thread_defaults  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
GALLERY = ROOT / "docs" / "gallery"
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The key figures the README shows (names as written by ``build``).
GALLERY_FIGURES = (
    "01-patch-grid",
    "02-code-vectors",
    "03-vq-side-by-side",
    "04-distance-heatmap",
    "05-dendrogram",
    "05-cluster-grid",
    "06-normalization-codebooks",
    "07-rate-distortion",
    "08-best-vs-lecture",
    "09-grid-vs-corners",
    "10-n2-wall",
    "11-encodings",
)
KERNEL_NAME = "python3"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "[Interactive controls: they work when the notebook runs in JupyterLab.]"
#: What the pages do not need of the jupyter-server-mathjax package (SVG output, the
#: accessibility explorer, translations of the menus, the Python module around it).
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"  # the combined configuration the package ships
MATHJAX_SKIP = ("SVG", "a11y", "localization", "*.py", "__pycache__")
#: The cell metadata that ``clean`` keeps: tags (solutions, figures, parameters), JupyterLab's
#: hidden input and output, nbgrader's cell roles, and a cell's editable/deletable locks.
CELL_METADATA = ("tags", "jupyter", "nbgrader", "editable", "deletable")
#: The notebook metadata that ``clean`` keeps: what JupyterLab compares when a notebook opens
#: (kernelspec, language_info), the widget state, and the course page's ``course`` entry.
NOTEBOOK_METADATA = ("kernelspec", "language_info", "widgets", "course")


class ThisPythonKernels(KernelSpecManager):
    """Kernel specs where ``python3`` is always ipykernel on this interpreter (``sys.executable``)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == KERNEL_NAME:
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict

            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
        return super().get_kernel_spec(kernel_name)


def execute(path: Path, cwd: Path | None = None) -> nbformat.NotebookNode:
    """Run one notebook in a fresh kernel of this Python, from ``cwd`` (default: its folder); returns it executed."""
    nb = nbformat.read(path, as_version=4)
    set_thread_defaults()
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ThisPythonKernels()),
        timeout=600,
        # Quiet kernel start: no "running over TCP without encryption" notice (the kernel
        # listens on the loopback interface only).
        extra_arguments=["--log-level=ERROR"],
        resources={"metadata": {"path": str(cwd or path.parent)}},
        record_timing=False,
        store_widget_state=True,
    )
    client.execute()
    return nb


def clean(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Keep only stable metadata, so that a re-run diff shows only real changes.

    nbconvert's ``CoalesceStreamsPreprocessor`` joins consecutive stdout (or stderr)
    chunks (how print output is chunked depends on timing); its ``ClearMetadataPreprocessor``
    keeps of each code cell's metadata only :data:`CELL_METADATA` (execution timing,
    ``collapsed`` and ``scrolled`` go) and of the notebook's only :data:`NOTEBOOK_METADATA`.
    The kernelspec is set to :data:`KERNELSPEC`; the widget state is kept if it holds any
    widget. ``name`` (the notebook's file name) seeds the widget model ids.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CoalesceStreamsPreprocessor

    has_widgets = bool(nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state"))
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb, _ = ClearMetadataPreprocessor(
        preserve_cell_metadata_mask=set(CELL_METADATA),
        preserve_nb_metadata_mask=set(NOTEBOOK_METADATA) if has_widgets else set(NOTEBOOK_METADATA) - {"widgets"},
    ).preprocess(nb, {})
    for cell in nb.cells:  # markdown cells: the preprocessor clears code cells only
        for key in set(cell.metadata) - set(CELL_METADATA):
            del cell.metadata[key]
    nb.metadata["kernelspec"] = KERNELSPEC
    nb = nbformat.from_dict(nb)
    return renumber_widgets(nb, name)


def renumber_widgets(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Replace the random widget model ids by ids derived from the notebook's name and their order.

    The ids appear in the widget state (as keys and in ``IPY_MODEL_<id>`` references)
    and in the widget views of the outputs; all of them are replaced consistently.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    new_ids = dict(zip(state, model_ids(name, len(state)), strict=True))
    text = nbformat.writes(nb)
    text = re.sub("|".join(map(re.escape, new_ids)), lambda m: new_ids[m.group()], text)
    return nbformat.reads(text, as_version=4)


def model_ids(name: str, n: int) -> list[str]:
    """The widget model ids of a notebook: like uuid4().hex, but derived from its name and their order."""
    return [hashlib.sha256(f"{name}:{i}".encode()).hexdigest()[:32] for i in range(n)]


def save_figures(nb: nbformat.NotebookNode, prefix: str, folder: Path) -> list[Path]:
    """Write the PNG outputs of cells tagged ``figure:NAME`` to folder/prefix-NAME.png."""
    written = []
    for cell in nb.cells:
        names = [t.split(":", 1)[1] for t in cell.metadata.get("tags", []) if t.startswith("figure:")]
        if cell.cell_type != "code" or not names:
            continue
        pngs = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        for i, png in enumerate(pngs):
            suffix = f"-{i + 1}" if len(pngs) > 1 else ""
            target = folder / f"{prefix}-{names[0]}{suffix}.png"
            target.write_bytes(base64.b64decode(png))
            written.append(target)
    return written


def title(nb: nbformat.NotebookNode, default: str) -> str:
    """The text of the notebook's first Markdown heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def series_title() -> str:
    """The series' title: the first heading of README.md."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return "Notebooks"


def page(nb: nbformat.NotebookNode, name: str) -> str:
    """One notebook as a self-contained HTML page (MathJax from ``mathjax/`` beside it)."""
    from nbconvert import HTMLExporter

    nb = nbformat.from_dict(nb)
    # No widget renderer on the pages (it would load from the network): a widget view shows its
    # text/plain fallback, which helpers.widgets.explore writes; a bare widget repr gets a note.
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "(children=" in data.get("text/plain", "(children="):
                data["text/plain"] = WIDGET_NOTE
    nb.metadata["title"] = title(nb, name)
    exporter = HTMLExporter(template_name="site", extra_template_basedirs=[str(TEMPLATES)], mathjax_url=MATHJAX_URL)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    # Links between notebooks point at their pages.
    return re.sub(r'href="(?:\./)?(\d\d-[\w-]+)\.ipynb(#[^"]*)?"', r'href="\1.html\2"', body)


def write_index(folder: Path) -> Path:
    """build/html/index.html: the series' title and one line per page, with relative links."""
    items = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        if (folder / f"{path.stem}.html").exists():
            name = title(nbformat.read(path, as_version=4), path.stem)
            items.append(f'<li><a href="{path.stem}.html">{html.escape(name)}</a></li>')
    heading = html.escape(series_title())
    index = folder / "index.html"
    index.write_text(
        f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{heading}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
li {{ margin: 0.3em 0; }}
</style>
</head>
<body>
<h1>{heading}</h1>
<p>The executed notebooks of the series, one page each.</p>
<ul>
{chr(10).join(items)}
</ul>
</body>
</html>
""",
        encoding="utf-8",
    )
    return index


def copy_mathjax(folder: Path) -> Path:
    """Copy MathJax 2 (TeX input, HTML-CSS output with STIX web fonts) from the jupyter-server-mathjax package."""
    from importlib.util import find_spec

    spec = find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("jupyter-server-mathjax is not installed: run `make .venv/.installed` (or see README.md)")
    source = Path(next(iter(spec.submodule_search_locations))) / "static"
    target = folder / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*MATHJAX_SKIP))
    return target


def remove_stale(paths: list[Path], every: bool) -> None:
    """Delete what an earlier build wrote: everything, or the pages and figures of these notebooks."""
    if every:
        shutil.rmtree(BUILD / "html", ignore_errors=True)
        shutil.rmtree(BUILD / "figures", ignore_errors=True)
    else:
        for path in paths:
            (BUILD / "html" / f"{path.stem}.html").unlink(missing_ok=True)
            for figure in (BUILD / "figures").glob(f"{path.stem.split('-', 1)[0]}-*.png"):
                figure.unlink()
    (BUILD / "html").mkdir(parents=True, exist_ok=True)
    (BUILD / "figures").mkdir(parents=True, exist_ok=True)


def stale_figures() -> list[str]:
    """Gallery figures that are missing or older than their notebook or the helpers package."""
    stale = []
    helpers_time = max(p.stat().st_mtime for p in (ROOT / "helpers").glob("*.py"))
    for name in GALLERY_FIGURES:
        figure = BUILD / "figures" / f"{name}.png"
        notebooks = list(NOTEBOOKS.glob(f"{name.split('-', 1)[0]}-*.ipynb"))
        newest = max([helpers_time] + [p.stat().st_mtime for p in notebooks])
        if not figure.exists() or figure.stat().st_mtime < newest:
            stale.append(name)
    return stale


def gallery() -> int:
    stale = stale_figures()
    if stale:
        print(f"Figures missing or older than their notebook or helpers/: {', '.join(stale)}.")
        print("Run `make run` first (it executes the notebooks and writes build/figures/).")
        return 1
    GALLERY.mkdir(parents=True, exist_ok=True)
    for name in GALLERY_FIGURES:
        shutil.copyfile(BUILD / "figures" / f"{name}.png", GALLERY / f"{name}.png")
    print(f"copied {len(GALLERY_FIGURES)} figures to {GALLERY}")
    return 0


OWN = NOTEBOOKS / "12-your-own-photos.ipynb"
OWN_PARAMETERS = {"K": int, "r": int, "n_clusters": int}


def own(argv: list[str]) -> int:
    """Notebook 12 on a folder: ``own FOLDER [K=.. r=.. n_clusters=..]``; writes build/own/."""
    from nbclient.exceptions import CellExecutionError

    if not argv:
        print("usage: python tools/notebooks.py own FOLDER [K=256] [r=8] [n_clusters=6]")
        return 2
    folder = Path(argv[0]).expanduser().resolve()
    if not folder.is_dir():
        print(f"{folder} is not a folder of photos")
        return 2
    values = {"folder": str(folder)}
    for item in argv[1:]:
        key, _, value = item.partition("=")
        if key not in OWN_PARAMETERS or not value.isdigit():
            print(f"unknown or invalid parameter {item!r}: give K=<int>, r=<int> or n_clusters=<int>")
            return 2
        values[key] = OWN_PARAMETERS[key](value)
    nb = nbformat.read(OWN, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    target = BUILD / "own"
    target.mkdir(parents=True, exist_ok=True)
    source = target / OWN.name
    nbformat.write(nb, source)
    failed = None
    start = time.perf_counter()
    try:
        executed = execute(source, cwd=NOTEBOOKS)
    except CellExecutionError as err:  # keep what ran, say what failed
        executed, failed = nbformat.read(source, as_version=4), err
    nbformat.write(executed, source)
    (target / f"{OWN.stem}.html").write_text(page(clean(executed, OWN.name), OWN.stem), encoding="utf-8")
    copy_mathjax(target)
    if failed is not None:
        last = [line for line in str(failed).splitlines() if line.strip()][-1]
        print(f"notebook 12 stopped on {folder}: {last}")
        return 1
    print(f"notebook 12 on {folder}: {time.perf_counter() - start:.0f} s")
    print(f"open {target / (OWN.stem + '.html')} in a browser (or {source} in JupyterLab)")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "execute", "gallery", "own"):
        print(__doc__)
        return 2
    if argv[0] == "gallery":
        return gallery()
    if argv[0] == "own":
        return own(argv[1:])
    command, chosen = argv[0], [Path(a).resolve() for a in argv[1:]]
    paths = chosen or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    threads = set_thread_defaults()
    print("threads: " + ", ".join(f"{k}={v}" for k, v in threads.items()), flush=True)
    if command == "build":
        remove_stale(paths, every=not chosen)
    figures = []
    for path in paths:
        start = time.perf_counter()
        nb = clean(execute(path), path.name)
        if command == "execute":
            nbformat.write(nb, path)
        else:
            (BUILD / "html" / f"{path.stem}.html").write_text(page(nb, path.stem), encoding="utf-8")
            figures += save_figures(nb, path.stem.split("-", 1)[0], BUILD / "figures")
        print(f"{path.name}: {time.perf_counter() - start:.1f} s", flush=True)
    if command == "build":
        copy_mathjax(BUILD / "html")
        index = write_index(BUILD / "html")
        print(f"\nThe site (open in a browser, works offline): {index}")
        print(f"Figures ({len(figures)} PNG files):              {BUILD / 'figures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
