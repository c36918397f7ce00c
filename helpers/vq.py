"""VQ compression with a codebook: the lecture's ``patchcode``, block means, and the rates of VQ (notebook 03)."""

from __future__ import annotations

import numpy as np

from .codebook import PatchCodebook, _pad_to_blocks
from .extraction import _gray
from .images import as_rgb

__all__ = ["bits_per_pixel", "block_means", "code_entropy", "patchcode"]


def block_means(image, r: int = 8) -> np.ndarray:
    """Mean gray value (float64) of each ``r x r`` block, as :meth:`PatchCodebook.encode` cuts them.

    Examples
    --------
    >>> block_means(np.full((10, 16), 0.5), r=8).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    from skimage.measure import block_reduce

    return block_reduce(_gray(_pad_to_blocks(as_rgb(image), r)), (r, r), np.mean)


def patchcode(image, codebook: PatchCodebook) -> np.ndarray:
    """VQ-compress an image: replace every ``r x r`` block by its code vector (the lecture's ``patchcode``).

    With ``norm="center"``, each block's mean is kept beside its code. Returns (H, W), or (H, W, 3) with ``colour``.

    Examples
    --------
    >>> from helpers import load_images
    >>> images = load_images()
    >>> codebook = PatchCodebook(n_codes=64, n_patches=5000).fit(images)
    >>> patchcode(images["camera"], codebook).shape
    (512, 512)
    """
    from .codebook import _check_codebook

    _check_codebook(codebook, "patchcode")
    if codebook.norm not in ("none", "center") or codebook.whiten is not None:
        raise ValueError(
            f"patchcode needs a codebook of raw or mean-removed patches (norm 'none' or 'center', no whitening), "
            f"got norm={codebook.norm!r}, whiten={codebook.whiten!r}"
        )
    image = as_rgb(image)
    means = block_means(image, codebook.patch_size) if codebook.norm == "center" else None
    return codebook.decode(codebook.encode(image), image.shape[:2], means)


def bits_per_pixel(k: int, r: int) -> float:
    """Rate of fixed-length VQ: ``log2(k)`` bits per ``r x r`` block, per pixel.

    Examples
    --------
    >>> bits_per_pixel(1024, 8)
    0.15625
    """
    return float(np.log2(k)) / (r * r)


def code_entropy(codes, k: int) -> float:
    """Empirical entropy of codes in 0 .. k - 1, in bits per code (:func:`scipy.stats.entropy`).

    Examples
    --------
    >>> code_entropy([0, 1, 2, 3], k=4)
    2.0
    """
    from scipy.stats import entropy

    codes = np.asarray(codes).ravel()
    if codes.size == 0:
        raise ValueError("no codes given")
    if codes.min() < 0 or codes.max() >= k:
        raise ValueError(f"codes must lie in 0 .. {k - 1}, got {codes.min()} .. {codes.max()}")
    return float(entropy(np.bincount(codes, minlength=k), base=2))
