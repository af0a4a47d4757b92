"""Threads and processes: the package's thread pool after ``fork()``, ``multiprocessing`` with
the "fork" and "spawn" start methods, and Python threads calling separators side by side,
including under numba's ``workqueue`` threading layer (which is not thread-safe).

Every scenario that could hang or abort runs in a subprocess with a timeout, so a hang fails
the test instead of blocking the suite, and an abort shows as a non-zero exit status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate import _config, _stft

#: the folder holding the dsp_separate under test: subprocesses import that same package
PACKAGE_PARENT = Path(ds.__file__).resolve().parents[1]
SR = 44100
TIMEOUT = 240  # seconds; a hang fails the test after this


def run_script(code: str, env_extra=None) -> subprocess.CompletedProcess:
    """Run ``code`` as a script file (the "spawn" start method re-imports the main module,
    which ``python -c`` does not have) in a fresh interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PACKAGE_PARENT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "scenario.py"
        script.write_text(textwrap.dedent(code))
        try:
            return subprocess.run(
                [sys.executable, str(script)], capture_output=True, text=True,
                env=env, timeout=TIMEOUT, cwd=tmp,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"hung for {TIMEOUT} s (stdout: {exc.stdout!r})")


def stereo(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, int(seconds * SR))).astype(
        np.float32)


def stft_threads(y: np.ndarray) -> int:
    """Threads the STFT pool uses for ``y`` with the default STFT."""
    tf = ds.STFT()
    n_frames = tf.num_frames(y.shape[-1])
    chunk = _stft._chunk_frames(y.shape[0], tf.n_fft, y.dtype.itemsize, n_frames)
    return _config.n_threads_for(n_frames, 2 * chunk)


needs_two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2,
                                     reason="the pool runs in the caller on one core")


@needs_two_cores
def test_inputs_here_are_big_enough_for_the_pool():
    """The 10 s stereo inputs of these tests really are split over several threads (a test
    on a small input would run everything in the calling thread and prove nothing)."""
    assert stft_threads(stereo(10)) >= 2
    calls = []
    real = _config.in_threads

    def spy(work, n_items, min_items, workers=-1):
        calls.append(_config.n_threads_for(n_items, min_items, workers))
        return real(work, n_items, min_items, workers)

    _stft.in_threads, saved = spy, _stft.in_threads
    try:
        ds.stft(stereo(10))
    finally:
        _stft.in_threads = saved
    assert calls and max(calls) >= 2


