"""Tests of helpers.evaluation (retrieval, clustering, classification scores) and helpers.colour_hists."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score, average_precision_score

from helpers import colour_hists
from helpers import evaluation as ev


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated groups of 6 non-negative 5-d points, with their labels."""
    rng = np.random.default_rng(0)
    centres = np.array([[5, 0, 0, 0, 1], [0, 5, 0, 1, 0], [0, 0, 5, 1, 1]], dtype=float)
    X = np.repeat(centres, 6, axis=0) + rng.uniform(0, 0.3, size=(18, 5))
    labels = np.repeat(["a", "b", "c"], 6)
    return X, labels


@pytest.fixture(scope="module")
def line():
    """Five items on a line and a labelling whose rankings are easy to work out by hand."""
    x = np.array([0.0, 1.0, 3.0, 7.0, 12.0])  # no ties in any ranking
    D = np.abs(x[:, None] - x[None, :])
    labels = np.array(["a", "b", "a", "b", "a"])
    return D, labels


# ---------------------------------------------------------------- distances


def test_distances_match_scipy(blobs):
    X, _ = blobs
    for metric in ("cosine", "euclidean"):
        D = ev.distances(X, metric)
        expected = cdist(X, X, metric)
        np.fill_diagonal(expected, 0)
        np.testing.assert_allclose(D, np.maximum(expected, 0), atol=1e-12)


def test_chi2_distance_by_hand():
    X = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 1.0], [2.0, 2.0, 0.0]])
    D = ev.distances(X, "chi2")
    # 0.5 * sum (x - y)^2 / (x + y), with 0/0 bins counting 0
    assert D[0, 1] == pytest.approx(0.5 * (1 / 1 + 4 / 4))
    assert D[0, 2] == pytest.approx(0.5 * (1 / 3 + 4 / 2 + 9 / 3))
    assert D[1, 2] == pytest.approx(0.5 * (4 / 2 + 4 / 2 + 1 / 1))


@pytest.mark.parametrize("metric", ev.METRICS)
def test_distances_are_a_symmetric_hollow_non_negative_matrix(blobs, metric):
    X, _ = blobs
    D = ev.distances(X, metric)
    assert D.shape == (18, 18)
    assert D.dtype == np.float64
    np.testing.assert_allclose(D, D.T, atol=1e-12)
    assert np.all(np.diag(D) == 0)
    assert np.all(D >= 0)
    assert np.all(np.isfinite(D))


def test_chi2_and_cosine_ignore_a_common_scale_euclidean_does_not(blobs):
    X, _ = blobs
    np.testing.assert_allclose(ev.distances(3 * X, "cosine"), ev.distances(X, "cosine"), atol=1e-12)
    np.testing.assert_allclose(ev.distances(3 * X, "chi2"), 3 * ev.distances(X, "chi2"), rtol=1e-10)
    np.testing.assert_allclose(ev.distances(3 * X, "euclidean"), 3 * ev.distances(X, "euclidean"), rtol=1e-10)


def test_cosine_distance_of_an_all_zero_row_is_one():
    D = ev.distances(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]), "cosine")
    assert D[0, 1] == 1 and D[0, 2] == 1 and D[0, 0] == 0
    assert D[1, 2] == pytest.approx(1)


def test_distances_errors():
    with pytest.raises(ValueError, match="non-negative"):
        ev.distances(np.array([[1.0, -0.5], [0.0, 1.0]]), "chi2")
    with pytest.raises(ValueError, match="unknown metric 'manhattan'"):
        ev.distances(np.ones((3, 2)), "manhattan")
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        ev.distances(np.ones(4))


# ---------------------------------------------------------------- retrieval


def test_precision_at_k_by_hand(line):
    D, labels = line
    # neighbours, nearest first: 0 -> 1,2,3,4; 1 -> 0,2,3,4; 2 -> 1,0,3,4; 3 -> 2,4,1,0; 4 -> 3,2,1,0
    assert ev.precision_at_k(D, labels, k=1) == pytest.approx((0 + 0 + 0 + 0 + 0) / 5)
    assert ev.precision_at_k(D, labels, k=2) == pytest.approx((1 + 0 + 1 + 0 + 1) / 2 / 5)
    per_query = ev.precision_per_query(D, labels, k=2)
    np.testing.assert_allclose(per_query, [0.5, 0, 0.5, 0, 0.5])
    assert per_query.mean() == pytest.approx(ev.precision_at_k(D, labels, k=2))


