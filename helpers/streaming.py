"""Large folders in bounded memory: histograms and codebooks streamed image by image (notebook 10).

:func:`helpers.load_images` holds a whole collection in memory, which is right
for the 21 bundled images and wrong for a folder of 100 000 photographs. The
functions here read one file at a time and keep only what the result needs:

* :func:`describe_folder` (and :func:`describe_files`, its per-partition core,
  which notebook 10 maps over a Dask cluster) fills the ``n_images x K`` matrix
  of :func:`helpers.patchhist` row by row;
* :func:`fit_codebook_folder` trains the k-means codebook with
  :meth:`~sklearn.cluster.MiniBatchKMeans.partial_fit` on batches of patches
  sampled image by image;
* :func:`write_sample_folder` writes a folder of any size (random crops and
  flips of the bundled images), to try them on.

Memory is then set by the largest single image and the batch size, not by the
number of files. A file that cannot be read is skipped with a warning that
names it; the other files' results are kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .histograms import patchhist
from .images import ImageList, folder_image_files, image_files, load_image, load_images
from .patches import _check_rs, grid_positions, patches_at
from .vq import check_codebook

__all__ = [
    "PROGRESS_MIN_FILES",
    "FolderHists",
    "describe_files",
    "describe_folder",
    "fit_codebook_folder",
    "iter_images",
    "write_sample_folder",
]

#: With ``progress=None``, a progress bar is shown for at least this many files.
PROGRESS_MIN_FILES = 200


class FolderHists(NamedTuple):
    """The code histograms of a folder, and which files they describe.

    Attributes
    ----------
    hists : ndarray, shape (n_described, K), float64
        One row per described file, in the order of ``names``; row ``i`` is
        ``helpers.patchhist(load_image(names[i]), km, ...)``.
    names : list of str
        The described files (paths relative to the folder, or as given).
    skipped : dict of str to str
        Files that could not be read or converted, mapped to the reason.
    """

    hists: np.ndarray
    names: list[str]
    skipped: dict[str, str]


def _name(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root is not None else str(path)


def _load(
    path: Path, root: Path | None, crop: bool, max_side: int | None, skipped: dict[str, str] | None
) -> np.ndarray | None:
    """One image file, or None (with a warning naming it) if it cannot be read or converted."""
    try:
        return load_image(path, crop=crop, max_side=max_side)
    except ValueError as err:  # ImageReadError is a ValueError; so are conversion errors
        name = _name(path, root)
        reason = str(err).removeprefix(f"{path}: ")
        if skipped is not None:
            skipped[name] = reason
        warnings.warn(f"skipped {name}: {reason}", stacklevel=3)
        return None


def _progress_bar(total: int, progress: bool | None, desc: str) -> tqdm:
    show = total >= PROGRESS_MIN_FILES if progress is None else progress
    return tqdm(total=total, desc=desc, unit="image", disable=not show, leave=False)


def iter_images(
    files: Sequence[str | Path],
    *,
    root: str | Path | None = None,
    crop: bool = True,
    max_side: int | None = 512,
    skipped: dict[str, str] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Load image files one at a time, skipping the unreadable ones.

    Each file is read once, with :func:`helpers.images.load_image` (so each
    image is exactly what :func:`helpers.load_images` would give), and dropped
    as soon as the caller moves on: only one image is in memory at a time.

    Parameters
    ----------
    files : sequence of str or Path
    root : str or Path, optional
        Name files by their path relative to ``root`` (default: as given).
    crop, max_side
        As for :func:`helpers.load_images`.
    skipped : dict, optional
        If given, each skipped file's name is added to it, mapped to the reason.

    Yields
    ------
    name : str
    image : ndarray, shape (H, W, 3), float32 in [0, 1]

    Warns
    -----
    UserWarning
        One per skipped file, naming it and saying why (corrupt, truncated,
        not an image, entirely black, ...).
    """
    root = Path(root) if root is not None else None
    for path in map(Path, files):
        image = _load(path, root, crop, max_side, skipped)
        if image is not None:
            yield _name(path, root), image