@needs_two_cores
def test_fork_after_the_pool_was_used():
    """A child forked after the parent used the pool made its own pool: it used to hang in
    ``ds.stft`` waiting on threads that exist only in the parent."""
    run = run_script("""
        import os, sys
        import numpy as np
        import dsp_separate as ds
        from dsp_separate import _config
        y = np.random.default_rng(0).standard_normal((2, 10 * 44100)).astype(np.float32)
        X = ds.stft(y)
        r = ds.HPSS().separate(y, 44100)
        assert _config._POOL is not None  # the parent's pool exists
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                assert _config._POOL is None  # dropped at fork
                ok = np.array_equal(ds.stft(y), X)
                r2 = ds.HPSS().separate(y, 44100)
                ok = ok and all(np.array_equal(r2[n], r[n]) for n in r.names)
                code = 0 if ok else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "0", run.stdout + run.stderr[-2000:]


@pytest.mark.slow
@needs_two_cores
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_pool_after_use(method):
    """Separate tracks in a multiprocessing pool after the parent separated one itself and
    ran a numba parallel kernel (Wiener EM): the workers give the parent's results.  With
    GNU OpenMP as numba's layer a forked worker would be killed ("fork() called from a
    process already using GNU OpenMP"); the package asks numba for a fork-safe layer."""
    run = run_script(f"""
        import multiprocessing as mp
        import numpy as np
        import dsp_separate as ds

        def job(seed):
            y = np.random.default_rng(seed).standard_normal((2, 10 * 44100)).astype(np.float32)
            r = ds.HPSS(wiener_iterations=1).separate(y, 44100)
            return np.stack([r[n] for n in r.names])

        if __name__ == "__main__":
            ref = [job(s) for s in (1, 2)]
            with mp.get_context("{method}").Pool(2) as pool:
                got = pool.map(job, [1, 2])
            print(all(np.array_equal(a, b) for a, b in zip(ref, got)))
    """)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "True", run.stdout + run.stderr[-2000:]


def _two_threads(separator, inputs):
    """Run ``separator.separate`` on each input in its own thread, at the same time."""
    results = [None] * len(inputs)
    errors = []
    barrier = threading.Barrier(len(inputs))

    def work(i):
        try:
            barrier.wait()
            results[i] = separator.separate(inputs[i], SR)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


@needs_two_cores
def test_two_threads_separate_at_once_and_agree_with_one_at_a_time():
    """Two threads share one separator and the pool (their inputs are big enough for it):
    each gets exactly what a lone call gives."""
    inputs = [stereo(10, seed=1), stereo(10, seed=2)]
    assert stft_threads(inputs[0]) >= 2
    sep = ds.HPSS(margin=2.0)
    together = _two_threads(sep, inputs)
    for y, r in zip(inputs, together):
        alone = sep.separate(y, SR)
        assert r.names == alone.names
        for name in r.names:
            np.testing.assert_array_equal(r[name], alone[name])


@pytest.mark.slow
@needs_two_cores
@pytest.mark.parametrize("layer", ["workqueue", "omp", "default"])
def test_two_threads_under_each_numba_threading_layer(layer):
    """Under ``workqueue`` (numba's fallback where neither TBB nor OpenMP exists) two
    threads running parallel kernels at once used to abort the process ("Terminating:
    Nested parallel kernel launch detected").  Calls to parallel kernels are serialised
    there; HPSS, the STFT and the median filters use the package's own pool."""
    if layer == "omp":
        try:
            from numba.np.ufunc import omppool  # noqa: F401
        except ImportError:
            pytest.skip("numba has no OpenMP layer here")
    run = run_script("""
        import threading, numba
        import numpy as np
        import dsp_separate as ds
        rng = np.random.default_rng(0)
        ys = [rng.standard_normal((2, 10 * 44100)).astype(np.float32) for _ in range(2)]
        sep = ds.HPSS(wiener_iterations=1)
        alone = [sep.separate(y, 44100) for y in ys]
        out = [None, None]
        barrier = threading.Barrier(2)
        def work(i):
            barrier.wait()
            for _ in range(3):
                out[i] = sep.separate(ys[i], 44100)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        same = all(np.array_equal(out[i][n], alone[i][n]) for i in range(2)
                   for n in alone[i].names)
        print(numba.threading_layer(), same)
    """, {} if layer == "default" else {"NUMBA_THREADING_LAYER": layer})
    assert run.returncode == 0, run.stderr[-2000:]
    active, same = run.stdout.split()[-2:]
    assert same == "True"
    if layer == "default":  # the package's choice: fork-safe (TBB if installed)
        assert active in ("tbb", "workqueue") or sys.platform != "linux"
    else:
        assert active == layer


def test_two_threads_call_a_parallel_kernel_under_workqueue():
    """Two threads calling a numba parallel kernel (the Wiener EM) over and over at once,
    under ``workqueue``: without the lock numba terminates the process ("Concurrent access
    has been detected")."""
    run = run_script("""
        import threading, numba
        import numpy as np
        import dsp_separate as ds
        rng = np.random.default_rng(0)
        shape = (2, 1025, 200)
        X = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        M = rng.random((2,) + shape).astype(np.float32)
        ref = ds.wiener(X, M, iterations=1)
        barrier = threading.Barrier(2)
        same = []
        def work():
            barrier.wait()
            for _ in range(10):
                same.append(np.array_equal(ds.wiener(X, M, iterations=1), ref))
        ts = [threading.Thread(target=work) for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(numba.threading_layer(), len(same), all(same))
    """, {"NUMBA_THREADING_LAYER": "workqueue"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-3:] == ["workqueue", "20", "True"]


def test_the_user_choice_of_layer_is_kept():
    """NUMBA_THREADING_LAYER set by the user is not overridden by the package."""
    run = run_script("""
        import numba, dsp_separate._config
        print(numba.config.THREADING_LAYER)
    """, {"NUMBA_THREADING_LAYER": "workqueue"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "workqueue"


def test_pool_reports_errors_of_every_thread():
    """An exception in any range (the caller's or a pool thread's) reaches the caller."""
    def work(lo, hi):
        if lo <= 7 < hi:
            raise ValueError(f"item 7 in [{lo}, {hi})")

    with pytest.raises(ValueError, match="item 7"):
        _config.in_threads(work, 8, 1, workers=2)
    with pytest.raises(ValueError, match="item 7"):
        _config.in_threads(work, 8, 1, workers=1)
    seen = []
    lock = threading.Lock()

    def record(lo, hi):
        with lock:
            seen.append((lo, hi))

    _config.in_threads(record, 10, 1, workers=3)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 10)]


def test_nested_pool_calls_from_several_threads_finish():
    """Work that itself calls the pool, from several threads at once: with every pool
    thread waiting for inner work queued behind it, the pool would deadlock; inner calls
    made in a pool thread run in that thread instead."""
    out = np.zeros((3, 4, 64))  # one slab per calling thread

    def caller(c):
        def outer(lo, hi):
            for row in range(lo, hi):
                def work(a, b, row=row):
                    out[c, row, a:b] += 1

                _config.in_threads(work, 64, 1, workers=4)

        _config.in_threads(outer, 4, 1, workers=4)

    threads = [threading.Thread(target=caller, args=(c,), daemon=True) for c in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "the pool deadlocked"
    np.testing.assert_array_equal(out, 1)


@pytest.mark.parametrize("method,params", [
    ("spatial_clustering", {"clusterer": "kmeans"}),
    ("nmf", {"n_components": 6, "max_iter": 20}),
])
def test_kmeans_in_a_forked_child_after_the_parent_used_it(method, params):
    """scikit-learn's KMeans runs on GNU OpenMP, which hangs in a child forked from a
    process that had started an OpenMP team; the package runs it with one OpenMP thread in a
    forked child.  The child must finish and give the parent's result."""
    run = run_script(f"""
        import multiprocessing as mp
        import numpy as np
        import dsp_separate as ds

        y = np.random.default_rng(0).standard_normal((2, 16000)) * 0.1
        sep = ds.get_separator({method!r})(n_sources=2, random_state=0, **{params!r})
        ref = sep.separate(y, 16000)

        def child(q):
            r = sep.separate(y, 16000)
            q.put(max(float(np.abs(r[n] - ref[n]).max()) for n in ref.names))

        if __name__ == "__main__":
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            p.join(120)
            if p.is_alive():
                p.kill()
                print("hung")
            else:
                print(q.get() < 1e-12)
    """)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "True", run.stdout + run.stderr[-2000:]


def test_overlapping_blas_limits_restore_the_original_thread_count():
    """threadpoolctl's limits are process-wide; two threads whose one-BLAS-thread blocks
    overlap (entered A, B; left A, B) must leave BLAS with its original thread count
    (restored by A, which set the limit: OpenBLAS ignored B's restore while A's limit held,
    and two raw threadpool_limits blocks left BLAS at one thread)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = counts()
    inside = []
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with _config.one_blas_thread():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with _config.one_blas_thread():
            inside.extend(counts())  # A's limit holds for B too
            b_in.set()
            a_out.wait(10)

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert inside and all(c == 1 for c in inside)
    assert counts() == before
