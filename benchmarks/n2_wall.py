"""The n² wall: hierarchical clustering against k-means and nearest-neighbour search on a folder of 20 000 images.

    .venv/bin/python benchmarks/n2_wall.py                 # what n2_wall.csv holds (about 3 min, 303 MB of PNG in /tmp)
    .venv/bin/python benchmarks/n2_wall.py --scale small   # the slice tests/test_streaming.py reruns

Average-linkage clustering (the lecture's ``linkage(dists, "average")``) needs
all n(n - 1)/2 distances between n images at once. This script writes a folder
of n random crops and flips of the bundled images (``SCALES``: 20 000 crops of
64 to 160 pixels a side; each file is named after its source image, the label
scored below) to a temporary folder, deleted at the end, and runs each step in
a fresh Python process with one BLAS/OpenMP thread (on a shared machine,
threads that wait for each other made these steps several times slower),
which reports its time and its peak resident memory (``VmHWM``) beyond what the
imports take; the histograms, memory-mapped, count as they are read:

* ``describe``: a codebook fitted from the folder (``fit_codebook_folder``, one
  pass) and every image's code histogram (``describe_folder``), one image at a
  time; the histograms (float32) go to a file the next steps memory-map;
* ``linkage``: cosine distances (``pdist``) and average linkage of the first
  m images, for each m of ``linkage_sizes``; cut into as many clusters as
  sources, scored by the adjusted Rand index (ARI) against the sources;
* ``kmeans``: ``MiniBatchKMeans.partial_fit`` on the L2-normalised histograms,
  read from the file 4 096 rows at a time (cosine k-means: spherical-ish), as
  many clusters as sources; ARI on all n and on the first m images;
* ``exact-knn``: the 10 nearest neighbours of every image by cosine distance,
  brute force (scikit-learn's ``NearestNeighbors``, chunked by ``working_memory``);
  precision@10 against the sources;
* ``ivf``: the same 10 neighbours from an inverted-file index (Jégou, Douze &
  Schmid, TPAMI 2011, without their compression): k-means cells, and each image
  compared only with the images of its ``nprobe`` nearest cells; recall@10
  against the exact neighbours, precision@10 against the sources, and the
  fraction of all pairs compared. Timed: building the index and searching.
  Written here in numpy because scikit-learn has no approximate search, and
  40 lines do not justify a new dependency.

Writes one CSV row per step (and size or setting); prints them as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import HERE, command, machine, peak_rss_mb, read_csv, write_csv

SMALL = {"images": 200, "k": 32, "min_side": 64, "max_side": 160, "linkage_sizes": (200,), "nlist": 16}
#: Settings: folder size, K, crop sides, sizes for linkage, k-means cells of the index.
SCALES = {
    "small": [SMALL],
    "full": [
        SMALL,
        {
            "images": 20000,
            "k": 256,
            "min_side": 64,
            "max_side": 160,
            "linkage_sizes": (2500, 5000, 10000, 20000),
            "nlist": 128,
        },
    ],
}
NEIGHBOURS = 10
NPROBES = (1, 4, 16)
CHUNK = 4096


# ---- the steps, each run in a fresh process ----------------------------------------------------------------


def sources(names: list[str]) -> np.ndarray:
    """The source image of each file, from its name ``img00000-camera.png``."""
    return np.array([name.split("-", 1)[1].rsplit(".", 1)[0] for name in names])


def normalised(hists: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import normalize

    return normalize(np.asarray(hists, dtype=np.float32))


def step_describe(folder: Path, work: Path, setting: dict) -> dict:
    import helpers
    from helpers import streaming

    book = helpers.PatchCodebook(n_codes=setting["k"], n_patches=4000, random_state=0)
    streaming.fit_codebook_folder(folder, book, images_per_batch=50, seed=0, progress=False)
    result = streaming.describe_folder(folder, book, progress=False)
    np.save(work / "hists.npy", result.hists.astype(np.float32))
    (work / "names.json").write_text(json.dumps(result.names))
    return {"score_name": "described", "score": len(result.names), "compared": float("nan")}


def step_linkage(work: Path, m: int) -> dict:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist
    from sklearn.metrics import adjusted_rand_score

    labels = sources(json.loads((work / "names.json").read_text()))[:m]
    hists = np.load(work / "hists.npy", mmap_mode="r")[:m]
    tree = linkage(pdist(np.asarray(hists, dtype=np.float64), "cosine"), "average")
    clusters = fcluster(tree, len(set(labels)), "maxclust")
    return {"score_name": "ARI", "score": adjusted_rand_score(labels, clusters)}


def step_kmeans(work: Path, m: int | None) -> dict:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import adjusted_rand_score

    labels = sources(json.loads((work / "names.json").read_text()))
    hists = np.load(work / "hists.npy", mmap_mode="r")
    n = len(hists) if m is None else m
    labels = labels[:n]
    km = MiniBatchKMeans(n_clusters=len(set(labels)), batch_size=CHUNK, n_init=1, random_state=0)
    for _ in range(10):  # passes over the rows, one chunk in memory at a time
        for i in range(0, n, CHUNK):
            chunk = normalised(hists[i : min(i + CHUNK, n)])
            if len(chunk) >= km.n_clusters:
                km.partial_fit(chunk)
    clusters = np.concatenate([km.predict(normalised(hists[i : min(i + CHUNK, n)])) for i in range(0, n, CHUNK)])
    return {"score_name": "ARI", "score": adjusted_rand_score(labels, clusters)}


def step_exact_knn(work: Path) -> dict:
    from sklearn import config_context
    from sklearn.neighbors import NearestNeighbors

    labels = sources(json.loads((work / "names.json").read_text()))
    X = normalised(np.load(work / "hists.npy", mmap_mode="r"))
    start = time.perf_counter()
    with config_context(working_memory=64):  # MB of distances at a time
        _, neighbours = NearestNeighbors(n_neighbors=NEIGHBOURS, algorithm="brute").fit(X).kneighbors()
    seconds = time.perf_counter() - start
    np.save(work / "exact.npy", neighbours)
    precision = float((labels[neighbours] == labels[:, None]).mean())
    return {
        "score_name": "precision@10",
        "score": precision,
        "precision": precision,
        "compared": 1.0,
        "seconds": seconds,
    }


def ivf_neighbours(X: np.ndarray, k: int, nlist: int, nprobe: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """The k nearest rows of every row of X (itself excluded), searching only its ``nprobe`` nearest k-means cells.

    A k-means of ``nlist`` cells, trained on a sample of ``64 * nlist`` rows
    (Jégou et al. train theirs on a sample too), partitions the rows; each row
    is compared with the rows of the cells whose centres are nearest to it.
    Memory holds X, the cells and the distances of at most 1024 rows to one
    cell's rows at a time.

    Returns
    -------
    neighbours : ndarray, shape (n, k), int
        Nearest first.
    compared : float
        The fraction of all pairs of rows whose distance was computed.
    """
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import pairwise_distances_argmin

    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), min(len(X), 64 * nlist), replace=False)]
    quantiser = MiniBatchKMeans(n_clusters=nlist, batch_size=CHUNK, n_init=1, max_iter=20, random_state=seed)
    centres = quantiser.fit(sample).cluster_centers_.astype(X.dtype)
    cells = pairwise_distances_argmin(X, centres)
    order = np.argsort(cells, kind="stable")
    starts = np.searchsorted(cells[order], np.arange(nlist + 1))
    # each row's nprobe nearest cells, CHUNK rows at a time; then, per cell, the rows that probe it
    nprobe = min(nprobe, nlist)
    squares_c = np.einsum("ij,ij->i", centres, centres)
    probes = (  # squared distance to each centre, but for the row's own squared length
        cells[:, None]
        if nprobe == 1
        else np.concatenate(
            [
                np.argpartition(squares_c - 2 * X[i : i + CHUNK] @ centres.T, nprobe - 1, axis=1)[:, :nprobe]
                for i in range(0, len(X), CHUNK)
            ]
        )
    )
    by_cell = np.argsort(probes.ravel(), kind="stable")
    probe_starts = np.searchsorted(probes.ravel()[by_cell], np.arange(nlist + 1))
    squares = np.einsum("ij,ij->i", X, X)
    best_d = np.full((len(X), k), np.inf, dtype=X.dtype)
    best_i = np.full((len(X), k), -1)
    compared = 0
    for c in range(nlist):
        members = order[starts[c] : starts[c + 1]]
        queries = by_cell[probe_starts[c] : probe_starts[c + 1]] // probes.shape[1]
        for start in range(0, len(queries) if len(members) else 0, 1024):  # at most 1024 x cell size at a time
            q = queries[start : start + 1024]
            d = squares[q, None] - 2 * X[q] @ X[members].T + squares[members]
            d[q[:, None] == members[None, :]] = np.inf  # not its own neighbour
            compared += d.size - np.isin(q, members).sum()
            both_d = np.concatenate([best_d[q], d], axis=1)
            both_i = np.concatenate([best_i[q], np.broadcast_to(members, d.shape)], axis=1)
            keep = np.argpartition(both_d, k - 1, axis=1)[:, :k] if both_d.shape[1] > k else np.arange(k)[None]
            best_d[q] = np.take_along_axis(both_d, keep, axis=1)
            best_i[q] = np.take_along_axis(both_i, keep, axis=1)
    neighbours = np.take_along_axis(best_i, np.argsort(best_d, axis=1), axis=1)
    return neighbours, compared / (len(X) * (len(X) - 1))


def step_ivf(work: Path, nlist: int, nprobe: int) -> dict:
    labels = sources(json.loads((work / "names.json").read_text()))
    X = normalised(np.load(work / "hists.npy", mmap_mode="r"))
    start = time.perf_counter()
    neighbours, compared = ivf_neighbours(X, NEIGHBOURS, nlist, nprobe)
    seconds = time.perf_counter() - start  # the index and the search; not the scoring below
    exact = np.load(work / "exact.npy")
    recall = (neighbours[:, :, None] == exact[:, None, :]).any(axis=2).mean()
    precision = float((labels[neighbours] == labels[:, None]).mean())
    return {
        "score_name": "recall@10",
        "score": float(recall),
        "precision": precision,
        "compared": compared,
        "seconds": seconds,
    }


def child(args: list[str]) -> None:
    """Run one step in this fresh process; print its measurements as JSON."""
    import scipy.cluster.hierarchy  # noqa: F401
    import sklearn.cluster  # noqa: F401

    import helpers  # noqa: F401  (the imports count in the baseline)

    step, folder, work, setting = args[0], Path(args[1]), Path(args[2]), json.loads(args[3])
    print(json.dumps(run(step, folder, work, setting)))


def run(step: str, folder: Path, work: Path, setting: dict) -> dict:
    """One step in this process: its result, time and peak memory."""
    baseline = peak_rss_mb()
    start = time.perf_counter()
    if step == "describe":
        out = step_describe(folder, work, setting)
    elif step == "linkage":
        out = step_linkage(work, setting["m"])
    elif step == "kmeans":
        out = step_kmeans(work, setting.get("m"))
    elif step == "exact-knn":
        out = step_exact_knn(work)
    elif step == "ivf":
        out = step_ivf(work, setting["nlist"], setting["nprobe"])
    else:
        raise ValueError(f"unknown step {step!r}")
    out.setdefault("seconds", time.perf_counter() - start)
    out.update(peak_mb=peak_rss_mb(), baseline_mb=baseline)
    return out


# ---- the driver ----------------------------------------------------------------------------------------------


def run_step(step: str, folder: Path, work: Path, setting: dict, fresh: bool = True) -> dict:
    """One step, in a fresh process (``fresh``) or in this one (quicker, but its memory is not its own)."""
    if not fresh:
        return run(step, folder, work, setting)
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, str(folder), str(work), json.dumps(setting)],
        capture_output=True,
        text=True,
        env=os.environ | threads,
    )
    if out.returncode:
        raise RuntimeError(f"step {step} {setting} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--csv", type=Path, default=HERE / "n2_wall.csv", help="where to write the rows")
    parser.add_argument("--summary", action="store_true", help="print an existing CSV as a table and stop")
    parser.add_argument("--in-process", action="store_true", help="run the steps in this process (quicker)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.summary:
        print_table(read_csv(args.csv))
        return 0
    fresh = not args.in_process
    print(machine())
    start_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the start: {start_load}", flush=True)
    started = time.perf_counter()
    rows, folders = [], []
    for setting in SCALES[args.scale]:
        folders.append(measure(setting, fresh, rows))
    write_csv(
        args.csv,
        rows,
        [
            command(),
            machine(),
            *folders,
            "memory in MB (peak RSS of the step's process; working: beyond the imports); load average at the start "
            f"{start_load}, at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"total {time.perf_counter() - started:.0f} s",
        ],
    )
    print_table(rows)
    return 0


def measure(setting: dict, fresh: bool, rows: list[dict]) -> str:
    """Write the setting's folder, run every step on it, append the rows; returns a line on the folder."""
    from helpers import streaming

    n = setting["images"]

    def record(step: str, m: int, param: str, out: dict) -> None:
        row = {
            "folder": n,
            "step": step,
            "images": m,
            "param": param,
            "seconds": round(out["seconds"], 2),
            "peak_mb": round(out["peak_mb"], 1),
            "working_mb": round(out["peak_mb"] - out["baseline_mb"], 1),
            "score_name": out["score_name"],
            "score": round(out["score"], 4),
            "precision": round(out.get("precision", float("nan")), 4),
            "compared": round(out.get("compared", float("nan")), 5),
        }
        rows.append(row)
        print(
            f"  {step} {m} {param}: {row['seconds']} s, peak {row['peak_mb']} MB "
            f"({row['working_mb']} MB beyond the imports), {row['score_name']} {row['score']}",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as tmp:
        folder, work = Path(tmp) / "images", Path(tmp) / "work"
        work.mkdir()
        start = time.perf_counter()
        streaming.write_sample_folder(folder, n, min_side=setting["min_side"], max_side=setting["max_side"], seed=0)
        disk = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        wrote = time.perf_counter() - start
        print(f"  wrote {n} images ({disk:.0f} MB) in {wrote:.0f} s", flush=True)
        record("describe", n, f"K {setting['k']}", run_step("describe", folder, work, setting, fresh))
        for m in setting["linkage_sizes"]:
            record("linkage", m, "average cosine", run_step("linkage", folder, work, {"m": m}, fresh))
            if m < n:
                record("kmeans", m, "MiniBatchKMeans", run_step("kmeans", folder, work, {"m": m}, fresh))
        record("kmeans", n, "MiniBatchKMeans", run_step("kmeans", folder, work, {}, fresh))
        record("exact-knn", n, "brute force", run_step("exact-knn", folder, work, {}, fresh))
        for nprobe in NPROBES:
            if nprobe <= setting["nlist"]:
                params = {"nlist": setting["nlist"], "nprobe": nprobe}
                out = run_step("ivf", folder, work, params, fresh)
                record("ivf", n, f"nlist {setting['nlist']} nprobe {nprobe}", out)
    return (
        f"folder of {n}: images of {setting['min_side']}-{setting['max_side']} px, {disk:.0f} MB of PNG written in "
        f"{wrote:.0f} s; K = {setting['k']}"
    )


def print_table(rows: list[dict]) -> None:
    print("\n| folder | step | images | setting | time | peak memory | beyond the imports | score |")
    print("|---:|---|---:|---|---:|---:|---:|---|")
    for r in rows:
        score = f"{r['score']:.0f}" if r["score_name"] == "described" else f"{r['score']:.4f}"
        extra = f", precision@10 {r['precision']:.3f}, pairs compared {r['compared']:.4f}" if r["step"] == "ivf" else ""
        print(
            f"| {r['folder']} | {r['step']} | {r['images']} | {r['param']} | {r['seconds']:.1f} s | "
            f"{r['peak_mb']:.0f} MB | {r['working_mb']:.0f} MB | {r['score_name']} {score}{extra} |"
        )


if __name__ == "__main__":
    sys.exit(main())
