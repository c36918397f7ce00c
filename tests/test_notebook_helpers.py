"""Regression tests for fixes made to helpers while writing notebooks 06 and 09."""

import numpy as np
from skimage.feature import corner_harris

from helpers import corner_positions


def weak_square(size: int = 64, lo: int = 24, hi: int = 40, contrast: float = 0.1) -> np.ndarray:
    """A mid-gray image with one faint square: its four corners are the only real corners."""
    image = np.full((size, size, 3), 0.5, dtype=np.float32)
    image[lo:hi, lo:hi] = 0.5 + contrast
    return image


def test_unpadded_harris_is_strongest_at_the_image_border():
    """The artefact the fix removes: zero padding makes the image's own corners score highest."""
    response = corner_harris(weak_square().mean(axis=2))
    y, x = np.unravel_index(response.argmax(), response.shape)
    assert min(y, x, 63 - y, 63 - x) < 4
    assert response.max() > 50 * response[8:-8, 8:-8].max()  # so threshold_rel=0.02 rejected every real corner


def test_corner_positions_threshold_ignores_the_border():
    """The faint square's corners are found: the relative threshold refers to real corners only."""
    found = sorted(map(tuple, corner_positions(weak_square(), r=8).tolist()))
    # Harris peaks at pixels 24 and 39 (the square's first and last row/column); patches start r // 2 before
    assert found == [(20, 20), (20, 35), (35, 20), (35, 35)]


def test_corner_positions_flat_image_has_no_corners():
    assert corner_positions(np.full((32, 32, 3), 0.3, dtype=np.float32)).shape == (0, 2)


def test_corner_positions_tiny_image_still_works():
    image = np.zeros((9, 9, 3), dtype=np.float32)
    image[4:, 4:] = 1.0
    positions = corner_positions(image, r=8)
    assert positions.ndim == 2 and positions.shape[1] == 2
    assert ((positions >= 0) & (positions <= 1)).all()
