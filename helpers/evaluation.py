"""Measuring descriptors: do they put items with the same label together?

Given one descriptor (e.g. a code histogram) per item and one label per item
(e.g. the image a tile was cut from), these functions measure retrieval
(precision at k, mean average precision), clustering (adjusted Rand index,
normalised mutual information, purity, cophenetic correlation) and
classification (cross-validated accuracy), each next to its floor (chance)
and, for precision at k, its ceiling; :func:`label_dendrogram` draws a tree
with the labels of its leaves as colours. scikit-learn and SciPy do the heavy
lifting; written here by hand are only what they lack: precision at k, mean
average precision over a distance matrix, their chance levels, purity and the
chi-squared distance matrix as a distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import cophenet, fcluster, linkage
from scipy.spatial.distance import cdist, squareform
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.metrics.pairwise import additive_chi2_kernel
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = [
    "METRICS",
    "chance_accuracy",
    "chance_retrieval",
    "cluster_scores",
    "cv_accuracy",
    "distances",
    "evaluate",
    "label_dendrogram",
    "linkage_scores",
    "mean_average_precision",
    "precision_at_k",
    "precision_ceiling",
    "precision_per_query",
    "purity",
]

#: Distances :func:`distances` knows.
METRICS = ("cosine", "euclidean", "chi2")


def distances(X: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Square matrix of distances between the rows of ``X``.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        One descriptor per row.
    metric : ``"cosine"``, ``"euclidean"`` or ``"chi2"``
        ``"chi2"`` is the chi-squared distance
        :math:`\\tfrac12 \\sum_j (x_j - y_j)^2 / (x_j + y_j)` for non-negative
        histograms (from :func:`sklearn.metrics.pairwise.additive_chi2_kernel`).

    Returns
    -------
    ndarray, shape (n, n), float64, zero diagonal
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected one descriptor per row, shape (n, d); got {X.shape}")
    if metric == "chi2":
        if (X < 0).any():
            raise ValueError("the chi-squared distance needs non-negative descriptors (histograms)")
        D = -0.5 * additive_chi2_kernel(X)
    elif metric in ("cosine", "euclidean"):
        D = cdist(X, X, metric=metric)
    else:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    D = np.maximum(D, 0)
    np.fill_diagonal(D, 0)
    return np.nan_to_num(D, nan=1.0)  # cosine of an all-zero row


def _ranked_matches(D: np.ndarray, labels: Sequence) -> np.ndarray:
    """For each query row, whether each other item (nearest first) has its label; (n, n - 1) bool."""
    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(labels)
    if D.shape != (n, n):
        raise ValueError(f"distance matrix of shape {D.shape} does not match {n} labels")
    D = D.copy()
    np.fill_diagonal(D, np.inf)  # a query never retrieves itself
    order = np.argsort(D, axis=1, kind="stable")[:, : n - 1]
    return labels[order] == labels[:, None]


def precision_at_k(D: np.ndarray, labels: Sequence, k: int = 5) -> float:
    """Mean fraction of each item's ``k`` nearest neighbours that share its label.

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Distances between all items.
    labels : sequence, length n
    k : int
        Neighbours looked at, the query itself excluded.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> D = np.array([[0, 1, 5], [1, 0, 5], [5, 5, 0]])
    >>> precision_at_k(D, ["a", "a", "b"], k=1)
    0.6666666666666666
    """
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    return float(_ranked_matches(D, labels)[:, :k].mean())


def precision_per_query(D: np.ndarray, labels: Sequence, k: int = 5) -> np.ndarray:
    """For each item, the fraction of its ``k`` nearest neighbours that share its label.

    :func:`precision_at_k` is the mean of this array; look at it per label to
    see which items a descriptor finds and which it misses.

    Returns
    -------
    ndarray, shape (n,), float64, values in [0, 1]

    Examples
    --------
    >>> D = np.array([[0, 1, 5], [1, 0, 5], [5, 5, 0]])
    >>> precision_per_query(D, ["a", "a", "b"], k=1).tolist()
    [1.0, 1.0, 0.0]
    """
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    return _ranked_matches(D, labels)[:, :k].mean(axis=1)


def mean_average_precision(D: np.ndarray, labels: Sequence) -> float:
    """Mean over queries of the average precision of the ranking by distance.

    For one query, rank all other items by distance; the average precision is
    the mean, over the items with the query's label, of the precision at
    their rank. 1 means every same-label item comes before every other one.
    Queries whose label no other item has are left out.

    Returns
    -------
    float in [0, 1]
    """
    hits = _ranked_matches(D, labels)
    relevant = hits.sum(axis=1)
    ranks = np.arange(1, hits.shape[1] + 1)
    precision = np.cumsum(hits, axis=1) / ranks
    ap = (precision * hits).sum(axis=1) / np.maximum(relevant, 1)
    return float(ap[relevant > 0].mean())


def purity(labels_true: Sequence, labels_pred: Sequence) -> float:
    """Fraction of items that belong to the most common true label of their cluster.

    1 for clusters that each hold one label only (including the trivial
    clustering into singletons, so read it together with ARI or NMI).
    """
    table = contingency_matrix(labels_true, labels_pred)
    return float(table.max(axis=0).sum() / table.sum())


def cluster_scores(labels_true: Sequence, labels_pred: Sequence) -> dict[str, float]:
    """Adjusted Rand index, normalised mutual information and purity of a clustering.

    ARI is 0 for a random clustering and 1 for a perfect one; NMI is in
    [0, 1]; both come from :mod:`sklearn.metrics`.
    """
    return {
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "purity": purity(labels_true, labels_pred),
    }


def linkage_scores(
    D: np.ndarray, labels: Sequence, method: str = "average", n_clusters: int | None = None
) -> dict[str, float]:
    """Cluster with :func:`scipy.cluster.hierarchy.linkage` and score against the labels.

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Distances; converted to the condensed form ``linkage`` needs.
    labels : sequence, length n
    method : str
        ``"single"``, ``"complete"``, ``"average"`` or ``"weighted"`` work with
        any distance; ``"ward"`` assumes Euclidean distances.
    n_clusters : int, optional
        Where to cut the tree; default: the number of distinct labels.

    Returns
    -------
    dict
        ``ari``, ``nmi``, ``purity`` of the cut, and ``cophenetic``: the
        correlation between the distances and the tree's merge heights.
    """
    condensed = squareform(np.asarray(D, dtype=np.float64), checks=False)
    tree = linkage(condensed, method=method)
    k = n_clusters or len(set(np.asarray(labels).tolist()))
    scores = cluster_scores(labels, fcluster(tree, k, criterion="maxclust"))
    scores["cophenetic"] = float(cophenet(tree, condensed)[0])
    return scores


def label_dendrogram(
    D: np.ndarray,
    labels: Sequence,
    method: str = "average",
    *,
    ax=None,
    colours: dict | None = None,
) -> dict:
    """Draw the dendrogram of a clustering with a strip below it coloured by each leaf's label.

    Where the descriptor groups items as the labels do, the strip shows long
    runs of one colour under a branch; where it does not, the colours mix.

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Distances (converted to the condensed form ``linkage`` needs).
    labels : sequence, length n
    method : str
        Linkage method, as for :func:`linkage_scores`.
    ax : matplotlib Axes, optional
        Where to draw the tree; the strip goes just below it. Default: the current axes.
    colours : dict, optional
        A colour per label; default: ``tab20`` in order of first appearance
        (distinct for up to 20 labels).

    Returns
    -------
    dict
        The colour of each label (for a legend).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from scipy.cluster.hierarchy import dendrogram

    labels = np.asarray(labels)
    if colours is None:
        colours = {name: plt.cm.tab20(i % 20) for i, name in enumerate(dict.fromkeys(labels.tolist()))}
    ax = ax if ax is not None else plt.gca()
    tree = linkage(squareform(np.asarray(D, dtype=np.float64), checks=False), method=method)
    leaves = dendrogram(tree, ax=ax, no_labels=True, color_threshold=0, above_threshold_color="0.35")["leaves"]
    strip = ax.inset_axes((0, -0.1, 1, 0.07))
    strip.imshow([[to_rgba(colours[labels[i]]) for i in leaves]], aspect="auto", extent=(0, 10 * len(leaves), 0, 1))
    strip.set_xlim(ax.get_xlim())
    strip.set_axis_off()
    return colours


