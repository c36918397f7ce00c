"""tools/own.py: notebooks 12 and 13 on a folder, run by papermill, published only when every cell ran."""

from __future__ import annotations

import nbformat
import pytest

from tools import own

pytestmark = pytest.mark.end_to_end


def printed(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setattr(own, "BUILD", tmp_path / "build")
    return tmp_path / "build"


def test_arguments_are_checked_before_anything_runs(tmp_path, build, capsys):
    assert own.main([]) == 2
    assert own.main(["own", str(tmp_path / "nowhere")]) == 2
    assert "is not there: give a folder of photos" in capsys.readouterr().out
    assert own.main(["own", str(tmp_path), "K=lots"]) == 2
    assert "unknown or invalid parameter 'K=lots': give K=<whole number>" in capsys.readouterr().out
    assert own.main(["study", str(tmp_path), "n_clusters=3"]) == 2  # not a parameter of notebook 13
    assert not build.exists()


def test_own_publishes_notebook_12_on_an_awkward_library_naming_every_skipped_file(tmp_path, build, capsys):
    """One run of notebook 12 (the slowest part of these tests) checks both the page and the awkward files."""
    import os
    import re

    import numpy as np
    from PIL import Image

    photos = tmp_path / "Pictures"
    rng = np.random.default_rng(0)
    names = ["IMG_20240714_183512.jpg", "IMG_20240714_183547.jpg", "trip/IMG_20240714_183512.jpg", "trip/a.png"]
    for name in names:
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(photos / name)
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(photos / "thumb.png")
    (photos / "empty.jpg").write_bytes(b"")
    whole = (photos / "IMG_20240714_183547.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (photos / "fake.png").write_text("text")
    os.symlink(photos / "IMG_20240714_183512.jpg", photos / "link.jpg")
    assert own.main(["own", str(photos), "K=16", "n_clusters=2"]) == 0
    out = capsys.readouterr().out
    assert f"4 photos from 2 folders of {photos}" in out
    assert f"the page: {build / 'own' / '12-your-own-photos.html'}" in out
    text = printed(build / "own" / "12-your-own-photos.ipynb")
    assert "16 code vectors of 8 x 8 pixels" in text and "the tree cut at" in text and "cluster 1: " in text
    for skipped in ("thumb.png", "empty.jpg", "truncated.jpg", "fake.png", "link.jpg"):
        # one line each, with its reason: the kernel's output reaches the terminal
        assert re.search(rf"^  {re.escape(skipped)} +\S", out, re.M), skipped
    captions = re.search(r"captions shortened: (.*)", text).group(1)
    short = [pair.split(" = ")[0] for pair in captions.split("; ")]
    assert len(short) == 3 and len(set(short)) == 3  # the three long names, each caption different
    page = (build / "own" / "12-your-own-photos.html").read_text(encoding="utf-8")
    assert "describing:" not in page and "loading:" not in page  # progress bars stay in the terminal
    assert "All notebooks" not in page  # no link to a series index that build/own/ does not have
    assert not list((build / "own").glob(".run-*"))  # the temporary run folder is gone


def test_a_failed_run_leaves_no_page_of_other_results(tmp_path, build, capsys):
    import numpy as np
    from PIL import Image

    nothing = tmp_path / "nothing-usable"
    nothing.mkdir()
    (nothing / "a.jpg").write_bytes(b"")
    (nothing / "b.png").write_bytes(b"text, not an image")
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(nothing / "c.png")
    stale = build / "own" / "12-your-own-photos.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("results of an earlier run")
    assert own.main(["own", str(nothing)]) == 1
    out = capsys.readouterr().out
    assert "notebook 12 stopped on" in out and "ValueError: none of the 3 image files" in out
    assert "  c.png: 6 x 6 pixels, too small for one 8 x 8 patch" in out and "nothing was published" in out
    assert not stale.exists() and not (build / "own" / "12-your-own-photos.ipynb").exists()


def test_study_publishes_notebook_13_and_its_csv_on_a_labelled_folder(tmp_path, build, capsys):
    import helpers
    from helpers import evaluation as ev
    from helpers import study

    photos = tmp_path / "labelled"
    study.write_labelled_folder(photos, per_label=3, min_side=48, max_side=64)
    (photos / "loose.jpg").write_bytes((photos / "space" / "space-01.jpg").read_bytes())
    assert own.main(["study", str(photos), "K=16"]) == 0
    out = capsys.readouterr().out
    assert "not used: loose.jpg: in the top folder, so it has no label" in out
    assert "On these photos, the best descriptor" in out
    rows = helpers.tables.read_csv(build / "study" / own.STUDY_CSV)
    assert len(rows) == 4 * len(ev.SEEDS) and {r["variant"] for r in rows} >= {"lecture's recipe", "best descriptor"}
    assert all(0 <= r["p@5"] <= 1 for r in rows)
    assert (build / "study" / "13-your-own-study.html").exists()


def test_study_on_a_folder_without_labels_says_how_to_lay_it_out(tmp_path, build, capsys):
    import helpers

    flat = tmp_path / "flat"
    helpers.streaming.write_sample_folder(flat, 4, min_side=32, max_side=48)
    assert own.main(["study", str(flat)]) == 1
    out = capsys.readouterr().out
    assert "ValueError:" in out and "needs at least 2 subfolders (one per label)" in out
    assert not (build / "study" / own.STUDY_CSV).exists()


@pytest.mark.parametrize(
    ("name", "variable"), [("12-your-own-photos", "psnr_by_k"), ("13-your-own-study", "most_accurate")]
)
def test_self_check_tells_a_student_with_the_empty_stub_what_to_do(name, variable):
    nb = nbformat.read(own.NOTEBOOKS / f"{name}.ipynb", as_version=4)
    (check,) = [c for c in nb.cells if "selfcheck" in c.metadata.get("tags", [])]
    with pytest.raises(AssertionError, match=f"define `{variable}` in the cell above first"):
        exec(check.source, {})  # the handout's stub leaves the variable undefined
