"""Student handouts (``make handout``, ``tools/notebooks.py handout``): the lesson as it ran, no answers.

For every notebook, its handout

- keeps every lesson cell with its outputs, and every exercise statement, hint and self-check;
- has, in place of each solution, nbgrader's stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``)
  in a cell that shows, and no worked answer;
- holds no number that only a solution printed or a worked answer stated, no sentence of a worked
  answer and no line of solution code (anywhere: sources or outputs);
- runs from the top to its first exercise without an error: those cells are the stored notebook's, which nbval
  runs; each stub then raises ``NotImplementedError``, and each self-check fails with a message that says to
  define the variable it checks (not a bare ``AssertionError``), which no lesson cell before it defines.
"""

from __future__ import annotations

import re
import zipfile

import nbformat
import pytest

from tools import notebooks as tool

NOTEBOOKS = sorted(tool.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
STUB = tool.CODE_STUB
#: Numbers as printed: 16129, 0.743, 45.4, 1,450 (with at least 3 characters, so that 8 or 64 do not count).
NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d(?![\w])")


def role(cell) -> str:
    """'answer', 'solution', 'check' or 'lesson'."""
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution"):
        return "answer" if cell.cell_type == "markdown" else "solution"
    if "selfcheck" in cell.metadata.get("tags", []):
        return "check"
    return "lesson"


def texts(cell) -> list[str]:
    """A cell's source and the text of its outputs (not images, whose base64 would hold digit runs)."""
    found = [cell.source]
    for output in cell.get("outputs", []):
        found.append(output.get("text", ""))
        for kind in ("text/plain", "text/html", "text/markdown"):
            found.append(output.get("data", {}).get(kind, ""))
        found += output.get("traceback", [])
    return found


def numbers(text: str) -> set[str]:
    return {m.rstrip(".,") for m in NUMBER.findall(text) if len(m.rstrip(".,")) >= 3}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_handout_keeps_the_lesson_and_the_exercises_and_no_answer(path):
    source = nbformat.read(path, as_version=4)
    given = tool.handout(source)
    kept = [c for c in source.cells if role(c) != "answer"]
    assert [c.cell_type for c in given.cells] == [c.cell_type for c in kept], "only the worked answers are removed"
    assert sum(role(c) == "solution" for c in source.cells) >= 2, "the notebook has exercises with solutions"
    assert any(role(c) == "check" for c in source.cells), "at least one exercise has a self-check"
    for before, after in zip(kept, given.cells, strict=True):
        if role(before) == "solution":
            assert after.source == STUB, f"a solution left more than the stub: {after.source[:80]!r}"
            assert after.outputs == [] and after.execution_count is None
            assert "jupyter" not in after.metadata and "solution" not in after.metadata.get("tags", [])
            assert after.metadata.nbgrader == before.metadata.nbgrader, "nbgrader's metadata stays"
        elif role(before) == "check":
            assert after.source == before.source and after.outputs == [], "the check stays, not its passing output"
        else:
            assert after == before, f"a lesson or exercise cell changed: {before.source[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_handout_leaks_no_answer(path):
    source = nbformat.read(path, as_version=4)
    given = tool.handout(source)
    # What the student may see: the lesson (sources and outputs) and the checks' code (not what they printed).
    lesson = "\n".join([t for c in source.cells if role(c) == "lesson" for t in texts(c)])
    lesson += "\n".join(c.source for c in source.cells if role(c) == "check")
    handout = "\n".join(t for c in given.cells for t in texts(c))
    answers = [c for c in source.cells if role(c) in ("answer", "solution")]
    assert answers, "no cell is marked as a solution for nbgrader"
    only_solution = set().union(*(numbers(t) for c in answers for t in texts(c)[1 if c.cell_type == "code" else 0 :]))
    only_solution -= numbers(lesson)
    leaked = sorted(n for n in only_solution if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", handout))
    assert leaked == [], f"numbers that only a solution prints or states: {leaked[:10]}"
    sentences = [
        s.strip()
        for c in answers
        if c.cell_type == "markdown"
        for s in re.split(r"(?<=[.:;])\s+", c.source)
        if len(s.strip()) > 30
    ]
    assert [s for s in sentences if s in handout] == [], "a sentence of a worked answer is in the handout"
    code = {line.strip() for c in answers if c.cell_type == "code" for line in c.source.splitlines()}
    code = {line for line in code if len(line) >= 25 and not line.startswith("#") and line not in lesson}
    assert [line for line in code if line in handout] == [], "a line of solution code is in the handout"


def bound_names(source: str) -> set[str]:
    """The names a cell binds at its top level (assignments, imports, definitions, loop and ``with`` targets)."""
    import ast

    names, todo = set(), list(ast.parse(source).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if not isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            todo.extend(ast.iter_child_nodes(node))
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_handout_runs_to_its_first_exercise_and_its_checks_explain_themselves(path):
    """The lesson up to the first stub is the stored notebook's, cell for cell, and nbval runs that (no second run
    here, which would double the notebooks' time); each stub raises ``NotImplementedError``, and each self-check,
    whose variable no cell before it defines, fails saying to define it."""
    source = nbformat.read(path, as_version=4)
    nb = tool.handout(source)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source == STUB)
    prefix = [c for c in nb.cells[:first] if c.cell_type == "code"]
    stored = [c for c in source.cells if c.cell_type == "code"][: len(prefix)]
    assert [c.source for c in prefix] == [c.source for c in stored], "the lesson before the first exercise changed"
    assert not [c for c in stored if "raises-exception" in c.metadata.get("tags", [])], "nbval would allow an error"
    defined: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source == STUB:
            with pytest.raises(NotImplementedError):
                exec(cell.source, {})
        elif "selfcheck" in cell.metadata.get("tags", []):
            with pytest.raises(AssertionError, match=r"define `\w+` in the cell above first") as failed:
                exec(cell.source, {})
            variable = re.search(r"define `(\w+)`", str(failed.value)).group(1)
            assert variable not in defined, f"a lesson cell defines `{variable}`, so its check passes on the stub"
        defined |= bound_names(cell.source) if cell.source != STUB else set()


def test_make_handout_writes_one_handout_per_notebook_and_a_zip(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "BUILD", tmp_path)
    assert tool.main(["handout"]) == 0
    written = sorted(p.name for p in (tmp_path / "handout").glob("*.ipynb"))
    assert written == [p.name for p in NOTEBOOKS]
    with zipfile.ZipFile(tmp_path / "handout" / "handouts.zip") as zf:
        assert sorted(zf.namelist()) == [f"handout/{p.name}" for p in NOTEBOOKS]
        first = nbformat.reads(zf.read(f"handout/{NOTEBOOKS[0].name}").decode(), as_version=4)
    assert first == tool.handout(nbformat.read(NOTEBOOKS[0], as_version=4))
    assert sorted(p.name for p in (tmp_path / "handout" / "nbgrader-source").glob("*.ipynb")) == written


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbgrader_accepts_the_source_version(path):
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    nb = nbformat.read(path, as_version=4)
    source = tool.nbgrader_source(nb)
    assert any(role(c) == "solution" for c in source.cells), "the notebook has nbgrader solution cells"
    MetadataValidator().validate_nb(source)  # raises if nbgrader would refuse it
    if any(role(c) == "answer" for c in nb.cells):
        with pytest.raises(ValidationError, match="Markdown solution cell is not marked as a grade cell"):
            MetadataValidator().validate_nb(nb)


def test_a_solution_without_nbgrader_metadata_is_not_handed_out_either():
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": tool.KERNELSPEC})
    nb.cells = [
        nbformat.v4.new_markdown_cell("**Exercise 1.** Multiply.\n\n*Hint:* `*`."),
        nbformat.v4.new_code_cell("# Solution to exercise 1\nprint(6 * 7)", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("**Answer.**\n\nForty-two.", metadata={"tags": ["solution"]}),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    given = tool.handout(nb)
    assert [c.source for c in given.cells] == [nb.cells[0].source, STUB]
    assert given.cells[1].outputs == []
