"""The package as a whole: quick to import, one name per thing, no global side effects."""

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from threadpoolctl import threadpool_info

import helpers
from helpers import plotting, streaming


def test_import_loads_no_submodule_and_neither_pyplot_nor_dask():
    code = (
        "import sys; import helpers; "
        "print(sorted(m for m in sys.modules if m.startswith('helpers.')), 'matplotlib.pyplot' in sys.modules, "
        "'dask' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False", "False", "False"]


def test_module_names_are_not_function_names():
    modules = {
        "codebook",
        "coder",
        "compression",
        "descriptors",
        "evaluation",
        "extraction",
        "images",
        "kmeans",
        "plotting",
        "streaming",
        "tables",
        "tree",
        "vq",
        "widgets",
    }
    functions = {name for name in helpers.__all__ if name not in modules}
    assert not modules & functions
    assert (
        helpers.patches is helpers.extraction.patches
    )  # the lecture's function; help(helpers.extraction) reaches the module


def test_library_calls_leave_thread_limits_alone(images, codebook, tmp_path):
    before = [(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()]
    codebook.transform(images)
    codebook.encode(images[0])
    helpers.PatchCodebook(n_codes=4, n_patches=100).fit(images)
    streaming.write_sample_folder(tmp_path, 2, images=images, min_side=16, max_side=20)
    streaming.describe_folder(tmp_path, codebook)
    helpers.evaluation.cv_accuracy(np.random.default_rng(0).random((10, 3)), [0, 1] * 5, n_folds=2)
    plotting.notebook_setup()
    assert [(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()] == before


def test_scale_patches_draws_near_flat_patches_flat():
    edge = np.zeros((4, 4))
    edge[:, 2:] = 1
    faint = 0.5 + 0.005 * np.random.default_rng(0).standard_normal((4, 4))
    scaled = plotting.scale_patches(np.stack([edge, faint]))
    assert scaled[0].min() == 0 and scaled[0].max() == 1
    assert np.ptp(scaled[1]) < 0.3  # the old per-patch stretch made this span 0 .. 1


def test_figures_show_what_they_are_given(images, codebook):
    ax = plotting.show_patches(codebook.kmeans_.cluster_centers_, title="codes")
    assert plotting.describe_figure(ax.figure) == "[figure: codes]"
    fig = plotting.side_by_side(list(images), ["a", "b", "c"])
    assert plotting.describe_figure(fig) == "[figure: a, b, c]"
    assert [ax.images[0].get_array().shape[:2] for ax in fig.axes] == [im.shape[:2] for im in images]
    tree = helpers.linkage_tree([[0, 1, 4], [1, 0, 4], [4, 4, 0]])
    fig = plotting.dendrogram_thumbnails(tree, list(images), ["a", "b", "c"], n_clusters=2)
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["c", "a", "b"]  # c joins a and b last
    plt.close("all")


def test_error_panels_draw_the_absolute_error_up_to_vmax():
    original, decoded = np.zeros((4, 6)), np.linspace(0, 1, 24).reshape(4, 6)
    fig = plotting.error_panels(original, decoded, ["a", "b"], vmax=0.5)
    assert plotting.describe_figure(fig) == "[figure: a, b, absolute error (0 to 0.5)]"
    error = fig.axes[2].images[0]
    np.testing.assert_allclose(error.get_array(), decoded)
    assert error.get_clim() == (0, 0.5)
    with pytest.raises(ValueError, match="differ in shape"):
        plotting.error_panels(original, decoded.T, ["a", "b"])
    plt.close("all")


def test_patch_layout_outlines_four_neighbouring_grid_patches(images):
    image = images[2]  # 64 x 64
    fig = plotting.patch_layout(image, r=8, step=4, centre=(30, 30), name="c")
    assert plotting.describe_figure(fig) == (
        "[figure: c, close-up in yellow, 4 neighbouring 8 × 8 patches, step 4, the same 4 patches, cut out (gray)]"
    )
    close_up = fig.axes[1]
    corners = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in close_up.patches)
    assert corners == [(24, 24), (24, 28), (28, 24), (28, 28)]  # 2 x 2 grid starts around (30, 30)
    grid = {tuple(yx) for yx in helpers.grid_positions(image.shape, r=8, step=4).tolist()}
    assert set(corners) <= grid
    # near a border and with gray images, the four patches stay inside the image
    fig = plotting.patch_layout(image.mean(axis=2), r=8, step=4, centre=(63, 0))
    corners = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in fig.axes[1].patches)
    assert corners == [(52, 0), (52, 4), (56, 0), (56, 4)]
    with pytest.raises(ValueError, match=r"\(10, 10, 3\) is too small"):
        plotting.patch_layout(np.zeros((10, 10, 3)), r=8, step=4)
    plt.close("all")


def test_notebook_setup_sets_only_the_figure_size():
    before = dict(plt.rcParams)
    plotting.notebook_setup(dpi=50)
    changed = {k for k, v in plt.rcParams.items() if k in before and before[k] != v}
    assert changed == {"figure.dpi"} and plt.rcParams["figure.dpi"] == 50
    plt.rcParams["figure.dpi"] = before["figure.dpi"]
