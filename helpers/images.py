"""Images: the bundled collection, your own folders, and the lecture's ``crop_black``.

Every image leaves this module in one form: an ``H x W x 3`` float32 array with
values in [0, 1]. :func:`as_rgb` is the one place where arrays are checked and
converted; every other entry point of :mod:`helpers` goes through it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "COLLECTION",
    "ImageList",
    "ImageReadError",
    "as_rgb",
    "crop_black",
    "image_files",
    "load_image",
    "load_images",
    "read_image",
]

#: File endings read as images; other files in a folder are reported and skipped.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".ppm", ".pgm"})
#: A progress bar is shown when a folder holds at least this many image files.
PROGRESS_MIN_FILES = 100


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        image = getattr(data, name)()
        return image[0] if isinstance(image, tuple) else image  # stereo_motorcycle: (left, right, disparity)

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


#: The bundled collection, in order: (name, loader). Credits and licences: ``data/README.md``.
COLLECTION: tuple[tuple[str, Callable[[], np.ndarray]], ...] = tuple(
    (name, _skimage(source))
    for name, source in [
        ("astronaut", "astronaut"),
        ("brick", "brick"),
        ("camera", "camera"),
        ("cell", "cell"),
        ("chelsea", "chelsea"),
        ("clock", "clock"),
        ("coffee", "coffee"),
        ("coins", "coins"),
        ("grass", "grass"),
        ("gravel", "gravel"),
        ("hubble_deep_field", "hubble_deep_field"),
        ("immunohistochemistry", "immunohistochemistry"),
        ("microaneurysms", "microaneurysms"),
        ("moon", "moon"),
        ("motorcycle", "stereo_motorcycle"),
        ("page", "page"),
        ("retina", "retina"),
        ("rocket", "rocket"),
        ("text", "text"),
    ]
) + (("china", _sklearn("china.jpg")), ("flower", _sklearn("flower.jpg")))


class ImageList(list):
    """A list of images that knows their names and the files it had to skip.

    Slicing returns an ``ImageList`` with the matching names; indexing with a
    name returns that image.

    Attributes
    ----------
    names : list of str
        One per image, in order.
    skipped : dict of str to str
        Files that could not be loaded, mapped to the reason.

    Examples
    --------
    >>> images = ImageList([np.zeros((2, 2, 3))] * 3, ["a", "b", "c"])
    >>> images[1:].names, images["c"].shape
    (['b', 'c'], (2, 2, 3))
    """

    def __init__(self, images: Sequence = (), names: Sequence[str] | None = None, skipped: dict | None = None):
        super().__init__(images)
        self.names = [f"image {i}" for i in range(len(self))] if names is None else [str(n) for n in names]
        self.skipped = dict(skipped or {})
        if len(self.names) != len(self):
            raise ValueError(f"{len(self)} images but {len(self.names)} names")

    def __getitem__(self, index):
        if isinstance(index, str):
            if index not in self.names:
                raise KeyError(f"no image named {index!r}; the names are {self.names}")
            return super().__getitem__(self.names.index(index))
        if isinstance(index, slice):
            return ImageList(super().__getitem__(index), self.names[index])
        return super().__getitem__(index)


class ImageReadError(ValueError):
    """An image file or array cannot be used; the message names it and says why."""


def as_rgb(image, *, name: str = "image") -> np.ndarray:
    """Check an image array and convert it to ``H x W x 3`` float32 in [0, 1].

    Integer images are scaled by their dtype's range
    (:func:`skimage.util.img_as_float`: 8-bit divided by 255, 16-bit by
    65535); gray images get three equal channels; an alpha channel is
    composited on white, as photo viewers show transparency.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C) with C in 1, 2 (gray + alpha), 3, 4 (RGBA)
        Integer, boolean, or float with values in [0, 1].
    name : str
        What to call the image in error messages (e.g. its file name).

    Returns
    -------
    ndarray, shape (H, W, 3), float32, values in [0, 1]

    Raises
    ------
    ImageReadError
        Naming the image, for any other shape, an empty image, a non-numeric
        dtype, NaN or infinite pixels, negative values, or a float image
        outside [0, 1].

    Examples
    --------
    >>> as_rgb(np.array([[0, 255]], dtype=np.uint8))[0, 1].tolist()
    [1.0, 1.0, 1.0]
    >>> as_rgb(np.array([[np.nan]]), name="x.png")
    Traceback (most recent call last):
    ...
    helpers.images.ImageReadError: x.png: 1 NaN or infinite pixel value(s)
    """
    from skimage.util import img_as_float

    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ImageReadError(f"{name}: expected an H x W or H x W x 3 (or x 4) image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageReadError(f"{name}: the image is empty (shape {image.shape})")
    if image.dtype.kind not in "biuf":
        raise ImageReadError(f"{name}: pixel values must be numbers, got dtype {image.dtype}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ImageReadError(f"{name}: {int((~np.isfinite(image)).sum())} NaN or infinite pixel value(s)")
    if image.dtype.kind in "if" and image.min() < 0:
        raise ImageReadError(f"{name}: negative pixel values (minimum {image.min():.4g})")
    if image.dtype.kind == "f" and image.max() > 1:
        raise ImageReadError(
            f"{name}: a float image must lie in [0, 1], its maximum is {image.max():.4g}; divide by its scale"
        )
    image = img_as_float(image).astype(np.float32, copy=False)
    channels = image.shape[2]
    colour = np.repeat(image[..., :1], 3, axis=2) if channels < 3 else image[..., :3]
    if channels in (2, 4):  # composite on white
        alpha = image[..., -1:]
        colour = colour * alpha + (1 - alpha)
    return np.ascontiguousarray(colour, dtype=np.float32)


def crop_black(image: np.ndarray, threshold: float = 0.05, mean_max: float = 0.01) -> np.ndarray:
    """Remove a uniform black frame around an image, and nothing else.

    Outer rows and columns are removed while they are *frame*: no pixel
    above ``threshold`` and a mean of at most ``mean_max`` (2.5 / 255), the
    near-zero values of a black border even after JPEG compression. A dark
    photograph's dark rows have a higher mean (noise, gradients), so they
    are kept; an image that is all frame is returned unchanged.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), values in [0, 1]
    threshold, mean_max : float
        The brightest pixel and the largest mean a frame row or column may have.

    Returns
    -------
    ndarray
        A view of ``image`` without its frame.

    Examples
    --------
    >>> im = np.zeros((5, 6)); im[1:4, 2:4] = 0.5
    >>> crop_black(im).shape
    (3, 2)
    >>> crop_black(np.full((4, 4), 0.03)).shape  # dark, but not a frame
    (4, 4)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"crop_black: expected a 2-D or 3-D image, got shape {image.shape}")
    brightest = image if image.ndim == 2 else image.max(axis=2)
    mean = image if image.ndim == 2 else image.mean(axis=2)

    def content(axis: int) -> np.ndarray:
        return np.flatnonzero((brightest.max(axis=axis) > threshold) | (mean.mean(axis=axis) > mean_max))

    rows, cols = content(1), content(0)
    if rows.size == 0 or cols.size == 0:
        return image
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _prepare(image: np.ndarray, name: str, crop: bool, max_side: int | None) -> np.ndarray:
    """The one path every loaded image takes: checked RGB float32, frame cropped, downscaled."""
    from skimage.transform import resize

    image = as_rgb(image, name=name)
    if crop:
        image = crop_black(image)
    h, w = image.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        shape = (max(1, round(h * scale)), max(1, round(w * scale)), 3)
        image = np.clip(resize(image, shape, anti_aliasing=True), 0, 1).astype(np.float32)
    return np.ascontiguousarray(image)


