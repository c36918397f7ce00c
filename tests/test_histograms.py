"""Tests of helpers.histograms: patchhist, patchhists, normalize_hists."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.feature_extraction.text import TfidfTransformer

from helpers import HIST_NORMS, normalize_hists, patches, patchhist, patchhists


@pytest.fixture(scope="module")
def hists():
    """Count histograms with a zero row, a code no image uses, and a code every image uses."""
    return np.array(
        [
            [3, 0, 1, 0, 5],
            [0, 0, 0, 0, 0],
            [1, 0, 7, 2, 1],
            [4, 0, 0, 9, 2],
        ],
        dtype=float,
    )


# ---------------------------------------------------------------- patchhist / patchhists


@pytest.mark.parametrize("step", [None, 2, 8, 11])
def test_patchhist_sums_to_number_of_patches(images, codebook8, step):
    for image in images:
        h = patchhist(image, codebook8, r=8, step=step)
        assert h.shape == (16,)
        assert h.dtype == np.float64
        assert h.sum() == len(patches(image, r=8, step=step))
        assert np.all(h >= 0) and np.all(h == np.round(h))


def test_patchhist_counts_match_predict(images, codebook8):
    image = images[1]
    p = patches(image, r=8, step=4)
    codes = codebook8.predict(p.reshape(len(p), -1))
    expected = np.array([(codes == k).sum() for k in range(16)])
    np.testing.assert_array_equal(patchhist(image, codebook8, r=8, step=4), expected)


def test_patchhist_image_smaller_than_r_is_all_zero(codebook8, make_image):
    h = patchhist(make_image(5, 30, seed=0), codebook8, r=8)
    assert h.shape == (16,)
    assert not h.any()


def test_patchhist_colour_codebook(images):
    from helpers import fit_codebook, sample_patches

    km = fit_codebook(sample_patches(images, 300, r=4, norm="rgb"), k=6, seed=0)
    h = patchhist(images[0], km, r=4, norm="rgb")
    assert h.shape == (6,)
    assert h.sum() == len(patches(images[0], r=4))
    with pytest.raises(ValueError, match="codebook mismatch"):
        patchhist(images[0], km, r=4)  # gray patches against a colour codebook


def test_patchhist_codebook_mismatch_raises(images, codebook8):
    with pytest.raises(ValueError, match=r"codebook mismatch.*8 x 8 patches.*6 x 6 patches have 36"):
        patchhist(images[0], codebook8, r=6)


def test_patchhists_shape_and_rows(images, codebook8):
    hs = patchhists(images, codebook8, r=8, step=4)
    assert hs.shape == (len(images), 16)
    for row, image in zip(hs, images, strict=True):
        np.testing.assert_array_equal(row, patchhist(image, codebook8, r=8, step=4))


def test_patchhists_of_no_images_has_k_columns(codebook8):
    assert patchhists([], codebook8, r=8).shape == (0, 16)


# ---------------------------------------------------------------- normalize_hists


def test_normalize_counts_is_an_unchanged_copy(hists):
    out = normalize_hists(hists, "counts")
    np.testing.assert_array_equal(out, hists)
    out[0, 0] = 99
    assert hists[0, 0] == 3


def test_normalize_l1_rows_sum_to_one(hists):
    out = normalize_hists(hists, "l1")
    nonzero = hists.sum(axis=1) > 0
    np.testing.assert_allclose(out[nonzero].sum(axis=1), 1)
    np.testing.assert_allclose(out[0], hists[0] / 9)
    assert not out[~nonzero].any()


def test_normalize_default_is_l1(hists):
    np.testing.assert_array_equal(normalize_hists(hists), normalize_hists(hists, "l1"))


def test_normalize_l2_rows_unit_norm(hists):
    out = normalize_hists(hists, "l2")
    nonzero = hists.sum(axis=1) > 0
    np.testing.assert_allclose(np.linalg.norm(out[nonzero], axis=1), 1)
    np.testing.assert_allclose(out[2], hists[2] / np.sqrt(1 + 49 + 4 + 1))
    assert not out[~nonzero].any()


def test_normalize_sqrt_squares_sum_to_one(hists):
    out = normalize_hists(hists, "sqrt")
    nonzero = hists.sum(axis=1) > 0
    np.testing.assert_allclose((out[nonzero] ** 2).sum(axis=1), 1)
    np.testing.assert_allclose(out[0], np.sqrt(hists[0] / 9))
    assert not out[~nonzero].any()


def test_normalize_tfidf_matches_sklearn_and_formula(hists):
    out = normalize_hists(hists, "tfidf")
    np.testing.assert_allclose(out, TfidfTransformer().fit_transform(hists).toarray(), atol=1e-12)
    # the documented formula, computed here independently
    n = len(hists)
    df = (hists > 0).sum(axis=0)
    weighted = hists * (np.log((1 + n) / (1 + df)) + 1)
    norms = np.linalg.norm(weighted, axis=1, keepdims=True)
    expected = np.divide(weighted, norms, out=np.zeros_like(weighted), where=norms > 0)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert isinstance(out, np.ndarray)
    assert not out[1].any()


@pytest.mark.parametrize("method", HIST_NORMS)
def test_normalize_every_method_keeps_shape_and_zero_rows(hists, method):
    out = normalize_hists(hists.astype(int), method)
    assert out.shape == hists.shape
    assert out.dtype == np.float64
    assert np.all(np.isfinite(out))
    assert not out[1].any()  # the all-zero histogram stays zero
    assert np.all(out >= 0)


def test_normalize_unknown_method_raises(hists):
    with pytest.raises(ValueError, match="unknown histogram normalisation 'l3'"):
        normalize_hists(hists, "l3")


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_normalize_needs_a_matrix(shape):
    with pytest.raises(ValueError, match=r"\(n_images, K\)"):
        normalize_hists(np.ones(shape), "l1")


@given(arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 8)), elements=st.integers(0, 50)))
def test_normalize_properties(h):
    sums = h.sum(axis=1)
    l1 = normalize_hists(h, "l1")
    np.testing.assert_allclose(l1.sum(axis=1), np.where(sums > 0, 1, 0), atol=1e-12)
    sq = normalize_hists(h, "sqrt")
    np.testing.assert_allclose((sq**2).sum(axis=1), np.where(sums > 0, 1, 0), atol=1e-12)
    l2 = normalize_hists(h, "l2")
    np.testing.assert_allclose(np.linalg.norm(l2, axis=1), np.where(sums > 0, 1, 0), atol=1e-12)
    tfidf = normalize_hists(h, "tfidf")
    np.testing.assert_allclose(np.linalg.norm(tfidf, axis=1), np.where(sums > 0, 1, 0), atol=1e-12)
    # every normalisation keeps which codes are used
    for out in (l1, sq, l2, tfidf):
        np.testing.assert_array_equal(out > 0, h > 0)


def test_count_codes_counts_each_patch_once(codebook8, gray_patches8):
    from helpers.histograms import count_codes

    p = gray_patches8[:50]
    counts = count_codes(p, codebook8)
    assert counts.shape == (len(codebook8.cluster_centers_),) and counts.sum() == 50
    expected = np.bincount(codebook8.predict(p.reshape(50, -1)), minlength=len(codebook8.cluster_centers_))
    np.testing.assert_array_equal(counts, expected)
    assert count_codes(p[:0], codebook8).sum() == 0
    with pytest.raises(ValueError, match="codebook mismatch: code vectors have 64 values, the patches have 36"):
        count_codes(np.zeros((3, 6, 6), dtype=np.float32), codebook8)
