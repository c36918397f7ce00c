"""Tests of helpers.compression: 8-bit gray, JPEG round trips and curves, VQ rates, code probabilities."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from sklearn.cluster import KMeans

from helpers import code_entropy, fit_codebook
from helpers.compression import (
    code_probs,
    codebook_mse,
    gray8,
    jpeg_at_rate,
    jpeg_curve,
    jpeg_psnr_at,
    jpeg_roundtrip,
    vq_point,
    vq_rates,
    vq_roundtrip,
)


def codebook(centers: np.ndarray) -> KMeans:
    """A fitted KMeans whose code vectors are exactly ``centers`` (k, d)."""
    centers = np.asarray(centers, dtype=np.float32)
    km = KMeans(len(centers), n_init=1, random_state=0).fit(np.random.default_rng(0).random(centers.shape))
    km.cluster_centers_ = centers.copy()
    return km


@pytest.fixture(scope="module")
def gray_image(make_image) -> np.ndarray:
    """A 48 x 64 gray test image with structure, on the 8-bit grid."""
    return gray8(make_image(48, 64, seed=7))


@pytest.fixture(scope="module")
def tiled():
    """A 16 x 24 gray image made of 6 blocks of 8 x 8 drawn from 4 distinct 8-bit blocks, and those blocks."""
    rng = np.random.default_rng(11)
    blocks = rng.integers(0, 256, size=(4, 8, 8)) / 255
    ids = np.array([[0, 1, 2], [3, 3, 0]])
    image = blocks[ids].transpose(0, 2, 1, 3).reshape(16, 24).astype(np.float32)
    return image, blocks, ids


# ---------------------------------------------------------------- gray8


def test_gray8_is_on_the_8_bit_grid_and_idempotent(make_image):
    image = make_image(20, 30, seed=1)
    g = gray8(image)
    assert g.shape == (20, 30) and g.dtype == np.float32
    np.testing.assert_allclose(g * 255, np.round(g * 255), atol=1e-4)
    np.testing.assert_array_equal(gray8(g), g)
    np.testing.assert_allclose(g, image.mean(axis=2), atol=0.5 / 255 + 1e-6)


def test_gray8_rounds_to_nearest_and_clips():
    g = gray8(np.array([[-0.2, 0.5 / 255 - 1e-4, 0.5 / 255 + 1e-4, 1.3]]))
    assert (g * 255).round().astype(int).tolist() == [[0, 0, 1, 255]]


@pytest.mark.parametrize(
    "bad, match",
    [(np.zeros((4, 4, 2)), "shape"), (np.zeros(5), "shape"), (np.zeros((4, 4), dtype=np.uint8), "dtype")],
)
def test_gray8_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        gray8(bad)


# ---------------------------------------------------------------- jpeg_roundtrip


def test_jpeg_roundtrip_matches_pillow(gray_image):
    decoded, bpp = jpeg_roundtrip(gray_image, quality=40)
    buffer = io.BytesIO()
    pixels = np.round(gray_image * 255).astype(np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=40, optimize=True)
    assert bpp == pytest.approx(8 * len(buffer.getvalue()) / gray_image.size)
    buffer.seek(0)
    with Image.open(buffer) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(decoded, np.asarray(im) / np.float32(255))
    assert decoded.shape == gray_image.shape and decoded.dtype == np.float32


def test_jpeg_quality_trades_rate_for_psnr(gray_image):
    results = [jpeg_roundtrip(gray_image, q) for q in (5, 30, 90)]
    rates = [bpp for _, bpp in results]
    psnrs = [peak_signal_noise_ratio(gray_image, dec, data_range=1) for dec, _ in results]
    assert rates == sorted(rates) and rates[0] < rates[-1]
    assert psnrs == sorted(psnrs) and psnrs[-1] > 35


def test_jpeg_optimize_shrinks_the_file_not_the_pixels(gray_image):
    plain, plain_bpp = jpeg_roundtrip(gray_image, 10, optimize=False)
    opt, opt_bpp = jpeg_roundtrip(gray_image, 10, optimize=True)
    np.testing.assert_array_equal(plain, opt)
    assert opt_bpp < plain_bpp


def test_jpeg_roundtrip_makes_colour_gray(make_image):
    image = make_image(16, 16, seed=2)
    np.testing.assert_array_equal(jpeg_roundtrip(image, 50)[0], jpeg_roundtrip(gray8(image), 50)[0])


@pytest.mark.parametrize("quality", [0, 101, 2.5, True, "50"])
def test_jpeg_roundtrip_rejects_bad_quality(gray_image, quality):
    with pytest.raises(ValueError, match="quality"):
        jpeg_roundtrip(gray_image, quality)


# ---------------------------------------------------------------- jpeg_at_rate


def test_jpeg_at_rate_picks_the_closest_quality(gray_image):
    rates = {q: jpeg_roundtrip(gray_image, q)[1] for q in range(1, 96)}
    for target in (0.5, 1.0, 2.0):
        decoded, bpp, q = jpeg_at_rate(gray_image, target)
        best = min(rates, key=lambda k: (abs(rates[k] - target), k))
        assert q == best and bpp == pytest.approx(rates[best])
        np.testing.assert_array_equal(decoded, jpeg_roundtrip(gray_image, q)[0])


def test_jpeg_at_rate_ends_and_errors(gray_image):
    assert jpeg_at_rate(gray_image, 1e-6, qualities=[3, 7, 20])[2] == 3
    assert jpeg_at_rate(gray_image, 1e6, qualities=[3, 7, 20])[2] == 20
    with pytest.raises(ValueError, match="target rate"):
        jpeg_at_rate(gray_image, 0)
    with pytest.raises(ValueError, match="no JPEG qualities"):
        jpeg_at_rate(gray_image, 1.0, qualities=[])


# ---------------------------------------------------------------- jpeg_curve, jpeg_psnr_at


def test_jpeg_curve_is_per_image_roundtrips(gray_image, make_image):
    grays = [gray_image, make_image(20, 33, seed=3)]
    curve = jpeg_curve(grays, qualities=[5, 50])
    assert curve["quality"].tolist() == [5, 50]
    assert curve["bpp"].shape == curve["psnr"].shape == (2, 2)
    for i, g in enumerate(grays):
        ref = gray8(g)
        for j, q in enumerate((5, 50)):
            decoded, bpp = jpeg_roundtrip(ref, q)
            assert curve["bpp"][i, j] == pytest.approx(bpp)
            assert curve["psnr"][i, j] == pytest.approx(peak_signal_noise_ratio(ref, decoded, data_range=1))
    with pytest.raises(ValueError, match="no images"):
        jpeg_curve([])


def test_jpeg_psnr_at_interpolates_each_image_and_never_extrapolates():
    curve = {
        "bpp": np.array([[0.1, 0.3, 0.2], [0.5, 1.0, 2.0]]),  # first row unsorted on purpose
        "psnr": np.array([[20.0, 30.0, 25.0], [30.0, 35.0, 40.0]]),
    }
    np.testing.assert_allclose(jpeg_psnr_at(curve, [0.25, 1.5]), [27.5, 37.5])
    out = jpeg_psnr_at(curve, 0.3)
    assert out[0] == 30.0 and np.isnan(out[1])
    assert np.isnan(jpeg_psnr_at(curve, 2.5)).all()
    with pytest.raises(ValueError, match="per-image curves"):
        jpeg_psnr_at({"bpp": np.zeros(3), "psnr": np.zeros(3)}, 0.1)


# ---------------------------------------------------------------- code_probs


def test_code_probs_adds_the_prior_to_every_count():
    p = code_probs(np.array([[2, 2], [2, 0]]), 4)
    np.testing.assert_allclose(p, np.array([2, 1, 4, 1]) / 8)
    np.testing.assert_allclose(code_probs(np.array([1, 1]), 2, prior=0.5), [0.5 / 3, 2.5 / 3])
    with pytest.raises(ValueError, match="0 .. 3"):
        code_probs(np.array([4]), 4)
    with pytest.raises(ValueError, match="prior"):
        code_probs(np.array([0]), 4, prior=0)


# ---------------------------------------------------------------- vq_roundtrip


def test_vq_roundtrip_is_lossless_when_the_blocks_are_code_vectors(tiled):
    image, blocks, ids = tiled
    km = codebook(blocks.reshape(4, -1))
    decoded, codes, levels = vq_roundtrip(image, km, r=8)
    np.testing.assert_array_equal(codes, ids)
    np.testing.assert_array_equal(decoded, image)
    assert levels is None


def test_vq_roundtrip_mean_removed_stores_quantised_means(tiled):
    image, _, _ = tiled
    km = codebook(np.zeros((1, 64)))  # shape says nothing: decoded = each block's mean
    decoded, codes, levels = vq_roundtrip(image, km, r=8, norm="center", mean_bits=3)
    means = image.reshape(2, 8, 3, 8).mean(axis=(1, 3))
    np.testing.assert_array_equal(levels, np.round(means * 7))
    expected = np.round(np.repeat(np.repeat(levels / 7, 8, axis=0), 8, axis=1) * 255) / 255
    np.testing.assert_allclose(decoded, expected, atol=1e-6)
    assert codes.shape == (2, 3) and not codes.any()


def test_vq_roundtrip_pads_and_crops(make_image, codebook8):
    gray = gray8(make_image(21, 30, seed=4))
    decoded, codes, _ = vq_roundtrip(gray, codebook8, r=8)
    assert decoded.shape == (21, 30) and codes.shape == (3, 4)
    np.testing.assert_allclose(decoded * 255, np.round(decoded * 255), atol=1e-4)
    assert decoded.min() >= 0 and decoded.max() <= 1


def test_vq_roundtrip_errors(gray_image, codebook8):
    with pytest.raises(ValueError, match="norm"):
        vq_roundtrip(gray_image, codebook8, r=8, norm="rgb")
    with pytest.raises(ValueError, match="codebook mismatch"):
        vq_roundtrip(gray_image, codebook8, r=4)
    with pytest.raises(ValueError, match="mean_bits"):
        vq_roundtrip(gray_image, codebook8, r=8, norm="center", mean_bits=0)


# ---------------------------------------------------------------- vq_rates


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # PSNR of a lossless copy is infinite
def test_vq_rates_three_ways_to_store_the_indices(tiled):
    image, blocks, ids = tiled
    km = codebook(blocks.reshape(4, -1))
    probs = np.array([0.5, 0.25, 0.125, 0.125])
    rates = vq_rates([image], km, r=8, probs=probs)
    assert rates["bpp"] == pytest.approx(2 / 64)  # log2(4) bits per 8 x 8 block
    assert rates["entropy_bpp"] == pytest.approx(code_entropy(ids, 4) / 64)
    expected_bits = -np.log2(probs[ids]).sum()  # codes 0,1,2,3,3,0: 1+2+3+3+3+1 bits
    assert expected_bits == 13
    assert rates["model_bpp"] == pytest.approx(13 / image.size)
    assert rates["psnr"] == np.inf  # lossless
    assert rates["psnrs"] == [rates["psnr"]] and rates["bpps"] == [rates["bpp"]]


def test_vq_rates_count_padding_and_average_images(make_image, codebook8):
    grays = [gray8(make_image(16, 16, seed=1)), gray8(make_image(20, 16, seed=2))]
    rates = vq_rates(grays, codebook8, r=8)
    np.testing.assert_allclose(rates["bpps"], [4 * 4 / 256, 6 * 4 / 320])  # log2(16) bits, 4 and 6 blocks
    assert rates["bpp"] == pytest.approx(np.mean(rates["bpps"]))
    assert all(e <= f + 1e-12 for e, f in zip(rates["entropy_bpps"], rates["bpps"], strict=True))
    assert "model_bpp" not in rates


def test_vq_rates_mean_removed_adds_the_means(tiled):
    image, _, _ = tiled
    km = codebook(np.zeros((2, 64)))
    rates = vq_rates([image], km, r=8, norm="center", mean_bits=8)
    assert rates["bpp"] == pytest.approx((1 + 8) * 6 / image.size)
    with pytest.raises(ValueError, match="mean_probs"):
        vq_rates([image], km, r=8, norm="center", probs=np.array([0.5, 0.5]))
    flat = vq_rates([image], km, r=8, norm="center", probs=np.array([0.5, 0.5]), mean_probs=np.full(256, 1 / 256))
    assert flat["model_bpp"] == pytest.approx(flat["bpp"])  # uniform probabilities = fixed length


def test_vq_rates_errors(gray_image, codebook8):
    with pytest.raises(ValueError, match="no images"):
        vq_rates([], codebook8)
    with pytest.raises(ValueError, match="16 positive probabilities"):
        vq_rates([gray_image], codebook8, probs=np.zeros(16))


# ---------------------------------------------------------------- vq_point


def test_vq_point_from_images_and_from_patches(images, gray_patches8):
    test = [gray8(im) for im in images[:2]]
    from_patches = vq_point(gray_patches8, test, k=8, r=8, batch_size=256)
    assert from_patches["k"] == 8 and from_patches["codebook"].cluster_centers_.shape == (8, 64)
    assert from_patches["model_bpp"] <= from_patches["bpp"] + 0.01
    assert len(from_patches["psnrs"]) == 2 and np.isfinite(from_patches["psnr"])
    again = vq_point(gray_patches8, test, k=8, r=8, batch_size=256)
    assert again["psnrs"] == from_patches["psnrs"]
    from_images = vq_point(images, test, k=8, r=4, n_train=500, batch_size=256)
    assert from_images["codebook"].cluster_centers_.shape == (8, 16)


def test_vq_point_mean_removed_fits_shapes(images, gray_patches8):
    test = [gray8(images[0])]
    plain = vq_point(gray_patches8, test, k=4, r=8, batch_size=256)
    centred = vq_point(gray_patches8, test, k=4, r=8, norm="center", batch_size=256)
    np.testing.assert_allclose(centred["codebook"].cluster_centers_.mean(axis=1), 0, atol=1e-5)
    assert centred["psnr"] > plain["psnr"]
    assert centred["bpp"] == pytest.approx(plain["bpp"] + 8 / 64)


def test_vq_point_errors(images, gray_patches8):
    with pytest.raises(ValueError, match="expected \\(4, 4\\)"):
        vq_point(gray_patches8, [gray8(images[0])], k=4, r=4)
    with pytest.raises(ValueError, match="norm"):
        vq_point(gray_patches8, [gray8(images[0])], k=4, r=8, norm="contrast")


# ---------------------------------------------------------------- codebook_mse


def test_codebook_mse(gray_patches8):
    flat = gray_patches8.reshape(len(gray_patches8), -1).astype(np.float64)
    km = KMeans(5, n_init=1, random_state=0).fit(flat)
    assert codebook_mse(km, gray_patches8.astype(np.float64)) == pytest.approx(km.inertia_ / flat.size, rel=1e-6)
    exact = codebook(flat[:3])
    assert codebook_mse(exact, flat[:3]) == 0.0
    km16 = fit_codebook(gray_patches8, k=4, seed=0)
    with pytest.raises(ValueError, match="code vectors 64"):
        codebook_mse(km16, np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="no patches"):
        codebook_mse(km16, np.zeros((0, 64)))
