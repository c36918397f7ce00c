"""Code histograms at chosen positions, and one score sheet for comparing descriptors.

Notebooks 06 (patch normalisation) and 09 (interest points) build many variants
of the same descriptor and compare them with the same measures; this module
holds what both need and :mod:`helpers.histograms` / :mod:`helpers.evaluation`
do not have:

* :func:`hists_at`: code histograms of patches at *given* positions (e.g.
  random positions, or corners found with other detector settings), where
  :func:`helpers.patchhists` knows only the grid and its default corners;
* :func:`code_hists`: code histograms of patches already cut, so that the
  same patches can be coded with several codebooks without cutting them again;
* :func:`random_positions`: uniformly random patch positions, the control for
  interest points;
* :func:`scores`: the measures of notebook 08 for one descriptor, with one
  fixed histogram normalisation and distance, in one flat dict;
* :func:`format_table`: such dicts as an aligned text table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from . import evaluation
from .histograms import count_codes, normalize_hists
from .patches import ZCA, patches_at
from .vq import check_codebook

__all__ = ["SCORE_KEYS", "code_hists", "format_table", "hists_at", "random_positions", "scores"]

#: The keys of :func:`scores`, in the order :func:`format_table` prints them by default.
SCORE_KEYS = ("p@5", "map", "ari", "nmi", "purity", "cophenetic", "hellinger map", "hellinger ari", "accuracy")


def code_hists(patch_stacks: Sequence[np.ndarray], km: MiniBatchKMeans, *, whiten: ZCA | None = None) -> np.ndarray:
    """Code histograms of stacks of patches already cut and normalised, one row per stack.

    For coding the same patches with several codebooks (e.g. k-means with
    different seeds): cut them once with :func:`helpers.patches` or
    :func:`helpers.patches_at`, then call this for each codebook. Each stack
    gets ONE ``km.predict``; codes are counted with ``np.bincount``.

    Parameters
    ----------
    patch_stacks : sequence of ndarray, each (n_i, r, r) or (n_i, r, r, 3)
        The patches of each image, normalised as the codebook's were; ``n_i``
        may be 0.
    km : fitted codebook of patches of that size
    whiten : ZCA, optional
        Applied to each stack first (the codebook must have been fitted on
        whitened patches too).

    Returns
    -------
    ndarray, shape (n_stacks, K), float64
        Counts; row ``i`` sums to ``len(patch_stacks[i])``.

    Examples
    --------
    >>> from helpers import fit_codebook, patches, patchhists, sample_patches
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.random((32, 40, 3), dtype=np.float32) for _ in range(2)]
    >>> km = fit_codebook(sample_patches(images, 100), k=4)
    >>> bool(np.array_equal(code_hists([patches(im) for im in images], km), patchhists(images, km)))
    True
    """
    out = np.zeros((len(patch_stacks), len(km.cluster_centers_)))
    for i, p in enumerate(patch_stacks):
        try:
            out[i] = count_codes(p, km, whiten=whiten)
        except ValueError as err:
            raise ValueError(f"stack {i}: {err}") from None
    return out


def hists_at(
    images: Sequence[np.ndarray],
    positions: Sequence[np.ndarray],
    km: MiniBatchKMeans,
    r: int = 8,
    norm: str = "gray",
    *,
    whiten: ZCA | None = None,
) -> np.ndarray:
    """Code histograms of the patches at given positions, one row per image.

    What :func:`helpers.patchhists` does for the grid and for Harris corners
    with default settings, for any positions: the patches of image ``i`` at
    ``positions[i]`` (cut and normalised by :func:`helpers.patches_at`), their
    codes from ONE ``km.predict`` per image, counted with ``np.bincount``.

    Parameters
    ----------
    images : sequence of ndarray, each (H, W, 3), float in [0, 1]
    positions : sequence of ndarray, each (n_i, 2), int
        Top-left ``(y, x)`` of each patch, one array per image (as returned by
        :func:`helpers.grid_positions`, :func:`helpers.corner_positions` or
        :func:`random_positions`); ``n_i`` may be 0.
    km : fitted codebook of ``r x r`` patches normalised with ``norm``
    r : int
        Patch size in pixels.
    norm : str
        Passed to :func:`helpers.pnorm`.
    whiten : ZCA, optional
        Applied to the patches after ``norm`` (the codebook must have been
        fitted on whitened patches too).

    Returns
    -------
    ndarray, shape (n_images, K), float64
        Counts; row ``i`` sums to ``len(positions[i])``; an image without
        positions gives an all-zero row.

    Raises
    ------
    ValueError
        If ``images`` and ``positions`` differ in length, or the codebook does
        not fit ``r``.

    Examples
    --------
    >>> from helpers import fit_codebook, grid_positions, patchhists, sample_patches
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.random((32, 40, 3), dtype=np.float32) for _ in range(2)]
    >>> km = fit_codebook(sample_patches(images, 100), k=4)
    >>> grids = [grid_positions(im.shape, 8) for im in images]
    >>> bool(np.array_equal(hists_at(images, grids, km), patchhists(images, km)))
    True
    """
    if len(images) != len(positions):
        raise ValueError(f"{len(images)} images but {len(positions)} arrays of positions")
    check_codebook(km, r, 3 if norm == "rgb" else 1)
    cut = [patches_at(image, where, r, norm) for image, where in zip(images, positions, strict=True)]
    return code_hists(cut, km, whiten=whiten)


def random_positions(shape: Sequence[int], n: int, r: int = 8, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``n`` distinct, uniformly random top-left corners of ``r x r`` patches.

    Every position at which a whole patch fits is equally likely; no position
    is drawn twice. The control for interest points: as many patches as a
    detector found, but placed without looking at the image.

    Parameters
    ----------
    shape : (H, W, ...)
        The image's shape.
    n : int
        Number of positions; at most ``(H - r + 1) * (W - r + 1)``.
    r : int
        Patch size in pixels.
    seed : int or numpy.random.Generator
        Seed, or a generator to draw from (pass one generator to draw for
        many images in turn).

    Returns
    -------
    ndarray, shape (n, 2), int
        ``(y, x)`` per patch, for :func:`helpers.patches_at` or :func:`hists_at`.

    Examples
    --------
    >>> p = random_positions((128, 128, 3), 5, r=8, seed=0)
    >>> p.shape, bool(p.min() >= 0), bool(p.max() <= 120)
    ((5, 2), True, True)
    """
    h, w = int(shape[0]), int(shape[1])
    if r < 1:
        raise ValueError(f"patch size r must be >= 1, got {r}")
    ny, nx = max(h - r + 1, 0), max(w - r + 1, 0)
    if not 0 <= n <= ny * nx:
        raise ValueError(f"cannot place {n} distinct {r} x {r} patches in an image of {h} x {w} ({ny * nx} positions)")
    flat = np.random.default_rng(seed).choice(ny * nx, size=n, replace=False)
    return np.stack(np.divmod(flat, nx), axis=1).astype(np.intp)


