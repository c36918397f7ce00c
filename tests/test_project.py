"""Project-level checks: packaging consistency and notebook hygiene."""

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    conda = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)", line)
        if m:
            conda.add(_name(m.group(1)))
    conda -= {"python", "pip"}
    assert conda == wanted, f"only in environment.yml: {conda - wanted}; only in pyproject.toml: {wanted - conda}"


def test_lock_pins_every_direct_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    pinned = {
        _name(line).replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all("==" in line for line in (ROOT / "requirements.lock").read_text().splitlines() if line[:1].isalpha())
    assert wanted <= pinned, f"not pinned in requirements.lock: {wanted - pinned}"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"] == KERNELSPEC, "the kernelspec that JupyterLab's python3 kernel sets"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info", "widgets"}, "volatile metadata is stored"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "not executed top to bottom once"
    for i, cell in enumerate(code, 1):
        assert "execution" not in cell["metadata"], f"cell {i} stores execution timing"
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"cell {i} stores an error"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert " at 0x" not in text and "<Figure size" not in text, f"cell {i} prints an object repr: {text[:80]}"
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "".join(first_md["source"]).startswith("# "), "a notebook starts with its title"
    text = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Exercises" in text and "## Summary" in text


@pytest.mark.stored_notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_clean_in_jupyterlab(path):
    """What keeps an untouched notebook unmodified and its controls visible in JupyterLab
    (tests/test_lab.py checks it in a real JupyterLab):

    - the kernel's full ``language_info``, which JupyterLab would otherwise fill in and so mark
      the notebook modified (all but the Python version must be what ipykernel reports; the
      version is that of the machine that ran ``make notebooks``);
    - the state of every widget that an output shows, so that a trusted notebook shows the
      controls instead of "Error displaying widget: model not found", with model ids that
      ``tools/notebooks.py`` numbers per notebook, so that a re-run does not change them;
    - a widget's text fallback (shown until the notebook is trusted) that is not its repr.
    """
    from ipykernel.ipkernel import IPythonKernel

    from tools.notebooks import model_ids

    nb = json.loads(path.read_text())
    stored, kernel = nb["metadata"]["language_info"], dict(IPythonKernel.language_info)
    assert set(stored) == set(kernel), "language_info as the kernel reports it"
    assert {k: v for k, v in stored.items() if k != "version"} == {k: v for k, v in kernel.items() if k != "version"}
    assert re.fullmatch(r"3\.\d+\.\d+", stored["version"])

    views = [
        out["data"]
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for out in cell["outputs"]
        if WIDGET_VIEW in out.get("data", {})
    ]
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    assert bool(views) == bool(state), "widget state is stored exactly when an output shows a widget"
    for data in views:
        assert data[WIDGET_VIEW]["model_id"] in state, "every widget shown has its state stored"
        assert "(children=" not in "".join(data["text/plain"]), "a widget's text fallback is its repr"
    assert sorted(state) == sorted(model_ids(path.name, len(state))), "model ids as tools/notebooks.py numbers them"
