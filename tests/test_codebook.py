"""helpers.codebook: PatchCodebook as a scikit-learn estimator, VQ, and the encodings, against brute force."""

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

import helpers
from helpers import PatchCodebook
from helpers.codebook import ZCA, steady_kmeans, untie

from .conftest import smooth_image


@parametrize_with_checks([ZCA()])
def test_zca_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


#: The checks of scikit-learn's API that need no 2-D numeric data; PatchCodebook takes images, so the
#: others (which fit on random (n, d) arrays) do not apply.
API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
]


@pytest.mark.parametrize("name", API_CHECKS)
def test_patch_codebook_passes_the_api_checks_that_apply(name):
    getattr(estimator_checks, name)("PatchCodebook", PatchCodebook())


def test_check_estimator_passes():
    """It passes; scikit-learn says it skips the checks that fit on (n, d) arrays, as the input tags ask (images)."""
    from sklearn.exceptions import SkipTestWarning

    with pytest.warns(SkipTestWarning, match="requires input"):
        estimator_checks.check_estimator(PatchCodebook(n_codes=4, n_patches=200))


@pytest.mark.parametrize("norm", helpers.NORMS)
def test_fit_is_the_lectures_sample_and_minibatch_kmeans(images, norm):
    """The right K, the right normalisation and the right sample: a broken fit changes the code vectors."""
    codebook = PatchCodebook(n_codes=8, patch_size=4, norm=norm, n_patches=300, random_state=1).fit(images)
    data = helpers.sample_patches(images, 300, r=4, norm=norm, random_state=1)
    km = steady_kmeans(8, batch_size=2048, max_iter=3, random_state=1).fit(untie(data.reshape(300, -1), 1))
    assert codebook.kmeans_.cluster_centers_.shape == (8, 16)
    assert np.array_equal(codebook.kmeans_.cluster_centers_, km.cluster_centers_)


def test_two_scales_train_on_the_patches_of_both_scales(images):
    from skimage.transform import rescale

    book = PatchCodebook(n_codes=8, scales=(1, 0.5), n_patches=None, random_state=0).fit(images)
    halves = [np.clip(rescale(im, 0.5, anti_aliasing=True, channel_axis=2), 0, 1) for im in images]
    expected = [helpers.patches(im, 8) for im in [*images, *halves]]
    rows = book.sample(images, random_state=0)  # the sample fit drew (its stream starts at random_state)
    assert len(rows) == sum(len(p) for p in expected) > sum(len(p) for p in expected[:3])
    half = expected[5].reshape(len(expected[5]), -1)  # every patch of the last image at half size was drawn
    assert (np.abs(rows[None] - half[:, None]).max(axis=2).min(axis=1) < 1e-12).all()
    km = steady_kmeans(8, batch_size=2048, max_iter=3, random_state=0).fit(untie(rows, 0))
    assert np.array_equal(book.kmeans_.cluster_centers_, km.cluster_centers_)


def test_transform_never_answers_for_parameters_it_was_not_fitted_with(images, codebook):
    book = clone(codebook).fit(images)
    for change in ({"n_codes": 32}, {"patch_size": 4}, {"norm": "center"}, {"step": 3}, {"random_state": 1}):
        book.set_params(**change)
        for use in (book.transform, book.encode, lambda im: book.extract(im[0]), lambda im: book.nearest([[0.0] * 64])):
            with pytest.raises(NotFittedError, match=f"{next(iter(change))} changed since"):
                use(images)
        book.set_params(**codebook.get_params())
    assert np.array_equal(book.transform(images), codebook.transform(images))
    # the readouts of one fitted codebook may change: the same code vectors, read out otherwise
    soft = book.set_params(encoding="triangle", pyramid=(2,)).transform(images)
    assert soft.shape == (3, 4 * 16) and book.n_features_out_ == 64


def test_random_state_is_honoured_everywhere(images):
    def positions(random_state):
        book = PatchCodebook(n_codes=4, sampling="random", n_points=5, n_patches=None, random_state=random_state)
        return book.fit(images).extract(images[2])[0]

    assert np.array_equal(positions(5), positions(np.int64(5)))
    assert not np.array_equal(positions(5), positions(0))
    assert np.array_equal(positions(np.random.RandomState(3)), positions(np.random.RandomState(3)))
    assert not np.array_equal(positions(np.random.RandomState(3)), positions(0))


