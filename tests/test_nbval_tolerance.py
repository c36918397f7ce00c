"""The nbval tolerance (tools/nbval_tolerance.py): last-digit noise passes, real changes fail."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from tools.nbval_tolerance import WIDGET_VIEW, numbers_agree, split_numbers, tolerate

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("stored", "new"),
    [
        ("page -> china (0.473), text (0.526)", "page -> china (0.472), text (0.526)"),
        ("PSNR 25.94 dB", "PSNR 25.95 dB"),
        ("VQ 8 x 8  1024 | 0.1502   -1.68 | 0.1126   -0.43", "VQ 8 x 8  1024 | 0.1502   -1.69 | 0.1126   -0.44"),
        ("mean 0.999", "mean 1.000"),  # the unit carries over
        ("difference -0.000", "difference 0.000"),  # the sign of a zero
        ("1.25e-05 and 3.0E+02", "1.26e-05 and 3.1E+02"),
        ("same 0.4730", "same 0.473"),  # fewer digits, same value
        ("no numbers at all", "no numbers at all"),
    ],
)
def test_last_digit_noise_passes(stored, new):
    assert numbers_agree(stored, new)


@pytest.mark.parametrize(
    ("stored", "new", "what"),
    [
        ("china (0.473)", "china (0.475)", "a decimal off by two units"),
        ("PSNR 25.94 dB", "PSNR 26.94 dB", "a decimal off in another digit"),
        ("PSNR 25.94 dB", "PSNR 25.9 dB", "a decimal with fewer digits that is not the same value"),
        ("codes used: 961", "codes used: 960", "an integer off by one"),
        ("mini-batch steps: 85", "mini-batch steps: 121", "a count"),
        ("first codes: [848, 848]", "first codes: [848, 848, 544]", "the number of numbers"),
        ("china (0.473)", "chine (0.473)", "a word"),
        ("china (0.473)", "china  (0.473)", "spacing"),
        ("a\n0.473", "a 0.473", "a line break"),
        ("float32", "float64", "digits inside a word"),
        ("Python 3.11.7", "Python 3.11.8", "a version string"),
        ("share 0.272", "share 0.27", "a value printed with another precision"),
    ],
)
def test_real_changes_fail(stored, new, what):
    assert not numbers_agree(stored, new), what


def test_numbers_and_text_are_split_apart():
    texts, numbers = split_numbers("K = 1024: 0.1562 bpp, ratio   51.2 : 1, 3.11.7, r8, -0.5")
    assert [m.group() for m in numbers] == ["1024", "0.1562", "51.2", "1", "-0.5"]
    assert texts == ["K = ", ": ", " bpp, ratio   ", " : ", ", 3.11.7, r8, ", ""]


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _display(data):
    return nbformat.v4.new_output("display_data", data=data)


def test_tolerate_hands_nbval_the_stored_text_only_where_numbers_agree():
    ref = [_stream("a 0.473\n"), _display({"text/plain": "[figure: 0.61]", "image/png": "AAA"})]
    noisy = [_stream("a 0.472\n"), _display({"text/plain": "[figure: 0.62]", "image/png": "BBB"})]
    assert tolerate(noisy, ref) == [ref[0], _display({"text/plain": "[figure: 0.61]", "image/png": "BBB"})]
    changed = [_stream("a 0.480\n"), _display({"text/plain": "[figure: 0.63]"})]
    assert tolerate(changed, ref) == changed
    assert noisy[0].text == "a 0.472\n", "the run's outputs are not modified in place"


def test_tolerate_pairs_outputs_as_nbval_does():
    ref = [_stream("x 0.5\n"), _stream("warning 1.5\n", "stderr")]
    test = [_stream("warning 1.4\n", "stderr"), _stream("x 0.6\n")]
    assert [o.text for o in tolerate(test, ref)] == ["warning 1.5\n", "x 0.5\n"]
    assert tolerate([_stream("x 0.5\n"), _stream("y\n")], [_stream("x 0.6\n")])[0].text == "x 0.5\n"


def test_a_widget_text_fallback_is_not_compared():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    ref = [_display({"text/plain": "interactive(children=(IntSlider(...", WIDGET_VIEW: view})]
    test = [_display({"text/plain": "[Controls r, step: ...]", WIDGET_VIEW: view})]
    assert tolerate(test, ref) == ref
    assert tolerate([_display({"text/plain": "[Controls r]"})], [_display({"text/plain": "other"})])[0].data == {
        "text/plain": "[Controls r]"
    }


# End to end: nbval with this plugin on a small notebook whose stored outputs were edited.

CELLS = {
    # name: (code, stored output)
    "exact": ('print(f"{2 / 3:.3f} of {7}")', "0.667 of 7\n"),
    "last_digit_noise": ('print(f"PSNR {25.944:.2f} dB, {0.4725:.3f}")', "PSNR 25.95 dB, 0.473\n"),
    "perturbed_number": ('print(f"PSNR {25.944:.2f} dB")', "PSNR 25.97 dB\n"),
    "changed_integer": ('print(f"codes used: {961}")', "codes used: 960\n"),
    "changed_word": ('print(f"china ({0.4725:.3f})")', "chine (0.472)\n"),
    "changed_count": ("print([848, 848])", "[848, 848, 544]\n"),
}


def run_nbval(tmp_path: Path, *options: str) -> dict[str, str]:
    """Run pytest --nbval with the plugin on the synthetic notebook; returns each cell's outcome."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    for i, (code, text) in enumerate(CELLS.values(), 1):
        cell = nbformat.v4.new_code_cell(code, execution_count=i)
        cell.outputs = [_stream(text)]
        nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "synthetic.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's options
    report = tmp_path / "report.xml"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "tools.nbval_tolerance"]
    command += ["-p", "no:cacheprovider", f"--junitxml={report}", *options, "synthetic.ipynb"]
    subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = ["failed" if case.find("failure") is not None else "passed" for case in cases]
    assert len(outcomes) == len(CELLS), "one test per cell"
    return dict(zip(CELLS, outcomes, strict=True))


@pytest.mark.end_to_end
def test_nbval_fails_a_perturbed_number_and_passes_last_digit_noise(tmp_path):
    assert run_nbval(tmp_path) == {
        "exact": "passed",
        "last_digit_noise": "passed",
        "perturbed_number": "failed",
        "changed_integer": "failed",
        "changed_word": "failed",
        "changed_count": "failed",
    }


@pytest.mark.end_to_end
def test_nbval_exact_turns_the_tolerance_off(tmp_path):
    outcomes = run_nbval(tmp_path, "--nbval-exact")
    assert outcomes["exact"] == "passed"
    assert outcomes["last_digit_noise"] == "failed"
