"""The tree: distances between descriptors, hierarchical clustering, and the tree cut and drawn.

:func:`linkage_tree` passes SciPy the *condensed* distance matrix (the lecture passed the square one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "KELLY_COLOURS",
    "METRICS",
    "cut_height",
    "dendrogram_thumbnails",
    "distances",
    "label_dendrogram",
    "linkage_tree",
]

#: Distances :func:`distances` knows.
METRICS = ("cosine", "euclidean", "chi2")


def distances(X, metric: str = "cosine") -> np.ndarray:
    """Square matrix of distances between the rows of ``X``, in float64.

    ``"chi2"`` is :math:`\\tfrac12 \\sum_j (x_j - y_j)^2 / (x_j + y_j)`. Raises ValueError for NaN,
    an all-zero row with ``"cosine"`` or negative values with ``"chi2"``.

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


def linkage_tree(D, method: str = "average") -> np.ndarray:
    """The linkage matrix (n - 1, 4) of a square distance matrix ``D``: SciPy's ``linkage`` on its condensed form.

    Examples
    --------
    >>> linkage_tree([[0, 1, 4], [1, 0, 4], [4, 4, 0]])[:, 2].tolist()
    [1.0, 4.0]
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"expected a square distance matrix, got shape {D.shape}")
    return linkage(squareform(D, checks=False), method=method)


def cut_height(tree, n_clusters: int) -> float:
    """A height at which cutting the tree leaves ``n_clusters`` clusters: midway between two merges.

    Examples
    --------
    >>> tree = np.array([[0, 1, 0.2, 2], [2, 3, 0.6, 3]])
    >>> cut_height(tree, 2), cut_height(tree, 1), cut_height(tree, 3)
    (0.4, 0.66, 0.1)
    """
    heights = np.concatenate([[0], np.asarray(tree)[:, 2]])
    n = len(heights)
    if not 1 <= n_clusters <= n:
        raise ValueError(f"a tree of {n} items has 1 to {n} clusters, not {n_clusters}")
    if n_clusters == 1:
        return float(heights[-1] * 1.1)
    return float((heights[n - n_clusters] + heights[n - n_clusters + 1]) / 2)


def dendrogram_thumbnails(
    tree,
    images: Sequence,
    labels: Sequence[str],
    n_clusters: int | None = None,
    width: float = 10.0,
    height: float = 3.5,
    size: int = 48,
):
    """A dendrogram with a thumbnail of each image under its leaf.

    ``n_clusters`` colours the branches of so many clusters. Returns the Figure (dendrogram axes, then the strip).
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    from .plotting import thumbnail

    n = len(images)
    strip_h = 0.9 * width / n
    total = height + strip_h + 1.4
    fig = plt.figure(figsize=(width, total))
    ax = fig.add_axes((0.06, (strip_h + 1.4) / total, 0.9, (height - 0.4) / total))
    strip = fig.add_axes((0.06, 1.4 / total, 0.9, strip_h / total))
    threshold = cut_height(tree, n_clusters) if n_clusters and n_clusters > 1 else None
    leaves = dendrogram(tree, ax=ax, no_labels=True, color_threshold=threshold)["leaves"]
    ax.set_xticks([])
    strip.imshow(np.concatenate([thumbnail(images[i], size) for i in leaves], axis=1), aspect="auto")
    strip.set_xticks(size * (np.arange(n) + 0.5), [labels[i] for i in leaves], rotation=90, fontsize=9)
    strip.set_yticks([])
    return fig


#: Kelly's (1965) colours of maximum contrast, without white and black: 20 hues, neighbours in the list far apart.
KELLY_COLOURS = (
    "#F3C300", "#875692", "#F38400", "#A1CAF1", "#BE0032", "#C2B280", "#848482", "#008856", "#E68FAC", "#0067A5",
    "#F99379", "#604E97", "#F6A600", "#B3446C", "#DCD300", "#882D17", "#8DB600", "#654522", "#E25822", "#2B3D26",
)  # fmt: skip


def label_dendrogram(
    D, labels, method: str = "average", *, ax=None, colours: dict | None = None, name_runs: int | None = 4
) -> dict:
    """A dendrogram of the items with a strip below it coloured by each leaf's label.

    Default colours: :data:`KELLY_COLOURS`; runs of at least ``name_runs`` leaves are named.
    Returns the colour of each label (for a legend).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from scipy.cluster.hierarchy import dendrogram

    labels = np.asarray(labels)
    if colours is None:
        names = dict.fromkeys(labels.tolist())
        colours = {name: KELLY_COLOURS[i % len(KELLY_COLOURS)] for i, name in enumerate(names)}
    ax = ax if ax is not None else plt.gca()
    tree = linkage_tree(D, method)
    leaves = dendrogram(tree, ax=ax, no_labels=True, color_threshold=0, above_threshold_color="0.35")["leaves"]
    strip = ax.inset_axes((0, -0.1, 1, 0.07))
    strip.imshow([[to_rgba(colours[labels[i]]) for i in leaves]], aspect="auto", extent=(0, 10 * len(leaves), 0, 1))
    strip.set_xlim(ax.get_xlim())
    strip.set_ylim(0, 1)
    strip.set_axis_off()
    if name_runs:
        ordered = labels[leaves]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        for start, stop in zip(starts, np.r_[starts[1:], len(ordered)], strict=True):
            if stop - start >= name_runs:
                strip.text(5 * (start + stop), -0.15, ordered[start], rotation=90, ha="center", va="top", fontsize=8)
    return colours
