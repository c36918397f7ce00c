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
    assert "broken.png" in loaded.skipped and len(loaded) == 6  # load_images also skips the strip (min_side=8)
    assert loaded.skipped["strip.png"] == "4 x 40 pixels, too small for one 8 x 8 patch"


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


# ---- Dask: the same results from workers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    """Two Dask workers as threads in this process: quick to start, and the same code path as worker processes."""
    import logging

    distributed = pytest.importorskip("dask.distributed")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with distributed.Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0"
    ) as client:
        yield client


def test_describe_folder_on_dask_equals_this_process_and_merges_every_skipped_file(folder, codebook, client, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "aaa-broken.png").write_bytes(b"not an image")  # first task
    (mixed / "zzz-broken.png").write_bytes(b"not an image either")  # last task
    with pytest.warns(UserWarning, match="skipped 2 unusable") as caught:
        here = streaming.describe_folder(mixed, codebook)
    with pytest.warns(UserWarning, match="skipped 2 unusable") as caught_dask:
        there = streaming.describe_folder(mixed, codebook, client=client, files_per_task=3)
    assert str(caught_dask[0].message) == str(caught[0].message)
    assert set(there.skipped) == {"aaa-broken.png", "zzz-broken.png"} and there.skipped == here.skipped
    assert there.names == here.names and np.array_equal(there.hists, here.hists)
    with pytest.raises(ValueError, match="files per task"):
        streaming.describe_folder(folder, codebook, client=client, files_per_task=0)


def test_a_step_on_code_statistics_is_the_step_on_the_patches(folder):
    """Weighted per-code means move the code vectors exactly as the patches themselves do (random restarts off)."""
    import copy

    files = helpers.images.image_files(folder)
    book = helpers.PatchCodebook(n_codes=8, n_patches=300, random_state=0).partial_fit(helpers.load_images(folder))
    book.kmeans_.set_params(reassignment_ratio=0)
    by_stats, by_rows = copy.deepcopy(book), copy.deepcopy(book)
    parts = [(files[:3], 11), (files[3:], 12)]
    stats = [streaming.code_statistics(part, by_stats, seed=seed) for part, seed in parts]
    by_stats.kmeans_.partial_fit(
        np.vstack([s.means for s in stats]), sample_weight=np.concatenate([s.counts for s in stats])
    )
    rows = np.vstack(
        [by_rows.sample([load_image(f) for f in part], np.random.RandomState(seed)) for part, seed in parts]
    )
    assert sum(s.counts.sum() for s in stats) == len(rows) > 100
    centres = by_rows.kmeans_.cluster_centers_
    inertia = ((rows[:, None] - centres[None]) ** 2).sum(axis=2).min(axis=1).sum()
    assert np.isclose(sum(s.inertia for s in stats), inertia, rtol=1e-10)
    by_rows.kmeans_.partial_fit(rows)
    assert np.abs(by_stats.kmeans_.cluster_centers_ - by_rows.kmeans_.cluster_centers_).max() < 1e-12
    assert not np.array_equal(by_rows.kmeans_.cluster_centers_, book.kmeans_.cluster_centers_)


def test_fit_codebook_folder_on_dask_is_reproducible_and_reports_bad_files(folder, client, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "broken.png").write_bytes(b"not an image")
    books = []
    for _ in range(2):
        book = helpers.PatchCodebook(n_codes=8, n_patches=300, random_state=0)
        with pytest.warns(UserWarning, match="broken.png"):
            books.append(streaming.fit_codebook_folder(mixed, book, images_per_batch=2, epochs=2, client=client))
    # 7 files x 2 epochs = 7 batches of 2: the first starts the codebook here, 6 go to the workers, 2 per step
    assert books[0].kmeans_.n_steps_ == 1 + 3
    assert np.array_equal(books[0].kmeans_.cluster_centers_, books[1].kmeans_.cluster_centers_)
    assert streaming.describe_folder(folder, books[0]).hists.shape == (6, 8)