def test_fit_restarts_the_stream_partial_fit_draws_from(images):
    book = PatchCodebook(n_codes=4, n_patches=100)
    book.partial_fit(images[:2]).fit(images).partial_fit(images[1:])
    fresh = PatchCodebook(n_codes=4, n_patches=100).fit(images).partial_fit(images[1:])
    assert np.array_equal(book.kmeans_.cluster_centers_, fresh.kmeans_.cluster_centers_)


def test_feature_names_and_set_output(images, codebook):
    names = codebook.get_feature_names_out()
    assert names.tolist() == [f"patchcodebook{i}" for i in range(16)]
    book = clone(codebook).set_params(pyramid=(1, 2)).fit(images).set_output(transform="default")
    assert len(book.get_feature_names_out()) == book.transform(images).shape[1] == 5 * 16


def test_fit_is_reproducible_and_clone_forgets_the_fit(images, codebook):
    again = clone(codebook).fit(images)
    assert np.array_equal(again.kmeans_.cluster_centers_, codebook.kmeans_.cluster_centers_)
    with pytest.raises(NotFittedError):
        clone(codebook).transform(images)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"norm": "gray"}, "norm must be one of"),
        ({"encoding": "soft"}, "encoding must be one of"),
        ({"vlad_norm": "sqrt"}, "vlad_norm must be one of"),
        ({"pyramid": (3,)}, "powers of 2"),
        ({"scales": (2,)}, "scales"),
        ({"n_codes": 0}, "n_codes"),
        ({"patch_size": 0}, "patch size"),
        ({"n_codes": 10_000}, "cannot fit 10000 code vectors"),
    ],
)
def test_fit_validates_its_parameters(images, params, message):
    with pytest.raises(ValueError, match=message):
        PatchCodebook(n_patches=500, **params).fit(images)


def test_transform_names_an_image_without_patches(images, codebook):
    tiny = helpers.ImageList([images[0], np.zeros((5, 30, 3))], ["ok.png", "icon.png"])
    with pytest.raises(ValueError, match="icon.png: 5 x 30 pixels has no 8 x 8 patch"):
        codebook.transform(tiny)
    with pytest.raises(ValueError, match="sequence of images"):
        codebook.transform(images[0])


# ---- VQ ---------------------------------------------------------------------------------------------------

BOOKS = {}


def small_book(r):
    if r not in BOOKS:
        train = [smooth_image(24, 24, seed) for seed in range(3)]
        BOOKS[r] = PatchCodebook(n_codes=6, patch_size=r, step=1, n_patches=400).fit(train)
    return BOOKS[r]


