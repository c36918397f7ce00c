"""Rate-distortion of patch-codebook (VQ) coders and of real codecs on unseen images: the sweeps behind notebook 07.

    python benchmarks/codecs.py              # every part, writes benchmarks/codecs_*.csv (about 30 min)
    python benchmarks/codecs.py anchors vq   # some parts

Parts (each writes one CSV, whose first line says how to regenerate it):

* ``training``: held-out distortion of plain VQ codebooks (k-means of the raw
  r x r blocks of the 16 training images, grid step r/2) against the number of
  training blocks, flips and rotations, k-means passes, K and r.
* ``kmeans``: k-means settings (the lecture's, scikit-learn's defaults, notebook
  07's, full Lloyd iterations) on the same blocks, three seeds each.
* ``tuning``: the mean-removed two-stage coder on 4 *validation* images (the
  codebook fitted to the other 12 training images) at several steps of the
  block means, the data behind :meth:`helpers.compression.PatchCoder.mean_step`.
* ``choice``: each coder of ``vq`` fitted on the 12 training images outside
  the validation set and run on the 4 validation images: the data notebook 07
  chooses its best coder on, so that the test images only report it.
* ``anchors``: JPEG (libjpeg-turbo, with and without headers), JPEG 2000, WebP, AVIF and
  JPEG at half size on each test image at many settings.
* ``mozjpeg``: JPEG written by mozjpeg (through jpeglib, with ``+FORCE_BASELINE``: 8-bit
  quantisation tables, as ITU-T T.81 requires) on each test image at every quality from 1 to 95,
  the stronger JPEG anchor; its own part, since ``anchors`` takes hours (AVIF).
* ``vq``: the VQ coders of notebook 07 on each test image at many values of lam.

The test images are those of notebook 07; their blocks are not used in training, and the
coder and its mean step are chosen on the validation images, but the ``training`` part's
held-out blocks are the test images' own, so the training settings were read off them
(notebook 07 says so). Everything is seeded; the rows do not depend on the machine beyond
floating-point rounding of the k-means (see notebook 07).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from results import provenance

import helpers
from helpers import coder as vq
from helpers import compression
from helpers.codebook import steady_kmeans, untie

HERE = Path(__file__).resolve().parent
TEST = ["camera", "coffee", "text", "grass", "moon"]
VALIDATION = ["astronaut", "brick", "chelsea", "page"]
#: Values of lam, from 1.2x to 1.33x apart up to 0.1, so that a coder's consecutive rates mostly lie within 1.3x
#: of each other (notebook 07 leaves wider gaps blank); 0.2 and 0.5 lie beyond the range mean_step was tuned on.
LAMS = [0.0] + [round(m * 10.0**e, 6) for e in range(-4, -1) for m in (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8)]
LAMS += [0.1, 0.2, 0.5]
#: The coders of notebook 07: name -> PatchCoder parameters (K = 1024 code vectors of 8 x 8 blocks unless given).
CODERS = {
    "VQ": {"means": None},
    "mean-removed VQ": {"means": "block"},
    "mean-removed VQ, 2 stages": {"means": "block", "n_codes2": 256},
    "interpolated-mean VQ, 2 stages": {"means": "smooth", "n_codes2": 256},
    "mean-removed VQ 16 x 16, 2 stages": {
        "r": 16,
        "n_codes": 4096,
        "means": "block",
        "n_codes2": 1024,
        "augment": True,
    },
}
MAX_ITER = 2  # k-means passes over the training blocks (codecs_training.csv: 5 passes gain 0.03 dB over 2)


def split(names: list[str] | None = None):
    """(training grays, test grays by name) of the bundled collection: test on ``names``, train on the rest."""
    names = TEST if names is None else names
    images = helpers.load_images()
    train = [compression.gray8(im) for n, im in zip(images.names, images, strict=True) if n not in names]
    return train, {n: compression.gray8(images[n]) for n in names}


def write(path: Path, rows: list[dict], command: str) -> None:
    with open(path, "w", newline="") as f:
        f.write(f"# {command}\n# {provenance()}\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path.relative_to(HERE.parent)} ({len(rows)} rows)", flush=True)


def _row(codec: str, setting, name: str, gray: np.ndarray, decoded: np.ndarray, nbytes: int, **extra) -> dict:
    psnr, ssim = compression.scores(gray, decoded)
    return {
        "codec": codec,
        "setting": setting,
        "image": name,
        "bytes": nbytes,
        **extra,
        "bpp": f"{8 * nbytes / gray.size:.7f}",  # enough digits that rounding it again to 4 is exact
        "psnr": f"{psnr:.3f}",
        "ssim": f"{ssim:.4f}",
    }


# ---- parts ----


def training_rows(r_k_n: list[tuple[int, int, int | None, bool, int]]) -> list[dict]:
    """Held-out distortion of plain VQ for each (r, K, training blocks or None for all, augment, passes)."""

    train, tests = split()
    rows, blocks = [], {}
    for r, k, n, augment, passes in r_k_n:
        if (r, augment) not in blocks:
            coder = compression.PatchCoder(r=r, means=None, augment=augment)
            x = coder._training_blocks(train)[0].astype(np.float64)
            held = np.concatenate(
                [
                    vq._blocks(g[: g.shape[0] // r * r, : g.shape[1] // r * r], r).reshape(-1, r * r)
                    for g in tests.values()
                ]
            ).astype(np.float64)
            blocks[r, augment] = x, held
        x, held = blocks[r, augment]
        sample = x if n is None else x[np.random.default_rng(0).permutation(len(x))[:n]]
        start = time.perf_counter()
        km = steady_kmeans(k, batch_size=4096, max_iter=passes, random_state=0).fit(untie(sample, 0))
        seconds = time.perf_counter() - start
        centres = km.cluster_centers_.astype(np.float32).astype(np.float64)
        mse = {}
        for label, data in (("train", sample[:200_000].astype(np.float64)), ("held_out", held)):
            codes = vq._nearest(data, centres, np.zeros(k))
            mse[label] = float(np.mean((data - centres[codes]) ** 2))
        rows.append(
            {
                "r": r,
                "k": k,
                "n_train": len(sample),
                "augment": int(augment),
                "passes": passes,
                "train_mse": f"{mse['train']:.6f}",
                "held_out_mse": f"{mse['held_out']:.6f}",
                "held_out_psnr": f"{10 * np.log10(1 / mse['held_out']):.3f}",
            }
        )
        print(rows[-1], f"{seconds:.1f} s", flush=True)
    return rows


TRAINING = (
    [(8, 1024, n, False, 2) for n in (12_500, 25_000, 50_000, 100_000, None)]
    + [(8, 1024, None, True, 2), (8, 1024, None, False, 1), (8, 1024, None, False, 5)]
    + [(8, k, None, False, 2) for k in (64, 256, 4096)]
    + [(4, k, None, False, 2) for k in (64, 256, 1024)]
    + [(16, k, None, False, 2) for k in (256, 1024, 4096)]
)


def kmeans_rows(n: int | None = 50_000, k: int = 1024) -> list[dict]:
    """k-means settings on n of the raw 8 x 8 grid blocks (few enough for full Lloyd iterations), three seeds each."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    train, tests = split()
    x = compression.PatchCoder(means=None)._training_blocks(train)[0].astype(np.float64)
    x = x if n is None else x[np.random.default_rng(0).permutation(len(x))[:n]]
    held = np.concatenate(
        [vq._blocks(g[: g.shape[0] // 8 * 8, : g.shape[1] // 8 * 8], 8).reshape(-1, 64) for g in tests.values()]
    )
    lecture = {"batch_size": 100, "n_init": 3, "max_iter": 100, "init_size": 3 * k}  # the lecture's printed defaults
    settings = [("lecture", s, MiniBatchKMeans(k, random_state=s, **lecture)) for s in (0, 1, 2)]
    settings += [("scikit-learn defaults", s, MiniBatchKMeans(k, random_state=s)) for s in (0, 1, 2)]
    settings += [
        (
            f"notebook 07 ({MAX_ITER} passes)",
            s,
            MiniBatchKMeans(k, batch_size=4096, max_iter=MAX_ITER, n_init=1, init_size=3 * k, random_state=s),
        )
        for s in (0, 1, 2)
    ]
    settings += [("Lloyd (KMeans)", 0, KMeans(k, random_state=0))]
    rows = []
    for name, seed, estimator in settings:
        start = time.perf_counter()
        estimator.fit(x)
        seconds = time.perf_counter() - start
        centres = estimator.cluster_centers_.astype(np.float64)
        mse = {}
        for label, data in (("train", x.astype(np.float64)), ("held_out", held.astype(np.float64))):
            mse[label] = float(np.mean((data - centres[vq._nearest(data, centres, np.zeros(k))]) ** 2))
        steps = estimator.n_steps_ if hasattr(estimator, "n_steps_") else estimator.n_iter_
        rows.append(
            {
                "setting": name,
                "seed": seed,
                "n_train": len(x),
                "k": k,
                "updates": steps,
                "patches_seen": steps * getattr(estimator, "batch_size", len(x)),
                "seconds": f"{seconds:.1f}",
                "train_mse": f"{mse['train']:.6f}",
                "held_out_psnr": f"{10 * np.log10(1 / mse['held_out']):.3f}",
            }
        )
        print(rows[-1], flush=True)
    return rows


def _coded_rows(coder, label: str, name: str, gray: np.ndarray, lams) -> list[dict]:
    """One row per lambda: ``gray`` coded and decoded by ``coder``, its bytes and the decoder's table bytes."""
    rows = []
    for lam in lams:
        data = coder.encode(gray, lam)
        rows.append(_row(label, lam, name, gray, coder.decode(data), len(data), table_bytes=coder.table_bytes(lam)))
    return rows


def choice_rows(lams=LAMS) -> list[dict]:
    """Each coder of notebook 07 fitted without the validation images and run on them: the data it is chosen on."""
    train, val = split(TEST + VALIDATION)
    rows = []
    for label, params in CODERS.items():
        coder = compression.PatchCoder(max_iter=MAX_ITER, **params).fit(train)
        for name in VALIDATION:
            rows += _coded_rows(coder, label, name, val[name], lams)
        print(f"choice: {label} done", flush=True)
    return rows


def tuning_rows(lams=(0.003, 0.01, 0.03, 0.1), steps=(2, 4, 8, 12, 16, 24, 32)) -> list[dict]:
    train, val = split(TEST + VALIDATION)
    val = {n: g for n, g in val.items() if n in VALIDATION}
    coder = compression.PatchCoder(max_iter=MAX_ITER, **CODERS["mean-removed VQ, 2 stages"]).fit(train)
    rows = []
    for lam in lams:
        for step in steps:
            for name, gray in val.items():
                data = coder.encode(gray, lam, step)
                rows.append(
                    _row("mean-removed VQ, 2 stages", lam, name, gray, coder.decode(data), len(data), mean_step=step)
                )
        print(f"tuning lam {lam} done", flush=True)
    return rows


def anchor_rows(images: list[str] | None = None, settings: dict | None = None) -> list[dict]:
    _, tests = split()
    settings = settings or {
        "JPEG": list(range(1, 96)),
        "JPEG, half size": list(range(1, 96)),
        "JPEG 2000": [round(float(b), 4) for b in np.geomspace(0.02, 1.0, 41)],  # 1.1x apart
        # every quality at the low end, where one step changes the rate most; then steps of 4
        "WebP": list(range(0, 20)) + list(range(20, 101, 4)),
        "AVIF": list(range(0, 40)) + list(range(40, 73, 4)),  # q 72: 0.46 (moon) to 2.7 bpp (grass); speed 0 is slow
    }
    rows = []
    for name in images or TEST:
        gray = tests[name]
        for codec, values in settings.items():
            for setting in values:
                decoded, data = compression.anchor_roundtrip(gray, codec, setting)
                scan = compression.jpeg_scan_bytes(data) if codec in ("JPEG", "JPEG (mozjpeg)") else ""
                rows.append(_row(codec, setting, name, gray, decoded, len(data), scan_bytes=scan))
            print(f"anchors: {name}, {codec} done", flush=True)
    return rows


#: The best coder again with other k-means seeds (codec "<name>, seed <s>"), for the spread over seeds.
SEEDS = {"mean-removed VQ, 2 stages": (1, 2)}


def vq_rows(
    coders: list[str] | None = None, lams=LAMS, images: list[str] | None = None, seeds: dict | None = None
) -> list[dict]:
    train, tests = split()
    rows = []
    runs = [(label, 0) for label in coders or CODERS]
    runs += [(label, s) for label, ss in (SEEDS if seeds is None else seeds).items() for s in ss]
    for base, seed in runs:
        label = base if seed == 0 else f"{base}, seed {seed}"
        start = time.perf_counter()
        coder = compression.PatchCoder(max_iter=MAX_ITER, random_state=seed, **CODERS[base]).fit(train)
        print(f"{label}: fitted to {coder.n_train_} blocks in {time.perf_counter() - start:.1f} s", flush=True)
        for name in images or TEST:
            gray = tests[name]
            if label == "VQ":  # fixed-length indices: log2(K) bits per block, the header as for the coder
                data = coder.encode(gray, 0.0)
                blocks = -(-gray.shape[0] // 8) * -(-gray.shape[1] // 8)
                nbytes = vq._HEADER.size + -(-blocks * 10 // 8)
                rows.append(_row("VQ, fixed-length", 0, name, gray, coder.decode(data), nbytes, table_bytes=""))
            rows += _coded_rows(coder, label, name, gray, lams)
        print(f"{label} done", flush=True)
    return rows


PARTS = {
    "training": (lambda: training_rows(TRAINING), "codecs_training.csv"),
    "kmeans": (kmeans_rows, "codecs_kmeans.csv"),
    "tuning": (tuning_rows, "codecs_tuning.csv"),
    "choice": (choice_rows, "codecs_choice.csv"),
    "anchors": (anchor_rows, "codecs_anchors.csv"),
    "mozjpeg": (lambda: anchor_rows(settings={"JPEG (mozjpeg)": list(range(1, 96))}), "codecs_mozjpeg.csv"),
    "vq": (vq_rows, "codecs_vq.csv"),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from {list(PARTS)}")
    for part in args.parts or PARTS:
        start = time.perf_counter()
        make, filename = PARTS[part]
        write(HERE / filename, make(), f"regenerate: .venv/bin/python benchmarks/codecs.py {part}")
        print(f"{part}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
