"""VQ code histograms: how often each code vector occurs in an image.

A histogram of codes is a fixed-length description of an image of any size
(a "bag of visual words"); images are then compared by a distance between
their histograms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from .patches import ZCA, corner_positions, grid_positions, patches_at
from .vq import check_codebook, nearest_codes

__all__ = ["HIST_NORMS", "colour_hists", "count_codes", "normalize_hists", "patchhist", "patchhists"]

#: The histogram normalisations :func:`normalize_hists` knows.
HIST_NORMS = ("counts", "l1", "l2", "sqrt", "tfidf")


def patchhist(
    image: np.ndarray,
    km: MiniBatchKMeans,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    *,
    where: str = "grid",
    whiten: ZCA | None = None,
) -> np.ndarray:
    """Histogram of the codes of an image's grid patches.

    The lecture's ``patchhist``: all patches of :func:`helpers.patches`
    (half-overlapping by default), their codes from ONE ``nearest_codes`` call, then
    counted with :func:`numpy.bincount` (the lecture uses a ``Counter`` and a
    loop, and reads the global ``km``).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
    km : fitted codebook of ``r x r`` patches normalised with ``norm``
    r, step, norm
        As for :func:`helpers.patches`.
    where : ``"grid"`` or ``"corners"``
        Patches on the regular grid (the lecture), or centred on Harris
        corners (:func:`helpers.corner_positions`; ``step`` is then unused).
    whiten : ZCA, optional
        A fitted :class:`helpers.ZCA` applied to the patches after ``norm``
        (the codebook must have been fitted on whitened patches too).

    Returns
    -------
    ndarray, shape (K,), float64
        Counts; they sum to the number of patches of the image.
    """
    check_codebook(km, r, 3 if norm == "rgb" else 1)
    if where == "grid":
        positions = grid_positions(np.shape(image), r, step)
    elif where == "corners":
        positions = corner_positions(image, r)
    else:
        raise ValueError(f"where must be 'grid' or 'corners', got {where!r}")
    return count_codes(patches_at(image, positions, r, norm), km, whiten=whiten)


def count_codes(p: np.ndarray, km: MiniBatchKMeans, *, whiten: ZCA | None = None) -> np.ndarray:
    """Histogram of the codes of patches already cut and normalised: ONE ``nearest_codes``, one ``bincount``.

    The counting step of :func:`patchhist`, for patches from anywhere (e.g.
    cut once and coded with several codebooks).

    Parameters
    ----------
    p : ndarray, shape (n, r, r) or (n, r, r, 3); n may be 0
    km : fitted codebook of patches of that size
    whiten : ZCA, optional
        Applied to the patches first (the codebook must have been fitted on
        whitened patches too).

    Returns
    -------
    ndarray, shape (K,), float64
        Counts; they sum to ``n``.
    """
    k, d = km.cluster_centers_.shape
    p = np.asarray(p)
    if len(p) == 0:
        return np.zeros(k)
    if whiten is not None:
        p = whiten.transform(p)
    flat = p.reshape(len(p), -1).astype(km.cluster_centers_.dtype, copy=False)
    if flat.shape[1] != d:
        raise ValueError(f"codebook mismatch: code vectors have {d} values, the patches have {flat.shape[1]}")
    return np.bincount(nearest_codes(flat, km), minlength=k).astype(np.float64)


def patchhists(
    images: Sequence[np.ndarray],
    km: MiniBatchKMeans,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    *,
    where: str = "grid",
    whiten: ZCA | None = None,
) -> np.ndarray:
    """:func:`patchhist` of every image, stacked: shape (n_images, K)."""
    return np.array([patchhist(im, km, r, step, norm, where=where, whiten=whiten) for im in images]).reshape(
        len(images), len(km.cluster_centers_)
    )


def normalize_hists(hists: np.ndarray, method: str = "l1") -> np.ndarray:
    """Normalise a matrix of code histograms, one row per image.

    ========== ==========================================================
    ``counts`` unchanged (raw counts)
    ``l1``     each row divided by its sum: code frequencies
    ``l2``     each row divided by its Euclidean length
    ``sqrt``   square root of the L1 frequencies (Hellinger / RootSIFT:
               Euclidean distance on these is the Hellinger distance,
               up to a factor sqrt(2))
    ``tfidf``  counts weighted by ``log((1 + n) / (1 + df)) + 1``, where
               ``df`` is the number of images using the code, then L2;
               :class:`sklearn.feature_extraction.text.TfidfTransformer`
    ========== ==========================================================

    Parameters
    ----------
    hists : ndarray, shape (n_images, K)
    method : str
        One of :data:`HIST_NORMS`.

    Returns
    -------
    ndarray, shape (n_images, K), float64
        Rows of an all-zero histogram stay zero.
    """
    hists = np.asarray(hists, dtype=np.float64)
    if hists.ndim != 2:
        raise ValueError(f"expected a (n_images, K) matrix of histograms, got shape {hists.shape}")
    if method == "counts":
        return hists.copy()
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfTransformer

        return TfidfTransformer().fit_transform(hists).toarray()
    if method in ("l1", "sqrt"):
        sums = hists.sum(axis=1, keepdims=True)
        freq = np.divide(hists, sums, out=np.zeros_like(hists), where=sums > 0)
        return np.sqrt(freq) if method == "sqrt" else freq
    if method == "l2":
        norms = np.linalg.norm(hists, axis=1, keepdims=True)
        return np.divide(hists, norms, out=np.zeros_like(hists), where=norms > 0)
    raise ValueError(f"unknown histogram normalisation {method!r}; choose one of {HIST_NORMS}")


def colour_hists(images: Sequence[np.ndarray] | np.ndarray, bins: int = 4) -> np.ndarray:
    """Joint RGB colour histograms: a plain baseline descriptor with no patches.

    Each channel is cut into ``bins`` equal intervals of [0, 1], giving
    ``bins**3`` colour cells; each image's row counts its pixels per cell,
    divided by its number of pixels. (For gray images all pixels fall on the
    diagonal cells, so this is a gray-level histogram with ``bins`` levels.)

    Parameters
    ----------
    images : sequence of ndarray (H, W, 3) in [0, 1], or one array (n, H, W, 3)
    bins : int
        Intervals per channel.

    Returns
    -------
    ndarray, shape (n_images, bins**3), float64; rows sum to 1
    """
    rows = []
    for im in images:
        q = np.minimum((np.asarray(im) * bins).astype(np.intp), bins - 1)
        cell = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
        rows.append(np.bincount(cell.ravel(), minlength=bins**3) / cell.size)
    return np.array(rows).reshape(len(rows), bins**3)
