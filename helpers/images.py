"""Images: the bundled collection, your own folders, and the lecture's ``crop_black``.

Every image leaves this module as an ``H x W x 3`` float32 array in [0, 1]; :func:`as_rgb`
is the one place where arrays are checked and converted.
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
    "short_names",
]

#: File endings read as images; other files in a folder are reported and skipped.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".ppm", ".pgm"})
#: :func:`load_images` removes a black frame only if what remains is at least this share of the image's area.
FRAME_KEEPS = 0.5
#: A progress bar is shown when a folder holds at least this many image files.
PROGRESS_MIN_FILES = 100


def _bundled(name: str) -> Callable[[], np.ndarray]:
    """The loader of a scikit-image data image, or of a scikit-learn sample image (``name.jpg``)."""

    def load() -> np.ndarray:
        from skimage import data
        from sklearn.datasets import load_sample_image

        image = load_sample_image(name) if name.endswith(".jpg") else getattr(data, name)()
        return image[0] if isinstance(image, tuple) else image  # stereo_motorcycle: (left, right, disparity)

    return load


#: The bundled collection, in order: (name, loader). Credits and licences: ``data/README.md``.
COLLECTION: tuple[tuple[str, Callable[[], np.ndarray]], ...] = tuple(
    (name, _bundled("stereo_motorcycle" if name == "motorcycle" else name))
    for name in (
        "astronaut brick camera cell chelsea clock coffee coins grass gravel hubble_deep_field immunohistochemistry "
        "microaneurysms moon motorcycle page retina rocket text"
    ).split()
) + (("china", _bundled("china.jpg")), ("flower", _bundled("flower.jpg")))


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

    def skipped_table(self) -> str:
        """The skipped files as an aligned two-column table (file, reason), one line each; ``""`` if none.

        Examples
        --------
        >>> skipped = {"a.jpg": "empty file (0 bytes)", "notes.txt": "not an image file"}
        >>> print(ImageList(skipped=skipped).skipped_table())
        skipped 2 files:
          a.jpg       empty file (0 bytes)
          notes.txt   not an image file
        """
        if not self.skipped:
            return ""
        width = max(len(name) for name in self.skipped)
        lines = [f"  {name:<{width}}   {why}" for name, why in self.skipped.items()]
        return f"skipped {len(lines)} file{'s' * (len(lines) > 1)}:\n" + "\n".join(lines)


def short_names(names: Sequence[str], width: int = 16) -> list[str]:
    """Captions of at most ``width`` characters that keep names apart: the middle of a long name becomes ``…``.

    Names that still collide get ``#i`` (their position) in front.

    Examples
    --------
    >>> short_names(["IMG_20240714_183512.jpg", "IMG_20240714_183547.jpg", "cat.png"], width=12)
    ['IMG_2…12.jpg', 'IMG_2…47.jpg', 'cat.png']
    """
    if width < 5:
        raise ValueError(f"captions need a width of at least 5 characters, got {width}")
    names = [str(n) for n in names]

    def cut(name: str, head: int) -> str:
        return name if len(name) <= width else name[:head] + "…" + name[len(name) - (width - 1 - head) :]

    for head in range((width - 1) // 2, -1, -1):
        short = [cut(n, head) for n in names]
        if len(set(short)) == len(short) or len(set(names)) < len(names):
            break
    seen = [s for s in short if short.count(s) > 1]
    return [
        f"#{i} {cut(n, 0)[-(width - len(str(i)) - 2) :]}" if s in seen else s
        for i, (n, s) in enumerate(zip(names, short, strict=True))
    ]


class ImageReadError(ValueError):
    """An image file or array cannot be used; the message names it and says why."""


def as_rgb(image, *, name: str = "image") -> np.ndarray:
    """Check an image array and convert it to ``H x W x 3`` float32 in [0, 1].

    Integers are scaled by their dtype's range (:func:`skimage.util.img_as_float`); gray
    gets three equal channels; alpha is composited on white.

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
        Naming the image: another shape, empty, not numeric, NaN, negative, or a float above 1.

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

    if isinstance(image, (str, Path)):
        raise ImageReadError(
            f"{name}: got the file path {str(image)!r}, not an image array: load it with helpers.load_image(path) "
            "(a folder: helpers.load_images(folder))"
        )
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
    from skimage.color import rgba2rgb

    image = img_as_float(image).astype(np.float32, copy=False)
    channels = image.shape[2]
    colour = np.repeat(image[..., :1], 3, axis=2) if channels < 3 else image[..., :3]
    if channels in (2, 4):  # composite on white
        colour = rgba2rgb(np.concatenate([colour, image[..., -1:]], axis=2), background=(1, 1, 1))
    return np.ascontiguousarray(colour, dtype=np.float32)


