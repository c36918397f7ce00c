"""JPEG and VQ rate-distortion: measuring compression (notebook 07).

A codec is judged by two numbers per image: its **rate**, the bits it stores
per pixel (bpp), and its **distortion**, measured here as the PSNR (dB) of the
decoded image against the original. To compare VQ with JPEG fairly, both code
the *same* gray images, quantised to 8 bits once (:func:`gray8`), both decoders
deliver 8-bit images, PSNR is taken against the same 8-bit reference with
:func:`skimage.metrics.peak_signal_noise_ratio` (``data_range=1``), and JPEG's
PSNR is read off each image's own curve at VQ's rate on that image
(:func:`jpeg_psnr_at`).

JPEG is Pillow's (libjpeg), run in memory. VQ is :class:`helpers.PatchCodebook`;
its indices are stored with a fixed length (``log2 K`` bits) or entropy-coded
(:func:`vq_rates` says how). Written by hand here is only the book-keeping
around those: libjpeg, scikit-learn and scikit-image do the work.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from .codebook import PatchCodebook, block_means, code_entropy
from .extraction import sample_patches
from .images import as_rgb

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


def gray8(image) -> np.ndarray:
    """The gray image as an 8-bit file stores it: the channel mean rounded to the levels ``0, 1/255, ..., 1``.

    Returns
    -------
    ndarray, shape (H, W), float32; ``gray8(gray8(x)) == gray8(x)``

    Examples
    --------
    >>> (gray8(np.array([[0.0, 0.1, 1.0]])) * 255).round().astype(int).tolist()
    [[0, 26, 255]]
    """
    return _to_uint8(as_rgb(image).mean(axis=2)).astype(np.float32) / np.float32(255)


def _check_quality(quality) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}")
    return int(quality)


def _jpeg_bytes(pixels: np.ndarray, quality: int, optimize: bool) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, optimize=optimize)
    return buffer.getvalue()


def _jpeg_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im, dtype=np.float32) / np.float32(255)


def jpeg_roundtrip(gray, quality: int, *, optimize: bool = True) -> tuple[np.ndarray, float]:
    """Save a gray image as a baseline JPEG in memory (Pillow, mode ``"L"``), decode it, and measure the rate.

    Parameters
    ----------
    gray : image, made gray and 8-bit by :func:`gray8`
    quality : int
        Pillow's quality, 1 (smallest) to 100.
    optimize : bool
        Huffman tables computed for this image: a smaller file, the same pixels.

    Returns
    -------
    decoded : ndarray, shape (H, W), float32 (8-bit levels)
    bits_per_pixel : float
        ``8 * len(file) / (H * W)``: every byte of the file, headers included.

    Examples
    --------
    >>> decoded, bpp = jpeg_roundtrip(np.full((64, 64), 0.5), quality=75)
    >>> decoded.shape, bool(np.allclose(decoded, 128 / 255))
    ((64, 64), True)
    """
    pixels = _to_uint8(gray8(gray))
    data = _jpeg_bytes(pixels, _check_quality(quality), optimize)
    return _jpeg_decode(data), 8 * len(data) / pixels.size


def jpeg_at_rate(gray, target_bpp: float, qualities: Iterable[int] = JPEG_QUALITIES, *, optimize: bool = True):
    """JPEG at the quality whose rate comes closest to ``target_bpp`` (every quality tried: size is not monotone).

    Returns
    -------
    decoded : ndarray, shape (H, W), float32
    bits_per_pixel : float
    quality : int
        The lowest on a tie.
    """
    if not target_bpp > 0:
        raise ValueError(f"target rate must be > 0 bits per pixel, got {target_bpp!r}")
    pixels = _to_uint8(gray8(gray))
    files = {q: _jpeg_bytes(pixels, _check_quality(q), optimize) for q in qualities}
    best = min(files, key=lambda q: (abs(8 * len(files[q]) / pixels.size - target_bpp), q))
    return _jpeg_decode(files[best]), 8 * len(files[best]) / pixels.size, best


def jpeg_curve(grays: Sequence, qualities: Iterable[int] = (1, 2, 5, 10, 20, 30, 50, 75, 90), *, optimize=True) -> dict:
    """JPEG's rate and PSNR on each image at each quality.

    Returns
    -------
    dict of ndarray
        ``"quality"`` (Q,); ``"bpp"`` and ``"psnr"`` (n_images, Q), PSNR in dB
        against :func:`gray8` of each image.
    """
    refs = [gray8(g) for g in grays]
    qualities = [_check_quality(q) for q in qualities]
    bpp = np.empty((len(refs), len(qualities)))
    psnr = np.empty_like(bpp)
    for i, ref in enumerate(refs):
        for j, q in enumerate(qualities):
            decoded, bpp[i, j] = jpeg_roundtrip(ref, q, optimize=optimize)
            psnr[i, j] = peak_signal_noise_ratio(ref, decoded, data_range=1)
    return {"quality": np.array(qualities), "bpp": bpp, "psnr": psnr}


def jpeg_psnr_at(curve: dict, bpp) -> np.ndarray:
    """JPEG's PSNR on each image at a rate (one for all, or one per image), interpolated on its own curve.

    Linear interpolation between the measured points; NaN outside an image's
    measured range (no extrapolation).

    Examples
    --------
    >>> curve = {"bpp": np.array([[0.1, 0.3]]), "psnr": np.array([[20.0, 30.0]])}
    >>> jpeg_psnr_at(curve, 0.2).tolist(), jpeg_psnr_at(curve, 0.05).tolist()
    ([25.0], [nan])
    """
    rates, psnrs = np.asarray(curve["bpp"], dtype=float), np.asarray(curve["psnr"], dtype=float)
    targets = np.broadcast_to(np.asarray(bpp, dtype=float), (len(rates),))
    out = np.full(len(rates), np.nan)
    for i, (x, y, t) in enumerate(zip(rates, psnrs, targets, strict=True)):
        order = np.argsort(x, kind="stable")
        if x[order[0]] <= t <= x[order[-1]]:
            out[i] = np.interp(t, x[order], y[order])
    return out


def code_probs(codes, k: int, prior: float = 1.0) -> np.ndarray:
    """Symbol probabilities from counts plus ``prior`` each (Laplace's rule for 1), so that none is 0.

    Examples
    --------
    >>> code_probs(np.array([0, 0, 1]), 3).tolist()
    [0.5, 0.3333333333333333, 0.16666666666666666]
    """
    codes = np.asarray(codes).ravel()
    if not prior > 0:
        raise ValueError(f"prior must be > 0, got {prior!r}")
    if codes.size and (codes.min() < 0 or codes.max() >= k):
        raise ValueError(f"codes must lie in 0 .. {k - 1}, got {codes.min()} .. {codes.max()}")
    counts = np.bincount(codes, minlength=k) + prior
    return counts / counts.sum()


def _quantise_means(means: np.ndarray, mean_bits: int) -> np.ndarray:
    """Block means in [0, 1] to integer levels 0 .. 2**mean_bits - 1."""
    return np.round(np.clip(means, 0, 1) * (2**mean_bits - 1)).astype(np.int64)


def _check_vq(codebook: PatchCodebook, mean_bits: int) -> None:
    if codebook.norm not in ("none", "center") or codebook.colour or codebook.whiten is not None:
        raise ValueError("VQ of gray images needs a gray codebook with norm 'none' or 'center' and no whitening")
    if isinstance(mean_bits, bool) or not isinstance(mean_bits, (int, np.integer)) or not 1 <= mean_bits <= 16:
        raise ValueError(f"mean_bits must be a whole number from 1 to 16, got {mean_bits!r}")


def vq_roundtrip(gray, codebook: PatchCodebook, mean_bits: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Code a gray image with a VQ codebook the way a real codec would.

    The image is quantised to 8 bits (:func:`gray8`) and coded block by block
    (:meth:`helpers.PatchCodebook.encode`). For mean-removed VQ
    (``norm="center"``) each block's mean is stored too, quantised uniformly
    to ``mean_bits`` bits, and the decoder adds the *quantised* mean back.
    The decoded image is clipped to [0, 1] and rounded to 8 bits.

    Returns
    -------
    decoded : ndarray, shape (H, W), float32 in [0, 1] (8-bit levels)
    codes : ndarray, shape (ceil(H / r), ceil(W / r)), int
    mean_levels : ndarray of int, same shape as ``codes``, or None
        The stored means, 0 .. 2**mean_bits - 1 (``"center"`` only).
    """
    _check_vq(codebook, mean_bits)
    ref = gray8(gray)
    codes = codebook.encode(ref)
    levels = means = None
    if codebook.norm == "center":
        levels = _quantise_means(block_means(ref, codebook.patch_size), mean_bits)
        means = levels / (2**mean_bits - 1)
    decoded = codebook.decode(codes, shape=ref.shape, means=means)
    return _to_uint8(decoded).astype(np.float32) / np.float32(255), codes, levels


def vq_rates(
    grays: Sequence[np.ndarray], codebook: PatchCodebook, mean_bits: int = 8, *, probs=None, mean_probs=None
) -> dict:
    """Rates and distortion of a VQ codebook on a set of test images.

    Each image is coded with :func:`vq_roundtrip`; its rate is its bits over
    its pixels (the padded edge blocks are counted). The indices (and, for
    ``norm="center"``, the quantised means) are stored three ways:

    * ``bpp``, fixed length: ``log2(K)`` (+ ``mean_bits``) bits per block;
    * ``model_bpp``, entropy-coded with probabilities the decoder knows in
      advance (``probs``, ``mean_probs``, e.g. :func:`code_probs` of the
      training patches): ``-log2 p`` bits per symbol, the rate of an ideal
      entropy coder;
    * ``entropy_bpp``, the empirical entropy of each image's own symbols
      (:func:`helpers.code_entropy`): optimistic, since sending those
      frequencies is not counted.

    Returns
    -------
    dict
        ``psnrs``, ``bpps``, ``entropy_bpps`` (``model_bpps`` with ``probs``):
        one float per image; ``psnr``, ``bpp``, ``entropy_bpp`` (``model_bpp``):
        their means.
    """
    _check_vq(codebook, mean_bits)
    k, centre = codebook.n_codes, codebook.norm == "center"
    if centre and probs is not None and mean_probs is None:
        raise ValueError("norm='center' with probs also needs mean_probs, the probabilities of the mean levels")
    out: dict[str, list[float]] = {"psnrs": [], "bpps": [], "entropy_bpps": []} | (
        {"model_bpps": []} if probs is not None else {}
    )
    for gray in grays:
        ref = gray8(gray)
        decoded, codes, levels = vq_roundtrip(ref, codebook, mean_bits)
        out["psnrs"].append(float(peak_signal_noise_ratio(ref, decoded, data_range=1)))
        fixed = codes.size * (np.log2(k) + (mean_bits if centre else 0))
        entropy = codes.size * (code_entropy(codes, k) + (code_entropy(levels, 2**mean_bits) if centre else 0))
        out["bpps"].append(float(fixed / ref.size))
        out["entropy_bpps"].append(float(entropy / ref.size))
        if probs is not None:
            bits = -np.log2(np.asarray(probs)[codes]).sum() - (
                np.log2(np.asarray(mean_probs)[levels]).sum() if centre else 0
            )
            out["model_bpps"].append(float(bits / ref.size))
    return {name[:-1]: float(np.mean(values)) for name, values in out.items()} | out


def vq_point(
    train: Sequence,
    test: Sequence,
    k: int,
    r: int = 8,
    norm: str = "none",
    seed: int = 0,
    *,
    n_train: int | None = 25000,
    mean_bits: int = 8,
) -> dict:
    """One point of VQ's rate-distortion curve: fit a codebook on ``train`` images, code the ``test`` images.

    The code (and mean) probabilities of ``model_bpp`` are those of the
    training patches (:func:`code_probs`), so nothing about the test images
    is assumed known. See :func:`vq_rates`.

    Returns
    -------
    dict
        ``k``, ``r``, ``norm``, every entry of :func:`vq_rates`, and ``codebook``.
    """
    codebook = PatchCodebook(n_codes=k, patch_size=r, norm=norm, n_patches=n_train, random_state=seed).fit(train)
    raw = sample_patches(train, n_train, r, random_state=seed)  # the patches fit() drew, before normalising
    rows = raw.reshape(len(raw), -1)
    means = rows.mean(axis=1, keepdims=True)
    probs = code_probs(codebook.kmeans_.predict(rows - means if norm == "center" else rows), k)
    mean_probs = code_probs(_quantise_means(means, mean_bits), 2**mean_bits) if norm == "center" else None
    rates = vq_rates(test, codebook, mean_bits, probs=probs, mean_probs=mean_probs)
    return {"k": k, "r": r, "norm": norm, **rates, "codebook": codebook}


def codebook_mse(km, rows) -> float:
    """Mean squared distance of patches to their nearest code vector, per value (k-means' objective per pixel).

    Parameters
    ----------
    km : fitted k-means (e.g. ``codebook.kmeans_``)
    rows : array_like, shape (n, d) or (n, r, r)

    Returns
    -------
    float
        In squared pixel units; ``10 * log10(1 / mse)`` is a PSNR.
    """
    rows = np.asarray(rows, dtype=np.float64)
    rows = rows.reshape(len(rows), -1)
    if len(rows) == 0:
        raise ValueError("no patches given")
    centers = km.cluster_centers_.astype(np.float64)
    return float(np.mean((rows - centers[km.predict(rows.astype(km.cluster_centers_.dtype))]) ** 2))
