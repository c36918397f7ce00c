"""Tests of helpers.streaming (large folders in bounded memory) and helpers.images.load_image."""

import gc
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import streaming
from helpers.images import load_image

# ---------------------------------------------------------------- fixtures


def write_folder(path: Path, images, n: int, seed: int = 0) -> Path:
    """A folder of n small PNGs (16-32 px crops of the synthetic images)."""
    streaming.write_sample_folder(path, n, images=images, min_side=16, max_side=32, seed=seed)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory, images) -> Path:
    """Twelve small PNG images."""
    return write_folder(tmp_path_factory.mktemp("folder"), images, 12)


@pytest.fixture
def broken_folder(tmp_path, images) -> Path:
    """Six good images, one corrupt, one truncated, one all black and one text file."""
    write_folder(tmp_path, images, 6)
    (tmp_path / "corrupt.png").write_bytes(b"this is not a PNG")
    data = (tmp_path / "img00000.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(tmp_path / "black.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture(scope="module")
def sources(make_image) -> helpers.ImageList:
    """Three synthetic 128 x 128 images to crop from, for folders whose images are not tiny."""
    return helpers.ImageList([make_image(128, 128, seed=i) for i in range(3)], ["a", "b", "c"])


def memory_folders(tmp_path: Path, sources) -> tuple[Path, Path]:
    """Folders of 20 and of 80 images of 48-64 pixels a side."""
    small, large = tmp_path / "small", tmp_path / "large"
    streaming.write_sample_folder(small, 20, images=sources, min_side=48, max_side=64, seed=0)
    streaming.write_sample_folder(large, 80, images=sources, min_side=48, max_side=64, seed=1)
    return small, large


def peak_bytes(function, *args, **kwargs) -> int:
    """Peak traced memory (bytes) while calling function(*args, **kwargs): the smaller of two calls.

    Two calls, because a call may happen to resize a global table of the interpreter (e.g. the
    dict of interned strings, several MB) that the next call does not have to grow again.
    """
    peaks = []
    for _ in range(2):
        gc.collect()
        tracemalloc.start()
        try:
            function(*args, **kwargs)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return min(peaks)


# ---------------------------------------------------------------- load_image


def test_load_image_equals_load_images(folder):
    loaded = helpers.load_images(folder)
    for name, image in zip(loaded.names, loaded, strict=True):
        np.testing.assert_array_equal(load_image(folder / name), image)
    assert load_image(folder / loaded.names[0], max_side=10).shape[:2] <= (10, 10)


def test_load_image_names_a_corrupt_file(broken_folder):
    with pytest.raises(helpers.ImageReadError, match="corrupt.png"):
        load_image(broken_folder / "corrupt.png")
    with pytest.raises(ValueError, match="black.png.*entirely black"):
        load_image(broken_folder / "black.png")


# ---------------------------------------------------------------- write_sample_folder


def test_write_sample_folder_is_reproducible(tmp_path, images):
    a = streaming.write_sample_folder(tmp_path / "a", 5, images=images, min_side=10, max_side=20, seed=3)
    b = streaming.write_sample_folder(tmp_path / "b", 5, images=images, min_side=10, max_side=20, seed=3)
    c = streaming.write_sample_folder(tmp_path / "c", 5, images=images, min_side=10, max_side=20, seed=4)
    assert [p.name for p in a] == [f"img{i:05d}.png" for i in range(5)]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]
    for p in a:
        with Image.open(p) as im:
            assert im.mode == "RGB" and 10 <= im.width <= 20 and 10 <= im.height <= 20


def test_write_sample_folder_rejects_bad_sizes(tmp_path, images):
    with pytest.raises(ValueError, match="min_side <= max_side"):
        streaming.write_sample_folder(tmp_path, 1, images=images, min_side=30, max_side=20)
    with pytest.raises(ValueError, match="n must be"):
        streaming.write_sample_folder(tmp_path, -1, images=images)


# ---------------------------------------------------------------- iter_images


def test_iter_images_yields_good_files_and_records_the_others(broken_folder):
    files = sorted(p for p in broken_folder.iterdir() if p.suffix == ".png")
    skipped = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = list(streaming.iter_images(files, root=broken_folder, skipped=skipped))
    assert len(caught) == 3 and any(str(w.message).startswith("skipped corrupt.png:") for w in caught)
    assert [name for name, _ in loaded] == [f"img{i:05d}.png" for i in range(6)]
    np.testing.assert_array_equal(loaded[2][1], load_image(broken_folder / "img00002.png"))
    assert sorted(skipped) == ["black.png", "corrupt.png", "truncated.png"]


# ---------------------------------------------------------------- describe_folder


def test_describe_folder_equals_patchhist_of_loaded_images(folder, codebook8):
    result = streaming.describe_folder(folder, codebook8, step=4)
    loaded = helpers.load_images(folder)
    assert result.names == loaded.names
    assert result.skipped == {}
    assert result.hists.shape == (12, 16) and result.hists.dtype == np.float64
    np.testing.assert_array_equal(result.hists, helpers.patchhists(loaded, codebook8, step=4))


def test_describe_files_in_partitions_gives_the_same_matrix(folder, codebook8):
    files = sorted(folder.glob("*.png"))
    whole = streaming.describe_files(files, codebook8, root=folder)
    parts = [streaming.describe_files(part, codebook8, root=folder) for part in (files[:5], files[5:9], files[9:])]
    np.testing.assert_array_equal(np.vstack([p.hists for p in parts]), whole.hists)
    assert sum((p.names for p in parts), []) == whole.names == [f.name for f in files]
    assert streaming.describe_files(files[:2], codebook8).names == [str(f) for f in files[:2]]
    assert streaming.describe_files([], codebook8).hists.shape == (0, 16)


