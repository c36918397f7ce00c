"""JPEG and VQ rate-distortion: measuring compression (notebook 07).

A codec is judged by two numbers per image: its **rate**, the bits it stores
per pixel (bpp), and its **distortion**, measured here as the PSNR (dB) of the
decoded image against the original. To compare VQ with JPEG fairly, both code
the *same* gray images, quantised to 8 bits once (:func:`gray8`), both decoders
deliver 8-bit images, PSNR is taken against the same 8-bit reference with
:func:`skimage.metrics.peak_signal_noise_ratio` (``data_range=1``), and JPEG's
PSNR is read off each image's own curve at VQ's rate on that image
(:func:`jpeg_psnr_at`).

JPEG is Pillow's (libjpeg), run in memory. VQ is :mod:`helpers.vq`; its
indices are stored with a fixed length (``log2 K`` bits) or entropy-coded
(:func:`vq_rates` says how). Written by hand here is only the book-keeping
around those: libjpeg, scikit-learn and scikit-image do the work.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from sklearn.cluster import KMeans, MiniBatchKMeans

from .patches import sample_patches
from .vq import block_means, check_codebook, code_entropy, decode, encode, fit_codebook

__all__ = [
    "code_probs",
    "codebook_mse",
    "gray8",
    "jpeg_at_rate",
    "jpeg_curve",
    "jpeg_psnr_at",
    "jpeg_roundtrip",
    "vq_point",
    "vq_rates",
    "vq_roundtrip",
]

#: The JPEG qualities Pillow recommends (above 95 the file grows with little gain).
JPEG_QUALITIES = range(1, 96)


def _to_uint8(gray: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 0..255 integers: clip, scale by 255, round to nearest."""
    return np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8)


def gray8(image: np.ndarray) -> np.ndarray:
    """The gray image as an 8-bit file would store it, back as floats in [0, 1].

    The gray value is the mean of the colour channels (as :func:`helpers.pnorm`
    with ``norm="gray"``); it is then rounded to the nearest of the 256 levels
    ``0, 1/255, ..., 1``. Applying ``gray8`` twice changes nothing.

    Parameters
    ----------
    image : ndarray, shape (H, W) gray or (H, W, 3) colour, float in [0, 1]

    Returns
    -------
    ndarray, shape (H, W), float32, values in {0, 1/255, ..., 1}

    Examples
    --------
    >>> g = gray8(np.array([[0.0, 0.1, 1.0]]))
    >>> (g * 255).round().astype(int).tolist()
    [[0, 26, 255]]
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image.mean(axis=2, dtype=np.float32)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"expected an H x W gray or H x W x 3 colour image, got shape {image.shape}")
    if image.dtype.kind != "f":
        raise ValueError(f"expected a float image in [0, 1], got dtype {image.dtype}")
    return _to_uint8(image).astype(np.float32) / np.float32(255)


def _check_quality(quality: int) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}")
    return int(quality)


def _jpeg_bytes(pixels: np.ndarray, quality: int, optimize: bool) -> bytes:
    """Encode a 2-D uint8 array as a gray ("L") JPEG in memory."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, optimize=optimize)
    return buffer.getvalue()


def _jpeg_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im, dtype=np.float32) / np.float32(255)


def jpeg_roundtrip(gray: np.ndarray, quality: int, *, optimize: bool = True) -> tuple[np.ndarray, float]:
    """Compress a gray image with JPEG in memory, decode it, and measure the rate.

    The image is quantised to 8 bits (:func:`gray8`), saved by Pillow as a
    gray (mode ``"L"``) baseline JPEG into an :class:`io.BytesIO`, and read
    back. The rate counts every byte of the file, headers and tables included.

    Parameters
    ----------
    gray : ndarray, shape (H, W) (or (H, W, 3), made gray), float in [0, 1]
    quality : int
        Pillow's JPEG quality, 1 (smallest file) to 100; above 95 the file
        grows with little gain.
    optimize : bool
        Let libjpeg compute Huffman tables for this image (an extra pass):
        a smaller file, the same decoded pixels.

    Returns
    -------
    decoded : ndarray, shape (H, W), float32 in [0, 1] (8-bit levels)
    bits_per_pixel : float
        ``8 * len(file) / (H * W)``.

    Examples
    --------
    >>> decoded, bpp = jpeg_roundtrip(np.full((64, 64), 0.5), quality=75)
    >>> decoded.shape, bool(np.allclose(decoded, 128 / 255))
    ((64, 64), True)
    """
    quality = _check_quality(quality)
    pixels = _to_uint8(gray8(gray))
    data = _jpeg_bytes(pixels, quality, optimize)
    return _jpeg_decode(data), 8 * len(data) / pixels.size


