"""helpers.compression and helpers.coder: the anchors, the range coding, DPCM of block means, the VQ coder's bytes."""

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from helpers import coder as vq
from helpers import compression

from .conftest import smooth_image

ROOT = Path(__file__).resolve().parents[1]


def test_gray8_rounds_to_8_bit_levels_once():
    g = compression.gray8(smooth_image(20, 30, seed=3))
    levels = g.astype(np.float64) * 255
    assert np.abs(levels - np.round(levels)).max() < 1e-4 and len(np.unique(np.round(levels))) > 20
    assert np.array_equal(compression.gray8(g), g)


@pytest.mark.parametrize(
    ("codec", "setting"),
    [("JPEG", 20), ("JPEG, half size", 20), ("JPEG 2000", 0.5), ("WebP", 30), ("AVIF", 30), ("JPEG (mozjpeg)", 20)],
)
def test_anchor_bytes_are_the_file_that_decodes_to_the_result(codec, setting):
    gray = compression.gray8(smooth_image(48, 64, seed=1))
    decoded, data = compression.anchor_roundtrip(gray, codec, setting)
    assert decoded.shape == (48, 64) and decoded.dtype == np.float32
    if codec != "JPEG, half size":  # the file alone gives the decoded image
        with Image.open(io.BytesIO(data)) as im:
            assert np.array_equal(np.asarray(im.convert("L")), np.round(decoded * 255).astype(np.uint8))
    assert 20 < compression.scores(gray, decoded)[0] < 60


def test_jpeg_keeps_the_smaller_of_baseline_and_progressive():
    pixels = np.round(compression.gray8(smooth_image(64, 64, seed=2)) * 255).astype(np.uint8)
    sizes = []
    for progressive in (False, True):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=10, optimize=True, progressive=progressive)
        sizes.append(len(buffer.getvalue()))
    assert len(compression.anchor_roundtrip(pixels / 255, "JPEG", 10)[1]) == min(sizes)


def test_mozjpeg_writes_progressive_trellis_quantised_files(tmp_path):
    import jpeglib

    pixels = np.round(compression.gray8(smooth_image(64, 64, seed=2)) * 255).astype(np.uint8)
    data = compression.anchor_roundtrip(pixels / 255, "JPEG (mozjpeg)", 30)[1]
    assert b"\xff\xc2" in data and b"\xff\xc0" not in data  # progressive, not baseline
    jpeglib.version.set("mozjpeg403")
    written = {}
    for sign in "+-":
        path = tmp_path / f"{sign}.jpg"
        flags = [f"{sign}TRELLIS_QUANT", f"{sign}TRELLIS_QUANT_DC", "+FORCE_BASELINE"]
        jpeglib.from_spatial(pixels[..., None]).write_spatial(str(path), qt=30, flags=flags)
        written[sign] = path.read_bytes()
    assert data == written["+"] != written["-"]  # trellis quantisation is on by default


def _dqt_precisions(data: bytes) -> list[int]:
    """The Pq field (0: 8-bit, 1: 16-bit) of every quantisation table in a JPEG file's DQT segments."""
    precisions, at = [], 2
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if data[at + 1] == 0xDB:
            table = at + 4
            while table < at + 2 + length:
                precisions.append(data[table] >> 4)
                table += 1 + 64 * (1 + (data[table] >> 4))
        at += 2 + length
    return precisions


@pytest.mark.parametrize("quality", [1, 5, 30, 60])
def test_mozjpeg_anchor_keeps_8_bit_tables_as_t81_requires(quality, tmp_path):
    import jpeglib

    pixels = np.round(compression.gray8(smooth_image(64, 64, seed=2)) * 255).astype(np.uint8)
    data = compression.anchor_roundtrip(pixels / 255, "JPEG (mozjpeg)", quality)[1]
    assert _dqt_precisions(data) and set(_dqt_precisions(data)) == {0}
    if quality <= 30:  # without +FORCE_BASELINE mozjpeg writes 16-bit tables (Pq = 1) at these qualities
        jpeglib.version.set("mozjpeg403")
        path = tmp_path / "default.jpg"
        jpeglib.from_spatial(pixels[..., None]).write_spatial(str(path), qt=quality)
        assert 1 in _dqt_precisions(path.read_bytes())


def test_jpeg_scan_bytes_excludes_every_marker_segment():
    _, data = compression.anchor_roundtrip(smooth_image(64, 64, seed=3), "JPEG", 50)
    scan = compression.jpeg_scan_bytes(data)
    assert 0 < scan < len(data)
    with pytest.raises(ValueError, match="not a JPEG"):
        compression.jpeg_scan_bytes(b"\x89PNG")


def test_anchor_rejects_bad_settings():
    with pytest.raises(ValueError, match="quality"):
        compression.anchor_roundtrip(np.zeros((8, 8)), "JPEG", 0)
    with pytest.raises(ValueError, match="codec"):
        compression.anchor_roundtrip(np.zeros((8, 8)), "GIF", 1)


def _range_coded(streams) -> bytes:
    import constriction

    encoder = constriction.stream.queue.RangeEncoder()
    for symbols, prior, increment in streams:
        vq.encode_adaptive(encoder, symbols, prior, increment)
    return vq._to_bytes(encoder.get_compressed())


def _range_decoded(data: bytes, streams) -> list[list[int]]:
    import constriction

    decoder = constriction.stream.queue.RangeDecoder(vq._from_bytes(data))
    return [vq.decode_adaptive(decoder, n, prior, increment).tolist() for n, prior, increment in streams]