def cv_accuracy(X: np.ndarray, labels: Sequence, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic regression on the descriptors.

    Standardised features, :class:`~sklearn.linear_model.LogisticRegression`,
    stratified ``folds``-fold cross-validation with shuffling fixed by
    ``seed``. Returns the mean accuracy over the folds. Every label needs at
    least ``folds`` items (scikit-learn warns otherwise).
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # The matrices are small: one BLAS thread is fastest, and it keeps several BLAS
    # threads from spinning against each other on a busy machine (seen: 0.3 s -> 60 s).
    with threadpool_limits(limits=1, user_api="blas"):
        return float(cross_val_score(model, np.asarray(X), np.asarray(labels), cv=cv).mean())


def chance_accuracy(labels: Sequence) -> float:
    """Accuracy of always guessing the most common label (the floor a classifier must beat)."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(counts.max() / counts.sum())


def precision_ceiling(labels: Sequence, k: int = 5) -> float:
    """The best precision at ``k`` any descriptor could reach with these labels.

    A query whose label has only ``m`` other items can find at most ``m`` of
    them among its ``k`` neighbours, so the ceiling is the mean over queries
    of :math:`\\min(k, m) / k`; it is 1 when every label has more than ``k``
    items.

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


def chance_retrieval(labels: Sequence, k: int = 5, repeats: int = 100, seed: int = 0) -> dict[str, float]:
    """Precision at ``k`` and mean average precision of random rankings (the floor).

    Each repeat ranks the items for every query in a random order (a random
    symmetric distance matrix) and scores it with :func:`precision_at_k` and
    :func:`mean_average_precision`; the results are averaged over
    ``repeats``. The expected precision at ``k`` is the chance that a random
    other item shares the query's label, :math:`m_q / (n - 1)` averaged over
    queries (``m_q`` other items with the query's label); average precision
    of a random ranking is somewhat higher than that, hence the simulation.

    Returns
    -------
    dict
        ``p@k`` and ``map``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    labels = np.asarray(labels)
    n = len(labels)
    rng = np.random.default_rng(seed)
    p, ap = 0.0, 0.0
    for _ in range(repeats):
        R = rng.random((n, n))
        D = R + R.T
        p += precision_at_k(D, labels, k)
        ap += mean_average_precision(D, labels)
    return {f"p@{k}": p / repeats, "map": ap / repeats}


def evaluate(
    X: np.ndarray, labels: Sequence, metric: str = "cosine", k: int = 5, method: str = "average"
) -> dict[str, float]:
    """All retrieval and clustering measures of one descriptor, in one dict.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        One descriptor per item (already normalised as wanted).
    labels : sequence, length n
    metric : str
        See :func:`distances`.
    k : int
        For :func:`precision_at_k`.
    method : str
        Linkage method for :func:`linkage_scores`.

    Returns
    -------
    dict
        ``p@k``, ``map``, ``ari``, ``nmi``, ``purity``, ``cophenetic``.
    """
    D = distances(X, metric)
    return {
        f"p@{k}": precision_at_k(D, labels, k),
        "map": mean_average_precision(D, labels),
        **linkage_scores(D, labels, method),
    }
