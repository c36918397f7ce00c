"""Tests of helpers.vq: fit_codebook, check_codebook, encode/decode/patchcode, block_means, rates."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.cluster import KMeans, MiniBatchKMeans

from helpers import (
    bits_per_pixel,
    block_means,
    check_codebook,
    code_entropy,
    decode,
    encode,
    fit_codebook,
    patchcode,
    pnorm,
)


def block_image(block_ids: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Tile an image from r x r x 3 ``blocks`` laid out as the index grid ``block_ids``."""
    nby, nbx = block_ids.shape
    r = blocks.shape[1]
    image = np.zeros((nby * r, nbx * r, 3), dtype=np.float32)
    for i in range(nby):
        for j in range(nbx):
            image[i * r : (i + 1) * r, j * r : (j + 1) * r] = blocks[block_ids[i, j]]
    return image


def reference_padded_blocks(image: np.ndarray, r: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Edge-pad to a multiple of r with plain loops and slice out the blocks, row by row."""
    h, w = image.shape[:2]
    nby, nbx = -(-h // r), -(-w // r)
    padded = np.empty((nby * r, nbx * r, 3), dtype=image.dtype)
    for y in range(nby * r):
        for x in range(nbx * r):
            padded[y, x] = image[min(y, h - 1), min(x, w - 1)]
    blocks = [padded[i * r : (i + 1) * r, j * r : (j + 1) * r] for i in range(nby) for j in range(nbx)]
    return np.stack(blocks), (nby, nbx)


def codebook_with_centers(centers: np.ndarray, seed: int = 0, minibatch: bool = False) -> KMeans | MiniBatchKMeans:
    """A fitted KMeans (or fit_codebook's MiniBatchKMeans) whose code vectors are exactly ``centers`` (k, d)."""
    if minibatch:
        km = fit_codebook(centers, k=len(centers), seed=seed)
    else:
        km = KMeans(len(centers), n_init=1, random_state=seed).fit(centers)
    km.cluster_centers_ = np.ascontiguousarray(centers, dtype=np.float32)
    return km


@pytest.fixture(scope="module")
def random_blocks():
    """Five well-separated random 4 x 4 colour blocks and a 3 x 5 layout that uses each of them."""
    rng = np.random.default_rng(3)
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9])[:, None, None, None]
    blocks = np.clip(levels + 0.08 * rng.standard_normal((5, 4, 4, 3)), 0, 1).astype(np.float32)
    ids = np.array([[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 2, 0, 4, 1]])
    return blocks, ids


# ---------------------------------------------------------------- fit_codebook


def test_fit_codebook_shape_and_type(gray_patches8, codebook8):
    assert isinstance(codebook8, MiniBatchKMeans)
    assert codebook8.cluster_centers_.shape == (16, 64)
    labels = codebook8.predict(gray_patches8.reshape(len(gray_patches8), -1))
    assert labels.min() >= 0 and labels.max() < 16


def test_fit_codebook_accepts_flat_and_colour_patches(images):
    from helpers import sample_patches

    colour = sample_patches(images, n=200, r=4, norm="rgb", seed=1)
    km = fit_codebook(colour, k=5, seed=0)
    assert km.cluster_centers_.shape == (5, 4 * 4 * 3)
    km_flat = fit_codebook(colour.reshape(200, -1), k=5, seed=0)
    np.testing.assert_array_equal(km.cluster_centers_, km_flat.cluster_centers_)


def test_fit_codebook_deterministic_for_seed(gray_patches8):
    a = fit_codebook(gray_patches8, k=8, seed=3, batch_size=128)
    b = fit_codebook(gray_patches8, k=8, seed=3, batch_size=128)
    c = fit_codebook(gray_patches8, k=8, seed=4, batch_size=128)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert not np.allclose(a.cluster_centers_, c.cluster_centers_)


