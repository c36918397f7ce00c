"""Machinery of notebooks 03 and 07; not needed to follow the series.

Image codecs measured the same way: rate (bits per pixel) and distortion (PSNR, SSIM)
on 8-bit gray images (:func:`gray8`), the codecs Pillow writes and mozjpeg (through jpeglib),
rate-distortion curves.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from .images import as_rgb

__all__ = [
    "ANCHORS",
    "MAX_GAP",
    "anchor_roundtrip",
    "curve",
    "gray8",
    "jpeg_scan_bytes",
    "plot_rd",
    "rate_at",
    "read_csv",
    "scores",
    "value_at",
]

#: The anchors :func:`anchor_roundtrip` runs, and what their ``setting`` is.
ANCHORS = {
    "JPEG": "quality 1-95 (libjpeg-turbo; optimised Huffman tables, baseline or progressive: the smaller file)",
    "JPEG 2000": "target rate in bits per pixel (OpenJPEG, 9/7 wavelet, raw codestream)",
    "WebP": "quality 0-100 (libwebp, method 6: the slowest and smallest)",
    "AVIF": "quality 0-100 (libavif with aom, speed 0: the slowest and smallest; 4:0:0 gray)",
    "JPEG, half size": "quality 1-95 of JPEG on the image downsampled by 2; decoded and upsampled (bicubic)",
    "JPEG (mozjpeg)": (
        "quality 1-95 (mozjpeg 4.0.3 through jpeglib, its defaults: trellis quantisation, progressive;"
        " +FORCE_BASELINE: 8-bit tables)"
    ),
}


def _to_uint8(gray: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 0..255 integers: clip, scale by 255, round to nearest."""
    return np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8)


def gray8(image) -> np.ndarray:
    """The gray image as an 8-bit file stores it, (H, W) float32 on the levels ``0, 1/255, ..., 1``.

    Examples
    --------
    >>> (gray8(np.array([[0.0, 0.1, 1.0]])) * 255).round().astype(int).tolist()
    [[0, 26, 255]]
    """
    return _to_uint8(as_rgb(image).mean(axis=2)).astype(np.float32) / np.float32(255)


def scores(ref, decoded) -> tuple[float, float]:
    """PSNR (dB) and SSIM of a decoded image against its 8-bit reference, both on [0, 1] (``data_range=1``).

    SSIM as scikit-image computes it with Wang et al.'s (2004) window: Gaussian, sigma 1.5, population
    covariances, at full resolution (without their downsampling by ``round(min(H, W) / 256)``).

    Examples
    --------
    >>> ref = np.zeros((16, 16)); ref[:, 8:] = 1
    >>> [round(v, 3) for v in scores(ref, np.clip(ref + 0.1, 0, 1))]
    [23.01, 0.908]
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ref, decoded = np.asarray(ref, dtype=np.float64), np.asarray(decoded, dtype=np.float64)
    if ref.shape != decoded.shape:
        raise ValueError(f"decoded image has shape {decoded.shape}, its reference {ref.shape}")
    return (
        float(peak_signal_noise_ratio(ref, decoded, data_range=1)),
        float(
            structural_similarity(
                ref, decoded, data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
            )
        ),
    )


def read_csv(path) -> dict[str, np.ndarray]:
    """A results file of ``benchmarks/codecs.py`` as columns: :func:`helpers.tables.read_csv` with ``columns=True``."""
    from .tables import read_csv

    return read_csv(path, columns=True)


def curve(
    table: dict, codec: str, image: str, y: str = "psnr", frontier: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(rates in bpp, ``y`` values) of one codec on one image, in order of rate; from :func:`read_csv`.

    With ``frontier``, only the points that no point of lower or equal rate beats.

    Examples
    --------
    >>> t = {"codec": np.array(["A"] * 3), "image": np.array(["x"] * 3),
    ...      "bpp": np.array([0.1, 0.2, 0.3]), "psnr": np.array([30.0, 29.0, 31.0])}
    >>> [v.tolist() for v in curve(t, "A", "x", frontier=True)]
    [[0.1, 0.3], [30.0, 31.0]]
    """
    mask = (table["codec"] == codec) & (table["image"] == image)
    if not mask.any():
        raise ValueError(f"no rows for codec {codec!r} on image {image!r}")
    order = np.argsort(table["bpp"][mask], kind="stable")
    rates, values = table["bpp"][mask][order], table[y][mask][order]
    if frontier:
        keep = values > np.concatenate([[-np.inf], np.maximum.accumulate(values)[:-1]])
        rates, values = rates[keep], values[keep]
    return rates, values


