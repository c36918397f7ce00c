"""helpers: the small package behind the patch-codebook notebooks.

The pipeline, one module per stage, data flowing one way::

    images      -> extraction  -> codebook              -> descriptors     -> evaluation
    load_images    patches        PatchCodebook            patchhist          distances
    crop_black     pnorm          encode / decode          colour_hists ...   precision_at_k ...
                                  patchcode

plus ``plotting`` (figures), and the machinery of single notebooks:
``compression`` (07), ``streaming`` (10), ``widgets`` (controls). Modules load
on first use, so ``import helpers`` is quick and imports neither pyplot nor Dask.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[
        "codebook",
        "compression",
        "descriptors",
        "evaluation",
        "extraction",
        "images",
        "plotting",
        "streaming",
        "study",
        "widgets",
    ],
    submod_attrs={
        "images": ["ImageList", "ImageReadError", "as_rgb", "crop_black", "load_image", "load_images", "load_tiles"],
        "extraction": [
            "NORMS",
            "corner_positions",
            "grid_positions",
            "patches",
            "patches_at",
            "pnorm",
            "random_positions",
            "sample_patches",
        ],
        "codebook": ["ZCA", "PatchCodebook", "bits_per_pixel", "block_means", "code_entropy", "patchcode"],
        "descriptors": ["colour_hists", "gray_hists", "lbp_hists", "normalize_hists", "patchhist"],
        "plotting": ["image_grid", "notebook_setup", "show_patches", "side_by_side"],
    },
)
