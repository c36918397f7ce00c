"""What the tile task's in-domain codebook is worth: codebooks fitted inside and outside the scored images.

    OMP_NUM_THREADS=1 python benchmarks/outside.py [--seeds 0 1 2 3 4] [--set {06,08,11}] [--out CSV]

The tile task (`helpers.evaluation.tile_task`) fits its codebooks on the other
tiles of the very images whose tiles are scored: an in-domain vocabulary, which
descriptors without a codebook do not get. This script measures what that is
worth. Per seed it splits the task's 20 source images into two halves of 10,
each with 5 of the 10 gray sources (so that neither half is the gray one), and
scores each half's scored tiles (80 items, 10 labels; retrieval and clustering
within the half, as the copy task's halves are) twice with the same descriptor:

* ``inside``: the codebook fitted on the half's own fitting tiles (the tile task's way);
* ``outside``: fitted on the other half's fitting tiles, images the scored tiles do not come from.

Both codebooks of a seed are fitted on the same number of tiles (the larger
half's fitting tiles subsampled, seeded), so only the domain changes. The
descriptors: notebook 08's best ("hard, colour, two scales", Hellinger with
average and Ward's linkage), the lecture's recipe (counts, cosine, average
linkage), and colour + LBP (fit ``none``: no codebook) on the same halves, the
reference the codebook descriptors are compared with.

``--set 06`` scores notebook 06's whitening with hard counts: gray patches
with Coates & Ng's contrast normalisation, without and with their ZCA
(``K = 1024``, Hellinger with average and Ward's linkage).

``--set 11`` scores notebook 11's codebook-size comparison instead, as its
``encodings`` study defines the variants: hard counts with ``K = 1024`` and
``K = 64`` (Hellinger) and VLAD with ``K = 64``, power and intra-normalisation
(Euclidean), each with average and Ward's linkage.

One row per variant, fit, readout and seed, to ``benchmarks/descriptors-outside.csv``
(``--set 06``: ``descriptors-outside-normalisation.csv``; ``--set 11``:
``descriptors-outside-encodings.csv``; or ``--out``).
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from descriptors import HELLINGER, MEASURES, VLAD, colour_and_lbp, studies
from results import provenance
from sklearn.preprocessing import FunctionTransformer

import helpers
from helpers import evaluation as ev

HERE = Path(__file__).resolve().parent

#: Notebook 08's best descriptor (chosen on seed 0 of the tile task).
BEST = "hard, colour, two scales"
#: variant: (descriptor, {readout: (norm, metric, method)}, has a codebook).
VARIANTS = {
    BEST: (studies()["encodings"][BEST][0], HELLINGER, True),
    "lecture": (studies()["measures"]["lecture"][0], {"counts cosine": ("counts", "cosine", "average")}, True),
    "colour + LBP": (FunctionTransformer(colour_and_lbp), HELLINGER, False),
}
#: Notebook 11's codebook sizes: the encodings study's hard counts at K = 1024 and 64, and VLAD 64 with its readout.
ENCODINGS = {
    name: (studies()["encodings"][name][0], readouts, True)
    for name, readouts in (("hard", HELLINGER), ("hard, K 64", HELLINGER), ("VLAD 64, power+intra", VLAD))
}
#: Notebook 06's whitening with hard counts (K = 1024): standardised gray patches, without and with ZCA.
NORMALISATION = {
    name: (studies()["normalisation"][name][0], HELLINGER, True)
    for name in ("gray, standardize", "gray, standardize + ZCA")
}
#: The variant sets: ``--set`` name: (variants, default CSV).
SETS = {
    "06": (NORMALISATION, "descriptors-outside-normalisation.csv"),
    "08": (VARIANTS, "descriptors-outside.csv"),
    "11": (ENCODINGS, "descriptors-outside-encodings.csv"),
}
#: The halves and the subsample draw from a stream of their own, not tile_task's default_rng(seed).
STREAM = 1


def is_gray(image) -> bool:
    """Whether an image's three channels are all equal (`descriptors.colour_sources` keeps the others)."""
    return not np.ptp(image[..., :3] - image[..., :1]) > 0


