"""The streaming, memory and Dask benchmark scripts (notebook 10) still reproduce their committed CSV files.

Each runs a reduced slice in a process of its own. A file apart from ``test_benchmarks.py`` so that ``make test``'s
two workers, which take a file at a time, share the benchmark reproductions.
"""

import subprocess
import sys

import pytest

from helpers.tables import read_csv

from .conftest import BENCHMARKS
from .test_benchmarks import _committed

pytestmark = pytest.mark.end_to_end

# ---- streaming, memory and Dask (notebook 10): the scripts run in a process of their own -------------------------


def _rerun(script: str, tmp_path, *args: str) -> tuple[list[dict], list[dict]]:
    """Run a benchmark script's reduced slice; return its rows and the committed CSV's rows."""
    out = tmp_path / f"{script}.csv"
    subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{script}.py"), "--scale", "small", "--csv", str(out), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return read_csv(out), read_csv(BENCHMARKS / f"{script}.csv")


def test_dask_scaling_reproduces_its_csv(tmp_path):
    """The same folder and work (patches described, matrices equal); the timings are this machine's own."""
    rows, committed = _rerun("dask_scaling", tmp_path, "--configs", "process 1 thread")
    assert rows
    for row in rows:
        same = [c for c in committed if (c["images"], c["config"]) == (row["images"], row["config"])]
        assert same and all(c["patches"] == row["patches"] and c["equal"] is True for c in same)
        assert row["equal"] is True


def test_memory_reproduces_its_csv(tmp_path):
    rows, committed = _rerun("memory", tmp_path)
    assert rows
    for row in rows:
        old = _committed(row, committed, ("images", "k"))
        for key in ("described", "skipped", "decoded_mb", "matrix_mb"):
            assert row[key] == old[key], key


def test_dask_codebook_reproduces_its_csv(tmp_path):
    rows, committed = _rerun("dask_codebook", tmp_path, "--threads")
    assert {row["method"] for row in rows} == {"fit", "partial_fit", "dask"}
    for row in rows:
        old = _committed(row, committed, ("images", "k", "epochs", "seed", "method"))
        assert row["steps"] == old["steps"] and row["heldout_patches"] == old["heldout_patches"]
        assert row["heldout_psnr"] == pytest.approx(old["heldout_psnr"], abs=0.01)


def test_n2_wall_reproduces_its_csv(tmp_path):
    rows, committed = _rerun("n2_wall", tmp_path, "--in-process")
    assert rows
    for row in rows:
        old = _committed(row, committed, ("folder", "step", "images", "param"))
        assert row["score"] == pytest.approx(old["score"], abs=0.02), (row["step"], row["param"])


def test_blas_agreement_reproduces_its_csv(tmp_path):
    rows, committed = _rerun("blas_agreement", tmp_path)
    assert rows
    for row in rows:
        old = _committed(row, committed, ("images", "k", "setting"))
        assert row["patches"] == old["patches"] and row["reference_codebook_equal"] is True


@pytest.mark.parametrize("name", ["blas_agreement", "dask_scaling", "memory", "n2_wall"])
def test_csv_header_names_kernel_threads_and_lock(name):
    """Every run of notebook 10's benchmark CSVs states its command, kernel, BLAS threads and requirements.lock hash."""
    comments = [line for line in open(BENCHMARKS / f"{name}.csv") if line.startswith("# ")]
    assert any(".venv/bin/python benchmarks/" in line for line in comments)
    runs = sorted({int(line.split()[2].rstrip(":")) for line in comments if line.startswith("# run ")}) or [None]
    for run in runs:
        prefix = "# " if run is None else f"# run {run}: "
        line = next((line for line in comments if line.startswith(f"{prefix}kernel ")), None)
        assert line is not None, f"{name}.csv: no kernel line for run {run}"
        assert "BLAS threads" in line and "requirements.lock sha256 " in line, line
