"""helpers: the small package behind the patch-codebook notebooks.

The lecture's vocabulary, done right: ``crop_black``, ``pnorm``, ``patches``,
``patchcode``, ``patchhist``, plus the loaders and figures the notebooks share.

Modules
-------
images      the bundled collection, your own folders, tiles, ``crop_black``
patches     ``pnorm``, ``patches``, ``sample_patches``, ZCA whitening
vq          the k-means codebook, ``encode`` / ``decode`` / ``patchcode``, rates
histograms  ``patchhist`` and histogram normalisations
plotting    patch montages, images side by side, image grids
evaluation  retrieval, clustering and classification scores of descriptors
descriptors histograms at chosen positions, one score sheet for comparing variants
compression JPEG and VQ rate-distortion
streaming   large folders in bounded memory: describe_folder, fit_codebook_folder
widgets     sliders that work in live sessions and under nbval
"""

from . import compression, descriptors, evaluation, streaming, widgets
from .histograms import HIST_NORMS, colour_hists, normalize_hists, patchhist, patchhists
from .images import (
    COLLECTION,
    ImageList,
    ImageReadError,
    as_rgb,
    crop_black,
    load_image,
    load_images,
    load_tiles,
    read_image,
)
from .patches import NORMS, ZCA, corner_positions, grid_positions, patches, patches_at, pnorm, sample_patches
from .plotting import (
    dendrogram_thumbnails,
    image_grid,
    notebook_setup,
    scale_patches,
    show_patches,
    side_by_side,
    thumbnail,
)
from .vq import bits_per_pixel, block_means, check_codebook, code_entropy, decode, encode, fit_codebook, patchcode

__all__ = [
    "COLLECTION",
    "HIST_NORMS",
    "NORMS",
    "ZCA",
    "ImageList",
    "ImageReadError",
    "as_rgb",
    "bits_per_pixel",
    "block_means",
    "check_codebook",
    "code_entropy",
    "colour_hists",
    "compression",
    "corner_positions",
    "crop_black",
    "decode",
    "descriptors",
    "dendrogram_thumbnails",
    "encode",
    "evaluation",
    "fit_codebook",
    "grid_positions",
    "image_grid",
    "load_image",
    "load_images",
    "load_tiles",
    "normalize_hists",
    "notebook_setup",
    "patchcode",
    "patches",
    "patches_at",
    "patchhist",
    "patchhists",
    "pnorm",
    "read_image",
    "sample_patches",
    "scale_patches",
    "show_patches",
    "side_by_side",
    "streaming",
    "thumbnail",
    "widgets",
]
