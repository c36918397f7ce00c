"""Machinery of notebooks 06, 08, 09 and 11; not needed to follow the series.

One protocol for comparing image descriptors: two labelled tasks (:func:`tile_task`,
:func:`copy_task`), seeded splits, and :func:`score`. One seed fixes the tiles (copies),
the descriptor's random state and the folds, so variants are compared pairwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .tables import (  # noqa: F401  (the notebooks read these as ev.NAME)
    format_p,
    format_table,
    paired,
    paired_table,
    per_seed,
    spread,
    spread_table,
)
from .tables import read_csv as read_results  # noqa: F401
from .tree import distances, linkage_tree  # noqa: F401

__all__ = [
    "COPY_SIDE",
    "FOLDS",
    "PER_IMAGE",
    "SEEDS",
    "TILE",
    "TRANSFORMS",
    "Split",
    "chance_accuracy",
    "chance_retrieval",
    "cluster_scores",
    "copies",
    "copy_task",
    "cv_accuracy",
    "describe",
    "folds",
    "linkage_scores",
    "mean_average_precision",
    "precision_at_k",
    "precision_ceiling",
    "purity",
    "run",
    "score",
    "score_task",
    "tile_task",
]

#: Tile side in pixels, tiles scored per image, cross-validation folds (2 tiles of each image per fold).
TILE, PER_IMAGE, FOLDS = 64, 8, 4
#: The seeds of the benchmarks: each fixes tiles (copies), the descriptor's random state and the folds.
SEEDS = (0, 1, 2, 3, 4)
#: Longer side of the copy task's originals, in pixels.
COPY_SIDE = 256
#: The copies :func:`copies` makes of an image, in order.
TRANSFORMS = ("crop", "rotate", "scale", "brightness", "contrast", "jpeg", "mixed")


def _ranking(D, labels) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the other items' distances nearest first (ties in index order), and whether each has its label."""
    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    if D.shape != (len(labels), len(labels)):
        raise ValueError(f"distance matrix of shape {D.shape} does not match {len(labels)} labels")
    D = D.copy()
    np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :-1]
    return np.take_along_axis(D, order, axis=1), labels[order] == labels[:, None]


def precision_at_k(D, labels, k: int = 5, per_query: bool = False):
    """Fraction of each item's ``k`` nearest neighbours (itself excluded, ties in index order) that share its label.

    The mean over queries, or an (n,) array with ``per_query``.

    Examples
    --------
    >>> precision_at_k([[0, 1, 5], [1, 0, 5], [5, 5, 0]], ["a", "a", "b"], k=1)
    0.6666666666666666
    """
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    p = _ranking(D, labels)[1][:, :k].mean(axis=1)
    return p if per_query else float(p.mean())


def mean_average_precision(D, labels, per_query: bool = False):
    """Mean over queries of the average precision of ranking the other items by distance.

    Each AP is :func:`sklearn.metrics.average_precision_score`'s (ties ranked together);
    queries whose label no other item has are left out (NaN with ``per_query``).

    Examples
    --------
    >>> mean_average_precision([[0, 1, 2], [1, 0, 2], [2, 2, 0]], ["a", "a", "b"])
    1.0
    """
    ranked, hits = _ranking(D, labels)
    last = np.ones(ranked.shape, dtype=bool)  # the last position of each run of tied distances
    last[:, :-1] = ranked[:, :-1] != ranked[:, 1:]
    positions = np.arange(ranked.shape[1])
    tie_end = np.minimum.accumulate(np.where(last, positions, ranked.shape[1])[:, ::-1], axis=1)[:, ::-1]
    precision = np.take_along_axis(np.cumsum(hits, axis=1), tie_end, axis=1) / (tie_end + 1)
    found = hits.sum(axis=1)
    ap = np.full(len(hits), np.nan)
    ap[found > 0] = (hits * precision).sum(axis=1)[found > 0] / found[found > 0]
    return ap if per_query else float(np.nanmean(ap))


def purity(labels_true, labels_pred) -> float:
    """Fraction of items that belong to the most common true label of their cluster (1 for singletons too)."""
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(labels_true, labels_pred)
    return float(table.max(axis=0).sum() / table.sum())