@given(h=st.integers(1, 30), w=st.integers(1, 30), r=st.sampled_from([1, 2, 3, 5, 8]), seed=st.integers(0, 9))
def test_encode_decode_shapes_for_any_size(h, w, r, seed):
    book = small_book(r)
    codes = book.encode(smooth_image(h, w, seed))
    assert codes.shape == (-(-h // r), -(-w // r))
    assert book.decode(codes).shape == (codes.shape[0] * r, codes.shape[1] * r)
    assert book.decode(codes, shape=(h, w)).shape == (h, w)


@given(h=st.integers(8, 40), w=st.integers(8, 40), seed=st.integers(0, 99))
def test_encode_gives_the_nearest_code_vector_by_brute_force(codebook, h, w, seed):
    image = smooth_image(h, w, seed)
    codes = codebook.encode(image)
    padded = np.pad(image.mean(axis=2, dtype=np.float64), ((0, -h % 8), (0, -w % 8)), mode="edge")
    blocks = padded.reshape(codes.shape[0], 8, codes.shape[1], 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    centers = codebook.kmeans_.cluster_centers_
    squared = ((blocks[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    chosen = squared[np.arange(len(blocks)), codes.ravel()]
    assert np.allclose(chosen, squared.min(axis=1), rtol=1e-12, atol=1e-15)


def test_decode_checks_codes(codebook):
    with pytest.raises(ValueError, match="integers in 0 .. 15"):
        codebook.decode(np.array([[16]]))


def test_patchcode_and_mean_removed_vq(collection):
    camera = collection["camera"]
    plain = PatchCodebook(n_codes=64, n_patches=5000).fit(collection)
    centred = PatchCodebook(n_codes=64, norm="center", n_patches=5000).fit(collection)
    error = {
        name: np.mean((helpers.patchcode(camera, cb) - camera.mean(axis=2)) ** 2)
        for name, cb in [("plain", plain), ("centred", centred)]
    }
    assert error["centred"] < error["plain"]
    decoded = centred.decode(centred.encode(camera), camera.shape[:2], helpers.block_means(camera))
    assert np.array_equal(helpers.patchcode(camera, centred), decoded)
    with pytest.raises(ValueError, match="raw or mean-removed"):
        helpers.patchcode(camera, PatchCodebook(n_codes=8, norm="standardize", n_patches=500).fit(collection[:2]))


def test_block_means_of_gray_and_colour_images_agree():
    gray = np.arange(100, dtype=float).reshape(10, 10) / 100
    means = helpers.block_means(gray, r=4)
    assert means.shape == (3, 3)
    np.testing.assert_allclose(means[0, 0], gray[:4, :4].mean())
    np.testing.assert_allclose(helpers.block_means(np.repeat(gray[..., None], 3, 2), r=4), means)


def test_code_entropy_refuses_codes_out_of_range():
    with pytest.raises(ValueError, match="0 .. 3"):
        helpers.code_entropy([0, 5], k=4)


# ---- descriptors -------------------------------------------------------------------------------------------


def test_hard_counts_are_the_histogram_of_predicted_codes(images, codebook):
    hists = codebook.transform(images)
    for image, h in zip(images, hists, strict=True):
        rows = helpers.patches(image, 8, 2).reshape(-1, 64)  # the codebook's step
        assert np.array_equal(h, np.bincount(codebook.kmeans_.predict(rows), minlength=16))
    assert np.array_equal(helpers.patchhist(images[0], codebook), hists[0])


@given(order=st.permutations(range(3)))
def test_descriptors_do_not_depend_on_the_order_of_images(images, codebook, order):
    hists = codebook.transform(images)
    assert np.array_equal(codebook.transform([images[i] for i in order]), hists[list(order)])


def test_triangle_encoding_is_coates_and_ng(images):
    book = PatchCodebook(n_codes=8, step=4, encoding="triangle", n_patches=300).fit(images)
    rows = helpers.patches(images[2], 8, 4).reshape(-1, 64)
    z = np.linalg.norm(rows[:, None] - book.kmeans_.cluster_centers_[None], axis=2)
    expected = np.maximum(z.mean(axis=1, keepdims=True) - z, 0).sum(axis=0)
    np.testing.assert_allclose(book.transform([images[2]])[0], expected, rtol=1e-9)


@pytest.mark.parametrize("steps", ["l2", "power", "intra", "power+intra"])
def test_vlad_is_normalised_residual_sums(images, steps):
    book = PatchCodebook(n_codes=4, step=4, encoding="vlad", vlad_norm=steps, n_patches=300).fit(images)
    rows = helpers.patches(images[0], 8, 4).reshape(-1, 64)
    centers = book.kmeans_.cluster_centers_
    codes = ((rows[:, None] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
    v = np.array([(rows[codes == k] - centers[k]).sum(axis=0) for k in range(4)])  # Jegou et al. 2010
    if "power" in steps:
        v = np.sign(v) * np.sqrt(np.abs(v))
    if "intra" in steps:
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    expected = (v / np.linalg.norm(v)).ravel()
    np.testing.assert_allclose(book.transform([images[0]])[0], expected, atol=1e-12)
    assert book.n_features_out_ == 4 * 64


def test_pyramid_cells_add_up_to_the_whole_image(images, codebook):
    whole = codebook.transform(images)
    quadrants = clone(codebook).set_params(pyramid=(2,)).fit(images).transform(images)
    assert quadrants.shape == (3, 4 * 16)
    np.testing.assert_allclose(quadrants.reshape(3, 4, 16).sum(axis=1), whole)
    pyramid = clone(codebook).set_params(pyramid=(1, 2, 4)).fit(images).transform(images)
    assert pyramid.shape == (3, 21 * 16)
    levels = np.split(pyramid, [16, 80], axis=1)  # Lazebnik et al.: weights 1/4, 1/4, 1/2
    for level, weight in zip(levels, [0.25, 0.25, 0.5], strict=True):
        np.testing.assert_allclose(level.reshape(3, -1, 16).sum(axis=1), weight * whole)


def test_corners_add_patches_to_the_grid(images):
    one = PatchCodebook(n_codes=8, n_patches=500).fit(images)
    both = clone(one).set_params(sampling="grid+corners").fit(images)
    grid = one.transform(images).sum(axis=1)
    n_corners = [len(helpers.corner_positions(im, 8)) for im in images]
    extra = both.transform(images).sum(axis=1) - grid
    assert (extra <= n_corners).all() and extra.sum() > 0  # corners not already on the grid


def test_whitening_gives_unit_covariance_on_the_training_patches(collection):
    book = PatchCodebook(n_codes=16, norm="standardize", whiten=1e-6, n_patches=3000).fit(collection)
    rows = helpers.sample_patches(collection, 3000, norm="standardize").reshape(3000, -1)
    cov = np.cov(book.whitener_.transform(rows), rowvar=False)
    mean_free = np.eye(64) - 1 / 64  # unit variance in every direction but the patch mean, which norm removed
    np.testing.assert_allclose(cov, mean_free, atol=1e-4)
    eps = book.whitener_.eps * book.whitener_.eigenvalues_.mean()
    damped = book.whitener_.eigenvalues_ / (book.whitener_.eigenvalues_ + eps)
    assert damped[:-1].min() > 0.99 and damped[-1] < 1e-6  # every direction whitened, but the removed mean


def test_absolute_zca_eps_is_the_relative_one_times_the_mean_eigenvalue(collection):
    rows = helpers.sample_patches(collection, 3000, norm="standardize").reshape(3000, -1)
    absolute = ZCA(0.1, relative=False).fit(rows)
    relative = ZCA(0.1 / absolute.eigenvalues_.mean()).fit(rows)
    np.testing.assert_allclose(absolute.whitening_, relative.whitening_, rtol=1e-10)
    book = PatchCodebook(n_codes=8, norm="standardize", whiten=ZCA(0.1, relative=False), n_patches=3000)
    book.fit(collection)
    assert book.whitener_ is not book.whiten and not book.whitener_.relative  # a fitted clone
    with pytest.raises(ValueError, match="whiten must be"):
        PatchCodebook(whiten=-1).fit(collection)


def test_partial_fit_on_batches_gives_a_usable_codebook(images):
    book = PatchCodebook(n_codes=8, n_patches=200)
    for batch in (images[:2], images[2:], images[:1]):
        book.partial_fit(batch)
    assert book.kmeans_.n_steps_ == 3 and book.transform(images).shape == (3, 8)
    with pytest.raises(ValueError, match="cannot fit 500 code vectors to 99 patches in the first batch"):
        PatchCodebook(n_codes=500, n_patches=100).partial_fit(images[:1])


def test_codebook_in_a_pipeline_with_cross_validation_and_grid_search(collection):
    (split,) = helpers.evaluation.tile_task(0, collection[:6])
    tiles, labels = np.stack(split.items), split.labels
    model = make_pipeline(
        PatchCodebook(n_codes=16, n_patches=3000), TfidfTransformer(), LogisticRegression(max_iter=500)
    )
    scores = cross_val_score(model, tiles, labels, cv=3)
    assert scores.mean() > 2 / 6  # better than chance, 1 / 6
    search = GridSearchCV(model, {"patchcodebook__n_codes": [8, 16]}, cv=3).fit(tiles, labels)
    assert search.best_estimator_[0].kmeans_.n_clusters == search.best_params_["patchcodebook__n_codes"]


def test_nearest_codes_are_float64_predicts_on_real_patches(collection):
    book = PatchCodebook(n_codes=256, n_patches=20000).fit(collection)
    rows = np.concatenate([book.extract(image)[1] for image in collection[:6]])
    assert np.array_equal(book.nearest(rows), book.kmeans_.predict(rows))


def test_partial_fit_continues_a_fitted_codebook_with_one_step_on_its_sample(images, codebook):
    import copy

    book = clone(codebook).fit(images)
    expected = copy.deepcopy(book)
    rows = expected.sample(images)  # the patches the next step draws, from the codebook's own stream
    expected.kmeans_.partial_fit(untie(rows, expected.position_seed_))
    book.partial_fit(images)
    assert np.array_equal(book.kmeans_.cluster_centers_, expected.kmeans_.cluster_centers_)


def test_corner_and_random_sampling_with_a_fixed_number_of_points(images):
    corners = PatchCodebook(n_codes=4, sampling="corners", n_points=5, n_patches=None).fit(images)
    assert (corners.transform(images).sum(axis=1) == 5).all()  # the 5 strongest corners of each image
    random = clone(corners).set_params(sampling="random").fit(images)
    counts = random.transform(images)
    assert (counts.sum(axis=1) == 5).all()
    assert np.array_equal(random.transform(images[::-1]), counts[::-1])  # the same positions whatever the order
    with pytest.raises(ValueError, match="n_points"):
        clone(random).set_params(n_points=None).fit(images)


def test_random_as_corners_takes_as_many_random_positions_as_each_image_has_corners(images):
    corners = PatchCodebook(n_codes=4, sampling="corners", n_points=30, n_patches=None).fit(images)
    per_image = corners.transform(images).sum(axis=1)
    assert per_image.min() < 30  # some image has fewer than 30 corners, so matching is tested
    matched = clone(corners).set_params(sampling="random-as-corners").fit(images)
    assert np.array_equal(matched.transform(images).sum(axis=1), per_image)
    assert not np.array_equal(matched.extract(images[0])[0], corners.extract(images[0])[0])  # other positions


def test_kmeans_plusplus_makes_scikit_learns_picks_from_the_same_draws():
    from sklearn.cluster._kmeans import _kmeans_plusplus

    x = np.random.default_rng(0).random((600, 16))
    ours = helpers.kmeans.kmeans_plusplus(x, 32, np.random.RandomState(3))
    theirs, _ = _kmeans_plusplus(
        x, 32, random_state=np.random.RandomState(3), x_squared_norms=(x**2).sum(axis=1), sample_weight=np.ones(600)
    )
    assert np.array_equal(ours, theirs)
    with pytest.raises(ValueError, match="n_clusters = 601"):
        helpers.kmeans.kmeans_plusplus(x, 601, 0)


def test_a_raw_patch_codebook_is_the_same_under_every_blas_kernel_this_cpu_runs(tmp_path):
    """The fit of notebook 06's raw patches (K = 256), whose k-means++ start used to change with the kernel."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tools"))
    import blas

    if not blas.current():
        pytest.skip("numpy does not use OpenBLAS here")
    kernels = [k for k, needs in blas.CORES.items() if needs <= blas.cpu_flags()]
    if len(kernels) < 2:
        pytest.skip(f"this CPU runs only {kernels} of {list(blas.CORES)}")
    fit = (
        "import sys, numpy as np, helpers; from helpers import evaluation as ev; "
        "(tiles,) = ev.tile_task(seed=0, images=helpers.load_images()); "
        "book = helpers.PatchCodebook(256, norm='none', n_patches=10000).fit(tiles.fit); "
        "np.save(sys.argv[1], book.kmeans_.cluster_centers_)"
    )
    for kernel in kernels:
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        subprocess.run([sys.executable, "-c", fit, tmp_path / f"{kernel}.npy"], cwd=root, env=env, check=True)
    centres = {kernel: np.load(tmp_path / f"{kernel}.npy") for kernel in kernels}
    for kernel in kernels[1:]:
        assert np.allclose(centres[kernel], centres[kernels[0]], rtol=0, atol=1e-9), (kernel, kernels[0])
