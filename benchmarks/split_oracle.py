"""What the gray/colour split of the sources is worth: retrieval with and without a gray/colour flag (notebook 08).

    OMP_NUM_THREADS=1 python benchmarks/split_oracle.py [--seeds 1 2 3 4] [--tasks tiles copies]
        [--variants NAME ...] [--out CSV]

Half of the tile task's sources are gray (three equal channels). A colour
descriptor can tell gray sources from colour ones for free; a gray one cannot.
To measure what that split alone is worth, each descriptor is scored twice on
the same items: as it is, and with the flag, i.e. with every item from the
other kind of source (gray for a colour query, colour for a gray one) pushed to
the end of every ranking. The difference is what knowing the split would add.

One row per task, variant, seed and flag (``no``/``yes``): p@5 and mAP (the copy
task's two halves weighted by their items, as ``helpers.evaluation`` does), and
for ``no`` the share of the wrong top-5 neighbours that come from the other
kind of source. Writes ``benchmarks/split-oracle.csv`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from descriptors import colour_and_lbp, studies
from results import command, write_csv
from sklearn.preprocessing import FunctionTransformer

import helpers
from helpers import evaluation as ev
from helpers.descriptors import tiny_images

HERE = Path(__file__).resolve().parent
BEST = "hard, colour, two scales"
HELLINGER = ("sqrt", "euclidean")
#: name: (descriptor, (norm, metric), tasks)
VARIANTS = {
    "lecture": (studies()["measures"]["lecture"][0], ("counts", "cosine"), ("tiles", "copies")),
    # the same codebook and counts read out as the histogram descriptors are (added later; its rows follow the others)
    "lecture, Hellinger": (studies()["measures"]["lecture"][0], HELLINGER, ("tiles", "copies")),
    "gray histogram": (FunctionTransformer(helpers.gray_hists), HELLINGER, ("tiles", "copies")),
    "colour histogram": (FunctionTransformer(helpers.colour_hists), HELLINGER, ("tiles", "copies")),
    "LBP": (FunctionTransformer(helpers.lbp_hists, kw_args={"radius": (1, 2, 3)}), HELLINGER, ("tiles", "copies")),
    "colour + LBP": (FunctionTransformer(colour_and_lbp), HELLINGER, ("tiles", "copies")),
    "tiny image": (FunctionTransformer(tiny_images), (None, "euclidean"), ("copies",)),
    BEST: (studies()["encodings"][BEST][0], HELLINGER, ("tiles", "copies")),
}


def gray_sources(images) -> set[str]:
    """The names of the images whose three channels are equal (as notebook 08 finds them)."""
    return {n for n, image in zip(images.names, images, strict=True) if np.ptp(image[..., :3] - image[..., :1]) == 0}


def rows(seeds, tasks, images=None, log=None, variants=None):
    """Yield one dict per task, variant, seed and flag (``variants``: names from VARIANTS; default all)."""
    images = helpers.load_images() if images is None else images
    gray = sorted(gray_sources(images))
    for seed in seeds:
        for task_name in tasks:
            task = (ev.tile_task if task_name == "tiles" else ev.copy_task)(seed, images)
            for variant, (descriptor, (norm, metric), where) in VARIANTS.items():
                if task_name not in where or (variants is not None and variant not in variants):
                    continue
                start = time.perf_counter()
                scores = {"no": [], "yes": []}
                wrong = crossing = 0
                for split in task:
                    X = ev.describe(descriptor, split, seed)
                    D = ev.distances(X if norm is None else helpers.normalize_hists(X, norm), metric)
                    is_gray = np.isin(split.labels, gray)
                    cross = is_gray[:, None] != is_gray[None]
                    nearest = np.argsort(np.where(np.eye(len(D), dtype=bool), np.inf, D), axis=1, kind="stable")[:, :5]
                    miss = split.labels[nearest] != split.labels[:, None]
                    wrong += miss.sum()
                    crossing += (miss & cross[np.arange(len(D))[:, None], nearest]).sum()
                    for flag, E in (("no", D), ("yes", D + np.where(cross, 1e6, 0.0))):
                        scores[flag].append(
                            (len(D), ev.precision_at_k(E, split.labels, 5), ev.mean_average_precision(E, split.labels))
                        )
                for flag, s in scores.items():
                    s = np.array(s)
                    p5, ap = (np.average(s[:, i], weights=s[:, 0]) for i in (1, 2))
                    share = f"{crossing / wrong:.6f}" if flag == "no" else ""
                    yield {"task": task_name, "variant": variant, "seed": seed, "flag": flag,
                           "p@5": f"{p5:.6f}", "map": f"{ap:.6f}", "wrong_crossing": share}  # fmt: skip
                if log:
                    print(f"  seed {seed} {task_name:6s} {variant:26s} {time.perf_counter() - start:6.1f} s", file=log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--tasks", nargs="+", choices=("tiles", "copies"), default=["tiles", "copies"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "split-oracle.csv")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = list(rows(args.seeds, args.tasks, log=sys.stderr, variants=args.variants))
    write_csv(args.out, out, [f"made by: OMP_NUM_THREADS=1 {command()}"])
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
