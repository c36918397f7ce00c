"""Project-wide pytest setup, loaded before any test runs and before nbval starts a kernel.

- Thread policy: BLAS and OpenMP threads default to 1 for this process and for
  every kernel nbval starts (kernels inherit the environment); variables that
  are already set win (``tools/kernel_env.py``).
- nbval compares printed decimals to within one unit of their last digit,
  everything else exactly (``tools/nbval_tolerance.py``; ``--nbval-exact``
  turns that off).
"""

import pytest

from tools.kernel_env import set_thread_defaults

set_thread_defaults()

pytest_plugins = ["tools.nbval_tolerance"]

#: Whether the stored notebooks were written by the current ``tools/notebooks.py``
#: (``make notebooks``): with the kernel's full ``language_info`` and the widget state
#: in their metadata, and the widgets' text fallback in their outputs. Until then the
#: tests marked ``stored_notebooks`` are expected to fail (strict: once they pass,
#: pytest reports it, and this must be set to True).
STORED_NOTEBOOKS_REFRESHED = True


def pytest_collection_modifyitems(config, items):
    if STORED_NOTEBOOKS_REFRESHED:
        return
    pending = pytest.mark.xfail(
        reason="the stored notebooks predate tools/notebooks.py's metadata: run `make notebooks`, "
        "then set STORED_NOTEBOOKS_REFRESHED = True in conftest.py",
        strict=True,
    )
    for item in items:
        if item.get_closest_marker("stored_notebooks"):
            item.add_marker(pending)