def jpeg_at_rate(
    gray: np.ndarray, target_bpp: float, qualities: Iterable[int] = JPEG_QUALITIES, *, optimize: bool = True
) -> tuple[np.ndarray, float, int]:
    """JPEG at the quality whose rate comes closest to a target rate.

    Every quality in ``qualities`` is encoded (only encoded: about a
    millisecond each for a 512 x 512 image) and the one whose file size is
    closest to ``target_bpp`` is decoded. Exhaustive rather than a bisection,
    because the file size is not strictly monotone in the quality.

    Parameters
    ----------
    gray : ndarray, shape (H, W), float in [0, 1]
    target_bpp : float
        Wanted rate in bits per pixel, > 0.
    qualities : iterable of int
        Candidates; default 1 ... 95.
    optimize : bool
        As for :func:`jpeg_roundtrip`.

    Returns
    -------
    decoded : ndarray, shape (H, W), float32
    bits_per_pixel : float
        The rate reached (below the target's reach, quality 1's rate).
    quality : int
        The quality chosen (the lowest one on a tie).
    """
    if not target_bpp > 0:
        raise ValueError(f"target rate must be > 0 bits per pixel, got {target_bpp!r}")
    qualities = [_check_quality(q) for q in qualities]
    if not qualities:
        raise ValueError("no JPEG qualities to search")
    pixels = _to_uint8(gray8(gray))
    files = {q: _jpeg_bytes(pixels, q, optimize) for q in qualities}
    best = min(qualities, key=lambda q: (abs(8 * len(files[q]) / pixels.size - target_bpp), q))
    return _jpeg_decode(files[best]), 8 * len(files[best]) / pixels.size, best


def jpeg_curve(
    grays: Sequence[np.ndarray],
    qualities: Iterable[int] = (1, 2, 5, 10, 20, 30, 50, 75, 90),
    *,
    optimize: bool = True,
) -> dict[str, np.ndarray]:
    """JPEG's rate-distortion curve on each of a set of images: one point per quality.

    Parameters
    ----------
    grays : sequence of ndarray, each (H, W), float in [0, 1]
        The test images (quantised to 8 bits here, if they are not already).
    qualities : iterable of int
        The JPEG qualities, one point each.
    optimize : bool
        As for :func:`jpeg_roundtrip`.

    Returns
    -------
    dict of ndarray
        ``"quality"``, shape (Q,); ``"bpp"``, shape (n_images, Q): each
        image's rate at each quality; ``"psnr"``, shape (n_images, Q): its
        PSNR in dB against the 8-bit gray image. Average over axis 0 for the
        curve of "the same quality for every image"; see
        :func:`jpeg_psnr_at` for "the same rate for every image".
    """
    refs = [gray8(g) for g in grays]
    if not refs:
        raise ValueError("no images given")
    qualities = [_check_quality(q) for q in qualities]
    bpp = np.empty((len(refs), len(qualities)))
    psnr = np.empty_like(bpp)
    for i, ref in enumerate(refs):
        for j, q in enumerate(qualities):
            decoded, bpp[i, j] = jpeg_roundtrip(ref, q, optimize=optimize)
            psnr[i, j] = peak_signal_noise_ratio(ref, decoded, data_range=1)
    return {"quality": np.array(qualities), "bpp": bpp, "psnr": psnr}


