"""Tests of helpers.patches: pnorm, grid_positions, patches, patches_at, sample_patches, ZCA."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import NORMS, ZCA, grid_positions, patches, patches_at, pnorm, sample_patches


def reference_patches(image: np.ndarray, r: int, step: int, norm: str = "gray") -> np.ndarray:
    """Direct slicing reference: one image[y:y+r, x:x+r] per grid position, then pnorm."""
    stack = [image[y : y + r, x : x + r] for y, x in grid_positions(image.shape, r, step)]
    if not stack:
        return pnorm(np.empty((0, r, r, 3), dtype=np.float32), norm)
    return pnorm(np.stack(stack), norm)


# ---------------------------------------------------------------- pnorm


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
def test_pnorm_shapes_and_dtype(norm, lead, rng):
    p = rng.random((*lead, 6, 6, 3))
    out = pnorm(p, norm)
    expected = (*lead, 6, 6, 3) if norm == "rgb" else (*lead, 6, 6)
    assert out.shape == expected
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_pnorm_gray_is_channel_mean(rng):
    p = rng.random((4, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(pnorm(p, "gray"), p.mean(axis=-1), rtol=1e-6)


def test_pnorm_rgb_is_unchanged(rng):
    p = rng.random((4, 5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(pnorm(p, "rgb"), p)


def test_pnorm_center_has_zero_mean_per_patch(rng):
    p = rng.random((50, 8, 8, 3))
    out = pnorm(p, "center")
    np.testing.assert_allclose(out.mean(axis=(-2, -1)), 0, atol=1e-6)
    # centring keeps the differences between pixels
    gray = p.mean(axis=-1)
    np.testing.assert_allclose(out, gray - gray.mean(axis=(-2, -1), keepdims=True), atol=1e-6)


def test_pnorm_contrast_within_two(rng):
    # high-contrast patches (0/1 checkerboards) are multiplied by 1/var = 4 and must be clipped
    p = np.concatenate([rng.random((50, 8, 8, 3)), rng.integers(0, 2, (50, 8, 8, 1)).repeat(3, axis=-1)])
    out = pnorm(p, "contrast")
    assert out.min() >= -2 and out.max() <= 2
    assert np.isclose(np.abs(out).max(), 2)  # the clip is reached, not just respected


def test_pnorm_contrast_scales_low_variance_patches_by_ten(rng):
    # variance far below 0.1: the divisor is clipped to 0.1, i.e. the patch is multiplied by 10
    p = 0.5 + 0.01 * rng.standard_normal((3, 4, 4, 3))
    centred = pnorm(p, "center")
    np.testing.assert_allclose(pnorm(p, "contrast"), 10 * centred, rtol=1e-5, atol=1e-6)


def test_pnorm_maxscale_within_one(rng):
    p = np.concatenate([rng.random((50, 8, 8, 3)), rng.integers(0, 2, (50, 8, 8, 1)).repeat(3, axis=-1)])
    out = pnorm(p, "maxscale")
    assert out.min() >= -1 and out.max() <= 1
    assert np.isclose(np.abs(out).max(), 1)


def test_pnorm_standardize(rng):
    p = rng.random((20, 8, 8, 3))
    out = pnorm(p, "standardize")
    np.testing.assert_allclose(out.mean(axis=(-2, -1)), 0, atol=1e-6)
    gray = p.mean(axis=-1)
    var = gray.var(axis=(-2, -1))
    np.testing.assert_allclose(out.var(axis=(-2, -1)), var / (var + 0.01), rtol=1e-4)
    # a flat patch does not blow up
    flat = pnorm(np.full((8, 8, 3), 0.3), "standardize")
    np.testing.assert_allclose(flat, 0, atol=1e-6)


def test_pnorm_unknown_norm_raises(rng):
    with pytest.raises(ValueError, match="unknown norm 'bogus'"):
        pnorm(rng.random((8, 8, 3)), "bogus")


@pytest.mark.parametrize("shape", [(8, 8), (8,), (4, 8, 8, 1), (8, 8, 4)])
def test_pnorm_bad_shape_raises(shape):
    with pytest.raises(ValueError, match=r"\(\.\.\., r, r, 3\)"):
        pnorm(np.zeros(shape), "gray")


# ---------------------------------------------------------------- grid_positions


def test_grid_positions_docstring_example():
    assert grid_positions((10, 8), r=4, step=4).tolist() == [[0, 0], [0, 4], [4, 0], [4, 4], [6, 0], [6, 4]]


def test_grid_positions_default_step_is_half_r():
    pos = grid_positions((16, 16), r=8)
    assert sorted(set(pos[:, 0].tolist())) == [0, 4, 8]
    assert len(pos) == 9


def test_grid_positions_small_image_is_empty():
    for shape in [(5, 20), (20, 5), (3, 3, 3)]:
        pos = grid_positions(shape, r=8, step=4)
        assert pos.shape == (0, 2)


def test_grid_positions_exact_fit_adds_no_extra_row():
    # 16 = 0, 4, 8 (last start 8 = 16 - 8): nothing appended
    pos = grid_positions((16, 16), r=8, step=4)
    assert np.unique(pos[:, 0]).tolist() == [0, 4, 8]


@pytest.mark.parametrize(
    "r, step",
    [(0, 1), (-3, 1), (8, 0), (8, -2), (2.5, 1), (8, 1.5), ("8", 1)],
)
def test_grid_positions_validates_r_and_step(r, step):
    with pytest.raises(ValueError, match="r must|step must"):
        grid_positions((32, 32), r=r, step=step)


def test_grid_positions_error_names_r_or_step():
    with pytest.raises(ValueError, match="patch size r"):
        grid_positions((32, 32), r=0, step=1)
    with pytest.raises(ValueError, match="step"):
        grid_positions((32, 32), r=4, step=0)


@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    r=st.integers(1, 12),
    step_frac=st.floats(0, 1),
)
def test_grid_positions_cover_every_pixel(h, w, r, step_frac):
    step = 1 + int(step_frac * (r - 1))  # 1 <= step <= r: no gaps between patches
    pos = grid_positions((h, w), r, step)
    if h < r or w < r:
        assert pos.shape == (0, 2)
        return
    covered = np.zeros((h, w), dtype=bool)
    for y, x in pos:
        covered[y : y + r, x : x + r] = True
    assert covered.all()
    ys, xs = np.unique(pos[:, 0]), np.unique(pos[:, 1])
    assert ys[0] == 0 and xs[0] == 0
    assert ys[-1] == h - r and xs[-1] == w - r
    assert np.all(np.diff(ys) <= step) and np.all(np.diff(xs) <= step)
    assert len(pos) == len(ys) * len(xs)  # a full grid, row by row
    assert (pos.tolist()) == [[y, x] for y in ys for x in xs]


@given(h=st.integers(1, 40), w=st.integers(1, 40), r=st.integers(1, 12), step=st.integers(1, 20))
def test_grid_positions_in_bounds_and_reach_edges(h, w, r, step):
    pos = grid_positions((h, w), r, step)
    if h < r or w < r:
        assert len(pos) == 0
        return
    assert pos.min() >= 0
    assert pos[:, 0].max() == h - r and pos[:, 1].max() == w - r
    assert len(np.unique(pos, axis=0)) == len(pos)


# ---------------------------------------------------------------- patches / patches_at


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("shape, r, step", [((40, 48), 8, 4), ((33, 27), 8, None), ((20, 21), 5, 3), ((9, 9), 1, 2)])
def test_patches_match_slicing_reference(shape, r, step, norm, make_image):
    image = make_image(*shape, seed=3)
    got = patches(image, r=r, step=step, norm=norm)
    ref_step = max(1, r // 2) if step is None else step
    expected = reference_patches(image, r, ref_step, norm)
    assert got.shape == expected.shape
    assert got.shape[0] == len(grid_positions(shape, r, ref_step))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@given(h=st.integers(1, 24), w=st.integers(1, 24), r=st.integers(1, 8), step=st.integers(1, 8))
def test_patches_property_matches_reference(make_image, h, w, r, step):
    image = make_image(h, w, seed=h * 100 + w)
    got = patches(image, r=r, step=step, norm="rgb")
    np.testing.assert_array_equal(got, reference_patches(image, r, step, "rgb"))


def test_patches_cover_last_row_and_column(make_image):
    image = make_image(21, 30, seed=1)
    got = patches(image, r=8, step=8, norm="rgb")
    # grid rows 0, 8, 13 and columns 0, 8, 16, 22: the last patch is the bottom-right corner
    assert got.shape == (3 * 4, 8, 8, 3)
    np.testing.assert_array_equal(got[-1], image[-8:, -8:])
    np.testing.assert_array_equal(got[3], image[:8, -8:])


@pytest.mark.parametrize("norm, tail", [("gray", ()), ("center", ()), ("maxscale", ()), ("rgb", (3,))])
def test_patches_image_smaller_than_r_is_empty(norm, tail, make_image):
    image = make_image(5, 12, seed=0)
    got = patches(image, r=8, norm=norm)
    assert got.shape == (0, 8, 8, *tail)
    assert got.dtype == np.float32


@pytest.mark.parametrize("r, step", [(0, 1), (8, 0), (-1, None), (3.0, 1)])
def test_patches_validates_r_and_step(r, step, make_image):
    with pytest.raises(ValueError, match="r must|step must"):
        patches(make_image(16, 16, seed=0), r=r, step=step)


def test_patches_2d_array_raises_naming_shape():
    with pytest.raises(ValueError, match=r"H x W x 3.*\(16, 16\)"):
        patches(np.zeros((16, 16), dtype=np.float32))


@pytest.mark.parametrize("shape", [(16,), (), (2, 16, 16, 3), (16, 16, 4)])
def test_patches_other_bad_shapes_raise_value_error(shape):
    with pytest.raises(ValueError, match="H x W x 3"):
        patches(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64, bool])
def test_patches_integer_image_raises(dtype):
    image = np.zeros((16, 16, 3), dtype=dtype)
    with pytest.raises(ValueError, match=f"float image.*{np.dtype(dtype)}.*as_rgb"):
        patches(image)


def test_patches_at_positions_and_bounds(make_image):
    image = make_image(20, 20, seed=2)
    pos = np.array([[0, 0], [12, 3], [15, 15]])
    got = patches_at(image, pos, r=5, norm="rgb")
    for p, (y, x) in zip(got, pos, strict=True):
        np.testing.assert_array_equal(p, image[y : y + 5, x : x + 5])
    for bad in ([[16, 0]], [[0, 16]], [[-1, 0]]):
        with pytest.raises(ValueError, match="does not fit"):
            patches_at(image, np.array(bad), r=5)
    assert patches_at(image, np.empty((0, 2), dtype=int), r=5).shape == (0, 5, 5)


# ---------------------------------------------------------------- sample_patches


def test_sample_patches_shape_and_membership(images):
    sample = sample_patches(images, n=100, r=8, step=4, norm="rgb", seed=1)
    assert sample.shape == (100, 8, 8, 3)
    assert sample.dtype == np.float32
    pool = np.concatenate([patches(im, 8, 4, "rgb") for im in images]).reshape(-1, 8 * 8 * 3)
    flat = sample.reshape(len(sample), -1)
    # every sampled patch is a grid patch of one of the images, and none is drawn twice
    matches = (flat[:, None, :] == pool[None, :, :]).all(axis=-1)
    assert matches.any(axis=1).all()
    assert len(np.unique(matches.argmax(axis=1))) == len(sample)


def test_sample_patches_draws_from_every_image(images):
    # with all patches, each image contributes exactly its own grid patches
    total = sum(len(patches(im, 8, 4)) for im in images)
    sample = sample_patches(images, n=total, r=8, step=4, norm="rgb", seed=0)
    pool = np.concatenate([patches(im, 8, 4, "rgb") for im in images])
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1)))  # noqa: E731
    assert key(sample) == key(pool)


@pytest.mark.parametrize("norm", ["gray", "center", "rgb"])
def test_sample_patches_deterministic_for_seed(images, norm):
    a = sample_patches(images, n=80, r=6, norm=norm, seed=7)
    b = sample_patches(images, n=80, r=6, norm=norm, seed=7)
    c = sample_patches(images, n=80, r=6, norm=norm, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_patches_too_many_warns_and_returns_all(images):
    total = sum(len(grid_positions(im.shape, 8, 8)) for im in images)
    with pytest.warns(UserWarning, match=f"asked for {total + 5} patches but the images have only {total}"):
        sample = sample_patches(images, n=total + 5, r=8, step=8)
    assert sample.shape == (total, 8, 8)


def test_sample_patches_skips_images_smaller_than_r(make_image):
    small, big = make_image(4, 4, seed=0), make_image(16, 16, seed=1)
    sample = sample_patches([small, big], n=9, r=8, step=4, norm="rgb")
    assert sample.shape == (9, 8, 8, 3)
    with pytest.warns(UserWarning, match="only 0"):
        empty = sample_patches([small], n=3, r=8)
    assert empty.shape == (0, 8, 8)


def test_sample_patches_negative_n_raises(images):
    with pytest.raises(ValueError, match="n must be >= 0"):
        sample_patches(images, n=-1)


# ---------------------------------------------------------------- ZCA


@pytest.fixture(scope="module")
def correlated_patches():
    """4 x 4 patches whose pixels are strongly correlated (a random mixing of white noise)."""
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((16, 16)) + 3 * np.eye(16)
    x = rng.standard_normal((4000, 16)) @ mix * 0.05 + 0.5
    return x.reshape(-1, 4, 4)


def test_zca_whitened_covariance_is_identity(correlated_patches):
    flat = correlated_patches.reshape(len(correlated_patches), -1)
    cov_before = np.cov(flat, rowvar=False)
    assert np.abs(cov_before - np.diag(np.diag(cov_before))).max() > 1e-3  # really correlated
    eps = 1e-6 * np.linalg.eigvalsh(cov_before).min()  # small relative to every variance
    zca = ZCA(eps=eps).fit(correlated_patches)
    white = zca.transform(correlated_patches)
    assert white.shape == correlated_patches.shape
    assert white.dtype == np.float32
    cov = np.cov(white.reshape(len(white), -1), rowvar=False)
    np.testing.assert_allclose(cov, np.eye(16), atol=1e-3)
    np.testing.assert_allclose(white.reshape(len(white), -1).mean(axis=0), 0, atol=1e-4)


def test_zca_is_symmetric_and_eps_shrinks(correlated_patches):
    zca = ZCA(eps=0.01).fit(correlated_patches)
    np.testing.assert_allclose(zca.whitening_, zca.whitening_.T, atol=1e-10)  # ZCA, not PCA: rotates back
    white = zca.transform(correlated_patches)
    var = np.var(white.reshape(len(white), -1), axis=0)
    assert np.all(var < 1)  # a large eps damps every direction


def test_zca_fit_transform_and_shape_mismatch(correlated_patches):
    zca = ZCA(eps=0.01)
    white = zca.fit_transform(correlated_patches)
    np.testing.assert_allclose(white, zca.transform(correlated_patches), atol=1e-6)
    assert zca.shape_ == (4, 4)
    with pytest.raises(ValueError, match=r"fitted on patches of shape \(4, 4\), got \(5, 5\)"):
        zca.transform(np.zeros((3, 5, 5)))


def test_zca_needs_two_patches():
    with pytest.raises(ValueError, match="at least 2 patches"):
        ZCA().fit(np.zeros((1, 4, 4)))
