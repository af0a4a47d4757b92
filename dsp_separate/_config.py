"""Numba compilation flags, in one place.

* ``cache=True``: compiled machine code is written next to the module (``__pycache__``) or,
  where the package directory is read-only, to numba's per-user cache directory
  (``NUMBA_CACHE_DIR`` overrides it), so a second process does not recompile.
* ``fastmath``: only the flags that allow reassociation and contraction.  ``nnan`` and
  ``ninf`` are deliberately left out so that NaN/Inf checks inside kernels keep working.
* ``error_model="numpy"``: division by zero gives inf/nan as in numpy instead of a Python
  exception check on every ``/``, which would stop LLVM from vectorising loops.  Kernels
  guard their divisions themselves.
* Nothing is compiled at import: kernels have no explicit signatures and compile on first
  call (each dtype once).
"""

from __future__ import annotations

import os

import numba

FASTMATH = {"contract", "reassoc", "nsz", "arcp"}

_PARALLEL_ENV = os.environ.get("DSP_SEPARATE_PARALLEL", "1").strip().lower()
#: Whether kernels that have a parallel version use it (``DSP_SEPARATE_PARALLEL=0`` disables).
PARALLEL = _PARALLEL_ENV not in {"0", "false", "no", "off"}


def jit(func=None, *, parallel: bool = False, nogil: bool = False):
    """``numba.njit`` with the package's flags: cache on, limited fastmath.

    ``nogil=True`` releases the GIL so that Python threads can run the kernel side by side
    (used for serial kernels that the caller threads itself, e.g. the STFT's chunks).
    """

    def wrap(f):
        return numba.njit(
            f,
            cache=True,
            fastmath=FASTMATH,
            error_model="numpy",
            nogil=nogil,
            parallel=parallel and PARALLEL,
        )

    return wrap if func is None else wrap(func)
