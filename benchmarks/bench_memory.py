"""Peak memory of a separation, as a multiple of the input's size.

Each measurement runs in a fresh subprocess: warm up (numba compiles) on a short clip, note
the peak RSS so far (interpreter, libraries, the input), separate the long input, and report
the growth of the peak RSS divided by the input's size in bytes.  Peak RSS is
``resource.getrusage(RUSAGE_SELF).ru_maxrss``, so the figure includes every temporary.

Usage::

    python -m benchmarks.bench_memory                    # HPSS().separate, 30 s stereo
    python -m benchmarks.bench_memory --src /old/checkout  # the same on another checkout
    python -m benchmarks.bench_memory --file-minutes 60  # separate_file on a long WAV
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from ._harness import Row

_SEPARATE = r"""
import json, resource, sys
import numpy as np
import dsp_separate as ds
sr, seconds = 44100, float(sys.argv[1])
rng = np.random.default_rng(0)
y = (0.1 * rng.standard_normal((2, int(sr * seconds)))).astype(np.float32)
ds.HPSS().separate(y[:, : sr * 2], sr)  # compile and warm up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = ds.HPSS().separate(y, sr)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"input_bytes": y.nbytes, "peak_extra": after - before}))
"""

_FILE = r"""
import json, resource, sys, time
import dsp_separate as ds
path, out = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
ds.HPSS().separate_file(path, out)
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def measure_separate(seconds: float = 30.0, src: str | None = None) -> dict:
    """Peak extra RSS of ``HPSS().separate`` on ``seconds`` of stereo 44.1 kHz float32."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run([sys.executable, "-c", _SEPARATE, str(seconds)], env=env,
                         capture_output=True, text=True, check=True, cwd=src or None)
    fig = json.loads(out.stdout.strip().splitlines()[-1])
    fig["ratio"] = fig["peak_extra"] / fig["input_bytes"]
    return fig


def measure_file(minutes: float) -> dict:
    """``separate_file`` on a ``minutes``-long stereo 16-bit 44.1 kHz WAV (made here)."""
    import numpy as np
    import soundfile as sf

    sr = 44100
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "long.wav")
        rng = np.random.default_rng(0)
        with sf.SoundFile(path, "w", sr, 2, subtype="PCM_16") as fh:
            for _ in range(int(minutes * 60 / 10)):
                fh.write((0.1 * rng.standard_normal((sr * 10, 2))).astype(np.float32))
        out = subprocess.run([sys.executable, "-c", _FILE, path, os.path.join(tmp, "out")],
                             capture_output=True, text=True, check=True)
        fig = json.loads(out.stdout.strip().splitlines()[-1])
        base = subprocess.run(
            [sys.executable, "-c", "import resource, dsp_separate as ds, numpy, scipy, numba, "
             "soundfile; ds.HPSS; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
             " * 1024)"], capture_output=True, text=True, check=True)
        fig["interpreter_rss"] = int(base.stdout.strip())
        fig["file_bytes"] = os.path.getsize(path)
    return fig


def run(quick: bool = False) -> list:
    """Rows for ``benchmarks.run`` (memory is reported in the note, not as a time ratio)."""
    fig = measure_separate(5.0 if quick else 30.0)
    return [Row("HPSS().separate peak extra RSS", "5 s stereo" if quick else "30 s stereo",
                ours=float("nan"), peer=None, target="<= 12x the input",
                note=f"{fig['ratio']:.1f}x the input ({fig['peak_extra'] / 2**20:.0f} MiB)")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--src", default=None, help="another checkout to measure")
    parser.add_argument("--file-minutes", type=float, default=None)
    args = parser.parse_args()
    if args.file_minutes:
        fig = measure_file(args.file_minutes)
        extra = fig["peak_rss"] - fig["interpreter_rss"]
        print(f"separate_file, {args.file_minutes:g} min stereo 44.1 kHz "
              f"({fig['file_bytes'] / 2**20:.0f} MiB WAV): {fig['seconds']:.1f} s, peak RSS "
              f"{fig['peak_rss'] / 2**20:.0f} MiB, {extra / 2**20:.0f} MiB beyond the "
              f"interpreter with the libraries loaded ({fig['interpreter_rss'] / 2**20:.0f} MiB)")
        return
    fig = measure_separate(args.seconds, args.src)
    print(f"HPSS().separate, {args.seconds:g} s stereo float32 "
          f"({fig['input_bytes'] / 2**20:.1f} MiB): peak extra RSS "
          f"{fig['peak_extra'] / 2**20:.0f} MiB = {fig['ratio']:.1f}x the input")


if __name__ == "__main__":
    main()