def test_describe_folder_skips_unreadable_files_and_keeps_the_others(broken_folder, codebook8):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = streaming.describe_folder(broken_folder, codebook8)
    messages = [str(w.message) for w in caught]
    assert any("notes.txt" in m and "not images" in m for m in messages)
    for bad in ("corrupt.png", "truncated.png", "black.png"):
        assert any(m.startswith(f"skipped {bad}:") for m in messages), (bad, messages)
    assert sorted(result.skipped) == ["black.png", "corrupt.png", "truncated.png"]
    assert "entirely black" in result.skipped["black.png"]
    good = [f"img{i:05d}.png" for i in range(6)]
    assert result.names == good
    expected = helpers.patchhists([load_image(broken_folder / g) for g in good], codebook8)
    np.testing.assert_array_equal(result.hists, expected)


def test_describe_folder_checks_the_codebook_before_reading(tmp_path, codebook8):
    for i in range(3):
        (tmp_path / f"bad{i}.png").write_bytes(b"not a PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a wrong codebook must not be reported file by file
        with pytest.raises(ValueError, match="codebook mismatch"):
            streaming.describe_folder(tmp_path, codebook8, r=6)


def test_describe_folder_errors(tmp_path, codebook8):
    with pytest.raises(FileNotFoundError):
        streaming.describe_folder(tmp_path / "missing", codebook8)
    (tmp_path / "a.txt").write_text("x")
    with pytest.warns(UserWarning, match="a.txt"), pytest.raises(ValueError, match="no image files"):
        streaming.describe_folder(tmp_path, codebook8)


def test_progress_bar_only_when_asked_or_long(folder, codebook8, capsys):
    streaming.describe_folder(folder, codebook8)  # 12 files < PROGRESS_MIN_FILES
    assert capsys.readouterr().err == ""
    streaming.describe_folder(folder, codebook8, progress=True)
    assert "describing" in capsys.readouterr().err


def test_describe_folder_memory_does_not_grow_with_the_folder(tmp_path, sources, codebook8):
    """Peak memory for 80 images stays close to that for 20 (it grows by the result rows and file names only)."""
    small, large = memory_folders(tmp_path, sources)
    streaming.describe_folder(small, codebook8)  # warm-up: first-call imports and caches
    peak_small = peak_bytes(streaming.describe_folder, small, codebook8)
    peak_large = peak_bytes(streaming.describe_folder, large, codebook8)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
    # The measurement can see growth: loading every image at once does grow with the folder.
    helpers.load_images(small)
    assert peak_bytes(helpers.load_images, large) > 2.5 * peak_bytes(helpers.load_images, small)


# ---------------------------------------------------------------- fit_codebook_folder


def test_fit_codebook_folder_is_reproducible_and_usable(folder):
    km = streaming.fit_codebook_folder(folder, 8, patches_per_image=40, batch_size=64, epochs=2, seed=1)
    again = streaming.fit_codebook_folder(folder, 8, patches_per_image=40, batch_size=64, epochs=2, seed=1)
    other = streaming.fit_codebook_folder(folder, 8, patches_per_image=40, batch_size=64, epochs=2, seed=2)
    assert km.cluster_centers_.shape == (8, 64)
    np.testing.assert_array_equal(km.cluster_centers_, again.cluster_centers_)
    assert not np.array_equal(km.cluster_centers_, other.cluster_centers_)
    drawn = 2 * sum(min(40, len(helpers.grid_positions(im.shape))) for im in helpers.load_images(folder))
    assert km.n_steps_ == -(-drawn // 64)  # every patch drawn went to partial_fit, in batches of 64
    result = streaming.describe_folder(folder, km)
    assert result.hists.shape == (12, 8)


def test_fit_codebook_folder_close_to_fit_on_all_patches(folder):
    """Streaming in batches should find code vectors about as good as fitting all patches at once."""
    patches = np.concatenate([helpers.patches(im, step=4) for im in helpers.load_images(folder)])
    flat = patches.reshape(len(patches), -1)
    streamed = streaming.fit_codebook_folder(folder, 8, step=4, patches_per_image=1000, batch_size=256, epochs=3)
    at_once = helpers.fit_codebook(patches, k=8)
    assert -streamed.score(flat) < 1.3 * -at_once.score(flat)


def test_fit_codebook_folder_skips_bad_files_and_checks_sizes(broken_folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        km = streaming.fit_codebook_folder(broken_folder, 4, patches_per_image=30, batch_size=32, epochs=2)
    assert km.cluster_centers_.shape == (4, 64)
    # one warning per bad file, not one per epoch
    assert sorted(str(w.message).split(":")[0] for w in caught) == [
        "skipped black.png",
        "skipped corrupt.png",
        "skipped truncated.png",
    ]
    with warnings.catch_warnings(), pytest.raises(ValueError, match="cannot fit 5000 code vectors"):
        warnings.simplefilter("ignore")
        streaming.fit_codebook_folder(broken_folder, 5000, patches_per_image=10)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        streaming.fit_codebook_folder(broken_folder, 4, batch_size=0)


def test_fit_codebook_folder_memory_does_not_grow_with_the_folder(tmp_path, sources):
    small, large = memory_folders(tmp_path, sources)
    options = {"k": 8, "patches_per_image": 50, "batch_size": 256}
    streaming.fit_codebook_folder(small, **options)
    peak_small = peak_bytes(streaming.fit_codebook_folder, small, **options)
    peak_large = peak_bytes(streaming.fit_codebook_folder, large, **options)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
