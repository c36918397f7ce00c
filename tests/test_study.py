"""helpers.study: labels from subfolders, the one-pass description, scores per seed, and the verdict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer

import helpers
from helpers import study


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labelled")
    study.write_labelled_folder(folder, per_label=4, min_side=32, max_side=48)
    return folder


def test_labels_come_from_the_first_subfolder_and_root_photos_are_not_used(labelled, tmp_path):
    import shutil

    folder = tmp_path / "photos"
    shutil.copytree(labelled, folder)
    (folder / "space" / "2023").mkdir()
    shutil.copy(folder / "space" / "space-01.jpg", folder / "space" / "2023" / "deeper.jpg")
    shutil.copy(folder / "space" / "space-01.jpg", folder / "loose.jpg")
    found = study.labelled_files(folder)
    assert found.unused == {"loose.jpg": "in the top folder, so it has no label"}
    assert found.labels[found.names.index("space/2023/deeper.jpg")] == "space"
    assert sorted(np.unique(found.labels, return_counts=True)[1].tolist()) == [4, 4, 5]


def test_too_few_labels_or_photos_are_clear_errors(tmp_path, labelled):
    import shutil

    one = tmp_path / "one-label"
    shutil.copytree(labelled / "space", one / "space")
    with pytest.raises(ValueError, match=r"at least 2 subfolders .* found: space/ \(4\).*beach/"):
        study.labelled_files(one)
    shutil.copy(labelled / "objects" / "objects-01.jpg", one / "lonely.jpg")
    (one / "objects").mkdir()
    shutil.copy(labelled / "objects" / "objects-01.jpg", one / "objects" / "only.jpg")
    with pytest.raises(ValueError, match=r"found: objects/ \(1\), space/ \(4\)"):
        study.labelled_files(one)
    with pytest.raises(ValueError, match="only 1 label has at least 2 usable photos"):
        study.check_labels(["a", "a", "b"])
    assert "very unbalanced labels (a: 8, b: 2)" in study.check_labels(["a"] * 8 + ["b"] * 2)


def test_a_label_with_one_photo_is_left_out_by_name_and_max_photos_keeps_every_label(labelled, tmp_path):
    import shutil

    folder = tmp_path / "photos"
    shutil.copytree(labelled, folder)
    (folder / "single").mkdir()
    shutil.copy(folder / "space" / "space-01.jpg", folder / "single" / "one.jpg")
    found = study.labelled_files(folder, max_photos=6)
    assert found.unused["single/one.jpg"] == "the only photo of label 'single'"
    assert sorted(np.unique(found.labels, return_counts=True)[1].tolist()) == [2, 2, 2]
    assert sum(why == "beyond max_photos = 6" for why in found.unused.values()) == 6


def test_describe_labelled_reads_each_file_once_and_skips_bad_ones(labelled, tmp_path):
    import shutil

    folder = tmp_path / "photos"
    shutil.copytree(labelled, folder)
    (folder / "space" / "broken.jpg").write_bytes(b"")
    found = study.labelled_files(folder)
    tiny = FunctionTransformer(helpers.descriptors.tiny_images)
    rows, labels, names, skipped = study.describe_labelled(found, {"tiny": tiny})
    assert rows["tiny"].shape == (12, 768) and len(labels) == len(names) == 12
    assert list(skipped) == ["space/broken.jpg"]
    for name in ["objects/objects-02.jpg", "objects/objects-03.jpg", "objects/objects-04.jpg"]:
        (folder / name).write_bytes(b"")  # objects/ keeps one usable photo: it has nothing to find
    rows, labels, names, skipped = study.describe_labelled(study.labelled_files(folder), {"tiny": tiny})
    assert skipped["objects/objects-01.jpg"] == "the only usable photo of label 'objects'"
    assert "objects" not in labels and rows["tiny"].shape == (8, 768) and len(names) == 8
    score = study.score_rows(rows["tiny"], labels, "tiny", 0, norm=None, metric="euclidean", method="ward")
    assert score["variant"] == "tiny" and score["readout"] == "raw euclidean ward"
    assert 0 <= score["p@5"] <= 1 and 0 <= score["accuracy"] <= 1


def test_verdict_says_only_what_every_seed_shows():
    assert "on every seed (5 of 5" in study.verdict([2, 2, 2, 2, 2], [1, 1, 1, 1, 1.5], "a", "b", "p@5")
    assert study.verdict([1] * 3, [2, 2, 2.5], "a", "b", "p@5").startswith("a is behind b by -1.167 p@5")
    assert "no clear winner" in study.verdict([1, 2, 1], [2, 1, 1.5], "a", "b", "ARI")
