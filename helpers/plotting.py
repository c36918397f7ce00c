"""Figures the notebooks share: patch montages, images side by side, image grids, dendrograms.

Each function draws with Matplotlib and returns the figure or axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "KELLY_COLOURS",
    "cut_height",
    "dendrogram_thumbnails",
    "describe_figure",
    "image_grid",
    "label_dendrogram",
    "notebook_setup",
    "patch_layout",
    "scale_patches",
    "show_patches",
    "side_by_side",
    "thumbnail",
]


def scale_patches(p, scale: str = "each", floor: float = 0.1) -> np.ndarray:
    """Map patch values into [0, 1] for display.

    Parameters
    ----------
    p : array_like, shape (n, r, r) or (n, r, r, 3)
    scale : ``"each"``, ``"all"`` or ``"clip"``
        ``"each"``: every patch around its own mean, over its own range, but
        never over less than ``floor`` times the largest range in the stack,
        so that a near-flat patch is drawn near-flat, not with its faint noise
        stretched to black and white. ``"all"``: one range for the stack.
        ``"clip"``: values clipped to [0, 1] (raw gray or colour patches).
    floor : float
        The contrast floor of ``"each"``, relative to the stack's largest range.

    Returns
    -------
    ndarray, same shape, float64 in [0, 1]

    Examples
    --------
    >>> scale_patches(np.array([[[0.0, 1.0]], [[0.5, 0.51]]])).round(2).tolist()
    [[[0.0, 1.0]], [[0.45, 0.55]]]
    """
    p = np.asarray(p, dtype=np.float64)
    if scale == "clip":
        return np.clip(p, 0, 1)
    if scale not in ("each", "all"):
        raise ValueError(f"unknown scale {scale!r}; use 'each', 'all' or 'clip'")
    axes = tuple(range(1, p.ndim)) if scale == "each" else None
    lo, hi = p.min(axis=axes, keepdims=True), p.max(axis=axes, keepdims=True)
    span = np.maximum(hi - lo, floor * (hi - lo).max() if scale == "each" else 0)
    if not span.max() > 0:
        return np.full_like(p, 0.5)
    return np.clip(0.5 + (p - (lo + hi) / 2) / np.where(span > 0, span, 1), 0, 1)


def show_patches(p, ncols: int | None = None, scale: str = "each", ax=None, title: str | None = None):
    """Show a stack of patches (or flat gray code vectors) as one grid image (:func:`skimage.util.montage`).

    Parameters
    ----------
    p : array_like, shape (n, r, r), (n, r, r, 3), or (n, r * r)
    ncols : int, optional
        Patches per row; default: a square grid.
    scale : str
        See :func:`scale_patches`.
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
    """
    from skimage.util import montage

    p = np.asarray(p)
    if p.ndim == 2:
        r = round(np.sqrt(p.shape[1]))
        if r * r != p.shape[1]:
            raise ValueError(f"cannot show vectors of length {p.shape[1]} as square gray patches")
        p = p.reshape(len(p), r, r)
    if len(p) == 0:
        raise ValueError("no patches to show")
    ncols = ncols or int(np.ceil(np.sqrt(len(p))))
    grid = (int(np.ceil(len(p) / ncols)), ncols)
    rgb = p.ndim == 4
    image = montage(
        scale_patches(p, scale),
        grid_shape=grid,
        padding_width=1,
        fill=(1.0,) * 3 if rgb else 1.0,
        channel_axis=-1 if rgb else None,
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2 + 0.5 * grid[1], 8), min(2 + 0.5 * grid[0], 8)))
    ax.imshow(image, cmap=None if rgb else "gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def patch_layout(image, r: int = 8, step: int | None = None, centre: tuple[int, int] = (0, 0), name: str = "image"):
    """Where the grid's patches lie: a close-up of the image with four neighbouring patches outlined.

    Three panels: the image with the close-up marked (yellow); the close-up,
    pixel by pixel, with the grid's row and column starts (white dotted
    lines) and 2 x 2 neighbouring patches of :func:`helpers.grid_positions`
    outlined in red, cyan, yellow and lime; the same four patches cut out
    (:func:`helpers.patches_at`, gray), in the same colours.

    Parameters
    ----------
    image : array_like, shape (H, W, 3) or (H, W)
        Values in [0, 1].
    r : int
        Patch size.
    step : int, optional
        Grid spacing; default ``r // 2``.
    centre : (int, int)
        Row and column the close-up is centred on, as far as the image allows.
    name : str
        The image's name, for the first panel's title.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        If the image is too small for 2 x 2 grid patches (fewer than
        ``r + step`` rows or columns).

    Examples
    --------
    >>> fig = patch_layout(np.zeros((64, 64, 3)), r=8, step=4, centre=(30, 30))
    >>> [ax.get_title() for ax in fig.axes]
    ['image, close-up in yellow', '4 neighbouring 8 × 8 patches, step 4', 'the same 4 patches, cut out (gray)']
    """
    from .extraction import grid_positions, patches_at

    image = np.asarray(image)
    step = max(1, r // 2) if step is None else step
    h, w = image.shape[:2]
    if min(h, w) < r + step:
        raise ValueError(f"an image of shape {image.shape} is too small for 2 x 2 patches of {r} x {r}, step {step}")
    grid = grid_positions(image.shape, r=r, step=step)
    ys, xs = np.unique(grid[:, 0]), np.unique(grid[:, 1])

    def first(c: int, n: int) -> int:  # the first of two neighbouring grid starts around c, both inside the image
        return int(np.clip(np.floor((c - (r + step) / 2) / step + 0.5), 0, (n - r - step) // step)) * step

    fy, fx = first(centre[0], h), first(centre[1], w)
    four = np.array([(fy + dy, fx + dx) for dy in (0, step) for dx in (0, step)])  # 2 x 2 neighbours, row by row
    y0, x0 = max(0, fy - step), max(0, fx - step)  # the close-up: the four patches and a margin of one step
    close_up = image[y0 : fy + 2 * step + r, x0 : fx + 2 * step + r]
    ch, cw = close_up.shape[:2]
    colours = ["red", "cyan", "yellow", "lime"]
    gray = image.ndim == 2
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    axes[0].imshow(image, cmap="gray" if gray else None, vmin=0, vmax=1)
    axes[0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), cw, ch, fill=False, edgecolor="yellow", linewidth=1.5))
    axes[0].set_title(f"{name}, close-up in yellow")
    axes[0].axis("off")
    extent = (x0 - 0.5, x0 + cw - 0.5, y0 + ch - 0.5, y0 - 0.5)  # axes in image pixels
    axes[1].imshow(close_up, cmap="gray" if gray else None, vmin=0, vmax=1, interpolation="nearest", extent=extent)
    for start in ys[(ys >= y0) & (ys < y0 + ch)]:
        axes[1].axhline(start - 0.5, color="white", linewidth=0.6, linestyle=":")
    for start in xs[(xs >= x0) & (xs < x0 + cw)]:
        axes[1].axvline(start - 0.5, color="white", linewidth=0.6, linestyle=":")
    for k, ((y, x), colour) in enumerate(zip(four, colours, strict=True)):
        inset = 0.12 * k  # so that edges on top of each other stay visible
        outline = plt.Rectangle((x - 0.5 + inset, y - 0.5 + inset), r - 2 * inset, r - 2 * inset, fill=False)
        outline.set(edgecolor=colour, linewidth=2)
        axes[1].add_patch(outline)
    axes[1].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[1].yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[1].set_title(f"4 neighbouring {r} × {r} patches, step {step}")
    axes[1].set_xlabel("column (pixels)")
    axes[1].set_ylabel("row (pixels)")
    show_patches(patches_at(image, four, r=r), ncols=2, scale="clip", ax=axes[2])
    for k, colour in enumerate(colours):  # montage tiles start after a 1-pixel padding
        tile = plt.Rectangle((0.5 + (k % 2) * (r + 1), 0.5 + (k // 2) * (r + 1)), r, r, fill=False)
        tile.set(edgecolor=colour, linewidth=2)
        axes[2].add_patch(tile)
    axes[2].set_title("the same 4 patches, cut out (gray)")
    fig.tight_layout()
    return fig


def side_by_side(images: Sequence, titles: Sequence[str] | None = None, width: float = 9.0):
    """Images next to each other at the same size, gray ones in gray; returns the Figure."""
    h, w = np.shape(images[0])[:2]
    fig, axes = plt.subplots(1, len(images), figsize=(width, width / len(images) * h / w + 0.5), squeeze=False)
    for i, (ax, image) in enumerate(zip(axes[0], images, strict=True)):
        ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.tight_layout()
    return fig


def thumbnail(image, size: int = 64) -> np.ndarray:
    """A ``size x size`` thumbnail: the central square, resized with anti-aliasing."""
    from skimage.transform import resize

    image = np.asarray(image)
    h, w = image.shape[:2]
    s = min(h, w)
    return resize(image[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2], (size, size), anti_aliasing=True)


def image_grid(rows: Sequence[Sequence], row_labels=None, titles=None, ncols: int | None = None, size: int = 64):
    """Square thumbnails, one row per group (e.g. per cluster), with optional captions; returns the Figure."""
    ncols = ncols or max(1, max(len(row) for row in rows))
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.3 * ncols + 0.8, 1.4 * len(rows)), squeeze=False)
    for i, row in enumerate(rows):
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
            if j < len(row):
                ax.imshow(thumbnail(row[j], size), cmap="gray", vmin=0, vmax=1)
                if titles is not None:
                    ax.set_title(titles[i][j], fontsize=7)
        if row_labels is not None:
            axes[i][0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def cut_height(tree, n_clusters: int) -> float:
    """A height at which cutting the tree leaves ``n_clusters`` clusters: midway between two merges.

    ``fcluster(tree, n_clusters, "maxclust")`` gives the same clusters (when no two merges tie).

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

    Parameters
    ----------
    tree : ndarray, shape (n - 1, 4)
        From :func:`scipy.cluster.hierarchy.linkage`.
    images, labels : sequences of n
    n_clusters : int, optional
        Colour the branches of this many clusters (the cut of ``fcluster(tree, n_clusters, "maxclust")``).

    Returns
    -------
    Figure
        Its first axes is the dendrogram, the second the strip of thumbnails.
    """
    from scipy.cluster.hierarchy import dendrogram

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

    Where the tree groups items as the labels do, the strip shows runs of one
    colour. Default colours: :data:`KELLY_COLOURS`, in the order the labels
    first appear (beyond 20 labels they repeat). Runs of at least
    ``name_runs`` leaves are also named under the strip, so that a run can be
    read without matching colours to a legend (``None``: no names).

    Returns
    -------
    dict
        The colour of each label (for a legend).
    """
    from matplotlib.colors import to_rgba
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    labels = np.asarray(labels)
    if colours is None:
        names = dict.fromkeys(labels.tolist())
        colours = {name: KELLY_COLOURS[i % len(KELLY_COLOURS)] for i, name in enumerate(names)}
    ax = ax if ax is not None else plt.gca()
    tree = linkage(squareform(np.asarray(D, dtype=np.float64), checks=False), method=method)
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


def describe_figure(fig) -> str:
    """A short, stable text for a figure: its panel titles (what nbval compares instead of ``<Figure size ...>``)."""
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    return f"[figure: {', '.join(titles)}]" if titles else f"[figure with {len(fig.axes)} panel(s)]"


def notebook_setup(dpi: int = 72) -> None:
    """Small inline figures whose text form is their panel titles (:func:`describe_figure`).

    Sets ``figure.dpi`` and, in IPython, replaces a figure's plain-text form
    ``<Figure size 432x288 with 1 Axes>`` by what it shows. Changes nothing else.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        from matplotlib.figure import Figure

        plt.close(plt.figure())  # starting the inline backend resets the formatters: start it first
        shell.display_formatter.formatters["text/plain"].for_type(
            Figure, lambda fig, p, cycle: p.text(describe_figure(fig))
        )
    plt.rcParams["figure.dpi"] = dpi
