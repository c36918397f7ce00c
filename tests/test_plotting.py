"""Tests of helpers.plotting: scale_patches, show_patches, side_by_side, thumbnail, image_grid (Agg backend)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers import image_grid, scale_patches, show_patches, side_by_side, thumbnail

pytestmark = pytest.mark.usefixtures("close_figures")


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


# ---------------------------------------------------------------- scale_patches


def test_scale_patches_each(rng):
    p = rng.normal(0, 3, (10, 5, 5))
    p[3] = 7.0  # a flat patch
    out = scale_patches(p, "each")
    assert out.shape == p.shape and out.dtype == np.float32
    others = np.delete(out, 3, axis=0)
    np.testing.assert_allclose(others.min(axis=(1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(others.max(axis=(1, 2)), 1, atol=1e-6)
    np.testing.assert_array_equal(out[3], 0.5)  # flat -> mid-gray
    # order within a patch is kept
    np.testing.assert_array_equal(np.argsort(out[0], axis=None), np.argsort(p[0], axis=None))


def test_scale_patches_each_colour(rng):
    p = rng.normal(0, 1, (4, 3, 3, 3))
    out = scale_patches(p)  # "each" is the default
    np.testing.assert_allclose(out.reshape(4, -1).min(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out.reshape(4, -1).max(axis=1), 1, atol=1e-6)


def test_scale_patches_all_keeps_relative_brightness(rng):
    p = np.stack([np.full((4, 4), 0.2), np.full((4, 4), 0.6), rng.uniform(0.3, 0.5, (4, 4))])
    out = scale_patches(p, "all")
    assert out.min() == 0 and out.max() == 1
    np.testing.assert_allclose(out, (p - 0.2) / 0.4, atol=1e-6)
    np.testing.assert_array_equal(scale_patches(np.full((2, 3, 3), 4.0), "all"), 0.5)


def test_scale_patches_clip():
    p = np.array([[[-1.0, 0.25], [0.75, 3.0]]])
    np.testing.assert_array_equal(scale_patches(p, "clip"), [[[0, 0.25], [0.75, 1]]])


def test_scale_patches_unknown_raises():
    with pytest.raises(ValueError, match="unknown scale 'max'"):
        scale_patches(np.zeros((2, 3, 3)), "max")


# ---------------------------------------------------------------- show_patches


@pytest.mark.parametrize("shape", [(10, 8, 8), (7, 4, 4, 3), (16, 64)])
def test_show_patches_returns_axes(rng, shape):
    ax = show_patches(rng.random(shape), title="codebook")
    assert isinstance(ax, Axes)
    assert isinstance(ax.figure, Figure)
    assert ax.get_title() == "codebook"
    assert len(ax.images) == 1
    assert not ax.axison


def test_show_patches_montage_size(rng):
    ax = show_patches(rng.random((10, 8, 8)), ncols=5)  # 2 rows x 5 cols, 1 pixel padding
    m = ax.images[0].get_array()
    assert m.shape[:2] == (2 * 8 + 3, 5 * 8 + 6)
    ax = show_patches(rng.random((10, 8, 8)))  # default: ceil(sqrt(10)) = 4 columns, so 3 rows
    assert ax.images[0].get_array().shape[:2] == (3 * 8 + 4, 4 * 8 + 5)
    ax = show_patches(rng.random((9, 8, 8)))  # a perfect square: 3 x 3
    assert ax.images[0].get_array().shape[:2] == (3 * 8 + 4, 3 * 8 + 4)
    ax = show_patches(rng.random((3, 4, 4, 3)), ncols=3)
    assert ax.images[0].get_array().shape == (4 + 2, 3 * 4 + 4, 3)


def test_show_patches_into_given_axes(rng):
    fig, axes = plt.subplots(1, 2)
    ax = show_patches(rng.random((4, 6, 6)), ax=axes[1])
    assert ax is axes[1]
    assert len(axes[1].images) == 1 and len(axes[0].images) == 0
    assert len(plt.get_fignums()) == 1


def test_show_patches_errors():
    with pytest.raises(ValueError, match="length 10"):
        show_patches(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="no patches"):
        show_patches(np.zeros((0, 8, 8)))


# ---------------------------------------------------------------- side_by_side


def test_side_by_side(rng):
    gray, colour = rng.random((20, 30)), rng.random((20, 30, 3))
    fig = side_by_side([gray, colour, gray * 2 - 0.5], titles=["gray", "colour", "clipped"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["gray", "colour", "clipped"]
    shown = fig.axes[2].images[0].get_array()
    assert shown.min() >= 0 and shown.max() <= 1  # values clipped for display
    assert fig.get_figwidth() == pytest.approx(9.0)


def test_side_by_side_single_without_titles(rng):
    fig = side_by_side([rng.random((10, 10, 3))], width=4)
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == ""


# ---------------------------------------------------------------- thumbnail / image_grid


def test_thumbnail_centre_crops_then_resizes():
    image = np.zeros((40, 100, 3))
    image[:, 30:70] = 1.0  # exactly the centre square
    thumb = thumbnail(image, 16)
    assert thumb.shape == (16, 16, 3)
    np.testing.assert_allclose(thumb, 1.0, atol=1e-6)
    assert thumbnail(np.ones((50, 20)), 8).shape == (8, 8)


def test_image_grid(rng):
    rows = [[rng.random((20, 30, 3)) for _ in range(3)], [rng.random((25, 25))]]
    fig = image_grid(rows, row_labels=["first", "second"], titles=[["a", "b", "c"], ["d"]], size=16)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 3
    axes = np.array(fig.axes).reshape(2, 3)
    assert [len(ax.images) for ax in axes.ravel()] == [1, 1, 1, 1, 0, 0]
    assert axes[0, 0].get_ylabel() == "first" and axes[1, 0].get_ylabel() == "second"
    assert [ax.get_title() for ax in axes[0]] == ["a", "b", "c"]
    assert axes[0, 0].images[0].get_array().shape[:2] == (16, 16)


def test_image_grid_ncols_limits_row_length(rng):
    rows = [[rng.random((10, 10, 3)) for _ in range(5)]]
    fig = image_grid(rows, ncols=2)
    assert len(fig.axes) == 2
    assert all(len(ax.images) == 1 for ax in fig.axes)


def test_figures_are_closed_between_tests():
    assert plt.get_fignums() == []


# ---------------------------------------------------------------- notebook helpers


def test_describe_figure(rng):
    from helpers.plotting import describe_figure

    fig = side_by_side([rng.random((8, 8))] * 2, titles=["original", "coded"])
    assert describe_figure(fig) == "[figure: original, coded]"
    fig = side_by_side([rng.random((8, 8))] * 3)
    assert describe_figure(fig) == "[figure with 3 panel(s)]"


def test_notebook_setup_sets_dpi_outside_ipython():
    from helpers.plotting import notebook_setup

    with matplotlib.rc_context():
        notebook_setup(dpi=50)
        assert plt.rcParams["figure.dpi"] == 50
