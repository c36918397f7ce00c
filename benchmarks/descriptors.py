"""The descriptor studies of notebooks 06, 08 and 11, on the protocol of `helpers.evaluation`, over seeds.

    python benchmarks/descriptors.py STUDY [--seeds 0 1 2 3 4] [--tasks tiles copies] [--only VARIANT ...] [--out CSV]

STUDY is one of

* ``normalisation`` (notebook 06): the lecture's ``pnorm`` lines, contrast normalisation with ZCA whitening at
  Coates & Ng's constant, and Coates, Lee & Ng's (AISTATS 2011) recipe with the whitening regulariser swept
  (relative to the mean eigenvalue) and at their own absolute value;
* ``measures`` (notebook 08): the lecture's descriptor read out with every normalisation, distance and
  linkage, and the baselines that need no codebook (gray, colour and LBP histograms, tiny images);
* ``encodings`` (notebook 11): hard and triangle assignment, spatial pyramids, VLAD and its normalisations
  and sizes, colour patches and two scales, all on Coates & Ng's normalised and whitened patches.

Each variant is fitted once per task and seed (`helpers.evaluation.describe`) and scored with each of its
readouts (normalisation, distance, linkage; `helpers.evaluation.score_task`). The rows go to
``benchmarks/descriptors-STUDY.csv`` (or ``--out``), headed by the command that made them; one row per task,
variant, readout and seed. ``--only`` and one seed give a slice to check against the committed CSV
(``tests/test_benchmarks.py``). Run with one BLAS thread (``OMP_NUM_THREADS=1``) on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

from results import provenance
from sklearn.preprocessing import FunctionTransformer

import helpers
from helpers import ZCA, PatchCodebook
from helpers import evaluation as ev
from helpers.descriptors import tiny_images

HERE = Path(__file__).resolve().parent
MEASURES = ("p@5", "map", "ari", "nmi", "purity", "cophenetic", "accuracy")

#: Readouts: how descriptor rows are normalised, compared and clustered.
LECTURE = {"lecture": ("counts", "cosine", "average")}
HELLINGER = {"hellinger": ("sqrt", "euclidean", "average"), "hellinger ward": ("sqrt", "euclidean", "ward")}
VLAD = {"euclidean": (None, "euclidean", "average"), "euclidean ward": (None, "euclidean", "ward")}
HISTOGRAM = HELLINGER | {"l1 chi2": ("l1", "chi2", "average")}
#: Counts scaled to unit length, compared as VLAD is (VLAD "l2": the same normalisation and distance).
L2 = {"l2 euclidean": ("l2", "euclidean", "average"), "l2 euclidean ward": ("l2", "euclidean", "ward")}
ALL_READOUTS = {
    **{f"{n} {m}": (n, m, "average") for n in ("counts", "l1", "sqrt") for m in ("cosine", "euclidean", "chi2")},
    **{f"counts cosine {method}": ("counts", "cosine", method) for method in ("single", "complete", "weighted")},
    **{f"sqrt euclidean {method}": ("sqrt", "euclidean", method) for method in ("single", "complete", "weighted")},
    "sqrt euclidean ward": ("sqrt", "euclidean", "ward"),
}


def lbp_multiscale(images):
    """Ojala et al.'s multiresolution uniform LBP: (8, 1), (16, 2), (24, 3)."""
    return helpers.lbp_hists(images, radius=(1, 2, 3))


def colour_and_lbp(images):
    """A colour histogram and the multiresolution LBP histogram, side by side (each half of the mass)."""
    import numpy as np

    return np.hstack([helpers.colour_hists(images) / 2, lbp_multiscale(images) / 2])


def colour_hists_8(images):
    """The joint RGB histogram with 8 intervals per channel (512 cells)."""
    return helpers.colour_hists(images, bins=8)


#: Coates & Ng's whitening: eps = 0.1 on contrast-normalised patches, absolute (kmeans_demo.m: diag(D) + 0.1).
CN_WHITEN = ZCA(0.1, relative=False)