def test_fit_codebook_passes_kwargs(gray_patches8):
    km = fit_codebook(gray_patches8, k=4, seed=0, max_iter=3, reassignment_ratio=0.0)
    assert km.max_iter == 3 and km.reassignment_ratio == 0.0 and km.n_clusters == 4


def test_fit_codebook_too_few_patches_raises(gray_patches8):
    with pytest.raises(ValueError, match="cannot fit 1000 code vectors to only 600 patches"):
        fit_codebook(gray_patches8, k=1000)
    with pytest.raises(ValueError, match="stack of patches"):
        fit_codebook(np.zeros(64), k=1)


# ---------------------------------------------------------------- check_codebook


def test_check_codebook_mismatch_message(codebook8, make_image):
    with pytest.raises(ValueError, match=r"codebook mismatch.*64 values \(8 x 8 patches\).*6 x 6 patches have 36"):
        check_codebook(codebook8, r=6)
    # every function that uses a codebook checks it first
    image = make_image(24, 24, seed=0)
    with pytest.raises(ValueError, match="codebook mismatch"):
        encode(image, codebook8, r=6)
    with pytest.raises(ValueError, match="codebook mismatch"):
        patchcode(image, codebook8, r=6)
    with pytest.raises(ValueError, match=r"codebook mismatch.*8 x 8 x 3 patches have 192"):
        encode(image, codebook8, r=8, norm="rgb")


def test_check_codebook_names_colour_codebooks():
    km = codebook_with_centers(np.random.default_rng(0).random((3, 4 * 4 * 3)))
    with pytest.raises(ValueError, match=r"48 values \(4 x 4 x 3 patches\), but 4 x 4 patches have 16"):
        check_codebook(km, r=4)
    check_codebook(km, r=4, channels=3)  # no error


def test_check_codebook_accepts_matching_and_rejects_unfitted(codebook8):
    check_codebook(codebook8, r=8)
    with pytest.raises(ValueError, match="not fitted"):
        check_codebook(MiniBatchKMeans(4), r=8)


# ---------------------------------------------------------------- encode / decode / patchcode


def test_exact_reconstruction_kmeans_fit_on_image_blocks(random_blocks):
    """KMeans with k = number of distinct blocks recovers every block: patchcode is lossless."""
    blocks, ids = random_blocks
    image = block_image(ids, blocks)
    for norm, expected in [
        ("gray", image.mean(axis=-1)),
        ("rgb", image),
        ("center", image.mean(axis=-1)),
    ]:
        train = pnorm(blocks, norm).reshape(len(blocks), -1)
        km = KMeans(len(blocks), n_init=1, random_state=0).fit(train)
        rec = patchcode(image, km, r=4, norm=norm)
        assert rec.shape == expected.shape
        np.testing.assert_allclose(rec, expected, atol=1e-5, err_msg=norm)


@pytest.mark.parametrize("minibatch", [False, True])
@pytest.mark.parametrize("norm", ["gray", "rgb"])
def test_exact_reconstruction_codes_and_pixels(random_blocks, norm, minibatch):
    """With the image's own blocks as code vectors, encode gives the layout and decode the pixels, exactly."""
    blocks, ids = random_blocks
    image = block_image(ids, blocks)
    km = codebook_with_centers(pnorm(blocks, norm).reshape(len(blocks), -1), minibatch=minibatch)
    codes = encode(image, km, r=4, norm=norm)
    assert codes.shape == ids.shape
    np.testing.assert_array_equal(codes, ids)
    rec = decode(codes, km, shape=image.shape[:2])
    np.testing.assert_array_equal(rec, pnorm(image, norm))
    np.testing.assert_array_equal(patchcode(image, km, r=4, norm=norm), rec)


