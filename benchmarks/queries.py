"""Per-query scores of notebook 08's headline descriptors, for uncertainty over the collection's source images.

    OMP_NUM_THREADS=1 python benchmarks/queries.py [--seeds 0 1 2 3 4] [--set {06,08,11}] [--out CSV]

The descriptor CSVs hold one mean per task, variant, readout and seed. A
difference between two descriptors over five seeds says how much it moves with
the tiles (or copies) drawn and the k-means seed, but every seed draws from the
same 20 source images. This script keeps every query's precision at 5 and
average precision, with its source image (``label``), so that notebook 08 can
resample the source images (a bootstrap over images) and ask how much a
difference depends on which images the collection happens to hold.

``--set 06`` keeps notebook 06's: raw, centred, standardised and whitened gray
patches with hard counts (``K = 1024``), and Coates & Ng's gray recipe without
whitening, with their epsilon and with 1 times the mean eigenvalue (Hellinger).

``--set 11`` keeps notebook 11's headline comparisons instead, as its
``encodings`` study defines the variants: gray against colour patches (hard
counts, ``K = 1024``, Hellinger), and hard counts against VLAD with ``K = 64``:
unit-length counts against plain VLAD and the counts' square roots (Hellinger)
against power-normalised VLAD (each pair under one distance), and Hellinger
against VLAD with power and intra-normalisation (equal ``K``).

One row per task, variant, readout, seed and query, to
``benchmarks/descriptors-queries.csv`` (``--set 06``: ``descriptors-queries-normalisation.csv``; ``--set 11``:
``descriptors-queries-encodings.csv``; or ``--out``).
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
import time
from pathlib import Path

from descriptors import colour_and_lbp, studies
from results import provenance
from sklearn.preprocessing import FunctionTransformer

import helpers
from helpers import evaluation as ev

HERE = Path(__file__).resolve().parent

#: Notebook 08's comparisons: the lecture's recipe, the best descriptor (chosen on seed 0) and the strongest baseline.
BEST = "hard, colour, two scales"
VARIANTS = {
    "lecture": (studies()["measures"]["lecture"][0], {"counts cosine": ("counts", "cosine")}),
    BEST: (studies()["encodings"][BEST][0], {"hellinger": ("sqrt", "euclidean")}),
    "colour + LBP": (FunctionTransformer(colour_and_lbp), {"hellinger": ("sqrt", "euclidean")}),
}

#: Notebook 11's headline comparisons, with the readouts (norm, metric) its comparisons use.
HELLINGER = {"hellinger": ("sqrt", "euclidean")}
EUCLIDEAN = {"euclidean": (None, "euclidean")}
ENCODINGS = {
    name: (studies()["encodings"][name][0], readouts)
    for name, readouts in (
        ("hard", HELLINGER),
        ("hard, colour", HELLINGER),
        ("hard, K 64", HELLINGER | {"l2 euclidean": ("l2", "euclidean")}),
        ("VLAD 64, l2", EUCLIDEAN),
        ("VLAD 64, power", EUCLIDEAN),
        ("VLAD 64, power+intra", EUCLIDEAN),
    )
}
#: Notebook 06's headline comparisons (Hellinger, as its tables): mean removal, whitening with hard counts, and
#: whitening within Coates & Ng's recipe (none, theirs and 1 x the mean eigenvalue).
NORMALISATION = {
    name: (studies()["normalisation"][name][0], HELLINGER)
    for name in (
        "gray, none",
        "gray, center",
        "gray, standardize",
        "gray, standardize + ZCA",
        "C&N gray, no ZCA",
        "C&N gray, ZCA 0.1 (theirs)",
        "C&N gray, ZCA 1.0 x mean eigenvalue",
    )
}
#: The variant sets: ``--set`` name: (variants, default CSV).
SETS = {
    "06": (NORMALISATION, "descriptors-queries-normalisation.csv"),
    "08": (VARIANTS, "descriptors-queries.csv"),
    "11": (ENCODINGS, "descriptors-queries-encodings.csv"),
}


def rows(seeds, images=None, log=None, variants=None):
    """Yield one dict per task, variant, readout, seed and query: its label, p@5 and AP.

    ``variants``: name: (descriptor, {readout: (norm, metric)}); default `VARIANTS` (notebook 08's).
    """
    images = helpers.load_images() if images is None else images
    for seed in seeds:
        for task_name, make in (("tiles", ev.tile_task), ("copies", ev.copy_task)):
            task = make(seed, images)
            for variant, (descriptor, readouts) in (VARIANTS if variants is None else variants).items():
                start = time.perf_counter()
                described = [ev.describe(descriptor, split, seed) for split in task]
                for readout, (norm, metric) in readouts.items():
                    for split, X in zip(task, described, strict=True):
                        D = ev.distances(X if norm is None else helpers.normalize_hists(X, norm), metric)
                        p5 = ev.precision_at_k(D, split.labels, 5, per_query=True)
                        ap = ev.mean_average_precision(D, split.labels, per_query=True)
                        for label, p, a in zip(split.labels, p5, ap, strict=True):
                            yield (
                                {"task": task_name, "variant": variant, "readout": readout, "seed": seed},
                                {
                                    "label": label,
                                    "p@5": p,
                                    "ap": a,
                                },
                            )
                if log:
                    print(f"  seed {seed} {task_name:6s} {variant:26s} {time.perf_counter() - start:6.1f} s", file=log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(ev.SEEDS))
    parser.add_argument("--set", choices=SETS, default="08", help="06, 08, 11: that notebook's headlines")
    parser.add_argument(
        "--out", type=Path, help="default: descriptors-queries.csv (--set 06, 11: -normalisation, -encodings)"
    )
    args = parser.parse_args(argv)
    variants, name = SETS[args.set]
    args.out = args.out or HERE / name
    command = shlex.join(["OMP_NUM_THREADS=1", "python", "benchmarks/queries.py", *(argv or sys.argv[1:])])
    start = time.perf_counter()
    with args.out.open("w", newline="") as f:
        f.write(f"# made by: {command}\n# {provenance()}\n")
        writer = csv.DictWriter(f, ["task", "variant", "readout", "seed", "label", "p@5", "ap"], lineterminator="\n")
        writer.writeheader()
        for key, query in rows(args.seeds, log=sys.stderr, variants=variants):
            writer.writerow(key | {k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in query.items()})
            f.flush()
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