def test_precision_at_k_is_one_for_separated_groups(blobs):
    X, labels = blobs
    D = ev.distances(X, "euclidean")
    assert ev.precision_at_k(D, labels, k=5) == 1.0
    assert ev.precision_at_k(D, labels, k=6) == pytest.approx(5 / 6)  # only 5 others share a label


def test_query_never_retrieves_itself_even_among_duplicates():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    D = ev.distances(X, "euclidean")  # items 0 and 1 are at distance 0 from each other
    np.testing.assert_array_equal(ev.precision_per_query(D, ["x", "y", "z"], k=1), [0, 0, 0])
    np.testing.assert_array_equal(ev.precision_per_query(D, ["x", "x", "z"], k=1), [1, 1, 0])


@pytest.mark.parametrize("k", [0, 5, 7])
def test_precision_at_k_rejects_k_out_of_range(line, k):
    D, labels = line
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        ev.precision_at_k(D, labels, k=k)
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        ev.precision_per_query(D, labels, k=k)


def test_retrieval_rejects_mismatched_shapes(line):
    D, labels = line
    with pytest.raises(ValueError, match=r"shape \(5, 5\) does not match 4 labels"):
        ev.precision_at_k(D, labels[:4], k=1)
    with pytest.raises(ValueError, match="does not match"):
        ev.mean_average_precision(D[:4], labels)


def test_mean_average_precision_by_hand(line):
    D, labels = line
    # query 0 ('a'): ranking 1b 2a 3b 4a -> hits at ranks 2, 4: (1/2 + 2/4) / 2 = 0.5
    # query 1 ('b'): ranking 0a 2a 3b 4a -> hit at rank 3: 1/3
    # query 2 ('a'): ranking 1b 0a 3b 4a -> (1/2 + 2/4) / 2 = 0.5
    # query 3 ('b'): ranking 2a 4a 1b 0a -> 1/3
    # query 4 ('a'): ranking 3b 2a 1b 0a -> (1/2 + 2/4) / 2 = 0.5
    assert ev.mean_average_precision(D, labels) == pytest.approx((0.5 + 1 / 3 + 0.5 + 1 / 3 + 0.5) / 5)


def test_mean_average_precision_matches_sklearn_per_query(blobs):
    X, labels = blobs
    rng = np.random.default_rng(1)
    X = X + rng.normal(0, 2.0, size=X.shape)  # mix the groups so that AP is far from 1
    D = ev.distances(X, "euclidean")
    aps = []
    for q in range(len(labels)):
        others = np.arange(len(labels)) != q
        aps.append(average_precision_score(labels[others] == labels[q], -D[q, others]))
    value = ev.mean_average_precision(D, labels)
    assert value == pytest.approx(np.mean(aps), abs=1e-12)
    assert 0.2 < value < 0.95


def test_mean_average_precision_perfect_and_singletons(blobs):
    X, labels = blobs
    D = ev.distances(X, "euclidean")
    assert ev.mean_average_precision(D, labels) == 1.0
    # a label no other item has is left out, not counted as 0
    labels2 = labels.copy()
    labels2[0] = "alone"
    assert ev.mean_average_precision(D, labels2) == 1.0


def test_precision_ceiling():
    labels = ["a"] * 8 + ["b"] * 3
    # 'a': 7 others >= k = 5 -> 1; 'b': 2 others -> 2/5
    assert ev.precision_ceiling(labels, k=5) == pytest.approx((8 * 1 + 3 * 0.4) / 11)
    assert ev.precision_ceiling(labels, k=2) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        ev.precision_ceiling(labels, k=11)


def test_ceiling_is_reached_by_a_perfect_descriptor():
    labels = np.repeat(["a", "b", "c"], [7, 3, 2])
    D = (labels[:, None] != labels[None, :]).astype(float)
    assert ev.precision_at_k(D, labels, k=5) == pytest.approx(ev.precision_ceiling(labels, k=5))


