"""What the CSV-writing benchmark scripts share: the CSV format, peak memory, the machine's load.

Each CSV starts with ``#`` comment lines: the command that regenerates it, the
machine, and the load average; then a header and one row per measurement.
``read_csv`` (:func:`helpers.tables.read_csv`) returns the rows as dicts of int, float, bool or str.
"""

from __future__ import annotations

import csv
import os
import platform
import resource
import sys
from pathlib import Path

from helpers.tables import read_csv  # noqa: F401  (the one reader of these files)

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux: ``VmHWM`` of ``/proc/self/status``. Not ``ru_maxrss``: on Linux that
    survives ``exec``, so a child started by a big parent would start from the
    parent's size. Elsewhere: ``ru_maxrss`` (KB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        scale = 2**20 if sys.platform == "darwin" else 2**10
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def load() -> float:
    """The load average over the last minute: processes wanting a core (this one and its children included)."""
    return os.getloadavg()[0]


class OtherLoad:
    """How many cores other processes kept busy while a block ran: ``with OtherLoad() as other: ...; other.cores``.

    The machine's busy CPU time (``/proc/stat``) minus that of this process and
    its children (e.g. Dask workers), divided by the wall-clock time. 0 means
    the rest of the machine was idle; NaN where ``/proc/stat`` is missing.
    """

    def _read(self) -> tuple[float, float, float]:
        import time

        import psutil

        mine = 0.0
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                mine += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        try:
            with open("/proc/stat") as f:
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
            busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            busy = float("nan")
        return time.perf_counter(), busy, mine

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc) -> None:
        end = self._read()
        wall, busy, mine = (b - a for a, b in zip(self._start, end, strict=True))
        self.cores = max(0.0, (busy - mine) / wall) if wall > 0 else float("nan")


def machine() -> str:
    """One line: CPU, cores, memory, Python, NumPy, BLAS (kernel, threads) and ``OPENBLAS_CORETYPE``."""
    import numpy as np
    from threadpoolctl import threadpool_info

    cpu, mem = platform.processor() or platform.machine(), "RAM unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    import scipy.linalg  # noqa: F401  (SciPy brings its own BLAS)

    blas = sorted(
        f"{Path(i['filepath']).parent.name.removesuffix('.libs')}: {i['internal_api']} {i.get('version')} "
        f"({i.get('architecture')}, {i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {mem}; Python {platform.python_version()}, NumPy {np.__version__}; "
        f"BLAS {'; '.join(blas) or 'unknown'}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )


def provenance() -> str:
    """One line: numpy's BLAS kernel and threads, ``OMP_NUM_THREADS`` and the hash of ``requirements.lock``."""
    import hashlib

    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    from threadpoolctl import threadpool_info

    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), {})
    lock = hashlib.sha256((HERE.parent / "requirements.lock").read_bytes()).hexdigest()[:16]
    return (
        f"kernel {blas.get('architecture', 'unknown')} (OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}), {blas.get('num_threads', '?')} BLAS threads, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; requirements.lock sha256 {lock}"
    )


def write_csv(path: str | Path, rows: list[dict], comments: list[str]) -> None:
    """Write rows (dicts with the same keys) after ``# `` comment lines and the :func:`provenance` line."""
    with open(path, "w", newline="") as f:
        f.writelines(f"# {line}\n" for line in [*comments, provenance()])
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def command(argv: list[str] | None = None) -> str:
    """The command line that ran this script, as a user would type it from the project folder."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    try:
        script = script.relative_to(HERE.parent)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *argv[1:]])
