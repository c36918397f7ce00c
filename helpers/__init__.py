"""helpers: the small package behind the patch-codebook notebooks.

The pipeline's stages, one module each, data flowing one way::

    images      -> extraction  -> codebook      -> vq / descriptors           -> tree
    load_images    patches        PatchCodebook    patchcode / patchhist         distances
    crop_black     pnorm          encode, decode   block_means / colour_hists    linkage_tree
                   ZCA            (kmeans:                                       cut_height
                                  steady_kmeans, nearest_codes)

``plotting`` draws them. The machinery of single notebooks, not needed to
follow the series: ``evaluation`` and ``tables`` (the protocol and its tables,
06, 08, 09, 11), ``compression`` and ``coder`` (07), ``streaming`` (10), ``study`` (13) and
``widgets`` (sliders). Modules load on first use, so ``import helpers`` is
quick and imports neither pyplot nor Dask.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[
        "codebook",
        "coder",
        "compression",
        "descriptors",
        "evaluation",
        "extraction",
        "images",
        "kmeans",
        "plotting",
        "streaming",
        "study",
        "tables",
        "tree",
        "vq",
        "widgets",
    ],
    submod_attrs={
        "images": ["ImageList", "ImageReadError", "as_rgb", "crop_black", "load_image", "load_images"],
        "extraction": [
            "NORMS",
            "ZCA",
            "corner_positions",
            "grid_positions",
            "patches",
            "patches_at",
            "pnorm",
            "random_positions",
            "sample_patches",
        ],
        "codebook": ["PatchCodebook"],
        "kmeans": ["nearest_codes", "steady_kmeans", "untie"],
        "vq": ["bits_per_pixel", "block_means", "code_entropy", "patchcode"],
        "descriptors": ["colour_hists", "gray_hists", "lbp_hists", "normalize_hists", "patchhist"],
        "tree": ["distances", "linkage_tree", "cut_height"],
        "plotting": ["image_grid", "notebook_setup", "show_patches", "side_by_side"],
    },
)
