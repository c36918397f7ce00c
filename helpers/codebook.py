"""The codebook: k-means code vectors of image patches, and what they turn an image into.

:class:`PatchCodebook` owns every choice from images to codes; it encodes an image into one
code per block (VQ) and turns each image into one descriptor row (a scikit-learn transformer).
"""

from __future__ import annotations

import numbers
import zlib
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.validation import check_is_fitted

from .descriptors import level_weights, vlad_normalise
from .extraction import (
    NORMS,
    ZCA,
    _check_size,
    corner_positions,
    grid_positions,
    patches_at,
    random_positions,
    sample_patches,
)
from .images import ImageReadError, as_rgb
from .kmeans import fitting_k, nearest_codes, steady_kmeans, untie

__all__ = [
    "ENCODINGS",
    "READOUTS",
    "SAMPLINGS",
    "VLAD_NORMS",
    "PatchCodebook",
    "fitting_k",
    "steady_kmeans",
    "untie",
]

#: How :meth:`PatchCodebook.transform` turns the patches of an image into numbers.
ENCODINGS = ("hard", "triangle", "vlad")
#: Where :class:`PatchCodebook` takes patches.
SAMPLINGS = ("grid", "corners", "grid+corners", "random", "random-as-corners")
#: How ``encoding="vlad"`` normalises each cell's residual sums before the final L2 normalisation.
VLAD_NORMS = ("l2", "power", "intra", "power+intra")
#: The parameters that only say how :meth:`PatchCodebook.transform` reads a fitted codebook; any other changes the fit.
READOUTS = ("encoding", "vlad_norm", "pyramid")


def _same(a, b) -> bool:
    """Whether two parameter values are equal (estimators by their parameters)."""
    if isinstance(a, BaseEstimator) or isinstance(b, BaseEstimator):
        return type(a) is type(b) and a.get_params() == b.get_params()
    try:
        return a is b or bool(a == b)
    except ValueError:  # arrays
        return np.array_equal(a, b)


def _check_images(X) -> list[tuple[str, np.ndarray]]:
    """(name, H x W x 3 float32 image) for each image of a sequence; the one check of every entry point."""
    if isinstance(X, np.ndarray) and X.ndim != 4:
        raise ValueError(
            f"expected a sequence of images (a list, or an array of shape (n, H, W, C)), got an array of shape "
            f"{X.shape}; for one image, pass [image]"
        )
    if isinstance(X, (str, Path)) or any(isinstance(x, (str, Path)) for x in X):
        raise TypeError(
            "expected images (arrays), got file paths: load them first with helpers.load_images(folder) "
            "or [helpers.load_image(path) for path in paths]"
        )
    names = getattr(X, "names", None) or [f"image {i}" for i in range(len(X))]
    if len(X) == 0:
        raise ValueError("no images given")
    return [(name, as_rgb(image, name=name)) for name, image in zip(names, X, strict=True)]


