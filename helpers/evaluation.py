"""Measuring descriptors: do they put items with the same label together?

Given one descriptor (e.g. a code histogram) per item and one label per item
(e.g. the image a tile was cut from), these functions measure retrieval
(precision at k, mean average precision), clustering (adjusted Rand index,
normalised mutual information, purity, cophenetic correlation) and
classification (cross-validated accuracy). scikit-learn and SciPy do the
heavy lifting; written here by hand are only what they lack: precision at k,
mean average precision over a distance matrix, purity and the chi-squared
distance matrix as a distance.
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

__all__ = [
    "METRICS",
    "chance_accuracy",
    "cluster_scores",
    "cv_accuracy",
    "distances",
    "evaluate",
    "linkage_scores",
    "mean_average_precision",
    "precision_at_k",
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


def cv_accuracy(X: np.ndarray, labels: Sequence, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic regression on the descriptors.

    Standardised features, :class:`~sklearn.linear_model.LogisticRegression`,
    stratified ``folds``-fold cross-validation with shuffling fixed by
    ``seed``. Returns the mean accuracy over the folds.
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(model, np.asarray(X), np.asarray(labels), cv=cv).mean())


def chance_accuracy(labels: Sequence) -> float:
    """Accuracy of always guessing the most common label (the floor a classifier must beat)."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(counts.max() / counts.sum())


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
