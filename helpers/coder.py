"""Machinery of notebook 07; not needed to follow the series.

The patch-codebook (VQ) image coder; the entropy coding is constriction's adaptive range coder.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import constriction
import numpy as np

from .codebook import steady_kmeans, untie
from .compression import _to_uint8, gray8

__all__ = ["INCREMENT", "PatchCoder", "decode_adaptive", "encode_adaptive", "med_predict"]

# ---- adaptive range coding (constriction) ----------------------------------------------------------------------

#: Added to a symbol's count after it is coded, so the models learn each image's own frequencies.
INCREMENT = 16


def _categorical():
    return constriction.stream.model.Categorical(perfect=False)


def encode_adaptive(encoder, symbols, prior, increment: int = INCREMENT) -> None:
    """Append ``symbols`` to a :class:`constriction.stream.queue.RangeEncoder`, each with the adaptive frequencies.

    Counts start at ``prior`` (each >= 1) and grow by ``increment`` per coded symbol.

    Examples
    --------
    >>> import constriction
    >>> encoder = constriction.stream.queue.RangeEncoder()
    >>> encode_adaptive(encoder, [0, 0, 1, 0], [1, 1])
    >>> decoder = constriction.stream.queue.RangeDecoder(encoder.get_compressed())
    >>> decode_adaptive(decoder, 4, [1, 1]).tolist()
    [0, 0, 1, 0]
    """
    counts = _prior(prior)
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    if symbols.size and (symbols.min() < 0 or symbols.max() >= len(counts)):
        raise ValueError(f"symbols must lie in 0 .. {len(counts) - 1}")
    for start in range(0, len(symbols), 512):  # the counts before each symbol, 512 symbols at a time
        s = symbols[start : start + 512]
        seen = np.zeros((len(s), len(counts)), dtype=np.int64)
        seen[np.arange(len(s)), s] = increment
        before = counts + np.cumsum(seen, axis=0) - seen
        encoder.encode(s.astype(np.int32), _categorical(), before / before.sum(axis=1, keepdims=True))
        counts = before[-1] + seen[-1]


def decode_adaptive(decoder, n: int, prior, increment: int = INCREMENT) -> np.ndarray:
    """The next ``n`` symbols of a constriction ``RangeDecoder``, as :func:`encode_adaptive` coded them."""
    counts = _prior(prior)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = s = decoder.decode(_categorical(), (counts / counts.sum())[None])[0]
        counts[s] += increment
    return out


def _prior(prior) -> np.ndarray:
    counts = np.array(prior, dtype=np.int64)
    if counts.ndim != 1 or not len(counts) or counts.min() < 1:
        raise ValueError(f"prior must be a 1-D array of counts >= 1, got shape {counts.shape}")
    return counts


def _to_bytes(words: np.ndarray) -> bytes:
    """Big-endian bytes of the coder's 32-bit words, trailing zero bytes dropped (:func:`_from_bytes` restores them)."""
    return words.astype(">u4").tobytes().rstrip(b"\0")


def _from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data + b"\0" * (-len(data) % 4), dtype=">u4").astype(np.uint32)


# ---- the VQ coder ------------------------------------------------------------------------------------------------


def med_predict(levels: np.ndarray) -> np.ndarray:
    """LOCO-I's median edge detector prediction of each entry from its left, upper and upper-left neighbours.

    The first row is predicted from the left, the first column from above, the first entry as 0.

    Examples
    --------
    >>> med_predict(np.array([[5, 7], [6, 9]])).tolist()
    [[0, 5], [5, 7]]
    """
    levels = np.asarray(levels, dtype=np.int64)
    a, b, c = np.zeros_like(levels), np.zeros_like(levels), np.zeros_like(levels)
    a[:, 1:], b[1:], c[1:, 1:] = levels[:, :-1], levels[:-1], levels[:-1, :-1]
    pred = np.where(
        c >= np.maximum(a, b), np.minimum(a, b), np.where(c <= np.minimum(a, b), np.maximum(a, b), a + b - c)
    )
    pred[0, 1:], pred[1:, 0], pred[0, 0] = levels[0, :-1], levels[:-1, 0], 0
    return pred


