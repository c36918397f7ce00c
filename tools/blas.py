"""Which OpenBLAS kernel type ("core") numpy uses on this machine, and another one it can run.

    python tools/blas.py           # the core type in use, e.g. Haswell or SkylakeX
    python tools/blas.py other     # another core type this CPU runs, for OPENBLAS_CORETYPE=...

The printed numbers of the notebooks depend on it in their last digits (the order of
sums differs between kernels). ``.ci/run`` runs the notebooks a second time under
``OPENBLAS_CORETYPE=$(python tools/blas.py other)``: Haswell (AVX2, most laptops),
or SkylakeX (AVX-512) where Haswell is the default, or Prescott (SSE3, any x86-64 CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

#: Candidates, in order of preference, with the CPU flags each needs (Linux /proc/cpuinfo names).
CORES = {"Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512bw", "avx512vl"}, "Prescott": {"sse3"}}


def current() -> str:
    """The core type of numpy's OpenBLAS ("" if numpy does not use OpenBLAS)."""
    import numpy  # noqa: F401  (loads its BLAS)
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("internal_api") == "openblas" and "numpy" in info.get("filepath", ""):
            return info.get("architecture") or ""
    return ""


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux; empty elsewhere). Linux calls SSE3 "pni"."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return flags | {"sse3"} if "pni" in flags else flags
    return set()


def other(in_use: str, flags: set[str]) -> str:
    """The first candidate that differs from ``in_use`` and that the CPU can run ("" if none).

    >>> other("SkylakeX", {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "sse3"})
    'Haswell'
    >>> other("Haswell", {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "sse3"})
    'SkylakeX'
    >>> other("Haswell", {"avx2", "fma", "sse3"})
    'Prescott'
    """
    return next((core for core, needs in CORES.items() if core.lower() != in_use.lower() and needs <= flags), "")


def main(argv: list[str]) -> int:
    in_use = current()
    if argv[:1] == ["other"]:
        choice = other(in_use, cpu_flags())
        if not choice:
            print(f"no other OpenBLAS core type known for this CPU (in use: {in_use or 'none'})", file=sys.stderr)
            return 1
        print(choice)
    else:
        print(in_use or "numpy does not use OpenBLAS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