def halves(seed: int, images) -> tuple[list[ev.Split], list[helpers.ImageList]]:
    """The tile task of ``seed`` in two halves of its sources, and each half's fitting tiles, subsampled to one size.

    Returns ``(splits, fits)``: ``splits[h]`` the scored tiles of half ``h`` (``fit`` left empty), ``fits[h]``
    its fitting tiles, both ``fits`` of ``min`` of the two halves' counts (the larger drawn without replacement).
    """
    (task,) = ev.tile_task(seed, images)
    sources = np.unique(task.labels)
    rng = np.random.default_rng([STREAM, seed])
    gray = rng.permutation([s for s in sources if is_gray(images[s])])
    colour = rng.permutation([s for s in sources if not is_gray(images[s])])
    members = [set(gray[: len(gray) // 2]) | set(colour[: len(colour) // 2])]
    members.append(set(sources) - members[0])
    fit_source = np.array([name.split("/")[0] for name in task.fit.names])
    fit_index = [np.flatnonzero(np.isin(fit_source, list(m))) for m in members]
    size = min(len(i) for i in fit_index)
    fit_index = [np.sort(rng.choice(i, size, replace=False)) if len(i) > size else i for i in fit_index]
    fits = [helpers.ImageList([task.fit[i] for i in index], [task.fit.names[i] for i in index]) for index in fit_index]
    splits = []
    for m in members:
        index = np.flatnonzero(np.isin(task.labels, list(m)))
        items = helpers.ImageList([task.items[i] for i in index], [task.items.names[i] for i in index])
        splits.append(ev.Split(helpers.ImageList(), items, task.labels[index]))
    return splits, fits


def rows(seeds, images=None, log=None, only=None, variants=None):
    """One dict per variant, fit (``inside``, ``outside``, ``none``), readout and seed; ``only``: these variants.

    ``variants``: name: (descriptor, readouts, has a codebook); default `VARIANTS` (notebook 08's).
    """
    images = helpers.load_images() if images is None else images
    chosen = {name: v for name, v in (VARIANTS if variants is None else variants).items() if not only or name in only}
    for seed in seeds:
        splits, fits = halves(seed, images)
        items = helpers.ImageList([*splits[0].items, *splits[1].items], splits[0].items.names + splits[1].items.names)
        both = ev.Split(helpers.ImageList(), items, np.concatenate([s.labels for s in splits]))
        first = len(splits[0].items)
        for variant, (descriptor, readouts, has_codebook) in chosen.items():
            start = time.perf_counter()
            # Each codebook describes both halves: its own half's tiles (inside) and the other half's (outside).
            described = [ev.describe(descriptor, ev.Split(fit, both.items, both.labels), seed) for fit in fits]
            own = [described[0][:first], described[1][first:]]
            other = [described[1][:first], described[0][first:]]
            for fit, X in (("inside", own), ("outside", other)) if has_codebook else (("none", own),):
                for readout, (norm, metric, method) in readouts.items():
                    scores = ev.score_task(splits, X, seed, norm=norm, metric=metric, method=method)
                    yield {
                        "task": "tiles",
                        "variant": variant,
                        "fit": fit,
                        "readout": readout,
                        "seed": seed,
                        "fit_tiles": len(fits[0]) if has_codebook else 0,
                    } | scores
            if log:
                print(f"  seed {seed} {variant:26s} {time.perf_counter() - start:6.1f} s", file=log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(ev.SEEDS))
    parser.add_argument(
        "--set", choices=SETS, default="08", help="06: whitening; 08: notebook 08's descriptors; 11: its K and VLAD"
    )
    parser.add_argument(
        "--out", type=Path, help="default: descriptors-outside.csv (--set 06, 11: -normalisation, -encodings)"
    )
    args = parser.parse_args(argv)
    variants, name = SETS[args.set]
    args.out = args.out or HERE / name
    command = shlex.join(["OMP_NUM_THREADS=1", "python", "benchmarks/outside.py", *(argv or sys.argv[1:])])
    start = time.perf_counter()
    with args.out.open("w", newline="") as f:
        f.write(f"# made by: {command}\n# {provenance()}\n")
        columns = ["task", "variant", "fit", "readout", "seed", "fit_tiles", *MEASURES]
        writer = csv.DictWriter(f, columns, extrasaction="raise", lineterminator="\n")
        writer.writeheader()
        for row in rows(args.seeds, log=sys.stderr, variants=variants):
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
            f.flush()
    load = os.getloadavg()
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s; load average {load[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