def _med_reconstruct(residuals: np.ndarray) -> np.ndarray:
    """Invert ``residuals = levels - med_predict(levels)`` entry by entry (a prediction needs decoded neighbours)."""
    levels = np.zeros(residuals.shape, dtype=np.int64)
    h, w = residuals.shape
    lv, res = levels.tolist(), residuals.tolist()
    for y in range(h):
        for x in range(w):
            if y == 0:
                p = lv[0][x - 1] if x else 0
            elif x == 0:
                p = lv[y - 1][0]
            else:
                a, b, c = lv[y][x - 1], lv[y - 1][x], lv[y - 1][x - 1]
                p = min(a, b) if c >= max(a, b) else max(a, b) if c <= min(a, b) else a + b - c
            lv[y][x] = p + res[y][x]
    return np.array(lv, dtype=np.int64)


def _blocks(image: np.ndarray, r: int) -> np.ndarray:
    """(nby, nbx, r * r) blocks of an image whose sides are multiples of r."""
    from skimage.util import view_as_blocks

    return view_as_blocks(image, (r, r)).reshape(image.shape[0] // r, image.shape[1] // r, r * r)


def _unblock(blocks: np.ndarray, r: int) -> np.ndarray:
    """The image of (nby, nbx, r * r) blocks: :func:`_blocks` undone."""
    from skimage.util import view_as_blocks

    nby, nbx = blocks.shape[:2]
    image = np.empty((nby * r, nbx * r), dtype=blocks.dtype)
    view_as_blocks(image, (r, r))[...] = blocks.reshape(nby, nbx, r, r)
    return image


def _surface(means: np.ndarray, r: int) -> np.ndarray:
    """The block means interpolated bilinearly between block centres (edges held): a smooth image."""
    from skimage.transform import resize

    return resize(means, (means.shape[0] * r, means.shape[1] * r), order=1, mode="edge", anti_aliasing=False)


def _nearest(x: np.ndarray, centres: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """argmin_k |x - c_k|^2 + penalty_k for each row of x, in float64, 4096 rows at a time."""
    from sklearn.utils import gen_batches

    offset = np.einsum("kd,kd->k", centres, centres) + penalty
    out = np.empty(len(x), dtype=np.int64)
    for batch in gen_batches(len(x), 4096):
        out[batch] = (offset - 2 * x[batch] @ centres.T).argmin(axis=1)
    return out


_HEADER = struct.Struct(">HHBBe")  # height, width, mean step (0: no means), stages, lam (half precision)


class PatchCoder:
    """A patch-codebook (VQ) image coder that writes every bit its decoder needs.

    Each ``r x r`` block of the 8-bit gray image is coded as its mean (quantised, DPCM with
    :func:`med_predict`), a code for the block minus its mean (``"block"``) or minus the
    interpolated means (``"smooth"``), and with ``n_codes2`` a code for each quarter of
    the rest. Indices minimise squared error + ``lam`` x bits; every symbol goes into one
    adaptive range-coded stream (:func:`encode_adaptive`).

    Examples
    --------
    >>> from helpers import load_images
    >>> images = load_images()
    >>> coder = PatchCoder(n_codes=64, n_codes2=16).fit([images["astronaut"]])
    >>> data = coder.encode(images["camera"], lam=0.01)
    >>> len(data) < 512 * 512 // 8, coder.decode(data).shape
    (True, (512, 512))

    Parameters
    ----------
    r : int
        Block size; a multiple of 2.
    n_codes, n_codes2 : int
        Code vectors of the first stage, and of the second (0: none).
    means : {"smooth", "block", None}
    augment : bool
        Train on all 8 flips and rotations.
    prior_weight : int
        How many symbols' worth the training frequencies count for.
    max_iter, batch_size, random_state
        Of :func:`helpers.steady_kmeans`.

    Attributes
    ----------
    codes_ : ndarray, shape (n_codes, r * r), float32
    codes2_ : ndarray, shape (n_codes2 + 1, r * r / 4), float32 (row 0 is the zero vector) or None
    n_train_ : int
        Training blocks the first stage was fitted to.
    n_table_blocks_ : int
        Training blocks (at most 20 000) kept for the second stage and the probability tables.
    stream_bits_ : dict
        Of the last :meth:`encode`: bits of ``"means"``, ``"codes"``, ``"codes2"`` (to 32 bits).
    """

    #: Bytes of the header that starts every byte string: height, width, mean step, stages, ``lam``.
    header_bytes = _HEADER.size

    def __init__(
        self,
        r: int = 8,
        n_codes: int = 1024,
        means: str | None = "block",
        n_codes2: int = 0,
        augment: bool = False,
        prior_weight: int = 1024,
        max_iter: int = 2,
        batch_size: int = 4096,
        random_state: int = 0,
    ):
        if r < 2 or r % 2 or r > 64:
            raise ValueError(f"block size r must be an even number from 2 to 64, got {r!r}")
        if means not in ("smooth", "block", None):
            raise ValueError(f"means must be 'smooth', 'block' or None, got {means!r}")
        self.r, self.n_codes, self.means, self.n_codes2, self.augment = r, n_codes, means, n_codes2, augment
        self.prior_weight, self.max_iter, self.batch_size, self.random_state = (
            prior_weight,
            max_iter,
            batch_size,
            random_state,
        )

    # ---- training ----

    def _base(self, means: np.ndarray) -> np.ndarray:
        """What the block means (8-bit levels, shape (nby, nbx)) contribute to the image: the image to subtract."""
        m = means / 255
        return (
            _surface(m, self.r) if self.means == "smooth" else np.repeat(np.repeat(m, self.r, axis=0), self.r, axis=1)
        )

    def _residual_blocks(self, gray: np.ndarray, mean_step: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(block means in 8-bit levels, unquantised if mean_step == 0; their base image; blocks minus the base)."""
        r = self.r
        if self.means is None:
            return np.zeros(0), np.zeros_like(gray), _blocks(gray, r)
        means = _blocks(gray, r).mean(axis=2) * 255
        if mean_step:
            means = np.minimum(np.round(means / mean_step) * mean_step, 255)
        base = self._base(means)
        return means, base, _blocks(gray - base, r)

    def _training_blocks(self, grays: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        r, half = self.r, self.r // 2
        rows, mean_grids = [], []
        for gray in grays:
            views = [np.rot90(g, k) for g in (gray, gray[:, ::-1]) for k in range(4)] if self.augment else [gray]
            for v, view in enumerate(views):
                for dy in (0, half):
                    for dx in (0, half):
                        crop = view[dy:, dx:]
                        crop = crop[: crop.shape[0] // r * r, : crop.shape[1] // r * r]
                        if crop.size == 0:
                            continue
                        means, _, blocks = self._residual_blocks(crop)
                        rows.append(blocks.reshape(-1, r * r))
                        if v == dy == dx == 0:  # the image as it is, at offset 0
                            mean_grids.append(means)
        return np.concatenate(rows), mean_grids

    def _kmeans(self, k: int):
        """The k-means of both stages: one k-means++ start on 3 k blocks, this coder's batches and seed."""
        return steady_kmeans(k, self.batch_size, self.max_iter, self.random_state, init_size=3 * k)

    def fit(self, grays: Sequence) -> PatchCoder:
        """Fit the code vectors and the probability tables to training images (any images; made 8-bit gray)."""
        grays = [gray8(g) for g in grays]
        x, self._train_means = self._training_blocks(grays)
        x = x.astype(np.float64)
        if len(x) < self.n_codes:
            raise ValueError(f"cannot fit {self.n_codes} code vectors to {len(x)} training blocks")
        self.n_train_ = len(x)
        kmeans = self._kmeans(self.n_codes).fit(untie(x, self.random_state))
        self.codes_ = kmeans.cluster_centers_.astype(np.float32)
        rng = np.random.default_rng(self.random_state)
        self._x = x = x[np.sort(rng.permutation(len(x))[:20_000])]  # for the second stage and the tables
        self.n_table_blocks_ = len(x)
        codes = _nearest(x, self.codes_.astype(np.float64), np.zeros(self.n_codes))
        self._probs1 = np.bincount(codes, minlength=self.n_codes) / len(codes)
        self.codes2_ = None
        if self.n_codes2:
            rest = _quarters(x - self.codes_[codes], self.r)
            km2 = self._kmeans(self.n_codes2).fit(untie(rest, self.random_state))
            self.codes2_ = np.vstack([np.zeros((1, rest.shape[1])), km2.cluster_centers_]).astype(np.float32)
        self._tables: dict = {}
        return self

    def table_bytes(self, lam: float = 0.0) -> int:
        """The one-off part the decoder holds: code vectors as float32, and the 16-bit prior counts for ``lam``."""
        vectors = self.codes_.size + (self.codes2_.size if self.codes2_ is not None else 0)
        lam = float(np.float16(lam))
        step = self.mean_step(lam) if self.means else 0
        return 4 * vectors + 2 * sum(len(t) for t in self._priors(lam, step).values())

    def _priors(self, lam: float, mean_step: int) -> dict:
        """Prior counts of each symbol kind: training frequencies (for indices, chosen with the same ``lam``)."""
        w = self.prior_weight * 16
        if lam not in self._tables:
            tables = {}
            codes = _nearest(self._x, self.codes_.astype(np.float64), lam * self._lengths(self._probs1))
            p1 = np.bincount(codes, minlength=self.n_codes) / len(codes)
            tables["codes"] = 1 + np.round(w * p1).astype(np.int64)
            if self.codes2_ is not None:
                rest = _quarters(self._x - self.codes_[codes], self.r)
                c2 = self.codes2_.astype(np.float64)
                p2 = np.bincount(_nearest(rest, c2, np.zeros(len(c2))), minlength=len(c2)) / len(rest)
                counts = np.bincount(_nearest(rest, c2, lam * self._lengths(p2)), minlength=len(c2))
                tables["codes2"] = 1 + np.round(w * counts / counts.sum()).astype(np.int64)
            self._tables[lam] = tables
        if self.means and ("means", mean_step) not in self._tables:
            top = int(round(255 / mean_step))
            levels = [np.round(m / mean_step).astype(np.int64) for m in self._train_means]
            res = np.concatenate([(lv - med_predict(lv)).ravel() for lv in levels])
            counts = np.bincount(np.clip(res, -top, top) + top, minlength=2 * top + 1)
            self._tables["means", mean_step] = 1 + np.round(w * counts / counts.sum()).astype(np.int64)
        return self._tables[lam] | ({"means": self._tables["means", mean_step]} if self.means else {})

    @staticmethod
    def _lengths(probs: np.ndarray) -> np.ndarray:
        """Code lengths in bits, -log2 p, with unused codes at 30 bits."""
        with np.errstate(divide="ignore"):
            return np.minimum(-np.log2(probs), 30)

    # ---- coding ----

    def encode(self, gray, lam: float = 0.0, mean_step: int | None = None) -> bytes:
        """Code an image (made 8-bit gray by :func:`gray8`) into bytes: an 8-byte header, then the coded stream.

        ``lam``: squared error per bit (stored in half precision); ``mean_step``: 1 to 64
        levels, default :meth:`mean_step` of ``lam``.
        """
        return self._encode(gray, lam, mean_step)[0]

    def _encode(self, gray, lam: float = 0.0, mean_step: int | None = None) -> tuple[bytes, np.ndarray]:
        """The bytes, and the image the encoder intends the decoder to make of them."""
        self._check_fitted()
        if not lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam!r}")
        lam = float(np.float16(lam))  # as the header stores it
        mean_step = self.mean_step(lam) if mean_step is None else mean_step
        if self.means and (
            isinstance(mean_step, bool) or not isinstance(mean_step, (int, np.integer)) or not 1 <= mean_step <= 64
        ):
            raise ValueError(f"mean_step must be a whole number from 1 to 64, got {mean_step!r}")
        mean_step = int(mean_step) if self.means else 0
        ref = gray8(gray)
        h, w = ref.shape
        if h > 65535 or w > 65535:
            raise ValueError(f"image of {h} x {w} pixels is too large for the 16-bit header")
        r = self.r
        padded = np.pad(ref.astype(np.float64), ((0, -h % r), (0, -w % r)), mode="edge")
        tables = self._priors(lam, mean_step)
        encoder, bits = constriction.stream.queue.RangeEncoder(), {}
        means, base, blocks = self._residual_blocks(padded, mean_step)
        if self.means:
            top = int(round(255 / mean_step))
            levels = np.round(means / mean_step).astype(np.int64)
            encode_adaptive(encoder, levels - med_predict(levels) + top, tables["means"])
            bits["means"] = encoder.num_bits()
        x = blocks.reshape(-1, r * r)
        codes = _nearest(
            x, self.codes_.astype(np.float64), lam * self._lengths(tables["codes"] / tables["codes"].sum())
        )
        encode_adaptive(encoder, codes, tables["codes"])
        bits["codes"] = encoder.num_bits() - sum(bits.values())
        codes2 = None
        if self.codes2_ is not None:
            c2, rest = tables["codes2"], _quarters(x - self.codes_[codes].astype(np.float64), r)
            codes2 = _nearest(rest, self.codes2_.astype(np.float64), lam * self._lengths(c2 / c2.sum()))
            encode_adaptive(encoder, codes2, c2)
            bits["codes2"] = encoder.num_bits() - sum(bits.values())
        header = _HEADER.pack(h, w, mean_step, 2 if self.codes2_ is not None else 1, lam)
        self.stream_bits_ = bits
        return header + _to_bytes(encoder.get_compressed()), self._image(base, codes, codes2, h, w)

    def _image(self, base: np.ndarray, codes, codes2, h: int, w: int) -> np.ndarray:
        """The decoded (H, W) image: ``base`` plus each block's code vector (and its quarters'), on 8-bit levels."""
        blocks = self.codes_[codes].astype(np.float64)
        if codes2 is not None:
            blocks += _unquarters(self.codes2_[codes2].astype(np.float64), self.r)
        image = base + _unblock(blocks.reshape(base.shape[0] // self.r, base.shape[1] // self.r, -1), self.r)
        return _to_uint8(image[:h, :w]).astype(np.float32) / np.float32(255)

    @staticmethod
    def mean_step(lam: float) -> int:
        """The default step of the block means for ``lam``: ``round(80 * sqrt(lam))``, from 1 to 64."""
        return int(np.clip(np.round(80 * np.sqrt(lam)), 1, 64))

    def decode(self, data: bytes) -> np.ndarray:
        """Decode bytes from :meth:`encode`: (H, W) float32 in [0, 1] (8-bit levels)."""
        self._check_fitted()
        h, w, mean_step, stages, lam = _HEADER.unpack(data[: _HEADER.size])
        if (mean_step > 0) != bool(self.means) or stages != (2 if self.codes2_ is not None else 1):
            raise ValueError("these bytes were written by a coder with other settings")
        r = self.r
        nby, nbx = -(-h // r), -(-w // r)
        tables = self._priors(lam, mean_step)
        decoder = constriction.stream.queue.RangeDecoder(_from_bytes(data[_HEADER.size :]))
        base = np.zeros((nby * r, nbx * r))
        if self.means:
            top = int(round(255 / mean_step))
            levels = _med_reconstruct(decode_adaptive(decoder, nby * nbx, tables["means"]).reshape(nby, nbx) - top)
            base = self._base(np.minimum(levels * mean_step, 255).astype(np.float64))
        codes = decode_adaptive(decoder, nby * nbx, tables["codes"])
        codes2 = decode_adaptive(decoder, 4 * nby * nbx, tables["codes2"]) if self.codes2_ is not None else None
        return self._image(base, codes, codes2, h, w)

    def _check_fitted(self) -> None:
        if not hasattr(self, "codes_"):
            raise ValueError("this PatchCoder is not fitted yet: call fit(training_images) first")


def _quarters(rows: np.ndarray, r: int) -> np.ndarray:
    """Rows of r * r values (blocks) to rows of (r/2)**2 values (their four quarters, row by row)."""
    h = r // 2
    return rows.reshape(-1, 2, h, 2, h).transpose(0, 1, 3, 2, 4).reshape(-1, h * h)


def _unquarters(rows: np.ndarray, r: int) -> np.ndarray:
    h = r // 2
    return rows.reshape(-1, 2, 2, h, h).transpose(0, 1, 3, 2, 4).reshape(-1, r * r)