def jpeg_psnr_at(curve: dict[str, np.ndarray], bpp: float | Sequence[float]) -> np.ndarray:
    """JPEG's PSNR on each image at a given rate, read off that image's own curve.

    Linear interpolation (:func:`numpy.interp`) between the measured points
    of :func:`jpeg_curve`, image by image. Rates outside an image's measured
    range give NaN: no extrapolation.

    Parameters
    ----------
    curve : dict
        As returned by :func:`jpeg_curve`.
    bpp : float, or sequence of float with one rate per image
        The rate(s) in bits per pixel at which to read the PSNR.

    Returns
    -------
    ndarray, shape (n_images,), float64, dB (NaN where JPEG does not reach the rate)

    Examples
    --------
    >>> curve = {"bpp": np.array([[0.1, 0.3]]), "psnr": np.array([[20.0, 30.0]])}
    >>> jpeg_psnr_at(curve, 0.2).tolist(), jpeg_psnr_at(curve, 0.05).tolist()
    ([25.0], [nan])
    """
    rates, psnrs = np.asarray(curve["bpp"], dtype=float), np.asarray(curve["psnr"], dtype=float)
    if rates.ndim != 2 or rates.shape != psnrs.shape:
        raise ValueError(f"expected per-image curves of shape (n_images, Q), got {rates.shape} and {psnrs.shape}")
    targets = np.broadcast_to(np.asarray(bpp, dtype=float), (len(rates),))
    out = np.full(len(rates), np.nan)
    for i, (x, y, t) in enumerate(zip(rates, psnrs, targets, strict=True)):
        order = np.argsort(x, kind="stable")
        if x[order[0]] <= t <= x[order[-1]]:
            out[i] = np.interp(t, x[order], y[order])
    return out


def code_probs(codes: np.ndarray, k: int, prior: float = 1.0) -> np.ndarray:
    """Probabilities of the K symbols estimated from counts, with ``prior`` added to every count.

    ``(count_k + prior) / (n + K * prior)``: with ``prior = 1`` (Laplace's rule)
    no symbol gets probability 0, so an entropy coder built on these
    probabilities can code every symbol, including ones never seen.

    Parameters
    ----------
    codes : ndarray of int, any shape, values in 0 .. k - 1
    k : int
        Number of symbols (code vectors, or mean levels).
    prior : float
        Pseudo-count added to every symbol, > 0.

    Returns
    -------
    ndarray, shape (k,), float64, sums to 1

    Examples
    --------
    >>> code_probs(np.array([0, 0, 1]), 3).tolist()
    [0.5, 0.3333333333333333, 0.16666666666666666]
    """
    codes = np.asarray(codes).ravel()
    if not prior > 0:
        raise ValueError(f"prior must be > 0, got {prior!r}")
    if codes.size and (codes.min() < 0 or codes.max() >= k):
        raise ValueError(f"codes must lie in 0 .. {k - 1}, got values from {codes.min()} to {codes.max()}")
    counts = np.bincount(codes, minlength=k) + prior
    return counts / counts.sum()


def _quantise_means(means: np.ndarray, mean_bits: int) -> np.ndarray:
    """Block means (in [0, 1]) to integer levels 0 .. 2**mean_bits - 1."""
    top = 2**mean_bits - 1
    return np.round(np.clip(means, 0, 1) * top).astype(np.int64)


def _check_vq_args(norm: str, mean_bits: int) -> None:
    if norm not in ("gray", "center"):
        raise ValueError(f"VQ of gray images supports norm='gray' or 'center', not {norm!r}")
    if isinstance(mean_bits, bool) or not isinstance(mean_bits, (int, np.integer)) or not 1 <= mean_bits <= 16:
        raise ValueError(f"mean_bits must be a whole number from 1 to 16, got {mean_bits!r}")