def describe_files(
    files: Sequence[str | Path],
    km: MiniBatchKMeans,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    *,
    root: str | Path | None = None,
    crop: bool = True,
    max_side: int | None = 512,
    progress: bool | None = None,
) -> FolderHists:
    """Code histograms of a list of image files, read one at a time.

    The work of :func:`describe_folder` for a given list of files: use it to
    describe one partition of a large folder (notebook 10 maps it over a Dask
    cluster, one call per partition).

    Parameters
    ----------
    files : sequence of str or Path
    km : fitted codebook of ``r x r`` patches normalised with ``norm``
    r, step, norm
        As for :func:`helpers.patchhist`.
    root : str or Path, optional
        Name files relative to this folder (default: as given).
    crop, max_side
        As for :func:`helpers.load_images`.
    progress : bool or None
        Show a progress bar (tqdm, on stderr); ``None``: only for at least
        :data:`PROGRESS_MIN_FILES` files.

    Returns
    -------
    FolderHists
        ``hists`` (n_described, K), ``names`` and ``skipped``.

    Raises
    ------
    ValueError
        If ``km`` does not fit ``r x r`` patches (checked once, before any
        file is read, so that a wrong codebook is not mistaken for a folder
        of unreadable files).

    Warns
    -----
    UserWarning
        One per unreadable file, naming it (see :func:`iter_images`).
    """
    check_codebook(km, r, 3 if norm == "rgb" else 1)
    k = len(km.cluster_centers_)
    hists = np.zeros((len(files), k))  # the result; rows of skipped files are dropped at the end
    names: list[str] = []
    skipped: dict[str, str] = {}
    root = Path(root) if root is not None else None
    with _progress_bar(len(files), progress, "describing") as bar:
        for path in map(Path, files):
            image = _load(path, root, crop, max_side, skipped)
            if image is not None:
                hists[len(names)] = patchhist(image, km, r, step, norm)
                names.append(_name(path, root))
            bar.update(1)
    if skipped:
        hists = hists[: len(names)].copy()
    return FolderHists(hists, names, skipped)


def describe_folder(
    path: str | Path,
    km: MiniBatchKMeans,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    *,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    progress: bool | None = None,
) -> FolderHists:
    """Code histograms of every image in a folder, in bounded memory.

    Row ``i`` equals ``helpers.patchhist(image_i, km, r, step, norm)`` for the
    i-th image of ``helpers.load_images(path, ...)``, but the images are read
    one at a time: memory holds one image, its patches and the result matrix
    (``n_images x K`` float64: 8 KB per image for K = 1024), whatever the
    number of files. Unreadable image files are skipped with a warning naming
    each; files that are not images are skipped with one warning.

    Parameters
    ----------
    path : str or Path
        A folder of image files (the types :func:`helpers.load_images` reads).
    km : fitted codebook of ``r x r`` patches normalised with ``norm``
    r, step, norm
        As for :func:`helpers.patchhist`.
    recursive, crop, max_side
        As for :func:`helpers.load_images`.
    progress : bool or None
        Show a progress bar; ``None``: for at least :data:`PROGRESS_MIN_FILES` files.

    Returns
    -------
    FolderHists
        ``hists`` (n_described, K), ``names`` (paths relative to ``path``,
        sorted, one per row) and ``skipped`` (name to reason).

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the folder does not exist or is a file.
    ValueError
        If the folder holds no image file, or ``km`` does not fit ``r x r`` patches.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import fit_codebook, sample_patches
    >>> noise = ImageList([np.random.default_rng(0).random((96, 96, 3), dtype=np.float32)], ["noise"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_sample_folder(folder, 3, images=noise, min_side=64, max_side=96)
    ...     km = fit_codebook(sample_patches(load_images(folder), 500), k=8)
    ...     result = describe_folder(folder, km)
    >>> result.hists.shape, result.names, result.skipped
    ((3, 8), ['img00000.png', 'img00001.png', 'img00002.png'], {})
    """
    folder = Path(path)
    files = folder_image_files(folder, recursive=recursive)
    return describe_files(files, km, r, step, norm, root=folder, crop=crop, max_side=max_side, progress=progress)


