"""helpers.descriptors and helpers.evaluation: histograms and measures, against their definitions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
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


@given(n=st.integers(3, 25), groups=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_mean_average_precision_is_scikit_learns_per_query(n, groups, seed):
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    D = ev.distances(rng.integers(0, 4, (n, 2)).astype(float), "euclidean")  # small integers: many ties
    others = ~np.eye(n, dtype=bool)
    same = (labels[:, None] == labels[None]) & others
    expected = [average_precision_score(same[q][others[q]], -D[q][others[q]]) for q in range(n) if same[q].any()]
    got = ev.mean_average_precision(D, labels, per_query=True)
    np.testing.assert_allclose(got[same.any(axis=1)], expected, rtol=1e-12)
    assert np.isnan(got[~same.any(axis=1)]).all()


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


# ---- the protocol ------------------------------------------------------------------------------------------------


def test_tile_task_scores_tiles_the_descriptor_never_sees(collection):
    (split,) = ev.tile_task(seed=3, images=collection)
    names, counts = np.unique(split.labels, return_counts=True)
    assert len(names) == 20 and (counts == ev.PER_IMAGE).all() and "microaneurysms" not in names
    assert split.items[0].shape == (ev.TILE, ev.TILE, 3)
    assert not set(split.items.names) & set(split.fit.names)  # scored tiles are never fitted on
    cut = {name: sum(1 for n in split.fit.names + split.items.names if n.startswith(name + "/")) for name in names}
    assert cut["page"] == 12 and cut["astronaut"] == 64  # every grid tile goes to one side
    tile = split.items[split.items.names.index(split.items.names[5])]
    image, (row, col) = split.items.names[5].split("/")[0], map(int, split.items.names[5].split("/")[1].split(","))
    r, c = row * ev.TILE, col * ev.TILE
    assert np.array_equal(tile, collection[image][r : r + ev.TILE, c : c + ev.TILE])
    (again,) = ev.tile_task(seed=3, images=collection)
    (other,) = ev.tile_task(seed=4, images=collection)
    assert again.items.names == split.items.names and other.items.names != split.items.names


def test_every_fold_holds_two_tiles_of_every_image(collection):
    (split,) = ev.tile_task(seed=0, images=collection)
    for _, test in ev.folds(0).split(split.items.names, split.labels):
        assert (np.unique(split.labels[test], return_counts=True)[1] == 2).all()


def test_copies_are_the_seven_transforms(collection):
    image = collection["chelsea"][:200, :240]
    made = ev.copies(image, seed=1)
    assert len(made) == len(ev.TRANSFORMS) == 7
    assert all(m.dtype == np.float32 and m.min() >= 0 and m.max() <= 1 for m in made)
    crop, rotated, scaled, bright, contrast, jpeg, mixed = made
    assert 0.3 <= crop.size / image.size <= 0.5 + 0.02 and 0.4 <= scaled.shape[0] / 200 <= 0.6
    assert rotated.shape[0] < 200 and rotated[0, 0].any()  # cropped inside the turned image: no black corner
    assert 0.15 <= abs(float(np.mean(bright - image))) <= 0.25
    assert 0.4 <= contrast.std() / image.std() <= 0.6
    assert jpeg.shape == image.shape and 0 < np.abs(jpeg - image).mean() < 0.1
    assert mixed.shape[0] < 200
    assert all(np.array_equal(a, b) for a, b in zip(made, ev.copies(image, seed=1), strict=True))


def test_copy_task_fits_each_half_on_the_other(collection):
    halves = ev.copy_task(seed=0, images=collection[:6])
    assert [len(h.fit) for h in halves] == [3, 3] and [len(h.items) for h in halves] == [24, 24]
    for h in halves:
        scored = {name.split("/")[0] for name in h.items.names}
        assert scored.isdisjoint(h.fit.names) and (np.unique(h.labels, return_counts=True)[1] == 8).all()
        assert max(h.fit[0].shape[:2]) == ev.COPY_SIDE


def test_run_scores_a_descriptor_on_the_protocol(collection):
    from sklearn.preprocessing import FunctionTransformer

    task = ev.tile_task(seed=0, images=collection)
    colour = FunctionTransformer(helpers.colour_hists)
    result = ev.run(colour, task, seed=0, norm="sqrt", metric="euclidean")
    X = helpers.normalize_hists(helpers.colour_hists(task[0].items), "sqrt")
    D = ev.distances(X, "euclidean")
    assert result["p@5"] == ev.precision_at_k(D, task[0].labels, 5)
    assert result["map"] == ev.mean_average_precision(D, task[0].labels)
    assert result["ari"] == ev.linkage_scores(D, task[0].labels)["ari"]
    assert result["accuracy"] == ev.cv_accuracy(X, task[0].labels, ev.FOLDS, seed=0)
    assert ev.score(X, task[0].labels, seed=0, norm=None, metric="euclidean") == result
    assert ev.precision_ceiling(task[0].labels) == 1 and result["accuracy"] > 4 * ev.chance_accuracy(task[0].labels)


def test_describe_fits_with_the_seed_and_never_on_the_items(images):
    class Recorder(helpers.PatchCodebook):
        def fit(self, X, y=None):
            self.fitted_on_ = list(X.names)
            return super().fit(X, y)

    split = ev.Split(images[:2], images[2:], np.array(["c"]))
    book = Recorder(n_codes=4, n_patches=200, random_state=99)
    X = ev.describe(book, split, seed=7)
    again = helpers.PatchCodebook(n_codes=4, n_patches=200, random_state=7).fit(images[:2]).transform(images[2:])
    assert np.array_equal(X, again) and book.random_state == 99  # a clone was fitted, with the seed


def test_paired_differences_and_tests():
    from scipy.stats import ttest_rel, wilcoxon

    a, b = [0.61, 0.64, 0.58, 0.66, 0.60, 0.63], [0.50, 0.55, 0.52, 0.51, 0.53, 0.50]
    r = ev.paired(a, b)
    assert r["diff"] == pytest.approx(np.mean(np.subtract(a, b))) and r["wins"] == 6 and r["n"] == 6
    assert r["t_p"] == pytest.approx(ttest_rel(a, b).pvalue) and r["wilcoxon_p"] == pytest.approx(1 / 32)
    assert wilcoxon(a, b).pvalue == pytest.approx(r["wilcoxon_p"])
    assert np.isnan(ev.paired(a, a)["t_p"]) and np.isnan(ev.paired(a, a)["wilcoxon_p"])
    with pytest.raises(ValueError, match="same length"):
        ev.paired([1, 2], [1, 2, 3])
    assert ev.spread([1.0, 2.0, 3.0]) == (2.0, 1.0)


def test_read_results(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("# made by a test\ntask,variant,seed,map\ntiles,a,0,0.5\n")
    assert ev.read_results(path) == [{"task": "tiles", "variant": "a", "seed": 0, "map": 0.5}]


def benchmark_rows():
    """Rows shaped like a benchmark CSV: two variants, two readouts, three seeds, two measures."""
    values = {("a", "r"): [0.5, 0.6, 0.7], ("b", "r"): [0.4, 0.5, 0.5], ("a", "r ward"): [0.9, 0.8, 0.7]}
    return [
        {"task": "t", "variant": v, "readout": r, "seed": seed, "map": m, "ari": m / 2}
        for (v, r), ms in values.items()
        for seed, m in reversed(list(enumerate(ms)))  # out of seed order, as merged CSVs may be
    ]


def test_paired_table_pairs_by_seed_and_formats_one_way():
    rows = benchmark_rows()
    text = ev.paired_table(rows, {"a vs b": ("a", "b")}, ["map", "ari"], task="t", readout="r")
    header, line = text.splitlines()
    assert header.split() == ["map", "ari"]
    r = ev.paired([0.5, 0.6, 0.7], [0.4, 0.5, 0.5])
    assert line.split("   ")[0] == "a vs b"
    assert f"{r['diff']:+.3f} ± {r['sd']:.3f} 3/3 p = {r['t_p']:.3f}" in line
    # a column's linkage is appended to the readout ("r" -> "r ward"); a side's filters override the defaults
    ward = {"ARI": {"measure": "map", "linkage": "ward"}}
    with pytest.raises(ValueError, match="no rows match"):  # b has no Ward readout
        ev.paired_table(rows, [("a", "b")], ward, task="t", readout="r")
    text = ev.spread_table(rows, ["a"], ward, task="t", readout="r")
    assert text.splitlines()[1].split()[1:] == ["0.800", "±", "0.100"]
    assert "+0.333 ± 0.153 3/3" in ev.paired_table(
        rows, {"x": ({"variant": "a", "readout": "r ward"}, "b")}, ["map"], task="t", readout="r"
    )


def test_paired_table_refuses_unpaired_seeds():
    rows = [row for row in benchmark_rows() if not (row["variant"] == "b" and row["seed"] == 2)]
    with pytest.raises(ValueError, match="cannot be paired"):
        ev.paired_table(rows, [("a", "b")], ["map"], task="t", readout="r")


def test_spread_table_and_format_p():
    text = ev.spread_table(benchmark_rows(), {"A": "a", "A, Ward": ("a", "r ward")}, {"mAP": ("t", "map")}, readout="r")
    assert text.splitlines()[1:] == ["A         0.600 ± 0.100", "A, Ward   0.800 ± 0.100"]
    by_column = ev.spread_table(benchmark_rows(), ["a"], {"mAP": ("t", "map", "r"), "Ward": ("t", "map", "r ward")})
    assert by_column.splitlines()[1].split()[1::3] == ["0.600", "0.800"]
    with pytest.raises(ValueError, match="a column is"):
        ev.spread_table(benchmark_rows(), ["a"], {"x": ("t",)})
    assert [ev.format_p(p) for p in (0.0004, 0.0123, np.nan)] == ["< 0.001", "0.012", "n/a"]


def test_tiny_images_ignore_brightness_and_contrast(rng):
    from skimage.transform import resize

    from helpers.descriptors import tiny_images

    image = rng.random((30, 50, 3)) * 0.5 + 0.2
    rows = tiny_images([image, 0.5 * image + 0.1, image[::-1]], side=8)
    np.testing.assert_allclose(rows[1], rows[0], atol=1e-6)  # a brightness and contrast change is undone
    assert rows.shape == (3, 192) and np.linalg.norm(rows[0] - rows[2]) > 0.5
    thumb = resize(image, (8, 8, 3), anti_aliasing=True).ravel()
    np.testing.assert_allclose(rows[0], (thumb - thumb.mean()) / np.linalg.norm(thumb - thumb.mean()), atol=1e-6)
