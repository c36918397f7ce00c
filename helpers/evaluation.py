"""Distances between descriptors, and how well they put items with the same label together.

Retrieval (precision at k, mean average precision), clustering (ARI, NMI,
purity, cophenetic correlation) and classification (cross-validated accuracy),
each with its floor. scikit-learn and SciPy do the work; written here are only
the per-query bookkeeping and purity, which they lack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "METRICS",
    "chance_accuracy",
    "chance_retrieval",
    "cluster_scores",
    "cv_accuracy",
    "distances",
    "evaluate",
    "format_table",
    "linkage_scores",
    "mean_average_precision",
    "precision_at_k",
    "precision_ceiling",
    "purity",
    "scores",
]

#: Distances :func:`distances` knows.
METRICS = ("cosine", "euclidean", "chi2")


def distances(X, metric: str = "cosine") -> np.ndarray:
    """Square matrix of distances between the rows of ``X``, in float64.

    ``"cosine"`` and ``"euclidean"`` come from
    :func:`sklearn.metrics.pairwise_distances`; ``"chi2"`` is
    :math:`\\tfrac12 \\sum_j (x_j - y_j)^2 / (x_j + y_j)` for histograms
    (``-additive_chi2_kernel / 2``).

    Raises
    ------
    ValueError
        For NaN or infinite values, for an all-zero row with ``"cosine"``
        (its angle is undefined; naming the row), or negative values with ``"chi2"``.

    Examples
    --------
    >>> distances([[1, 0], [0, 1], [1, 1]]).round(3).tolist()
    [[0.0, 1.0, 0.293], [1.0, 0.0, 0.293], [0.293, 0.293, 0.0]]
    """
    from sklearn.metrics import pairwise_distances
    from sklearn.metrics.pairwise import additive_chi2_kernel

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected one descriptor per row, shape (n, d); got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"descriptors contain NaN or infinite values (rows {np.flatnonzero(~np.isfinite(X).all(1))})")
    if metric == "cosine" and (zero := np.flatnonzero(~X.any(axis=1))).size:
        raise ValueError(f"rows {zero.tolist()} are all zero: their cosine distance is undefined")
    if metric == "chi2":
        if (X < 0).any():
            raise ValueError("the chi-squared distance needs non-negative descriptors (histograms)")
        D = -0.5 * additive_chi2_kernel(X)
    elif metric in ("cosine", "euclidean"):
        D = pairwise_distances(X, metric=metric)
    else:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    D = np.maximum((D + D.T) / 2, 0)
    np.fill_diagonal(D, 0)
    return D


def _hits(D, labels) -> np.ndarray:
    """Per query, whether each other item, nearest first (ties in index order), has its label: (n, n - 1)."""
    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    if D.shape != (len(labels), len(labels)):
        raise ValueError(f"distance matrix of shape {D.shape} does not match {len(labels)} labels")
    D = D.copy()
    np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :-1]
    return labels[order] == labels[:, None]


def precision_at_k(D, labels, k: int = 5, per_query: bool = False):
    """Fraction of each item's ``k`` nearest neighbours (itself excluded) that share its label.

    Equal distances are ranked in index order.

    Returns
    -------
    float, the mean over queries; or ndarray of shape (n,) with ``per_query``

    Examples
    --------
    >>> precision_at_k([[0, 1, 5], [1, 0, 5], [5, 5, 0]], ["a", "a", "b"], k=1)
    0.6666666666666666
    """
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    p = _hits(D, labels)[:, :k].mean(axis=1)
    return p if per_query else float(p.mean())


def mean_average_precision(D, labels) -> float:
    """Mean over queries of the average precision of ranking the other items by distance.

    Each query's AP is :func:`sklearn.metrics.average_precision_score` of
    "same label" against minus the distance. Tied distances are ranked
    together: every same-label item in a tie gets the precision reached at
    the end of the tie. Queries whose label no other item has are left out.

    Examples
    --------
    >>> mean_average_precision([[0, 1, 2], [1, 0, 2], [2, 2, 0]], ["a", "a", "b"])
    1.0
    """
    from sklearn.metrics import average_precision_score

    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    if D.shape != (len(labels), len(labels)):
        raise ValueError(f"distance matrix of shape {D.shape} does not match {len(labels)} labels")
    others = ~np.eye(len(labels), dtype=bool)
    same = (labels[:, None] == labels[None, :]) & others
    scores = [
        average_precision_score(same[q][others[q]], -D[q][others[q]]) for q in range(len(labels)) if same[q].any()
    ]
    return float(np.mean(scores))


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
    """Cluster with :func:`scipy.cluster.hierarchy.linkage`, cut into ``n_clusters`` (default: one per label), score.

    Returns
    -------
    dict
        ``ari``, ``nmi``, ``purity`` of the cut, and ``cophenetic``: the
        correlation between the distances and the tree's merge heights.
    """
    from scipy.cluster.hierarchy import cophenet, fcluster, linkage
    from scipy.spatial.distance import squareform

    condensed = squareform(np.asarray(D, dtype=np.float64), checks=False)
    tree = linkage(condensed, method=method)
    k = n_clusters or len(set(np.asarray(labels).tolist()))
    return {
        **cluster_scores(labels, fcluster(tree, k, criterion="maxclust")),
        "cophenetic": float(cophenet(tree, condensed)[0]),
    }


def evaluate(X, labels, metric: str = "cosine", k: int = 5, method: str = "average") -> dict[str, float]:
    """Retrieval and clustering scores of one descriptor: ``p@k``, ``map``, and :func:`linkage_scores`."""
    D = distances(X, metric)
    return {
        f"p@{k}": precision_at_k(D, labels, k),
        "map": mean_average_precision(D, labels),
        **linkage_scores(D, labels, method),
    }


def cv_accuracy(X, labels, folds: int = 5, seed: int = 0) -> float:
    """Mean accuracy of a logistic regression on standardised descriptors, stratified ``folds``-fold CV."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(model, np.asarray(X), np.asarray(labels), cv=cv).mean())


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
    """Precision at ``k`` and mean average precision of random rankings, averaged over ``repeats``."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(repeats):
        R = rng.random((len(labels), len(labels)))
        runs.append((precision_at_k(R + R.T, labels, k), mean_average_precision(R + R.T, labels)))
    p, ap = np.mean(runs, axis=0)
    return {f"p@{k}": float(p), "map": float(ap)}


def scores(hists, labels, *, k: int = 5, seed: int = 0) -> dict[str, float]:
    """One score sheet for code histograms, so that variants are compared the same way.

    Frequencies (L1) with the cosine distance (equal to the lecture's counts
    with cosine) give ``p@k``, ``map``, ``ari``, ``nmi``, ``purity`` and
    ``cophenetic`` (:func:`evaluate`); square-root frequencies with the
    Euclidean (Hellinger) distance give ``hellinger map`` and ``hellinger ari``;
    ``accuracy`` is :func:`cv_accuracy` on the frequencies.
    """
    import warnings

    from .descriptors import normalize_hists

    freq = normalize_hists(hists, "l1")
    cosine = evaluate(freq, labels, "cosine", k)
    hellinger = evaluate(normalize_hists(hists, "sqrt"), labels, "euclidean", k)
    with warnings.catch_warnings():  # labels with fewer items than folds are missing from some folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        accuracy = cv_accuracy(freq, labels, seed=seed)
    return cosine | {"hellinger map": hellinger["map"], "hellinger ari": hellinger["ari"], "accuracy": accuracy}


def format_table(results: Mapping[str, Mapping[str, float]], keys: Sequence[str] | None = None, digits: int = 3) -> str:
    """Rows of scores as an aligned text table: one line per row, one column per key.

    Examples
    --------
    >>> print(format_table({"a": {"map": 0.5}, "bb": {"map": 0.75}}))
           map
    a    0.500
    bb   0.750
    """
    keys = list(keys if keys is not None else next(iter(results.values())))
    first = max(len(str(name)) for name in results)
    widths = [max(len(key), digits + 3) for key in keys]
    lines = [" " * first + "".join(f"  {key:>{w}}" for key, w in zip(keys, widths, strict=True))]
    for name, row in results.items():
        lines.append(
            f"{name!s:<{first}}" + "".join(f"  {row[key]:>{w}.{digits}f}" for key, w in zip(keys, widths, strict=True))
        )
    return "\n".join(lines)
