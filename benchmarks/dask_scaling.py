"""Notebook 10's histogram step on a folder: the plain process against Dask workers, timed fairly.

    .venv/bin/python benchmarks/dask_scaling.py                 # what dask_scaling.csv holds (about 6 min)
    .venv/bin/python benchmarks/dask_scaling.py --scale small   # the slice tests/test_streaming.py reruns
    .venv/bin/python benchmarks/dask_scaling.py --scale 400 --append   # one more run of the 400 images
    .venv/bin/python benchmarks/dask_scaling.py --scale 48 --repeat 3   # the 48 images only, 3 rounds

For each folder size (``SCALES``) it writes that many PNG images (random crops
and flips of the bundled images, 192 to 512 pixels a side) to a temporary
folder, fits one codebook from the folder (``fit_codebook_folder``, K = 1024),
and describes the folder (:func:`helpers.streaming.describe_folder`) in each
configuration of ``CONFIGS``:

* the plain process with one BLAS/OpenMP thread, and with the default number
  (one per core): the faster of the two is the *best single process*, which
  any speed-up must be measured against;
* ``describe_folder(..., client=client)`` on a ``LocalCluster`` of 1 or 2
  worker processes with one thread each (Dask's nanny sets
  ``OMP_NUM_THREADS=1`` etc. in them), with freed memory kept for reuse
  (``KEEP_FREED_MEMORY``) or with Dask's default ``MALLOC_TRIM_THRESHOLD_``;
* 2 Dask worker threads in this process (BLAS limited to one thread, so that
  each thread works on one image, as a worker process does);
* the same tasks on the 2 worker processes, doing nothing: Dask's fixed cost per run.

Every configuration's matrix is first checked to equal the plain process's,
exactly. Then the configurations are timed in turns (one warm-up run each,
then ``--repeat`` rounds, each round running every configuration once, so
that a change in the machine's load hits all of them alike), each run with the
load average at its start and the cores other processes kept busy during it
(``others``: 0 on an idle machine). Writes one CSV row per run (``--append``:
after the rows of earlier invocations, numbered by ``run``); prints medians,
spreads and speed-ups.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import HERE, OtherLoad, command, load, machine, provenance, read_csv, write_csv
from threadpoolctl import threadpool_limits

import helpers
from helpers import streaming

#: Folder sizes (images), codebook size, timed rounds.
SCALES = {
    "small": {"sizes": (48,), "k": 64, "repeat": 1},
    "full": {"sizes": (48, 400), "k": 1024, "repeat": 5},
    "400": {"sizes": (400,), "k": 1024, "repeat": 5},  # the large folder only: fits a short quiet spell
    "48": {"sizes": (48,), "k": 1024, "repeat": 5},  # the small folder only: what a heavily loaded machine allows
}
MIN_SIDE, MAX_SIDE = 192, 512
FILES_PER_TASK = 8
#: Dask starts worker processes with MALLOC_TRIM_THRESHOLD_=65536 (give freed memory back to the OS at once).
#: Setting it also turns off glibc's adaptive mmap threshold, so every large array is a fresh mmap whose pages
#: fault in again for each image. These values let a worker keep and reuse freed memory, like any process.
KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**25}
CONFIGS = (
    "process 1 thread",
    "process BLAS threads",
    "Dask 1 worker",
    "Dask 2 workers",
    "Dask 2 workers malloc default",
    "Dask 2 threads",
    "Dask 2 workers empty tasks",
)


def cluster(n_workers: int, processes: bool = True, keep_freed: bool = True):
    """A quiet LocalCluster (no dashboard, errors only) and its client."""
    import dask
    from dask.distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)  # in-process workers log here
    environ = KEEP_FREED_MEMORY if keep_freed and processes else {}
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        local = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address="127.0.0.1:0",  # a free port: no clash with another cluster on 8787
            silence_logs=logging.ERROR,
        )
    return Client(local)


def nothing(files, codebook) -> int:
    """A task that does no work: what a run costs in Dask alone."""
    return len(files)


def runners(folder: Path, book, configs: list[str]) -> tuple[dict, list]:
    """For each configuration, a function that describes the folder (or runs the empty tasks); and the clients."""
    clients, run = {}, {}

    def local(limit):
        def go():
            with threadpool_limits(limits=limit):
                return streaming.describe_folder(folder, book, progress=False)

        return go

    def on(client, limit=None):
        def go():
            with threadpool_limits(limits=limit):
                return streaming.describe_folder(
                    folder, book, client=client, files_per_task=FILES_PER_TASK, progress=False
                )

        return go

    for config in configs:
        if config == "process 1 thread":
            run[config] = local(1)
        elif config == "process BLAS threads":
            run[config] = local(None)
        elif config == "Dask 1 worker":
            clients[config] = cluster(1)
            run[config] = on(clients[config])
        elif config == "Dask 2 workers":
            clients[config] = cluster(2)
            run[config] = on(clients[config])
        elif config == "Dask 2 workers malloc default":
            clients[config] = cluster(2, keep_freed=False)
            run[config] = on(clients[config])
        elif config == "Dask 2 threads":
            clients[config] = cluster(2, processes=False)
            run[config] = on(clients[config], limit=1)
        elif config == "Dask 2 workers empty tasks":
            client = clients.get("Dask 2 workers") or cluster(2)
            clients.setdefault("Dask 2 workers", client)
            files = helpers.images.image_files(folder)
            tasks = [files[i : i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]

            def empty(client=client, tasks=tasks):
                scattered = client.scatter(book, broadcast=True)
                return client.gather([client.submit(nothing, task, scattered, pure=False) for task in tasks])

            run[config] = empty
        else:
            raise ValueError(f"unknown configuration {config!r}; choose from {CONFIGS}")
    return run, list(clients.values())


def measure(n: int, k: int, repeat: int, configs: list[str]) -> list[dict]:
    """Rows of the CSV for one folder size."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        streaming.write_sample_folder(folder, n, min_side=MIN_SIDE, max_side=MAX_SIDE, seed=0)
        book = helpers.PatchCodebook(n_codes=k, n_patches=4000, random_state=0)
        streaming.fit_codebook_folder(folder, book, images_per_batch=16, seed=0, progress=False)
        reference = streaming.describe_folder(folder, book, progress=False)
        run, clients = runners(folder, book, configs)
        try:
            equal = {}
            for config, go in run.items():  # the check doubles as the warm-up run
                result = go()
                equal[config] = (
                    None
                    if "empty" in config
                    else bool(np.array_equal(result.hists, reference.hists) and result.names == reference.names)
                )
                assert equal[config] is not False, f"{config}: the matrix differs from the plain process's"
            rows = []
            for r in range(repeat):
                for config, go in run.items():
                    before = load()
                    with OtherLoad() as other:
                        start = time.perf_counter()
                        go()
                        seconds = time.perf_counter() - start
                    rows.append(
                        {
                            "images": n,
                            "k": k,
                            "config": config,
                            "round": r,
                            "seconds": round(seconds, 4),
                            "load": round(before, 2),
                            "others": round(other.cores, 2),
                            "patches": int(reference.hists.sum()),
                            "equal": equal[config],
                        }
                    )
                    print(
                        f"  {n} images, round {r}: {config}: {seconds:.3f} s (load {before:.2f}, "
                        f"other processes {other.cores:.2f} cores)",
                        flush=True,
                    )
        finally:
            for client in clients:
                local = client.cluster
                client.close()
                local.close()
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per run, folder size and configuration: median, min, max seconds; speed-up over the best single process."""
    out = []
    for run, n in sorted({(r.get("run", 1), r["images"]) for r in rows}):
        times, others = {}, {}
        for r in rows:
            if (r.get("run", 1), r["images"]) == (run, n):
                times.setdefault(r["config"], []).append(r["seconds"])
                others.setdefault(r["config"], []).append(r.get("others", float("nan")))
        singles = [statistics.median(times[c]) for c in CONFIGS[:2] if c in times]
        best = min(singles) if singles else float("nan")
        one_thread = statistics.median(times.get(CONFIGS[0], [float("nan")]))
        for config, t in times.items():
            median = statistics.median(t)
            out.append(
                {
                    "run": run,
                    "images": n,
                    "config": config,
                    "median": median,
                    "min": min(t),
                    "max": max(t),
                    "runs": len(t),
                    "others": statistics.median(others[config]),
                    "speedup": best / median,
                    "ceiling": best / (one_thread / 2),  # two cores at best halve the one-thread time
                }
            )
    return out


def print_summary(rows: list[dict]) -> None:
    print(
        "\n| run | images | configuration | median | min - max | rounds | other processes (cores) "
        "| speed-up over the best single process |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    table = summary(rows)
    for s in table:
        print(
            f"| {s['run']} | {s['images']} | {s['config']} | {s['median']:.3f} s | {s['min']:.3f} - {s['max']:.3f} s "
            f"| {s['runs']} | {s['others']:.2f} | {s['speedup']:.2f}x |"
        )
    for run, n in sorted({(s["run"], s["images"]) for s in table}):
        ceiling = next(s["ceiling"] for s in table if (s["run"], s["images"]) == (run, n))
        print(f"run {run}, {n} images: two cores at best halve the one-thread time: {ceiling:.2f}x over the best")
    loads = [r["load"] for r in rows]
    print(f"load average at the start of the runs: {min(loads):.2f} to {max(loads):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), help="configurations to run (default: all)")
    parser.add_argument("--csv", type=Path, default=HERE / "dask_scaling.csv", help="where to write the rows")
    parser.add_argument("--repeat", type=int, help="timed rounds (default: the scale's)")
    parser.add_argument("--append", action="store_true", help="add this run's rows to the CSV as the next run")
    parser.add_argument("--summary", action="store_true", help="print the summary of an existing CSV and stop")
    args = parser.parse_args(argv)
    if args.summary:
        print_summary(read_csv(args.csv))
        return 0
    old_rows, old_comments = [], []
    if args.append and args.csv.exists():
        old_rows = read_csv(args.csv)
        # every run keeps its own provenance line ("run N: kernel ..."); write_csv adds the newest one last
        old_comments = [
            line[2:].rstrip("\n")
            for line in open(args.csv)
            if line.startswith("# ") and not line.startswith("# kernel ")
        ]
    run = max((r["run"] for r in old_rows), default=0) + 1
    scale = SCALES[args.scale]
    about = machine()
    print(about)
    start_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the start: {start_load}", flush=True)
    started = time.perf_counter()
    rows = []
    for n in scale["sizes"]:
        rows += [{"run": run} | row for row in measure(n, scale["k"], args.repeat or scale["repeat"], args.configs)]
    write_csv(
        args.csv,
        old_rows + rows,
        [
            *old_comments,
            f"run {run}: {command()}",
            f"run {run}: {about}",
            f"run {run}: {provenance()}",
            f"run {run}: images {MIN_SIDE}-{MAX_SIDE} px a side, {FILES_PER_TASK} files per Dask task; load average "
            f"at the start {start_load}, at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"total {time.perf_counter() - started:.0f} s; others: cores kept busy by other processes during a run",
        ],
    )
    print_summary(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