class PatchCodebook(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A k-means codebook of image patches, and the descriptors it gives images.

    ``fit`` draws ``n_patches`` patches, normalises (:func:`helpers.pnorm`) and optionally
    whitens them (:class:`ZCA`), and fits :func:`steady_kmeans` to them. ``transform``
    counts each patch's nearest code (``"hard"``, the lecture's ``patchhist``), sums
    :math:`\\max(0, \\bar z - z_k)` (``"triangle"``, Coates et al. 2011) or the residuals
    to the nearest code (``"vlad"``, Jégou et al. 2010), pooled over the cells of each
    grid in ``pyramid``.

    Parameters
    ----------
    n_codes, patch_size : int
        K code vectors of r x r patches.
    step : int, optional
        Grid spacing; default ``patch_size // 2``.
    norm : str
        One of :data:`helpers.NORMS`.
    colour : bool
        Keep the three colour channels (r * r * 3 values).
    whiten : float, ZCA or None
        ``ZCA(eps=whiten)``, or a clone of the given :class:`ZCA`.
    encoding, vlad_norm, sampling : str
        One of :data:`ENCODINGS`, :data:`VLAD_NORMS`, :data:`SAMPLINGS`.
    pyramid : tuple of int
        Grid sizes to pool over, e.g. ``(1, 2)`` (levels weighted as in Lazebnik et al. 2006).
    scales : tuple of float
        Image scales patches are taken at, e.g. ``(1, 0.5)``.
    n_points : int or None
        Points per image and scale for ``"corners"`` and the random samplings.
    n_patches : int or None
        Training patches drawn by ``fit``; ``None``: all.
    batch_size, max_iter : int
        Of :func:`steady_kmeans`.
    random_state : int, RandomState or None
        Seeds the patch sample, the k-means and the random positions.

    Attributes
    ----------
    kmeans_ : MiniBatchKMeans
        The fitted k-means (the lecture's ``km``).
    whitener_ : ZCA or None
    fitted_params_ : dict
        The parameters of the fit; after ``set_params`` changes any but :data:`READOUTS`,
        methods that use the fit raise :class:`~sklearn.exceptions.NotFittedError`.
    random_state_ : RandomState
        The stream the next :meth:`partial_fit` draws from; ``fit`` restarts it.
    position_seed_ : int
        Seeds the random positions (with each image's pixels).
    n_features_out_ : int

    Examples
    --------
    >>> from helpers import load_images
    >>> images = load_images()
    >>> codebook = PatchCodebook(n_codes=64, n_patches=5000).fit(images)
    >>> codebook.transform(images[:2]).shape
    (2, 64)
    """

    def __init__(
        self,
        n_codes: int = 1024,
        patch_size: int = 8,
        step: int | None = None,
        norm: str = "none",
        colour: bool = False,
        whiten: float | ZCA | None = None,
        encoding: str = "hard",
        vlad_norm: str = "power+intra",
        pyramid: tuple[int, ...] = (1,),
        scales: tuple[float, ...] = (1,),
        sampling: str = "grid",
        n_points: int | None = None,
        n_patches: int | None = 70000,
        batch_size: int = 2048,
        max_iter: int = 3,
        random_state=0,
    ):
        self.n_codes = n_codes
        self.patch_size = patch_size
        self.step = step
        self.norm = norm
        self.colour = colour
        self.whiten = whiten
        self.encoding = encoding
        self.vlad_norm = vlad_norm
        self.pyramid = pyramid
        self.scales = scales
        self.sampling = sampling
        self.n_points = n_points
        self.n_patches = n_patches
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a sequence of images, not rows of numbers
        tags.input_tags.positive_only = True  # pixel values in [0, 1]
        return tags

    def _check_params(self) -> None:
        _check_size(self.patch_size, self.step or 1)
        for label, value, choices in (
            ("norm", self.norm, NORMS),
            ("encoding", self.encoding, ENCODINGS),
            ("sampling", self.sampling, SAMPLINGS),
            ("vlad_norm", self.vlad_norm, VLAD_NORMS),
        ):
            if value not in choices:
                raise ValueError(f"{label} must be one of {choices}, got {value!r}")
        if not isinstance(self.n_codes, (int, np.integer)) or self.n_codes < 1:
            raise ValueError(f"n_codes must be a whole number >= 1, got {self.n_codes!r}")
        pyramid = np.asarray(self.pyramid)
        if pyramid.ndim != 1 or not len(pyramid) or (pyramid < 1).any() or (pyramid & (pyramid - 1)).any():
            raise ValueError(f"pyramid must be grid sizes that are powers of 2, e.g. (1, 2), got {self.pyramid!r}")
        if not all(0 < s <= 1 for s in self.scales) or not len(self.scales):
            raise ValueError(f"scales must lie in (0, 1], got {self.scales!r}")
        counted = isinstance(self.n_points, (int, np.integer)) and self.n_points >= 1
        if self.sampling.startswith("random") and not counted:
            raise ValueError(f"sampling={self.sampling!r} needs n_points >= 1, got {self.n_points!r}")
        if self.whiten is not None and not isinstance(self.whiten, ZCA) and not self.whiten > 0:
            raise ValueError(f"whiten must be None, a ZCA or > 0, got {self.whiten!r}")

    def _views(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(scaled image, its patch positions, scale) for each scale."""
        from skimage.transform import rescale

        views = []
        for s in self.scales:
            im = image if s == 1 else np.clip(rescale(image, s, anti_aliasing=True, channel_axis=2), 0, 1)
            r = self.patch_size
            positions = [grid_positions(im.shape, r, self.step)] if "grid" in self.sampling else []
            if self.sampling in ("corners", "grid+corners"):
                weakest = 1e-4 if self.n_points is None else 0
                positions.append(corner_positions(im, r, threshold=weakest, max_corners=self.n_points))
            if self.sampling.startswith("random"):
                seed = [self.position_seed_, zlib.crc32(im.tobytes())]
                n = min(self.n_points, max(im.shape[0] - r + 1, 0) * max(im.shape[1] - r + 1, 0))
                if self.sampling == "random-as-corners":
                    n = len(corner_positions(im, r, threshold=0, max_corners=self.n_points))
                positions.append(random_positions(im.shape, n, r, seed=np.random.default_rng(seed)))
            views.append((im, positions[0] if len(positions) == 1 else np.unique(np.concatenate(positions), axis=0), s))
        return views

    def _rows(self, image: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The normalised (and whitened) patches at ``positions``, one flat float64 row each."""
        p = patches_at(image, positions, self.patch_size, self.norm, self.colour)
        rows = p.reshape(len(p), int(np.prod(p.shape[1:])))
        return self.whitener_.transform(rows) if self.whitener_ is not None and len(rows) else rows

    def extract(self, image) -> tuple[np.ndarray, np.ndarray]:
        """The patches :meth:`transform` describes an image by: ``(y, x)`` centres (n, 2) and rows (n, d), float64.

        The centres are in the image's own pixels; the rows normalised and whitened as the codebook's were.
        """
        self._check_fitted()
        image = as_rgb(image)
        centres, rows = [], []
        for im, positions, s in self._views(image):
            centres.append((positions + self.patch_size / 2) / s)
            rows.append(self._rows(im, positions))
        return np.concatenate(centres), np.concatenate(rows)

    def sample(self, X, random_state=None) -> np.ndarray:
        """The ``n_patches`` normalised (not whitened) patches ``fit`` draws from images ``X``, shape (n, d).

        Every patch equally likely, drawn from ``random_state`` (default: the codebook's :attr:`random_state_`).
        """
        check_is_fitted(self, "position_seed_")
        rng = self.random_state_ if random_state is None else random_state
        views = [view for _, image in _check_images(X) for view in self._views(image)]
        p = sample_patches(
            [im for im, _, _ in views],
            self.n_patches,
            self.patch_size,
            norm=self.norm,
            colour=self.colour,
            random_state=rng,
            positions=[positions for _, positions, _ in views],
        )
        return p.reshape(len(p), int(np.prod(p.shape[1:])))

    def _start(self) -> None:
        """Check the parameters and record them; restart the random stream."""
        self._check_params()
        self.fitted_params_ = {k: clone(v) if isinstance(v, BaseEstimator) else v for k, v in self.get_params().items()}
        self.random_state_ = check_random_state(self.random_state)
        if isinstance(self.random_state, numbers.Integral):
            self.position_seed_ = int(self.random_state)
        else:
            self.position_seed_ = int(self.random_state_.randint(2**31 - 1))
        self.whitener_ = None

    def _check_fitted(self) -> None:
        check_is_fitted(self, "kmeans_")
        changed = [
            k for k, v in self.get_params().items() if k not in READOUTS and not _same(v, self.fitted_params_[k])
        ]
        if changed:
            raise NotFittedError(
                f"{', '.join(changed)} changed since this PatchCodebook was fitted: fit it again (or set them back)"
            )

    def fit(self, X, y=None):
        """Fit the codebook to the patches of a sequence of images ``X``; ``y`` is ignored."""
        self._start()
        self.kmeans_ = self._kmeans().fit(untie(self._first_rows(X, "patches"), self.position_seed_))
        return self

    def partial_fit(self, X, y=None):
        """Update the codebook with ``n_patches`` patches of another batch of images (one k-means step).

        The first batch must give at least ``n_codes`` patches (and fits the whitening, if any).
        """
        if hasattr(self, "kmeans_"):
            self._check_fitted()
            rows = self.sample(X)
            rows = self.whitener_.transform(rows) if self.whitener_ is not None else rows
        else:
            self._start()
            rows = self._first_rows(X, "patches in the first batch (use larger batches)")
            self.kmeans_ = self._kmeans()
        self.kmeans_.partial_fit(untie(rows, self.position_seed_))
        return self

    def _first_rows(self, X, what: str) -> np.ndarray:
        """The rows a fit starts from, whitened by a whitening fitted to them; at least ``n_codes`` of them."""
        rows = self.sample(X)
        if len(rows) < self.n_codes:
            raise ValueError(
                f"cannot fit {self.n_codes} code vectors to {len(rows)} {what}: choose n_codes = "
                f"{fitting_k(len(rows))} or fewer (about 10 patches per code vector), or give more or larger images"
            )
        if self.whiten is not None:
            whiten = clone(self.whiten) if isinstance(self.whiten, ZCA) else ZCA(eps=self.whiten)
            self.whitener_ = whiten.fit(rows)
            rows = self.whitener_.transform(rows)
        return rows

    def _kmeans(self):
        return steady_kmeans(self.n_codes, self.batch_size, self.max_iter, self.random_state)

    def nearest(self, rows) -> np.ndarray:
        """Each row's nearest code (n,), for rows (n, d) as :meth:`extract`'s: :func:`~helpers.kmeans.nearest_codes`."""
        self._check_fitted()
        return nearest_codes(rows, self.kmeans_.cluster_centers_)

    @property
    def n_features_out_(self) -> int:
        self._check_fitted()
        cells = sum(g * g for g in self.pyramid)
        per_cell = self.kmeans_.cluster_centers_.size if self.encoding == "vlad" else self.kmeans_.n_clusters
        return cells * per_cell

    @property
    def _n_features_out(self) -> int:  # for get_feature_names_out (patchcodebook0, patchcodebook1, ...)
        return self.n_features_out_

    def transform(self, X) -> np.ndarray:
        """One descriptor row per image of ``X``: shape (n_images, n_features_out_), float64.

        Raises a ValueError naming an image that has no patch (smaller than the patch size).
        """
        self._check_fitted()
        return np.vstack([self._describe(image, name) for name, image in _check_images(X)])

    def _describe(self, image: np.ndarray, name: str) -> np.ndarray:
        centres, rows = self.extract(image)
        h, w = image.shape[:2]
        if len(rows) == 0:
            raise ImageReadError(
                f"{name}: {h} x {w} pixels has no {self.patch_size} x {self.patch_size} patch to describe"
            )
        km = self.kmeans_
        k = km.n_clusters
        cells = [np.minimum((centres * g // [h, w]).astype(int), g - 1) @ [g, 1] for g in self.pyramid]
        if self.encoding == "triangle":  # distances to all K codes, a few thousand patches at a time
            pooled = [np.zeros((g * g, k)) for g in self.pyramid]
            for batch in gen_batches(len(rows), 1024):
                z = km.transform(rows[batch])
                f = np.maximum(z.mean(axis=1, keepdims=True) - z, 0)
                for out, cell in zip(pooled, cells, strict=True):
                    np.add.at(out, cell[batch], f)
        else:
            codes = self.nearest(rows)
            if self.encoding == "hard":
                pooled = [
                    np.bincount(cell * k + codes, minlength=g * g * k).reshape(g * g, k)
                    for g, cell in zip(self.pyramid, cells, strict=True)
                ]
            else:
                residuals = rows - km.cluster_centers_[codes]
                pooled = []
                for g, cell in zip(self.pyramid, cells, strict=True):
                    sums = np.zeros((g * g * k, rows.shape[1]))
                    np.add.at(sums, cell * k + codes, residuals)
                    pooled.append(vlad_normalise(sums.reshape(g * g, k, -1), self.vlad_norm))
        weights = level_weights(tuple(self.pyramid))
        return np.concatenate([weight * p.ravel() for weight, p in zip(weights, pooled, strict=True)]).astype(
            np.float64
        )

    def encode(self, image) -> np.ndarray:
        """The code of every ``r x r`` block of an image (VQ), shape (ceil(H / r), ceil(W / r)).

        The image is padded at the bottom and right by repeating its edge pixels.
        """
        self._check_fitted()
        padded = _pad_to_blocks(as_rgb(image), self.patch_size)
        codes = self.nearest(self._rows(padded, grid_positions(padded.shape, self.patch_size, self.patch_size)))
        return codes.reshape(padded.shape[0] // self.patch_size, -1)

    def decode(self, codes, shape: tuple[int, ...] | None = None, means=None) -> np.ndarray:
        """Put each code's vector back in its block: (nby, nbx) codes to an (H, W) image, (H, W, 3) with ``colour``.

        ``shape`` crops to (H, W), undoing :meth:`encode`'s padding; ``means`` (nby, nbx)
        are added back to the blocks (``norm="center"``; :func:`helpers.block_means`).
        """
        self._check_fitted()
        codes, k = np.asarray(codes), self.kmeans_.n_clusters
        if codes.ndim != 2 or codes.size and (codes.min() < 0 or codes.max() >= k):
            raise ValueError(f"codes must be a 2-D array of integers in 0 .. {k - 1}, got shape {codes.shape}")
        r, (nby, nbx) = self.patch_size, codes.shape
        blocks = self.kmeans_.cluster_centers_[codes].reshape(nby, nbx, r, r, -1)
        if means is not None:
            blocks = blocks + np.asarray(means).reshape(nby, nbx, 1, 1, 1)
        image = blocks.transpose(0, 2, 1, 3, 4).reshape(nby * r, nbx * r, -1)
        image = image if shape is None else image[: shape[0], : shape[1]]
        return image if self.colour else image[..., 0]


def _pad_to_blocks(image: np.ndarray, r: int) -> np.ndarray:
    """The image padded at the bottom and right, repeating its edge, to whole ``r x r`` blocks."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, -h % r), (0, -w % r), (0, 0)), mode="edge")


def _check_codebook(codebook, what: str) -> None:
    """A clear error when ``codebook`` is not a fitted PatchCodebook (e.g. a plain scikit-learn k-means)."""
    if isinstance(codebook, PatchCodebook):
        return
    if hasattr(codebook, "cluster_centers_") or hasattr(codebook, "n_clusters"):
        raise TypeError(
            f"{what} needs a helpers.PatchCodebook, which knows the patch size and normalisation; got a "
            f"{type(codebook).__name__}. Fit one with helpers.PatchCodebook(n_codes=K, patch_size=r).fit(images) "
            "(its k-means is codebook.kmeans_), or decode by hand: kmeans.cluster_centers_[codes]"
        )
    raise TypeError(f"{what} needs a fitted helpers.PatchCodebook, got {type(codebook).__name__}")