def scores(hists: np.ndarray, labels: Sequence, *, k: int = 5, seed: int = 0) -> dict[str, float]:
    """The measures of notebook 08 for one set of code histograms, as one flat dict.

    The same normalisation and distances for every descriptor, so that
    variants (patch normalisations, grid versus corners) are compared fairly:

    * rows are divided by their sums (code frequencies, ``"l1"``), which makes
      histograms with different numbers of patches comparable;
    * retrieval and clustering use the **cosine** distance on them, which
      ignores the length of a vector and so equals the lecture's raw counts
      plus cosine: :func:`helpers.evaluation.evaluate` gives ``p@k``,
      ``map``, and average linkage cut into as many clusters as labels scored
      with ``ari``, ``nmi``, ``purity``, plus ``cophenetic``;
    * a second view with the **Hellinger** distance (Euclidean on square-root
      frequencies, ``"sqrt"``), which damps the few very frequent codes (flat
      patches): ``hellinger map`` and ``hellinger ari``;
    * ``accuracy``: :func:`helpers.evaluation.cv_accuracy` (logistic
      regression, 5-fold stratified cross-validation with ``seed``) on the
      frequencies. scikit-learn's warning that a label has fewer items than
      folds is silenced here; those labels are simply missing from some folds.

    An all-zero row (an image without patches) stays zero: its cosine
    distance to everything is 1, its Hellinger distance to a non-empty
    histogram is 1 and to another empty one 0.

    Parameters
    ----------
    hists : ndarray, shape (n, K)
        Code counts, one row per item (e.g. from :func:`helpers.patchhists`).
    labels : sequence, length n
    k : int
        For precision at ``k``.
    seed : int
        Shuffling of the cross-validation folds.

    Returns
    -------
    dict
        Keys :data:`SCORE_KEYS` (with ``p@{k}`` for ``p@5``), float values.
    """
    hists = np.asarray(hists, dtype=np.float64)
    if hists.ndim != 2 or len(hists) != len(labels):
        raise ValueError(f"expected one histogram row per label ({len(labels)}), got shape {hists.shape}")
    freq = normalize_hists(hists, "l1")
    cosine = evaluation.evaluate(freq, labels, metric="cosine", k=k)
    hellinger = evaluation.evaluate(normalize_hists(hists, "sqrt"), labels, metric="euclidean", k=k)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        accuracy = evaluation.cv_accuracy(freq, labels, seed=seed)
    keys = (f"p@{k}", "map", "ari", "nmi", "purity", "cophenetic")  # only these, whatever else evaluate reports
    return {key: cosine[key] for key in keys} | {
        "hellinger map": hellinger["map"],
        "hellinger ari": hellinger["ari"],
        "accuracy": accuracy,
    }


def format_table(
    results: Mapping[str, Mapping[str, float]],
    keys: Sequence[str] | None = None,
    digits: int = 3,
) -> str:
    """Score dicts as an aligned text table: one row per variant, one column per key.

    Parameters
    ----------
    results : mapping of row name to a dict of scores (e.g. from :func:`scores`)
    keys : sequence of str, optional
        Columns, in order; default: the keys of the first row.
    digits : int
        Decimals printed.

    Returns
    -------
    str
        Header line, then one line per row; no trailing newline.

    Examples
    --------
    >>> print(format_table({"a": {"map": 0.5, "ari": 0.25}, "bb": {"map": 0.75, "ari": 1.0}}))
           map     ari
    a    0.500   0.250
    bb   0.750   1.000
    """
    if not results:
        raise ValueError("no results to tabulate")
    keys = list(keys if keys is not None else next(iter(results.values())))
    names = [str(n) for n in results]
    first = max(len(n) for n in names)
    widths = [max(len(key), digits + 3) for key in keys]
    lines = [" " * first + "".join(f"  {key:>{wd}}" for key, wd in zip(keys, widths, strict=True))]
    for name, row in zip(names, results.values(), strict=True):
        missing = [key for key in keys if key not in row]
        if missing:
            raise ValueError(f"row {name!r} has no value for {missing}")
        cells = "".join(f"  {float(row[key]):>{wd}.{digits}f}" for key, wd in zip(keys, widths, strict=True))
        lines.append(f"{name:<{first}}{cells}")
    return "\n".join(lines)
