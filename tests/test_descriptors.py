"""helpers.descriptors and helpers.evaluation: histograms and measures, against their definitions."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import TfidfTransformer

import helpers
from helpers import evaluation as ev


def test_normalize_hists(rng):
    H = rng.integers(0, 9, (5, 12)).astype(float)
    H[2] = 0
    freq = helpers.normalize_hists(H, "l1")
    np.testing.assert_allclose(freq[[0, 1, 3, 4]].sum(axis=1), 1)
    assert (freq[2] == 0).all()
    np.testing.assert_allclose(helpers.normalize_hists(H, "sqrt") ** 2, freq)
    np.testing.assert_allclose(np.linalg.norm(helpers.normalize_hists(H, "l2")[[0, 1]], axis=1), 1)
    np.testing.assert_allclose(helpers.normalize_hists(H, "tfidf"), TfidfTransformer().fit_transform(H).toarray())
    with pytest.raises(ValueError, match="unknown"):
        helpers.normalize_hists(H, "max")
    with pytest.raises(ValueError, match="negative"):
        helpers.normalize_hists(-H, "l1")


def test_colour_hists_count_pixels_per_colour_cell(rng):
    image = rng.random((20, 30, 3))
    cells = np.minimum((image * 4).astype(int), 3) @ [16, 4, 1]
    expected = np.bincount(cells.ravel(), minlength=64) / 600
    np.testing.assert_allclose(helpers.colour_hists([image])[0], expected)


def test_colour_hists_of_a_gray_image_use_its_pixels_not_its_columns():
    gray = np.tile(np.linspace(0, 1, 16), (4, 1))  # a 2-D image: 4 rows of a ramp
    h = helpers.colour_hists([gray], bins=2)[0]
    assert h[0] == 0.5 and h[7] == 0.5 and h.sum() == 1  # half black-ish, half white-ish, nothing coloured


def test_gray_and_lbp_hists_are_frequencies(images):
    assert np.allclose(helpers.gray_hists(images, bins=8).sum(axis=1), 1)
    lbp = helpers.lbp_hists(images)
    assert lbp.shape == (3, 10) and np.allclose(lbp.sum(axis=1), 1)
    flat = helpers.lbp_hists([np.full((16, 16), 0.5)])[0]
    assert flat[8] == 14 * 14 / 256  # inside a flat image all neighbours >= centre: pattern 8 (the border sees 0s)


def test_distances(rng):
    X = rng.random((6, 5))
    np.testing.assert_allclose(ev.distances(X, "euclidean"), np.linalg.norm(X[:, None] - X[None], axis=2), atol=1e-12)
    chi2 = 0.5 * ((X[:, None] - X[None]) ** 2 / (X[:, None] + X[None])).sum(axis=2)
    np.testing.assert_allclose(ev.distances(X, "chi2"), chi2, atol=1e-12)
    D = ev.distances(X)
    assert np.array_equal(D, D.T) and (np.diag(D) == 0).all()


@pytest.mark.parametrize(
    ("X", "message"),
    [([[1, 0], [0, 0]], "rows \\[1\\] are all zero"), ([[1, np.nan], [0, 1]], "NaN"), ([[1, 2]], None)],
)
def test_distances_refuse_undefined_values(X, message):
    if message is None:
        with pytest.raises(ValueError, match="unknown metric"):
            ev.distances(X, "manhattan")
    else:
        with pytest.raises(ValueError, match=message):
            ev.distances(X, "cosine")


def average_precision(ranked_hits):
    """The textbook AP of one ranking without ties: mean of the precision at each hit."""
    hits = np.asarray(ranked_hits, float)
    return (np.cumsum(hits) / np.arange(1, len(hits) + 1))[hits > 0].mean()


def test_retrieval_scores_by_definition(rng):
    labels = np.array(list("aabbbcc"))
    X = rng.random((7, 3))
    D = ev.distances(X, "euclidean")
    expected_p, expected_ap = [], []
    for q in range(7):
        order = [j for j in np.argsort(D[q], kind="stable") if j != q]
        hits = labels[order] == labels[q]
        expected_p.append(hits[:2].mean())
        expected_ap.append(average_precision(hits))
    assert ev.precision_at_k(D, labels, k=2) == pytest.approx(np.mean(expected_p))
    assert ev.mean_average_precision(D, labels) == pytest.approx(np.mean(expected_ap))


def test_mean_average_precision_ranks_ties_together():
    D = np.array([[0, 1, 1], [1, 0, 2], [1, 2, 0]], float)  # query 0: items 1 (same) and 2 (other) tie
    # query 0 finds its match only at the end of the tie: AP 1/2; query 1 finds it first: AP 1; "b" has no match
    assert ev.mean_average_precision(D, ["a", "a", "b"]) == pytest.approx(0.75)


def test_clustering_scores(rng):
    labels = np.repeat([0, 1, 2], 4)
    X = rng.normal(size=(12, 2)) * 0.05 + np.repeat([[0, 0], [5, 0], [0, 5]], 4, axis=0)
    D = ev.distances(X, "euclidean")
    scores = ev.linkage_scores(D, labels)
    assert scores["ari"] == 1 and scores["purity"] == 1 and scores["cophenetic"] > 0.9
    tree = linkage(squareform(D, checks=False), "average")
    assert ev.cluster_scores(labels, fcluster(tree, 3, "maxclust"))["ari"] == 1
    assert ev.purity([0, 0, 1, 1], [0, 0, 0, 0]) == 0.5


def test_floors_and_ceiling():
    labels = ["a"] * 3 + ["b"] * 2
    assert ev.chance_accuracy(labels) == 0.6
    assert ev.precision_ceiling(labels, k=2) == 0.8
    floor = ev.chance_retrieval(np.repeat(np.arange(4), 5), k=5, repeats=40)
    assert 0.15 < floor["p@5"] < 0.27 and floor["map"] > floor["p@5"]  # expected p@5 = 4 / 19 = 0.21


def test_scores_sheet_and_table(images, codebook):
    hists = codebook.transform(list(images) * 5)
    labels = np.tile(["a", "b", "c"], 5)
    sheet = ev.scores(hists, labels, k=3)
    assert sheet["p@3"] == 1 and sheet["ari"] == 1 and sheet["accuracy"] == 1
    assert ev.format_table({"x": {"p@3": 1}}).splitlines() == ["      p@3", "x   1.000"]