#: :func:`value_at` and :func:`rate_at` interpolate only between measured rates at most this far apart (ratio).
MAX_GAP = 1.3


def _gap_ok(rates: np.ndarray, i: np.ndarray, max_gap: float) -> np.ndarray:
    """Whether the interval from rates[i - 1] to rates[i] is narrow enough to interpolate across."""
    return rates[i] <= max_gap * rates[np.maximum(i - 1, 0)]


def value_at(rates, values, rate, max_gap: float = MAX_GAP) -> np.ndarray:
    """A curve's value at ``rate`` (scalar or array), linear between its points.

    NaN outside the curve's range, and between measured rates more than ``max_gap`` times apart.

    Examples
    --------
    >>> value_at([0.1, 0.12, 0.3], [20.0, 21.0, 30.0], [0.11, 0.2, 0.05, 0.3]).tolist()
    [20.5, nan, nan, 30.0]
    """
    rates, values, rate = np.asarray(rates, float), np.asarray(values, float), np.asarray(rate, float)
    inside = (rate >= rates.min()) & (rate <= rates.max())
    i = np.clip(np.searchsorted(rates, rate, side="left"), 0, len(rates) - 1)
    measured = rates[i] == rate
    ok = inside & (measured | _gap_ok(rates, i, max_gap))
    return np.where(ok, np.interp(rate, rates, values), np.nan)


def rate_at(rates, values, target: float, max_gap: float = MAX_GAP) -> float:
    """The lowest rate at which a curve (in order of rate, linear between points) reaches ``target``.

    NaN if it never does, or first does between rates more than ``max_gap`` times apart.

    Examples
    --------
    >>> round(rate_at([0.1, 0.12, 0.13], [20.0, 24.0, 23.0], 22.0), 6)
    0.11
    >>> rate_at([0.1, 0.2], [20.0, 24.0], 22.0)
    nan
    """
    rates, values = np.asarray(rates, float), np.asarray(values, float)
    above = np.flatnonzero(values >= target)
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(rates[0])
    if not _gap_ok(rates, np.array(i), max_gap):
        return float("nan")
    return float(np.interp(target, values[i - 1 : i + 1], rates[i - 1 : i + 1]))