@given(
    st.lists(st.integers(0, 5), min_size=0, max_size=300),
    st.lists(st.integers(1, 50), min_size=6, max_size=6),
    st.integers(1, 40),
)
def test_adaptive_range_coding_round_trips_near_the_ideal_code_length(symbols, prior, increment):
    data = _range_coded([(symbols, prior, increment)])
    assert _range_decoded(data, [(len(symbols), prior, increment)]) == [symbols]
    counts, ideal = np.array(prior, dtype=float), 0.0  # -log2 of each symbol's probability under the adaptive model
    for s in symbols:
        ideal -= np.log2(counts[s] / counts.sum())
        counts[s] += increment
    assert 8 * len(data) <= 1.001 * ideal + 32  # the range coder's last word at most


def test_adaptive_streams_share_one_byte_string():
    data = _range_coded([([3, 3, 3, 0], [1] * 4, 16), ([1, 0, 1], [5, 1], 16)])
    assert _range_decoded(data, [(4, [1] * 4, 16), (3, [5, 1], 16)]) == [[3, 3, 3, 0], [1, 0, 1]]
    with pytest.raises(ValueError, match="symbols must lie"):
        _range_coded([([4], [1] * 4, 16)])
    with pytest.raises(ValueError, match="prior must be"):
        _range_coded([([0], [0, 1], 16)])


@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**31))
def test_dpcm_of_block_means_decodes_exactly(h, w, seed):
    levels = np.random.default_rng(seed).integers(0, 64, (h, w))
    residuals = levels - vq.med_predict(levels)
    assert np.array_equal(vq._med_reconstruct(residuals), levels)


@pytest.fixture(scope="module")
def coders(images):
    grays = [compression.gray8(im) for im in images]
    settings = [{"means": None}, {"means": "block"}, {"means": "smooth", "n_codes2": 8}]
    return [compression.PatchCoder(n_codes=16, max_iter=2, batch_size=256, **s).fit(grays) for s in settings]


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_vq_decoder_needs_only_the_bytes(coders, index, lam):
    coder, gray = coders[index], compression.gray8(smooth_image(37, 45, seed=9))
    data, intended = coder._encode(gray, lam)
    decoded = coder.decode(data)
    assert decoded.shape == (37, 45) and np.array_equal(decoded, intended)
    assert len(data) > vq._HEADER.size


def test_vq_rate_falls_with_lam(coders):
    gray = compression.gray8(smooth_image(64, 64, seed=4))
    sizes = [len(coders[2].encode(gray, lam)) for lam in (0.0, 0.01, 1.0)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_vq_coder_errors(coders):
    with pytest.raises(ValueError, match="not fitted"):
        compression.PatchCoder().encode(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="other settings"):
        coders[0].decode(coders[1].encode(np.zeros((8, 8))))
    with pytest.raises(ValueError, match="mean_step"):
        coders[1].encode(np.zeros((8, 8)), 0.0, mean_step=0)
    with pytest.raises(ValueError, match="block size"):
        compression.PatchCoder(r=3)


def test_vq_coder_with_flips_and_rotations(images):
    grays = [compression.gray8(im) for im in images]
    coder = compression.PatchCoder(n_codes=16, max_iter=1, batch_size=256, augment=True).fit(grays)
    plain = compression.PatchCoder(n_codes=16, max_iter=1, batch_size=256).fit(grays)
    assert coder.n_train_ == 8 * plain.n_train_  # 8 flips and rotations, each with as many blocks
    data, intended = coder._encode(grays[0], 0.01)
    assert np.array_equal(coder.decode(data), intended)


def test_interpolation_leaves_wide_gaps_blank():
    rates, values = [0.1, 0.12, 0.3, 0.35], [20.0, 21.0, 30.0, 31.0]
    got = compression.value_at(rates, values, [0.11, 0.12, 0.2, 0.32, 0.4])
    assert got[:2].tolist() == [20.5, 21.0] and np.isnan(got[2]) and got[3] == pytest.approx(30.4)
    assert np.isnan(got[4])
    assert not np.isnan(compression.value_at(rates, values, 0.2, max_gap=3))
    assert compression.rate_at(rates, values, 20.5) == pytest.approx(0.11)
    assert np.isnan(compression.rate_at(rates, values, 25.0))  # reached only across the gap 0.12 -> 0.3
    assert compression.rate_at(rates, values, 30.5) == pytest.approx(0.325)


def test_curve_frontier_drops_points_another_point_beats():
    table = {
        "codec": np.array(["A"] * 4),
        "image": np.array(["x"] * 4),
        "bpp": np.array([0.3, 0.1, 0.2, 0.4]),
        "psnr": np.array([29.0, 27.0, 30.0, 31.0]),
    }
    assert [v.tolist() for v in compression.curve(table, "A", "x")] == [[0.1, 0.2, 0.3, 0.4], [27, 30, 29, 31]]
    assert [v.tolist() for v in compression.curve(table, "A", "x", frontier=True)] == [[0.1, 0.2, 0.4], [27, 30, 31]]


def test_plot_rd_marks_measured_points_and_cuts_off_none():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    curves = {"A": ([0.01, 0.05, 0.1, 0.5], [10.0, 20.0, 25.0, 30.0]), "B": ([0.1, 0.2], [24.0, 26.0])}
    compression.plot_rd(ax, curves, {"A": ("k", "-", "a"), "B": ("C1", "--", "b")}, bold=("A",))
    assert [line.get_marker() for line in ax.lines] == [".", "."] and ax.get_xscale() == "log"
    assert ax.lines[0].get_linewidth() > ax.lines[1].get_linewidth()
    low, high = ax.get_ylim()
    assert 10 < low < 20 and high > 30  # A at 0.02 bpp (12.5) is shown, its point at 0.01 bpp is outside
    plt.close(fig)
