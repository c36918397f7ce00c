"""Machinery of notebook 13; not needed to follow the series.

Your own labelled photos (one subfolder per label) through notebook 8's protocol, one file at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .images import ImageList, ImageReadError, image_files, load_image

__all__ = [
    "SAMPLE_LABELS",
    "UNBALANCED",
    "Labelled",
    "check_labels",
    "describe_labelled",
    "labelled_files",
    "sample_images",
    "score_rows",
    "verdict",
    "write_labelled_folder",
]

#: Warn when the largest label has at least this many times the photos of the smallest.
UNBALANCED = 4


class Labelled(NamedTuple):
    """Image files and their labels (the first subfolder of each), and the files not used."""

    files: list[Path]
    labels: np.ndarray
    names: list[str]
    unused: dict[str, str]


def labelled_files(path: str | Path, *, max_photos: int | None = None, seed: int = 0) -> Labelled:
    """The image files of a folder labelled by their subfolder: ``beach/a.jpg`` has the label ``beach``.

    Deeper files take their first subfolder's label; files in the top folder go to ``unused``.
    ``max_photos`` keeps the same share of every label (at least 2 each), drawn by ``seed``.
    Raises ValueError if fewer than 2 subfolders hold 2 image files each.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_labelled_folder(folder, per_label=2)
    ...     found = labelled_files(folder)
    >>> sorted(set(found.labels.tolist())), len(found.files)
    (['objects', 'space', 'textures'], 6)
    """
    folder = Path(path).expanduser()
    files = image_files(folder, recursive=True)
    unused = {p.name: "in the top folder, so it has no label" for p in files if p.parent == folder}
    files = [p for p in files if p.parent != folder]
    labels = np.array([p.relative_to(folder).parts[0] for p in files], dtype=str)
    names, counts = np.unique(labels, return_counts=True)
    if (counts >= 2).sum() < 2:
        found = ", ".join(f"{n}/ ({c})" for n, c in zip(names, counts, strict=True)) or "no subfolder with photos"
        raise ValueError(
            f"{folder} needs at least 2 subfolders (one per label) with at least 2 photos each; found: {found}. "
            "Put each label's photos in a subfolder named after it, e.g. beach/, city/, forest/."
        )
    for i in np.flatnonzero(np.isin(labels, names[counts < 2])):
        unused[str(files[i].relative_to(folder))] = f"the only photo of label '{labels[i]}'"
    keep = np.isin(labels, names[counts >= 2])
    if max_photos is not None and keep.sum() > max_photos:
        rng = np.random.default_rng(seed)
        share = max_photos / keep.sum()
        chosen = np.zeros(len(files), dtype=bool)
        for name in names[counts >= 2]:
            members = np.flatnonzero(labels == name)
            chosen[rng.choice(members, max(2, int(share * len(members))), replace=False)] = True
        for i in np.flatnonzero(keep & ~chosen):
            unused[str(files[i].relative_to(folder))] = f"beyond max_photos = {max_photos}"
        keep = chosen
    kept = [p for p, k in zip(files, keep, strict=True) if k]
    return Labelled(kept, labels[keep], [str(p.relative_to(folder)) for p in kept], unused)


def sample_images(found: Labelled, n: int, *, seed: int = 0, max_side: int | None = 256) -> ImageList:
    """At most ``n`` of the photos, drawn by ``seed``, as an ImageList (unusable files left out silently)."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(found.files), min(n, len(found.files)), replace=False))
    images = ImageList()
    for i in chosen:
        try:
            images.append(load_image(found.files[i], max_side=max_side))
            images.names.append(found.names[i])
        except ImageReadError:
            continue
    return images


def describe_labelled(
    found: Labelled,
    descriptors: Mapping[str, object],
    *,
    max_side: int | None = 256,
    progress: bool | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str], dict[str, str]]:
    """Describe every file with every descriptor, reading one file at a time.

    ``descriptors`` maps names to fitted transformers of an ImageList. Returns ``rows``
    (name to (n, d) array), ``labels`` (n,), ``names`` and ``skipped`` (file to why;
    also the only usable photo of a label).
    """
    from tqdm import tqdm

    from .images import PROGRESS_MIN_FILES

    rows: dict[str, list] = {key: [] for key in descriptors}
    labels, names, skipped = [], [], {}
    show = len(found.files) >= PROGRESS_MIN_FILES if progress is None else progress
    for path, label, name in tqdm(
        list(zip(found.files, found.labels, found.names, strict=True)),
        desc="describing",
        unit="photo",
        disable=not show,
    ):
        try:
            one = ImageList([load_image(path, max_side=max_side)], [name])
            described = {key: np.asarray(d.transform(one), dtype=np.float64)[0] for key, d in descriptors.items()}
        except ImageReadError as err:
            skipped[name] = str(err).removeprefix(f"{path}: ").removeprefix(f"{name}: ")
            continue
        for key, row in described.items():
            rows[key].append(row)
        labels.append(label)
        names.append(name)
    labels = np.array(labels, dtype=str)
    alone = [i for i, label in enumerate(labels) if (labels == label).sum() < 2]
    for i in alone:  # its label has no other usable photo to find
        skipped[names[i]] = f"the only usable photo of label '{labels[i]}'"
    keep = np.setdiff1d(np.arange(len(labels)), alone)
    return {k: np.array(v)[keep] for k, v in rows.items()}, labels[keep], [names[i] for i in keep], skipped


