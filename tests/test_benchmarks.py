"""The descriptor benchmarks still reproduce their committed CSV files: one cheap slice of each study."""

import importlib.util
from pathlib import Path

import pytest

import helpers
from helpers import evaluation as ev

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
spec = importlib.util.spec_from_file_location("descriptors_benchmark", BENCHMARKS / "descriptors.py")
descriptors_benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(descriptors_benchmark)

#: study: the variants of the slice (seed 0, tile task): cheap ones, and one with Coates & Ng's whitening.
SLICES = {
    "measures": ["colour histogram", "LBP", "tiny image"],
    "encodings": ["VLAD 64, power+intra"],
    "normalisation": ["gray, none", "gray, standardize + ZCA"],
}


@pytest.mark.parametrize("study", list(SLICES))
def test_a_slice_of_each_study_reproduces_its_csv(study, collection):
    stored = ev.read_results(BENCHMARKS / f"descriptors-{study}.csv")
    produced = list(descriptors_benchmark.rows(study, [0], ["tiles"], SLICES[study], images=collection))
    assert len(produced) == sum(len(descriptors_benchmark.studies()[study][v][1]) for v in SLICES[study])
    for row in produced:
        (match,) = [
            r
            for r in stored
            if (r["task"], r["variant"], r["readout"], r["seed"]) == (row["task"], row["variant"], row["readout"], 0)
        ]
        for key in descriptors_benchmark.MEASURES:  # other BLAS kernels move mAP and cophenetic by up to 4e-5
            assert row[key] == pytest.approx(match[key], abs=5e-4), (row["variant"], row["readout"], key)


def test_the_csv_files_cover_every_variant_seed_and_task():
    for study, variants in descriptors_benchmark.studies().items():
        stored = ev.read_results(BENCHMARKS / f"descriptors-{study}.csv")
        expected = {
            (task, variant, readout, seed)
            for task in ("tiles", "copies")
            for variant, (_, readouts) in variants.items()
            for readout in readouts
            for seed in descriptors_benchmark.STUDY_SEEDS[study]
        }
        assert {(r["task"], r["variant"], r["readout"], r["seed"]) for r in stored} == expected, study


def test_unknown_variants_are_named():
    with pytest.raises(SystemExit, match="unknown variant"):
        list(descriptors_benchmark.rows("measures", [0], ["tiles"], ["no such"], images=helpers.ImageList()))
