"""Execute the notebook series: into build/ (``build``) or in place (``execute``).

    python tools/notebooks.py build     # make run: build/html/*.html and build/figures/*.png
    python tools/notebooks.py execute   # make notebooks: refresh the stored outputs
    python tools/notebooks.py gallery   # make gallery: copy the README's figures to docs/gallery/

Each notebook runs top to bottom in one fresh ``python3`` kernel, from the
``notebooks/`` folder. ``build`` leaves the committed notebooks untouched and
saves every figure of a code cell tagged ``figure:NAME`` as
``build/figures/NN-NAME.png`` (NN: the notebook's number). ``execute`` writes
the notebooks back without volatile metadata (execution timing, widget state,
the Python patch version), so that re-running them changes only what changed.
Pass notebook paths after the command to run only those.
"""

from __future__ import annotations

import base64
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
GALLERY = ROOT / "docs" / "gallery"
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
    "08-retrieval-heatmap",
    "09-grid-vs-corners",
)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def execute(path: Path) -> nbformat.NotebookNode:
    """Run one notebook in a fresh kernel; returns the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        # Quiet kernel start: no "running over TCP without encryption" notice (the kernel
        # listens on the loopback interface only).
        extra_arguments=["--log-level=ERROR"],
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    return nb


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop volatile metadata so that a re-run diff shows only real changes."""
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    return nb


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how print output is chunked depends on timing."""
    merged = []
    for out in outputs:
        last = merged[-1] if merged else None
        if out.output_type == "stream" and last is not None and last.output_type == "stream" and last.name == out.name:
            last.text += out.text
        else:
            merged.append(out)
    return merged


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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "execute", "gallery"):
        print(__doc__)
        return 2
    if argv[0] == "gallery":
        GALLERY.mkdir(parents=True, exist_ok=True)
        for name in GALLERY_FIGURES:
            source = BUILD / "figures" / f"{name}.png"
            if not source.exists():
                print(f"{source} is missing: run `make run` first")
                return 1
            shutil.copyfile(source, GALLERY / source.name)
        print(f"copied {len(GALLERY_FIGURES)} figures to {GALLERY}")
        return 0
    command, chosen = argv[0], [Path(a).resolve() for a in argv[1:]]
    paths = chosen or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if command == "build":
        from nbconvert import HTMLExporter

        (BUILD / "html").mkdir(parents=True, exist_ok=True)
        (BUILD / "figures").mkdir(parents=True, exist_ok=True)
    figures = []
    for path in paths:
        start = time.perf_counter()
        nb = clean(execute(path))
        if command == "execute":
            nbformat.write(nb, path)
        else:
            html, _ = HTMLExporter().from_notebook_node(nb)
            (BUILD / "html" / f"{path.stem}.html").write_text(html, encoding="utf-8")
            figures += save_figures(nb, path.stem.split("-", 1)[0], BUILD / "figures")
        print(f"{path.name}: {time.perf_counter() - start:.1f} s", flush=True)
    if command == "build":
        print(f"\nExecuted notebooks (HTML): {BUILD / 'html'}")
        print(f"Figures ({len(figures)} PNG files):   {BUILD / 'figures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
