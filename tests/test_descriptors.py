"""Tests of helpers.descriptors: hists_at, random_positions, scores, format_table."""

import warnings

import numpy as np
import pytest

from helpers import ZCA, corner_positions, fit_codebook, grid_positions, patchhists, sample_patches
from helpers.descriptors import SCORE_KEYS, code_hists, format_table, hists_at, random_positions, scores

# ---------------------------------------------------------------- hists_at


def test_hists_at_grid_equals_patchhists(images, codebook8):
    grids = [grid_positions(im.shape, 8, 4) for im in images]
    np.testing.assert_array_equal(hists_at(images, grids, codebook8), patchhists(images, codebook8, r=8, step=4))


def test_hists_at_corners_equals_patchhists_corners(images, codebook8):
    corners = [corner_positions(im, 8) for im in images]
    assert sum(len(c) for c in corners) > 0  # the test means something
    np.testing.assert_array_equal(hists_at(images, corners, codebook8), patchhists(images, codebook8, where="corners"))


def test_hists_at_whitened_equals_patchhists_whitened(images):
    data = sample_patches(images, 500, r=8, step=2, norm="standardize", seed=0)
    zca = ZCA(eps=0.1).fit(data)
    km = fit_codebook(zca.transform(data), k=8, seed=0, batch_size=256)
    grids = [grid_positions(im.shape, 8) for im in images]
    np.testing.assert_array_equal(
        hists_at(images, grids, km, norm="standardize", whiten=zca),
        patchhists(images, km, norm="standardize", whiten=zca),
    )


def test_hists_at_row_sums_and_empty_rows(images, codebook8):
    positions = [
        random_positions(images[0].shape, 7, seed=1),
        np.empty((0, 2), dtype=int),
        grid_positions(images[2].shape),
    ]
    h = hists_at(images, positions, codebook8)
    assert h.shape == (3, 16)
    assert h.dtype == np.float64
    assert h.sum(axis=1).tolist() == [7.0, 0.0, float(len(positions[2]))]


def test_hists_at_counts_match_predict(images, codebook8):
    from helpers import patches_at

    pos = random_positions(images[1].shape, 40, seed=3)
    codes = codebook8.predict(patches_at(images[1], pos, 8).reshape(40, -1))
    expected = np.bincount(codes, minlength=16)
    np.testing.assert_array_equal(hists_at([images[1]], [pos], codebook8)[0], expected)


def test_hists_at_validates_lengths_and_codebook(images, codebook8):
    with pytest.raises(ValueError, match="3 images but 2 arrays of positions"):
        hists_at(images, [np.zeros((1, 2), int)] * 2, codebook8)
    with pytest.raises(ValueError, match="codebook mismatch"):
        hists_at(images[:1], [np.zeros((1, 2), int)], codebook8, r=6)


# ---------------------------------------------------------------- code_hists


def test_code_hists_equals_patchhists_for_grid_patches(images, codebook8):
    from helpers import patches

    cut = [patches(im, 8, 4) for im in images]
    np.testing.assert_array_equal(code_hists(cut, codebook8), patchhists(images, codebook8, r=8, step=4))


def test_code_hists_whitened_and_empty_stack(images):
    from helpers import patches

    data = sample_patches(images, 500, r=8, step=2, norm="standardize", seed=0)
    zca = ZCA(eps=0.1).fit(data)
    km = fit_codebook(zca.transform(data), k=8, seed=0, batch_size=256)
    cut = [patches(images[0], 8, norm="standardize"), np.empty((0, 8, 8), dtype=np.float32)]
    h = code_hists(cut, km, whiten=zca)
    np.testing.assert_array_equal(h[0], patchhists(images[:1], km, norm="standardize", whiten=zca)[0])
    assert h.shape == (2, 8) and not h[1].any()


def test_code_hists_size_mismatch_raises(codebook8):
    with pytest.raises(
        ValueError, match="stack 0: codebook mismatch: code vectors have 64 values, the patches have 36"
    ):
        code_hists([np.zeros((3, 6, 6), dtype=np.float32)], codebook8)


# ---------------------------------------------------------------- random_positions