def cluster_scores(labels_true, labels_pred) -> dict[str, float]:
    """Adjusted Rand index (0 for chance, 1 perfect), normalised mutual information and purity."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "purity": purity(labels_true, labels_pred),
    }


def linkage_scores(D, labels, method: str = "average", n_clusters: int | None = None) -> dict[str, float]:
    """``ari``, ``nmi``, ``purity`` of a linkage cut into ``n_clusters`` (default: one per label); ``cophenetic``."""
    from scipy.cluster.hierarchy import cophenet, fcluster
    from scipy.spatial.distance import squareform

    tree = linkage_tree(D, method)
    condensed = squareform(np.asarray(D, dtype=np.float64), checks=False)
    k = n_clusters or len(set(np.asarray(labels).tolist()))
    return {
        **cluster_scores(labels, fcluster(tree, k, criterion="maxclust")),
        "cophenetic": float(cophenet(tree, condensed)[0]),
    }


def chance_accuracy(labels) -> float:
    """Accuracy of always guessing the most common label."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(counts.max() / counts.sum())


def precision_ceiling(labels, k: int = 5) -> float:
    """The best precision at ``k`` possible: a query with ``m`` same-label others finds at most ``min(k, m)``.

    Examples
    --------
    >>> precision_ceiling(["a", "a", "a", "b", "b"], k=2)
    0.8
    """
    labels = np.asarray(labels)
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return float((np.minimum(k, counts[inverse] - 1) / k).mean())