def plot_rd(ax, curves: dict, styles: dict, xlim=(0.02, 0.6), bold=()) -> None:
    """Rate-distortion curves on one axes: a dot at each measured point, straight lines between, rate on a log scale.

    ``curves``: name -> (rates, values); ``styles``: name -> (colour, line style, label);
    ``bold``: names drawn thicker. The y-range takes in every point within ``xlim``.
    """
    import matplotlib.pyplot as plt

    shown = []
    for name, (rates, values) in curves.items():
        colour, ls, label = styles[name]
        ax.plot(rates, values, color=colour, ls=ls, lw=2 if name in bold else 1.2, marker=".", ms=4, label=label)
        rates, values = np.asarray(rates, float), np.asarray(values, float)
        inside = (rates >= xlim[0]) & (rates <= xlim[1])
        shown += [*values[inside], *value_at(rates, values, list(xlim), max_gap=np.inf)]
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ticks = [t for t in (0.01, 0.03, 0.06, 0.1, 0.25, 0.6, 1, 2) if xlim[0] <= t <= xlim[1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    low, high = np.nanmin(shown), np.nanmax(shown)
    ax.set_ylim(low - 0.04 * (high - low), high + 0.04 * (high - low))


# ---- the anchors: codecs Pillow (and jpeglib) write ------------------------------------------------------------------


def _save(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _load(data: bytes, mode: str = "L") -> np.ndarray:
    """Decode an image file to float32 in [0, 1] (8-bit levels), gray (``"L"``; WebP's channels are equal) or RGB."""
    with Image.open(io.BytesIO(data)) as im:
        im = im.convert(mode) if im.mode != mode else im
        return np.asarray(im, dtype=np.float32) / np.float32(255)


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    files = [_save(pixels, "JPEG", quality=quality, optimize=True, progressive=p) for p in (False, True)]
    return min(files, key=len)


def _mozjpeg(pixels: np.ndarray, quality: int) -> bytes:
    """mozjpeg 4.0.3 (bundled with jpeglib) at its defaults plus ``+FORCE_BASELINE``.

    As ``cjpeg -quality q`` with only the table clipping of ``-baseline`` (which also turns off
    progressive scans in ``cjpeg``).

    mozjpeg's default profile: trellis quantisation of the AC and DC coefficients, its own
    quantisation tables (``quant-table 3``) scaled by the quality, optimised Huffman tables,
    progressive scans with an optimised scan script, and deringing. ``+FORCE_BASELINE`` clips the
    scaled table entries to 1-255: without it mozjpeg writes 16-bit tables (Pq = 1) at low and
    middle qualities (up to quality 65 on every test image of notebook 07), which ITU-T T.81
    B.2.4.1 forbids for 8-bit samples. The scans stay progressive. jpeglib writes to a file only.
    """
    import tempfile

    import jpeglib

    jpeglib.version.set("mozjpeg403")
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/image.jpg"
        jpeglib.from_spatial(np.ascontiguousarray(pixels[..., None])).write_spatial(
            path, qt=quality, flags=["+FORCE_BASELINE"]
        )
        with open(path, "rb") as f:
            return f.read()


def anchor_roundtrip(gray, codec: str, setting) -> tuple[np.ndarray, bytes]:
    """Code a gray image with one of the codecs of :data:`ANCHORS` in memory, and decode it.

    ``setting``: the codec's rate control, as :data:`ANCHORS` says. Returns the decoded
    (H, W) float32 image of :func:`gray8` and the whole file's bytes. Pillow writes every
    codec but ``"JPEG (mozjpeg)"`` (jpeglib, through a temporary file); Pillow decodes all.

    Examples
    --------
    >>> decoded, data = anchor_roundtrip(np.full((64, 64), 0.5), "JPEG", 75)
    >>> decoded.shape, bool(np.allclose(decoded, 128 / 255))
    ((64, 64), True)
    """
    pixels = _to_uint8(gray8(gray))
    if codec in ("JPEG", "JPEG, half size", "JPEG (mozjpeg)"):
        if isinstance(setting, bool) or not isinstance(setting, (int, np.integer)) or not 1 <= setting <= 100:
            raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {setting!r}")
        if codec != "JPEG, half size":
            data = (_jpeg if codec == "JPEG" else _mozjpeg)(pixels, int(setting))
            return _load(data), data
        from skimage.transform import resize

        small = _to_uint8(
            resize(pixels / 255, (-(-pixels.shape[0] // 2), -(-pixels.shape[1] // 2)), anti_aliasing=True)
        )
        data = _jpeg(small, int(setting))
        return _to_uint8(resize(_load(data), pixels.shape, order=3)).astype(np.float32) / np.float32(255), data
    if codec == "JPEG 2000":
        if not 0 < setting < 8:
            raise ValueError(f"JPEG 2000 target rate must be between 0 and 8 bits per pixel, got {setting!r}")
        data = _save(
            pixels, "JPEG2000", quality_mode="rates", quality_layers=[8 / setting], irreversible=True, no_jp2=True
        )
    elif codec == "WebP":
        data = _save(np.repeat(pixels[..., None], 3, axis=2), "WEBP", quality=setting, method=6)
    elif codec == "AVIF":
        data = _save(pixels, "AVIF", quality=setting, speed=0)
    else:
        raise ValueError(f"codec must be one of {list(ANCHORS)}, got {codec!r}")
    return _load(data), data


def jpeg_scan_bytes(data: bytes) -> int:
    """Bytes of a JPEG file's entropy-coded scan data: the file without its markers, headers and tables.

    A lower bound on what JPEG must send if its decoder knew the tables (as VQ's knows its codebook).

    Examples
    --------
    >>> _, data = anchor_roundtrip(np.full((64, 64), 0.5), "JPEG", 75)
    >>> 0 < jpeg_scan_bytes(data) < len(data) - 100
    True
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file (no start-of-image marker)")
    pos, scan = 2, 0
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"malformed JPEG: expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xD9:  # end of image
            return scan
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to a marker that is not RSTn or a stuffed 0xFF00
            start = pos
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
            scan += pos - start
    raise ValueError("malformed JPEG: no end-of-image marker")


def __getattr__(name: str):
    if name == "PatchCoder":  # notebook 07 reads it as compression.PatchCoder; it lives in helpers.coder
        from .coder import PatchCoder

        return PatchCoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
