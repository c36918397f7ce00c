"""helpers.extraction: positions, patches and pnorm, checked against the lecture's loops and formulas."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import helpers
from helpers.extraction import STANDARDIZE_EPS, grid_positions, patches, patches_at, pnorm, sample_patches


def lecture_pnorm(p, line):
    """The lecture's pnorm with its commented-out lines uncommented up to ``line`` (4 to 7)."""
    p = np.mean(p, axis=2)
    if line >= 5:
        p = p - np.mean(p)
    if line >= 6:
        p = np.clip(p / np.clip(np.var(p), 0.1, 10), -2, 2)
    if line >= 7:
        p = p / max(1.0, np.amax(np.abs(p)))
    return p


@pytest.mark.parametrize(("norm", "line"), [("none", 4), ("center", 5), ("contrast", 6), ("maxscale", 7)])
def test_pnorm_reproduces_the_lecture_line_by_line(norm, line, rng):
    p = rng.random((8, 8, 3))
    p[2:5] *= 4  # some contrast, so that line 6 clips
    p /= p.max()
    np.testing.assert_allclose(pnorm(p, norm), lecture_pnorm(p, line), rtol=1e-12)


def test_pnorm_standardize_is_coates_and_ng_on_0_255_pixels(rng):
    p = rng.random((6, 6, 3))
    x = p * 255  # their units: pixels 0..255, variance + 10 (MATLAB var: ddof = 1)
    expected = (x - x.mean()) / np.sqrt(x.var(ddof=1) + 10)
    np.testing.assert_allclose(pnorm(p, "standardize", colour=True), expected, rtol=1e-12)
    assert STANDARDIZE_EPS == pytest.approx(1.5378e-4, rel=1e-4)


def test_pnorm_of_8_bit_patches_is_in_unit_range():
    p = np.full((8, 8, 3), 255, np.uint8)
    assert pnorm(p).max() == 1.0 and pnorm(p, colour=True).shape == (8, 8, 3)


def test_pnorm_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown norm"):
        pnorm(np.zeros((8, 8, 3)), "gray")
    with pytest.raises(ValueError, match="shape"):
        pnorm(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        pnorm(np.full((2, 2, 3), np.nan))


@given(h=st.integers(1, 40), w=st.integers(1, 40), r=st.integers(1, 12), step=st.integers(1, 12))
def test_grid_reaches_the_edges_and_keeps_its_step(h, w, r, step):
    g = grid_positions((h, w), r, step)
    if h < r or w < r:
        assert g.shape == (0, 2)
        return
    covered = np.zeros((h, w), bool)
    for y, x in g:
        covered[y : y + r, x : x + r] = True
    assert covered[-1, -1] and covered[-1, 0] and covered[0, -1]  # the last row and column are reached
    assert covered.all() or step > r
    for axis, n in ((0, h), (1, w)):
        starts = np.unique(g[:, axis])
        assert starts[0] == 0 and starts[-1] == n - r
        assert (np.diff(starts)[:-1] == step).all() and (np.diff(starts)[-1:] <= step).all()


def test_grid_positions_reach_where_the_lecture_stops():
    lecture = [(y, x) for y in range(0, 512 - 8, 4) for x in range(0, 512 - 8, 4)]
    ours = set(map(tuple, grid_positions((512, 512), 8, 4).tolist()))
    assert set(lecture) < ours and max(y for y, _ in ours) == 504 and max(y for y, _ in lecture) == 500


def test_patches_equal_the_lectures_loops_at_the_same_positions(images):
    image = images[2]
    for norm, colour in [("none", False), ("center", False), ("standardize", True)]:
        p = patches(image, r=8, step=4, norm=norm, colour=colour)
        loops = [pnorm(image[y : y + 8, x : x + 8], norm, colour) for y, x in grid_positions(image.shape, 8, 4)]
        np.testing.assert_allclose(p, np.array(loops), rtol=1e-12, atol=1e-12)
    assert p.dtype == np.float64


def test_patches_at_checks_positions_and_small_images():
    image = np.zeros((10, 10, 3))
    with pytest.raises(ValueError, match="does not fit"):
        patches_at(image, [[3, 3]], r=8)
    assert patches(np.zeros((5, 5, 3)), r=8).shape == (0, 8, 8)
    with pytest.raises(ValueError, match="whole number"):
        patches(image, r=0)


def test_sample_patches_draws_every_patch_with_equal_chance(images):
    total = sum(len(grid_positions(im.shape, 4, 2)) for im in images)
    everything = sample_patches(images, None, r=4, step=2, random_state=0)
    assert len(everything) == total
    counts = np.zeros(len(images))
    for seed in range(200):
        drawn = sample_patches(images, 10, r=4, step=2, random_state=seed)
        counts += [np.isin(drawn.reshape(10, -1), patches(im, 4, 2).reshape(-1, 16)).all(1).sum() for im in images]
    shares = np.array([len(grid_positions(im.shape, 4, 2)) for im in images]) / total
    np.testing.assert_allclose(counts / counts.sum(), shares, atol=0.05)


def test_sample_patches_is_reproducible(images):
    a, b = (sample_patches(images, 50, random_state=3) for _ in range(2))
    assert np.array_equal(a, b) and not np.array_equal(a, sample_patches(images, 50, random_state=4))


def faint_square(contrast=0.1):
    image = np.full((64, 64, 3), 0.5)
    image[24:40, 24:40] += contrast
    return image


def test_corner_positions_finds_a_faint_square_and_nothing_in_noise(rng):
    assert sorted(map(tuple, helpers.corner_positions(faint_square()).tolist())) == [
        (20, 20),
        (20, 35),
        (35, 20),
        (35, 35),
    ]
    flat_noisy = 0.5 + rng.normal(0, 0.004, (128, 128, 3))
    assert helpers.corner_positions(flat_noisy).shape == (0, 2)  # no corners from noise
    assert len(helpers.corner_positions(faint_square(), max_corners=2)) == 2


def test_random_positions(rng):
    p = helpers.random_positions((20, 30), 50, r=8, seed=0)
    assert len(np.unique(p, axis=0)) == 50 and p[:, 0].max() <= 12 and p[:, 1].max() <= 22
    with pytest.raises(ValueError, match="cannot place"):
        helpers.random_positions((8, 8), 2, r=8)