def chance_retrieval(labels, k: int = 5, repeats: int = 100, seed: int = 0) -> dict[str, float]:
    """Precision at ``k`` and mean average precision of random rankings, averaged over ``repeats``.

    (Random distances have no ties: each AP is :math:`\\frac1m \\sum_j j / r_j`.)
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(labels))
    runs = []
    for _ in range(repeats):
        R = rng.random((len(labels), len(labels)))
        hits = _ranking(R + R.T, labels)[1]
        found = hits.sum(axis=1)
        ap = (np.cumsum(hits, axis=1) / ranks * hits).sum(axis=1)[found > 0] / found[found > 0]
        runs.append((hits[:, :k].mean(), ap.mean()))
    p, ap = np.mean(runs, axis=0)
    return {f"p@{k}": float(p), "map": float(ap)}


def folds(seed: int = 0, n_splits: int = FOLDS):
    """The protocol's cross-validation: ``n_splits`` stratified, shuffled folds, seeded."""
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def cv_accuracy(X, labels, n_folds: int = FOLDS, seed: int = 0) -> float:
    """Mean accuracy of a scaler + logistic regression pipeline over :func:`folds` ``(seed, n_folds)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = folds(seed, n_folds)
    return float(cross_val_score(model, np.asarray(X), np.asarray(labels), cv=cv).mean())


# ---- the two tasks ------------------------------------------------------------------------------------------


@dataclass
class Split:
    """Images a descriptor may be fitted on (no labels), and the labelled images it is scored on."""

    fit: list
    items: list
    labels: np.ndarray


def tile_task(seed: int = 0, images=None) -> list[Split]:
    """The tile task: :data:`PER_IMAGE` scored tiles of every image that has that many, the rest to fit on.

    Tiles on a :data:`TILE` grid; scored tiles (``image/row,col``) drawn by ``seed``. Returns a list of one Split.

    Examples
    --------
    >>> (split,) = tile_task(seed=0)
    >>> len(split.items), len(set(split.labels)), len(split.fit)
    (160, 20, 743)
    """
    from skimage.util import view_as_blocks

    from .images import ImageList, load_images

    images = load_images() if images is None else images
    rng = np.random.default_rng(seed)
    fit, items, labels, fit_names, item_names = [], [], [], [], []
    for name, image in zip(images.names, images, strict=True):
        rows, cols = image.shape[0] // TILE, image.shape[1] // TILE
        if rows * cols == 0:
            continue
        blocks = view_as_blocks(image[: rows * TILE, : cols * TILE], (TILE, TILE, 3)).reshape(-1, TILE, TILE, 3)
        scored = np.zeros(len(blocks), dtype=bool)
        if len(blocks) > PER_IMAGE:
            scored[rng.choice(len(blocks), PER_IMAGE, replace=False)] = True
        for i, (block, is_scored) in enumerate(zip(blocks, scored, strict=True)):
            tile_name = f"{name}/{i // cols},{i % cols}"
            (items if is_scored else fit).append(block)
            (item_names if is_scored else fit_names).append(tile_name)
            if is_scored:
                labels.append(name)
    return [Split(ImageList(fit, fit_names), ImageList(items, item_names), np.array(labels))]


def copies(image, seed: int = 0) -> list[np.ndarray]:
    """Seven near-duplicates of an image, one per :data:`TRANSFORMS`, with seeded strengths.

    Crop (30-50 % of the area), rotate (10-30 degrees, cropped upright), scale (40-60 %),
    brightness (+-0.15-0.25), contrast (x 0.4-0.6), JPEG (quality 5-15), and a mix of them.
    Returns a list of 7 (h, w, 3) float32 images in [0, 1].
    """
    from skimage.transform import rescale, rotate

    from .images import as_rgb

    image = as_rgb(image)
    rng = np.random.default_rng(seed)

    def crop(im, area):
        h, w = im.shape[:2]
        ch, cw = max(8, round(h * np.sqrt(area))), max(8, round(w * np.sqrt(area)))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        return im[y : y + ch, x : x + cw]

    def scale(im, factor):
        return np.clip(rescale(im, factor, anti_aliasing=True, channel_axis=2), 0, 1)

    def shift(im, amount):
        return np.clip(im + amount, 0, 1)

    def jpeg(im, quality):
        from .compression import _load, _save

        return _load(_save(np.round(im * 255).astype(np.uint8), "JPEG", quality=int(quality)), "RGB")

    def turn(im, degrees):
        h, w = im.shape[:2]
        a = np.deg2rad(abs(degrees))
        sin, cos = np.sin(a), np.cos(a)  # largest upright rectangle inside the turned one (w, h >= that of 8 px)
        if min(h, w) <= 2 * sin * cos * max(h, w):
            half = min(h, w) / 2
            rw, rh = (half / sin, half / cos) if w >= h else (half / cos, half / sin)
        else:
            rw, rh = (w * cos - h * sin) / (cos**2 - sin**2), (h * cos - w * sin) / (cos**2 - sin**2)
        turned = rotate(im, degrees, order=1)
        y, x = int(np.ceil((h - rh) / 2)), int(np.ceil((w - rw) / 2))
        return turned[y : h - y, x : w - x]

    sign = rng.choice([-1, 1], size=3)
    mean = image.mean()
    made = [
        crop(image, rng.uniform(0.3, 0.5)),
        turn(image, sign[0] * rng.uniform(10, 30)),
        scale(image, rng.uniform(0.4, 0.6)),
        shift(image, sign[1] * rng.uniform(0.15, 0.25)),
        mean + (image - mean) * rng.uniform(0.4, 0.6),
        jpeg(image, rng.integers(5, 16)),
        jpeg(
            shift(scale(crop(image, rng.uniform(0.6, 0.8) ** 2), rng.uniform(0.6, 0.8)), sign[2] * 0.1),
            rng.integers(30, 51),
        ),
    ]
    return [np.ascontiguousarray(np.clip(m, 0, 1), dtype=np.float32) for m in made]


def copy_task(seed: int = 0, images=None) -> list[Split]:
    """The copy task: groups of an original and its 7 :func:`copies`, in two halves fitted on each other.

    Originals downscaled to :data:`COPY_SIDE`; ``seed`` draws the copies and the halves (items ``image/transform``).

    Examples
    --------
    >>> halves = copy_task(seed=0)
    >>> [len(h.items) for h in halves], [len(h.fit) for h in halves]
    ([80, 88], [11, 10])
    """
    from skimage.transform import resize

    from .images import ImageList, load_images

    images = load_images() if images is None else images
    originals = []
    for image in images:
        h, w = image.shape[:2]
        f = min(1.0, COPY_SIDE / max(h, w))
        shape = (max(8, round(h * f)), max(8, round(w * f)), 3)
        originals.append(np.clip(resize(image, shape, anti_aliasing=True), 0, 1).astype(np.float32))
    rng = np.random.default_rng(seed)
    groups = [[o, *copies(o, seed=int(rng.integers(2**31)))] for o in originals]
    order = rng.permutation(len(originals))
    halves = [np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :])]
    splits = []
    for scored, fitted in (halves, halves[::-1]):
        names = [f"{images.names[i]}/{t}" for i in scored for t in ("original", *TRANSFORMS)]
        items = ImageList([im for i in scored for im in groups[i]], names)
        fit = ImageList([originals[i] for i in fitted], [images.names[i] for i in fitted])
        splits.append(Split(fit, items, np.repeat([images.names[i] for i in scored], len(TRANSFORMS) + 1)))
    return splits


# ---- running a descriptor through the protocol -----------------------------------------------------------------


def describe(descriptor, split: Split, seed: int = 0) -> np.ndarray:
    """Fit a clone of ``descriptor`` on ``split.fit`` (every ``random_state`` = ``seed``); the items' rows, float64."""
    from sklearn.base import clone

    model = clone(descriptor)
    model.set_params(**{key: seed for key in model.get_params() if key.split("__")[-1] == "random_state"})
    return np.asarray(model.fit(split.fit).transform(split.items), dtype=np.float64)