def vq_roundtrip(
    gray: np.ndarray, km: KMeans | MiniBatchKMeans, r: int = 8, norm: str = "gray", mean_bits: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Code a gray image with a VQ codebook the way a real codec would.

    The image is quantised to 8 bits (:func:`gray8`), cut into ``r x r``
    blocks and coded with ONE ``predict`` (:func:`helpers.encode`). For
    mean-removed VQ (``norm="center"``) each block's mean is stored too,
    quantised uniformly to ``mean_bits`` bits, and the decoder adds the
    *quantised* mean back. The decoded image is clipped to [0, 1] and rounded
    to 8 bits, as a decoder writing an 8-bit image would.

    Parameters
    ----------
    gray : ndarray, shape (H, W), float in [0, 1]
    km : fitted codebook of ``r x r`` gray patches (``norm="gray"``) or of
        mean-removed patches (``norm="center"``)
    r : int
        Block size.
    norm : ``"gray"`` or ``"center"``
    mean_bits : int
        Bits of each stored block mean (``norm="center"`` only), 1 to 16.

    Returns
    -------
    decoded : ndarray, shape (H, W), float32 in [0, 1] (8-bit levels)
    codes : ndarray, shape (ceil(H / r), ceil(W / r)), int
    mean_levels : ndarray of int, same shape as ``codes``, or None
        The stored means as integers 0 .. 2**mean_bits - 1 (``"center"``).
    """
    _check_vq_args(norm, mean_bits)
    check_codebook(km, r, 1)
    ref = gray8(gray)
    image = np.repeat(ref[..., np.newaxis], 3, axis=2)
    codes = encode(image, km, r, norm)
    levels = means = None
    if norm == "center":
        levels = _quantise_means(block_means(image, r), mean_bits)
        means = levels / (2**mean_bits - 1)
    decoded = decode(codes, km, shape=ref.shape, means=means)
    return _to_uint8(decoded).astype(np.float32) / np.float32(255), codes, levels


def vq_rates(
    grays: Sequence[np.ndarray],
    km: KMeans | MiniBatchKMeans,
    r: int = 8,
    norm: str = "gray",
    mean_bits: int = 8,
    *,
    probs: np.ndarray | None = None,
    mean_probs: np.ndarray | None = None,
) -> dict:
    """Rates and distortion of a VQ codebook on a set of test images.

    Every image is coded with :func:`vq_roundtrip`. Each image's rate is its
    bits over its pixels; the padded edge blocks of :func:`helpers.encode`
    are counted, so an image whose size is not a multiple of ``r`` pays a
    little more than ``log2(K) / r**2``. Three ways to store the indices
    (for ``norm="center"``, the quantised block means are stored the same
    way, with ``mean_bits`` and ``mean_probs``):

    * ``bpp``, fixed length: ``log2(K)`` bits per block;
    * ``model_bpp``, entropy-coded with probabilities the decoder knows in
      advance (e.g. :func:`code_probs` of the training patches' codes):
      an ideal entropy coder spends ``-log2 p(code)`` bits per block;
    * ``entropy_bpp``, the empirical entropy of each image's own codes
      (:func:`helpers.code_entropy`): the ideal rate if the decoder knew
      that image's code frequencies, whose cost (K numbers) is not counted;
      an optimistic bound.

    Parameters
    ----------
    grays : sequence of ndarray, each (H, W), float in [0, 1]
    km, r, norm, mean_bits
        As for :func:`vq_roundtrip`.
    probs : ndarray, shape (K,), optional
        Code probabilities for ``model_bpp``; all > 0.
    mean_probs : ndarray, shape (2**mean_bits,), optional
        Probabilities of the mean levels; needed with ``probs`` when
        ``norm="center"``.

    Returns
    -------
    dict
        ``psnrs``, ``bpps``, ``entropy_bpps`` (and ``model_bpps`` if
        ``probs`` is given): lists with one float per image; ``psnr``,
        ``bpp``, ``entropy_bpp`` (``model_bpp``): their means over the images.
    """
    refs = [gray8(g) for g in grays]
    if not refs:
        raise ValueError("no images given")
    _check_vq_args(norm, mean_bits)
    k = len(km.cluster_centers_)
    centre = norm == "center"
    if probs is not None:
        probs = np.asarray(probs, dtype=float)
        if probs.shape != (k,) or not np.all(probs > 0):
            raise ValueError(f"probs must be {k} positive probabilities, got shape {probs.shape}")
        if centre:
            if mean_probs is None:
                raise ValueError("norm='center' with probs also needs mean_probs, the probabilities of the mean levels")
            mean_probs = np.asarray(mean_probs, dtype=float)
            if mean_probs.shape != (2**mean_bits,) or not np.all(mean_probs > 0):
                raise ValueError(f"mean_probs must be {2**mean_bits} positive probabilities, got {mean_probs.shape}")
    out: dict[str, list[float]] = {"psnrs": [], "bpps": [], "entropy_bpps": []}
    if probs is not None:
        out["model_bpps"] = []
    for ref in refs:
        decoded, codes, levels = vq_roundtrip(ref, km, r, norm, mean_bits)
        out["psnrs"].append(float(peak_signal_noise_ratio(ref, decoded, data_range=1)))
        fixed = codes.size * (np.log2(k) + (mean_bits if centre else 0))
        entropy = codes.size * (code_entropy(codes, k) + (code_entropy(levels, 2**mean_bits) if centre else 0))
        out["bpps"].append(float(fixed / ref.size))
        out["entropy_bpps"].append(float(entropy / ref.size))
        if probs is not None:
            bits = -np.log2(probs[codes]).sum() - (np.log2(mean_probs[levels]).sum() if centre else 0)
            out["model_bpps"].append(float(bits / ref.size))
    means = {name[:-1]: float(np.mean(values)) for name, values in out.items()}
    return means | out


def vq_point(
    train: Sequence[np.ndarray] | np.ndarray,
    test: Sequence[np.ndarray],
    k: int,
    r: int = 8,
    norm: str = "gray",
    seed: int = 0,
    *,
    n_train: int = 25000,
    mean_bits: int = 8,
    **fit_kwargs,
) -> dict:
    """One point of VQ's rate-distortion curve: fit a codebook, code the test images.

    The codebook is fitted with :func:`helpers.fit_codebook` on gray training
    patches (mean-removed first for ``norm="center"``). The code
    probabilities an entropy coder would use (:func:`code_probs` of the
    training patches' codes, and of their quantised means for
    ``"center"``) come from the training patches too, so that nothing about
    the test images is assumed known; see :func:`vq_rates` for the rates.

    Parameters
    ----------
    train : sequence of images (H, W, 3), or ndarray of gray patches (n, r, r)
        Training images, from which ``n_train`` gray patches are drawn with
        :func:`helpers.sample_patches` (grid step ``r // 2``); or gray
        patches already drawn (``norm="gray"``, NOT mean-removed).
    test : sequence of ndarray, each (H, W) gray or (H, W, 3)
        Images the codebook has not seen.
    k : int
        Number of code vectors.
    r : int
        Block size.
    norm : ``"gray"`` or ``"center"`` (mean-removed VQ)
    seed : int
        Seed of the patch sample and of the k-means.
    n_train : int
        Patches drawn when ``train`` holds images.
    mean_bits : int
        See :func:`vq_roundtrip`.
    **fit_kwargs
        Passed to :func:`helpers.fit_codebook`.

    Returns
    -------
    dict
        ``k``, ``r``, ``norm``, every entry of :func:`vq_rates` (with
        ``model_bpp``), and ``codebook``, the fitted estimator.
    """
    _check_vq_args(norm, mean_bits)
    if isinstance(train, np.ndarray) and train.ndim == 3:
        if train.shape[1:] != (r, r):
            raise ValueError(f"training patches have shape {train.shape[1:]}, expected ({r}, {r}) for r = {r}")
        patches = np.asarray(train, dtype=np.float32)
    else:
        patches = sample_patches(train, n=n_train, r=r, norm="gray", seed=seed)
    flat = patches.reshape(len(patches), -1)
    mean_probs = None
    if norm == "center":
        means = flat.mean(axis=1, keepdims=True)
        flat = flat - means
        mean_probs = code_probs(_quantise_means(means, mean_bits), 2**mean_bits)
    km = fit_codebook(flat, k=k, seed=seed, **fit_kwargs)
    probs = code_probs(km.predict(flat), k)
    rates = vq_rates(test, km, r, norm, mean_bits, probs=probs, mean_probs=mean_probs)
    return {"k": k, "r": r, "norm": norm, **rates, "codebook": km}


def codebook_mse(km: KMeans | MiniBatchKMeans, patches: np.ndarray) -> float:
    """The k-means distortion per pixel: mean squared distance to the nearest code vector, over ``r * r``.

    The quantity k-means minimises (``inertia_``), divided by the number of
    patches and of values per patch, and computed in float64 on any set of
    patches (e.g. held-out ones), with ONE ``predict``.

    Parameters
    ----------
    km : fitted k-means estimator
    patches : ndarray, shape (n, r, r) or already flat (n, d)

    Returns
    -------
    float
        In squared pixel units ([0, 1] pixels); ``10 * log10(1 / mse)`` is the PSNR.
    """
    patches = np.asarray(patches)
    centers = km.cluster_centers_
    if len(patches) == 0:
        raise ValueError("no patches given")
    flat = patches.reshape(len(patches), -1)
    if flat.shape[1] != centers.shape[1]:
        raise ValueError(f"patches have {flat.shape[1]} values but the code vectors {centers.shape[1]}")
    labels = km.predict(flat.astype(centers.dtype, copy=False))
    return float(np.mean((flat.astype(np.float64) - centers[labels].astype(np.float64)) ** 2))
