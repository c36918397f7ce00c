"""The histogram pipeline of notebook 10 on a larger folder: one process, Dask threads, Dask processes.

    python benchmarks/dask_scaling.py           # 400 images, K = 1024
    python benchmarks/dask_scaling.py 1000 --repeat 5

Writes N images (192-512 px a side) to a temporary folder, fits one codebook
(from the folder, ``partial_fit``), then times :func:`helpers.streaming.describe_folder`
in this process, and the same work mapped over partitions of the file list
(8 per worker) with ``dask.distributed`` on a ``LocalCluster`` of two workers,
using one of them and then both:

* ``processes=True``: worker processes with one thread each (Dask's nanny
  sets ``OMP_NUM_THREADS=1`` etc. in them), as Dask starts them by default;
* the same, with ``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_``
  raised in the workers (see ``KEEP_FREED_MEMORY``);
* ``processes=False``: worker threads inside this process (BLAS and OpenMP
  limited to one thread, so that each Dask thread works on one image at a
  time, as a worker process does).

Every Dask result is checked to equal the single-process matrix first. Times
are the median of ``--repeat`` runs after a warm-up; cluster start-up and
shut-down are printed separately.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

import numpy as np
from run import median_time  # benchmarks/run.py, next to this script
from threadpoolctl import threadpool_info, threadpool_limits

from helpers import images as helpers_images
from helpers import streaming

PARTITIONS_PER_WORKER = 8
#: Dask starts worker processes with MALLOC_TRIM_THRESHOLD_=65536 (give freed memory back to the OS at once).
#: Setting it also turns off glibc's adaptive mmap threshold, so every large array is a fresh mmap, and its
#: pages fault in again for each image. These values let a worker keep and reuse freed memory, like any process.
KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**25}


def dask_runs(folder: str, km, reference: np.ndarray, repeat: int, processes: bool, keep_freed: bool = False):
    """(label, seconds) on 1 and on 2 workers of one LocalCluster."""
    import dask
    from dask.distributed import Client, LocalCluster

    environ = KEEP_FREED_MEMORY if keep_freed else {}
    files, _ = helpers_images.image_files(folder)
    start = time.perf_counter()
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None, silence_logs=logging.ERROR
        )
    client = Client(cluster)
    started = time.perf_counter() - start
    workers = list(client.scheduler_info()["workers"])
    km_future = client.scatter(km, broadcast=True)
    rows = []
    try:
        for on in (workers[:1], workers):
            parts = [list(p) for p in np.array_split(np.array(files, dtype=object), PARTITIONS_PER_WORKER * len(on))]

            def run(on=on, parts=parts) -> np.ndarray:
                futures = client.map(
                    streaming.describe_files, parts, km=km_future, root=folder, progress=False, workers=on, pure=False
                )
                return np.vstack([p.hists for p in client.gather(futures)])

            assert np.array_equal(run(), reference), "the Dask matrix differs from the single-process one"
            if processes:
                label = f"Dask, {len(on)} worker process{'es' if len(on) > 1 else ''}"
                label += ", freed memory kept" if keep_freed else ", Dask's default memory settings"
            else:
                label = f"Dask, {len(on)} thread{'s' if len(on) > 1 else ''} in this process"
            rows.append((label, median_time(run, repeat)))
    finally:
        start = time.perf_counter()
        client.close()
        cluster.close()
        closed = time.perf_counter() - start
    print(f"  LocalCluster(processes={processes}): start {started:.1f} s, close {closed:.1f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=400, help="number of images (default 400)")
    parser.add_argument("--k", type=int, default=1024, help="codebook size (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per configuration (default 3)")
    args = parser.parse_args(argv)
    threads = max(i["num_threads"] for i in threadpool_info())
    print(f"{args.n} images, 192-512 px a side, K = {args.k}; {os.cpu_count()} logical cores")
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        streaming.write_sample_folder(folder, args.n, min_side=192, max_side=512, seed=0)
        km = streaming.fit_codebook_folder(folder, args.k, patches_per_image=100, seed=0, progress=False)
        reference = streaming.describe_folder(folder, km, progress=False).hists

        def describe() -> None:
            streaming.describe_folder(folder, km, progress=False)

        with threadpool_limits(limits=1):
            rows = [("one process, 1 thread", median_time(describe, args.repeat))]
        rows.append((f"one process, {threads} BLAS/OpenMP threads", median_time(describe, args.repeat)))
        rows += dask_runs(folder, km, reference, args.repeat, processes=True)
        rows += dask_runs(folder, km, reference, args.repeat, processes=True, keep_freed=True)
        with threadpool_limits(limits=1):
            rows += dask_runs(folder, km, reference, args.repeat, processes=False)
    base = rows[0][1]
    print()
    print("| configuration | time | images/s | speedup over one process, 1 thread |")
    print("|---|---:|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} s | {args.n / seconds:.1f} | {base / seconds:.2f}x |")
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
