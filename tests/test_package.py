"""Packaging promises: light import, nothing compiled at import, on-disk numba cache."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, env_extra=None) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )
    return out.stdout.strip().splitlines()[-1]


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


def test_numba_cache_makes_the_second_process_skip_compilation(tmp_path):
    code = """
        import json
        import numpy as np
        import dsp_separate as ds
        from dsp_separate._kernels import stft as k, median as m
        y = np.random.default_rng(0).standard_normal((2, 4000)).astype(np.float32)
        ds.HPSS(kernel_size=9).separate(y, 8000)
        stats = {f.__name__: (len(f.stats.cache_hits), len(f.stats.cache_misses))
                 for f in (k.frame_windowed, k.overlap_add, m.median_filter_rows)}
        print(json.dumps(stats))
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(run_python(code, env))
    second = json.loads(run_python(code, env))
    assert any(os.scandir(tmp_path / "cache"))  # index and object files were written
    for name, (hits, misses) in second.items():
        assert misses == 0 and hits >= 1, (name, first[name], second[name])


def test_works_where_the_cache_cannot_be_written(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = run_python(
        """
        import numpy as np, dsp_separate as ds
        X = ds.stft(np.ones(4096, dtype=np.float32), n_fft=512)
        print(X.shape)
        """,
        {"NUMBA_CACHE_DIR": str(blocker / "cache")},
    )
    assert out == "(257, 33)"