def test_random_positions_in_bounds_distinct_and_deterministic():
    p = random_positions((40, 30, 3), 200, r=8, seed=5)
    assert p.shape == (200, 2)
    assert p.dtype == np.intp
    assert p[:, 0].min() >= 0 and p[:, 0].max() <= 32
    assert p[:, 1].min() >= 0 and p[:, 1].max() <= 22
    assert len({tuple(q) for q in p.tolist()}) == 200
    np.testing.assert_array_equal(p, random_positions((40, 30, 3), 200, r=8, seed=5))
    assert not np.array_equal(p, random_positions((40, 30, 3), 200, r=8, seed=6))


def test_random_positions_all_positions_when_n_is_the_total():
    p = random_positions((10, 12), 3 * 5, r=8, seed=0)
    assert sorted(map(tuple, p.tolist())) == [(y, x) for y in range(3) for x in range(5)]


def test_random_positions_shares_a_generator():
    rng = np.random.default_rng(0)
    a, b = random_positions((64, 64), 10, seed=rng), random_positions((64, 64), 10, seed=rng)
    assert not np.array_equal(a, b)


def test_random_positions_zero_and_too_many():
    assert random_positions((16, 16), 0).shape == (0, 2)
    assert random_positions((4, 4), 0).shape == (0, 2)
    with pytest.raises(
        ValueError, match="cannot place 10 distinct 8 x 8 patches in an image of 9 x 9 \\(4 positions\\)"
    ):
        random_positions((9, 9), 10, r=8)
    with pytest.raises(ValueError, match="cannot place -1"):
        random_positions((9, 9), -1, r=8)


# ---------------------------------------------------------------- scores


@pytest.fixture(scope="module")
def labelled_hists():
    """36 histograms of 6 labels (6 each, so that p@5 can reach 1): a label's rows share their codes, plus noise."""
    rng = np.random.default_rng(0)
    labels = np.repeat([f"l{i}" for i in range(6)], 6)
    base = np.kron(np.eye(6), np.ones((1, 4))) * 20  # label i uses codes 4i .. 4i+3
    hists = np.repeat(base, 6, axis=0) + rng.integers(0, 3, size=(36, 24))
    return hists, labels


def test_scores_keys_and_perfect_descriptor(labelled_hists):
    hists, labels = labelled_hists
    s = scores(hists, labels)
    assert tuple(s) == SCORE_KEYS
    assert all(isinstance(v, float) for v in s.values())
    for key in ("p@5", "map", "ari", "nmi", "purity", "hellinger map", "hellinger ari", "accuracy"):
        assert s[key] == pytest.approx(1.0), key


def test_scores_is_blind_to_the_number_of_patches(labelled_hists):
    hists, labels = labelled_hists
    scaled = hists * np.arange(1, 37)[:, None]  # counts scaled, frequencies unchanged
    assert scores(scaled, labels) == pytest.approx(scores(hists, labels))


def test_scores_random_descriptor_is_poor(labelled_hists):
    _, labels = labelled_hists
    noise = np.random.default_rng(1).integers(0, 5, size=(36, 24))
    s = scores(noise, labels)
    assert s["ari"] < 0.3 and s["map"] < 0.5


def test_scores_handles_empty_rows_without_warnings(labelled_hists):
    hists, labels = labelled_hists
    hists = hists.copy()
    hists[[0, 7]] = 0
    labels = labels.copy()
    labels[:3] = "rare"  # fewer items than folds: scikit-learn would warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = scores(hists, labels)
    assert all(np.isfinite(v) for v in s.values())


def test_scores_k_and_shape_check(labelled_hists):
    hists, labels = labelled_hists
    assert "p@3" in scores(hists, labels, k=3)
    with pytest.raises(ValueError, match="one histogram row per label \\(35\\)"):
        scores(hists, labels[:-1])


# ---------------------------------------------------------------- format_table


def test_format_table_layout_and_order():
    text = format_table({"gray": {"map": 0.5, "ari": -0.25}, "standardize": {"ari": 1.0, "map": 0.125}}, ["map", "ari"])
    lines = text.split("\n")
    assert len(lines) == 3
    assert lines[0].split() == ["map", "ari"]
    assert lines[1].split() == ["gray", "0.500", "-0.250"]
    assert lines[2].split() == ["standardize", "0.125", "1.000"]
    assert len({len(line) for line in lines}) == 1  # aligned


def test_format_table_digits_and_errors():
    assert format_table({"a": {"x": 1 / 3}}, digits=2).split("\n")[1].split() == ["a", "0.33"]
    with pytest.raises(ValueError, match="no results"):
        format_table({})
    with pytest.raises(ValueError, match="row 'b' has no value for \\['y'\\]"):
        format_table({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 1.0}})
