"""helpers.compression: JPEG and VQ measured the same way, every stored bit counted."""

import numpy as np
import pytest

import helpers
from helpers import compression


def test_gray8_rounds_to_8_bit_levels_once():
    g = compression.gray8(np.array([[0.0, 0.1, 1.0]]))
    assert (g * 255).round().astype(int).tolist() == [[0, 26, 255]]
    assert np.array_equal(compression.gray8(g), g)


def test_jpeg_roundtrip_counts_the_whole_file(rng):
    image = rng.random((64, 80))
    decoded, bpp = compression.jpeg_roundtrip(image, quality=50)
    assert decoded.shape == (64, 80) and 0 < bpp < 8
    assert compression.jpeg_roundtrip(image, 50, optimize=False)[1] > bpp  # optimised Huffman tables are smaller
    with pytest.raises(ValueError, match="quality"):
        compression.jpeg_roundtrip(image, 0)


def test_jpeg_psnr_at_interpolates_each_images_own_curve():
    curve = {"bpp": np.array([[0.1, 0.3], [0.2, 0.4]]), "psnr": np.array([[20.0, 30.0], [22.0, 26.0]])}
    assert compression.jpeg_psnr_at(curve, 0.2).tolist() == [25.0, 22.0]
    assert np.isnan(compression.jpeg_psnr_at(curve, [0.05, 0.3])[0])


def test_vq_rates_count_indices_and_means(collection):
    train = [im for name, im in zip(collection.names, collection, strict=True) if name != "camera"]
    point = compression.vq_point(train, [collection["camera"]], 16, r=8, n_train=4000)
    assert point["bpp"] == helpers.bits_per_pixel(16, 8)
    assert point["entropy_bpp"] <= point["bpp"] and point["model_bpp"] > 0
    centred = compression.vq_point(train, [collection["camera"]], 16, r=8, norm="center", n_train=4000)
    assert centred["bpp"] == (4 + 8) / 64  # 4 bits of index and 8 of mean per 8 x 8 block
    assert centred["psnr"] > point["psnr"]


def test_code_probs_never_zero():
    p = compression.code_probs(np.array([0, 0, 1]), 4)
    assert p.tolist() == [3 / 7, 2 / 7, 1 / 7, 1 / 7]
