"""A new user's photo folder: every awkward file is skipped with its reason, and plausible mistakes get clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.images import DUPLICATE, short_names


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    """Phone names, a subfolder, a thumbnail, empty, truncated and fake files, a link, a copy, a night photo."""
    folder = tmp_path_factory.mktemp("awkward")
    rng = np.random.default_rng(0)
    for name in ("IMG_20240714_183512.jpg", "IMG_20240714_183547.jpg", "trip/IMG_20240714_183512.jpg"):
        (folder / name).parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(folder / name)
    Image.fromarray(np.full((6, 6, 3), 128, np.uint8)).save(folder / "tiny_6x6.png")
    (folder / "empty.jpg").write_bytes(b"")
    full = (folder / "IMG_20240714_183547.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(full[: len(full) // 3])
    (folder / "notes.png").write_text("a text file with an image's name")
    (folder / "README.txt").write_text("not an image at all")
    os.symlink(folder / "IMG_20240714_183512.jpg", folder / "link.jpg")
    (folder / "trip" / "copy.jpg").write_bytes(full)
    night = rng.integers(0, 4, (96, 128, 3), dtype=np.uint8)  # a dark night photo (values 0-3) ...
    night[40:60, 50:100] = 230  # ... with a small lit window
    Image.fromarray(night).save(folder / "night.png")
    return folder


def test_every_unusable_file_is_skipped_with_its_reason(awkward):
    images = helpers.load_images(awkward, recursive=True, on_error="list", duplicates="skip")
    assert images.names == [
        "IMG_20240714_183512.jpg",
        "IMG_20240714_183547.jpg",
        "night.png",
        "trip/IMG_20240714_183512.jpg",
    ]
    why = images.skipped
    assert why["empty.jpg"] == "empty file (0 bytes)"
    assert why["tiny_6x6.png"] == "6 x 6 pixels, too small for one 8 x 8 patch"
    assert "truncated" in why["truncated.jpg"]
    assert why["notes.png"] == "not a readable image (corrupt or unknown format)"
    assert why["README.txt"].startswith("not an image file")
    assert why["link.jpg"] == f"{DUPLICATE} IMG_20240714_183512.jpg (a link to the same file)"
    assert why["trip/copy.jpg"] == f"{DUPLICATE} IMG_20240714_183547.jpg (the same bytes)"
    table = images.skipped_table()
    assert table.startswith("skipped 7 files:") and all(name in table for name in why)


def test_the_default_warns_once_and_raise_names_every_unusable_file(awkward):
    with pytest.warns(UserWarning, match="skipped 7 file") as caught:
        helpers.load_images(awkward, recursive=True, duplicates="skip")
    assert len(caught) == 1
    assert "link.jpg" not in helpers.load_images(awkward, on_error="list").skipped  # by default, duplicates load
    with pytest.raises(helpers.ImageReadError, match="4 of 10 image files in .* cannot be used") as err:
        helpers.load_images(awkward, recursive=True, on_error="raise", duplicates="skip")
    assert "link.jpg" not in str(err.value)  # a duplicate is not an error


def test_a_dark_photo_loads_whole(awkward):
    assert helpers.load_image(awkward / "night.png").shape == (96, 128, 3)
    night = helpers.load_images(awkward, on_error="list")["night.png"]
    assert night.shape == (96, 128, 3)


def test_names_stay_apart_in_captions():
    names = ["IMG_20240714_183512.jpg", "IMG_20240714_183547.jpg", "trip/IMG_20240714_183512.jpg", "cat.png"]
    short = short_names(names, width=16)
    assert len(set(short)) == 4 and all(len(s) <= 16 for s in short) and short[3] == "cat.png"
    assert short[0].endswith("3512.jpg") and short[1].endswith("3547.jpg")
    same_end = ["a/long_folder_name/x.jpg", "b/long_folder_name/x.jpg"]
    assert len(set(short_names(same_end, width=12))) == 2


def test_plausible_mistakes_get_errors_that_say_what_to_do(awkward):
    from sklearn.cluster import MiniBatchKMeans

    images = helpers.load_images(awkward, recursive=True, on_error="list", duplicates="skip")
    with pytest.raises(TypeError, match=r"got file paths: load them first with helpers.load_images"):
        helpers.PatchCodebook(n_codes=4).fit([str(awkward / "night.png")])
    with pytest.raises(ValueError, match=r"cannot fit 1024 code vectors to 532 patches: choose n_codes = 32 or fewer"):
        helpers.PatchCodebook(n_codes=1024).fit(images[:2])
    kmeans = MiniBatchKMeans(4, n_init=1, random_state=0).fit(np.random.default_rng(0).random((50, 64)))
    for call in (helpers.patchcode, helpers.patchhist):
        with pytest.raises(TypeError, match=r"needs a helpers.PatchCodebook.*got a MiniBatchKMeans. Fit one with"):
            call(images[0], kmeans)
    with pytest.raises(helpers.ImageReadError, match=r"got the file path .* load it with helpers.load_image"):
        helpers.as_rgb("photo.jpg")
    with pytest.raises(NotADirectoryError, match=r"use helpers.load_image\("):
        helpers.load_images(awkward / "night.png")
