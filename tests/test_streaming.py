"""helpers.streaming: a folder described and learnt one file at a time, bad files skipped, results kept."""

import tracemalloc
import warnings

import numpy as np
import pytest

import helpers
from helpers import streaming
from helpers.images import load_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory, images):
    path = tmp_path_factory.mktemp("photos")
    streaming.write_sample_folder(path, 6, images=images, min_side=20, max_side=40, seed=0)
    return path


def test_write_sample_folder_is_reproducible_and_stops_on_dark_images(tmp_path, images):
    a = streaming.write_sample_folder(tmp_path / "a", 3, images=images, min_side=16, max_side=24)
    b = streaming.write_sample_folder(tmp_path / "b", 3, images=images, min_side=16, max_side=24)
    assert [load_image(p).tolist() for p in a] == [load_image(p).tolist() for p in b]
    dark = helpers.ImageList([np.full((30, 30, 3), 0.01, np.float32)], ["night"])
    with pytest.raises(ValueError, match="too dark"):
        streaming.write_sample_folder(tmp_path / "c", 1, images=dark, min_side=8, max_side=16)


def test_describe_folder_equals_transform_of_the_loaded_folder(folder, codebook):
    result = streaming.describe_folder(folder, codebook)
    loaded = helpers.load_images(folder)
    assert result.names == loaded.names and result.skipped == {}
    assert np.array_equal(result.hists, codebook.transform(loaded))


def test_a_bad_file_or_a_tiny_image_never_loses_the_others(folder, codebook, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "broken.png").write_bytes(b"\x89PNG but not really")
    from PIL import Image

    Image.fromarray(np.full((4, 40, 3), 200, np.uint8)).save(mixed / "strip.png")
    with pytest.warns(UserWarning, match="skipped 2 unusable") as caught:
        result = streaming.describe_folder(mixed, codebook)
    assert "broken.png" in str(caught[0].message) and "strip.png" in str(caught[0].message)
    assert set(result.skipped) == {"broken.png", "strip.png"} and "no 8 x 8 patch" in result.skipped["strip.png"]
    assert np.array_equal(result.hists, streaming.describe_folder(folder, codebook).hists)
    with pytest.warns(UserWarning, match="broken.png"):
        loaded = helpers.load_images(mixed)  # the same default: skip, warn, keep the others
    assert "broken.png" in loaded.skipped and len(loaded) == 7


def test_describe_files_in_partitions_gives_the_same_rows(folder, codebook):
    files = helpers.images.image_files(folder)
    parts = [streaming.describe_files(files[i : i + 2], codebook, root=folder) for i in range(0, 6, 2)]
    assert np.array_equal(np.vstack([p.hists for p in parts]), streaming.describe_folder(folder, codebook).hists)


def test_describe_folder_memory_does_not_grow_with_the_number_of_files(tmp_path, images, codebook):
    peaks = []
    for n in (4, 16):
        path = tmp_path / str(n)
        streaming.write_sample_folder(path, n, images=images, min_side=30, max_side=40, seed=1)
        tracemalloc.start()
        streaming.describe_folder(path, codebook)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0]


def test_fit_codebook_folder_by_partial_fit(folder):
    book = helpers.PatchCodebook(n_codes=8, n_patches=400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        streaming.fit_codebook_folder(folder, book, images_per_batch=2, epochs=2)
    assert book.kmeans_.n_steps_ == 6 and streaming.describe_folder(folder, book).hists.shape == (6, 8)
    again = streaming.fit_codebook_folder(
        folder, helpers.PatchCodebook(n_codes=8, n_patches=400), images_per_batch=2, epochs=2
    )
    assert np.array_equal(again.kmeans_.cluster_centers_, book.kmeans_.cluster_centers_)