def check_labels(labels: Sequence[str]) -> str:
    """Raise if fewer than 2 labels have 2 photos; return a warning text for very unbalanced labels, else ``""``.

    Examples
    --------
    >>> check_labels(["a", "a", "b", "b"])
    ''
    >>> check_labels(["a", "a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: only 1 label has at least 2 usable photos (a: 2, b: 1); the study needs 2 or more
    """
    names, counts = np.unique(np.asarray(labels, dtype=str), return_counts=True)
    listed = ", ".join(f"{n}: {c}" for n, c in zip(names, counts, strict=True))
    if (counts >= 2).sum() < 2 or (counts < 2).any():
        few = int((counts >= 2).sum())
        if few >= 2:
            raise ValueError(f"labels with fewer than 2 usable photos ({listed}): add photos or remove those folders")
        raise ValueError(
            f"only {few} label{'s' if few != 1 else ''} {'has' if few == 1 else 'have'} at least 2 usable photos "
            f"({listed}); the study needs 2 or more"
        )
    if counts.max() >= UNBALANCED * counts.min():
        return (
            f"very unbalanced labels ({listed}): a small label's photos have few neighbours of their own, so "
            "its p@5 is capped low, and the accuracy of always guessing the largest label is "
            f"{counts.max() / counts.sum():.2f}"
        )
    return ""


def score_rows(
    X, labels, variant: str, seed: int, *, norm: str | None, metric: str, method: str, k: int = 5
) -> dict[str, object]:
    """One row of scores (notebook 8's measures) of one descriptor on one seed.

    :func:`helpers.evaluation.score` with ``min(k, n - 1)`` and ``min(4, smallest label)`` folds;
    keys ``task``, ``variant``, ``readout``, ``seed``, ``p@5``, ``map``, ``ari``, ``accuracy``.
    """
    from . import evaluation as ev

    labels = np.asarray(labels, dtype=str)
    k_used = min(k, len(labels) - 1)
    folds = int(min(ev.FOLDS, np.unique(labels, return_counts=True)[1].min()))
    scores = ev.score(X, labels, seed, norm=norm, metric=metric, method=method, k=k_used, n_folds=folds)
    readout = " ".join(str(part) for part in (norm or "raw", metric, method))
    return {
        "task": "study",
        "variant": variant,
        "readout": readout,
        "seed": seed,
        "p@5": scores[f"p@{k_used}"],
        "map": scores["map"],
        "ari": scores["ari"],
        "accuracy": scores["accuracy"],
    }


def verdict(a, b, name_a: str, name_b: str, measure: str, *, digits: int = 3) -> str:
    """One sentence on a paired comparison over seeds, true whatever the numbers are.

    Examples
    --------
    >>> verdict([0.6, 0.7, 0.65], [0.5, 0.52, 0.55], "best", "lecture", "p@5")
    'best beats lecture by +0.127 p@5 on average, on every seed (3 of 3; paired t-test p = 0.042).'
    >>> verdict([0.5, 0.5], [0.5, 0.5], "a", "b", "mAP")
    'a and b tie on mAP on every seed.'
    """
    from . import tables

    r = tables.paired(a, b)
    if not np.any(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)):
        return f"{name_a} and {name_b} tie on {measure} on every seed."
    p = tables.format_p(r["t_p"])
    p = "" if p == "n/a" else f"; paired t-test p {p}" if p.startswith("<") else f"; paired t-test p = {p}"
    diff = f"{r['diff']:+.{digits}f} {measure} on average"
    n, wins, losses = r["n"], r["wins"], int(np.sum(np.asarray(a, float) < np.asarray(b, float)))
    if wins == n:
        return f"{name_a} beats {name_b} by {diff}, on every seed ({wins} of {n}{p})."
    if losses == n:
        return f"{name_a} is behind {name_b} by {diff}, on every seed ({losses} of {n}{p})."
    return (
        f"{name_a} and {name_b} differ by {diff}, but not on every seed ({name_a} ahead on {wins} of {n}{p}): "
        "no clear winner on these photos."
    )


#: The labels of :func:`write_labelled_folder` and the bundled images each label's photos are cut from.
SAMPLE_LABELS = {
    "textures": ("brick", "grass", "gravel"),
    "objects": ("coffee", "chelsea", "motorcycle"),
    "space": ("hubble_deep_field", "moon", "rocket"),
}


def write_labelled_folder(
    path: str | Path, *, per_label: int = 6, min_side: int = 96, max_side: int = 160, seed: int = 0
) -> dict[str, list[Path]]:
    """Write a small labelled folder of JPEG crops of bundled images: one subfolder per label of :data:`SAMPLE_LABELS`.

    Random crops, sides in ``[min_side, max_side]``, seeded. Returns the files written, per label.
    """
    from PIL import Image

    from .images import load_images

    images = load_images()
    rng = np.random.default_rng(seed)
    written: dict[str, list[Path]] = {}
    for label, sources in SAMPLE_LABELS.items():
        (Path(path) / label).mkdir(parents=True, exist_ok=True)
        written[label] = []
        for i in range(per_label):
            image = images[sources[i % len(sources)]]
            h, w = (min(int(rng.integers(min_side, max_side + 1)), s) for s in image.shape[:2])
            y, x = rng.integers(image.shape[0] - h + 1), rng.integers(image.shape[1] - w + 1)
            target = Path(path) / label / f"{label}-{i + 1:02d}.jpg"
            Image.fromarray(np.round(image[y : y + h, x : x + w] * 255).astype(np.uint8)).save(target, quality=90)
            written[label].append(target)
    return written
