"""The notebooks' shape: each states what it teaches, ends with a summary and exercises whose solutions run.

Exercises follow nbgrader's conventions (README, "Teaching with this series"):

- a Markdown cell starting ``**Exercise N.**`` with a ``*Hint:*``;
- its solution: a code cell tagged ``solution``, nbgrader ``solution`` cell ``NN-exN-solution``, its
  source wrapped in ``### BEGIN SOLUTION`` / ``### END SOLUTION``, input and outputs hidden in
  JupyterLab, executed with printed output (nbval checks that output like any other);
- optionally its worked answer right after: a Markdown cell tagged ``solution`` whose first line is
  ``**Answer.**`` (JupyterLab shows a hidden cell's first line), nbgrader ``solution`` cell
  ``NN-exN-answer``, hidden in JupyterLab;
- at least one self-check per notebook: a code cell tagged ``selfcheck``, an nbgrader autograder test
  (``grade``, ``locked``, one point), that prints ``Check passed`` on the worked solution.

Each notebook also has ``metadata.course`` for the course page: a one-line summary, the minutes to
work through it (an estimate) and the name of its key figure (a cell tagged ``figure:NAME``).
Notebooks 12 and 13 belong to another change this round; until they follow the convention
(nbgrader metadata), these tests are expected to fail for them (strict).
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def source(cell) -> str:
    return "".join(cell["source"])


def nbgrader(nn: str, kind: str, k: int, **role) -> dict:
    return {"grade_id": f"{nn}-ex{k}-{kind}", "schema_version": 3, "task": False} | role


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_teaches_summarises_and_has_answered_exercises(path):
    nb = json.loads(path.read_text())
    cells, nn = nb["cells"], path.name[:2]
    assert source(cells[0]).startswith("# "), "the first cell is the title"
    headings = [
        source(c).splitlines()[0] for c in cells if c["cell_type"] == "markdown" and source(c).startswith("## ")
    ]
    assert headings[-2:] == ["## Summary", "## Exercises"], (
        f"the notebook ends with a summary, then exercises: {headings[-2:]}"
    )
    exercises = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and source(c).startswith("**Exercise")]
    assert len(exercises) >= 2, "at least two exercises"
    owned = set()
    for n, i in enumerate(exercises, 1):
        text = source(cells[i])
        assert text.startswith(f"**Exercise {n}.**"), f"exercise {n} is numbered in order: {text[:30]!r}"
        assert "*Hint:*" in text, f"exercise {n} has a hint"
        solution = cells[i + 1]
        owned.add(i + 1)
        lines = source(solution).splitlines()
        assert solution["cell_type"] == "code" and lines[0] == "### BEGIN SOLUTION" and lines[-1] == "### END SOLUTION"
        assert lines[1] == f"# Solution to exercise {n}", f"solution {n}: its first line under the region names it"
        assert "solution" in solution["metadata"].get("tags", []), f"solution {n} is tagged 'solution'"
        assert solution["metadata"].get("jupyter") == {"source_hidden": True, "outputs_hidden": True}, (
            f"solution {n}: its code and outputs are hidden in JupyterLab"
        )
        assert solution["metadata"]["nbgrader"] == nbgrader(nn, "solution", n, solution=True, grade=False, locked=False)
        printed = "".join("".join(o.get("text", "")) for o in solution["outputs"] if o["output_type"] == "stream")
        assert re.search(r"\w", printed), f"solution {n} prints its answer"
        answer = cells[i + 2]
        if answer["cell_type"] == "markdown" and "solution" in answer["metadata"].get("tags", []):
            owned.add(i + 2)
            first_line = source(answer).splitlines()[0]
            assert first_line == "**Answer.**", f"worked answer {n}: JupyterLab shows a hidden cell's first line"
            assert answer["metadata"].get("jupyter") == {"source_hidden": True}, f"worked answer {n} is hidden"
            assert answer["metadata"]["nbgrader"] == nbgrader(nn, "answer", n, solution=True, grade=False, locked=False)
    solutions = {i for i, c in enumerate(cells) if "solution" in c["metadata"].get("tags", [])}
    assert solutions == owned, "every cell tagged 'solution' belongs to one exercise"
    visible = [
        source(c)[:60]
        for c in cells[exercises[0] :]
        if c["cell_type"] == "markdown" and source(c).startswith("**Answer") and "solution" not in c["metadata"]["tags"]
    ]
    assert visible == [], "no worked answer shows when the notebook opens"

    checks = [c for c in cells if "selfcheck" in c["metadata"].get("tags", [])]
    assert checks, "at least one exercise has a self-check"
    for check in checks:
        role = check["metadata"]["nbgrader"]
        assert re.fullmatch(rf"{nn}-ex\d+-check", role["grade_id"])
        assert role | {"grade_id": ""} == {
            "grade_id": "",
            "grade": True,
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
        assert "except NameError" in source(check), "the check says what to do when the answer is missing"
        printed = "".join("".join(o.get("text", "")) for o in check["outputs"] if o["output_type"] == "stream")
        assert printed.startswith("Check passed"), "the check passes on the worked solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_describes_itself_for_the_course_page(path):
    nb = json.loads(path.read_text())
    course = nb["metadata"].get("course", {})
    assert set(course) == {"summary", "minutes", "figure"}, f"metadata.course: {course}"
    assert 20 < len(course["summary"]) <= 140 and "\n" not in course["summary"], "a one-line summary"
    assert isinstance(course["minutes"], int) and 10 <= course["minutes"] <= 180
    figures = [t for c in nb["cells"] for t in c["metadata"].get("tags", []) if t.startswith("figure:")]
    assert f"figure:{course['figure']}" in figures, f"the key figure is a cell tagged figure:NAME: {figures}"
