"""Figures the notebooks share: patch montages, images side by side, image grids.

Each function draws into a Matplotlib figure and returns it (or the axes).
Notebook cells end with ``plt.show()``, not with ``;``: nbval runs cells without
history, where a trailing ``;`` does not silence the value. Figures are kept
small (72 dpi in the notebooks, see :func:`notebook_setup`) so that the stored
notebooks stay light.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from skimage.transform import resize
from skimage.util import montage

__all__ = [
    "dendrogram_thumbnails",
    "describe_figure",
    "image_grid",
    "notebook_setup",
    "scale_patches",
    "show_patches",
    "side_by_side",
    "thumbnail",
]


def scale_patches(p: np.ndarray, scale: str = "each") -> np.ndarray:
    """Map patch values into [0, 1] for display.

    Parameters
    ----------
    p : ndarray, shape (n, r, r) or (n, r, r, 3)
    scale : ``"each"``, ``"all"`` or ``"clip"``
        ``"each"`` stretches every patch to its own min..max (shows the shape
        of normalised patches and code vectors whatever their contrast; a flat
        patch becomes mid-gray); ``"all"`` uses one min..max for the whole
        stack (keeps relative brightness); ``"clip"`` clips to [0, 1] (for raw
        gray or colour patches, as the lecture's ``imshow(clip(patch, 0, 1))``).

    Returns
    -------
    ndarray, same shape as ``p``, float32 in [0, 1]
    """
    p = np.asarray(p, dtype=np.float32)
    if scale == "clip":
        return np.clip(p, 0, 1)
    axes = tuple(range(1, p.ndim)) if scale == "each" else None
    if scale not in ("each", "all"):
        raise ValueError(f"unknown scale {scale!r}; use 'each', 'all' or 'clip'")
    lo, hi = p.min(axis=axes, keepdims=True), p.max(axis=axes, keepdims=True)
    span = hi - lo
    return np.where(span > 1e-6, (p - lo) / np.where(span > 1e-6, span, 1), 0.5).astype(np.float32)


def show_patches(
    p: np.ndarray,
    ncols: int | None = None,
    scale: str = "each",
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> plt.Axes:
    """Show a stack of patches (or code vectors) as one grid image.

    One :func:`skimage.util.montage` and one ``imshow``, instead of the
    lecture's one subplot per patch (much faster for 64 patches or more).

    Parameters
    ----------
    p : ndarray, shape (n, r, r) gray or (n, r, r, 3) colour, or code
        vectors (n, r * r) (reshaped to square patches)
    ncols : int, optional
        Patches per row; default: a square grid.
    scale : str
        See :func:`scale_patches`.
    ax : Axes, optional
        Where to draw; default: a new figure.
    title : str, optional

    Returns
    -------
    Axes
    """
    p = np.asarray(p)
    if p.ndim == 2:  # flat code vectors
        r = round(np.sqrt(p.shape[1]))
        if r * r != p.shape[1]:
            raise ValueError(f"cannot show vectors of length {p.shape[1]} as square gray patches")
        p = p.reshape(len(p), r, r)
    if len(p) == 0:
        raise ValueError("no patches to show")
    n = len(p)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    grid = (int(np.ceil(n / ncols)), ncols)
    rgb = p.ndim == 4
    fill = (1.0,) * 3 if rgb else 1.0  # montage needs one fill value per channel
    m = montage(scale_patches(p, scale), grid_shape=grid, padding_width=1, fill=fill, channel_axis=-1 if rgb else None)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2 + 0.5 * grid[1], 8), min(2 + 0.5 * grid[0], 8)))
    ax.imshow(m, cmap=None if rgb else "gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def side_by_side(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, width: float = 9.0) -> plt.Figure:
    """Show images next to each other, same size, gray ones in gray.

    Parameters
    ----------
    images : sequence of ndarray, each (H, W) or (H, W, 3), values in [0, 1]
    titles : sequence of str, optional
    width : float
        Figure width in inches.

    Returns
    -------
    Figure
    """
    n = len(images)
    h, w = np.shape(images[0])[:2]
    fig, axes = plt.subplots(1, n, figsize=(width, width / n * h / w + 0.5), squeeze=False)
    for i, (ax, im) in enumerate(zip(axes[0], images, strict=True)):
        ax.imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.tight_layout()
    return fig


def thumbnail(image: np.ndarray, size: int = 64) -> np.ndarray:
    """A square ``size x size`` thumbnail: centre crop to a square, then resize."""
    image = np.asarray(image)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return resize(image[top : top + s, left : left + s], (size, size), anti_aliasing=True)


def image_grid(
    rows: Sequence[Sequence[np.ndarray]],
    row_labels: Sequence[str] | None = None,
    titles: Sequence[Sequence[str]] | None = None,
    ncols: int | None = None,
    size: int = 64,
) -> plt.Figure:
    """A grid of square thumbnails, one row per group (e.g. per cluster).

    Parameters
    ----------
    rows : sequence of sequences of images
        Row ``i`` shows the images of group ``i`` (at most ``ncols``).
    row_labels : sequence of str, optional
        Written at the left of each row.
    titles : sequence of sequences of str, optional
        A small caption above each image.
    ncols : int, optional
        Images per row; default: the longest row.
    size : int
        Thumbnail side in pixels.

    Returns
    -------
    Figure
    """
    ncols = ncols or max(1, max(len(r) for r in rows))
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.3 * ncols + 0.8, 1.4 * len(rows)), squeeze=False)
    for i, row in enumerate(rows):
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(row):
                ax.imshow(thumbnail(row[j], size), cmap="gray", vmin=0, vmax=1)
                if titles is not None:
                    ax.set_title(titles[i][j], fontsize=7)
        if row_labels is not None:
            axes[i][0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def describe_figure(fig: plt.Figure) -> str:
    """A short, stable text for a figure: its panel titles (what nbval compares)."""
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    return f"[figure: {', '.join(titles)}]" if titles else f"[figure with {len(fig.axes)} panel(s)]"


def notebook_setup(dpi: int = 72, threads: int | None = 1) -> None:
    """Set up a notebook: small figures without a ``<Figure ...>`` repr, and steady thread use.

    Inline figures normally carry the text ``<Figure size 432x288 with 1 Axes>``
    next to the picture; this replaces it with the figure's panel titles
    (:func:`describe_figure`), which says what the figure shows.

    ``threads`` limits the BLAS and OpenMP threads of numpy, scipy and
    scikit-learn (:func:`threadpoolctl.threadpool_limits`). The problems in
    these notebooks are small: one thread is about as fast as two on an idle
    machine, while several threads that wait for each other can make a
    k-means fit ten times slower when the machine is busy with anything else.
    The printed results do not depend on it (checked with 1, 2 and 4 threads).
    ``None`` leaves the libraries' defaults (``OMP_NUM_THREADS`` etc.), and so
    does setting the environment variable ``HELPERS_THREADS=default``, which
    is how the thread-count check of the README runs the notebooks.
    """
    if os.environ.get("HELPERS_THREADS", "").lower() == "default":
        threads = None
    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        # Starting the inline backend resets the figure formatters, so start it first.
        plt.close(plt.figure())
        shell.display_formatter.formatters["text/plain"].for_type(
            Figure, lambda fig, printer, cycle: printer.text(describe_figure(fig))
        )
    plt.rcParams["figure.dpi"] = dpi  # after the backend start, which may reset rcParams


def dendrogram_thumbnails(
    tree: np.ndarray,
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    n_clusters: int | None = None,
    width: float = 10.0,
    height: float = 3.5,
    size: int = 48,
) -> plt.Figure:
    """A dendrogram with a thumbnail of each image under its leaf.

    Parameters
    ----------
    tree : ndarray, shape (n - 1, 4)
        A linkage matrix from :func:`scipy.cluster.hierarchy.linkage`.
    images : sequence of n images, in the order the tree was built from
    labels : sequence of n str
        Written under the thumbnails.
    n_clusters : int, optional
        Colour the branches of this many clusters (the cut of
        ``fcluster(tree, n_clusters, "maxclust")``).
    width, height : float
        Figure width and dendrogram height, in inches.
    size : int
        Thumbnail side in pixels.

    Returns
    -------
    Figure
        Two panels: the dendrogram (its y axis: merge height) and the strip
        of thumbnails in leaf order.
    """
    from scipy.cluster.hierarchy import dendrogram

    n = len(images)
    strip_h = 0.9 * width / n  # square thumbnails across 90 % of the width
    fig = plt.figure(figsize=(width, height + strip_h + 1.4))
    total = height + strip_h + 1.4
    ax = fig.add_axes((0.06, (strip_h + 1.4) / total, 0.9, (height - 0.4) / total))
    strip = fig.add_axes((0.06, 1.4 / total, 0.9, strip_h / total))
    threshold = tree[-n_clusters + 1, 2] if n_clusters and n_clusters > 1 else None
    leaves = dendrogram(tree, ax=ax, no_labels=True, color_threshold=threshold)["leaves"]
    ax.set_xticks([])
    strip.imshow(np.concatenate([thumbnail(images[i], size) for i in leaves], axis=1), aspect="auto")
    strip.set_xticks(size * (np.arange(n) + 0.5), [labels[i] for i in leaves], rotation=90, fontsize=9)
    strip.set_yticks([])
    return fig
