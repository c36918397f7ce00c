"""Execute the notebook series: into a static site (``build``) or in place (``execute``).

    python tools/notebooks.py build     # make run: build/html/ (index.html, one page per notebook) and build/figures/
    python tools/notebooks.py execute   # make notebooks: refresh the stored outputs
    python tools/notebooks.py gallery   # make gallery: copy the README's figures to docs/gallery/
    python tools/notebooks.py handout   # make handout: build/handout/ (student copies, and a zip of them)

Each notebook runs top to bottom in a fresh kernel of this Python (``sys.executable``,
whatever other ``python3`` kernels Jupyter knows), from the ``notebooks/`` folder,
with the thread defaults of ``tools/kernel_env.py``.

``build`` leaves the committed notebooks untouched. It first deletes what an earlier
build wrote for these notebooks, then writes ``build/html/NN-*.html`` (one page per
notebook), ``build/html/notebooks/`` (the executed notebooks), ``build/html/handout/``
(their student handouts and a zip), ``build/html/index.html`` (the course page: one
card per notebook with its summary, time and key figure, from ``metadata.course``),
``build/html/mathjax/`` (MathJax, copied from the jupyter-server-mathjax package, so
that the pages render their formulas without a network), and
``build/figures/NN-NAME.png`` for every figure of a code cell tagged ``figure:NAME``.
The pages load nothing from outside (``tests/test_pages.py`` checks this in Chromium).

``execute`` writes the notebooks back with only stable metadata: the kernelspec,
the kernel's full ``language_info`` (as JupyterLab would set it, so that opening an
untouched notebook does not mark it modified), and the widget state, with model ids
numbered per notebook, so that JupyterLab shows the controls of an unrun notebook and
re-running changes only what changed. Execution timing is dropped.

``handout`` writes ``build/handout/NN-*.ipynb`` from the stored notebooks (see
:func:`handout`) and ``build/handout/handouts.zip``.

Pass notebook paths after the command to run only those.
"""

from __future__ import annotations

import base64
import hashlib
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
SOLUTION_TAG = "solution"
#: What a solution becomes in a handout: nbgrader's stub for Python (``ClearSolutions.code_stub``).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
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
    client.execute(cleanup_kc=True)  # the kernel manager is ours, so nbclient would leave the kernel running
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
    # Consecutive cells tagged `solution` (an exercise's code and its worked answer) fold together:
    # the template opens the fold at the first and closes it after the last.
    solution = [SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells]
    for i, cell in enumerate(nb.cells):
        if solution[i]:
            cell.metadata["fold"] = {
                "open": i == 0 or not solution[i - 1],
                "close": i == len(nb.cells) - 1 or not solution[i + 1],
            }
    exporter = HTMLExporter(template_name="site", extra_template_basedirs=[str(TEMPLATES)], mathjax_url=MATHJAX_URL)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    # Links between notebooks point at their pages.
    return re.sub(r'href="(?:\./)?(\d\d-[\w-]+)\.ipynb(#[^"]*)?"', r'href="\1.html\2"', body)


def handout(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's copy of a notebook: the lesson as it ran, each exercise with an empty cell to write in.

    nbgrader's ``ClearSolutions`` replaces each ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
    region by its stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``); then
    :func:`drop_answers` removes what only the solutions hold. The lesson cells keep their
    outputs; the nbgrader metadata stays, so the handout is an nbgrader release version.
    """
    from nbgrader.preprocessors import ClearSolutions

    nb = nbformat.from_dict(nb)
    nb, _ = ClearSolutions(enforce_metadata=True).preprocess(nb, {})
    return drop_answers(nb)


def drop_answers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove solution Markdown cells (worked answers, nbgrader ``solution``); empty the solution and check cells.

    A cell tagged ``solution`` without nbgrader metadata is treated as a solution too (its
    code becomes :data:`CODE_STUB`), so that no answer leaks from a notebook not yet converted.
    A solution code cell keeps its stub, shown (no hidden input) and without outputs; a
    self-check cell (tag ``selfcheck``) keeps its code but not the output that it printed
    on the worked solution. (nbgrader's own preprocessors replace a Markdown solution by a
    text stub instead of removing it, and keep outputs: hence this step.)
    """
    kept = []
    for cell in nb.cells:
        role = cell.metadata.get("nbgrader", {})
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags and not role:  # a solution without nbgrader's metadata: never hand it out
            if cell.cell_type == "markdown":
                continue
            cell.source, role = CODE_STUB, {"solution": True}
        if cell.cell_type == "markdown" and role.get("solution"):
            continue
        if cell.cell_type == "code" and (role.get("solution") or "selfcheck" in tags):
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "code" and role.get("solution"):
            cell.metadata.pop("jupyter", None)
            cell.metadata["tags"] = [t for t in tags if t != "solution"]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        kept.append(cell)
    nb.cells = kept
    return nb


