"""Folders of any size in bounded memory: descriptors and codebooks, one image file at a time (notebook 10).

:func:`helpers.load_images` holds a whole collection in memory; the functions
here read one file at a time and keep only the result, so that memory is set
by the largest image and the batch, not by the number of files. A file that
cannot be used is skipped, named in a warning and in ``skipped``, as
:func:`helpers.load_images` does by default; the other results are kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .images import PROGRESS_MIN_FILES, ImageList, ImageReadError, image_files, load_image, load_images

__all__ = ["FolderHists", "describe_files", "describe_folder", "fit_codebook_folder", "write_sample_folder"]


class FolderHists(NamedTuple):
    """Descriptors of a folder's images, and which files they describe.

    Attributes
    ----------
    hists : ndarray, shape (n_described, n_features)
        Row ``i`` is ``codebook.transform([load_image(names[i])])[0]``.
    names : list of str
        The described files, relative to the folder (or as given).
    skipped : dict of str to str
        Files that could not be used, mapped to the reason.
    """

    hists: np.ndarray
    names: list[str]
    skipped: dict[str, str]


def _progress(total: int, progress: bool | None, desc: str):
    from tqdm import tqdm

    show = total >= PROGRESS_MIN_FILES if progress is None else progress
    return tqdm(total=total, desc=desc, unit="image", disable=not show, leave=False)


def _read(path: Path, name: str, skipped: dict, crop: bool, max_side: int | None) -> np.ndarray | None:
    try:
        return load_image(path, crop=crop, max_side=max_side)
    except ImageReadError as err:
        skipped[name] = str(err).removeprefix(f"{path}: ")
        return None


def _report(skipped: dict[str, str], where: str) -> None:
    if skipped:
        listed = "\n".join(f"{name}: {why}" for name, why in skipped.items())
        warnings.warn(f"skipped {len(skipped)} unusable image file(s) in {where}:\n{listed}", stacklevel=3)


def describe_files(
    files: Sequence[str | Path],
    codebook,
    *,
    root: str | Path | None = None,
    crop: bool = True,
    max_side: int | None = 512,
    progress: bool | None = None,
) -> FolderHists:
    """Descriptors of a list of image files, read one at a time (one partition of a large folder).

    Parameters
    ----------
    files : sequence of str or Path
    codebook : fitted :class:`helpers.PatchCodebook`
    root : str or Path, optional
        Name files relative to this folder (default: as given).
    crop, max_side
        As for :func:`helpers.load_images`.
    progress : bool or None
        A progress bar; ``None``: for :data:`helpers.images.PROGRESS_MIN_FILES` files or more.

    Returns
    -------
    FolderHists
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(codebook, "kmeans_")  # before any file is read: a wrong codebook is not a bad file
    root = Path(root).expanduser() if root is not None else None
    rows, names, skipped = [], [], {}
    with _progress(len(files), progress, "describing") as bar:
        for path in map(Path, files):
            name = str(path.relative_to(root)) if root is not None else str(path)
            image = _read(path, name, skipped, crop, max_side)
            if image is not None:
                try:
                    rows.append(codebook.transform(ImageList([image], [name]))[0])
                    names.append(name)
                except ImageReadError as err:  # e.g. smaller than one patch
                    skipped[name] = str(err).removeprefix(f"{name}: ")
            bar.update(1)
    hists = np.array(rows) if rows else np.empty((0, codebook.n_features_out_))
    return FolderHists(hists, names, skipped)


