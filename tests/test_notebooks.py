"""The notebooks' shape: each states what it teaches, ends with a summary and exercises whose solutions run.

Every exercise is a markdown cell starting ``**Exercise N.**`` with a ``*Hint:*``, followed by its solution:
a code cell tagged ``solution``, hidden in JupyterLab, starting ``# Solution to exercise N``, executed with
printed output (nbval then checks that output like any other). Keeping each pair together keeps them from
drifting apart.
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def source(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_teaches_summarises_and_has_answered_exercises(path):
    cells = json.loads(path.read_text())["cells"]
    assert source(cells[0]).startswith("# "), "the first cell is the title"
    headings = [
        source(c).splitlines()[0] for c in cells if c["cell_type"] == "markdown" and source(c).startswith("## ")
    ]
    assert headings[-2:] == ["## Summary", "## Exercises"], (
        f"the notebook ends with a summary, then exercises: {headings[-2:]}"
    )
    exercises = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and source(c).startswith("**Exercise")]
    assert len(exercises) >= 2, "at least two exercises"
    for n, i in enumerate(exercises, 1):
        text = source(cells[i])
        assert text.startswith(f"**Exercise {n}.**"), f"exercise {n} is numbered in order: {text[:30]!r}"
        assert "*Hint:*" in text, f"exercise {n} has a hint"
        solution = cells[i + 1]
        assert solution["cell_type"] == "code" and source(solution).startswith(f"# Solution to exercise {n}")
        assert "solution" in solution["metadata"].get("tags", []), f"solution {n} is tagged 'solution'"
        assert solution["metadata"].get("jupyter", {}).get("source_hidden") is True, f"solution {n} is hidden"
        printed = "".join("".join(o.get("text", "")) for o in solution["outputs"] if o["output_type"] == "stream")
        assert re.search(r"\w", printed), f"solution {n} prints its answer"
    solutions = [c for c in cells if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) == len(exercises), "every solution cell belongs to one exercise"