def coates_ng(whiten, colour=True):
    """Coates, Lee & Ng (AISTATS 2011): contrast normalisation (+10 on 0-255), ZCA, K = 1600, triangle, quadrants."""
    return PatchCodebook(
        n_codes=1600, norm="standardize", colour=colour, whiten=whiten, encoding="triangle", pyramid=(2,)
    )


#: Seeds of each study.
STUDY_SEEDS = {"normalisation": ev.SEEDS, "measures": ev.SEEDS, "encodings": ev.SEEDS, "colour": ev.SEEDS}


def colour_sources(images):
    """The images whose three channels are not all equal: the "colour" study's sources (10 of the 20)."""
    import numpy as np

    keep = [i for i, image in enumerate(images) if np.ptp(image[..., :3] - image[..., :1]) > 0]
    return helpers.ImageList([images[i] for i in keep], [images.names[i] for i in keep])


#: The base of the encodings study: Coates & Ng's contrast normalisation and whitening, gray 8 x 8 patches.
BASE = dict(norm="standardize", whiten=CN_WHITEN)


def studies() -> dict[str, dict[str, tuple]]:
    """study: variant: (descriptor, readouts)."""
    return {
        "normalisation": {
            **{f"gray, {norm}": (PatchCodebook(norm=norm), LECTURE | HELLINGER) for norm in helpers.NORMS},
            "gray, standardize + ZCA": (PatchCodebook(**BASE), LECTURE | HELLINGER),
            "C&N gray, no ZCA": (coates_ng(None, colour=False), LECTURE | HELLINGER),
            **{
                f"C&N gray, ZCA {w} x mean eigenvalue": (coates_ng(w, colour=False), LECTURE | HELLINGER)
                for w in (0.01, 0.1, 1.0)
            },
            "C&N gray, ZCA 0.1 (theirs)": (coates_ng(CN_WHITEN, colour=False), LECTURE | HELLINGER),
            "C&N colour, no ZCA": (coates_ng(None), LECTURE | HELLINGER),
            "C&N colour, ZCA 0.1 (theirs)": (coates_ng(CN_WHITEN), LECTURE | HELLINGER),
            "C&N colour, ZCA 0.1 (theirs), all patches": (
                coates_ng(CN_WHITEN).set_params(n_patches=None),
                LECTURE | HELLINGER,
            ),
        },
        "measures": {
            "lecture": (PatchCodebook(), ALL_READOUTS),
            "gray histogram": (FunctionTransformer(helpers.gray_hists), HISTOGRAM),
            "colour histogram": (FunctionTransformer(helpers.colour_hists), HISTOGRAM),
            "colour histogram, 8 bins": (FunctionTransformer(colour_hists_8), HISTOGRAM),
            "LBP": (FunctionTransformer(lbp_multiscale), HISTOGRAM),
            "colour + LBP": (FunctionTransformer(colour_and_lbp), HISTOGRAM),
            "tiny image": (FunctionTransformer(tiny_images), VLAD),
        },
        "encodings": {
            "hard": (PatchCodebook(**BASE), HELLINGER),
            "triangle": (PatchCodebook(**BASE, encoding="triangle"), HELLINGER),
            "hard, quadrants": (PatchCodebook(**BASE, pyramid=(2,)), HELLINGER),
            "hard, pyramid 1+2": (PatchCodebook(**BASE, pyramid=(1, 2)), HELLINGER),
            "hard, pyramid 1+2+4": (PatchCodebook(**BASE, pyramid=(1, 2, 4)), HELLINGER),
            "triangle, quadrants": (PatchCodebook(**BASE, encoding="triangle", pyramid=(2,)), HELLINGER),
            "hard, K 64": (PatchCodebook(64, **BASE), HELLINGER | L2),
            **{
                f"VLAD 64, {steps}": (PatchCodebook(64, **BASE, encoding="vlad", vlad_norm=steps), VLAD)
                for steps in ("l2", "power", "intra", "power+intra")
            },
            **{f"VLAD {k}, power+intra": (PatchCodebook(k, **BASE, encoding="vlad"), VLAD) for k in (16, 256)},
            "hard, two scales": (PatchCodebook(**BASE, scales=(1, 0.5)), HELLINGER),
            "hard, colour": (PatchCodebook(**BASE, colour=True), HELLINGER),
            "hard, colour, two scales": (PatchCodebook(**BASE, colour=True, scales=(1, 0.5)), HELLINGER),
            "triangle, colour": (PatchCodebook(**BASE, colour=True, encoding="triangle"), HELLINGER),
        },
        "colour": {  # on the colour sources only (colour_sources), where gray against colour tells nothing
            "hard": (PatchCodebook(**BASE), HELLINGER),
            "hard, colour": (PatchCodebook(**BASE, colour=True), HELLINGER),
            "hard, colour, two scales": (PatchCodebook(**BASE, colour=True, scales=(1, 0.5)), HELLINGER),
            "gray histogram": (FunctionTransformer(helpers.gray_hists), HELLINGER),
            "colour histogram": (FunctionTransformer(helpers.colour_hists), HELLINGER),
            "LBP": (FunctionTransformer(lbp_multiscale), HELLINGER),
            "colour + LBP": (FunctionTransformer(colour_and_lbp), HELLINGER),
        },
    }


