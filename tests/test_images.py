"""helpers.images: checking arrays, cropping frames, reading files and folders as a self-learner's photos are."""

import os
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.images import IMAGE_SUFFIXES, ImageReadError, as_rgb, crop_black, image_files, load_image, read_image


def night_photo(h=512, w=512, seed=0) -> np.ndarray:
    """A dark photograph: dark sky (2-12 / 255) with sensor noise, a few street lights, one lit window."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None, None]
    image = 0.008 + 0.03 * y + rng.normal(0, 0.006, (h, w, 3))
    image[200:300, 150:350] += 0.3  # the brightest window
    image[rng.integers(0, h, 20), rng.integers(0, w, 20)] = 0.9
    return np.clip(image, 0, 1).astype(np.float32)


# ---- as_rgb: the one check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0, 255]], np.uint8), [0, 1]),
        (np.array([[0, 65535]], np.uint16), [0, 1]),
        (np.array([[False, True]]), [0, 1]),
        (np.array([[0.0, 0.25]], np.float64), [0, 0.25]),
    ],
)
def test_as_rgb_scales_by_dtype_and_makes_three_channels(array, expected):
    out = as_rgb(array)
    assert out.shape == (1, 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, 0], expected)
    assert np.array_equal(out[..., 0], out[..., 2])


def test_as_rgb_dark_8_bit_image_stays_dark():
    assert as_rgb(np.array([[0, 1], [2, 1]], np.uint8)).max() == pytest.approx(2 / 255)


@pytest.mark.parametrize("channels", [2, 4])
def test_as_rgb_composites_transparency_on_white(channels):
    image = np.zeros((1, 3, channels), np.uint8)
    image[0, :, -1] = [0, 128, 255]  # transparent, half, opaque black
    out = as_rgb(image)
    np.testing.assert_allclose(out[0, :, 0], [1, 1 - 128 / 255, 0], atol=1e-6)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0.5, np.nan]]), "NaN or infinite"),
        (np.array([[0.5, np.inf]]), "NaN or infinite"),
        (np.array([[0.5, 2.0]]), "must lie in \\[0, 1\\]"),
        (np.array([[-1, 3]], np.int16), "negative"),
        (np.zeros((4, 4, 5)), "shape"),
        (np.zeros((0, 4)), "empty"),
        (np.array([["a"]]), "numbers"),
    ],
)
def test_as_rgb_refuses_bad_arrays_naming_them(array, message):
    with pytest.raises(ImageReadError, match=f"^holiday.jpg: .*{message}"):
        as_rgb(array, name="holiday.jpg")


# ---- every entry point goes through as_rgb ---------------------------------------------------------------

ENTRY_POINTS = {
    "patches": lambda im, cb: helpers.patches(im),
    "patches_at": lambda im, cb: helpers.patches_at(im, [[0, 0]]),
    "sample_patches": lambda im, cb: helpers.sample_patches([im], 4),
    "corner_positions": lambda im, cb: helpers.corner_positions(im),
    "transform": lambda im, cb: cb.transform([im]),
    "encode": lambda im, cb: cb.encode(im),
    "patchcode": lambda im, cb: helpers.patchcode(im, cb),
    "patchhist": lambda im, cb: helpers.patchhist(im, cb),
    "block_means": lambda im, cb: helpers.block_means(im),
    "colour_hists": lambda im, cb: helpers.colour_hists([im]),
    "gray_hists": lambda im, cb: helpers.gray_hists([im]),
    "lbp_hists": lambda im, cb: helpers.lbp_hists([im]),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_nan_pixels(entry, codebook):
    image = np.full((16, 16, 3), 0.5)
    image[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ENTRY_POINTS[entry](image, codebook)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_takes_gray_and_8_bit_images_as_their_float_rgb(entry, codebook, images):
    rgb = np.repeat(np.round(images[0].mean(axis=2) * 255)[..., None], 3, axis=2).astype(np.uint8)
    as_float = rgb.astype(np.float32) / 255
    for other in (rgb[..., 0], rgb):
        np.testing.assert_allclose(ENTRY_POINTS[entry](other, codebook), ENTRY_POINTS[entry](as_float, codebook))


# ---- ImageList ---------------------------------------------------------------------------------------------


def test_image_list_slices_keep_names_and_names_index():
    images = helpers.ImageList([np.zeros((2, 2, 3))] * 3, ["a", "b", "c"])
    part = images[::2]
    assert isinstance(part, helpers.ImageList) and part.names == ["a", "c"] and len(part) == 2
    assert images["b"] is images[1]
    with pytest.raises(KeyError, match="no image named 'x'"):
        images["x"]
    with pytest.raises(ValueError, match="2 images but 1 names"):
        helpers.ImageList([1, 2], ["a"])


# ---- crop_black: frames only ----------------------------------------------------------------------------------


def test_crop_black_removes_a_black_frame_with_jpeg_noise(rng):
    content = rng.uniform(0.2, 0.9, (50, 60, 3))
    framed = np.zeros((70, 100, 3))
    framed[10:60, 25:85] = content
    framed[:10] += rng.uniform(0, 0.015, (10, 100, 3))  # compression noise in the frame, up to 4 / 255
    assert np.array_equal(crop_black(framed), content)


def test_crop_black_keeps_a_dark_photo_whole():
    photo = night_photo()
    assert (photo <= 0.05).all(axis=2).mean() > 0.7  # most pixels are darker than the old threshold
    assert crop_black(photo).shape == photo.shape


def test_crop_black_never_refuses_an_image():
    assert crop_black(np.zeros((8, 8, 3))).shape == (8, 8, 3)
    assert crop_black(np.full((8, 8), 0.02)).shape == (8, 8)


def test_crop_black_keeps_black_inside_the_image():
    image = np.full((10, 10), 0.5)
    image[3:7, 3:7] = 0
    image[:, 0] = 0
    assert crop_black(image).shape == (10, 9)


def test_crop_black_on_the_collection_only_trims_retina(collection):
    from helpers.images import COLLECTION

    shapes = {name: (as_rgb(load()).shape, crop_black(as_rgb(load())).shape) for name, load in COLLECTION}
    assert {name: s for name, s in shapes.items() if s[0] != s[1]} == {"retina": ((1411, 1411, 3), (1397, 1395, 3))}


# ---- files ---------------------------------------------------------------------------------------------------------


def write(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return path


@pytest.fixture
def folder(tmp_path, rng):
    for i in range(3):
        write(tmp_path / f"photo{i}.png", (rng.random((40, 50, 3)) * 255).astype(np.uint8))
    return tmp_path


def test_read_image_keeps_16_bits_and_composites_transparency(tmp_path):
    sixteen = write(tmp_path / "deep.png", np.array([[0, 1000, 65535]], np.uint16))
    assert read_image(sixteen).dtype == np.uint16
    np.testing.assert_allclose(load_image(sixteen, crop=False)[0, :, 0], [0, 1000 / 65535, 1], rtol=1e-6)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # one opaque red pixel, the rest transparent black
    image = load_image(write(tmp_path / "logo.png", rgba), crop=False)
    assert image[0, 0].tolist() == [1, 0, 0] and (image[1] == 1).all()


def test_read_image_palette_with_transparency_is_white(tmp_path):
    im = Image.new("P", (4, 4), 0)
    im.putpalette([0, 0, 0, 255, 0, 0])
    im.info["transparency"] = 0
    im.putpixel((0, 0), 1)
    path = tmp_path / "icon.gif"
    im.save(path, transparency=0)
    image = load_image(path, crop=False)
    assert image[0, 0].tolist() == [1, 0, 0] and (image[1:] == 1).all()


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path, rng):
    big = (rng.random((1500, 2000, 3)) * 255).astype(np.uint8)
    path = write(tmp_path / "phone.jpg", big, quality=80)
    reduced = read_image(path, max_side=256)
    assert reduced.shape == (375, 500, 3)  # draft: 1/4 of each side, both still >= 256
    assert load_image(path, max_side=256).shape == (192, 256, 3)


def test_large_png_is_reduced_before_resizing(tmp_path, rng):
    path = write(tmp_path / "scan.png", (rng.random((1200, 1600)) * 255).astype(np.uint8))
    assert read_image(path, max_side=100).shape == (150, 200)  # reduced by 8; long side >= 2 * 100


def test_read_image_applies_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.new("RGB", (40, 20), "white").save(path, exif=exif)
    assert read_image(path).shape == (40, 20, 3)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("broken.png", b"not a png", "not a readable image"), ("cut.jpg", None, "could not be decoded")],
)
def test_read_image_names_the_file_and_the_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is None:  # a truncated JPEG
        full = write(tmp_path / "full.jpg", np.full((64, 64, 3), 100, np.uint8))
        content = full.read_bytes()[:300]
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=f"{name}: {reason}"):
        read_image(path)


def test_broken_link_is_reported_like_an_unreadable_file(folder):
    os.symlink(folder / "gone.png", folder / "link.png")
    assert [p.name for p in image_files(folder)] == ["link.png", "photo0.png", "photo1.png", "photo2.png"]
    with pytest.warns(UserWarning, match="link.png: a broken link"):
        loaded = helpers.load_images(folder)
    assert loaded.names == ["photo0.png", "photo1.png", "photo2.png"]
    assert loaded.skipped == {"link.png": "a broken link"}


def test_load_images_expands_home(folder, monkeypatch):
    monkeypatch.setenv("HOME", str(folder.parent))
    assert helpers.load_images(f"~/{folder.name}").names == ["photo0.png", "photo1.png", "photo2.png"]


def test_folder_with_images_only_in_subfolders_says_how_to_include_them(tmp_path, rng):
    (tmp_path / "2024").mkdir()
    write(tmp_path / "2024" / "a.png", (rng.random((20, 20, 3)) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="its subfolders hold 1: pass recursive=True"):
        helpers.load_images(tmp_path)
    assert helpers.load_images(tmp_path, recursive=True).names == ["2024/a.png"]


def test_load_images_skips_a_bad_file_by_default_and_keeps_the_others(folder):
    (folder / "photo1.png").write_bytes(b"garbage")
    (folder / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning) as caught:
        loaded = helpers.load_images(folder)
    messages = [str(w.message) for w in caught]
    assert any("notes.txt" in m for m in messages) and any("photo1.png: not a readable image" in m for m in messages)
    assert loaded.names == ["photo0.png", "photo2.png"] and list(loaded.skipped) == ["notes.txt", "photo1.png"]


def test_load_images_raise_names_every_bad_file(folder):
    (folder / "photo0.png").write_bytes(b"garbage")
    (folder / "photo2.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="2 of 3 image files") as err:
        helpers.load_images(folder, on_error="raise")
    assert "photo0.png" in str(err.value) and "photo2.png" in str(err.value)


def test_load_images_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        helpers.load_images(tmp_path / "nope")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(NotADirectoryError):
        helpers.load_images(tmp_path / "a.txt")
    with warnings.catch_warnings(), pytest.raises(ValueError, match="no image files"):
        warnings.simplefilter("ignore")
        helpers.load_images(tmp_path)


def test_load_images_loads_a_dark_photo_whole(tmp_path):
    path = write(tmp_path / "night.png", np.round(night_photo() * 255).astype(np.uint8))
    assert helpers.load_images(tmp_path)[0].shape == (512, 512, 3)
    assert load_image(path).shape == (512, 512, 3)


def test_load_images_shows_progress_for_long_loads_only(folder, capsys):
    helpers.load_images(folder)
    assert capsys.readouterr().err == ""
    helpers.load_images(folder, progress=True)
    assert "loading" in capsys.readouterr().err


def test_collection(collection):
    assert len(collection) == 21 and collection.names[-2:] == ["china", "flower"]
    assert all(im.dtype == np.float32 and im.shape[2] == 3 and max(im.shape) <= 512 for im in collection)
    assert collection["retina"].shape[:2] == (512, 511)  # its frame trimmed (1397 x 1395), then scaled


def test_every_format_pillow_writes_under_a_listed_suffix_is_loaded(tmp_path):
    from PIL import Image

    written = []
    for suffix in sorted(IMAGE_SUFFIXES):
        try:
            Image.new("RGB", (16, 12), (200, 100, 50)).save(tmp_path / f"x{suffix}")
            written.append(f"x{suffix}")
        except (KeyError, OSError, ValueError):  # a format this Pillow cannot write
            pass
    assert {"x.png", "x.jpg", "x.tif", "x.webp"} <= set(written)
    loaded = helpers.load_images(tmp_path)
    assert sorted(loaded.names) == sorted(written) and all(im.shape == (12, 16, 3) for im in loaded)
