"""Patches: small, equal-sized square pieces of an image, and how to normalise them.

The lecture's ``patches`` is a generator with two Python loops; here every
function works on whole stacks of patches at once, with strided views
(:func:`numpy.lib.stride_tricks.sliding_window_view`) instead of loops.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = [
    "NORMS",
    "ZCA",
    "corner_positions",
    "grid_positions",
    "patches",
    "patches_at",
    "pnorm",
    "sample_patches",
]

#: The normalisations :func:`pnorm` knows, in the order the lecture builds them up.
NORMS = ("gray", "center", "contrast", "maxscale", "standardize", "rgb")


def pnorm(p: np.ndarray, norm: str = "gray") -> np.ndarray:
    """Normalise one patch or a stack of patches.

    The lecture's ``pnorm`` keeps line 1 and comments out three more; each
    uncommented line adds to the one before. The options reproduce those
    steps cumulatively, plus two of our own:

    ============== ========================================================
    ``"gray"``     mean over the colour channels (the lecture, as it ran)
    ``"center"``   ... minus the patch's mean gray (lecture line 5)
    ``"contrast"`` ... divided by ``clip(var, 0.1, 10)``, clipped to [-2, 2]
                   (line 6; for pixels in [0, 1] the variance is at most
                   0.25, so the clip makes this "multiply by 10" for almost
                   every patch)
    ``"maxscale"`` ... divided by ``max(1, max|p|)``, into [-1, 1] (line 7)
    ``"standardize"`` gray minus mean, divided by ``sqrt(var + 0.01)``: the
                   contrast normalisation of Coates & Ng (2011), with the
                   small constant that keeps flat patches from blowing up
    ``"rgb"``      no change: keep the 3 colour channels
    ============== ========================================================

    Parameters
    ----------
    p : ndarray, shape (..., r, r, 3)
        One patch or any stack of patches, values in [0, 1].
    norm : str
        One of :data:`NORMS`.

    Returns
    -------
    ndarray, shape (..., r, r), or (..., r, r, 3) for ``"rgb"``; float32

    Examples
    --------
    >>> p = np.full((8, 8, 3), 0.5, dtype=np.float32)
    >>> pnorm(p).shape, float(pnorm(p, "center").max())
    ((8, 8), 0.0)
    """
    p = np.asarray(p, dtype=np.float32)
    if p.ndim < 3 or p.shape[-1] != 3:
        raise ValueError(f"pnorm expects patches of shape (..., r, r, 3), got {p.shape}")
    if norm == "rgb":
        return p
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
    return _normalize_gray(p.mean(axis=-1), norm)


def _gray(image: np.ndarray) -> np.ndarray:
    """``image.mean(axis=2)`` in float32, bit for bit, about ten times faster.

    NumPy's mean adds the three channels in order, then divides by the count
    (an ``intp``, so the division is done in float64 and rounded to float32);
    this does the same with whole-image additions instead of a reduction over
    an axis of length 3, which NumPy handles slowly.
    """
    image = np.asarray(image, dtype=np.float32)
    total = image[..., 0] + image[..., 1]
    total += image[..., 2]
    return np.true_divide(total, np.intp(3), out=total, casting="unsafe")


def _normalize_gray(g: np.ndarray, norm: str) -> np.ndarray:
    """The steps of :func:`pnorm` after the mean over the colour channels; ``g`` has shape (..., r, r)."""
    if norm == "gray":
        return g
    g = g - g.mean(axis=(-2, -1), keepdims=True)
    if norm == "standardize":
        return g / np.sqrt(g.var(axis=(-2, -1), keepdims=True) + 0.01)
    if norm in ("contrast", "maxscale"):
        g = np.clip(g / np.clip(g.var(axis=(-2, -1), keepdims=True), 0.1, 10), -2, 2)
    if norm == "maxscale":
        g = g / np.maximum(1.0, np.abs(g).max(axis=(-2, -1), keepdims=True))
    return g


def _check_rs(r: int, step: int) -> None:
    if not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"patch size r must be a whole number >= 1, got {r!r}")
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be a whole number >= 1, got {step!r}")


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected an H x W x 3 image, got shape {image.shape}; helpers.as_rgb(image) converts gray and RGBA images"
        )
    if image.dtype.kind != "f":
        raise ValueError(
            f"expected a float image in [0, 1], got dtype {image.dtype}; "
            "helpers.as_rgb(image) converts integer images by their dtype's range"
        )
    return image


def grid_positions(shape: Sequence[int], r: int = 8, step: int | None = None) -> np.ndarray:
    """Top-left corners of the ``r x r`` patches on a grid that covers the image.

    Rows and columns start at 0 and advance by ``step``; when ``H - r`` (or
    ``W - r``) is not a multiple of the step, one more row (column) is added
    flush with the bottom (right) edge, so that every pixel lies in some patch. The
    lecture's ``range(0, h - r, step)`` stops one step short and never sees
    the last rows and columns.

    Parameters
    ----------
    shape : (H, W, ...)
        The image's shape.
    r : int
        Patch size in pixels.
    step : int, optional
        Distance between neighbouring patches; default ``r // 2`` (half
        overlapping, as in the lecture), at least 1.

    Returns
    -------
    ndarray, shape (n, 2), int
        ``(y, x)`` per patch, row by row. Empty if the image is smaller than
        ``r`` in either direction.

    Examples
    --------
    >>> grid_positions((10, 8), r=4, step=4).tolist()
    [[0, 0], [0, 4], [4, 0], [4, 4], [6, 0], [6, 4]]
    """
    step = max(1, r // 2) if step is None else step
    _check_rs(r, step)
    h, w = shape[0], shape[1]
    if h < r or w < r:
        return np.empty((0, 2), dtype=np.intp)

    def starts(n: int) -> np.ndarray:
        s = np.arange(0, n - r + 1, step)
        return s if s[-1] == n - r else np.append(s, n - r)

    ys, xs = np.meshgrid(starts(h), starts(w), indexing="ij")
    return np.stack([ys.ravel(), xs.ravel()], axis=1)


def corner_positions(image: np.ndarray, r: int = 8, min_distance: int = 4, threshold_rel: float = 0.02) -> np.ndarray:
    """Top-left corners of ``r x r`` patches centred on Harris corners ("interest points").

    :func:`skimage.feature.corner_harris` scores, on the gray image, how much
    a small window changes when shifted in any direction;
    :func:`skimage.feature.corner_peaks` keeps its local maxima. Corners
    closer than ``r // 2`` to the border, whose patch would not fit, are
    dropped.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
    r : int
        Patch size.
    min_distance : int
        Minimum distance between two corners, in pixels.
    threshold_rel : float
        Keep corners scoring at least this fraction of the strongest one.

    Returns
    -------
    ndarray, shape (n, 2), int
        ``(y, x)`` positions for :func:`patches_at`, strongest corner first.
    """
    from skimage.feature import corner_harris, corner_peaks

    image = _check_image(image)
    _check_rs(r, 1)
    h, w = image.shape[:2]
    if h < r or w < r:
        return np.empty((0, 2), dtype=np.intp)
    # Mirror the border first: corner_harris pads with zeros, so the image's own edge looks like a
    # strong corner, and threshold_rel would be relative to that artefact (8 > its 5-pixel reach).
    response = corner_harris(np.pad(image.mean(axis=2), 8, mode="symmetric"))[8:-8, 8:-8]
    peaks = corner_peaks(response, min_distance=min_distance, threshold_rel=threshold_rel)
    top_left = peaks - r // 2
    fits = (top_left >= 0).all(axis=1) & (top_left[:, 0] <= h - r) & (top_left[:, 1] <= w - r)
    return top_left[fits].astype(np.intp)


def patches_at(image: np.ndarray, positions: np.ndarray, r: int = 8, norm: str = "gray") -> np.ndarray:
    """The ``r x r`` patches whose top-left corners are ``positions``, normalised.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
    positions : ndarray, shape (n, 2), int
        ``(y, x)`` of each patch's top-left corner; every patch must fit inside
        the image.
    r : int
        Patch size in pixels.
    norm : str
        Passed to :func:`pnorm`.

    Returns
    -------
    ndarray, shape (n, r, r), or (n, r, r, 3) for ``norm="rgb"``; float32
    """
    image = _check_image(image)
    _check_rs(r, 1)
    positions = np.asarray(positions, dtype=np.intp).reshape(-1, 2)
    h, w = image.shape[:2]
    if len(positions) and (positions.min() < 0 or positions[:, 0].max() > h - r or positions[:, 1].max() > w - r):
        raise ValueError(f"a patch of size {r} at one of the positions does not fit in an image of {h} x {w}")
    if h < r or w < r:
        if len(positions):
            raise ValueError(f"image of {h} x {w} is smaller than the patch size {r}")
        return pnorm(np.empty((0, r, r, 3), dtype=np.float32), norm)
    if norm == "rgb":
        windows = sliding_window_view(image, (r, r), axis=(0, 1))  # (h-r+1, w-r+1, 3, r, r), a view
        return pnorm(windows[positions[:, 0], positions[:, 1]].transpose(0, 2, 3, 1), norm)  # (n, r, r, 3), a copy
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
    # pnorm's mean over the colour channels, taken once per pixel instead of once per patch and pixel:
    # the same numbers, with less work (patches overlap) and one channel to copy instead of three.
    windows = sliding_window_view(_gray(image), (r, r))  # (h-r+1, w-r+1, r, r), a view
    return _normalize_gray(windows[positions[:, 0], positions[:, 1]], norm)  # (n, r, r), a copy


def patches(image: np.ndarray, r: int = 8, step: int | None = None, norm: str = "gray") -> np.ndarray:
    """All patches of an image on a regular grid, as one array.

    The lecture's generator, without its loops and its edge defect: patches
    start every ``step`` pixels and the grid reaches the bottom and right
    edges (see :func:`grid_positions`).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
        As returned by :func:`helpers.load_images` (already black-cropped).
    r : int
        Patch size in pixels (the lecture's ``r = 8``).
    step : int, optional
        Grid spacing; default ``r // 2``.
    norm : str
        Passed to :func:`pnorm`; default ``"gray"``, the lecture's.

    Returns
    -------
    ndarray, shape (n, r, r), or (n, r, r, 3) for ``norm="rgb"``; float32
        Row by row. ``n = 0`` when the image is smaller than ``r``.

    Raises
    ------
    ValueError
        If ``r < 1`` or ``step < 1``, or the image is not ``H x W x 3`` float.

    Examples
    --------
    >>> image = np.zeros((16, 16, 3), dtype=np.float32)
    >>> patches(image, r=8).shape
    (9, 8, 8)
    """
    image = _check_image(image)
    return patches_at(image, grid_positions(image.shape, r, step), r, norm)


def sample_patches(
    images: Sequence[np.ndarray],
    n: int = 70000,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    seed: int = 0,
) -> np.ndarray:
    """A random sample of grid patches from a collection of images.

    The lecture's "extract patches across the whole image" step. The lecture
    shuffles the images and fills its array from the first ones until it is
    full, so that a handful of images supply every patch. Here every grid
    patch of every image is equally likely to be drawn; the result is
    shuffled, and the same ``seed`` gives the same sample.

    Parameters
    ----------
    images : sequence of ndarray, each (H, W, 3) float
    n : int
        How many patches to draw. If the collection has fewer, all are
        returned (shuffled) and a warning says so.
    r, step, norm
        As for :func:`patches`.
    seed : int
        Seed of the random draw.

    Returns
    -------
    ndarray, shape (n, r, r), or (n, r, r, 3) for ``norm="rgb"``; float32
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    grids = [grid_positions(np.shape(im), r, step) for im in images]
    counts = np.array([len(g) for g in grids])
    total = int(counts.sum())
    if n > total:
        warnings.warn(f"asked for {n} patches but the images have only {total}; returning all", stacklevel=2)
        n = total
    chosen = np.sort(rng.choice(total, size=n, replace=False))
    owner = np.searchsorted(np.cumsum(counts), chosen, side="right")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = [
        patches_at(im, g[chosen[owner == i] - offsets[i]], r, norm)
        for i, (im, g) in enumerate(zip(images, grids, strict=True))
        if np.any(owner == i)
    ]
    if not parts:
        return pnorm(np.empty((0, r, r, 3), dtype=np.float32), norm)
    sample = np.concatenate(parts)
    return sample[rng.permutation(len(sample))]


class ZCA(TransformerMixin, BaseEstimator):
    """ZCA whitening of patches: decorrelate pixels, keep the patch's look.

    Fit on a sample of patches, then apply to any patches of the same size.
    With the patch covariance ``C = U diag(lambda) U^T`` (over flattened,
    centred patches), the transform is

    .. math:: x \\mapsto U \\operatorname{diag}(1/\\sqrt{\\lambda + \\epsilon}) U^T (x - \\mu)

    PCA whitening stops after the rotation into ``U``; ZCA rotates back, so
    whitened patches still look like (edge-enhanced) patches and can be shown
    as images. scikit-learn's ``PCA(whiten=True)`` is the PCA variant, hence
    this short class. Coates & Ng (2011) report whitening as crucial for
    k-means features.

    Parameters
    ----------
    eps : float
        Regulariser added to each eigenvalue; keeps directions of tiny
        variance (noise) from being amplified without bound. Its scale is
        that of the pixel variance (pixels in [0, 1]: 0.01 is moderate).

    Attributes
    ----------
    mean_ : ndarray, shape (d,)
    whitening_ : ndarray, shape (d, d)
    shape_ : tuple
        Shape of one patch seen in :meth:`fit`.
    """

    def __init__(self, eps: float = 0.01):
        self.eps = eps

    def fit(self, X: np.ndarray, y=None) -> ZCA:
        """Fit on patches ``X`` of shape (n, ...) (flattened internally)."""
        X = np.asarray(X)
        if X.ndim < 2 or len(X) < 2:
            raise ValueError(f"ZCA.fit needs at least 2 patches, got an array of shape {X.shape}")
        flat = X.reshape(len(X), -1).astype(np.float64)
        self.shape_ = X.shape[1:]
        self.mean_ = flat.mean(axis=0)
        cov = np.cov(flat - self.mean_, rowvar=False)
        eigvals, eigvecs = np.linalg.eigh(cov)
        self.whitening_ = (eigvecs / np.sqrt(np.maximum(eigvals, 0) + self.eps)) @ eigvecs.T
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Whiten patches of the fitted shape; returns float32 of the same shape."""
        X = np.asarray(X)
        if X.shape[1:] != self.shape_:
            raise ValueError(f"ZCA was fitted on patches of shape {self.shape_}, got {X.shape[1:]}")
        flat = X.reshape(len(X), -1) - self.mean_
        return (flat @ self.whitening_).astype(np.float32).reshape(X.shape)
