"""A codebook trained on Dask workers against ``PatchCodebook.fit``: held-out error over seeds.

    .venv/bin/python benchmarks/dask_codebook.py                 # what dask_codebook.csv holds (about 11 min)
    .venv/bin/python benchmarks/dask_codebook.py --scale small   # the slice tests/test_streaming.py reruns

Five of the 21 bundled images (``HELD_OUT``) are kept out; a folder of random
crops and flips of the other 16 is written to a temporary folder. For each
setting of ``SCALES`` and each seed, three codebooks with the same K, patch
size and normalisation (8 x 8 gray patches, ``norm="none"``, as the lecture's)
are trained on that folder:

* ``fit``: :meth:`helpers.PatchCodebook.fit` on all images loaded at once,
  drawing as many patches as one epoch of the two others (MiniBatchKMeans
  with ``max_iter=3`` passes over them, no early stopping);
* ``partial_fit``: :func:`helpers.streaming.fit_codebook_folder` in this process
  (one ``partial_fit`` per batch of images);
* ``dask``: the same function with a Dask client of 2 workers: the workers
  read the files, draw the patches and compute the k-means statistics; this
  process updates the code vectors.

Each is scored on every grid patch (step 4) of the held-out images: the mean
squared difference per pixel between a patch and its nearest code vector
(``-kmeans_.score(rows) / rows.size``), and that as a PSNR (peak 1).
Writes one CSV row per setting, seed and method; prints means, spreads and
paired differences against ``fit``.
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
from results import HERE, command, machine, read_csv, write_csv

import helpers
from helpers import streaming

#: Bundled images never used for training: the held-out set.
HELD_OUT = ("camera", "coffee", "hubble_deep_field", "motorcycle", "text")
SMALL = {
    "images": 48,
    "k": 64,
    "images_per_batch": 4,
    "patches_per_batch": 500,
    "epochs": 1,
    "seeds": (0,),
}
#: Settings: folder size, K, images and patches per batch, passes over the folder, seeds.
SCALES = {
    "small": [SMALL],
    "full": [
        SMALL,
        {"images": 400, "k": 1024, "images_per_batch": 8, "patches_per_batch": 1400, "epochs": 1, "seeds": range(5)},
        {"images": 400, "k": 1024, "images_per_batch": 8, "patches_per_batch": 1400, "epochs": 4, "seeds": range(5)},
    ],
}
MIN_SIDE, MAX_SIDE = 192, 512
METHODS = ("fit", "partial_fit", "dask")


def heldout_error(book, rows: np.ndarray) -> float:
    """Mean squared difference per pixel between held-out patches and their nearest code vectors."""
    return float(-book.kmeans_.score(rows) / rows.size)


def train(method: str, folder: Path, setting: dict, seed: int, client) -> helpers.PatchCodebook:
    k, per_batch, epochs = setting["k"], setting["images_per_batch"], setting["epochs"]
    if method == "fit":
        batches = -(-setting["images"] // per_batch)  # the patches one epoch of the others draws
        book = helpers.PatchCodebook(n_codes=k, n_patches=batches * setting["patches_per_batch"], random_state=seed)
        return book.fit(helpers.load_images(folder, progress=False))
    book = helpers.PatchCodebook(n_codes=k, n_patches=setting["patches_per_batch"], random_state=seed)
    return streaming.fit_codebook_folder(
        folder,
        book,
        images_per_batch=per_batch,
        epochs=epochs,
        seed=seed,
        progress=False,
        client=client if method == "dask" else None,
        tasks_per_step=2 if method == "dask" else None,
    )


def measure(setting: dict, client, rows_out: list[dict]) -> None:
    images = helpers.load_images()
    train_idx = [i for i, name in enumerate(images.names) if name not in HELD_OUT]
    sources = helpers.ImageList([images[i] for i in train_idx], [images.names[i] for i in train_idx])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        streaming.write_sample_folder(
            folder, setting["images"], images=sources, min_side=MIN_SIDE, max_side=MAX_SIDE, seed=0
        )
        rows = np.vstack([helpers.patches(images[name], 8, 4).reshape(-1, 64) for name in HELD_OUT])
        methods = METHODS if setting["epochs"] == 1 else METHODS[1:]  # fit does not depend on the others' epochs
        for seed in setting["seeds"]:
            for method in methods:
                start = time.perf_counter()
                book = train(method, folder, setting, seed, client)
                seconds = time.perf_counter() - start
                mse = heldout_error(book, rows)
                rows_out.append(
                    {
                        "images": setting["images"],
                        "k": setting["k"],
                        "images_per_batch": setting["images_per_batch"],
                        "patches_per_batch": setting["patches_per_batch"],
                        "epochs": 1 if method == "fit" else setting["epochs"],
                        "seed": seed,
                        "method": method,
                        "steps": int(book.kmeans_.n_steps_),
                        "heldout_patches": len(rows),
                        "heldout_mse": round(mse, 9),
                        "heldout_psnr": round(10 * np.log10(1 / mse), 4),
                        "seconds": round(seconds, 2),
                    }
                )
                print(
                    f"  {setting['images']} images, K = {setting['k']}, epochs {rows_out[-1]['epochs']}, "
                    f"seed {seed}, {method}: {rows_out[-1]['heldout_psnr']:.2f} dB, {seconds:.1f} s",
                    flush=True,
                )


def print_summary(rows: list[dict]) -> None:
    keys = sorted({(r["images"], r["k"]) for r in rows})
    print("\n| images | K | method | epochs | held-out PSNR (dB), mean ± sd | paired difference to fit (dB) | seeds |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for images, k in keys:
        fit = {r["seed"]: r["heldout_psnr"] for r in rows if (r["images"], r["k"], r["method"]) == (images, k, "fit")}
        for method, epochs in sorted(
            {(r["method"], r["epochs"]) for r in rows if (r["images"], r["k"]) == (images, k)}
        ):
            sel = [r for r in rows if (r["images"], r["k"], r["method"], r["epochs"]) == (images, k, method, epochs)]
            psnr = [r["heldout_psnr"] for r in sel]
            diff = [r["heldout_psnr"] - fit[r["seed"]] for r in sel]
            sd = statistics.stdev(psnr) if len(psnr) > 1 else 0.0
            dsd = statistics.stdev(diff) if len(diff) > 1 else 0.0
            print(
                f"| {images} | {k} | {method} | {epochs} | {statistics.mean(psnr):.2f} ± {sd:.2f} | "
                f"{statistics.mean(diff):+.2f} ± {dsd:.2f} | {len(sel)} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--threads", action="store_true", help="Dask workers as threads in this process (quicker)")
    parser.add_argument("--csv", type=Path, default=HERE / "dask_codebook.csv", help="where to write the rows")
    parser.add_argument("--summary", action="store_true", help="print the summary of an existing CSV and stop")
    args = parser.parse_args(argv)
    if args.summary:
        print_summary(read_csv(args.csv))
        return 0
    import dask
    from dask.distributed import Client, LocalCluster
    from dask_scaling import KEEP_FREED_MEMORY

    print(machine())
    start_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    environ = {} if args.threads else KEEP_FREED_MEMORY
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=not args.threads,
            dashboard_address="127.0.0.1:0",  # a free port: no clash with another cluster on 8787
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    rows: list[dict] = []
    try:
        for setting in SCALES[args.scale]:
            measure(setting, client, rows)
    finally:
        client.close()
        cluster.close()
    write_csv(
        args.csv,
        rows,
        [
            command(),
            machine(),
            f"held out: {', '.join(HELD_OUT)}; images {MIN_SIDE}-{MAX_SIDE} px a side; 8 x 8 gray patches, "
            f"norm 'none'; Dask: 2 workers, 2 tasks per step; load average at the start {start_load}, at the end "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; total {time.perf_counter() - started:.0f} s",
        ],
    )
    print_summary(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