def crop_black(image: np.ndarray, threshold: float = 0.05, mean_max: float = 0.01) -> np.ndarray:
    """Remove a uniform black frame around an image (a view), and nothing else.

    Outer rows and columns go while no pixel is above ``threshold`` and their
    mean is at most ``mean_max``; an image that is all frame is returned unchanged.

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


def _prepare(image: np.ndarray, name: str, crop: bool, max_side: int | None, min_side: int = 1) -> np.ndarray:
    """The one path every loaded image takes: checked RGB float32, frame cropped, downscaled, large enough."""
    from skimage.transform import resize

    image = as_rgb(image, name=name)
    if crop:
        framed = crop_black(image)
        if framed.size >= FRAME_KEEPS * image.size:  # a frame is a border; a dark photo's dark part may be most of it
            image = framed
    h, w = image.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        shape = (max(1, round(h * scale)), max(1, round(w * scale)), 3)
        image = np.clip(resize(image, shape, anti_aliasing=True), 0, 1).astype(np.float32)
    if min(image.shape[:2]) < min_side:
        h, w = image.shape[:2]
        raise ImageReadError(f"{name}: {h} x {w} pixels, too small for one {min_side} x {min_side} patch")
    return np.ascontiguousarray(image)


def read_image(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """Read an image file with Pillow as stored (8 or 16 bits, alpha kept), EXIF orientation applied.

    With ``max_side``, large files are decoded reduced (JPEG ``draft``, else
    ``Image.reduce``), keeping the longer side at least ``max_side``.
    Returns (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) uint8, uint16 or float32;
    raises :class:`ImageReadError` naming the file if it cannot be read.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path).expanduser()
    if path.is_file() and path.stat().st_size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
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


def load_image(path: str | Path, *, crop: bool = True, max_side: int | None = 512, min_side: int = 1) -> np.ndarray:
    """Read one image file and prepare it as :func:`load_images` does: (H, W, 3) float32 in [0, 1].

    Raises :class:`ImageReadError` naming the file if it cannot be read or used.
    """
    path = Path(path).expanduser()
    if isinstance(path, Path) and path.is_dir():
        raise ImageReadError(f"{path}: a folder, not an image file; use helpers.load_images(folder) for a folder")
    return _prepare(read_image(path, max_side), str(path), crop, max_side, min_side)


def image_files(path: str | Path, *, recursive: bool = False, warn_others: bool = True) -> list[Path]:
    """The image files of a folder (not hidden ones), sorted; warns once naming the other files.

    Raises FileNotFoundError, NotADirectoryError, or ValueError if it holds no image file.
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        where = "" if folder.is_absolute() else f" (relative to the working folder {Path.cwd()})"
        raise FileNotFoundError(f"image folder {folder} does not exist{where}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder of images")

    files = sorted(_all_files(folder, recursive))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [str(p.relative_to(folder)) for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others and warn_others:
        warnings.warn(
            f"skipped {len(others)} file(s) in {folder} that are not images: {', '.join(others)}", stacklevel=3
        )
    if not images:
        deeper = [] if recursive else [p for p in _all_files(folder, True) if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = f"; its subfolders hold {len(deeper)}: pass recursive=True to include them" if deeper else ""
        raise ValueError(f"no image files in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}){hint}")
    return images


#: How the reasons for skipping a duplicate, and a file that is not an image by its name, start.
DUPLICATE, NOT_IMAGE = "a duplicate of", "not an image file"


def _all_files(folder: Path, recursive: bool) -> list[Path]:
    """Every visible file of the folder (and its subfolders), as :func:`image_files` lists them."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return [
        p
        for p in found
        if (p.is_file() or p.is_symlink() and not p.exists())
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def _duplicate(path: Path, first: dict, name: str) -> str:
    """Why ``path`` repeats a file already seen (a link to it, or the same bytes), or ``""``; records it otherwise."""
    import hashlib

    if not path.exists():
        return ""
    real = path.resolve()
    if real in first:
        return f"{DUPLICATE} {first[real]} (a link to the same file)"
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha1").hexdigest()
    if digest in first:
        return f"{DUPLICATE} {first[digest]} (the same bytes)"
    first[real] = first[digest] = name
    return ""


