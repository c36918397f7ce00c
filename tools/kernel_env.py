"""The environment for the notebook kernels that the tests and the notebook runner start.

One place for the thread policy: ``pytest`` (the root ``conftest.py``, before
nbval starts a kernel) and ``tools/notebooks.py`` (before nbclient starts one)
both call :func:`set_thread_defaults`, and each kernel inherits ``os.environ``.

BLAS (OpenBLAS, MKL) and OpenMP (scikit-learn's k-means) run one thread each
unless the variable is already set: the problems in the notebooks are small,
and on a busy machine k-means threads that wait for each other made single
cells ten times slower. To check the notebooks with more threads, set the
variables, e.g. ``OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 make test``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: Thread-count variables and their default, used where the environment does not set them.
THREAD_DEFAULTS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def set_thread_defaults(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set each variable of :data:`THREAD_DEFAULTS` that ``environ`` lacks; return the values in force.

    >>> env = {"OMP_NUM_THREADS": "2"}
    >>> set_thread_defaults(env)
    {'OMP_NUM_THREADS': '2', 'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    """
    for name, value in THREAD_DEFAULTS.items():
        environ.setdefault(name, value)
    return {name: environ[name] for name in THREAD_DEFAULTS}