def rows(study: str, seeds, tasks, only=None, images=None, log=None):
    """Yield one dict per task, variant, readout and seed of a study (``only``: just these variants)."""
    variants = studies()[study]
    unknown = set(only or ()) - set(variants)
    if unknown:
        raise SystemExit(f"unknown variant(s) {sorted(unknown)} of study {study!r}; choose from {list(variants)}")
    chosen = {name: v for name, v in variants.items() if not only or name in only}
    if study == "colour":
        images = colour_sources(helpers.load_images() if images is None else images)
    yield from run_variants(chosen, seeds, tasks, images, log)


def run_variants(variants: dict, seeds, tasks, images=None, log=None):
    """Yield one dict per task, variant, readout and seed; ``variants``: name: (descriptor, readouts).

    Each descriptor is fitted and run once per task and seed; every readout, a
    (norm, metric, method) triple for :func:`helpers.evaluation.score_task`, scores that one description.
    Usable by other studies (e.g. interest points) with variants of their own.
    """
    images = helpers.load_images() if images is None else images
    makers = {"tiles": ev.tile_task, "copies": ev.copy_task}
    for seed in seeds:
        for task_name in tasks:
            task = makers[task_name](seed, images)
            for variant, (descriptor, readouts) in variants.items():
                start = time.perf_counter()
                described = [ev.describe(descriptor, split, seed) for split in task]
                for readout, (norm, metric, method) in readouts.items():
                    scores = ev.score_task(
                        task, described, seed, norm=norm, metric=metric, method=method, classify=task_name == "tiles"
                    )
                    yield {"task": task_name, "variant": variant, "readout": readout, "seed": seed} | scores
                if log:
                    print(f"  seed {seed} {task_name:6s} {variant:32s} {time.perf_counter() - start:6.1f} s", file=log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=list(studies()))
    parser.add_argument("--seeds", type=int, nargs="+", help="default: STUDY_SEEDS of the study")
    parser.add_argument("--tasks", nargs="+", choices=["tiles", "copies"], default=["tiles", "copies"])
    parser.add_argument("--only", nargs="+", help="variants to run (default: all)")
    parser.add_argument("--out", type=Path, help="CSV to write (default: benchmarks/descriptors-STUDY.csv)")
    args = parser.parse_args(argv)
    out = args.out or HERE / f"descriptors-{args.study}.csv"
    command = "OMP_NUM_THREADS=1 python benchmarks/descriptors.py " + " ".join(argv or sys.argv[1:])
    start = time.perf_counter()
    with out.open("w", newline="") as f:
        f.write(f"# made by: {command}\n# {provenance()}\n")
        writer = csv.DictWriter(
            f, ["task", "variant", "readout", "seed", *MEASURES], extrasaction="raise", lineterminator="\n"
        )
        writer.writeheader()
        seeds = args.seeds or STUDY_SEEDS[args.study]
        for row in rows(args.study, seeds, args.tasks, args.only, log=sys.stderr):
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
            f.flush()
    load = os.getloadavg()
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s; load average {load[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
