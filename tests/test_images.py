"""Tests of helpers.images: as_rgb, crop_black, read_image, load_images, load_tiles, ImageList."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from helpers import COLLECTION, ImageList, ImageReadError, as_rgb, crop_black, load_images, load_tiles, read_image


def assert_rgb01(image: np.ndarray) -> None:
    assert image.ndim == 3 and image.shape[2] == 3, image.shape
    assert image.shape[0] > 0 and image.shape[1] > 0
    assert image.dtype == np.float32
    assert np.all(np.isfinite(image))
    assert image.min() >= 0 and image.max() <= 1


# ---------------------------------------------------------------- ImageList


def test_image_list_is_a_list_with_names():
    a, b = np.zeros((2, 2, 3)), np.ones((2, 2, 3))
    il = ImageList([a, b], ["a", "b"])
    assert isinstance(il, list) and len(il) == 2 and il[1] is b
    assert il.names == ["a", "b"]
    assert ImageList().names == []
    with pytest.raises(ValueError, match="2 images but 1 names"):
        ImageList([a, b], ["a"])


# ---------------------------------------------------------------- as_rgb


def test_as_rgb_uint8_scaled_by_dtype_range():
    dark = np.full((4, 5, 3), 10, dtype=np.uint8)
    out = as_rgb(dark)
    assert_rgb01(out)
    np.testing.assert_allclose(out, 10 / 255, rtol=1e-6)  # a dark 8-bit image stays dark
    assert as_rgb(np.array([[0, 255]], dtype=np.uint8)).tolist() == [[[0, 0, 0], [1, 1, 1]]]


def test_as_rgb_uint16_scaled_by_dtype_range():
    out = as_rgb(np.array([[0, 255, 65535]], dtype=np.uint16))
    assert_rgb01(out)
    np.testing.assert_allclose(out[0, :, 0], [0, 255 / 65535, 1.0], rtol=1e-6)
    assert out[0, 2, 0] == 1.0


def test_as_rgb_bool():
    out = as_rgb(np.array([[True, False]]))
    assert_rgb01(out)
    assert out[0, :, 1].tolist() == [1.0, 0.0]


def test_as_rgb_signed_integers():
    out = as_rgb(np.array([[0, 16384, 32767]], dtype=np.int16))  # scaled by the dtype's range too
    assert_rgb01(out)
    np.testing.assert_allclose(out[0, :, 0], [0, 16384 / 32767, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="neg.png: an integer image must not have negative pixel values"):
        as_rgb(np.array([[-3, 100]], dtype=np.int16), name="neg.png")


def test_as_rgb_float_kept_and_converted_to_float32(rng):
    image = rng.random((6, 7, 3))
    out = as_rgb(image)
    assert_rgb01(out)
    np.testing.assert_allclose(out, image, rtol=1e-6)
    f32 = image.astype(np.float32)
    np.testing.assert_array_equal(as_rgb(f32), f32)


@pytest.mark.parametrize("shape", [(6, 7), (6, 7, 1), (6, 7, 2)])
def test_as_rgb_gray_becomes_three_equal_channels(shape, rng):
    image = rng.random(shape)
    out = as_rgb(image)
    assert out.shape == (6, 7, 3)
    gray = image if image.ndim == 2 else image[..., 0]
    for c in range(3):
        np.testing.assert_allclose(out[..., c], gray, rtol=1e-6)


def test_as_rgb_drops_alpha(rng):
    image = rng.random((6, 7, 4))
    out = as_rgb(image)
    np.testing.assert_allclose(out, image[..., :3], rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_rgb_non_finite_raises_naming_problem(bad):
    image = np.full((3, 3, 3), 0.5)
    image[1, 1, 1] = bad
    with pytest.raises(ValueError, match="myfile.png: image contains NaN or infinite"):
        as_rgb(image, name="myfile.png")


@pytest.mark.parametrize("lo, hi", [(0, 255.0), (-0.5, 0.5), (0, 1.0001)])
def test_as_rgb_float_outside_unit_range_raises(lo, hi):
    image = np.array([[lo, hi]], dtype=np.float64)
    with pytest.raises(ValueError, match=r"float image must have values in \[0, 1\].*divide"):
        as_rgb(image)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 3, 3), (4, 4, 5), (0, 4, 3), (4, 0)])
def test_as_rgb_bad_shape_raises(shape):
    with pytest.raises(ValueError, match=r"empty|expected an H x W"):
        as_rgb(np.zeros(shape))


def test_as_rgb_non_numeric_raises():
    with pytest.raises(ValueError, match="must be numbers"):
        as_rgb(np.array([["a", "b"]]))


@given(
    arrays(
        st.sampled_from([np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32]),
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.sampled_from([1, 3, 4])),
    )
)
def test_as_rgb_integer_images_always_in_unit_range(image):
    """as_rgb promises [0, 1]: an integer image it accepts must not come out negative."""
    try:
        out = as_rgb(image)
    except ValueError as err:
        assert image.dtype.kind == "i" and image.min() < 0, err  # only negative signed input may be refused
        assert "negative" in str(err)
        return
    assert_rgb01(out)
    assert out.shape == (*image.shape[:2], 3)


# ---------------------------------------------------------------- crop_black


def test_crop_black_docstring_example():
    im = np.zeros((5, 5))
    im[1:3, 2] = 1
    assert crop_black(im).shape == (2, 1)


def test_crop_black_removes_border_keeps_inner_black(rng):
    inner = rng.uniform(0.2, 1, (6, 9, 3))
    inner[2:4, 3:5] = 0  # black inside the image is kept
    image = np.zeros((14, 20, 3))
    image[3:9, 5:14] = inner
    out = crop_black(image)
    np.testing.assert_array_equal(out, inner)
    assert np.shares_memory(out, image)  # a view, no copy


def test_crop_black_uses_every_channel_and_threshold():
    image = np.zeros((5, 5, 3))
    image[2, 3, 2] = 0.5  # one bright pixel in the blue channel only
    assert crop_black(image).shape == (1, 1, 3)
    image[0, 0, 0] = 0.05  # at the threshold: still black
    assert crop_black(image).shape == (1, 1, 3)
    assert crop_black(image, threshold=0.01).shape == (3, 4, 3)


def test_crop_black_all_black_raises_value_error_not_index_error():
    for image in (np.zeros((4, 4, 3)), np.zeros((4, 4)), np.full((3, 3), 0.05)):
        with pytest.raises(ValueError, match="entirely black"):
            crop_black(image)


def test_crop_black_bad_shape_raises():
    with pytest.raises(ValueError, match="2-D or 3-D"):
        crop_black(np.ones(5))


# ---------------------------------------------------------------- read_image / load_images on a folder


def write_png_rgb(path, h, w, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(30, 256, (h, w, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def image_folder(tmp_path):
    """A folder with every kind of file load_images meets (no corrupt file)."""
    rng = np.random.default_rng(0)
    write_png_rgb(tmp_path / "b_rgb.png", 20, 30, 1)
    Image.fromarray(rng.integers(30, 256, (25, 15, 3), dtype=np.uint8)).save(tmp_path / "a_photo.jpg", quality=90)
    Image.fromarray(rng.integers(30, 256, (12, 18), dtype=np.uint8)).save(tmp_path / "c_gray.png")
    rgba = rng.integers(30, 256, (10, 11, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent: the alpha must be dropped, not multiplied in
    Image.fromarray(rgba).save(tmp_path / "d_rgba.png")
    sixteen = np.full((9, 13), 65535, dtype=np.uint16)
    sixteen[0, 0] = 32768
    Image.fromarray(sixteen).save(tmp_path / "e_16bit.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"garbage, but hidden files are ignored")
    return tmp_path


def test_read_image_keeps_stored_values(image_folder):
    sixteen = read_image(image_folder / "e_16bit.png")
    assert sixteen.dtype == np.uint16 and sixteen.shape == (9, 13)
    assert sixteen[0, 0] == 32768 and sixteen[1, 1] == 65535
    gray = read_image(image_folder / "c_gray.png")
    assert gray.dtype == np.uint8 and gray.shape == (12, 18)
    rgba = read_image(image_folder / "d_rgba.png")
    assert rgba.shape == (10, 11, 3)


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(ImageReadError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"\x00garbage bytes, not a PNG\xff" * 10)
    with pytest.raises(ImageReadError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    # a truncated file: valid header, missing pixel data
    write_png_rgb(tmp_path / "full.png", 64, 64, 0)
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:200])
    with pytest.raises(ImageReadError, match="cut.png"):
        read_image(tmp_path / "cut.png")


def test_read_image_rejects_32_bit_values(tmp_path):
    Image.fromarray(np.array([[0, 70000]], dtype=np.int32)).save(tmp_path / "big.tif")
    with pytest.raises(ImageReadError, match="big.tif: 32-bit"):
        read_image(tmp_path / "big.tif")


def test_read_image_applies_exif_orientation(tmp_path):
    im = Image.fromarray(np.full((10, 30, 3), 200, dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    im.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_image(tmp_path / "rotated.jpg").shape == (30, 10, 3)


def test_load_images_folder(image_folder):
    with pytest.warns(UserWarning) as record:
        images = load_images(image_folder)
    assert len(record) == 1
    assert "notes.txt" in str(record[0].message)
    assert ".hidden" not in str(record[0].message)
    assert images.names == ["a_photo.jpg", "b_rgb.png", "c_gray.png", "d_rgba.png", "e_16bit.png"]
    assert images.names == sorted(images.names)
    assert isinstance(images, ImageList) and len(images) == 5
    for image in images:
        assert_rgb01(image)
    shapes = dict(zip(images.names, (im.shape for im in images), strict=True))
    assert shapes == {
        "a_photo.jpg": (25, 15, 3),
        "b_rgb.png": (20, 30, 3),
        "c_gray.png": (12, 18, 3),
        "d_rgba.png": (10, 11, 3),
        "e_16bit.png": (9, 13, 3),
    }
    gray = images[2]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    sixteen = images[4]
    assert sixteen[1, 1, 0] == 1.0  # 65535 -> 1.0, not 257
    np.testing.assert_allclose(sixteen[0, 0], 32768 / 65535, rtol=1e-6)
    rgba_file = np.asarray(Image.open(image_folder / "d_rgba.png"))
    np.testing.assert_allclose(images[3], rgba_file[..., :3] / 255, rtol=1e-6)


def test_load_images_corrupt_file_raises_naming_it(image_folder):
    (image_folder / "bad.png").write_bytes(b"this is not a PNG at all" * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ImageReadError, match="bad.png"):
            load_images(image_folder)


def test_load_images_lists_every_bad_file_at_once(image_folder):
    (image_folder / "bad.png").write_bytes(b"this is not a PNG at all" * 4)
    (image_folder / "worse.jpg").write_bytes(b"nor is this a JPEG" * 4)
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(image_folder / "black.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ImageReadError, match="3 of 8 image files") as info:
            load_images(image_folder)
    message = str(info.value)
    assert "bad.png" in message and "worse.jpg" in message and "black.png" in message
    assert "entirely black" in message


def test_load_images_skip_keeps_the_good_files(image_folder):
    (image_folder / "bad.png").write_bytes(b"this is not a PNG at all" * 4)
    with pytest.warns(UserWarning) as record:
        images = load_images(image_folder, on_error="skip")
    messages = [str(w.message) for w in record]
    assert len(messages) == 2 and "notes.txt" in messages[0] and "bad.png" in messages[1]
    assert images.names == ["a_photo.jpg", "b_rgb.png", "c_gray.png", "d_rgba.png", "e_16bit.png"]
    with pytest.raises(ValueError, match="on_error"):
        load_images(image_folder, on_error="ignore")


def test_load_images_relative_folder_error_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"relative to the working folder {tmp_path}"):
        load_images("data/own")


def test_load_images_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_images(tmp_path / "nowhere")


def test_load_images_path_is_a_file(image_folder):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        load_images(image_folder / "b_rgb.png")


def test_load_images_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.warns(UserWarning, match="notes.txt"):
        with pytest.raises(ValueError, match="no image files in"):
            load_images(tmp_path)


def test_load_images_empty_folder(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        with pytest.raises(ValueError, match="no image files"):
            load_images(tmp_path)


def test_load_images_recursive(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    write_png_rgb(tmp_path / "top.png", 8, 8, 0)
    write_png_rgb(tmp_path / "sub" / "inner.png", 8, 9, 1)
    write_png_rgb(tmp_path / "sub" / "deeper" / "deep.png", 8, 10, 2)
    write_png_rgb(tmp_path / "sub" / "another.png", 8, 11, 3)
    (tmp_path / ".git").mkdir()
    write_png_rgb(tmp_path / ".git" / "ignored.png", 8, 8, 4)
    flat = load_images(tmp_path)
    assert flat.names == ["top.png"]
    deep = load_images(tmp_path, recursive=True)
    assert deep.names == ["sub/another.png", "sub/deeper/deep.png", "sub/inner.png", "top.png"]
    assert [im.shape[1] for im in deep] == [11, 10, 9, 8]


def test_load_images_crop_and_max_side(tmp_path):
    content = np.random.default_rng(0).integers(40, 256, (60, 100, 3), dtype=np.uint8)
    framed = np.zeros((80, 130, 3), dtype=np.uint8)
    framed[10:70, 20:120] = content
    Image.fromarray(framed).save(tmp_path / "framed.png")
    assert load_images(tmp_path, max_side=None)[0].shape == (60, 100, 3)
    assert load_images(tmp_path, crop=False, max_side=None)[0].shape == (80, 130, 3)
    small = load_images(tmp_path, max_side=50)[0]
    assert small.shape == (30, 50, 3)  # longer side scaled to max_side, aspect kept
    assert_rgb01(small)
    np.testing.assert_allclose(small.mean(), (content / 255).mean(), atol=0.02)
    # images already small enough are left alone
    np.testing.assert_allclose(load_images(tmp_path, max_side=100)[0], content / 255, rtol=1e-6)


def test_load_images_all_black_file_raises_naming_it(tmp_path):
    Image.fromarray(np.zeros((5, 5, 3), dtype=np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(ValueError, match="black.png.*entirely black"):
        load_images(tmp_path)
    assert load_images(tmp_path, crop=False)[0].shape == (5, 5, 3)


def test_load_images_float_tiff_outside_unit_range_names_file(tmp_path):
    Image.fromarray(np.full((4, 4), 3.5, dtype=np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(ValueError, match=r"float.tif.*\[0, 1\]"):
        load_images(tmp_path)


# ---------------------------------------------------------------- the bundled collection


def test_collection_loads(collection):
    assert len(collection) >= 20
    assert collection.names == [name for name, _, _ in COLLECTION]
    assert len(set(collection.names)) == len(collection.names)
    for name, image in zip(collection.names, collection, strict=True):
        assert_rgb01(image)
        assert max(image.shape[:2]) <= 512, name
        assert image.flags.c_contiguous
    assert collection[0].shape == (512, 512, 3)  # astronaut, the docstring's example


def test_collection_sources():
    assert {source for _, _, source in COLLECTION} == {"scikit-image", "scikit-learn"}
    assert all(callable(load) for _, load, _ in COLLECTION)


# ---------------------------------------------------------------- load_tiles


@pytest.fixture(scope="module")
def tile_images():
    rng = np.random.default_rng(1)
    shapes = {"wide": (40, 100), "square": (64, 64), "tiny": (10, 50), "odd": (35, 47)}
    return ImageList([rng.random((*s, 3)).astype(np.float32) for s in shapes.values()], list(shapes))


def test_load_tiles_all(tile_images):
    tiles, labels = load_tiles(16, per_image=None, images=tile_images)
    counts = {"wide": 2 * 6, "square": 4 * 4, "tiny": 0, "odd": 2 * 2}
    assert tiles.shape == (sum(counts.values()), 16, 16, 3)
    assert tiles.dtype == np.float32
    assert labels.shape == (len(tiles),)
    assert {name: int((labels == name).sum()) for name in counts} == counts
    # row by row, from the top-left corner
    wide = tile_images[0]
    expected = [wide[y : y + 16, x : x + 16] for y in (0, 16) for x in range(0, 96, 16)]
    np.testing.assert_array_equal(tiles[labels == "wide"], np.stack(expected))


def test_load_tiles_per_image_limit_and_content(tile_images):
    tiles, labels = load_tiles(16, per_image=3, images=tile_images, seed=5)
    assert {name: int((labels == name).sum()) for name in tile_images.names} == {
        "wide": 3,
        "square": 3,
        "tiny": 0,
        "odd": 3,
    }
    all_tiles, all_labels = load_tiles(16, per_image=None, images=tile_images)
    for tile, label in zip(tiles, labels, strict=True):
        pool = all_tiles[all_labels == label]
        assert any(np.array_equal(tile, t) for t in pool)
    assert len({t.tobytes() for t in tiles}) == len(tiles)  # no tile twice


def test_load_tiles_deterministic_for_seed(tile_images):
    a, la = load_tiles(8, per_image=4, images=tile_images, seed=0)
    b, lb = load_tiles(8, per_image=4, images=tile_images, seed=0)
    c, lc = load_tiles(8, per_image=4, images=tile_images, seed=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(la, lc)  # same labels, other tiles
    assert not np.array_equal(a, c)


def test_load_tiles_errors(tile_images):
    with pytest.raises(ValueError, match="at least 1"):
        load_tiles(0, images=tile_images)
    with pytest.raises(ValueError, match="no image is at least 200 x 200"):
        load_tiles(200, images=tile_images)


def test_load_tiles_bundled_collection(collection):
    tiles, labels = load_tiles(128, per_image=4, images=collection)
    assert tiles.shape[1:] == (128, 128, 3) and tiles.dtype == np.float32
    assert set(labels) <= set(collection.names)
    assert labels[0] == "astronaut"
    assert all((labels == name).sum() <= 4 for name in collection.names)
    assert tiles.min() >= 0 and tiles.max() <= 1
