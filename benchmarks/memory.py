"""Peak memory of the streaming pipeline for folders of different sizes: it should not grow.

    .venv/bin/python benchmarks/memory.py                 # what memory.csv holds (about 3 min)
    .venv/bin/python benchmarks/memory.py --scale small   # the slice tests/test_streaming.py reruns

For each size N of ``SCALES``: write N PNG images (random crops and flips of the bundled
images, 192 to 512 pixels a side; :func:`helpers.streaming.write_sample_folder`)
to a temporary folder; then, in a fresh Python process, train a codebook from
the folder (:func:`helpers.streaming.fit_codebook_folder`: ``PatchCodebook.partial_fit``
on batches of 20 images, 4000 patches each) and describe every image
(:func:`helpers.streaming.describe_folder`), with one BLAS/OpenMP thread (on a
shared machine, threads that wait for each other made the steps several times slower).
That process reports its peak resident memory (``VmHWM``, what ``/usr/bin/time -v``
reports as "Maximum resident set size") after loading the libraries (a tiny
codebook fitted and one file described first), after training and after
describing, and the peak of the memory Python and NumPy allocate during each
step (:mod:`tracemalloc`).
For scale, the table also gives the memory all N images would take at once as
float32 arrays, as :func:`helpers.load_images` would hold them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from results import HERE, command, machine, peak_rss_mb, write_csv

MIN_SIDE, MAX_SIDE = 192, 512
#: Folder sizes (images) and codebook size.
SCALES = {"small": {"sizes": (50,), "k": 1024}, "full": {"sizes": (50, 500, 2000), "k": 1024}}


def child(folder: str, k: int) -> None:
    """Run in a fresh process: train and describe, print the measurements as JSON."""
    import numpy as np

    import helpers
    from helpers import streaming

    # Load every library the steps use (helpers imports lazily), so that the baseline counts them:
    # a tiny codebook fitted, and one file of the folder read and described with it.
    warm = helpers.ImageList([np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)], ["warm-up"])
    tiny = helpers.PatchCodebook(n_codes=8, n_patches=200).fit(warm)
    streaming.describe_files(helpers.images.image_files(folder)[:1], tiny)
    after_imports = peak_rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    km = helpers.PatchCodebook(n_codes=k, n_patches=4000, random_state=0)
    streaming.fit_codebook_folder(folder, km, images_per_batch=20, seed=0, progress=False)
    fit_s, after_fit, fit_traced = time.perf_counter() - start, peak_rss_mb(), tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = streaming.describe_folder(folder, km, progress=False)
    describe_s, after_describe = time.perf_counter() - start, peak_rss_mb()
    describe_traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "after_imports": after_imports,
                "after_fit": after_fit,
                "after_describe": after_describe,
                "fit_traced": fit_traced / 2**20,
                "describe_traced": describe_traced / 2**20,
                "fit_s": fit_s,
                "describe_s": describe_s,
                "described": len(result.names),
                "skipped": len(result.skipped),
                "matrix_mb": result.hists.nbytes / 2**20,
            }
        )
    )


def measure(n: int, k: int) -> dict:
    """Write a folder of n images, run the child on it, return its measurements plus the folder's sizes."""
    from PIL import Image

    from helpers import streaming

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        files = streaming.write_sample_folder(tmp, n, min_side=MIN_SIDE, max_side=MAX_SIDE, seed=0)
        write_s = time.perf_counter() - start
        disk = sum(f.stat().st_size for f in files)
        decoded = 0
        for f in files:
            with Image.open(f) as im:
                decoded += im.width * im.height * 3 * 4  # float32 RGB, as load_images holds them
        threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        out = subprocess.run(
            [sys.executable, __file__, "--child", tmp, "--k", str(k)],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | threads,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(n=n, write_s=write_s, disk_mb=disk / 2**20, decoded_mb=decoded / 2**20)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--csv", type=Path, default=HERE / "memory.csv", help="where to write the rows")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.k)
        return 0
    scale = SCALES[args.scale]
    print(f"K = {scale['k']}; images {MIN_SIDE}-{MAX_SIDE} px a side; memory in MB")
    start_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the start: {start_load}")
    print()
    print(
        "| images | PNG files | all images as float32 | peak RSS with the libraries | ... after training "
        "| ... after describing | traced peak: training | traced peak: describing | histogram matrix "
        "| training | describing |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n in scale["sizes"]:
        r = measure(n, scale["k"])
        assert r["described"] == n and r["skipped"] == 0, r
        print(
            f"| {n} | {r['disk_mb']:.0f} | {r['decoded_mb']:.0f} | {r['after_imports']:.0f} | {r['after_fit']:.0f} "
            f"| {r['after_describe']:.0f} | {r['fit_traced']:.1f} | {r['describe_traced']:.1f} "
            f"| {r['matrix_mb']:.1f} | {r['fit_s']:.1f} s | {r['describe_s']:.1f} s |",
            flush=True,
        )
        rows.append(
            {"images": n, "k": scale["k"]}
            | {key: round(v, 3) if isinstance(v, float) else v for key, v in r.items() if key != "n"}
        )
    end_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    write_csv(
        args.csv,
        rows,
        [
            command(),
            machine(),
            f"images {MIN_SIDE}-{MAX_SIDE} px a side; the steps ran in a fresh process with 1 BLAS/OpenMP thread; "
            "memory in MB (RSS: VmHWM; traced: tracemalloc), times in s",
            f"load average at the start {start_load}, at the end {end_load}",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
