"""Machinery of notebook 10; not needed to follow the series.

Folders of any size in bounded memory, one image file at a time, here or on a Dask ``client``'s workers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .images import PROGRESS_MIN_FILES, ImageList, ImageReadError, image_files, load_image, load_images

__all__ = [
    "CodeStatistics",
    "FolderHists",
    "code_statistics",
    "describe_files",
    "describe_folder",
    "fit_codebook_folder",
    "merge_parts",
    "write_sample_folder",
]


class FolderHists(NamedTuple):
    """Descriptors (n, d) of a folder's images, the files they describe, and the files skipped (to why)."""

    hists: np.ndarray
    names: list[str]
    skipped: dict[str, str]


class CodeStatistics(NamedTuple):
    """One task's k-means statistics: per code vector used, the mean (m, d) and count (m,) of its patches."""

    means: np.ndarray
    counts: np.ndarray
    inertia: float
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


def _read_all(paths, root: Path | None, skipped: dict, crop: bool, max_side: int | None) -> ImageList:
    """The usable images of ``paths``, named relative to ``root``; the others go to ``skipped``."""
    images = ImageList()
    for path in map(Path, paths):
        image = _read(path, _name(path, root), skipped, crop, max_side)
        if image is not None:
            images.append(image)
            images.names.append(_name(path, root))
    return images


