"""Shared small fixtures: synthetic images, patches and tiny codebooks, so that tests stay fast.

The Agg backend is selected here, before anything imports ``matplotlib.pyplot``
(``helpers.plotting`` does so on import).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import helpers  # noqa: E402

settings.register_profile("helpers", max_examples=40, deadline=None, database=None)
settings.load_profile("helpers")


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """A float32 H x W x 3 image in [0, 1] with structure at several scales (not pure noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = []
    for _ in range(3):
        fy, fx, phase = rng.uniform(0.05, 0.6, size=3)
        wave = 0.5 + 0.3 * np.sin(fy * y + fx * x + phase)
        channels.append(wave + 0.2 * rng.random((h, w)))
    image = np.stack(channels, axis=-1) / 1.2
    return np.clip(image, 0, 1).astype(np.float32)


@pytest.fixture(scope="session", autouse=True)
def single_openmp_thread():
    """One OpenMP thread for k-means: the tiny fits here are 10-100x slower when threads spin on a busy machine."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def images() -> helpers.ImageList:
    """Three small synthetic images of different sizes (one not a multiple of 8)."""
    shapes = [(40, 48), (33, 27), (64, 64)]
    return helpers.ImageList(
        [smooth_image(h, w, seed=i) for i, (h, w) in enumerate(shapes)],
        [f"synthetic{i}" for i in range(len(shapes))],
    )


@pytest.fixture(scope="session")
def gray_patches8(images) -> np.ndarray:
    """600 gray 8 x 8 patches sampled from the synthetic images."""
    return helpers.sample_patches(images, n=600, r=8, step=2, seed=0)


@pytest.fixture(scope="session")
def codebook8(gray_patches8):
    """A tiny fitted codebook (k = 16) of gray 8 x 8 patches."""
    return helpers.fit_codebook(gray_patches8, k=16, seed=0, batch_size=256)


@pytest.fixture(scope="session")
def collection() -> helpers.ImageList:
    """The bundled collection, loaded once for the whole session (about a second)."""
    return helpers.load_images()


@pytest.fixture(scope="session")
def make_image():
    """The :func:`smooth_image` factory, for tests that need images of given sizes."""
    return smooth_image


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def close_figures():
    """Close every Matplotlib figure a test opened."""
    yield
    plt.close("all")
