"""Vector quantisation: a k-means codebook of patches, and images coded with it.

A codebook is a fitted :class:`sklearn.cluster.MiniBatchKMeans`: its
``cluster_centers_`` (K x d) are the code vectors, the lecture's "shape
inventory". Coding an image replaces each ``r x r`` block by the index of its
nearest code vector (``encode``); decoding puts the code vectors back
(``decode``); ``patchcode`` does both.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from skimage.util import view_as_blocks
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import ThreadpoolController

from .patches import NORMS, _check_image, _check_rs, _gray, _normalize_gray, pnorm

__all__ = [
    "bits_per_pixel",
    "block_means",
    "check_codebook",
    "code_entropy",
    "decode",
    "encode",
    "fit_codebook",
    "nearest_codes",
    "patchcode",
]


def fit_codebook(
    patches: np.ndarray,
    k: int = 1024,
    *,
    seed: int = 0,
    batch_size: int = 2048,
    n_init: int = 1,
    max_iter: int = 20,
    **kwargs,
) -> MiniBatchKMeans:
    """Fit a k-means codebook ("shape inventory") to a stack of patches.

    Minimises the k-means objective
    :math:`\\sum_i \\min_k \\lVert x_i - c_k \\rVert^2` over the code
    vectors :math:`c_1 \\dots c_K` with mini-batches.

    Parameters
    ----------
    patches : ndarray, shape (n, r, r) or (n, r, r, 3), or already flat (n, d)
    k : int
        Number of code vectors (the lecture's 1024).
    seed : int
        ``random_state`` of the k-means, for a reproducible codebook.
    batch_size, n_init, max_iter : int
        Passed to :class:`~sklearn.cluster.MiniBatchKMeans`; the defaults
        here are chosen to fit 70 000 patches in about a second.
    **kwargs
        Any other :class:`~sklearn.cluster.MiniBatchKMeans` parameter.

    Returns
    -------
    MiniBatchKMeans
        Fitted; ``cluster_centers_`` has shape (k, d) with d = r * r (or
        r * r * 3).
    """
    patches = np.asarray(patches)
    if patches.ndim < 2:
        raise ValueError(f"expected a stack of patches (n, r, r), got shape {patches.shape}")
    if len(patches) < k:
        raise ValueError(f"cannot fit {k} code vectors to only {len(patches)} patches")
    km = MiniBatchKMeans(
        n_clusters=k, random_state=seed, batch_size=batch_size, n_init=n_init, max_iter=max_iter, **kwargs
    )
    return km.fit(patches.reshape(len(patches), -1))


def nearest_codes(X: np.ndarray, km: MiniBatchKMeans, *, chunk: int = 512, n_threads: int | None = None) -> np.ndarray:
    """Index of the nearest code vector of each row of ``X``: ``km.predict(X)``, faster.

    The squared distance :math:`\\lVert x - c_k \\rVert^2` differs from
    :math:`\\lVert c_k \\rVert^2 - 2\\, x \\cdot c_k` by :math:`\\lVert x \\rVert^2`,
    which is the same for every k, so the nearest code vector is the argmin
    of the latter: one matrix product per block of rows. scikit-learn's
    ``predict`` computes exactly these numbers (same formula, same rounding)
    with a scalar argmin per row; here each block of ``chunk`` rows is one
    single-threaded BLAS matrix product and a vectorised argmin, and the
    blocks are shared out among ``n_threads`` threads: the same codes, about
    twice as fast. Written by hand because scikit-learn has no faster public
    route to them. Memory: one ``chunk x K`` block of distances per thread.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Converted to the dtype of the code vectors (as ``predict`` would).
    km : fitted codebook with ``cluster_centers_`` of shape (K, d)
    chunk : int
        Rows per matrix product.
    n_threads : int, optional
        Threads; default: as many as BLAS is set to use (e.g. by
        ``OPENBLAS_NUM_THREADS`` or :func:`threadpoolctl.threadpool_limits`).

    Returns
    -------
    ndarray, shape (n,), int32

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> X = np.random.default_rng(0).random((5000, 16), dtype=np.float32)
    >>> km = KMeans(8, n_init=1, random_state=0).fit(X)
    >>> bool(np.array_equal(nearest_codes(X, km), km.predict(X)))
    True
    """
    centers = km.cluster_centers_
    X = np.asarray(X, dtype=centers.dtype)
    if X.ndim != 2 or X.shape[1] != centers.shape[1]:
        raise ValueError(f"expected rows of {centers.shape[1]} values (the code vectors' length), got shape {X.shape}")
    minus_2c_t = (-2 * centers).T  # exact (a power of two), so the products round as scikit-learn's do
    sq_norms = np.einsum("ij,ij->i", centers, centers)  # as sklearn.utils.extmath.row_norms, bit for bit
    codes = np.empty(len(X), dtype=np.int32)
    buffers = threading.local()  # one block of distances per thread, reused for each of its chunks

    def assign(start: int) -> None:
        if not hasattr(buffers, "block"):
            buffers.block = np.empty((min(chunk, len(X)), len(centers)), dtype=centers.dtype)
        x = X[start : start + chunk]
        d = buffers.block[: len(x)]
        np.matmul(x, minus_2c_t, out=d)
        d += sq_norms
        codes[start : start + len(x)] = d.argmin(axis=1)

    blas = _blas()
    if n_threads is None:
        n_threads = min((lib.num_threads for lib in blas.lib_controllers), default=1)
    starts = range(0, len(X), chunk)
    n_threads = max(1, min(n_threads, len(starts)))
    if n_threads == 1:
        for start in starts:
            assign(start)
    else:  # chunks go to whichever thread is free, so a thread slowed by other work takes fewer
        with blas.limit(limits=1), ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(assign, starts))
    return codes


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded in this process (cached: finding them takes a millisecond)."""
    return ThreadpoolController().select(user_api="blas")


def _patch_shape(d: int) -> tuple[int, int]:
    """(r, channels) of a code vector of length d: r*r gray or r*r*3 colour."""
    for channels in (1, 3):
        r = round(np.sqrt(d / channels))
        if r * r * channels == d:
            return r, channels
    raise ValueError(f"code vectors of length {d} are neither r*r nor r*r*3 values")


def check_codebook(km: MiniBatchKMeans, r: int, channels: int = 1) -> None:
    """Raise a clear ``ValueError`` unless ``km`` is fitted to ``r x r`` patches.

    Parameters
    ----------
    km : fitted k-means estimator (anything with ``cluster_centers_``)
    r : int
        Patch size the caller is about to use.
    channels : int
        1 for gray patches, 3 for ``norm="rgb"``.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> km = KMeans(2, n_init=1).fit(np.random.rand(10, 64))
    >>> check_codebook(km, r=6)
    Traceback (most recent call last):
    ...
    ValueError: codebook mismatch: its code vectors have 64 values (8 x 8 patches), but 6 x 6 patches have 36
    """
    centers = getattr(km, "cluster_centers_", None)
    if centers is None:
        raise ValueError("the codebook is not fitted yet: call fit_codebook(...) or km.fit(...) first")
    d, want = centers.shape[1], r * r * channels
    if d != want:
        kr, kc = _patch_shape(d)
        raise ValueError(
            f"codebook mismatch: its code vectors have {d} values ({kr} x {kr}{' x 3' if kc == 3 else ''} "
            f"patches), but {r} x {r}{' x 3' if channels == 3 else ''} patches have {want}"
        )


def _blocks(image: np.ndarray, r: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Non-overlapping r x r blocks covering the image, edge-padded: (nby, nbx, r, r, 3), or (nby, nbx, r, r) if 2-D."""
    image = _check_image(image) if np.ndim(image) != 2 else image
    h, w = image.shape[:2]
    nby, nbx = -(-h // r), -(-w // r)
    pad = ((0, nby * r - h), (0, nbx * r - w)) + ((0, 0),) * (image.ndim - 2)
    padded = np.pad(image, pad, mode="edge")
    block = (r, r) + image.shape[2:]
    return view_as_blocks(padded, block).reshape((nby, nbx) + block), (nby, nbx)


def block_means(image: np.ndarray, r: int = 8) -> np.ndarray:
    """Mean gray value of each r x r block (the side information of mean-removed VQ).

    Returns
    -------
    ndarray, shape (ceil(H / r), ceil(W / r)), float32
    """
    blocks, _ = _blocks(image, r)
    return pnorm(blocks, "gray").mean(axis=(-2, -1))


def encode(image: np.ndarray, km: MiniBatchKMeans, r: int = 8, norm: str = "gray") -> np.ndarray:
    """The code (index of the nearest code vector) of every r x r block.

    The image is cut into non-overlapping blocks; where its size is not a
    multiple of ``r`` it is padded at the bottom and right by repeating the
    edge pixels, so that every pixel is coded. All blocks go to ONE
    :func:`nearest_codes` call (the lecture calls ``km.predict`` once per patch).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
    km : fitted codebook for ``r x r`` patches normalised with ``norm``
    r : int
        Block size in pixels.
    norm : str
        The normalisation the codebook was fitted with (see :func:`pnorm`).

    Returns
    -------
    ndarray, shape (ceil(H / r), ceil(W / r)), int
    """
    _check_rs(r, 1)
    check_codebook(km, r, 3 if norm == "rgb" else 1)
    if norm == "rgb":
        blocks, grid = _blocks(image, r)
        flat = pnorm(blocks, norm).reshape(grid[0] * grid[1], -1)
    else:  # pnorm's mean over the colour channels, once per pixel (the same numbers, as in patches_at)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
        gray, grid = _blocks(_gray(_check_image(image)), r)
        flat = _normalize_gray(np.ascontiguousarray(gray), norm).reshape(grid[0] * grid[1], -1)
    return nearest_codes(flat, km).reshape(grid)


def decode(
    codes: np.ndarray,
    km: MiniBatchKMeans,
    shape: tuple[int, ...] | None = None,
    means: np.ndarray | None = None,
) -> np.ndarray:
    """Rebuild an image from its codes: each block becomes its code vector.

    Parameters
    ----------
    codes : ndarray, shape (nby, nbx), int
    km : the codebook the codes came from
    shape : (H, W), optional
        Crop the result to the original image size (undoing the padding of
        :func:`encode`); default: the full ``nby * r`` x ``nbx * r``.
    means : ndarray, shape (nby, nbx), optional
        Block means to add back, for a codebook of mean-removed patches
        (``norm="center"``; see :func:`block_means`).

    Returns
    -------
    ndarray, shape (H, W) for gray code vectors or (H, W, 3) for colour
    """
    centers = km.cluster_centers_
    r, channels = _patch_shape(centers.shape[1])
    codes = np.asarray(codes)
    nby, nbx = codes.shape
    blocks = centers[codes].reshape(nby, nbx, r, r, channels)
    if means is not None:
        blocks = blocks + np.asarray(means).reshape(nby, nbx, 1, 1, 1)
    image = blocks.transpose(0, 2, 1, 3, 4).reshape(nby * r, nbx * r, channels)
    if shape is not None:
        image = image[: shape[0], : shape[1]]
    return image[..., 0] if channels == 1 else image


def patchcode(image: np.ndarray, km: MiniBatchKMeans, r: int = 8, norm: str = "gray") -> np.ndarray:
    """VQ-compress an image: replace every r x r block by its nearest code vector.

    The lecture's ``patchcode``, with one nearest-code search for the whole image and
    without its stray global ``i``. The reconstruction has the image's own
    size (see :func:`encode` for the edge padding, cropped away again here).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float in [0, 1]
    km : fitted codebook of ``r x r`` patches
    r : int
        Block size.
    norm : ``"gray"``, ``"center"`` or ``"rgb"``
        How the codebook's patches were normalised. ``"center"`` is
        mean-removed VQ: each block's mean is kept next to its code. Other
        normalisations discard the contrast and cannot be undone.

    Returns
    -------
    ndarray, shape (H, W) (gray) or (H, W, 3) (``"rgb"``), float

    Examples
    --------
    >>> from helpers import load_images, sample_patches, fit_codebook
    >>> images = load_images()
    >>> km = fit_codebook(sample_patches(images, 5000), k=64)
    >>> patchcode(images[2], km).shape == images[2].shape[:2]
    True
    """
    if norm not in ("gray", "center", "rgb"):
        raise ValueError(f"patchcode can invert norm='gray', 'center' or 'rgb', not {norm!r}")
    codes = encode(image, km, r, norm)
    means = block_means(image, r) if norm == "center" else None
    return decode(codes, km, shape=np.shape(image)[:2], means=means)


def bits_per_pixel(k: int, r: int) -> float:
    """Rate of fixed-length VQ codes: ``log2(k) / r**2`` bits per pixel.

    Each r x r block is stored as one index out of ``k``. An 8-bit gray image
    has 8 bits per pixel, so the compression ratio is ``8 / bits_per_pixel``.

    Examples
    --------
    >>> bits_per_pixel(1024, 8)
    0.15625
    """
    return float(np.log2(k)) / (r * r)


def code_entropy(codes: np.ndarray, k: int | None = None) -> float:
    """Empirical entropy of a set of codes, in bits per code.

    :math:`H = -\\sum_k p_k \\log_2 p_k` over the code frequencies; the rate
    an ideal entropy coder (e.g. arithmetic coding) would reach on these codes.
    Divide by ``r**2`` for bits per pixel.
    """
    codes = np.asarray(codes).ravel()
    if codes.size == 0:
        raise ValueError("no codes given")
    p = np.bincount(codes, minlength=k or 0) / codes.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())
