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

Run ``python -m benchmarks.bench_startup`` from the repository root (about a minute), with
``--baseline REV`` to measure the package at an older git revision too (extracted with
``git archive``) and print both side by side, e.g. ``--baseline 0e35ec2`` for the state
before the start-up work.  The source tree is measured, not an installed copy.  Shared
machines drift, so compare figures taken in the same run: the trees are measured in turn
within each repeat, and the process-level figures are medians of ``--repeats`` runs.
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


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(cache_dir: str, tree: str) -> dict:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(cmd, env, cwd) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, proc.stdout


def compile_times(tree: str) -> dict:
    """Compile seconds per kernel with an empty cache (one HPSS separate)."""
    with tempfile.TemporaryDirectory() as cache:
        _, out = _run([sys.executable, "-c", COMPILE_SCRIPT], _env(cache, tree), tree)
    return json.loads(out.strip().splitlines()[-1])


def demo_times(tree: str) -> tuple[float, float]:
    """Wall seconds of ``dsp-separate demo`` in a new process: cold cache, then warm."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "dsp_separate.cli", "demo", "-q", "-o", out]
        return (_run(cmd, _env(cache, tree), tree)[0], _run(cmd, _env(cache, tree), tree)[0])


def warm_hpss(tree: str, cache: str) -> dict:
    """New-process HPSS of 10 s stereo 44.1 kHz with the cache ``cache``: times and parts."""
    launched = time.time()
    _, out = _run([sys.executable, "-c", WARM_SCRIPT], _env(cache, tree), tree)
    row = json.loads(out.strip().splitlines()[-1])
    row["wall"] = row["done"] - launched  # launch to first result, one separate
    row["interpreter"] = row["start"] - launched
    return row


def _checkout(rev: str, dest: str) -> str:
    """The package files of git revision ``rev`` of this repository, extracted to ``dest``."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "dsp_separate"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def measure(trees: dict, repeats: int) -> dict:
    """Every figure for every tree, the trees taken in turn within each repeat (so that a
    drift of the machine's speed affects them alike)."""
    med = statistics.median
    res = {name: {"compile": compile_times(tree)} for name, tree in trees.items()}
    demos = {name: [] for name in trees}
    warms = {name: [] for name in trees}
    caches = {name: tempfile.mkdtemp() for name in trees}
    for name, tree in trees.items():
        warm_hpss(tree, caches[name])  # fills the cache
    for _ in range(repeats):
        for name, tree in trees.items():
            demos[name].append(demo_times(tree))
            warms[name].append(warm_hpss(tree, caches[name]))
    for name in trees:
        res[name]["demo cold"] = med(d[0] for d in demos[name])
        res[name]["demo warm"] = med(d[1] for d in demos[name])
        for key in ("wall", "interpreter", "import", "first", "second"):
            res[name][key] = med(r[key] for r in warms[name])
    return res


LABELS = {
    "compile": "numba compilation, one HPSS separate (empty cache)",
    "demo cold": "first `dsp-separate demo` (empty cache)",
    "demo warm": "`dsp-separate demo` (warm cache)",
    "wall": "HPSS 10 s stereo, new process: launch to result",
    "interpreter": "  interpreter start-up",
    "import": "  import dsp_separate + HPSS()",
    "first": "  first separate",
    "second": "  (second separate: the work alone)",
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV",
                        help="also measure the package at this git revision (e.g. 0e35ec2) "
                             "and print the figures side by side")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as base_dir:
        trees = {}
        if args.baseline:
            trees[f"before ({args.baseline})"] = _checkout(args.baseline, base_dir)
        trees["now"] = ROOT
        res = measure(trees, args.repeats)

    for name in trees:
        comp = res[name]["compile"]
        print(f"\n{name}: compile seconds per kernel, empty cache (HPSS, 2 s stereo float32):")
        for kernel, sec in sorted(comp["kernels"].items(), key=lambda kv: -kv[1]):
            print(f"  {sec:6.2f}  {kernel}")
        res[name]["compile"] = sum(comp["kernels"].values())

    print(f"\nmedians of {args.repeats} runs, seconds:")
    names = list(trees)
    print(f"| {'':<52} | " + " | ".join(f"{n:>16}" for n in names) + " |")
    print(f"|{'-' * 54}|" + "|".join("-" * 17 + ":" for _ in names) + "|")
    for key, label in LABELS.items():
        print(f"| {label:<52} | " + " | ".join(f"{res[n][key]:16.2f}" for n in names) + " |")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
