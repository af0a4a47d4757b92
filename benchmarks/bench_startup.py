"""Start-up cost: numba compilation on first use, and a new process with a warm cache.

Every figure is taken in a fresh subprocess, so nothing is shared with the caller:

* ``compile``: with an empty numba cache (a temporary ``NUMBA_CACHE_DIR``), one
  ``HPSS().separate`` of 2 s of stereo float32 audio at 44.1 kHz, with numba's compile events
  recorded: seconds spent compiling each top-level kernel (callees included), and the total.
* ``demo cold``: wall time of ``python -m dsp_separate.cli demo`` with an empty cache, i.e.
  the first ``dsp-separate demo`` after ``pip install``.
* ``demo warm``: the same command again, with the cache the first run wrote.
* ``hpss 10 s warm``: wall time from launching a new process to the end of its first
  ``HPSS().separate`` of 10 s of stereo float32 audio at 44.1 kHz (cache warm), split into
  interpreter start-up, the import, the first ``separate`` (numba's start-up, cache
  loading, thread-pool start, the work) and, for comparison, a second ``separate`` of the
  same input in the same process (the work alone).

Run ``python -m benchmarks.bench_startup`` from the repository root (about a minute).
Shared machines drift, so compare figures taken in the same run; the process-level figures
are medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

COMPILE_SCRIPT = textwrap.dedent(
    """
    import json, time
    from numba.core import event

    class Recorder(event.Listener):
        # seconds per top-level compilation (nested compilations are part of their caller)
        def __init__(self):
            self.depth = 0
            self.start = {}
            self.times = {}
        def on_start(self, ev):
            self.depth += 1
            if self.depth == 1:
                self.start = time.perf_counter()
        def on_end(self, ev):
            self.depth -= 1
            if self.depth == 0:
                disp = ev.data["dispatcher"]
                name = disp.py_func.__module__.rsplit(".", 1)[-1] + "." + disp.py_func.__name__
                sig = ",".join(str(a) for a in ev.data["args"])
                key = name + "(" + sig + ")"
                self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - self.start

    rec = Recorder()
    event.register("numba:compile", rec)
    import numpy as np
    import dsp_separate as ds
    rng = np.random.default_rng(0)
    y = rng.standard_normal((2, 2 * 44100)).astype(np.float32)
    t0 = time.perf_counter()
    ds.HPSS().separate(y, 44100)
    total = time.perf_counter() - t0
    print(json.dumps({"kernels": rec.times, "separate": total}))
    """
)

WARM_SCRIPT = textwrap.dedent(
    """
    import time
    t_start = time.time()
    t0 = time.perf_counter()
    import json
    import numpy as np
    import dsp_separate as ds
    sep = ds.HPSS()
    t1 = time.perf_counter()
    rng = np.random.default_rng(0)
    y = rng.standard_normal((2, 10 * 44100)).astype(np.float32)
    t2 = time.perf_counter()
    sep.separate(y, 44100)
    t3 = time.perf_counter()
    t_done = time.time()
    sep.separate(y, 44100)
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first": t3 - t2, "second": t4 - t3,
                      "start": t_start, "done": t_done}))
    """
)


def _env(cache_dir: str) -> dict:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _run(cmd, env, cwd=None) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, proc.stdout


def compile_times() -> dict:
    """Compile seconds per kernel with an empty cache (one HPSS separate)."""
    with tempfile.TemporaryDirectory() as cache:
        _, out = _run([sys.executable, "-c", COMPILE_SCRIPT], _env(cache))
    return json.loads(out.strip().splitlines()[-1])


def demo_times(repeats: int) -> tuple[list[float], list[float]]:
    """Wall seconds of ``dsp-separate demo``: cold cache, then warm cache."""
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "dsp_separate.cli", "demo", "-q", "-o", out]
            cold.append(_run(cmd, _env(cache), cwd=out)[0])
            warm.append(_run(cmd, _env(cache), cwd=out)[0])
    return cold, warm


def warm_hpss(repeats: int) -> list[dict]:
    """New-process HPSS of 10 s stereo 44.1 kHz with a warm cache: wall time and its parts."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        _run([sys.executable, "-c", WARM_SCRIPT], _env(cache))  # fills the cache
        for _ in range(repeats):
            launched = time.time()
            _, out = _run([sys.executable, "-c", WARM_SCRIPT], _env(cache))
            row = json.loads(out.strip().splitlines()[-1])
            row["wall"] = row["done"] - launched  # launch to first result, one separate
            row["interpreter"] = row["start"] - launched
            rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    comp = compile_times()
    print("\ncompile seconds per kernel, empty cache (HPSS, 2 s stereo float32):")
    for name, sec in sorted(comp["kernels"].items(), key=lambda kv: -kv[1]):
        print(f"  {sec:6.2f}  {name}")
    print(f"  {sum(comp['kernels'].values()):6.2f}  total compilation; first separate took "
          f"{comp['separate']:.2f} s")

    cold, warm = demo_times(args.repeats)
    med = statistics.median
    print(f"\ndsp-separate demo, new process: cold cache {med(cold):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in cold)}), warm cache {med(warm):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in warm)})")

    rows = warm_hpss(args.repeats)
    print("\nHPSS of 10 s stereo 44.1 kHz in a new process, warm cache (medians):")
    for key in ("wall", "interpreter", "import", "first", "second"):
        label = {"wall": "launch to first result", "interpreter": "interpreter start-up",
                 "import": "import dsp_separate + HPSS()",
                 "first": "first separate", "second": "second separate (the work)"}[key]
        print(f"  {label:<30} {med(r[key] for r in rows):6.2f} s")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
