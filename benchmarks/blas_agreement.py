"""Do the code histograms agree across BLAS kernels and thread counts? When is "equal, exactly" true?

    .venv/bin/python benchmarks/blas_agreement.py                 # what blas_agreement.csv holds (about 2 min)
    .venv/bin/python benchmarks/blas_agreement.py --scale small   # the slice tests/test_streaming.py reruns

Dask workers run the same code as the plain process, but in other processes,
possibly on other machines, with other BLAS kernels and thread counts
(Dask's worker processes set ``OMP_NUM_THREADS=1``). This script writes a
folder (``SCALES``), fits one reference codebook here, and then, in a fresh
process for each setting of ``SETTINGS`` (OpenBLAS kernel by
``OPENBLAS_CORETYPE``, BLAS/OpenMP threads by ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS``):

* describes the folder with the reference codebook (pickled): are the
  histograms equal to the reference's, entry for entry?
* fits its own codebook from the folder with the same seed
  (``fit_codebook_folder``): how far are its code vectors from the reference's,
  and are the histograms it gives equal to the reference's?

``PatchCodebook`` decides each patch's code in float64 precision (a float32
ranking, rows whose two best codes are within its rounding error ranked again
in float64), so with one codebook the codes can differ only where two code
vectors are tied to float64 precision. A codebook fitted elsewhere is another
matter: k-means sums in another order give code vectors that differ in the
last bits, and those differences can grow from step to step.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import HERE, command, machine, write_csv

SCALES = {
    "small": {"images": 24, "k": 64, "settings": ("native 1",)},
    "full": {"images": 48, "k": 1024, "settings": None},
}
#: (OPENBLAS_CORETYPE or None for the CPU's own kernel, threads)
SETTINGS = {
    "Haswell 1": ("Haswell", 1),
    "Haswell 2": ("Haswell", 2),
    "Haswell 4": ("Haswell", 4),
    "native 1": (None, 1),
    "native 2": (None, 2),
    "Prescott 1": ("Prescott", 1),
    "Prescott 2": ("Prescott", 2),
}


def fit(folder: Path, k: int):
    import helpers
    from helpers import streaming

    book = helpers.PatchCodebook(n_codes=k, n_patches=4000, random_state=0)
    return streaming.fit_codebook_folder(folder, book, images_per_batch=8, epochs=2, seed=0, progress=False)


def child(folder: Path, work: Path, k: int) -> None:
    """In a fresh process: histograms with the reference codebook, and with a codebook fitted here."""
    from threadpoolctl import threadpool_info

    from helpers import streaming

    with open(work / "reference.pkl", "rb") as f:
        reference = pickle.load(f)
    with_reference = streaming.describe_folder(folder, reference, progress=False).hists
    own = fit(folder, k)
    with_own = streaming.describe_folder(folder, own, progress=False).hists
    np.save(work / "with_reference.npy", with_reference)
    np.save(work / "with_own.npy", with_own)
    np.save(work / "centres.npy", own.kmeans_.cluster_centers_)
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]  # NumPy's and SciPy's own OpenBLAS
    kernels = "/".join(dict.fromkeys(i["architecture"] for i in blas))
    print(json.dumps({"kernel": kernels, "threads": max(i["num_threads"] for i in blas)}))


def measure(scale: dict) -> list[dict]:
    from helpers import streaming

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder, work = Path(tmp) / "images", Path(tmp)
        streaming.write_sample_folder(folder, scale["images"], min_side=192, max_side=512, seed=0)
        reference = fit(folder, scale["k"])
        with open(work / "reference.pkl", "wb") as f:
            pickle.dump(reference, f)
        hists = streaming.describe_folder(folder, reference, progress=False).hists
        for name in scale["settings"] or SETTINGS:
            coretype, threads = SETTINGS[name]
            env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
            env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
            if coretype:
                env["OPENBLAS_CORETYPE"] = coretype
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), str(work), str(scale["k"])],
                env=env,
                capture_output=True,
                text=True,
            )
            if out.returncode:
                raise RuntimeError(f"{name} failed:\n{out.stderr}")
            blas = json.loads(out.stdout.strip().splitlines()[-1])
            with_reference = np.load(work / "with_reference.npy")
            with_own = np.load(work / "with_own.npy")
            centres = np.load(work / "centres.npy")
            rows.append(
                {
                    "images": scale["images"],
                    "k": scale["k"],
                    "setting": name,
                    "kernel": blas["kernel"],
                    "threads": blas["threads"],
                    "patches": int(hists.sum()),
                    "reference_codebook_equal": bool(np.array_equal(with_reference, hists)),
                    "reference_codebook_moved": int(np.abs(with_reference - hists).sum() // 2),
                    "own_codebook_max_diff": float(np.abs(centres - reference.kmeans_.cluster_centers_).max()),
                    "own_codebook_equal": bool(np.array_equal(with_own, hists)),
                    "own_codebook_moved": int(np.abs(with_own - hists).sum() // 2),
                }
            )
            print("  " + ", ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--csv", type=Path, default=HERE / "blas_agreement.csv", help="where to write the rows")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
        return 0
    print(machine())
    start_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    scales = ["small", "full"] if args.scale == "full" else ["small"]
    rows = [row for s in scales for row in measure(SCALES[s])]
    write_csv(
        args.csv,
        rows,
        [
            command(),
            machine(),
            "moved: patches whose code differs from the reference's (half the L1 distance of the histograms); "
            f"total {time.perf_counter() - started:.0f} s; load average at the start {start_load}, at the end "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