def nbgrader_source(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook as an nbgrader course's ``source/`` version: everything but the worked answers.

    nbgrader accepts a Markdown solution cell only as a manually graded answer; the worked
    answers here are explanations, not graded, so they go (its validator refuses them).
    """
    nb = nbformat.from_dict(nb)
    nb.cells = [
        c for c in nb.cells if not (c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))
    ]
    return nb


def write_handouts(notebooks: dict[str, nbformat.NotebookNode], folder: Path) -> Path:
    """Write ``folder/NN-*.ipynb`` (one handout per notebook) and ``folder/handouts.zip``; returns the zip.

    In the zip the handouts sit in a folder ``handout/``: unpacked in the repository's root,
    beside ``notebooks/``, their relative paths (``../benchmarks/...``) work as in the notebooks.
    ``folder/nbgrader-source/`` gets the notebooks as an nbgrader course's source version
    (:func:`nbgrader_source`), for ``nbgrader generate_assignment``.
    """
    import zipfile

    (folder / "nbgrader-source").mkdir(parents=True, exist_ok=True)
    archive = folder / "handouts.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for stem, nb in sorted(notebooks.items()):
            text = nbformat.writes(handout(nb))
            (folder / f"{stem}.ipynb").write_text(text, encoding="utf-8")
            zf.writestr(f"handout/{stem}.ipynb", text)
            nbformat.write(nbgrader_source(nb), folder / "nbgrader-source" / f"{stem}.ipynb")
    return archive


def course_entry(nb: nbformat.NotebookNode, stem: str) -> dict:
    """What the course page shows of a notebook: title, summary, minutes and key figure (``metadata.course``)."""
    course = nb.metadata.get("course", {})
    return {
        "stem": stem,
        "title": title(nb, stem),
        "summary": course.get("summary", ""),
        "minutes": course.get("minutes"),
        "figure": course.get("figure"),
    }


def thumbnail(source: Path, target: Path, width: int = 360) -> None:
    """A PNG at most ``width`` pixels wide (Pillow's ``thumbnail`` keeps the aspect ratio)."""
    from PIL import Image

    with Image.open(source) as im:
        im.thumbnail((width, width * 4))
        target.parent.mkdir(parents=True, exist_ok=True)
        im.save(target, optimize=True)


def write_index(folder: Path, entries: list[dict] | None = None) -> Path:
    """build/html/index.html, the course page: who it is for, one card per notebook, how to start.

    ``entries`` (from :func:`course_entry`, plus ``seconds``: the measured run time) default
    to the notebooks that have a page in ``folder``. A card links the page, the executed
    notebook (``notebooks/``) and the handout (``handout/``) where those exist, and shows the
    key figure's thumbnail (``thumbs/``, from ``build/figures/``).
    """
    import jinja2

    if entries is None:
        entries = []
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
            if (folder / f"{path.stem}.html").exists():
                entries.append(course_entry(nbformat.read(path, as_version=4), path.stem))
    for entry in entries:
        number = entry["stem"].split("-", 1)[0]
        figure = BUILD / "figures" / f"{number}-{entry['figure']}.png"
        thumb = folder / "thumbs" / f"{entry['stem']}.png"
        if entry["figure"] and figure.exists():
            thumbnail(figure, thumb)
        entry["thumb"] = thumb.relative_to(folder).as_posix() if thumb.exists() else None
        entry["notebook"] = f"notebooks/{entry['stem']}.ipynb" if (folder / "notebooks").exists() else None
        entry["handout"] = f"handout/{entry['stem']}.ipynb" if (folder / "handout").exists() else None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "course"), autoescape=True)
    index = folder / "index.html"
    zip_path = folder / "handout" / "handouts.zip"
    index.write_text(
        env.get_template("index.html.j2").render(
            title=series_title(), entries=entries, handouts_zip="handout/handouts.zip" if zip_path.exists() else None
        ),
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "execute", "gallery", "handout"):
        print(__doc__)
        return 2
    if argv[0] == "gallery":
        return gallery()
    command, chosen = argv[0], [Path(a).resolve() for a in argv[1:]]
    paths = chosen or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if command == "handout":  # from the stored notebooks, as they ran: no execution
        shutil.rmtree(BUILD / "handout", ignore_errors=True)
        archive = write_handouts({p.stem: nbformat.read(p, as_version=4) for p in paths}, BUILD / "handout")
        print(f"{len(paths)} handouts in {archive.parent}, and all of them in {archive}")
        return 0
    threads = set_thread_defaults()
    print("threads: " + ", ".join(f"{k}={v}" for k, v in threads.items()), flush=True)
    if command == "build":
        remove_stale(paths, every=not chosen)
    figures, executed, seconds = [], {}, {}
    for path in paths:
        start = time.perf_counter()
        nb = clean(execute(path), path.name)
        seconds[path.stem] = time.perf_counter() - start
        if command == "execute":
            nbformat.write(nb, path)
        else:
            (BUILD / "html" / f"{path.stem}.html").write_text(page(nb, path.stem), encoding="utf-8")
            figures += save_figures(nb, path.stem.split("-", 1)[0], BUILD / "figures")
            (BUILD / "html" / "notebooks").mkdir(exist_ok=True)
            nbformat.write(nb, BUILD / "html" / "notebooks" / path.name)
            executed[path.stem] = nb
        print(f"{path.name}: {seconds[path.stem]:.1f} s", flush=True)
    if command == "build":
        copy_mathjax(BUILD / "html")
        write_handouts(executed, BUILD / "html" / "handout")
        entries = []
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
            if (BUILD / "html" / f"{path.stem}.html").exists():
                nb = executed.get(path.stem) or nbformat.read(path, as_version=4)
                entries.append(course_entry(nb, path.stem) | {"seconds": seconds.get(path.stem)})
        index = write_index(BUILD / "html", entries)
        print(f"\nThe site (open in a browser, works offline): {index}")
        print(f"Figures ({len(figures)} PNG files):              {BUILD / 'figures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
