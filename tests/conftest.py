"""Shared small fixtures (synthetic images and tiny codebooks, so that the tests stay fast) and the benchmark loader."""

import functools
import importlib.util
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import helpers  # noqa: E402

settings.register_profile("helpers", max_examples=30, deadline=None, database=None)
settings.load_profile("helpers")


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """A float32 H x W x 3 image in [0, 1] with structure at several scales (not pure noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = [
        0.5 + 0.3 * np.sin(fy * y + fx * x + phase) + 0.2 * rng.random((h, w))
        for fy, fx, phase in rng.uniform(0.05, 0.6, (3, 3))
    ]
    return np.clip(np.stack(channels, axis=-1) / 1.2, 0, 1).astype(np.float32)


@pytest.fixture(scope="session")
def images() -> helpers.ImageList:
    """Three small synthetic images of different sizes (one not a multiple of 8)."""
    shapes = [(40, 48), (33, 27), (64, 64)]
    return helpers.ImageList([smooth_image(h, w, seed=i) for i, (h, w) in enumerate(shapes)], ["a", "b", "c"])


@pytest.fixture(scope="session")
def codebook(images) -> helpers.PatchCodebook:
    """A tiny fitted codebook: 16 gray 8 x 8 code vectors."""
    return helpers.PatchCodebook(n_codes=16, step=2, n_patches=600, batch_size=256).fit(images)


@pytest.fixture(scope="session")
def collection() -> helpers.ImageList:
    """The bundled collection, loaded once per session."""
    return helpers.load_images()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@functools.cache
def benchmark(script: str):
    """A script of ``benchmarks/`` imported as a module (once per session); its own imports of ``results`` work."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"benchmark_{script}", BENCHMARKS / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module