def read_image(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """Read an image file with Pillow, as stored (8 or 16 bits, gray or colour, alpha kept).

    Applies the EXIF orientation. With ``max_side``, a JPEG is decoded at a
    reduced size (Pillow's ``draft``: 1/2, 1/4 or 1/8, keeping both sides at
    least ``max_side``) and other files with a side above ``4 * max_side``
    are reduced by an integer factor (``Image.reduce``), keeping the longer
    side at least ``2 * max_side``. Pillow's decompression-bomb limit stays on.

    Returns
    -------
    ndarray, shape (H, W), (H, W, 2), (H, W, 3) or (H, W, 4); uint8, uint16 or float32

    Raises
    ------
    ImageReadError
        Naming the file: missing (or a broken link), not an image, truncated,
        or too large.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path).expanduser()
    try:
        with Image.open(path) as im:
            if max_side is not None and im.format == "JPEG":
                im.draft(im.mode, (max_side, max_side))
            im = ImageOps.exif_transpose(im)
            if im.mode.startswith("I;16") or im.mode == "I":
                array = np.asarray(im)
                if array.min() < 0 or array.max() > 65535:
                    raise ImageReadError(f"{path}: 32-bit integer pixel values are not supported")
                return array.astype(np.uint16)
            if im.mode == "F":
                return np.asarray(im, dtype=np.float32)
            if im.mode not in ("L", "LA", "RGB", "RGBA"):
                transparent = "transparency" in im.info or im.mode in ("PA", "RGBa", "La")
                im = im.convert("L" if im.mode == "1" else "RGBA" if transparent else "RGB")
            if max_side is not None and (factor := max(im.size) // (2 * max_side)) > 1:
                im = im.reduce(factor)
            return np.asarray(im)
    except FileNotFoundError:
        kind = "a broken link" if path.is_symlink() else "no such file"
        raise ImageReadError(f"{path}: {kind}") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (corrupt or unknown format)") from None
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"{path}: refused as a possible decompression bomb ({err})") from None
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(f"{path}: could not be decoded ({err})") from None


def load_image(path: str | Path, *, crop: bool = True, max_side: int | None = 512) -> np.ndarray:
    """Read one image file and prepare it exactly as :func:`load_images` does.

    Returns
    -------
    ndarray, shape (H, W, 3), float32, values in [0, 1]

    Raises
    ------
    ImageReadError
        Naming the file, if it cannot be read or its pixels cannot be used.
    """
    path = Path(path).expanduser()
    return _prepare(read_image(path, max_side), str(path), crop, max_side)


def image_files(path: str | Path, *, recursive: bool = False) -> list[Path]:
    """The image files of a folder, sorted; warns once naming the other files.

    Hidden files are ignored; broken links are listed (reading them then
    fails like any unreadable file).

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the folder does not exist, or is a file.
    ValueError
        If it holds no image file (saying so when its subfolders do).
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        where = "" if folder.is_absolute() else f" (relative to the working folder {Path.cwd()})"
        raise FileNotFoundError(f"image folder {folder} does not exist{where}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder of images")

    def listing(deep: bool) -> list[Path]:
        found = folder.rglob("*") if deep else folder.iterdir()
        return sorted(
            p
            for p in found
            if (p.is_file() or p.is_symlink() and not p.exists())
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )

    files = listing(recursive)
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [str(p.relative_to(folder)) for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        warnings.warn(
            f"skipped {len(others)} file(s) in {folder} that are not images: {', '.join(others)}", stacklevel=3
        )
    if not images:
        deeper = [] if recursive else [p for p in listing(True) if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = f"; its subfolders hold {len(deeper)}: pass recursive=True to include them" if deeper else ""
        raise ValueError(f"no image files in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}){hint}")
    return images


def load_images(
    path: str | Path | None = None,
    *,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    on_error: str = "skip",
    progress: bool | None = None,
) -> ImageList:
    """Load the bundled collection, or every image file in a folder.

    Parameters
    ----------
    path : str or Path, optional
        A folder (``~`` is expanded). ``None`` loads the 21 bundled images of
        :data:`COLLECTION`.
    recursive : bool
        Also read the subfolders.
    crop : bool
        Remove black frames (:func:`crop_black`).
    max_side : int or None
        Downscale (anti-aliased) so that the longer side is at most this;
        ``None`` keeps the full size.
    on_error : ``"skip"`` or ``"raise"``
        A file that cannot be used is skipped with a warning naming it and
        recorded in ``skipped`` (default, as :func:`helpers.streaming.describe_folder`
        does), or stops the load with one error naming every such file.
    progress : bool or None
        Show a progress bar; ``None``: for :data:`PROGRESS_MIN_FILES` files or more.

    Returns
    -------
    ImageList
        ``H x W x 3`` float32 images in [0, 1]; ``names`` are image names or
        paths relative to the folder; ``skipped`` maps unusable files to why.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ValueError
        No such folder, a file, or no usable image in it.
    ImageReadError
        With ``on_error="raise"``, naming every unusable file.

    Examples
    --------
    >>> images = load_images()
    >>> images.names[0], images[0].shape, images[0].dtype
    ('astronaut', (512, 512, 3), dtype('float32'))
    """
    from tqdm import tqdm

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if path is None:
        return ImageList(
            [_prepare(load(), name, crop, max_side) for name, load in COLLECTION], [n for n, _ in COLLECTION]
        )
    folder = Path(path).expanduser()
    files = image_files(folder, recursive=recursive)
    show = len(files) >= PROGRESS_MIN_FILES if progress is None else progress
    loaded = ImageList()
    for f in tqdm(files, desc="loading", unit="image", disable=not show, leave=False):
        try:
            loaded.append(load_image(f, crop=crop, max_side=max_side))
            loaded.names.append(str(f.relative_to(folder)))
        except ImageReadError as err:
            loaded.skipped[str(f.relative_to(folder))] = str(err).removeprefix(f"{f}: ")
    problems = "\n".join(f"{name}: {why}" for name, why in loaded.skipped.items())
    if loaded.skipped and on_error == "raise":
        raise ImageReadError(
            f"{len(loaded.skipped)} of {len(files)} image files in {folder} cannot be used:\n{problems}"
        )
    if loaded.skipped:
        warnings.warn(f"skipped {len(loaded.skipped)} unusable image file(s) in {folder}:\n{problems}", stacklevel=2)
    if not loaded:
        raise ValueError(f"none of the {len(files)} image files in {folder} could be used")
    return loaded