def load_images(
    path: str | Path | None = None,
    *,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    min_side: int = 8,
    on_error: str = "skip",
    duplicates: str = "keep",
    progress: bool | None = None,
) -> ImageList:
    """Load the bundled collection, or every image file in a folder.

    Parameters
    ----------
    path : str or Path, optional
        A folder; ``None`` loads the 21 bundled images of :data:`COLLECTION`.
    recursive : bool
        Also read the subfolders (names then include them: ``2024/IMG_1.jpg``).
    crop : bool
        Remove black frames (:func:`crop_black`) unless less than :data:`FRAME_KEEPS` would remain.
    max_side : int or None
        Downscale so that the longer side is at most this.
    min_side : int
        Skip an image whose shorter side is below this.
    on_error : ``"skip"``, ``"list"`` or ``"raise"``
        Unusable files are recorded in ``skipped`` with one warning (``"skip"``) or none
        (``"list"``); ``"raise"`` stops with one error naming every unusable image file.
    duplicates : ``"keep"`` or ``"skip"``
        Skip a file that repeats one already loaded (a link to it or the same bytes).
    progress : bool or None
        Show a progress bar; ``None``: for :data:`PROGRESS_MIN_FILES` files or more.

    Returns
    -------
    ImageList
        ``H x W x 3`` float32 images in [0, 1], named by path relative to the folder.

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

    if on_error not in ("raise", "skip", "list"):
        raise ValueError(f"on_error must be 'skip', 'list' or 'raise', got {on_error!r}")
    if duplicates not in ("keep", "skip"):
        raise ValueError(f"duplicates must be 'keep' or 'skip', got {duplicates!r}")
    if path is None:
        return ImageList(
            [_prepare(load(), name, crop, max_side, min_side) for name, load in COLLECTION],
            [n for n, _ in COLLECTION],
        )
    if not isinstance(path, (str, Path)):
        raise TypeError(
            f"load_images takes a folder (str or Path), got {type(path).__name__}; for one file: load_image"
        )
    folder = Path(path).expanduser()
    if folder.is_file():
        raise NotADirectoryError(f"{folder} is a file, not a folder of images: use helpers.load_image({str(folder)!r})")
    files = image_files(folder, recursive=recursive, warn_others=False)
    show = len(files) >= PROGRESS_MIN_FILES if progress is None else progress
    loaded = ImageList()
    for other in sorted(set(_all_files(folder, recursive)) - set(files)):
        loaded.skipped[str(other.relative_to(folder))] = f"{NOT_IMAGE} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
    first: dict = {}  # a file's resolved path, and its bytes' digest: the name it was loaded under
    for f in tqdm(files, desc="loading", unit="image", disable=not show, leave=False):
        name = str(f.relative_to(folder))
        try:
            same = _duplicate(f, first, name) if duplicates == "skip" else ""
            if same:
                loaded.skipped[name] = same
                continue
            loaded.append(load_image(f, crop=crop, max_side=max_side, min_side=min_side))
            loaded.names.append(name)
        except ImageReadError as err:
            loaded.skipped[name] = str(err).removeprefix(f"{f}: ")
    problems = "\n".join(f"{name}: {why}" for name, why in loaded.skipped.items())
    unusable = [name for name, why in loaded.skipped.items() if not why.startswith((DUPLICATE, NOT_IMAGE))]
    if unusable and on_error == "raise":
        listed = "\n".join(f"{name}: {loaded.skipped[name]}" for name in unusable)
        raise ImageReadError(f"{len(unusable)} of {len(files)} image files in {folder} cannot be used:\n{listed}")
    if loaded.skipped and on_error == "skip":
        warnings.warn(f"skipped {len(loaded.skipped)} file(s) in {folder}:\n{problems}", stacklevel=2)
    if not loaded:
        raise ValueError(f"none of the {len(files)} image files in {folder} could be used:\n{problems}")
    return loaded
