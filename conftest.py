"""Project-wide pytest setup, loaded before any test runs and before nbval starts a kernel.

- Thread policy: BLAS and OpenMP threads default to 1 for this process and for
  every kernel nbval starts (kernels inherit the environment); variables that
  are already set win (``tools/kernel_env.py``).
- nbval compares printed decimals to within one unit of their last digit,
  everything else exactly (``tools/nbval_tolerance.py``; ``--nbval-exact``
  turns that off).
"""

from tools.kernel_env import set_thread_defaults

set_thread_defaults()

pytest_plugins = ["tools.nbval_tolerance"]
