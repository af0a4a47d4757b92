"""Numba compilation flags, the numba threading layer and the package's own thread pool.

Compilation (:func:`jit`)
-------------------------
* ``cache=True``: compiled machine code is written next to the module (``__pycache__``) or,
  where that is not writable, to numba's per-user cache directory (``NUMBA_CACHE_DIR``
  overrides both), so a second process does not recompile.  Where no location at all can be
  written, kernels are compiled without a cache (one :class:`NumbaCacheWarning` per process)
  instead of failing at import.
* ``fastmath``: only the flags that allow reassociation and contraction.  ``nnan`` and
  ``ninf`` are deliberately left out so that NaN/Inf checks inside kernels keep working.
* ``error_model="numpy"``: division by zero gives inf/nan as in numpy instead of a Python
  exception check on every ``/``, which would stop LLVM from vectorising loops.  Kernels
  guard their divisions themselves.
* Nothing is compiled at import: kernels have no explicit signatures and compile on first
  call (each dtype once).
* ``DSP_SEPARATE_PARALLEL=0`` compiles the ``parallel=True`` kernels serially.  The switch is
  part of their cache key (their cache files get a ``__serial`` suffix), so a parallel build
  in the cache is never reused when the switch is off, and the other way round.

Threads
-------
Two kinds of parallelism are used:

* the package's own pool (:func:`in_threads`): plain Python threads running serial kernels
  that release the GIL (STFT chunks, HPSS median filters and transposes).  It is created on
  first use, shared by every caller, and dropped in a child process after ``fork()`` (a
  forked child has the pool object but not its threads, so it would wait forever).
* numba ``parallel=True`` kernels (Wiener EM, BSS Eval), which run on numba's threading
  layer.  Unless the user chose one (``NUMBA_THREADING_LAYER``), the package asks numba for
  a *fork-safe* layer: TBB where it is installed, otherwise numba's own ``workqueue`` on Linux
  (GNU OpenMP, numba's usual choice on Linux, kills a ``fork()``-ed child that runs a
  parallel kernel once the parent has run one; a ``multiprocessing`` pool with the "fork"
  start method is the obvious way to evaluate many tracks at once).  ``workqueue`` is not
  thread-safe -- two Python threads entering parallel kernels at once abort the process -- so
  while it is the active layer, calls to parallel kernels are serialised by one lock (each
  call still uses every core).
"""

from __future__ import annotations

import functools
import os
import threading
import types
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numba

FASTMATH = {"contract", "reassoc", "nsz", "arcp"}

_PARALLEL_ENV = os.environ.get("DSP_SEPARATE_PARALLEL", "1").strip().lower()
#: Whether kernels that have a parallel version use it (``DSP_SEPARATE_PARALLEL=0`` disables).
PARALLEL = _PARALLEL_ENV not in {"0", "false", "no", "off"}

# A fork-safe threading layer unless the user picked one (see the module docstring).  This
# only takes effect if nothing in the process has run a parallel numba function yet.
if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "forksafe"


class NumbaCacheWarning(UserWarning):
    """No writable location for numba's on-disk cache: kernels compile in every process."""


_CACHE_WARNED = False


def _without_cache_warning(name: str, exc: Exception) -> None:
    global _CACHE_WARNED
    if not _CACHE_WARNED:
        _CACHE_WARNED = True
        warnings.warn(
            f"numba cannot cache the compiled kernels ({exc}); they will be compiled in every "
            "new process.  Set NUMBA_CACHE_DIR to a writable directory to keep them.",
            NumbaCacheWarning,
            stacklevel=4,
        )


def _renamed(f, suffix: str):
    """A copy of function ``f`` whose qualified name ends in ``suffix`` (cache file names)."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__,
                           f.__closure__)
    functools.update_wrapper(g, f)
    g.__name__ = f.__name__ + suffix
    g.__qualname__ = f.__qualname__ + suffix
    return g


# ---------------------------------------------------------------------------- threading layer
_PARALLEL_CALL_LOCK = threading.Lock()
_LAYER = None  # numba's active threading layer, once known


def threading_layer() -> str:
    """Name of numba's threading layer (starting it if no parallel kernel has run yet)."""
    global _LAYER
    if _LAYER is None:
        try:
            _LAYER = numba.threading_layer()
        except ValueError:  # not started yet
            try:
                from numba.np.ufunc.parallel import _launch_threads

                _launch_threads()
                _LAYER = numba.threading_layer()
            except Exception:  # pragma: no cover - unknown numba internals: lock to be safe
                return "unknown"
    return _LAYER


def _reset_after_fork() -> None:
    """In a forked child: forget the pool (its threads stayed in the parent) and the locks."""
    global _POOL, _POOL_LOCK, _PARALLEL_CALL_LOCK, _LAYER, _FORKED, _BLAS_LOCK, _BLAS_LIMITER
    _POOL = None
    _POOL_LOCK = threading.Lock()
    _PARALLEL_CALL_LOCK = threading.Lock()
    _LAYER = None
    _FORKED = True
    _BLAS_LOCK = threading.Lock()
    _BLAS_LIMITER = None


# ------------------------------------------------------------- BLAS / OpenMP thread limits
# threadpoolctl (a dependency of scikit-learn, imported only here and only when needed)
# sets the thread count of the whole process, not of the calling thread, and OpenBLAS
# ignores a new count set from another thread while a limit is in force (measured: a
# restore from a second thread left BLAS at one thread for good).  So the package holds at
# most one limit at a time, and only the thread that set it restores it: a caller that
# enters while another's limit is in force uses that limit, and runs on unlimited once its
# owner has left (correct results, only possibly more threads than cores).
_FORKED = False  # this process is a forked child
_BLAS_LOCK = threading.Lock()
_BLAS_LIMITER = None  # the limit in force, set by the thread that will restore it


