"""Image descriptors: code histograms, their normalisations, and baselines that need no codebook.

Each function returns one row per image, so that images of any size are
compared as vectors of equal length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .images import as_rgb

__all__ = [
    "HIST_NORMS",
    "colour_hists",
    "gray_hists",
    "lbp_hists",
    "level_weights",
    "normalize_hists",
    "patchhist",
    "tiny_images",
    "vlad_normalise",
]

#: The histogram normalisations :func:`normalize_hists` knows.
HIST_NORMS = ("counts", "l1", "l2", "sqrt", "tfidf")


def patchhist(image, codebook) -> np.ndarray:
    """Histogram of the codes of an image's patches (the lecture's ``patchhist``).

    ``codebook.transform([image])[0]``: with the default ``encoding="hard"``,
    the count of each code over the image's grid patches.

    Returns
    -------
    ndarray, shape (codebook.n_features_out_,), float64
    """
    from .codebook import _check_codebook

    _check_codebook(codebook, "patchhist")
    return codebook.transform([image])[0]


def normalize_hists(hists, method: str = "l1") -> np.ndarray:
    """Normalise histograms, one row per image.

    ========== ============================================================
    ``counts`` unchanged
    ``l1``     each row divided by its sum: frequencies
    ``l2``     each row divided by its Euclidean length
    ``sqrt``   square roots of the L1 frequencies (Hellinger; RootSIFT):
               the Euclidean distance between them is the Hellinger distance
               times sqrt(2)
    ``tfidf``  :class:`~sklearn.feature_extraction.text.TfidfTransformer`:
               counts times ``log((1 + n) / (1 + df)) + 1``, then L2
    ========== ============================================================

    Rows with zero sum stay zero (:func:`sklearn.preprocessing.normalize`).

    Returns
    -------
    ndarray, shape (n_images, K), float64

    Examples
    --------
    >>> normalize_hists([[1, 3], [0, 0]], "sqrt").round(3).tolist()
    [[0.5, 0.866], [0.0, 0.0]]
    """
    from sklearn.preprocessing import normalize

    hists = np.asarray(hists, dtype=np.float64)
    if hists.ndim != 2:
        raise ValueError(f"expected a (n_images, K) matrix of histograms, got shape {hists.shape}")
    if (hists < 0).any():
        raise ValueError("histograms must not be negative")
    if method == "counts":
        return hists.copy()
    if method in ("l1", "l2"):
        return normalize(hists, method)
    if method == "sqrt":
        return np.sqrt(normalize(hists, "l1"))
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfTransformer

        return TfidfTransformer().fit_transform(hists).toarray()
    raise ValueError(f"unknown histogram normalisation {method!r}; choose one of {HIST_NORMS}")


def colour_hists(images: Sequence, bins: int = 4) -> np.ndarray:
    """Joint RGB histograms: ``bins`` intervals of [0, 1] per channel, ``bins**3`` cells (:func:`numpy.histogramdd`).

    Returns
    -------
    ndarray, shape (n_images, bins**3), float64; rows sum to 1

    Examples
    --------
    >>> colour_hists([np.zeros((4, 4))], bins=2).tolist()
    [[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    rows = []
    for image in images:
        pixels = as_rgb(image).reshape(-1, 3)
        counts, _ = np.histogramdd(pixels, bins=bins, range=[(0, 1)] * 3)
        rows.append(counts.ravel() / len(pixels))
    return np.array(rows).reshape(len(rows), bins**3)


def gray_hists(images: Sequence, bins: int = 32) -> np.ndarray:
    """Gray-level histograms: the channel mean in ``bins`` intervals of [0, 1] (:func:`numpy.histogram`).

    Returns
    -------
    ndarray, shape (n_images, bins), float64; rows sum to 1
    """
    rows = []
    for image in images:
        gray = as_rgb(image).mean(axis=2)
        rows.append(np.histogram(gray, bins=bins, range=(0, 1))[0] / gray.size)
    return np.array(rows).reshape(len(rows), bins)


def lbp_hists(images: Sequence, points: int = 8, radius: float | Sequence[float] = 1) -> np.ndarray:
    """Histograms of uniform local binary patterns, a classic texture descriptor (Ojala et al., PAMI 2002).

    :func:`skimage.feature.local_binary_pattern` with ``method="uniform"``
    on the 8-bit gray image: each pixel gets one of ``points + 2``
    rotation-invariant uniform patterns of its ``points`` neighbours at
    ``radius``. With several radii (Ojala et al.'s multiresolution LBP),
    ``8 * radius`` neighbours at each, and the histograms are concatenated,
    each weighted ``1 / len(radius)``.

    Returns
    -------
    ndarray, shape (n_images, points + 2) or (n_images, sum(8 r + 2)), float64; rows sum to 1

    Examples
    --------
    >>> lbp_hists([np.zeros((16, 16))], radius=(1, 2)).shape
    (1, 28)
    """
    from skimage.feature import local_binary_pattern

    scales = [(points, radius)] if np.isscalar(radius) else [(8 * round(r), r) for r in radius]
    rows = []
    for image in images:
        gray = np.round(as_rgb(image).mean(axis=2) * 255).astype(np.uint8)
        row = []
        for p, r in scales:
            codes = local_binary_pattern(gray, p, r, method="uniform").astype(int)
            row.append(np.bincount(codes.ravel(), minlength=p + 2) / codes.size / len(scales))
        rows.append(np.concatenate(row))
    return np.array(rows).reshape(len(rows), sum(p + 2 for p, _ in scales))


def tiny_images(images: Sequence, side: int = 16) -> np.ndarray:
    """Thumbnails as descriptors: each image shrunk to ``side x side`` colour pixels, zero mean, unit length.

    The "tiny image" baseline of near-duplicate and scene retrieval (Torralba,
    Fergus & Freeman, PAMI 2008, with 32 x 32 thumbnails): the image is
    resized (anti-aliased, whatever its aspect ratio) with
    :func:`skimage.transform.resize`, flattened, its mean removed and scaled to
    unit Euclidean length, so that the Euclidean distance between two rows
    ignores brightness offsets and contrast. A flat image gives a zero row.

    Returns
    -------
    ndarray, shape (n_images, 3 * side**2), float64

    Examples
    --------
    >>> rows = tiny_images([np.random.default_rng(0).random((40, 60, 3)), np.full((8, 8), 0.5)], side=4)
    >>> rows.shape, np.linalg.norm(rows, axis=1).round(6).tolist()
    ((2, 48), [1.0, 0.0])
    """
    from skimage.transform import resize

    rows = []
    for image in images:
        row = resize(as_rgb(image), (side, side, 3), anti_aliasing=True).ravel().astype(np.float64)
        row -= row.mean()
        length = np.linalg.norm(row)
        rows.append(row / length if length > 1e-12 else np.zeros_like(row))
    return np.array(rows).reshape(len(rows), 3 * side * side)


def level_weights(pyramid: tuple[int, ...]) -> np.ndarray:
    """Lazebnik et al.'s weights of grid sizes 2**l: 1 / 2**L for l = 0, 1 / 2**(L - l + 1) otherwise."""
    levels = np.log2(pyramid)
    top = levels.max()
    return np.where(levels == 0, 2.0**-top, 2.0 ** (levels - top - 1)) if len(pyramid) > 1 else np.ones(1)


def vlad_normalise(sums: np.ndarray, steps: str = "power+intra") -> np.ndarray:
    """Signed square root and/or each code's residual sum to unit length, then each cell to unit length.

    ``sums`` has shape (cells, K, d); returns (cells, K * d).
    """
    v = np.sign(sums) * np.sqrt(np.abs(sums)) if "power" in steps else sums
    if "intra" in steps:
        v = v / np.maximum(np.linalg.norm(v, axis=2, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=(1, 2), keepdims=True), 1e-12)
    return v.reshape(len(v), -1)
