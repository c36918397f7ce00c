"""Images: the bundled collection, your own folders, and the lecture's ``crop_black``.

Every loader returns images the same way: ``H x W x 3`` float32 arrays with
values in [0, 1], black borders cropped, downscaled so that the longer side is
at most ``max_side`` pixels. The lecture's data set (colour icons with black
borders) is not available; the bundled collection below replaces it. Nothing is
downloaded: every image ships inside the installed scikit-image and
scikit-learn wheels.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from skimage.transform import resize
from skimage.util import img_as_float, view_as_blocks

__all__ = [
    "COLLECTION",
    "ImageList",
    "ImageReadError",
    "as_rgb",
    "crop_black",
    "load_image",
    "load_images",
    "load_tiles",
    "read_image",
]

#: File endings read as images. Anything else in a folder is skipped with a warning.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".ppm", ".pgm"})


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        return getattr(data, name)()

    return load


def _motorcycle() -> np.ndarray:
    from skimage import data

    return data.stereo_motorcycle()[0]


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


#: The bundled collection in its fixed order: (name, loader, source package).
#: Provenance, credit and licence of each image: ``data/README.md``.
COLLECTION: tuple[tuple[str, Callable[[], np.ndarray], str], ...] = (
    ("astronaut", _skimage("astronaut"), "scikit-image"),
    ("brick", _skimage("brick"), "scikit-image"),
    ("camera", _skimage("camera"), "scikit-image"),
    ("cell", _skimage("cell"), "scikit-image"),
    ("chelsea", _skimage("chelsea"), "scikit-image"),
    ("clock", _skimage("clock"), "scikit-image"),
    ("coffee", _skimage("coffee"), "scikit-image"),
    ("coins", _skimage("coins"), "scikit-image"),
    ("grass", _skimage("grass"), "scikit-image"),
    ("gravel", _skimage("gravel"), "scikit-image"),
    ("hubble_deep_field", _skimage("hubble_deep_field"), "scikit-image"),
    ("immunohistochemistry", _skimage("immunohistochemistry"), "scikit-image"),
    ("microaneurysms", _skimage("microaneurysms"), "scikit-image"),
    ("moon", _skimage("moon"), "scikit-image"),
    ("motorcycle", _motorcycle, "scikit-image"),
    ("page", _skimage("page"), "scikit-image"),
    ("retina", _skimage("retina"), "scikit-image"),
    ("rocket", _skimage("rocket"), "scikit-image"),
    ("text", _skimage("text"), "scikit-image"),
    ("china", _sklearn("china.jpg"), "scikit-learn"),
    ("flower", _sklearn("flower.jpg"), "scikit-learn"),
)


class ImageList(list):
    """A list of images that also knows their names.

    Behaves exactly like a ``list`` of arrays; ``names`` holds one string per
    image, in the same order (for the bundled collection: the image's name;
    for a folder: the file's path relative to the folder).
    """

    def __init__(self, images: Sequence[np.ndarray] = (), names: Sequence[str] = ()):
        super().__init__(images)
        self.names = list(names)
        if len(self.names) != len(self):
            raise ValueError(f"{len(self)} images but {len(self.names)} names")


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the reason."""


def as_rgb(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Convert an image array to ``H x W x 3`` float32 with values in [0, 1].

    Conversions made on purpose: integer and boolean images are scaled by
    their dtype's range with :func:`skimage.util.img_as_float` (so a dark
    8-bit image stays dark and a 16-bit image is divided by 65535, where the
    lecture's ``if amax(image) > 2.0: image /= 255`` gets both wrong);
    grayscale ``H x W`` (or ``H x W x 1``) becomes three equal channels;
    a fourth (alpha) channel is dropped, as is the alpha of gray+alpha.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4)
        Any numeric dtype. Float images must already lie in [0, 1].
    name : str
        What to call the image in error messages (e.g. its file name).

    Returns
    -------
    ndarray, shape (H, W, 3), float32, values in [0, 1]

    Raises
    ------
    ValueError
        For any other shape, a non-numeric dtype, non-finite values, a
        float image outside [0, 1], or negative values in an integer image.

    Examples
    --------
    >>> as_rgb(np.array([[0, 255]], dtype=np.uint8)).shape
    (1, 2, 3)
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name}: expected an H x W gray or H x W x 3 (or x 4) colour image, got an array of shape {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name}: image is empty (shape {image.shape})")
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{name}: pixel values must be numbers, got dtype {image.dtype}")
    if image.dtype.kind == "f":
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{name}: image contains NaN or infinite pixel values")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"{name}: a float image must have values in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                "divide by the maximum of its scale first (e.g. 255)"
            )
    if image.dtype.kind == "i" and image.min() < 0:
        raise ValueError(f"{name}: an integer image must not have negative pixel values, got {image.min()}")
    channels = image.shape[2]
    if channels in (1, 2):  # gray, or gray + alpha
        image = np.repeat(image[..., :1], 3, axis=2)
    image = image[..., :3]
    return img_as_float(image).astype(np.float32, copy=False)


