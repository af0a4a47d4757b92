"""Packaging promises: light import, nothing compiled at import, on-disk numba cache (and
a working fallback without one), the parallel switch in the cache key, the installed
package under test in CI."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dsp_separate

ROOT = Path(__file__).resolve().parents[1]
#: the folder holding the dsp_separate under test (the source tree, or site-packages in CI):
#: subprocesses must import that same package
PACKAGE_PARENT = Path(dsp_separate.__file__).resolve().parents[1]


def run_python(code: str, env_extra=None, *, parent=PACKAGE_PARENT, full=False):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(parent) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=env, timeout=300, check=not full,
        cwd=parent,  # ``python -c`` puts the working directory first on sys.path
    )
    return out if full else out.stdout.strip().splitlines()[-1]


def test_import_is_light_and_compiles_nothing():
    info = json.loads(run_python("""
        import json, sys, time
        t0 = time.perf_counter()
        import dsp_separate
        took = time.perf_counter() - t0
        heavy = [m for m in ("numba", "sklearn", "scipy", "librosa", "soundfile", "numpy")
                 if m in sys.modules]
        print(json.dumps({"heavy": heavy, "seconds": took,
                          "version": dsp_separate.__version__}))
    """))
    # Importing the package loads none of the heavy dependencies, so it cannot compile
    # anything and its cost is a few small modules (the time itself is reported, not
    # asserted: this machine's speed drifts).
    assert info["heavy"] == []
    assert info["version"] == __import__("dsp_separate").__version__


def test_public_names_resolve_lazily():
    import dsp_separate as ds

    for name in ds.__all__:
        assert getattr(ds, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ds.nope  # noqa: B018


@pytest.mark.slow
def test_numba_cache_makes_the_second_process_skip_compilation(tmp_path):
    code = """
        import json
        import numpy as np
        import dsp_separate as ds
        from dsp_separate._kernels import stft as k, median as m
        y = np.random.default_rng(0).standard_normal((2, 4000)).astype(np.float32)
        ds.HPSS(kernel_size=9).separate(y, 8000)
        stats = {f.__name__: (len(f.stats.cache_hits), len(f.stats.cache_misses))
                 for f in (k.frame_windowed, k.overlap_add, m.median_rows_range)}
        print(json.dumps(stats))
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(run_python(code, env))
    second = json.loads(run_python(code, env))
    assert any(os.scandir(tmp_path / "cache"))  # index and object files were written
    for name, (hits, misses) in second.items():
        assert misses == 0 and hits >= 1, (name, first[name], second[name])


@pytest.mark.slow
def test_works_with_one_warning_where_no_cache_location_can_be_written(tmp_path):
    """No writable cache anywhere: a copy of the package whose ``_kernels/__pycache__`` is a
    plain file, ``NUMBA_CACHE_DIR`` a path under a plain file, and the per-user cache dir
    (``XDG_CACHE_HOME``) a plain file too.  numba then has no locator and used to raise
    ``RuntimeError: cannot cache function ...`` at import of the kernels; the package
    compiles without a cache and says so once."""
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(PACKAGE_PARENT / "dsp_separate", copy / "dsp_separate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "dsp_separate" / "_kernels" / "__pycache__").write_text("not a folder")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    run = run_python(
        """
        import warnings
        warnings.simplefilter("always")
        import numpy as np, dsp_separate as ds
        from dsp_separate._kernels import bsseval, masks, median, stft, wiener
        y = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
        r = ds.HPSS(kernel_size=9).separate(y, 8000)
        print(ds.__file__, np.abs(sum(r[n] for n in r.names) - y).max() < 1e-4)
        """,
        {"NUMBA_CACHE_DIR": str(blocker / "cache"), "XDG_CACHE_HOME": str(blocker),
         "HOME": str(blocker)},
        parent=copy, full=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    file, ok = run.stdout.split()
    assert Path(file).is_relative_to(copy) and ok == "True"
    assert run.stderr.count("NumbaCacheWarning") == 1, run.stderr[-2000:]
    assert "NUMBA_CACHE_DIR" in run.stderr


@pytest.mark.slow
def test_parallel_switch_is_part_of_the_cache_key(tmp_path):
    """A parallel build in the cache must not be reused with DSP_SEPARATE_PARALLEL=0 (nor a
    serial one with the switch on): each setting compiles its own, then reuses it."""
    code = """
        import json, numba
        import numpy as np, dsp_separate as ds
        from dsp_separate._kernels.wiener import wiener_em
        rng = np.random.default_rng(0)
        X = (rng.standard_normal((2, 65, 20)) + 1j * rng.standard_normal((2, 65, 20)))
        ds.wiener(X.astype(np.complex64), rng.random((2, 2, 65, 20)).astype(np.float32))
        try:
            layer = numba.threading_layer()   # set once a parallel function has run
        except ValueError:
            layer = None
        print(json.dumps([len(wiener_em.stats.cache_hits), len(wiener_em.stats.cache_misses),
                          layer]))
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = {}
    for switch in ("1", "0", "0"):
        runs.setdefault(switch, []).append(
            json.loads(run_python(code, {**env, "DSP_SEPARATE_PARALLEL": switch})))
    (hits, misses, layer), (hits2, misses2, layer2) = runs["0"]
    assert (hits, misses) == (0, 1) and layer is None  # compiled serially, not loaded
    assert (hits2, misses2) == (1, 0) and layer2 is None  # then its own cache entry
    [(hits, misses, layer)] = runs["1"]
    assert (hits, misses) == (0, 1) and layer is not None  # the parallel build ran


def test_tests_import_the_installed_package():
    """In CI (``.ci/run`` sets DSP_SEPARATE_TEST_INSTALLED=1) the suite must test the
    package pip installed, not the source tree it was built from."""
    if not (os.environ.get("DSP_SEPARATE_TEST_INSTALLED") or os.environ.get("CI") == "true"):
        pytest.skip("only checked in CI (.ci/run), where the package is installed")
    import sysconfig

    here = Path(dsp_separate.__file__).resolve()
    site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    assert any(here.is_relative_to(s) for s in site), here
    assert not here.is_relative_to(ROOT), here
