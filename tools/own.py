"""Run notebook 12 or 13 on a folder of your own photos, with papermill, and publish the page only on success.

    python tools/own.py own FOLDER [K=256] [r=8] [n_clusters=6]   # make own: notebook 12 -> build/own/
    python tools/own.py study FOLDER [K=256] [max_photos=2000]      # make study: notebook 13 -> build/study/

papermill (the ecosystem's tool for parameterised notebooks) writes the values given
into a cell after the notebook's cell tagged ``parameters`` and runs the notebook in a
fresh kernel of this Python, from ``notebooks/``; the kernel's printed output (the
photos found, every skipped file with its reason, the progress bars) streams to the
terminal as it runs. The executed notebook goes to a temporary file; only when every
cell has run are the notebook, its page (and, for ``study``, the CSV of scores) moved
into the target folder, and the progress bars are left out of the page. On failure
the target's earlier results are removed and the error is printed: one line that says
why, then the files it names, one a line. So no page ever shows results that this run
did not compute.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(ROOT))
from tools.kernel_env import set_thread_defaults  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
#: command: (notebook, target folder under build/, the parameters it accepts with their types).
RUNS = {
    "own": ("12-your-own-photos.ipynb", "own", {"K": int, "r": int, "n_clusters": int}),
    "study": ("13-your-own-study.ipynb", "study", {"K": int, "max_photos": int}),
}
#: The CSV that notebook 13 writes (its parameter ``csv_path``), published beside the page.
STUDY_CSV = "study-scores.csv"
#: The site's "All notebooks" link: these pages stand alone, without the series' index beside them.
NAV = re.compile(r'<nav class="site-nav">.*?</nav>', re.S)

USAGE = """usage: python tools/own.py own FOLDER [K=256] [r=8] [n_clusters=6]
       python tools/own.py study FOLDER [K=256] [max_photos=2000]"""


def parse(command: str, argv: list[str]) -> dict | str:
    """The notebook's parameters from ``FOLDER key=value ...``, or a message saying what is wrong."""
    if not argv:
        return USAGE
    folder = Path(argv[0]).expanduser().resolve()
    if not folder.is_dir():
        what = "a file, not a folder" if folder.exists() else "not there"
        return f"{folder} is {what}: give a folder of photos (subfolders are included)"
    values: dict = {"folder": str(folder)}
    accepted = RUNS[command][2]
    for item in argv[1:]:
        key, _, value = item.partition("=")
        if key not in accepted or not value.isdigit() or int(value) < 1:
            names = ", ".join(f"{k}=<whole number>" for k in accepted)
            return f"unknown or invalid parameter {item!r}: give {names}"
        values[key] = accepted[key](value)
    return values


def failure(err: Exception) -> str:
    """The exception the notebook stopped on, without the traceback: its first line says why, the others list files."""
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    lines = [line for line in str(evalue).splitlines() if line.strip()] or [""]
    return "\n".join([f"{ename}: {lines[0]}", *(f"  {line}" for line in lines[1:])])


def without_progress_bars(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the progress bars (stderr text with carriage returns): they served the terminal, not the page."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr" and "\r" in o.text)
            ]
    return nb


def run(command: str, argv: list[str]) -> int:
    """Run the command's notebook on a folder; 0 on success, 1 if the notebook failed, 2 for bad arguments."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from tools.notebooks import clean, copy_mathjax, page

    values = parse(command, argv)
    if isinstance(values, str):
        print(values)
        return 2
    name, where, _ = RUNS[command]
    target = BUILD / where
    target.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    published = [target / name, target / f"{stem}.html", target / STUDY_CSV]
    set_thread_defaults()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target, prefix=".run-") as scratch:
        scratch = Path(scratch)
        if command == "study":
            values["csv_path"] = str(scratch / STUDY_CSV)
        try:
            executed = papermill.execute_notebook(
                str(NOTEBOOKS / name),
                str(scratch / name),
                parameters=values,
                cwd=str(NOTEBOOKS),
                kernel_name="python3",
                extra_arguments=["--log-level=ERROR"],  # no notice that the kernel listens on the loopback port
                progress_bar=False,
                log_output=False,
                stdout_file=sys.stdout,
                stderr_file=sys.stderr,
            )
        except (PapermillExecutionError, RuntimeError) as err:  # a cell failed, or the kernel died
            for path in published:  # no page of earlier results next to this failure
                path.unlink(missing_ok=True)
            print(f"\nnotebook {name[:2]} stopped on {values['folder']}: {failure(err)}")
            print(f"nothing was published in {target}; fix the cause above and run the command again")
            return 1
        executed = clean(without_progress_bars(nbformat.from_dict(executed)), name)  # before clean joins the \r lines
        nbformat.write(executed, target / name)
        (target / f"{stem}.html").write_text(NAV.sub("", page(executed, stem), count=1), encoding="utf-8")
        if command == "study":
            shutil.move(scratch / STUDY_CSV, target / STUDY_CSV)
    copy_mathjax(target)
    print(f"\nnotebook {name[:2]} on {values['folder']}: {time.perf_counter() - start:.0f} s")
    print(f"the page: {target / (stem + '.html')} (open it in a browser; the executed notebook is beside it)")
    if command == "study":
        print(f"the scores: {target / STUDY_CSV}")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in RUNS:
        print(__doc__)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