def test_chance_retrieval_matches_the_expected_precision():
    labels = np.repeat(np.arange(6), 5)  # 30 items, 4 others of the same label each
    floor = ev.chance_retrieval(labels, k=5, repeats=200, seed=0)
    assert set(floor) == {"p@5", "map"}
    assert floor["p@5"] == pytest.approx(4 / 29, abs=0.01)
    assert floor["p@5"] < floor["map"] < 0.35  # AP of a random ranking exceeds the base rate, but not by much
    assert ev.chance_retrieval(labels, k=5, repeats=3, seed=1) == ev.chance_retrieval(labels, k=5, repeats=3, seed=1)
    with pytest.raises(ValueError, match="repeats"):
        ev.chance_retrieval(labels, repeats=0)


# ---------------------------------------------------------------- clustering


def test_purity_by_hand():
    true = ["a", "a", "a", "b", "b", "c"]
    pred = [1, 1, 1, 1, 2, 2]
    # cluster 1: a,a,a,b -> 3 agree with its vote 'a'; cluster 2: b,c -> 1 (not 5/6, the best cluster per label)
    assert ev.purity(true, pred) == pytest.approx(4 / 6)
    assert ev.purity(true, range(6)) == 1.0  # singletons are trivially pure
    assert ev.purity(true, [0] * 6) == pytest.approx(3 / 6)


def test_cluster_scores_perfect_renamed_and_keys():
    true = np.repeat(["a", "b", "c"], 6)
    s = ev.cluster_scores(true, np.repeat([7, 3, 5], 6))  # same partition, other names
    assert set(s) == {"ari", "nmi", "purity"}
    assert s == {"ari": 1.0, "nmi": 1.0, "purity": 1.0}
    assert all(isinstance(v, float) for v in s.values())
    bad = ev.cluster_scores(true, np.tile([1, 2, 3], 6))  # each cluster holds 2 items of every label
    assert bad["ari"] < 0 and bad["nmi"] == pytest.approx(0, abs=1e-12) and bad["purity"] == pytest.approx(1 / 3)


def test_linkage_scores_recover_separated_groups(blobs):
    X, labels = blobs
    for method in ("single", "complete", "average", "weighted", "ward"):
        s = ev.linkage_scores(ev.distances(X, "euclidean"), labels, method)
        assert set(s) == {"ari", "nmi", "purity", "cophenetic"}
        assert s["ari"] == 1.0 and s["purity"] == 1.0
        assert 0.9 < s["cophenetic"] <= 1


def test_linkage_scores_n_clusters(blobs):
    X, labels = blobs
    D = ev.distances(X, "euclidean")
    two = ev.linkage_scores(D, labels, "average", n_clusters=2)
    assert two["purity"] == pytest.approx(12 / 18)  # two groups merged: one cluster holds 12 items, 6 agree
    assert two["ari"] < 1
    singletons = ev.linkage_scores(D, labels, "average", n_clusters=18)
    assert singletons["purity"] == 1.0 and singletons["ari"] == 0.0