def describe_folder(path: str | Path, codebook, *, recursive: bool = False, **options) -> FolderHists:
    """Descriptors of every image in a folder, in bounded memory.

    Row ``i`` equals ``codebook.transform(load_images(path))[i]`` for the
    images that load, but one image is in memory at a time: memory holds the
    image, its patches and the result (8 bytes per feature and image).
    Unusable files are skipped with one warning naming them.

    Parameters
    ----------
    path : str or Path
    codebook : fitted :class:`helpers.PatchCodebook`
    recursive : bool
        Also read subfolders.
    **options
        ``crop``, ``max_side``, ``progress``, as for :func:`describe_files`.

    Returns
    -------
    FolderHists
        Names relative to ``path``, sorted.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import PatchCodebook
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_sample_folder(folder, 3, min_side=64, max_side=96)
    ...     codebook = PatchCodebook(n_codes=8, n_patches=500).fit(load_images(folder))
    ...     result = describe_folder(folder, codebook)
    >>> result.hists.shape, result.names, result.skipped
    ((3, 8), ['img00000.png', 'img00001.png', 'img00002.png'], {})
    """
    folder = Path(path).expanduser()
    result = describe_files(image_files(folder, recursive=recursive), codebook, root=folder, **options)
    _report(result.skipped, str(folder))
    return result


def fit_codebook_folder(
    path: str | Path,
    codebook,
    *,
    images_per_batch: int = 16,
    epochs: int = 1,
    seed: int = 0,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    progress: bool | None = None,
):
    """Fit a codebook to a folder's patches by :meth:`~helpers.PatchCodebook.partial_fit`, a batch of images at a time.

    Each epoch visits the files in a new random order; each batch of
    ``images_per_batch`` images gives ``codebook.n_patches`` patches (the
    first batch must give at least ``codebook.n_codes``) to one mini-batch
    k-means step. Memory holds one batch of images and their patches.

    Returns
    -------
    PatchCodebook
        ``codebook``, fitted.
    """
    if images_per_batch < 1 or epochs < 1:
        raise ValueError(f"images_per_batch and epochs must be at least 1, got {images_per_batch} and {epochs}")
    folder = Path(path).expanduser()
    files = image_files(folder, recursive=recursive)
    rng = np.random.default_rng(seed)
    skipped: dict[str, str] = {}
    batch = ImageList()
    with _progress(len(files) * epochs, progress, "fitting codebook") as bar:
        for _ in range(epochs):
            for i in rng.permutation(len(files)):
                name = str(files[i].relative_to(folder))
                image = None if name in skipped else _read(files[i], name, skipped, crop, max_side)
                if image is not None:
                    batch.append(image)
                    batch.names.append(name)
                if len(batch) == images_per_batch:
                    codebook.partial_fit(batch)
                    batch = ImageList()
                bar.update(1)
        if len(batch):
            codebook.partial_fit(batch)
    _report(skipped, str(folder))
    return codebook


def write_sample_folder(
    path: str | Path,
    n: int,
    *,
    images: ImageList | None = None,
    min_side: int = 128,
    max_side: int = 384,
    seed: int = 0,
) -> list[Path]:
    """Write ``n`` PNG files of random crops (and flips) of a collection, to try the functions above on.

    Each crop has sides drawn from ``[min_side, max_side]`` (capped by the
    source) and is flipped left-right and upside down with probability 1/2
    each. Crops without a pixel above 0.05 are drawn again, at most 100
    times each. The same seed writes the same files (``img00000.png``, ...).

    Returns
    -------
    list of Path

    Raises
    ------
    ValueError
        If ``n < 0``, the sides are out of order, or 100 crops in a row are black.
    """
    from PIL import Image

    if n < 0 or not 1 <= min_side <= max_side:
        raise ValueError(f"need n >= 0 and 1 <= min_side <= max_side, got {n}, {min_side}, {max_side}")
    images = load_images() if images is None else images
    folder = Path(path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for i in range(n):
        for _ in range(100):
            source = images[rng.integers(len(images))]
            h = min(int(rng.integers(min_side, max_side + 1)), source.shape[0])
            w = min(int(rng.integers(min_side, max_side + 1)), source.shape[1])
            y, x = rng.integers(source.shape[0] - h + 1), rng.integers(source.shape[1] - w + 1)
            crop = source[y : y + h, x : x + w][:: rng.choice([-1, 1]), :: rng.choice([-1, 1])]
            if crop.max() > 0.05:
                break
        else:
            raise ValueError("100 random crops in a row had no pixel above 0.05: the images are too dark to sample")
        target = folder / f"img{i:05d}.png"
        Image.fromarray(np.round(crop * 255).astype(np.uint8)).save(target)
        written.append(target)
    return written
