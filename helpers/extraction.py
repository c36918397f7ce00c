"""Patch extraction: where patches are taken, how they are cut, and how they are normalised.

Patches are cut from a strided view of the image and leave this module as float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .images import ImageReadError, as_rgb

__all__ = [
    "NORMS",
    "STANDARDIZE_EPS",
    "ZCA",
    "corner_positions",
    "grid_positions",
    "patches",
    "patches_at",
    "pnorm",
    "random_positions",
    "sample_patches",
]

#: The normalisations :func:`pnorm` knows, in the order the lecture's commented-out lines build them up.
NORMS = ("none", "center", "contrast", "maxscale", "standardize")
#: Coates & Ng (2011) add 10 to the variance of 0-255 pixels before dividing; on [0, 1] pixels that is 10 / 255**2.
STANDARDIZE_EPS = 10 / 255**2


def pnorm(p, norm: str = "none", colour: bool = False) -> np.ndarray:
    """Normalise one patch or a stack of patches (the lecture's ``pnorm``).

    Without ``colour``, first the mean over the channels. ``"none"``: nothing more;
    ``"center"``: minus the patch's mean; ``"contrast"``: then ``clip(p / clip(var(p),
    0.1, 10), -2, 2)``; ``"maxscale"``: then ``p / max(1, max|p|)``; ``"standardize"``:
    ``(p - mean) / sqrt(var + STANDARDIZE_EPS)`` (Coates & Ng, ``ddof=1``).

    Parameters
    ----------
    p : array_like, shape (..., r, r, 3)
        Integer patches are scaled by their dtype's range first.
    norm : str
        One of :data:`NORMS`.
    colour : bool
        Keep the colour channels.

    Returns
    -------
    ndarray, shape (..., r, r), or (..., r, r, 3) with ``colour``; float64

    Examples
    --------
    >>> p = np.full((8, 8, 3), 128, dtype=np.uint8)
    >>> pnorm(p).shape, round(float(pnorm(p).max()), 3), float(pnorm(p, "center").max())
    ((8, 8), 0.502, 0.0)
    """
    from skimage.util import img_as_float

    p = np.asarray(p)
    if p.ndim < 3 or p.shape[-1] != 3:
        raise ValueError(f"pnorm expects patches of shape (..., r, r, 3), got {p.shape}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
    if p.dtype.kind == "f" and not np.isfinite(p).all():
        raise ValueError("patches contain NaN or infinite values")
    p = img_as_float(p).astype(np.float64, copy=False)
    return _normalise(p if colour else p.mean(axis=-1), norm, 3 if colour else 2)


def _normalise(p: np.ndarray, norm: str, ndim: int) -> np.ndarray:
    """The steps of :func:`pnorm` after the choice of channels; a patch is the last ``ndim`` axes."""
    axes = tuple(range(-ndim, 0))
    if norm == "none":
        return p
    p = p - p.mean(axis=axes, keepdims=True)
    if norm == "standardize":
        return p / np.sqrt(p.var(axis=axes, ddof=1, keepdims=True) + STANDARDIZE_EPS)
    if norm in ("contrast", "maxscale"):
        p = np.clip(p / np.clip(p.var(axis=axes, keepdims=True), 0.1, 10), -2, 2)
    if norm == "maxscale":
        p = p / np.maximum(1.0, np.abs(p).max(axis=axes, keepdims=True))
    return p


def _gray(image: np.ndarray) -> np.ndarray:
    """``image.mean(axis=2)`` in float64, bit for bit (NumPy reduces a length-3 axis slowly)."""
    gray = image[..., 0].astype(np.float64)
    gray += image[..., 1]
    gray += image[..., 2]
    gray /= 3
    return gray


def _check_size(r, step=1) -> None:
    for label, value in (("patch size r", r), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a whole number >= 1, got {value!r}")


def grid_positions(shape: Sequence[int], r: int = 8, step: int | None = None) -> np.ndarray:
    """Top-left corners of ``r x r`` patches on a grid that covers the whole image.

    Every ``step`` (default ``r // 2``) pixels, plus one row (column) flush with the edge
    if the last step leaves pixels uncovered. Returns ``(y, x)`` per patch, shape (n, 2).

    Examples
    --------
    >>> grid_positions((10, 8), r=4, step=4).tolist()
    [[0, 0], [0, 4], [4, 0], [4, 4], [6, 0], [6, 4]]
    """
    step = max(1, r // 2) if step is None else step
    _check_size(r, step)
    h, w = shape[0], shape[1]
    if h < r or w < r:
        return np.empty((0, 2), dtype=np.intp)

    def starts(n: int) -> np.ndarray:
        s = np.arange(0, n - r + 1, step)
        return s if s[-1] == n - r else np.append(s, n - r)

    ys, xs = np.meshgrid(starts(h), starts(w), indexing="ij")
    return np.stack([ys.ravel(), xs.ravel()], axis=1)


def corner_positions(
    image, r: int = 8, *, min_distance: int = 4, threshold: float = 1e-4, max_corners: int | None = None
) -> np.ndarray:
    """Top-left corners of ``r x r`` patches centred on Harris corners ("interest points").

    Local maxima of :func:`skimage.feature.corner_harris` at least ``min_distance`` apart
    above an absolute ``threshold``, the strongest ``max_corners``. Returns ``(y, x)``
    per patch that fits, strongest first, shape (n, 2).

    Examples
    --------
    >>> im = np.zeros((32, 32)); im[8:24, 8:24] = 1
    >>> corner_positions(im, r=8).tolist()
    [[4, 4], [4, 19], [19, 4], [19, 19]]
    """
    from skimage.feature import corner_harris, corner_peaks

    image = as_rgb(image)
    _check_size(r)
    h, w = image.shape[:2]
    response = corner_harris(np.pad(image.mean(axis=2, dtype=np.float64), 8, mode="symmetric"))[8:-8, 8:-8]
    peaks = corner_peaks(response, min_distance=min_distance, threshold_abs=threshold, threshold_rel=0)
    top_left = peaks - r // 2
    fits = (top_left >= 0).all(axis=1) & (top_left[:, 0] <= h - r) & (top_left[:, 1] <= w - r)
    return top_left[fits][:max_corners].astype(np.intp)


def random_positions(shape: Sequence[int], n: int, r: int = 8, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``n`` distinct, uniformly random top-left corners of ``r x r`` patches, shape (n, 2).

    Examples
    --------
    >>> random_positions((16, 16), 3, r=8, seed=0).shape
    (3, 2)
    """
    _check_size(r)
    ny, nx = max(shape[0] - r + 1, 0), max(shape[1] - r + 1, 0)
    if not 0 <= n <= ny * nx:
        raise ValueError(f"cannot place {n} distinct {r} x {r} patches in an image of {shape[0]} x {shape[1]}")
    flat = np.random.default_rng(seed).choice(ny * nx, size=n, replace=False)
    return np.stack(np.divmod(flat, nx), axis=1).astype(np.intp)


def patches_at(image, positions, r: int = 8, norm: str = "none", colour: bool = False) -> np.ndarray:
    """The normalised ``r x r`` patches at top-left corners ``positions`` (n, 2), each of which must fit.

    Returns float64 (n, r, r), or (n, r, r, 3) with ``colour``; ``norm``, ``colour`` as for :func:`pnorm`.
    """
    image = as_rgb(image)
    _check_size(r)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
    positions = np.asarray(positions, dtype=np.intp).reshape(-1, 2)
    h, w = image.shape[:2]
    if len(positions) and (positions.min() < 0 or positions[:, 0].max() > h - r or positions[:, 1].max() > w - r):
        raise ValueError(f"a {r} x {r} patch at one of the positions does not fit in an image of {h} x {w}")
    if colour:
        source = image.astype(np.float64)
        if h < r or w < r:
            return np.empty((0, r, r, 3))
        windows = sliding_window_view(source, (r, r), axis=(0, 1))  # (h-r+1, w-r+1, 3, r, r), a view
        cut = windows[positions[:, 0], positions[:, 1]].transpose(0, 2, 3, 1)
    else:  # the channel mean once per pixel rather than once per patch and pixel: the same numbers, less work
        if h < r or w < r:
            return np.empty((0, r, r))
        cut = sliding_window_view(_gray(image), (r, r))[positions[:, 0], positions[:, 1]]
    return _normalise(cut, norm, 3 if colour else 2)


def patches(image, r: int = 8, step: int | None = None, norm: str = "none", colour: bool = False) -> np.ndarray:
    """All patches of an image on the grid of :func:`grid_positions`, as one array (the lecture's ``patches``).

    Float64, shape (n, r, r), or (n, r, r, 3) with ``colour``.

    Examples
    --------
    >>> patches(np.zeros((16, 16, 3)), r=8).shape
    (9, 8, 8)
    """
    image = as_rgb(image)
    return patches_at(image, grid_positions(image.shape, r, step), r, norm, colour)


def sample_patches(
    images: Sequence,
    n: int | None = 70000,
    r: int = 8,
    step: int | None = None,
    norm: str = "none",
    colour: bool = False,
    random_state=0,
    positions: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """A random sample of grid patches in which every patch of every image is equally likely.

    ``n`` patches (``None``: all) without replacement from the grid (or from ``positions``,
    one (n_i, 2) array per image), in random order; float64, shaped as by :func:`patches`.

    Examples
    --------
    >>> sample_patches([np.zeros((16, 16, 3)), np.ones((8, 8, 3))], n=5).shape
    (5, 8, 8)
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    images = [as_rgb(im, name=f"image {i}") for i, im in enumerate(images)]
    grids = [grid_positions(im.shape, r, step) for im in images] if positions is None else list(positions)
    ends = np.cumsum([len(g) for g in grids])
    total = int(ends[-1]) if len(ends) else 0
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    chosen = np.sort(rng.choice(total, size=total if n is None else min(n, total), replace=False))
    owner = np.searchsorted(ends, chosen, side="right")
    parts = [
        patches_at(im, g[chosen[owner == i] - (ends[i] - len(g))], r, norm, colour)
        for i, (im, g) in enumerate(zip(images, grids, strict=True))
    ]
    if not parts:
        raise ImageReadError("no images given")
    sample = np.concatenate(parts)
    return sample[rng.permutation(len(sample))]


class ZCA(TransformerMixin, BaseEstimator):
    """ZCA whitening: decorrelate the values of flattened patches and give every direction unit variance.

    With the covariance of the training rows :math:`C = U \\operatorname{diag}(\\lambda) U^\\top`,

    .. math:: x \\mapsto U \\operatorname{diag}\\big(1 / \\sqrt{\\lambda + \\epsilon}\\big) U^\\top (x - \\mu),

    with :math:`\\epsilon` = ``eps`` times the mean eigenvalue (``relative=True``) or ``eps``.

    Parameters
    ----------
    eps : float
        Regulariser; > 0.
    relative : bool

    Attributes
    ----------
    mean_ : ndarray, shape (d,)
    eigenvalues_ : ndarray, shape (d,)
        Of the covariance, largest first.
    whitening_ : ndarray, shape (d, d)

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(500, 3)) @ [[3, 0, 0], [1, 1, 0], [0, 0, 0.1]]
    >>> bool(np.allclose(np.cov(ZCA(eps=1e-9).fit_transform(X), rowvar=False), np.eye(3)))
    True
    """

    def __init__(self, eps: float = 0.1, relative: bool = True):
        self.eps = eps
        self.relative = relative

    def fit(self, X, y=None):
        """Fit the whitening to rows ``X`` of shape (n, d)."""
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps!r}")
        self.mean_ = X.mean(axis=0)
        eigenvalues, vectors = np.linalg.eigh(np.cov(X - self.mean_, rowvar=False).reshape(X.shape[1], -1))
        eigenvalues = np.maximum(eigenvalues, 0)
        self.eigenvalues_ = eigenvalues[::-1]
        eps = self.eps * eigenvalues.mean() if self.relative else self.eps
        self.whitening_ = (vectors / np.sqrt(eigenvalues + eps)) @ vectors.T
        return self

    def transform(self, X):
        """Whiten rows ``X`` of shape (n, d); float64."""
        check_is_fitted(self, "whitening_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) @ self.whitening_
