"""The interest-point study of notebook 09: patches at Harris corners against the grid, on the protocol, over seeds.

    OMP_NUM_THREADS=1 python benchmarks/interest_points.py [--seeds 0 1 2 3 4] [--tasks tiles copies]
        [--only VARIANT ...] [--out CSV] [--queries CSV]

Each variant is a :class:`helpers.PatchCodebook` (K = 256, 8 x 8 patches) that differs only in where
the patches are taken and how they are normalised: the dense grid (step 4, the lecture's), the
strongest Harris corners (at most a fixed number per image), that number of random positions, a sparse
grid with as many patches (on the tile task, whose tiles all have one size), and grid and corners
together. Two controls: on the copy task, whose small or smooth images have fewer corners than the
number, random positions matched per image to the corners' count (``sampling="random-as-corners"``);
and on both tasks the dense grid with a codebook fitted on fewer patches (``SMALL``) than any corner
codebook's sample, so a grid advantage cannot come from a larger training sample. And, with
mean-removed patches only, corners against matched random positions at other numbers per image
(``SWEEP``), so the number of patches changes on one task. Each
with gray patches (the lecture's ``pnorm``) and with mean-removed ones (``norm="center"``). Each is
fitted on each split's ``fit`` images with the seed as ``random_state`` (`helpers.evaluation.describe`)
and scored with three readouts: the lecture's (counts, cosine, average linkage), Hellinger
(square-root frequencies, Euclidean, average linkage) and ``hellinger ward`` (the same distances, Ward's
linkage, as notebooks 06 and 08 cluster with Hellinger; only the clustering measures differ from
``hellinger``). One row per task, variant, readout and seed goes to ``benchmarks/interest-points.csv``
(or ``--out``), headed by the command. ``--queries CSV`` also writes every query's precision at 5 and
average precision under the Hellinger distances, with its source image (``label``), one row per task,
variant, seed and query (as ``benchmarks/queries.py`` does for notebook 08), so that notebook 09 can
resample the source images. ``--only`` and one seed give a slice to check against the committed CSV
(``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time
from pathlib import Path

from results import provenance

import helpers
from helpers import PatchCodebook
from helpers import evaluation as ev

HERE = Path(__file__).resolve().parent
MEASURES = ("p@5", "map", "ari", "nmi", "purity", "cophenetic", "accuracy")
READOUTS = {
    "lecture": ("counts", "cosine", "average"),
    "hellinger": ("sqrt", "euclidean", "average"),
    "hellinger ward": ("sqrt", "euclidean", "ward"),
}
#: The readout whose distances the per-query rows (``--queries``) rank by.
QUERY_READOUT = "hellinger"
K = 256
#: Corners (and random positions) per image: about one per 256 pixels of a 64 x 64 tile, and of a
#: copy-task image (longer side 256): the median tile has 12 corners above the absolute threshold.
POINTS = {"tiles": 16, "copies": 160}
#: A sparse grid with as many patches as corners: step 24 gives exactly 16 on every 64 x 64 tile. The copy
#: task's images differ in size (crops, scales), so no one step gives them 160 each: no sparse grid there.
SPARSE_STEP = 24
#: Training patches of the small-sample grid codebook: fewer than the corner codebooks fit on in every
#: split of the five seeds (at least 11,728 on tiles, 743 x up to 16; 1,512 on copies, 10 x up to 160).
SMALL = {"tiles": 11_700, "copies": 1_500}
#: Other numbers of corners (at most) per image, against as many random positions, centred patches (on copies,
#: 16 per image would leave the 10 or 11 fit images 176 patches at most, fewer than K).
SWEEP = {"tiles": (48,), "copies": (48,)}


def variants(task: str) -> dict[str, PatchCodebook]:
    """The codebooks compared on one task, by name."""
    n = POINTS[task]
    made = {}
    for norm, tag in (("none", "gray"), ("center", "centred")):
        base = PatchCodebook(n_codes=K, norm=norm)
        made[f"grid, {tag}"] = base
        made[f"grid (small sample), {tag}"] = _with(base, n_patches=SMALL[task])
        made[f"corners, {tag}"] = _with(base, sampling="corners", n_points=n)
        made[f"random, {tag}"] = _with(base, sampling="random", n_points=n)
        if task == "copies":
            made[f"random as corners, {tag}"] = _with(base, sampling="random-as-corners", n_points=n)
        if task == "tiles":
            made[f"sparse grid, {tag}"] = _with(base, step=SPARSE_STEP)
        made[f"grid + corners, {tag}"] = _with(base, sampling="grid+corners")
    centred = PatchCodebook(n_codes=K, norm="center")
    for m in SWEEP[task]:
        made[f"corners {m}, centred"] = _with(centred, sampling="corners", n_points=m)
        made[f"random as corners {m}, centred"] = _with(centred, sampling="random-as-corners", n_points=m)
    return made


def _with(codebook: PatchCodebook, **params) -> PatchCodebook:
    from sklearn.base import clone

    return clone(codebook).set_params(**params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(ev.SEEDS))
    parser.add_argument("--tasks", nargs="+", default=["tiles", "copies"], choices=["tiles", "copies"])
    parser.add_argument("--only", nargs="+", help="variants to run (default: all)")
    parser.add_argument("--out", type=Path, default=HERE / "interest-points.csv")
    parser.add_argument("--queries", type=Path, help="also write per-query p@5 and AP here (Hellinger)")
    args = parser.parse_args(argv)
    images = helpers.load_images()
    rows, queries = [], []
    began = time.perf_counter()
    for task_name in args.tasks:
        for seed in args.seeds:
            task = ev.tile_task(seed, images) if task_name == "tiles" else ev.copy_task(seed, images)
            for name, codebook in variants(task_name).items():
                if args.only and name not in args.only:
                    continue
                start = time.perf_counter()
                described = [ev.describe(codebook, split, seed) for split in task]
                key = {"task": task_name, "variant": name}
                for readout, (norm, metric, method) in READOUTS.items():
                    scores = ev.score_task(
                        task, described, seed, norm=norm, metric=metric, method=method, classify=task_name == "tiles"
                    )
                    rows.append(key | {"readout": readout, "seed": seed} | scores)
                if args.queries:
                    queries.extend(key | {"seed": seed} | q for q in per_query(task, described))
                print(
                    f"{task_name} seed {seed} {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True
                )
    command = shlex.join(["OMP_NUM_THREADS=1", "python", "benchmarks/interest_points.py", *(argv or [])])
    took = f"{(time.perf_counter() - began) / 60:.1f} min at load average {os.getloadavg()[1]:.1f} (5-minute)"
    with open(args.out, "w", newline="") as f:
        f.write(f"# made by: {command}\n# took: {took}\n# {provenance()}\n")
        writer = csv.DictWriter(
            f, ["task", "variant", "readout", "seed", *MEASURES], extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {key: (f"{value:.6f}" if isinstance(value, float) else value) for key, value in row.items()}
            )
    print(f"{len(rows)} rows -> {args.out} (load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
    if args.queries:
        with open(args.queries, "w", newline="") as f:
            f.write(f"# made by: {command}\n# {provenance()}\n")
            writer = csv.DictWriter(f, ["task", "variant", "seed", "label", "p@5", "ap"], lineterminator="\n")
            writer.writeheader()
            for row in queries:
                writer.writerow(
                    {key: (f"{value:.6f}" if isinstance(value, float) else value) for key, value in row.items()}
                )
        print(f"{len(queries)} queries -> {args.queries}", file=sys.stderr)
    return 0


def per_query(task, described):
    """Every scored item's p@5 and AP as a query, under the Hellinger distances, with its source image."""
    norm, metric, _ = READOUTS[QUERY_READOUT]
    for split, X in zip(task, described, strict=True):
        D = ev.distances(helpers.normalize_hists(X, norm), metric)
        p5 = ev.precision_at_k(D, split.labels, 5, per_query=True)
        ap = ev.mean_average_precision(D, split.labels, per_query=True)
        for label, p, a in zip(split.labels, p5, ap, strict=True):
            yield {"label": str(label), "p@5": float(p), "ap": float(a)}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