def _name(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root is not None else str(path)


def _report(skipped: dict[str, str], where: str) -> None:
    if skipped:
        listed = "\n".join(f"{name}: {why}" for name, why in skipped.items())
        warnings.warn(f"skipped {len(skipped)} unusable image file(s) in {where}:\n{listed}", stacklevel=3)


def _tasks(items: Sequence, size: int) -> list:
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"files per task must be a whole number >= 1, got {size!r}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def merge_parts(parts: Sequence[FolderHists]) -> FolderHists:
    """One result from the results of several partitions, in their order: rows stacked, skipped files merged.

    Examples
    --------
    >>> a = FolderHists(np.ones((2, 3)), ["a.png", "b.png"], {"c.png": "no such file"})
    >>> b = FolderHists(np.zeros((0, 3)), [], {"d.png": "not a readable image"})
    >>> merged = merge_parts([a, b])
    >>> merged.hists.shape, merged.names, sorted(merged.skipped)
    ((2, 3), ['a.png', 'b.png'], ['c.png', 'd.png'])
    """
    if not parts:
        raise ValueError("no partitions to merge")
    skipped = {name: why for part in parts for name, why in part.skipped.items()}
    return FolderHists(np.vstack([p.hists for p in parts]), [n for p in parts for n in p.names], skipped)


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

    Names are relative to ``root``; ``crop``, ``max_side``, ``progress`` as for
    :func:`helpers.load_images`. Unusable files go to ``skipped`` without a warning.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(codebook, "kmeans_")  # before any file is read: a wrong codebook is not a bad file
    root = Path(root).expanduser() if root is not None else None
    rows, names, skipped = [], [], {}
    with _progress(len(files), progress, "describing") as bar:
        for path in map(Path, files):
            name = _name(path, root)
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


def describe_folder(
    path: str | Path,
    codebook,
    *,
    recursive: bool = False,
    client=None,
    files_per_task: int = 8,
    **options,
) -> FolderHists:
    """Descriptors of every image in a folder, one image in memory at a time, here or on a Dask cluster.

    Row ``i`` equals ``codebook.transform(load_images(path))[i]``; unusable files are named in
    one warning. With a Dask ``client``, tasks of ``files_per_task`` files run on workers.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import PatchCodebook
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_sample_folder(folder, 3, min_side=64, max_side=96)
    ...     codebook = PatchCodebook(n_codes=8, n_patches=500).fit(load_images(folder))
    ...     result = describe_folder(folder, codebook)
    >>> result.hists.shape, result.names, result.skipped
    ((3, 8), ['img00000-rocket.png', 'img00001-astronaut.png', 'img00002-flower.png'], {})
    """
    folder = Path(path).expanduser()
    files = image_files(folder, recursive=recursive)
    if client is None:
        result = describe_files(files, codebook, root=folder, **options)
    else:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(codebook, "kmeans_")
        progress = options.pop("progress", None)
        tasks = _tasks(files, files_per_task)
        book = client.scatter(codebook, broadcast=True)  # once per worker, not once per task
        futures = [  # pure=False: files may change between calls, so never reuse an earlier result
            client.submit(describe_files, task, book, root=folder, progress=False, pure=False, **options)
            for task in tasks
        ]
        _wait(futures, [len(t) for t in tasks], progress, "describing")
        result = merge_parts(client.gather(futures))
    _report(result.skipped, str(folder))
    return result


def _wait(futures: list, sizes: list[int], progress: bool | None, desc: str) -> None:
    """Wait for Dask futures, with a progress bar counting their images."""
    from dask.distributed import as_completed

    size = dict(zip((f.key for f in futures), sizes, strict=True))
    with _progress(sum(sizes), progress, desc) as bar:
        for future in as_completed(futures):
            bar.update(size[future.key])


def code_statistics(
    files: Sequence[str | Path],
    codebook,
    *,
    seed: int = 0,
    root: str | Path | None = None,
    crop: bool = True,
    max_side: int | None = 512,
) -> CodeStatistics:
    """The k-means statistics of a batch of files' patches under a codebook: one task of distributed training.

    A k-means step on the means, weighted by the counts, moves every code vector as the step on the patches would.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(codebook, "kmeans_")
    skipped: dict[str, str] = {}
    images = _read_all(files, Path(root).expanduser() if root is not None else None, skipped, crop, max_side)
    centres = codebook.kmeans_.cluster_centers_
    if not images:
        return CodeStatistics(np.empty((0, centres.shape[1])), np.empty(0), 0.0, skipped)
    rows = codebook.sample(images, np.random.RandomState(seed))
    if codebook.whitener_ is not None and len(rows):
        rows = codebook.whitener_.transform(rows)
    codes = codebook.nearest(rows)
    counts = np.bincount(codes, minlength=len(centres))
    sums = np.zeros_like(centres)
    np.add.at(sums, codes, rows)
    used = np.flatnonzero(counts)
    inertia = float(np.einsum("ij,ij->", rows - centres[codes], rows - centres[codes]))
    return CodeStatistics(sums[used] / counts[used, None], counts[used].astype(np.float64), inertia, skipped)


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
    client=None,
    tasks_per_step: int | None = None,
):
    """Fit a codebook to a folder's patches by mini-batch k-means, a batch of images at a time.

    Each batch of ``images_per_batch`` images is one :meth:`~helpers.PatchCodebook.partial_fit`.
    With a Dask ``client``, each step sends ``tasks_per_step`` batches to :func:`code_statistics`
    and applies one weighted ``kmeans_.partial_fit`` of their means. Returns ``codebook``.
    """
    if images_per_batch < 1 or epochs < 1:
        raise ValueError(f"images_per_batch and epochs must be at least 1, got {images_per_batch} and {epochs}")
    folder = Path(path).expanduser()
    files = image_files(folder, recursive=recursive)
    rng = np.random.default_rng(seed)
    skipped: dict[str, str] = {}
    if client is not None:
        order = np.concatenate([rng.permutation(len(files)) for _ in range(epochs)])
        batches = [[files[i] for i in batch] for batch in _tasks(order, images_per_batch)]
        _fit_on(client, batches, folder, codebook, rng, skipped, tasks_per_step, progress, crop, max_side)
        _report(skipped, str(folder))
        return codebook
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


def _fit_on(client, batches, folder, codebook, rng, skipped, tasks_per_step, progress, crop, max_side) -> None:
    """The distributed steps of :func:`fit_codebook_folder`."""
    if not hasattr(codebook, "kmeans_"):  # k-means++ needs patches, not statistics: the first batch, here
        first = _read_all(batches.pop(0), folder, skipped, crop, max_side)
        if not first:
            raise ValueError(f"none of the first batch's files in {folder} could be used to start the codebook")
        codebook.partial_fit(first)
    per_step = tasks_per_step or sum(client.nthreads().values())
    with _progress(sum(map(len, batches)), progress, "fitting codebook") as bar:
        for step in _tasks(batches, per_step):
            book = client.scatter(codebook, broadcast=True)
            seeds = rng.integers(2**32, size=len(step))
            futures = [
                client.submit(
                    code_statistics, batch, book, seed=int(s), root=folder, crop=crop, max_side=max_side, pure=False
                )
                for batch, s in zip(step, seeds, strict=True)
            ]
            stats = client.gather(futures)
            for part in stats:
                skipped.update(part.skipped)
            counts = np.concatenate([part.counts for part in stats])
            if len(counts):
                codebook.kmeans_.partial_fit(np.vstack([part.means for part in stats]), sample_weight=counts)
            bar.update(sum(map(len, step)))


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

    Sides in ``[min_side, max_side]``; file ``i`` is ``img{i:05d}-{source}.png``; seeded.
    Returns the paths; raises ValueError for bad sizes or 100 black crops in a row.
    """
    from PIL import Image

    if n < 0 or not 1 <= min_side <= max_side:
        raise ValueError(f"need n >= 0 and 1 <= min_side <= max_side, got {n}, {min_side}, {max_side}")
    images = load_images() if images is None else images
    names = [re.sub(r"[^A-Za-z0-9_-]+", "_", name) for name in getattr(images, "names", [])] or [
        f"image{i}" for i in range(len(images))
    ]
    folder = Path(path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for i in range(n):
        for _ in range(100):
            source = rng.integers(len(images))
            image = images[source]
            h = min(int(rng.integers(min_side, max_side + 1)), image.shape[0])
            w = min(int(rng.integers(min_side, max_side + 1)), image.shape[1])
            y, x = rng.integers(image.shape[0] - h + 1), rng.integers(image.shape[1] - w + 1)
            crop = image[y : y + h, x : x + w][:: rng.choice([-1, 1]), :: rng.choice([-1, 1])]
            if crop.max() > 0.05:
                break
        else:
            raise ValueError("100 random crops in a row had no pixel above 0.05: the images are too dark to sample")
        target = folder / f"img{i:05d}-{names[source]}.png"
        Image.fromarray(np.round(crop * 255).astype(np.uint8)).save(target)
        written.append(target)
    return written