def _measure(X, labels, seed, norm, metric, method, k, classify, n_folds=FOLDS) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per-query precision at k and AP, and the clustering (and accuracy) scores of one split's descriptors."""
    import warnings

    from .descriptors import normalize_hists

    X = np.asarray(X, dtype=np.float64) if norm is None else normalize_hists(X, norm)
    D = distances(X, metric)
    others = linkage_scores(D, labels, method)
    if classify:
        with warnings.catch_warnings():  # lbfgs on nearly separable data may stop at its iteration limit
            warnings.filterwarnings("ignore", category=UserWarning)
            others["accuracy"] = cv_accuracy(X, labels, n_folds, seed)
    return precision_at_k(D, labels, k, per_query=True), mean_average_precision(D, labels, per_query=True), others


def score(X, labels, seed: int = 0, **options) -> dict[str, float]:
    """The protocol's scores of descriptors ``X`` (n, d) of items labelled ``labels`` (n,).

    Options, keyword only: ``norm`` (default ``"counts"``): :func:`helpers.normalize_hists` first (``None``:
    none); ``metric`` (``"cosine"``): of :func:`distances`; ``method`` (``"average"``): the linkage; ``k`` (5);
    ``classify`` (True): also :func:`cv_accuracy` on ``n_folds`` (:data:`FOLDS`) folds. Returns ``p@k``,
    ``map``, ``ari``, ``nmi``, ``purity``, ``cophenetic`` (and ``accuracy``).
    """
    return score_task([Split([], [], np.asarray(labels))], [X], seed, **options)


def run(descriptor, task: Sequence[Split], seed: int = 0, **options) -> dict[str, float]:
    """:func:`describe` each split of a task with a descriptor, then :func:`score_task` with ``options``."""
    return score_task(task, [describe(descriptor, split, seed) for split in task], seed, **options)


def score_task(
    task: Sequence[Split],
    described: Sequence,
    seed: int = 0,
    *,
    norm: str | None = "counts",
    metric: str = "cosine",
    method: str = "average",
    k: int = 5,
    classify: bool = True,
    n_folds: int = FOLDS,
) -> dict[str, float]:
    """:func:`score` of a task: ``p@k`` and ``map`` over the queries of all splits, the rest averaged over splits."""
    measured = [
        _measure(X, split.labels, seed, norm, metric, method, k, classify, n_folds)
        for split, X in zip(task, described, strict=True)
    ]
    result = {
        f"p@{k}": float(np.concatenate([m[0] for m in measured]).mean()),
        "map": float(np.nanmean(np.concatenate([m[1] for m in measured]))),
    }
    return result | {key: float(np.mean([m[2][key] for m in measured])) for key in measured[0][2]}