def test_linkage_scores_use_the_condensed_matrix(blobs):
    """The ARI of the cut must equal a clustering done by hand with squareform (the lecture's bug is not repeated)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    X, labels = blobs
    rng = np.random.default_rng(3)
    X = X + rng.normal(0, 1.5, size=X.shape)
    D = ev.distances(X, "cosine")
    clusters = fcluster(linkage(squareform(D, checks=False), "average"), 3, criterion="maxclust")
    assert ev.linkage_scores(D, labels, "average")["ari"] == pytest.approx(adjusted_rand_score(labels, clusters))


# ---------------------------------------------------------------- classification


def test_cv_accuracy_separable_and_random(blobs):
    X, labels = blobs
    assert ev.cv_accuracy(X, labels, folds=3) == 1.0
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(60, 4))
    random_labels = np.repeat([0, 1, 2], 20)
    acc = ev.cv_accuracy(noise, random_labels, folds=5, seed=0)
    assert acc < 0.6  # chance is 1/3; nothing to learn
    assert ev.cv_accuracy(noise, random_labels, folds=5, seed=0) == acc


def test_chance_accuracy():
    assert ev.chance_accuracy(["a", "a", "b"]) == pytest.approx(2 / 3)
    assert ev.chance_accuracy(np.repeat([1, 2, 3, 4], 5)) == 0.25


# ---------------------------------------------------------------- evaluate


def test_evaluate_collects_the_individual_scores(blobs):
    X, labels = blobs
    rng = np.random.default_rng(2)
    X = np.abs(X + rng.normal(0, 1.5, size=X.shape))
    s = ev.evaluate(X, labels, metric="chi2", k=3, method="complete")
    assert list(s) == ["p@3", "map", "ari", "nmi", "purity", "cophenetic"]
    D = ev.distances(X, "chi2")
    assert s["p@3"] == ev.precision_at_k(D, labels, 3)
    assert s["map"] == ev.mean_average_precision(D, labels)
    assert {k: s[k] for k in ("ari", "nmi", "purity", "cophenetic")} == ev.linkage_scores(D, labels, "complete")


# ---------------------------------------------------------------- label_dendrogram


def test_label_dendrogram_draws_tree_and_strip(blobs, close_figures):
    import matplotlib.pyplot as plt

    X, labels = blobs
    fig, ax = plt.subplots()
    colours = ev.label_dendrogram(ev.distances(X, "euclidean"), labels, ax=ax)
    assert list(colours) == ["a", "b", "c"]
    assert len(set(colours.values())) == 3
    assert len(ax.collections) + len(ax.lines) > 0  # the tree
    strips = [child for child in ax.child_axes if child.images]
    assert len(strips) == 1
    strip = strips[0].images[0].get_array()
    assert strip.shape[:2] == (1, 18)
    # separated groups: the strip is three runs of one colour each
    runs = 1 + int((np.abs(np.diff(strip[0], axis=0)).sum(axis=1) > 0).sum())
    assert runs == 3


# ---------------------------------------------------------------- colour_hists


def test_colour_hists_shape_and_rows_sum_to_one(images):
    C = colour_hists(images, bins=4)
    assert C.shape == (len(images), 64)
    assert C.dtype == np.float64
    np.testing.assert_allclose(C.sum(axis=1), 1)
    assert np.all(C >= 0)


def test_colour_hists_puts_pixels_in_the_right_cells():
    image = np.zeros((2, 2, 3), dtype=np.float32)
    image[0, 0] = [1.0, 0.0, 0.0]  # pure red: the top interval of R, including the value 1.0
    image[0, 1] = [0.0, 0.0, 0.0]  # black: cell 0
    image[1, :] = [0.3, 0.6, 0.9]  # intervals (1, 2, 3) of 4
    row = colour_hists([image], bins=4)[0]
    assert row[(3 * 4 + 0) * 4 + 0] == 0.25
    assert row[0] == 0.25
    assert row[(1 * 4 + 2) * 4 + 3] == 0.5
    assert np.count_nonzero(row) == 3


def test_colour_hists_of_a_gray_image_uses_only_the_diagonal(make_image):
    gray = make_image(20, 30, seed=4).mean(axis=2, keepdims=True).repeat(3, axis=2)
    row = colour_hists([gray], bins=5)[0]
    diagonal = [(i * 5 + i) * 5 + i for i in range(5)]
    assert row[diagonal].sum() == pytest.approx(1)
    levels = np.minimum((gray[..., 0] * 5).astype(int), 4)
    np.testing.assert_allclose(row[diagonal], np.bincount(levels.ravel(), minlength=5) / levels.size)


def test_colour_hists_accepts_a_stack_and_images_of_different_sizes(make_image):
    a, b = make_image(16, 16, seed=0), make_image(16, 16, seed=1)
    np.testing.assert_array_equal(colour_hists(np.stack([a, b]), bins=3), colour_hists([a, b], bins=3))
    c = make_image(9, 40, seed=2)
    assert colour_hists([a, c], bins=2).shape == (2, 8)
    assert colour_hists([], bins=2).shape == (0, 8)