def fit_codebook_folder(
    path: str | Path,
    k: int = 1024,
    *,
    r: int = 8,
    step: int | None = None,
    norm: str = "gray",
    patches_per_image: int = 500,
    batch_size: int = 4096,
    epochs: int = 1,
    seed: int = 0,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    progress: bool | None = None,
    threads: int | None = 1,
    **kwargs,
) -> MiniBatchKMeans:
    """Fit a k-means codebook to the patches of a folder, one image at a time.

    :func:`helpers.fit_codebook` needs all training patches in one array; this
    streams them instead. Each epoch visits the files in a random order, draws
    ``patches_per_image`` grid patches at random from each image, and feeds
    them to :meth:`~sklearn.cluster.MiniBatchKMeans.partial_fit` in batches of
    ``batch_size`` (the first batch, which also initialises the code vectors
    with k-means++, holds at least ``3 * k`` patches). Memory holds one image
    and one batch.

    Parameters
    ----------
    path : str or Path
        A folder of image files.
    k : int
        Number of code vectors.
    r, step, norm
        As for :func:`helpers.patches`.
    patches_per_image : int
        Patches drawn per image and epoch (all of them if the image has fewer).
    batch_size : int
        Patches per ``partial_fit`` step.
    epochs : int
        Passes over the folder.
    seed : int
        Seeds the file order, the patch draws and the k-means: the same seed
        gives the same codebook.
    recursive, crop, max_side
        As for :func:`helpers.load_images`.
    progress : bool or None
        Show a progress bar; ``None``: for at least :data:`PROGRESS_MIN_FILES` files.
    threads : int or None
        OpenMP threads of each k-means step. Default 1: a step on a few
        thousand patches gains little from more threads, and when the cores
        are busy with other work, waiting threads make it several times
        slower (on the 2-core development machine: 1.1 s with 1 thread,
        6.7 s with 2, for the same fit). ``None``: scikit-learn's default,
        one thread per core.
    **kwargs
        Other :class:`~sklearn.cluster.MiniBatchKMeans` parameters.

    Returns
    -------
    MiniBatchKMeans
        Fitted, with ``cluster_centers_`` of shape (k, d), d = r * r (or r * r * 3).

    Raises
    ------
    ValueError
        If a parameter is out of range, the folder has no image, or all its
        images together give fewer than ``k`` patches.

    Warns
    -----
    UserWarning
        Once per unreadable file, naming it.
    """
    _check_rs(r, 1 if step is None else step)
    for label, value in (("k", k), ("patches_per_image", patches_per_image), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"{label} must be at least 1, got {value}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    folder = Path(path)
    files, _ = image_files(folder, recursive=recursive)
    if not files:
        raise ValueError(f"no image files in {folder}")
    rng = np.random.default_rng(seed)
    kwargs.setdefault("compute_labels", False)  # labels of each batch are not needed; they cost a predict per step
    km = MiniBatchKMeans(n_clusters=k, batch_size=batch_size, random_state=seed, **kwargs)
    first_batch = max(batch_size, 3 * k)
    buffer: list[np.ndarray] = []
    buffered = 0
    skipped: dict[str, str] = {}
    with (
        threadpool_limits(limits=threads, user_api="openmp"),
        _progress_bar(len(files) * epochs, progress, "fitting codebook") as bar,
    ):
        for _epoch in range(epochs):
            for i in rng.permutation(len(files)):
                image = None if _name(files[i], folder) in skipped else _load(files[i], folder, crop, max_side, skipped)
                bar.update(1)
                grid = grid_positions(image.shape, r, step) if image is not None else []
                if len(grid) == 0:  # unreadable, or smaller than one patch
                    continue
                chosen = grid[np.sort(rng.choice(len(grid), min(patches_per_image, len(grid)), replace=False))]
                p = patches_at(image, chosen, r, norm)
                buffer.append(p.reshape(len(p), -1))
                buffered += len(p)
                while buffered >= (need := batch_size if hasattr(km, "cluster_centers_") else first_batch):
                    batch = np.concatenate(buffer)
                    km.partial_fit(batch[:need])
                    buffer, buffered = [batch[need:]], len(batch) - need
        rest = np.concatenate(buffer) if buffer else np.empty((0, 0))
        if not hasattr(km, "cluster_centers_") and len(rest) < k:
            raise ValueError(f"cannot fit {k} code vectors to only {len(rest)} patches from {folder}")
        if len(rest):
            km.partial_fit(rest)
    return km


def write_sample_folder(
    path: str | Path,
    n: int,
    *,
    images: ImageList | None = None,
    min_side: int = 128,
    max_side: int = 384,
    seed: int = 0,
) -> list[Path]:
    """Write ``n`` PNG images to a folder: random crops and flips of a collection.

    A folder of any size to try the streaming functions on, made without
    downloading anything: each file is a random ``h x w`` crop (each side
    drawn uniformly from ``[min_side, max_side]``, capped by the source image)
    of a random image of the collection, flipped left-right and/or upside
    down with probability 1/2 each, stored as 8-bit RGB PNG. Crops that are
    entirely black (nothing left after :func:`helpers.crop_black`) are drawn again.

    Parameters
    ----------
    path : str or Path
        The folder; created if missing. Files are named ``img00000.png``, ...
    n : int
        Number of images.
    images : ImageList, optional
        Source images; default: the bundled collection.
    min_side, max_side : int
        Range of the crop sides in pixels.
    seed : int
        Seed of the random crops: the same seed writes the same files.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    from PIL import Image

    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 1 <= min_side <= max_side:
        raise ValueError(f"need 1 <= min_side <= max_side, got {min_side} and {max_side}")
    images = load_images() if images is None else images
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for i in range(n):
        while True:
            source = images[rng.integers(len(images))]
            h = min(int(rng.integers(min_side, max_side + 1)), source.shape[0])
            w = min(int(rng.integers(min_side, max_side + 1)), source.shape[1])
            y, x = rng.integers(source.shape[0] - h + 1), rng.integers(source.shape[1] - w + 1)
            crop = np.round(source[y : y + h, x : x + w] * 255).astype(np.uint8)
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            if rng.random() < 0.5:
                crop = crop[::-1]
            if (crop > 0.05 * 255).any():
                break
        target = folder / f"img{i:05d}.png"
        Image.fromarray(np.ascontiguousarray(crop)).save(target)
        written.append(target)
    return written