def crop_black(image: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Crop the black border around an image.

    Removes the outer rows and columns in which every pixel (every channel)
    is at or below ``threshold``; black inside the image is kept.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), values in [0, 1]
    threshold : float
        Brightness at or below which a pixel counts as black.

    Returns
    -------
    ndarray, shape (H', W') or (H', W', C)
        A view of ``image`` (no copy), H' <= H and W' <= W.

    Raises
    ------
    ValueError
        If no pixel is brighter than ``threshold`` (an all-black image has
        nothing left to crop to; the lecture's version fails with an index
        error instead).

    Examples
    --------
    >>> im = np.zeros((5, 5)); im[1:3, 2] = 1
    >>> crop_black(im).shape
    (2, 1)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"crop_black: expected a 2-D or 3-D image, got shape {image.shape}")
    bright = image > threshold
    if bright.ndim == 3:
        bright = bright.any(axis=2)
    rows = np.flatnonzero(bright.any(axis=1))
    cols = np.flatnonzero(bright.any(axis=0))
    if rows.size == 0:
        raise ValueError(
            f"crop_black: image of shape {image.shape} is entirely black (no pixel above threshold={threshold})"
        )
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _prepare(image: np.ndarray, *, name: str, crop: bool, max_side: int | None) -> np.ndarray:
    """The one path every loaded image takes: RGB float32, cropped, downscaled."""
    image = as_rgb(image, name=name)
    if crop:
        try:
            image = crop_black(image)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    h, w = image.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        shape = (max(1, round(h * scale)), max(1, round(w * scale)), 3)
        image = resize(image, shape, anti_aliasing=True).astype(np.float32)
        np.clip(image, 0, 1, out=image)
    return np.ascontiguousarray(image)


def read_image(path: str | Path) -> np.ndarray:
    """Read one image file as an array, as stored (no conversion to float).

    Uses Pillow, with its decompression-bomb limit left on, and applies the
    EXIF orientation of photographs. 16-bit files keep their 16 bits.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3); dtype uint8, uint16 or float32

    Raises
    ------
    ImageReadError
        Naming the file, if it is missing, not an image, truncated or corrupt,
        or larger than Pillow's decompression-bomb limit.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode.startswith("I;16") or im.mode == "I":
                array = np.asarray(im)
                if array.min() < 0 or array.max() > 65535:
                    raise ImageReadError(f"{path}: 32-bit integer pixel values are not supported")
                return array.astype(np.uint16)
            if im.mode == "F":
                return np.asarray(im, dtype=np.float32)
            if im.mode in ("1", "L", "LA"):
                return np.asarray(im.convert("L"))
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (corrupt or unknown format)") from None
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"{path}: refused as a possible decompression bomb ({err})") from None
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageReadError):
            raise
        raise ImageReadError(f"{path}: could not be decoded ({err})") from None


def load_image(path: str | Path, *, crop: bool = True, max_side: int | None = 512) -> np.ndarray:
    """Read one image file and prepare it exactly as :func:`load_images` does.

    For code that handles files one at a time (e.g. :mod:`helpers.streaming`):
    :func:`read_image`, then the same conversion as every loaded image (RGB
    float32 in [0, 1], black border cropped, downscaled).

    Parameters
    ----------
    path : str or Path
    crop, max_side
        As for :func:`load_images`.

    Returns
    -------
    ndarray, shape (H, W, 3), float32, values in [0, 1]

    Raises
    ------
    ImageReadError
        Naming the file, if it is missing, corrupt or unreadable.
    ValueError
        Naming the file, if it cannot be converted (e.g. it is entirely black
        and ``crop`` is on).
    """
    path = Path(path)
    return _prepare(read_image(path), name=str(path), crop=crop, max_side=max_side)


def image_files(path: str | Path, *, recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """List a folder's image files and its other files, both sorted.

    Hidden files (names starting with ``.``) are ignored.

    Returns
    -------
    images, others : list of Path

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist; NotADirectoryError if it is a file.
    """
    folder = Path(path)
    if not folder.exists():
        where = "" if folder.is_absolute() else f" (relative to the working folder {Path.cwd()})"
        raise FileNotFoundError(f"image folder {folder} does not exist{where}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder of images")
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(
        p for p in found if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    return images, others


def folder_image_files(path: str | Path, *, recursive: bool = False) -> list[Path]:
    """The image files of a folder, sorted; warns once naming the other files.

    What :func:`load_images` and :func:`helpers.streaming.describe_folder`
    read: :func:`image_files`, with one ``UserWarning`` naming every file
    skipped because it is not an image.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the folder does not exist or is a file.
    ValueError
        If the folder holds no image file.
    """
    folder = Path(path)
    files, others = image_files(folder, recursive=recursive)
    if others:
        listed = ", ".join(str(p.relative_to(folder)) for p in others)
        warnings.warn(f"skipped {len(others)} file(s) in {folder} that are not images: {listed}", stacklevel=3)
    if not files:
        raise ValueError(f"no image files in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def load_images(
    path: str | Path | None = None,
    *,
    recursive: bool = False,
    crop: bool = True,
    max_side: int | None = 512,
    on_error: str = "raise",
) -> ImageList:
    """Load the bundled collection, or every image in a folder.

    Parameters
    ----------
    path : str or Path, optional
        A folder of image files (PNG, JPEG, TIFF, BMP, GIF, WebP, PPM/PGM).
        ``None`` (default) loads the bundled collection of 21 images, in the
        order of :data:`COLLECTION` (see ``data/README.md``).
    recursive : bool
        Also read the folder's subfolders.
    crop : bool
        Apply :func:`crop_black` to every image (the lecture crops inside each
        function; here it is done once, so that positions refer to the image
        you see).
    max_side : int or None
        Downscale (anti-aliased) images whose longer side exceeds this many
        pixels, so that the notebooks run in seconds. ``None`` keeps every
        image at its full size.
    on_error : ``"raise"`` or ``"skip"``
        What to do with image files that cannot be used (corrupt, truncated,
        all black, unsupported pixel values): ``"raise"`` (default) stops
        with one error listing every such file; ``"skip"`` loads the others
        and warns once, naming the files skipped.

    Returns
    -------
    ImageList
        A list of ``H x W x 3`` float32 arrays in [0, 1] with a ``names``
        attribute: the image names, or the file paths relative to ``path``.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the folder does not exist or is a file.
    ValueError
        If the folder holds no (usable) image file.
    ImageReadError
        With ``on_error="raise"``, naming every image file that is corrupt
        or unreadable, and why.

    Warns
    -----
    UserWarning
        Once, naming every file skipped because it is not an image (by its
        ending; e.g. ``.txt``, or ``.heic``, which Pillow cannot read); with
        ``on_error="skip"``, once more naming the unusable image files.

    Examples
    --------
    >>> images = load_images()
    >>> images.names[0], images[0].shape, images[0].dtype
    ('astronaut', (512, 512, 3), dtype('float32'))
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if path is None:
        return ImageList(
            [_prepare(load(), name=name, crop=crop, max_side=max_side) for name, load, _ in COLLECTION],
            [name for name, _, _ in COLLECTION],
        )
    folder = Path(path)
    files = folder_image_files(folder, recursive=recursive)
    images, names, problems = [], [], []
    for f in files:
        try:
            images.append(load_image(f, crop=crop, max_side=max_side))
            names.append(str(f.relative_to(folder)))
        except ValueError as err:  # ImageReadError, or a file whose pixels as_rgb refuses
            problems.append(str(err))
    if problems and on_error == "raise":
        raise ImageReadError(
            f"{len(problems)} of {len(files)} image files could not be used "
            "(pass on_error='skip' to load the others):\n" + "\n".join(problems)
        )
    if problems:
        warnings.warn(f"skipped {len(problems)} unreadable image file(s):\n" + "\n".join(problems), stacklevel=2)
    if not images:
        raise ValueError(f"none of the {len(files)} image files in {folder} could be read")
    return ImageList(images, names)


