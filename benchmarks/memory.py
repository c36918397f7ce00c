"""Peak memory of the streaming pipeline for folders of different sizes: it should not grow.

    python benchmarks/memory.py 500 2000          # one row per folder size
    python benchmarks/memory.py 500 --k 256       # a smaller codebook

For each size N: write N PNG images (random crops and flips of the bundled
images, 192 to 512 pixels a side; :func:`helpers.streaming.write_sample_folder`)
to a temporary folder; then, in a fresh Python process, train a codebook from
the folder (:func:`helpers.streaming.fit_codebook_folder`, ``partial_fit`` on
batches) and describe every image (:func:`helpers.streaming.describe_folder`).
That process reports its peak resident memory (``VmHWM``, what ``/usr/bin/time -v``
reports as "Maximum resident set size") after the imports, after training and
after describing, and the peak of the memory Python and NumPy allocate during
each step (:mod:`tracemalloc`).
For scale, the table also gives the memory all N images would take at once as
float32 arrays, as :func:`helpers.load_images` would hold them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

MIN_SIDE, MAX_SIDE = 192, 512


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux: ``VmHWM`` of ``/proc/self/status``. Not ``ru_maxrss``: on Linux that
    survives ``exec``, so a child started by a big parent would start from the
    parent's size. Elsewhere: ``ru_maxrss`` (KB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        scale = 2**20 if sys.platform == "darwin" else 2**10
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(folder: str, k: int) -> None:
    """Run in a fresh process: train and describe, print the measurements as JSON."""
    import helpers  # noqa: F401  (imports count in the baseline)
    from helpers import streaming

    after_imports = peak_rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    km = streaming.fit_codebook_folder(folder, k, patches_per_image=200, batch_size=4096, seed=0, progress=False)
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
        out = subprocess.run(
            [sys.executable, __file__, "--child", tmp, "--k", str(k)], capture_output=True, text=True, check=True
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(n=n, write_s=write_s, disk_mb=disk / 2**20, decoded_mb=decoded / 2**20)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[500, 2000], help="numbers of images (default 500 2000)")
    parser.add_argument("--k", type=int, default=1024, help="codebook size (default 1024)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.k)
        return 0
    print(f"K = {args.k}; images {MIN_SIDE}-{MAX_SIDE} px a side; memory in MB")
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(
        "| images | PNG files | all images as float32 | peak RSS after imports | ... after training "
        "| ... after describing | traced peak: training | traced peak: describing | histogram matrix "
        "| training | describing |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        r = measure(n, args.k)
        assert r["described"] == n and r["skipped"] == 0, r
        print(
            f"| {n} | {r['disk_mb']:.0f} | {r['decoded_mb']:.0f} | {r['after_imports']:.0f} | {r['after_fit']:.0f} "
            f"| {r['after_describe']:.0f} | {r['fit_traced']:.1f} | {r['describe_traced']:.1f} "
            f"| {r['matrix_mb']:.1f} | {r['fit_s']:.1f} s | {r['describe_s']:.1f} s |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
