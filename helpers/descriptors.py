"""Image descriptors: code histograms, their normalisations, and baselines that need no codebook.

Each function returns one row per image.
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

    ``codebook.transform([image])[0]``, shape (codebook.n_features_out_,), float64.
    """
    from .codebook import _check_codebook

    _check_codebook(codebook, "patchhist")
    return codebook.transform([image])[0]


def normalize_hists(hists, method: str = "l1") -> np.ndarray:
    """Normalise histograms, one row per image.

    ``method``: ``counts`` (unchanged), ``l1``, ``l2``, ``sqrt`` (square roots of the L1
    frequencies, Hellinger) or ``tfidf`` (scikit-learn's ``TfidfTransformer``). Rows with
    zero sum stay zero. Returns (n_images, K) float64.

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
    """Joint RGB histograms, ``bins`` intervals per channel: (n_images, bins**3), rows summing to 1.

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
    """Gray-level histograms in ``bins`` intervals of [0, 1]: (n_images, bins), rows summing to 1."""
    rows = []
    for image in images:
        gray = as_rgb(image).mean(axis=2)
        rows.append(np.histogram(gray, bins=bins, range=(0, 1))[0] / gray.size)
    return np.array(rows).reshape(len(rows), bins)


def lbp_hists(images: Sequence, points: int = 8, radius: float | Sequence[float] = 1) -> np.ndarray:
    """Histograms of uniform local binary patterns, a classic texture descriptor (Ojala et al., PAMI 2002).

    ``method="uniform"`` on the 8-bit gray image; with several radii, ``8 * radius`` points at
    each, histograms concatenated and weighted ``1 / len(radius)``. Rows sum to 1.

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

    Torralba et al.'s (2008) baseline; shape (n_images, 3 * side**2); a flat image gives a zero row.

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
