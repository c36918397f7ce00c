"""Figures the notebooks share: patch montages, images side by side, image grids, dendrograms."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .tree import cut_height, dendrogram_thumbnails, label_dendrogram  # noqa: F401  (the names notebooks use)

__all__ = [
    "describe_figure",
    "error_panels",
    "image_grid",
    "notebook_setup",
    "patch_layout",
    "scale_patches",
    "show_patches",
    "side_by_side",
    "thumbnail",
]


def scale_patches(p, scale: str = "each", floor: float = 0.1) -> np.ndarray:
    """Map patch values into [0, 1] for display.

    ``scale="each"``: each patch over its own range (at least ``floor`` times the largest);
    ``"all"``: one range; ``"clip"``: clipped. Shape kept, float64.

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

    ``p``: (n, r, r), (n, r, r, 3) or (n, r * r); ``ncols`` default: square. Returns the Axes.
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

    Three panels: the image, the close-up around ``centre`` with 2 x 2 grid patches outlined,
    the four patches cut out. Raises ValueError if the image is smaller than ``r + step``.

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


def error_panels(original, decoded, titles: Sequence[str], vmax: float = 0.25):
    """A gray image, its reconstruction and their absolute difference, side by side.

    Parameters
    ----------
    original, decoded : array_like, shape (h, w)
        Gray images with values in [0, 1], of the same shape.
    titles : two str
        The titles of the first two panels.
    vmax : float
        The error drawn brightest, with a colour bar; larger errors are drawn as ``vmax``.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels and a colour bar; the third panel's title is ``"absolute error (0 to vmax)"``.

    Raises
    ------
    ValueError
        If the two images differ in shape.

    Examples
    --------
    >>> fig = error_panels(np.zeros((8, 8)), np.full((8, 8), 0.1), ["original", "decoded"])
    >>> describe_figure(fig)
    '[figure: original, decoded, absolute error (0 to 0.25)]'
    """
    original, decoded = np.asarray(original, dtype=np.float64), np.asarray(decoded, dtype=np.float64)
    if original.shape != decoded.shape:
        raise ValueError(f"the images differ in shape: {original.shape} and {decoded.shape}")
    fig, axes = plt.subplots(1, 4, figsize=(12.5, 4.2), gridspec_kw={"width_ratios": [1, 1, 1, 0.05]})
    for ax, shown, title in zip(axes[:2], [original, decoded], titles, strict=True):
        ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
    error = axes[2].imshow(np.abs(original - decoded), cmap="magma", vmin=0, vmax=vmax)
    axes[2].set_title(f"absolute error (0 to {vmax:g})")
    for ax in axes[:3]:
        ax.axis("off")
    fig.colorbar(error, cax=axes[3], label="|original − decoded|")
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


def describe_figure(fig) -> str:
    """A short, stable text for a figure: its panel titles (what nbval compares instead of ``<Figure size ...>``)."""
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    return f"[figure: {', '.join(titles)}]" if titles else f"[figure with {len(fig.axes)} panel(s)]"


def notebook_setup(dpi: int = 72) -> None:
    """Small inline figures whose text form is their panel titles (:func:`describe_figure`).

    Sets ``figure.dpi`` and, in IPython, a figure's plain-text form.
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