@contextmanager
def one_blas_thread():
    """BLAS runs one thread per call inside the block (for code that runs its own threads).

    Process-wide; the original count is restored by the block that set the limit.
    """
    global _BLAS_LIMITER
    mine = None
    with _BLAS_LOCK:
        if _BLAS_LIMITER is None:
            from threadpoolctl import threadpool_limits

            mine = _BLAS_LIMITER = threadpool_limits(1, user_api="blas")
    try:
        yield
    finally:
        if mine is not None:
            with _BLAS_LOCK:
                mine.restore_original_limits()
                _BLAS_LIMITER = None


def fork_safe_openmp():
    """Context for scikit-learn estimators that use OpenMP (``KMeans``).

    GNU OpenMP cannot start a thread team in a child forked from a process that had one
    (the child hangs): in a forked child the block runs with one OpenMP thread.  Elsewhere
    it changes nothing.
    """
    if not _FORKED:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="openmp")


class _SerialisedKernel:
    """A parallel dispatcher whose calls take one lock while numba's layer is ``workqueue``.

    Attribute access (``py_func``, ``signatures``, ...) goes to the numba dispatcher.
    """

    def __init__(self, dispatcher):
        self._dispatcher = dispatcher
        functools.update_wrapper(self, dispatcher.py_func)

    def __call__(self, *args):
        if threading_layer() in ("tbb", "omp"):
            return self._dispatcher(*args)
        with _PARALLEL_CALL_LOCK:
            return self._dispatcher(*args)

    def __getattr__(self, name):
        return getattr(self._dispatcher, name)

    def __repr__(self) -> str:
        return f"<serialised-on-workqueue {self._dispatcher!r}>"


def jit(func=None, *, parallel: bool = False, nogil: bool = False):
    """``numba.njit`` with the package's flags: cache on (where possible), limited fastmath.

    ``nogil=True`` releases the GIL so that Python threads can run the kernel side by side
    (serial kernels that :func:`in_threads` runs in the package's pool).  ``parallel=True``
    kernels are compiled parallel unless ``DSP_SEPARATE_PARALLEL=0``, and are wrapped so that
    concurrent calls are serialised where numba's threading layer is not thread-safe.
    """

    def wrap(f):
        par = parallel and PARALLEL
        if parallel and not par:
            f = _renamed(f, "__serial")  # the switch is part of the cache key
        options = dict(fastmath=FASTMATH, error_model="numpy", nogil=nogil, parallel=par)
        try:
            dispatcher = numba.njit(f, cache=True, **options)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if "cannot cache" not in str(exc):
                raise
            _without_cache_warning(f.__qualname__, exc)
            dispatcher = numba.njit(f, cache=False, **options)
        if par and isinstance(dispatcher, numba.core.dispatcher.Dispatcher):
            return _SerialisedKernel(dispatcher)
        return dispatcher  # (with NUMBA_DISABLE_JIT=1: the Python function itself)

    return wrap if func is None else wrap(func)


# ---------------------------------------------------------------------------- thread pool
_POOL = None  # (ThreadPoolExecutor, its size), made on first threaded call
_POOL_LOCK = threading.Lock()

os.register_at_fork(after_in_child=_reset_after_fork)


_IN_POOL = threading.local()  # .active: this thread is running pool work


def _in_pool(work, lo, hi):
    _IN_POOL.active = True
    try:
        work(lo, hi)
    finally:
        _IN_POOL.active = False


def n_threads_for(n_items: int, min_items: int, workers: int = -1) -> int:
    """Threads :func:`in_threads` uses for ``n_items`` items, at least ``min_items`` each."""
    n = (os.cpu_count() or 1) if workers < 0 else workers
    return max(1, min(n, n_items // max(1, min_items)))


def in_threads(work, n_items: int, min_items: int, workers: int = -1) -> None:
    """Run ``work(lo, hi)`` over contiguous ranges of ``range(n_items)``, one per thread.

    ``workers`` threads (-1: one per core), but each gets at least ``min_items`` items: a
    small input runs in the calling thread.  ``work`` should spend its time in kernels that
    release the GIL.  The pool is shared by all callers (threads may call concurrently) and
    made anew in a forked child.  A call made from inside pool work runs serially in that
    thread (no deadlock when ``work`` itself calls this).  An exception in ``work`` is
    raised here.
    """
    global _POOL
    n_threads = n_threads_for(n_items, min_items, workers)
    if n_threads == 1 or getattr(_IN_POOL, "active", False):
        # one thread's worth, or already inside a pool thread: a pool thread never waits
        # for other pool work, so nested calls cannot deadlock the pool
        work(0, n_items)
        return
    with _POOL_LOCK:
        if _POOL is None or _POOL[1] < n_threads:
            size = max(n_threads, os.cpu_count() or 1)
            _POOL = (ThreadPoolExecutor(max_workers=size, thread_name_prefix="dsp_separate"),
                     size)
        pool = _POOL[0]
    bounds = [n_items * i // n_threads for i in range(n_threads + 1)]
    # the caller takes the first range itself: one thread less to wake, and no deadlock
    # even if every pool thread is busy with other callers' work
    futures = [pool.submit(_in_pool, work, lo, hi)
               for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        work(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()