@pytest.mark.parametrize("h, w", [(13, 18), (9, 4), (4, 23), (1, 1), (12, 20)])
@pytest.mark.parametrize("norm", ["gray", "rgb"])
def test_reconstruction_of_sizes_not_multiple_of_r_constant_blocks(h, w, norm):
    """Constant blocks cut at the bottom/right: edge padding rebuilds the same blocks, cropped back."""
    rng = np.random.default_rng(h * 31 + w)
    r = 4
    colours = np.array([[0.1, 0.2, 0.9], [0.8, 0.8, 0.1], [0.5, 0.0, 0.5], [1.0, 1.0, 1.0]], dtype=np.float32)
    blocks = np.broadcast_to(colours[:, None, None, :], (4, r, r, 3))
    ids = rng.integers(0, 4, size=(-(-h // r), -(-w // r)))
    image = block_image(ids, blocks)[:h, :w]
    km = codebook_with_centers(pnorm(blocks, norm).reshape(4, -1))
    np.testing.assert_array_equal(encode(image, km, r=r, norm=norm), ids)
    rec = patchcode(image, km, r=r, norm=norm)
    expected = image if norm == "rgb" else image.mean(axis=-1)
    assert rec.shape == expected.shape
    np.testing.assert_allclose(rec, expected, atol=1e-6)


@pytest.mark.parametrize("h, w, r", [(13, 18, 4), (10, 7, 3), (5, 5, 8)])
def test_encode_pads_by_repeating_edges(h, w, r, make_image):
    """Random image of awkward size; the codebook is made of its edge-padded blocks (built with loops)."""
    image = make_image(h, w, seed=h + w)
    ref_blocks, grid = reference_padded_blocks(image, r)
    km = codebook_with_centers(pnorm(ref_blocks, "rgb").reshape(len(ref_blocks), -1))
    codes = encode(image, km, r=r, norm="rgb")
    assert codes.shape == grid == (-(-h // r), -(-w // r))
    np.testing.assert_array_equal(codes.ravel(), np.arange(len(ref_blocks)))
    full = decode(codes, km)
    assert full.shape == (grid[0] * r, grid[1] * r, 3)
    np.testing.assert_array_equal(full[:h, :w], image)
    np.testing.assert_array_equal(full[h:, :w], np.broadcast_to(image[-1:, :], full[h:, :w].shape))
    np.testing.assert_array_equal(patchcode(image, km, r=r, norm="rgb"), image)


@given(
    nby=st.integers(1, 4),
    nbx=st.integers(1, 4),
    cut_y=st.integers(0, 3),
    cut_x=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_gray_roundtrip_property(nby, nbx, cut_y, cut_x, seed):
    rng = np.random.default_rng(seed)
    r = 4
    levels = rng.permutation(np.linspace(0.05, 0.95, 6)).astype(np.float32)
    blocks = np.broadcast_to(levels[:, None, None, None], (6, r, r, 3))
    ids = rng.integers(0, 6, size=(nby, nbx))
    image = block_image(ids, blocks)[: nby * r - cut_y, : nbx * r - cut_x]
    km = codebook_with_centers(pnorm(blocks, "gray").reshape(6, -1))
    rec = patchcode(image, km, r=r)
    assert rec.shape == image.shape[:2]
    np.testing.assert_allclose(rec, image[..., 0], atol=1e-6)


def test_center_patchcode_adds_block_means_back(random_blocks):
    blocks, ids = random_blocks
    image = block_image(ids, blocks)
    km = codebook_with_centers(pnorm(blocks, "center").reshape(len(blocks), -1))
    codes = encode(image, km, r=4, norm="center")
    np.testing.assert_array_equal(codes, ids)
    means = block_means(image, r=4)
    without = decode(codes, km, shape=image.shape[:2])
    np.testing.assert_allclose(without.reshape(3, 4, 5, 4).mean(axis=(1, 3)), 0, atol=1e-6)
    rec = patchcode(image, km, r=4, norm="center")
    np.testing.assert_allclose(rec, image.mean(axis=-1), atol=1e-6)
    np.testing.assert_allclose(decode(codes, km, means=means), rec, atol=1e-7)


def test_patchcode_with_fitted_codebook_has_image_shape(images, codebook8):
    for image in images:
        rec = patchcode(image, codebook8, r=8)
        assert rec.shape == image.shape[:2]
        assert np.all(np.isfinite(rec))
        codes = encode(image, codebook8, r=8)
        assert codes.shape == (-(-image.shape[0] // 8), -(-image.shape[1] // 8))
        assert codes.min() >= 0 and codes.max() < 16
        # a k-means codebook is lossy, but far better than a flat image at the mean gray
        gray = image.mean(axis=-1)
        assert np.abs(rec - gray).mean() < 0.7 * np.abs(gray - gray.mean()).mean()


@pytest.mark.parametrize("norm", ["contrast", "maxscale", "standardize", "bogus"])
def test_patchcode_rejects_norms_it_cannot_invert(codebook8, images, norm):
    with pytest.raises(ValueError, match=f"not '{norm}'"):
        patchcode(images[0], codebook8, r=8, norm=norm)


def test_encode_rejects_integer_and_2d_images(codebook8):
    with pytest.raises(ValueError, match="float image"):
        encode(np.zeros((16, 16, 3), dtype=np.uint8), codebook8)
    with pytest.raises(ValueError, match="H x W x 3"):
        encode(np.zeros((16, 16), dtype=np.float32), codebook8)


def test_encode_validates_r(codebook8, images):
    with pytest.raises(ValueError, match="patch size r"):
        encode(images[0], codebook8, r=0)


def test_decode_gray_and_colour_shapes():
    gray = codebook_with_centers(np.arange(3 * 9, dtype=np.float32).reshape(3, 9))
    codes = np.array([[0, 1], [2, 0]])
    out = decode(codes, gray)
    assert out.shape == (6, 6)
    np.testing.assert_array_equal(out[:3, 3:], np.arange(9, 18).reshape(3, 3))
    np.testing.assert_array_equal(out[3:, :3], np.arange(18, 27).reshape(3, 3))
    assert decode(codes, gray, shape=(5, 4)).shape == (5, 4)
    colour = codebook_with_centers(np.random.default_rng(0).random((3, 2 * 2 * 3)))
    assert decode(codes, colour).shape == (4, 4, 3)
    assert decode(codes, colour, shape=(3, 3, 3)).shape == (3, 3, 3)


# ---------------------------------------------------------------- block_means


def test_block_means(make_image):
    image = make_image(10, 13, seed=5)
    means = block_means(image, r=4)
    assert means.shape == (3, 4)
    ref_blocks, _ = reference_padded_blocks(image, 4)
    np.testing.assert_allclose(means.ravel(), ref_blocks.mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(means[0, 0], image[:4, :4].mean(), rtol=1e-5)


# ---------------------------------------------------------------- rates


def test_bits_per_pixel():
    assert bits_per_pixel(1024, 8) == 10 / 64
    assert bits_per_pixel(2, 1) == 1.0
    assert bits_per_pixel(256, 4) == 0.5
    assert isinstance(bits_per_pixel(1024, 8), float)


@pytest.mark.parametrize("k", [1, 2, 16, 1024])
def test_code_entropy_uniform_is_log2_k(k):
    codes = np.tile(np.arange(k), 3)
    assert code_entropy(codes, k) == pytest.approx(np.log2(k), abs=1e-12)
    assert code_entropy(codes.reshape(3, k)) == pytest.approx(np.log2(k), abs=1e-12)


def test_code_entropy_constant_is_zero_and_skewed_is_between():
    assert code_entropy(np.full(50, 7), k=16) == 0
    skewed = np.array([0] * 90 + [1] * 10)
    expected = -(0.9 * np.log2(0.9) + 0.1 * np.log2(0.1))
    assert code_entropy(skewed) == pytest.approx(expected)
    assert 0 < code_entropy(skewed) < 1


def test_code_entropy_empty_raises():
    with pytest.raises(ValueError, match="no codes"):
        code_entropy(np.array([], dtype=int))