def load_tiles(
    size: int = 128,
    per_image: int | None = 8,
    *,
    images: ImageList | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut images into equal, non-overlapping tiles labelled by their source.

    A labelled data set for asking whether a descriptor groups tiles of the
    same image together. Each image is cut on a ``size`` grid from its top-left
    corner (the remainder at the right and bottom is dropped); images smaller
    than one tile give none.

    Parameters
    ----------
    size : int
        Side of a tile in pixels.
    per_image : int or None
        Keep at most this many tiles of each image, chosen at random (so that
        large images do not dominate); ``None`` keeps all.
    images : ImageList, optional
        Images to cut; default: the bundled collection (:func:`load_images`).
    seed : int
        Seed of the random choice of tiles.

    Returns
    -------
    tiles : ndarray, shape (n, size, size, 3), float32
    labels : ndarray of str, shape (n,)
        The name of the image each tile comes from.

    Examples
    --------
    >>> tiles, labels = load_tiles(size=128, per_image=4)
    >>> tiles.shape[1:], str(labels[0])
    ((128, 128, 3), 'astronaut')
    """
    if size < 1:
        raise ValueError(f"tile size must be at least 1, got {size}")
    if images is None:
        images = load_images()
    rng = np.random.default_rng(seed)
    tiles, labels = [], []
    for name, image in zip(images.names, images, strict=True):
        h, w = (image.shape[0] // size) * size, (image.shape[1] // size) * size
        if h == 0 or w == 0:
            continue
        blocks = view_as_blocks(image[:h, :w], (size, size, 3)).reshape(-1, size, size, 3)
        if per_image is not None and len(blocks) > per_image:
            blocks = blocks[np.sort(rng.choice(len(blocks), per_image, replace=False))]
        tiles.append(blocks)
        labels += [name] * len(blocks)
    if not tiles:
        raise ValueError(f"no image is at least {size} x {size} pixels, so there are no tiles")
    return np.concatenate(tiles), np.array(labels)
